//! Who may use the admin API, apart from HTTP: roles, access and refresh tokens (JWT keys,
//! issuing, verifying), password rules and hashing, the failed-login limiter, and the rules for
//! creating a user. The HTTP side (`http/api/auth.rs`: the `Caller` extractor; `http/api/sessions.rs`,
//! `users.rs`: the handlers) and the CLI (`b24wa token`, `b24wa user`) both build on it.

pub mod logins;
pub mod passwords;
pub mod tokens;
pub mod users;

use serde::{Deserialize, Serialize};

pub use logins::{LoginLimiter, LoginLimits};
pub use passwords::{
    hash_password, password_problem, verify_password, PasswordProblem, MIN_PASSWORD_LEN,
};
pub use tokens::{key_id, Claims, JwtKeys, TokenError, TokenPair, TokenType};
pub use users::{create_user, CreateUserError, NewUserSpec, UserProblem, UserView};

/// What a caller may do. Tenant admins see and change their own tenant; support staff see all
/// tenants and take operational actions (audited); billing reads usage and plans of all
/// tenants and never writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    TenantAdmin,
    Support,
    Billing,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::TenantAdmin => "tenant_admin",
            Role::Support => "support",
            Role::Billing => "billing",
        }
    }

    /// Whether the role sees every tenant (support, billing) rather than one.
    pub fn is_global(self) -> bool {
        matches!(self, Role::Support | Role::Billing)
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tenant_admin" => Ok(Role::TenantAdmin),
            "support" => Ok(Role::Support),
            "billing" => Ok(Role::Billing),
            other => Err(format!(
                "unknown role {other:?} (tenant_admin, support or billing)"
            )),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
