//! `b24wa serve` (the default): migrate the database and serve.

use b24wa::{config::Settings, startup::Application};

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), public_url = %app.public_url(), "b24wa listening");
    println!("b24wa listening on {}", app.public_url());
    println!("  admin app: {}/admin/", app.public_url());
    if app.has_no_users().await? {
        println!("{}", first_user_hint());
    }
    app.run_until_stopped().await?;
    Ok(())
}

/// What a person who has just started the service for the first time needs to log in.
fn first_user_hint() -> String {
    // The program as it was started (`target/debug/b24wa` under `make run`), so the command can
    // be pasted as it is from the same folder.
    let me = std::env::args()
        .next()
        .unwrap_or_else(|| "b24wa".to_string());
    format!(
        "  no users yet: create the first administrator from this folder, in another terminal:\n\
         \x20   {me} user create --email you@example.com --role support\n\
         \x20 it asks for a password (12 characters or more); then log in to the admin app with them."
    )
}
