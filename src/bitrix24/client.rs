//! REST calls to a portal and OAuth refreshes. Endpoints always come from the portal's install
//! data (`client_endpoint`, `server_endpoint`), never from constants.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum B24Error {
    #[error("access token expired")]
    ExpiredToken,
    #[error("portal rate limit ({0})")]
    RateLimited(String),
    #[error("portal answered {status}: {code}: {description}")]
    Api {
        status: u16,
        code: String,
        description: String,
    },
    #[error("portal unavailable: HTTP {status}")]
    Unavailable { status: u16 },
    #[error("network: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error("OAuth refresh failed: {code}: {description}")]
    OAuth { code: String, description: String },
    /// The OAuth server refused the portal's refresh (`invalid_grant`, `invalid_client`,
    /// `PAYMENT_REQUIRED`, ...): nothing is called until the app is installed again.
    #[error("portal needs re-authorisation (install the app again): {0}")]
    NeedsReauth(String),
    /// The app was uninstalled: the portal has no tokens until a reinstall.
    #[error("the app is not installed on the portal")]
    NotInstalled,
    /// The portal rejected a pair that newer stored tokens have replaced meanwhile (a
    /// reinstall, an app update, another node's refresh): the job goes back to its queue, to
    /// run again in order (after a reinstall's setup) with them.
    #[error("the portal's tokens were replaced during the call")]
    TokensReplaced,
}

impl B24Error {
    /// Worth retrying later with backoff (the portal or the network may recover).
    pub fn is_transient(&self) -> bool {
        match self {
            B24Error::RateLimited(_) | B24Error::Unavailable { .. } | B24Error::Network(_) => true,
            B24Error::Api { status, code, .. } => {
                *status >= 500 || code == "INTERNAL_SERVER_ERROR" || code == "OPERATION_TIME_LIMIT"
            }
            B24Error::ExpiredToken
            | B24Error::Decode(_)
            | B24Error::OAuth { .. }
            | B24Error::NeedsReauth(_)
            | B24Error::NotInstalled
            | B24Error::TokensReplaced => false,
        }
    }

    /// The portal did not accept the access token (bitrix24-crm §5): 401 `expired_token`
    /// (refresh and repeat), `NO_AUTH_FOUND`, `invalid_token` or another 401 (worth one refresh;
    /// `insufficient_scope` is not: a new token has the same scope).
    pub fn is_auth(&self) -> bool {
        match self {
            B24Error::ExpiredToken => true,
            B24Error::Api { status, code, .. } => {
                (*status == 401 && code != "insufficient_scope")
                    || code == "NO_AUTH_FOUND"
                    || code == "invalid_token"
            }
            _ => false,
        }
    }

    /// The call could not be made for want of usable tokens (uninstalled, the refresh was
    /// refused, or they were replaced under it): the job waits instead of failing.
    pub fn is_held(&self) -> bool {
        matches!(
            self,
            B24Error::NeedsReauth(_) | B24Error::NotInstalled | B24Error::TokensReplaced
        )
    }

    /// Stable machine-readable code for logs, jobs and the API.
    pub fn code(&self) -> &str {
        match self {
            B24Error::ExpiredToken => "expired_token",
            B24Error::RateLimited(_) => "QUERY_LIMIT_EXCEEDED",
            B24Error::Api { code, .. } => code,
            B24Error::Unavailable { .. } => "portal_unavailable",
            B24Error::Network(_) => "network",
            B24Error::Decode(_) => "bad_answer",
            B24Error::OAuth { code, .. } => code,
            B24Error::NeedsReauth(_) => "needs_reauth",
            B24Error::NotInstalled => "not_installed",
            B24Error::TokensReplaced => "tokens_replaced",
        }
    }
}

/// A fresh token pair from the OAuth server.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_in: i64,
    pub client_endpoint: Option<String>,
    /// The portal the OAuth server issued the pair for (checked against an install's).
    pub member_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    client_endpoint: Option<String>,
    #[serde(default)]
    member_id: Option<String>,
}

#[derive(Clone)]
pub struct B24Client {
    http: reqwest::Client,
    client_id: String,
    client_secret: SecretString,
}

impl B24Client {
    pub fn new(
        timeout: Duration,
        client_id: String,
        client_secret: SecretString,
    ) -> Result<Self, B24Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            // A moved portal answers 302; we re-POST ourselves (reqwest would turn it into a GET).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| B24Error::Network(e.to_string()))?;
        Ok(Self {
            http,
            client_id,
            client_secret,
        })
    }

    /// `POST {client_endpoint}{method}` with the access token in the body; returns `result`,
    /// and the portal's new REST base when it answered 302 (it moved: store it).
    pub async fn call(
        &self,
        client_endpoint: &str,
        access_token: &SecretString,
        method: &str,
        params: &Value,
    ) -> Result<(Value, Option<String>), B24Error> {
        let mut body = match params {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        body.insert(
            "auth".into(),
            Value::String(access_token.expose_secret().to_string()),
        );
        let mut url = format!("{client_endpoint}{method}");
        for _ in 0..3 {
            let resp = self
                .http
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| B24Error::Network(net_reason(&e)))?;
            let status = resp.status();
            if status.is_redirection() {
                let Some(loc) = resp.headers().get(reqwest::header::LOCATION) else {
                    return Err(B24Error::Unavailable {
                        status: status.as_u16(),
                    });
                };
                url = loc
                    .to_str()
                    .map_err(|_| B24Error::Decode("bad Location header".into()))?
                    .to_string();
                continue;
            }
            let text = resp
                .text()
                .await
                .map_err(|e| B24Error::Network(net_reason(&e)))?;
            let moved = if url.starts_with(client_endpoint) {
                None
            } else {
                // `https://new.host/rest/<method>[?…]` → `https://new.host/rest/`
                let path = url.split('?').next().unwrap_or(&url);
                path.strip_suffix(method).map(str::to_string)
            };
            return decode_answer(status, &text).map(|v| (v, moved));
        }
        Err(B24Error::Decode("too many redirects".into()))
    }

    /// Exchanges a refresh token for a new pair (the old refresh token dies).
    pub async fn refresh(
        &self,
        server_endpoint: &str,
        refresh_token: &SecretString,
    ) -> Result<TokenPair, B24Error> {
        let url = format!("{}oauth/token/", oauth_base(server_endpoint));
        let resp = self
            .http
            .get(&url)
            .query(&[
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("refresh_token", refresh_token.expose_secret()),
            ])
            .send()
            .await
            .map_err(|e| B24Error::Network(net_reason(&e)))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| B24Error::Network(net_reason(&e)))?;
        if !status.is_success() {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if status.is_server_error() {
                return Err(B24Error::Unavailable {
                    status: status.as_u16(),
                });
            }
            return Err(B24Error::OAuth {
                code: v["error"].as_str().unwrap_or("oauth_error").to_string(),
                description: v["error_description"].as_str().unwrap_or("").to_string(),
            });
        }
        let a: TokenAnswer = serde_json::from_str(&text)
            .map_err(|e| B24Error::Decode(format!("token answer: {e}")))?;
        Ok(TokenPair {
            access_token: SecretString::from(a.access_token),
            refresh_token: SecretString::from(a.refresh_token),
            expires_in: a.expires_in.unwrap_or(3600),
            client_endpoint: a.client_endpoint,
            member_id: a.member_id,
        })
    }
}

/// `https://oauth.bitrix.info/rest/` → `https://oauth.bitrix.info/`.
pub fn oauth_base(server_endpoint: &str) -> String {
    let trimmed = server_endpoint.trim_end_matches('/');
    let base = trimmed.strip_suffix("/rest").unwrap_or(trimmed);
    format!("{base}/")
}

fn net_reason(e: &reqwest::Error) -> String {
    // Never include the URL: it may carry a token in the query.
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

fn decode_answer(status: StatusCode, text: &str) -> Result<Value, B24Error> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
            return Err(B24Error::Unavailable {
                status: status.as_u16(),
            })
        }
        Err(e) => return Err(B24Error::Decode(format!("HTTP {status}: {e}"))),
    };
    if let Some(code) = v.get("error").and_then(Value::as_str) {
        let description = v["error_description"].as_str().unwrap_or("").to_string();
        return Err(match code {
            "expired_token" => B24Error::ExpiredToken,
            "QUERY_LIMIT_EXCEEDED" => B24Error::RateLimited(description),
            _ => B24Error::Api {
                status: status.as_u16(),
                code: code.to_string(),
                description,
            },
        });
    }
    if !status.is_success() {
        return Err(B24Error::Unavailable {
            status: status.as_u16(),
        });
    }
    match v.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(B24Error::Decode("no result in answer".into())),
    }
}

/// Builds `{CONNECTOR, LINE, MESSAGES}` for the imconnector message methods.
pub fn messages_params(connector: &str, line: &str, items: Vec<Value>) -> Value {
    json!({"CONNECTOR": connector, "LINE": line, "MESSAGES": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_base_strips_rest() {
        assert_eq!(
            oauth_base("https://oauth.bitrix.info/rest/"),
            "https://oauth.bitrix.info/"
        );
        assert_eq!(
            oauth_base("http://127.0.0.1:5/oauth-server/rest/"),
            "http://127.0.0.1:5/oauth-server/"
        );
    }

    #[test]
    fn answers_map_to_errors() {
        let e = decode_answer(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"expired_token","error_description":"x"}"#,
        )
        .expect_err("expired");
        assert!(matches!(e, B24Error::ExpiredToken));
        let e = decode_answer(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
        )
        .expect_err("limit");
        assert!(e.is_transient());
        let e = decode_answer(StatusCode::BAD_GATEWAY, "<html>").expect_err("5xx");
        assert!(e.is_transient());
        let e = decode_answer(
            StatusCode::BAD_REQUEST,
            r#"{"error":"ERROR_ARGUMENT","error_description":"bad"}"#,
        )
        .expect_err("400");
        assert!(!e.is_transient());
        assert!(!e.is_auth());
        for (status, code) in [
            (StatusCode::UNAUTHORIZED, "NO_AUTH_FOUND"),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            (StatusCode::UNAUTHORIZED, "SOMETHING_NEW"),
        ] {
            let e = decode_answer(status, &format!(r#"{{"error":"{code}"}}"#)).expect_err(code);
            assert!(e.is_auth() && !e.is_transient(), "{code}");
        }
        let e = decode_answer(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"insufficient_scope"}"#,
        )
        .expect_err("scope");
        assert!(!e.is_auth());
        assert_eq!(
            decode_answer(StatusCode::OK, r#"{"result":{"result":true}}"#).expect("ok"),
            json!({"result": true})
        );
    }
}
