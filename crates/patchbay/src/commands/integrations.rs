//! `patchbay integrations set|promote|show|list|disable`. Secrets go in (flag, environment
//! variable or standard input) and never come back out: views say only whether one is stored.

use std::io::BufRead as _;

use anyhow::Context as _;
use patchbay_crypto::SecretString;
use patchbay_server::service::Vault;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::wire::IntegrationView;

use super::context::{app_id, connector, open, print_json};
use crate::cli::{IntegrationSetArgs, IntegrationsCommand};

pub async fn run(cmd: IntegrationsCommand) -> anyhow::Result<()> {
    match cmd {
        IntegrationsCommand::Set(args) => set(*args).await,
        IntegrationsCommand::Promote {
            app,
            connector: c,
            json,
            store,
        } => {
            let (api, service) = connector(&c)?;
            let vault = open(&store).await?;
            let i = vault
                .promote_staged_credentials(&app_id(&app)?, &api, &service)
                .await?;
            show(&vault, &IntegrationView::from(&i), json)
        }
        IntegrationsCommand::Show {
            app,
            connector: c,
            json,
            store,
        } => {
            let (api, service) = connector(&c)?;
            let vault = open(&store).await?;
            let i = vault
                .get_integration(&app_id(&app)?, &api, &service)
                .await?;
            show(&vault, &IntegrationView::from(&i), json)
        }
        IntegrationsCommand::List { app, json, store } => {
            let vault = open(&store).await?;
            let list: Vec<IntegrationView> = vault
                .list_integrations(&app_id(&app)?)
                .await?
                .iter()
                .map(IntegrationView::from)
                .collect();
            if json {
                return print_json(&list);
            }
            for i in list {
                println!(
                    "{}  {}  client id {}  login {}",
                    i.id,
                    i.state,
                    i.client_id.as_deref().unwrap_or("(none)"),
                    i.login_url
                );
            }
            Ok(())
        }
        IntegrationsCommand::Disable {
            app,
            connector: c,
            store,
        } => {
            let (api, service) = connector(&c)?;
            let vault = open(&store).await?;
            vault
                .disable_integration(&app_id(&app)?, &api, &service)
                .await?;
            println!("disabled {}/{}", c.0, c.1);
            Ok(())
        }
    }
}

async fn set(a: IntegrationSetArgs) -> anyhow::Result<()> {
    let app = app_id(&a.app)?;
    let (api, service) = connector(&a.connector)?;
    let mut stdin = std::io::stdin().lock();
    let mut read_secret = |what: &str| -> anyhow::Result<SecretString> {
        let mut line = String::new();
        stdin
            .read_line(&mut line)
            .with_context(|| format!("reading the {what} from standard input"))?;
        let secret = SecretString::new(line.trim_end_matches(['\r', '\n']));
        zeroize::Zeroize::zeroize(&mut line);
        Ok(secret)
    };
    let client_secret = match (a.client_secret, a.client_secret_stdin) {
        (_, true) => Some(read_secret("client secret")?),
        (Some(s), false) => Some(SecretString::new(s)),
        (None, false) => None,
    };
    let staged_client_secret = match (a.staged_client_secret, a.staged_client_secret_stdin) {
        (_, true) => Some(read_secret("staged client secret")?),
        (Some(s), false) => Some(SecretString::new(s)),
        (None, false) => None,
    };
    let input = IntegrationInput {
        enabled: a.enabled,
        client_id: a.client_id,
        client_secret,
        staged_client_id: a.staged_client_id,
        staged_client_secret,
        login_url: a.login_url,
        scopes: a.scopes,
        send_secret_on_refresh: a.send_secret_on_refresh,
        pkce: a.pkce,
        crm_poll_interval_s: a.crm_poll_interval_s,
    };
    let vault = open(&a.store).await?;
    let i = vault.set_integration(&app, &api, &service, input).await?;
    show(&vault, &IntegrationView::from(&i), a.json)
}

/// One integration, with the callback URL to enter in Salesforce (it depends on this
/// deployment's public URL, so it is printed rather than left to the reader to assemble).
fn show(vault: &Vault, i: &IntegrationView, json: bool) -> anyhow::Result<()> {
    let callback_url = format!("{}/vault/callback", vault.public_url());
    if json {
        let mut value = serde_json::to_value(i)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("callback_url".to_owned(), callback_url.into());
        }
        return print_json(&value);
    }
    let stored = |b: bool| if b { "stored" } else { "not set" };
    println!("integration:            {}", i.id);
    println!("state:                  {}", i.state);
    println!("enabled:                {}", i.enabled);
    println!(
        "client id:              {}",
        i.client_id.as_deref().unwrap_or("(none)")
    );
    println!("client secret:          {}", stored(i.has_client_secret));
    match &i.staged {
        Some(s) => println!(
            "staged credentials:     {} (secret {})",
            s.client_id,
            stored(s.has_client_secret)
        ),
        None => println!("staged credentials:     (none)"),
    }
    println!("login url:              {}", i.login_url);
    println!("callback url:           {callback_url}");
    println!("scopes:                 {}", i.scopes);
    println!("pkce:                   {}", i.pkce);
    println!("send secret on refresh: {}", i.send_secret_on_refresh);
    println!("crm poll interval:      {} s", i.crm_poll_interval_s);
    Ok(())
}
