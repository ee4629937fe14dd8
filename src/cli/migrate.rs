//! `b24wa migrate`: apply database migrations and exit.

use b24wa::{config::Settings, store};

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let db = store::connect(&settings.database_url()).await?;
    store::migrate(&db).await?;
    println!("migrations applied");
    Ok(())
}
