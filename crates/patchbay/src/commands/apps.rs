//! `patchbay apps create|list|update`.

use patchbay_server::wire::ApplicationView;
use serde_json::json;

use super::context::{app_id, open, open_or_create, print_json};
use crate::cli::AppsCommand;

pub async fn run(cmd: AppsCommand) -> anyhow::Result<()> {
    match cmd {
        AppsCommand::Create {
            name,
            redirect_uris,
            json,
            store,
        } => {
            let vault = open_or_create(&store).await?;
            let created = vault.create_application(&name, &redirect_uris).await?;
            let id = created.application.id.to_string();
            let key = created.api_key.key.expose_secret();
            if json {
                print_json(&json!({ "application_id": id, "api_key": key }))?;
            } else {
                println!("application_id: {id}");
                println!("api_key:        {key}");
                eprintln!("The API key is shown only now: store it in your secret manager.");
            }
        }
        AppsCommand::Update {
            app,
            name,
            redirect_uris,
            clear_redirect_uris,
            cors_origins,
            clear_cors_origins,
            json,
            store,
        } => {
            let id = app_id(&app)?;
            // Given at least once, --redirect-uri is the whole new list; absent, the list stays.
            let uris = (clear_redirect_uris || !redirect_uris.is_empty()).then_some(redirect_uris);
            let origins = (clear_cors_origins || !cors_origins.is_empty()).then_some(cors_origins);
            if name.is_none() && uris.is_none() && origins.is_none() {
                anyhow::bail!(
                    "nothing to change: give --name, --redirect-uri (repeatable), --clear-redirect-uris, --cors-origin (repeatable) or --clear-cors-origins"
                );
            }
            let vault = open(&store).await?;
            if let Some(origins) = &origins {
                vault.set_cors_origins(&id, origins).await?;
            }
            let updated = vault
                .update_application(&id, name.as_deref(), uris.as_deref())
                .await?;
            let view = ApplicationView::from(&updated);
            let cors = vault.cors_origins(&id).await?;
            if json {
                let mut v = serde_json::to_value(&view)?;
                v["cors_origins"] = json!(cors);
                print_json(&v)?;
            } else {
                print_app(&view);
                if !cors.is_empty() {
                    println!("  extra CORS origins: {}", cors.join(" "));
                }
            }
        }
        AppsCommand::List { json, store } => {
            let vault = open(&store).await?;
            let apps: Vec<ApplicationView> = vault
                .list_applications()
                .await?
                .iter()
                .map(ApplicationView::from)
                .collect();
            if json {
                print_json(&apps)?;
            } else if apps.is_empty() {
                println!("no applications; create one with `patchbay apps create --name NAME`");
            } else {
                for a in &apps {
                    print_app(a);
                }
            }
        }
    }
    Ok(())
}

fn print_app(a: &ApplicationView) {
    println!(
        "{}  {}  redirect URIs: {}",
        a.application_id,
        a.name,
        if a.redirect_uris.is_empty() {
            "(none)".to_owned()
        } else {
            a.redirect_uris.join(" ")
        }
    );
}
