//! `b24wa token`: an admin API access token not tied to a user, for development.

use b24wa::{
    auth::{JwtKeys, Role},
    config::Settings,
    startup,
};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "dev")]
    subject: String,
    #[arg(long, default_value = "support")]
    role: Role,
    /// The tenant of a tenant_admin token.
    #[arg(long)]
    tenant: Option<i64>,
    #[arg(long, default_value_t = 24)]
    ttl_hours: i64,
}

pub fn run(settings: &Settings, args: Args) -> anyhow::Result<()> {
    let Args {
        subject,
        role,
        tenant,
        ttl_hours,
    } = args;
    if (role == Role::TenantAdmin) != tenant.is_some() {
        anyhow::bail!("--tenant goes with --role tenant_admin, and only with it");
    }
    let (_, jwt) = startup::load_keys(settings)?;
    println!(
        "{}",
        JwtKeys::from_settings(settings, jwt).issue(&subject, role, tenant, ttl_hours * 3600)?
    );
    Ok(())
}
