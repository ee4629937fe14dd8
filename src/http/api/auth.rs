//! Admin API authentication: HS256 JWTs carrying a role and a tenant, signed with one key and
//! verified with it or any previous key still listed (rotation; the key is named by `kid` in the
//! header); access and refresh tokens; argon2 password hashing; login brute-force limits.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use actix_web::{web, FromRequest, HttpRequest};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{
    config::Settings,
    http::{ApiError, AppState},
};

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

/// Access tokens authenticate API calls; refresh tokens only buy a new pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    #[default]
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (tokens from login) or a name (`b24wa token`).
    pub sub: String,
    pub role: Role,
    /// The tenant of a tenant admin; `None` for support and billing.
    #[serde(default)]
    pub tenant: Option<i64>,
    /// The user's email, for the audit log (tokens from login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub typ: TokenType,
    pub iat: i64,
    pub exp: i64,
}

/// The `kid` of a secret: the first 8 hex digits of its SHA-256 (the convention at-rest
/// encryption keys share).
pub fn key_id(secret: &SecretString) -> String {
    crate::store::crypto::key_id(secret.expose_secret().as_bytes())
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => ApiError::unauthorized("token_expired", "the token has expired"),
            TokenError::Invalid => ApiError::unauthorized("token_invalid", "the token is invalid"),
        }
    }
}

/// An access token and a refresh token, as login and refresh hand them out.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

/// Token keys (one signing key, every verification key by kid) and lifetimes, plus the login
/// limiter: what authentication shares across HTTP workers.
#[derive(Clone)]
pub struct JwtKeys {
    kid: String,
    signing: Arc<EncodingKey>,
    verifying: Arc<HashMap<String, DecodingKey>>,
    access_ttl: i64,
    refresh_ttl: i64,
    logins: Arc<LoginLimiter>,
}

impl JwtKeys {
    /// Signs and verifies with `secret` only; default lifetimes and login limits.
    pub fn new(secret: SecretString) -> Self {
        let kid = key_id(&secret);
        let mut verifying = HashMap::new();
        verifying.insert(
            kid.clone(),
            DecodingKey::from_secret(secret.expose_secret().as_bytes()),
        );
        Self {
            kid,
            signing: Arc::new(EncodingKey::from_secret(secret.expose_secret().as_bytes())),
            verifying: Arc::new(verifying),
            access_ttl: 3600,
            refresh_ttl: 14 * 24 * 3600,
            logins: Arc::new(LoginLimiter::new(LoginLimits::default())),
        }
    }

    /// `secret` signs; it and `settings.jwt_previous_secrets` verify; lifetimes and login limits
    /// from the settings.
    pub fn from_settings(settings: &Settings, secret: SecretString) -> Self {
        let mut keys = Self::new(secret);
        let verifying = Arc::make_mut(&mut keys.verifying);
        for old in &settings.jwt_previous_secrets {
            verifying
                .entry(key_id(old))
                .or_insert_with(|| DecodingKey::from_secret(old.expose_secret().as_bytes()));
        }
        keys.access_ttl = settings.jwt_ttl_secs.max(1);
        keys.refresh_ttl = settings.refresh_ttl_secs.max(1);
        keys.logins = Arc::new(LoginLimiter::new(LoginLimits {
            per_account: settings.login_max_failures_per_account.max(1),
            per_ip: settings.login_max_failures_per_ip.max(1),
            window: Duration::from_secs(settings.login_window_secs.max(1)),
            ..LoginLimits::default()
        }));
        keys
    }

    /// The signing key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn access_ttl(&self) -> i64 {
        self.access_ttl
    }

    pub fn logins(&self) -> &LoginLimiter {
        &self.logins
    }

    /// An access token for `sub` that lives `ttl_secs` (negative: already expired, for tests).
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        tenant: Option<i64>,
        ttl_secs: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        self.sign(&Claims {
            sub: sub.to_string(),
            role,
            tenant,
            email: None,
            typ: TokenType::Access,
            iat: now,
            exp: now + ttl_secs,
        })
    }

    /// Signs `claims` as they are, with the current key.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.signing)
    }

    /// An access and a refresh token for a user, with the configured lifetimes.
    pub fn issue_pair(
        &self,
        user_id: i64,
        email: &str,
        role: Role,
        tenant: Option<i64>,
    ) -> Result<TokenPair, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let mut claims = Claims {
            sub: user_id.to_string(),
            role,
            tenant,
            email: Some(email.to_string()),
            typ: TokenType::Access,
            iat: now,
            exp: now + self.access_ttl,
        };
        let access_token = self.sign(&claims)?;
        claims.typ = TokenType::Refresh;
        claims.exp = now + self.refresh_ttl;
        let refresh_token = self.sign(&claims)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.access_ttl,
        })
    }

    /// Verifies signature (by the header's kid: unknown or missing is refused), expiry and the
    /// token type.
    pub fn verify(&self, token: &str, typ: TokenType) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp"]);
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?
            .claims;
        if claims.typ != typ || (claims.role == Role::TenantAdmin && claims.tenant.is_none()) {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords
// ---------------------------------------------------------------------------------------------

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Why a password is refused, in words for the person choosing it; `None` if it is fine.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Some(format!(
            "the password is too short ({n} characters): use at least {MIN_PASSWORD_LEN}"
        ))
    } else if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        Some("the password is one character repeated".into())
    } else {
        None
    }
}

/// Argon2id PHC string with a random salt. CPU-heavy: call it off the actor threads
/// (`web::block`).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks `password` against a PHC string; `None` checks it against a dummy hash so that an
/// unknown account costs the same time as a known one. CPU-heavy: call it off the actor threads.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default()
    });
    let known = hash.is_some();
    let Ok(parsed) = PasswordHash::new(hash.unwrap_or(dummy)) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
}

// ---------------------------------------------------------------------------------------------
// Login brute-force limits
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Attempts not followed by a success, per account (email) within the window.
    pub per_account: u32,
    /// Failed attempts per client IP within the window.
    pub per_ip: u32,
    pub window: Duration,
    /// Accounts and IPs tracked at most (the oldest windows are forgotten beyond it).
    pub max_entries: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u32,
    started: Instant,
}

#[derive(Default)]
struct Counters {
    accounts: HashMap<String, Window>,
    ips: HashMap<IpAddr, Window>,
}

/// In-memory fixed windows of failed logins per account and per IP, for one node (in cluster
/// mode the same windows are kept in Redis, `Cluster::login_begin`, and this one only stands in
/// while Redis does not answer). An attempt is counted when it starts, so parallel guesses
/// cannot exceed the limit; a success takes it back and resets the account.
pub struct LoginLimiter {
    limits: LoginLimits,
    counters: Mutex<Counters>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            counters: Mutex::new(Counters::default()),
        }
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    /// Counts an attempt for `account` from `ip`, or says how long to wait when either is over
    /// its limit (then nothing is counted).
    pub fn begin(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let l = self.limits;
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let wait_account = blocked(c.accounts.get(account), l.per_account, l.window, now);
        let wait_ip = ip.and_then(|ip| blocked(c.ips.get(&ip), l.per_ip, l.window, now));
        if let Some(wait) = wait_account.max(wait_ip) {
            return Err(wait);
        }
        bump(&mut c.accounts, account.to_string(), l, now);
        if let Some(ip) = ip {
            bump(&mut c.ips, ip, l, now);
        }
        Ok(())
    }

    /// The attempt succeeded: the account starts afresh, and the IP's attempt is taken back.
    pub fn succeeded(&self, account: &str, ip: Option<IpAddr>) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.accounts.remove(account);
        if let Some(w) = ip.and_then(|ip| c.ips.get_mut(&ip)) {
            w.count = w.count.saturating_sub(1);
        }
    }
}

/// How long until `w` (with `limit` attempts used) admits another one, if it is full.
fn blocked(w: Option<&Window>, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
    let w = w?;
    let age = now.saturating_duration_since(w.started);
    (age < window && w.count >= limit).then(|| window - age)
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Window>,
    key: K,
    l: LoginLimits,
    now: Instant,
) {
    if !map.contains_key(&key) && map.len() >= l.max_entries {
        map.retain(|_, w| now.saturating_duration_since(w.started) < l.window);
        if map.len() >= l.max_entries {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
    }
    let w = map.entry(key).or_insert(Window {
        count: 0,
        started: now,
    });
    if now.saturating_duration_since(w.started) >= l.window {
        *w = Window {
            count: 0,
            started: now,
        };
    }
    w.count += 1;
}

// ---------------------------------------------------------------------------------------------
// The extractor
// ---------------------------------------------------------------------------------------------

/// An authenticated admin-API caller (a valid access token).
#[derive(Debug)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// The tenant of a tenant admin; `None` for support and billing.
    pub fn tenant(&self) -> Option<i64> {
        self.0.tenant
    }

    /// The user id, when the token came from a login.
    pub fn user_id(&self) -> Option<i64> {
        self.0.email.as_ref().and(self.0.sub.parse().ok())
    }

    /// Who the audit log says acted: the user's email, else the token's subject.
    pub fn actor(&self) -> &str {
        self.0.email.as_deref().unwrap_or(&self.0.sub)
    }

    /// Support staff only.
    pub fn require_support(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Support {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "this needs the support role",
            ))
        }
    }

    /// Views across all tenants: support and billing; a tenant admin is told `why` not.
    pub fn require_global(&self, why: &str) -> Result<(), ApiError> {
        if self.0.role.is_global() {
            Ok(())
        } else {
            Err(ApiError::forbidden("forbidden", why))
        }
    }

    /// Reading the tenant's data: support and billing see every tenant, a tenant admin only its
    /// own (another tenant's is `404`, so its existence is not told).
    pub fn require_tenant_access(&self, tenant_id: i64) -> Result<(), ApiError> {
        if self.0.role.is_global() || self.0.tenant == Some(tenant_id) {
            Ok(())
        } else {
            Err(ApiError::not_found("not_found", "no such tenant"))
        }
    }

    /// Changing the tenant's data: support, or the tenant's own admin; billing never writes.
    pub fn require_write(&self, tenant_id: i64) -> Result<(), ApiError> {
        match self.0.role {
            Role::Billing => Err(ApiError::forbidden(
                "forbidden",
                "the billing role is read-only",
            )),
            Role::Support => Ok(()),
            Role::TenantAdmin => self.require_tenant_access(tenant_id),
        }
    }

    /// Operational actions across tenants (the routes that are not tenant-scoped yet): support.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_support()
    }
}

/// The bearer token of a request, if any.
fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized("token_missing", "Authorization: Bearer <token> is required")
            })?;
            Ok(Caller(state.jwt.verify(&token, TokenType::Access)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(SecretString::from(secret.to_string()))
    }

    #[test]
    fn kid_is_eight_hex_of_the_secret() {
        let k = keys("s1");
        assert_eq!(k.kid().len(), 8);
        assert_ne!(k.kid(), keys("s2").kid());
        let t = k.issue("x", Role::Support, None, 60).expect("sign");
        assert_eq!(
            decode_header(&t).expect("header").kid.as_deref(),
            Some(k.kid())
        );
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let k = keys("s1");
        let old = k.issue("x", Role::Support, None, -120).expect("sign");
        assert_eq!(
            k.verify(&old, TokenType::Access).err(),
            Some(TokenError::Expired)
        );
        let foreign = keys("s2")
            .issue("x", Role::Support, None, 60)
            .expect("sign");
        assert_eq!(
            k.verify(&foreign, TokenType::Access).err(),
            Some(TokenError::Invalid)
        );
        let ok = k.issue("x", Role::Billing, None, 60).expect("sign");
        assert_eq!(
            k.verify(&ok, TokenType::Access).expect("valid").role,
            Role::Billing
        );
        assert_eq!(
            k.verify(&ok, TokenType::Refresh).err(),
            Some(TokenError::Invalid)
        );
    }

    #[test]
    fn limiter_blocks_after_the_limit_and_a_success_resets_the_account() {
        let l = LoginLimiter::new(LoginLimits {
            per_account: 2,
            per_ip: 3,
            window: Duration::from_secs(60),
            max_entries: 10,
        });
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        assert!(l.begin("a", ip).is_ok());
        assert!(l.begin("a", ip).is_ok());
        let wait = l.begin("a", ip).expect_err("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        l.succeeded("a", ip);
        assert!(l.begin("a", ip).is_ok());
        // The IP: two attempts counted (the success was taken back); b makes three, full.
        assert!(l.begin("b", ip).is_ok());
        assert!(l.begin("c", ip).is_err());
        assert!(l.begin("c", "10.0.0.2".parse().ok()).is_ok());
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(Some(&h), "correct horse battery"));
        assert!(!verify_password(Some(&h), "wrong horse battery"));
        assert!(!verify_password(None, "correct horse battery"));
        assert!(password_problem("short").is_some());
        assert!(password_problem("aaaaaaaaaaaaaaaa").is_some());
        assert!(password_problem("a fine long passphrase").is_none());
    }
}
