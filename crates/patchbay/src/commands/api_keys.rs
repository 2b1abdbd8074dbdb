//! `patchbay api-keys create|list|revoke`. A key's secret is printed once, at creation.

use patchbay_core::ApiKeyId;
use patchbay_server::service::Scope;
use patchbay_server::wire::ApiKeyView;
use serde_json::json;

use super::context::{app_id, open, print_json};
use crate::cli::ApiKeysCommand;

pub async fn run(cmd: ApiKeysCommand) -> anyhow::Result<()> {
    match cmd {
        ApiKeysCommand::Create {
            app,
            name,
            scopes,
            json,
            store,
        } => {
            let app = app_id(&app)?;
            let scopes = if scopes.is_empty() {
                Scope::DEFAULT.to_vec()
            } else {
                scopes
                    .iter()
                    .flat_map(|s| s.split([',', ' ']))
                    .filter(|s| !s.is_empty())
                    .map(Scope::parse)
                    .collect::<Result<Vec<_>, _>>()?
            };
            let vault = open(&store).await?;
            let created = vault.create_api_key(&app, &name, &scopes).await?;
            let view = ApiKeyView::from(&created.row);
            let key = created.key.expose_secret();
            if json {
                print_json(&json!({ "id": view.id, "api_key": key, "scopes": view.scopes }))?;
            } else {
                println!("id:      {}", view.id);
                println!("scopes:  {}", view.scopes.join(" "));
                println!("api_key: {key}");
                eprintln!("The API key is shown only now: store it in your secret manager.");
            }
        }
        ApiKeysCommand::List { app, json, store } => {
            let app = app_id(&app)?;
            let vault = open(&store).await?;
            let keys: Vec<ApiKeyView> = vault
                .list_api_keys(&app)
                .await?
                .iter()
                .map(ApiKeyView::from)
                .collect();
            if json {
                print_json(&keys)?;
            } else {
                for k in keys {
                    let state = match &k.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".to_owned(),
                    };
                    println!(
                        "{}  {}  [{}]  {}  created {}  last used {}",
                        k.id,
                        k.name,
                        k.scopes.join(" "),
                        state,
                        k.created_at,
                        k.last_used_at.as_deref().unwrap_or("never")
                    );
                }
            }
        }
        ApiKeysCommand::Revoke { app, key_id, store } => {
            let app = app_id(&app)?;
            let id = ApiKeyId::parse(key_id.trim()).map_err(|e| anyhow::anyhow!("key id: {e}"))?;
            let vault = open(&store).await?;
            vault.revoke_api_key(&app, &id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
