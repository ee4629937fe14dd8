//! `b24wa user`: create and list admin API users.

use std::io::{BufRead, IsTerminal};

use b24wa::{
    auth::{create_user, CreateUserError, NewUserSpec, Role},
    config::Settings,
    store,
};
use secrecy::SecretString;

#[derive(clap::Subcommand)]
pub enum Command {
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

pub async fn run(settings: &Settings, command: Command) -> anyhow::Result<()> {
    let db = store::connect(&settings.database_url()).await?;
    store::migrate(&db).await?;
    match command {
        Command::Create {
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
        Command::List => {
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
