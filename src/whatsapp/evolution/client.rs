//! Calls to an Evolution API server: `{base}/{group}/{action}/{instanceName}` with the key in the
//! `apikey` header (never in the URL, never in a log or an error). Errors say whether to retry
//! ([`EvolutionError::is_transient`]); an error body on HTTP 200 (`connect`, `restart`) is an
//! error like any other. The calls themselves: `instances` (the instance, its session and
//! webhook), `messages` (sends and chat operations).

use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::Instance;
use crate::whatsapp::http::{http_client, json_answer, send_and_read, Failed};

#[derive(Debug, thiserror::Error)]
pub enum EvolutionError {
    /// 401: the key is neither the global key nor this instance's token.
    #[error("Evolution API rejected the API key (HTTP 401)")]
    Unauthorized,
    /// 403, e.g. `create` of a name already in use.
    #[error("Evolution API refused (HTTP 403): {0}")]
    Forbidden(String),
    /// 404 `The "x" instance does not exist` (answered before the key is checked).
    #[error("Evolution instance does not exist: {0}")]
    UnknownInstance(String),
    /// 400 with `exists:false`: the number has no WhatsApp account.
    #[error("the number is not on WhatsApp: {0}")]
    NotOnWhatsApp(String),
    /// The instance has no session (`Connection Closed`, logout of a closed instance).
    #[error("the Evolution instance is not connected to WhatsApp: {0}")]
    NotConnected(String),
    /// Any other 4xx: the request itself is wrong; retrying does not help.
    #[error("Evolution API refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// 5xx: the server (or a proxy in front of it) failed.
    #[error("Evolution API failed (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// `{"error":true,"message":…}` on HTTP 200 (`connect` and `restart` catch their errors).
    #[error("Evolution API answered an error: {0}")]
    ErrorBody(String),
    #[error("Evolution API did not answer in time")]
    Timeout,
    #[error("network: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error("invalid Evolution API base URL: {0}")]
    BadUrl(String),
    /// The key has characters an HTTP header cannot carry (a paste gone wrong).
    #[error("the Evolution API key is not a valid header value")]
    BadKey,
}

impl EvolutionError {
    /// Retry later: the server's failures (5xx, 408, 429), an error body on 200 (the server
    /// caught an exception: a socket starting, a restart in progress), timeouts, the network.
    pub fn is_transient(&self) -> bool {
        match self {
            EvolutionError::Server { .. }
            | EvolutionError::ErrorBody(_)
            | EvolutionError::Timeout
            | EvolutionError::Network(_) => true,
            EvolutionError::Rejected { status, .. } => *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// The number needs attention in the admin app (key, instance or session), not a retry.
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            EvolutionError::Unauthorized
                | EvolutionError::UnknownInstance(_)
                | EvolutionError::NotConnected(_)
                | EvolutionError::BadUrl(_)
                | EvolutionError::BadKey
        )
    }
}

#[derive(Clone)]
pub struct EvolutionClient {
    http: reqwest::Client,
}

/// The error body's words: `response.message` (strings joined, objects as JSON), else the
/// whole body, cut to 300 characters.
fn message_of(v: Option<&Value>, raw: &str) -> String {
    let m = v.and_then(|v| v.pointer("/response/message").or_else(|| v.get("message")));
    let text = match m {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
        None => raw.to_string(),
    };
    text.chars().take(300).collect()
}

/// A non-2xx answer as an error.
fn classify(status: u16, body: &str) -> EvolutionError {
    let v: Option<Value> = serde_json::from_str(body).ok();
    let message = message_of(v.as_ref(), body);
    let no_account = v
        .as_ref()
        .and_then(|v| v.pointer("/response/message"))
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|i| i.get("exists").and_then(Value::as_bool) == Some(false))
        })
        .map(|i| {
            i.get("number")
                .or_else(|| i.get("jid"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        });
    let lower = message.to_lowercase();
    match status {
        400 if no_account.is_some() => {
            EvolutionError::NotOnWhatsApp(no_account.unwrap_or_default())
        }
        400 if lower.contains("connection closed") || lower.contains("is not connected") => {
            EvolutionError::NotConnected(message)
        }
        401 => EvolutionError::Unauthorized,
        403 => EvolutionError::Forbidden(message),
        404 if lower.contains("does not exist") => EvolutionError::UnknownInstance(message),
        s if s >= 500 => EvolutionError::Server { status, message },
        _ => EvolutionError::Rejected { status, message },
    }
}

/// An error carried by an HTTP 2xx body: `{"error":true,…}`, or the error envelope itself.
fn error_in_ok(v: &Value) -> Option<EvolutionError> {
    let flagged = match v.get("error") {
        Some(Value::Bool(true)) => true,
        // `{"status":400,"error":"Bad Request","response":…}` behind a proxy that said 200.
        Some(Value::String(_)) => v
            .get("status")
            .and_then(Value::as_u64)
            .is_some_and(|s| s >= 400),
        _ => false,
    };
    flagged.then(|| EvolutionError::ErrorBody(message_of(Some(v), &v.to_string())))
}

/// A failed exchange: a timeout, or what the network said (without the URL).
fn network(f: Failed) -> EvolutionError {
    let (Failed::Send(e) | Failed::Read(e)) = f;
    if e.is_timeout() {
        EvolutionError::Timeout
    } else {
        EvolutionError::Network(e.without_url().to_string())
    }
}

impl EvolutionClient {
    pub fn new(timeout: Duration) -> Result<Self, EvolutionError> {
        let http = http_client(timeout)
            .map_err(|e| EvolutionError::Network(e.without_url().to_string()))?;
        Ok(Self { http })
    }

    /// `{base}/{group}/{action}/{name}` (the name as one path segment, escaped).
    pub(super) fn url(
        inst: &Instance,
        group: &str,
        action: &str,
        scoped: bool,
    ) -> Result<url::Url, EvolutionError> {
        let mut url = url::Url::parse(inst.base_url.trim_end_matches('/'))
            .map_err(|e| EvolutionError::BadUrl(e.to_string()))?;
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| EvolutionError::BadUrl("cannot be a base".into()))?;
            segs.pop_if_empty().push(group).push(action);
            if scoped {
                segs.push(&inst.name);
            }
        }
        Ok(url)
    }

    pub(super) async fn call(
        &self,
        inst: &Instance,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
    ) -> Result<Value, EvolutionError> {
        // Marked sensitive: reqwest and hyper redact it from any debug output.
        let mut key = reqwest::header::HeaderValue::from_str(inst.api_key.expose_secret())
            .map_err(|_| EvolutionError::BadKey)?;
        key.set_sensitive(true);
        let mut req = self.http.request(method, url).header("apikey", key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let (status, text) = send_and_read(req).await.map_err(network)?;
        let v = json_answer(status, &text, classify, EvolutionError::Decode)?;
        match error_in_ok(&v) {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }

    /// `{method} {group}/{action}/{name}`: a call on this instance.
    pub(super) async fn scoped(
        &self,
        inst: &Instance,
        method: Method,
        group: &str,
        action: &str,
        body: Option<&Value>,
    ) -> Result<Value, EvolutionError> {
        let url = Self::url(inst, group, action, true)?;
        self.call(inst, method, url, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;

    #[test]
    fn errors_are_classified() {
        let e = classify(
            401,
            r#"{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}"#,
        );
        assert!(matches!(e, EvolutionError::Unauthorized) && e.needs_admin());
        let e = classify(
            404,
            r#"{"status":404,"error":"Not Found","response":{"message":["The \"x\" instance does not exist"]}}"#,
        );
        assert!(matches!(e, EvolutionError::UnknownInstance(ref m) if m.contains("\"x\"")));
        let e = classify(
            400,
            r#"{"status":400,"error":"Bad Request","response":{"message":[{"jid":"55@s.whatsapp.net","exists":false,"number":"55"}]}}"#,
        );
        assert!(matches!(e, EvolutionError::NotOnWhatsApp(ref n) if n == "55"));
        assert!(!e.is_transient());
        let e = classify(
            403,
            r#"{"status":403,"error":"Forbidden","response":{"message":["This name \"x\" is already in use."]}}"#,
        );
        assert!(matches!(e, EvolutionError::Forbidden(_)));
        let e = classify(
            500,
            r#"{"status":500,"error":"Internal Server Error","response":{"message":["Read messages fail","boom"]}}"#,
        );
        assert!(
            matches!(e, EvolutionError::Server { status: 500, ref message } if message == "Read messages fail; boom")
        );
        assert!(e.is_transient());
        // A proxy's HTML page: the text, cut.
        let e = classify(502, &"<html>".repeat(100));
        assert!(matches!(e, EvolutionError::Server { ref message, .. } if message.len() == 300));
        assert!(classify(429, "").is_transient());
        assert!(!classify(400, r#"{"response":{"message":["Text is required"]}}"#).is_transient());
        let e = classify(
            400,
            r#"{"response":{"message":["Error: Connection Closed"]}}"#,
        );
        assert!(matches!(e, EvolutionError::NotConnected(_)));
    }

    #[test]
    fn error_bodies_on_200_are_errors() {
        let e = error_in_ok(&json!({"error": true, "message": "Connection Closed"}));
        assert!(matches!(e, Some(EvolutionError::ErrorBody(ref m)) if m == "Connection Closed"));
        assert!(e.is_some_and(|e| e.is_transient()));
        assert!(error_in_ok(&json!({"status":"SUCCESS","error":false})).is_none());
        assert!(error_in_ok(
            &json!({"status":400,"error":"Bad Request","response":{"message":["x"]}})
        )
        .is_some());
        assert!(error_in_ok(&json!({"key": {"id": "1"}})).is_none());
    }

    #[test]
    fn urls_escape_the_name_and_keep_a_base_path() {
        let inst = Instance {
            base_url: "https://evo.example/api/".into(),
            name: "shop 1/x".into(),
            api_key: SecretString::from("k"),
        };
        let u = EvolutionClient::url(&inst, "message", "sendText", true).expect("url");
        assert_eq!(
            u.as_str(),
            "https://evo.example/api/message/sendText/shop%201%2Fx"
        );
        let bad = Instance {
            base_url: "not a url".into(),
            ..inst
        };
        assert!(matches!(
            EvolutionClient::url(&bad, "a", "b", true),
            Err(EvolutionError::BadUrl(_))
        ));
    }
}
