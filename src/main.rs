use clap::{Parser, Subcommand};

use b24wa::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
    startup::{self, Application},
    store, telemetry,
};

#[derive(Parser)]
#[command(
    name = "b24wa",
    version,
    about = "WhatsApp ↔ Bitrix24 Open Lines connector"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print an admin API token (JWT).
    Token {
        #[arg(long, default_value = "admin")]
        subject: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "support"])]
        role: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), public_url = %app.public_url(), "b24wa listening");
            println!("b24wa listening on {}", app.public_url());
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = store::connect(&settings.database_url()).await?;
            store::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Token {
            subject,
            role,
            ttl_hours,
        } => {
            let (_, jwt) = startup::load_keys(&settings)?;
            let role = if role == "support" {
                Role::Support
            } else {
                Role::Admin
            };
            println!(
                "{}",
                JwtKeys::new(jwt).issue(&subject, role, ttl_hours * 3600)?
            );
        }
    }
    Ok(())
}
