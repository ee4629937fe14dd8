//! Access tokens: checking them on REST calls, the OAuth server's refresh
//! (`/oauth-server/oauth/token/`), and the switches tests turn (expire, invalidate, revoke).

use actix_web::HttpRequest;

use super::params::{php_form_to_value, sval};
use super::*;
use crate::sim::{random_hex, unix_now};

impl BitrixState {
    pub(super) fn check_auth(&self, token: Option<&str>) -> Result<(), ApiErr> {
        match token {
            None | Some("") => Err(ApiErr::new(
                401,
                "NO_AUTH_FOUND",
                "Wrong authorization data",
            )),
            Some(t) if self.expired_access.contains(t) => Err(ApiErr::new(
                401,
                "expired_token",
                "The access token provided has expired.",
            )),
            Some(t) if self.valid_access.contains(t) => Ok(()),
            Some(_) => Err(ApiErr::new(
                401,
                "invalid_token",
                "The access token provided is invalid.",
            )),
        }
    }
}

pub(super) async fn oauth_handler(req: HttpRequest, body: web::Bytes, data: Data) -> HttpResponse {
    let mut params = php_form_to_value(req.query_string().as_bytes());
    if let (Value::Object(m), Value::Object(b)) = (&mut params, php_form_to_value(&body)) {
        m.extend(b);
    }
    let (fault, delay) = {
        let mut st = lock(&data);
        (st.take_fault("oauth.token", false), st.cfg.refresh_delay)
    };
    let oauth_err =
        |status: u16, e: &str, d: &str| (status, json!({"error": e, "error_description": d}));
    let fault_res = match fault {
        Some(BitrixFault::Timeout(d)) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Some(BitrixFault::ServerError) => Some(oauth_err(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        )),
        Some(BitrixFault::QueryLimit) => {
            Some(oauth_err(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"))
        }
        Some(BitrixFault::ExpiredToken) => Some(oauth_err(400, "invalid_grant", "Invalid grant")),
        None => None,
    };
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let (status, body) = match fault_res {
        Some(r) => r,
        None => {
            let mut st = lock(&data);
            let get = |k: &str| sval(params.get(k));
            if get("grant_type") != "refresh_token" {
                oauth_err(
                    400,
                    "unsupported_grant_type",
                    "Only refresh_token is supported by the simulator",
                )
            } else if get("client_id") != st.cfg.client_id
                || get("client_secret") != st.cfg.client_secret
            {
                oauth_err(400, "invalid_client", "Invalid client credentials")
            } else if st.refresh_token.is_empty() || get("refresh_token") != st.refresh_token {
                oauth_err(
                    400,
                    "invalid_grant",
                    "The refresh token provided is invalid or expired.",
                )
            } else {
                st.access_token = random_hex(16);
                st.refresh_token = random_hex(16);
                let at = st.access_token.clone();
                st.valid_access.insert(at);
                st.refresh_count += 1;
                (
                    200,
                    json!({
                        "access_token": st.access_token,
                        "client_endpoint": st.client_endpoint(),
                        "domain": st.host,
                        "expires": unix_now() + 3600,
                        "expires_in": 3600,
                        "member_id": st.cfg.member_id,
                        "refresh_token": st.refresh_token,
                        "scope": st.cfg.scope,
                        "server_endpoint": st.server_endpoint(),
                        "status": st.cfg.app_status,
                        "user_id": 1
                    }),
                )
            }
        }
    };
    lock(&data).record("oauth.token", &params, status, false);
    HttpResponse::build(status_code(status)).json(body)
}

impl BitrixSim {
    /// The portal moves to a new address: the old REST base answers 302 to the new one.
    pub fn move_portal(&self) {
        self.st().moved = true;
    }
    /// Current valid (access, refresh) pair.
    pub fn tokens(&self) -> (String, String) {
        let st = self.st();
        (st.access_token.clone(), st.refresh_token.clone())
    }
    /// Every access token issued so far now answers 401 expired_token (the refresh token stays valid).
    pub fn expire_access_token(&self) {
        let mut st = self.st();
        let valid: Vec<String> = st.valid_access.drain().collect();
        st.expired_access.extend(valid);
    }
    /// Every access token issued so far now answers 401 `invalid_token` (not `expired_token`);
    /// the refresh token stays valid, so one refresh brings a working pair.
    pub fn invalidate_access_tokens(&self) {
        self.st().valid_access.clear();
    }
    /// A new access token, valid at once, that the events posted from now on carry (as
    /// Bitrix24 gives each event its author's token); the refresh token is untouched.
    pub fn issue_access_token(&self) {
        let mut st = self.st();
        st.access_token = random_hex(16);
        let at = st.access_token.clone();
        st.valid_access.insert(at);
    }
    /// Kill the refresh token (next refresh → invalid_grant).
    pub fn revoke_refresh_token(&self) {
        self.st().refresh_token.clear();
    }
    pub fn refresh_count(&self) -> usize {
        self.st().refresh_count
    }
}
