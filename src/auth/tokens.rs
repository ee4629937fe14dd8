//! HS256 JWTs carrying a role and a tenant, signed with one key and verified with it or any
//! previous key still listed (rotation; the key is named by `kid` in the header); access and
//! refresh tokens.

use std::{collections::HashMap, sync::Arc, time::Duration};

use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{LoginLimiter, LoginLimits, Role};
use crate::config::Settings;

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
}
