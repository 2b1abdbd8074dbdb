//! `patchbay keys generate|rotate|reencrypt|status`. Rotation adds a key and makes it active; old keys
//! stay in the keyring so existing values still open, until `reencrypt` has moved them all.

use anyhow::Context as _;
use patchbay_crypto::Keyring;

use super::context::{MASTER_KEY_ENV, open, print_json};
use crate::cli::KeysCommand;

const KEY_FILE_NAME: &str = "master.key";

pub async fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate => {
            let keyring = Keyring::generate()?;
            let document = keyring.to_json();
            // One line, so it fits an environment variable or a secret manager's text field;
            // the pretty form only adds indentation between tokens.
            let line = zeroize::Zeroizing::new(document.lines().map(str::trim).collect::<String>());
            println!("{}", line.as_str());
            eprintln!(
                "Set this as PATCHBAY_MASTER_KEY for every Patchbay process (the same value on every node). Losing it loses every stored credential: keep a copy in your secret manager."
            );
        }
        KeysCommand::Rotate { output, store } => {
            // Opening checks the current keyring against the database first: a wrong key is
            // never extended and written back.
            let vault = open(&store).await?;
            drop(vault);
            let from_env = std::env::var(MASTER_KEY_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty());
            let (mut keyring, target) = match from_env {
                Some(value) => {
                    let target = output.context(
                        "the master key comes from PATCHBAY_MASTER_KEY: pass --output FILE to write the rotated keyring, then use it as --key-file or as PATCHBAY_MASTER_KEY",
                    )?;
                    (Keyring::from_env_value(&value)?, target)
                }
                None => {
                    let path = store
                        .key_file
                        .clone()
                        .unwrap_or_else(|| store.data_dir.join(KEY_FILE_NAME));
                    let keyring = Keyring::load(&path)
                        .with_context(|| format!("loading {}", path.display()))?;
                    (keyring, output.unwrap_or(path))
                }
            };
            let id = keyring.rotate()?;
            keyring
                .save(&target)
                .with_context(|| format!("writing {}", target.display()))?;
            println!("new active key: {id}");
            println!("keyring written to {}", target.display());
            eprintln!(
                "Restart every Patchbay process with this keyring, then run `patchbay keys reencrypt`. Keep the old keys in the keyring until `patchbay keys status` shows no value under them."
            );
        }
        KeysCommand::Reencrypt { json, store } => {
            let vault = open(&store).await?;
            let report = vault.reencrypt_all().await?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "re-sealed {} value(s) under {}; {} already current; {} changed meanwhile{}",
                    report.resealed,
                    vault.keyring().active_key_id(),
                    report.already_current,
                    report.skipped_concurrent,
                    if report.skipped_concurrent > 0 {
                        " (run again to finish)"
                    } else {
                        ""
                    }
                );
            }
        }
        KeysCommand::Status { json, store } => {
            let vault = open(&store).await?;
            let status = vault.key_status().await?;
            if json {
                print_json(&status)?;
                return Ok(());
            }
            println!("active key: {}", status.active_key_id);
            for k in &status.keys {
                let count = status
                    .values_per_key
                    .get(&k.id.to_string())
                    .copied()
                    .unwrap_or(0);
                println!(
                    "  {}{}  {} value(s)",
                    k.id,
                    if k.active { " (active)" } else { "" },
                    count
                );
            }
            for (id, count) in &status.values_per_key {
                if !status.keys.iter().any(|k| k.id.to_string() == *id) {
                    println!("  {id}  {count} value(s)  MISSING from the keyring");
                }
            }
        }
    }
    Ok(())
}
