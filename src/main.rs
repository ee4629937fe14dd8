use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use secrecy::SecretString;

use b24wa::{
    config::Settings,
    http::api::{
        auth::{JwtKeys, Role},
        users::{create_user, CreateUserError, NewUserSpec},
    },
    sandbox,
    startup::{self, Application},
    store::{self, crypto::SecretBox},
    telemetry,
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
    /// Print an admin API access token (JWT) not tied to a user: for development. Real users
    /// log in (`POST /api/v1/auth/login`).
    Token {
        #[arg(long, default_value = "dev")]
        subject: String,
        #[arg(long, default_value = "support")]
        role: Role,
        /// The tenant of a tenant_admin token.
        #[arg(long)]
        tenant: Option<i64>,
        #[arg(long, default_value_t = 24)]
        ttl_hours: i64,
    },
    /// Re-encrypt every stored secret with the current encryption key (B24WA_ENCRYPTION_KEY),
    /// reading older values with it or B24WA_ENCRYPTION_PREVIOUS_KEYS; afterwards the previous
    /// keys can be removed. Values already under the current key are left alone, so it can run
    /// again, and while the service runs.
    Rekey,
    /// Try it without accounts: the service with a simulated Bitrix24 portal and a simulated
    /// WhatsApp number (throwaway data in a temporary folder), and a page at
    /// URL/admin/sandbox showing the customer's phone next to the operator's chat.
    Sandbox {
        /// Port to listen on (0 = any free port).
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Seconds before each receipt of a reply (sent, delivered, read), to watch ticks change.
        #[arg(long, default_value_t = 1.5)]
        receipt_delay_secs: f64,
    },
    /// Admin API users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is read from B24WA_USER_PASSWORD, else from the first line
    /// of standard input (at least 12 characters).
    Create {
        #[arg(long)]
        email: String,
        /// tenant_admin, support or billing.
        #[arg(long)]
        role: Role,
        /// The tenant of a tenant_admin.
        #[arg(long)]
        tenant: Option<i64>,
    },
    /// List users.
    List,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    // The sandbox's page polls every second: its access log would drown the terminal, so it
    // logs warnings only unless a log filter was asked for.
    let quiet = matches!(cli.command, Some(Command::Sandbox { .. }))
        && std::env::var_os("B24WA_LOG").is_none()
        && std::env::var_os("RUST_LOG").is_none();
    // The service and the sandbox log to standard output; one-shot commands to standard error.
    let output = match cli.command {
        None | Some(Command::Serve) | Some(Command::Sandbox { .. }) => telemetry::Output::Stdout,
        Some(_) => telemetry::Output::Stderr,
    };
    telemetry::init_to(if quiet { "warn" } else { &settings.log }, output);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), public_url = %app.public_url(), "b24wa listening");
            println!("b24wa listening on {}", app.public_url());
            println!("  admin app: {}/admin/", app.public_url());
            if app.has_no_users().await? {
                println!("{}", first_user_hint());
            }
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
            tenant,
            ttl_hours,
        } => {
            if (role == Role::TenantAdmin) != tenant.is_some() {
                anyhow::bail!("--tenant goes with --role tenant_admin, and only with it");
            }
            let (_, jwt) = startup::load_keys(&settings)?;
            println!(
                "{}",
                JwtKeys::from_settings(&settings, jwt).issue(
                    &subject,
                    role,
                    tenant,
                    ttl_hours * 3600
                )?
            );
        }
        Command::Rekey => rekey_command(&settings).await?,
        Command::Sandbox {
            port,
            receipt_delay_secs,
        } => sandbox_command(settings, port, receipt_delay_secs).await?,
        Command::User { command } => user_command(&settings, command).await?,
    }
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

async fn sandbox_command(
    settings: Settings,
    port: u16,
    receipt_delay_secs: f64,
) -> anyhow::Result<()> {
    let delay = std::time::Duration::try_from_secs_f64(receipt_delay_secs.clamp(0.0, 30.0))?;
    let dir = std::env::temp_dir().join(format!("b24wa-sandbox-{}", std::process::id()));
    let opts = sandbox::SandboxOptions {
        host: settings.host.clone(),
        port,
        data_dir: dir.clone(),
        transcribe_model: settings.transcribe_model.clone(),
        receipt_delay: delay,
    };
    let sandbox = sandbox::Sandbox::start(settings, opts).await?;
    println!("b24wa sandbox: open {}", sandbox.page_url());
    println!(
        "  (simulated portal and WhatsApp number; data in {}, removed on exit)",
        dir.display()
    );
    let result = sandbox.run_until_stopped().await;
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    Ok(())
}

async fn rekey_command(settings: &Settings) -> anyhow::Result<()> {
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

async fn user_command(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let db = store::connect(&settings.database_url()).await?;
    store::migrate(&db).await?;
    match command {
        UserCommand::Create {
            email,
            role,
            tenant,
        } => {
            let password = read_password()?;
            let spec = NewUserSpec {
                email,
                password,
                role,
                tenant_id: tenant,
            };
            match create_user(&db, "cli", spec).await {
                Ok(user) => println!(
                    "created user {} <{}> ({}{})",
                    user.id,
                    user.email,
                    user.role,
                    user.tenant_id
                        .map(|t| format!(", tenant {t}"))
                        .unwrap_or_default()
                ),
                Err(CreateUserError::NoTenant) => {
                    anyhow::bail!("no tenant {}", tenant.unwrap_or_default())
                }
                Err(e) => anyhow::bail!("{e}"),
            }
        }
        UserCommand::List => {
            println!(
                "{:>5}  {:<32}  {:<12}  {:>6}  {:<8}  last login",
                "id", "email", "role", "tenant", "state"
            );
            for u in store::users::list(&db).await? {
                let last = u
                    .last_login_at
                    .and_then(chrono::DateTime::from_timestamp_millis)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "never".into());
                println!(
                    "{:>5}  {:<32}  {:<12}  {:>6}  {:<8}  {last}",
                    u.id,
                    u.email,
                    u.role,
                    u.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                    if u.disabled { "disabled" } else { "active" },
                );
            }
        }
    }
    Ok(())
}

/// The new user's password: `B24WA_USER_PASSWORD`, else one line of standard input. There is no
/// default password.
fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var("B24WA_USER_PASSWORD") {
        return Ok(SecretString::from(p));
    }
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        // Not echoed, and asked twice: a typo would lock the first administrator out.
        let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
        let again = rpassword::prompt_password("The same password again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was created");
        }
        first
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        anyhow::bail!(
            "no password: give it on standard input or in B24WA_USER_PASSWORD (never as an argument)"
        );
    }
    Ok(SecretString::from(password))
}
