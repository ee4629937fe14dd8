//! `b24wa`: parses the command line and hands over to `cli/`, one file per subcommand.

mod cli;

// glibc's malloc was ~15 % of the service's CPU under load (`make bench` profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use b24wa::{config::Settings, telemetry};
use clap::{Parser, Subcommand};

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
    /// Print an admin API access token (JWT) not tied to a user: for development. Real users
    /// log in (`POST /api/v1/auth/login`).
    Token(cli::token::Args),
    /// Re-encrypt every stored secret with the current encryption key (B24WA_ENCRYPTION_KEY),
    /// reading older values with it or B24WA_ENCRYPTION_PREVIOUS_KEYS; afterwards the previous
    /// keys can be removed. Values already under the current key are left alone, so it can run
    /// again, and while the service runs.
    Rekey,
    /// Try it without accounts: the service with a simulated Bitrix24 portal and a simulated
    /// WhatsApp number (throwaway data in a temporary folder), and a page at
    /// URL/admin/sandbox showing the customer's phone next to the operator's chat.
    Sandbox(cli::sandbox::Args),
    /// Admin API users.
    User {
        #[command(subcommand)]
        command: cli::user::Command,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    // The sandbox's page polls every second: its access log would drown the terminal, so it
    // logs warnings only unless a log filter was asked for.
    let quiet = matches!(cli.command, Some(Command::Sandbox(_)))
        && std::env::var_os("B24WA_LOG").is_none()
        && std::env::var_os("RUST_LOG").is_none();
    // The service and the sandbox log to standard output; one-shot commands to standard error.
    let output = match cli.command {
        None | Some(Command::Serve) | Some(Command::Sandbox(_)) => telemetry::Output::Stdout,
        Some(_) => telemetry::Output::Stderr,
    };
    telemetry::init_to(if quiet { "warn" } else { &settings.log }, output);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve::run(settings).await,
        Command::Migrate => cli::migrate::run(&settings).await,
        Command::Token(args) => cli::token::run(&settings, args),
        Command::Rekey => cli::rekey::run(&settings).await,
        Command::Sandbox(args) => cli::sandbox::run(settings, args).await,
        Command::User { command } => cli::user::run(&settings, command).await,
    }
}
