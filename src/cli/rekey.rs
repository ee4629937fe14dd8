//! `b24wa rekey`: re-encrypt every stored secret with the current encryption key.

use b24wa::{
    config::Settings,
    store::{self, crypto::SecretBox},
};
use secrecy::SecretString;

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    // The key must already exist: a fresh one made here could decrypt nothing.
    let key = match &settings.encryption_key {
        Some(k) => k.clone(),
        None => {
            let path = settings.data_dir().join("encryption.key");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!(
                    "no encryption key: set B24WA_ENCRYPTION_KEY or keep the key file {} ({e})",
                    path.display()
                )
            })?;
            SecretString::from(text.trim().to_string())
        }
    };
    let secrets = SecretBox::with_previous(&key, &settings.encryption_previous_keys)?;
    let db = store::connect(&settings.database_url()).await?;
    store::migrate(&db).await?;
    let report = store::rekey::rekey(&db, &secrets).await?;
    for t in &report.tables {
        println!(
            "{}: {} rewritten, {} already under key {}",
            t.table,
            t.rewritten,
            t.current,
            secrets.kid()
        );
    }
    for f in &report.failures {
        // Key ids, table, row and column only: never a value.
        eprintln!("{} {} {}: {}", f.table, f.id, f.column, f.error);
    }
    if !report.failures.is_empty() {
        anyhow::bail!(
            "{} secrets were left as they were: keep the previous keys configured, fix the cause \
             and run `b24wa rekey` again",
            report.failures.len()
        );
    }
    println!(
        "every stored secret is under key {}: previous encryption keys can be removed from the \
         configuration (then restart the service)",
        secrets.kid()
    );
    Ok(())
}
