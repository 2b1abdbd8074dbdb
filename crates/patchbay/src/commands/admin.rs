//! `patchbay admin create-user USERNAME [--reset-password]`: admin console users, with argon2id
//! password hashes. The password never comes from a flag.

use std::io::BufRead as _;

use anyhow::Context as _;
use patchbay_console::PasswordParams;
use patchbay_crypto::SecretString;

use super::context::{open_or_create, public_url};
use crate::cli::AdminCommand;

const PASSWORD_ENV: &str = "PATCHBAY_ADMIN_PASSWORD";

pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateUser {
            username,
            reset_password,
            store,
        } => {
            let password = read_password()?;
            let vault = open_or_create(&store).await?;
            patchbay_console::create_admin_user(
                &vault,
                username.trim(),
                &password,
                PasswordParams::default(),
                reset_password,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if reset_password {
                println!("password of admin user {} replaced", username.trim());
            } else {
                println!(
                    "admin user {} created; sign in at {}/admin",
                    username.trim(),
                    public_url(&store)
                );
            }
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(SecretString::new(p));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("Password (at least 12 characters), then Enter:");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "no password: set {PASSWORD_ENV} or pipe it on stdin"
    );
    Ok(SecretString::new(password))
}
