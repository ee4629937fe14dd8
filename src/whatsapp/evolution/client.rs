//! Calls to an Evolution API server: `{base}/{group}/{action}/{instanceName}` with the key in the
//! `apikey` header (never in the URL, never in a log or an error). Errors say whether to retry
//! ([`EvolutionError::is_transient`]); an error body on HTTP 200 (`connect`, `restart`) is an
//! error like any other.

use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::types::*;
use super::{ConnState, Instance};

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

fn sent(v: &Value) -> Result<SentMessage, EvolutionError> {
    SentMessage::from_response(v)
}

impl EvolutionClient {
    pub fn new(timeout: Duration) -> Result<Self, EvolutionError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EvolutionError::Network(e.without_url().to_string()))?;
        Ok(Self { http })
    }

    /// `{base}/{group}/{action}/{name}` (the name as one path segment, escaped).
    fn url(
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

    async fn call(
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
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                EvolutionError::Timeout
            } else {
                EvolutionError::Network(e.without_url().to_string())
            }
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                EvolutionError::Timeout
            } else {
                EvolutionError::Network(e.without_url().to_string())
            }
        })?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &text));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        let v: Value =
            serde_json::from_str(&text).map_err(|e| EvolutionError::Decode(e.to_string()))?;
        match error_in_ok(&v) {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }

    async fn scoped(
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

    // ----- instance -----

    /// `POST /instance/create` (needs the server's global key in `inst.api_key`).
    pub async fn create_instance(
        &self,
        inst: &Instance,
        opts: &CreateInstance,
    ) -> Result<Created, EvolutionError> {
        let mut body = json!({
            "instanceName": inst.name,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": opts.qrcode,
            // b24wa relays one-to-one chats only; the phone keeps its own settings otherwise.
            "groupsIgnore": true,
            "syncFullHistory": false,
        });
        if let Some(n) = &opts.number {
            body["number"] = json!(n);
        }
        if let Some(w) = &opts.webhook {
            body["webhook"] = w.to_json();
        }
        let url = Self::url(inst, "instance", "create", false)?;
        let v = self.call(inst, Method::POST, url, Some(&body)).await?;
        Ok(Created {
            instance_id: str_at(&v, "/instance/instanceId"),
            status: str_at(&v, "/instance/status"),
            hash: str_at(&v, "/hash")
                .filter(|h| !h.is_empty())
                .map(SecretString::from),
            qr: v.get("qrcode").filter(|q| q.is_object()).map(Qr::parse),
        })
    }

    /// `GET /instance/fetchInstances?instanceName=…`: this instance, or None when the server
    /// has no such instance.
    pub async fn fetch_instance(
        &self,
        inst: &Instance,
    ) -> Result<Option<InstanceInfo>, EvolutionError> {
        let mut url = Self::url(inst, "instance", "fetchInstances", false)?;
        url.query_pairs_mut()
            .append_pair("instanceName", &inst.name);
        // 2.x answers an unknown name 404 `Instance "x" not found` (not the guard's words).
        let v = match self.call(inst, Method::GET, url, None).await {
            Err(
                EvolutionError::UnknownInstance(_) | EvolutionError::Rejected { status: 404, .. },
            ) => return Ok(None),
            other => other?,
        };
        let rows = match &v {
            Value::Array(a) => a.clone(),
            Value::Object(_) => vec![v.clone()],
            _ => Vec::new(),
        };
        Ok(rows.iter().find_map(|r| {
            let name = str_at(r, "/name")
                .or_else(|| str_at(r, "/instanceName"))
                .or_else(|| str_at(r, "/instance/instanceName"))?;
            (name == inst.name).then(|| InstanceInfo {
                state: str_at(r, "/connectionStatus")
                    .or_else(|| str_at(r, "/instance/status"))
                    .or_else(|| str_at(r, "/status"))
                    .map(|s| ConnState::parse(&s)),
                owner_jid: str_at(r, "/ownerJid").or_else(|| str_at(r, "/instance/owner")),
                profile_name: str_at(r, "/profileName")
                    .or_else(|| str_at(r, "/instance/profileName")),
                name,
            })
        }))
    }

    /// `POST /webhook/set`: our URL, secret header and events.
    pub async fn set_webhook(
        &self,
        inst: &Instance,
        cfg: &WebhookConfig,
    ) -> Result<(), EvolutionError> {
        let body = json!({ "webhook": cfg.to_json() });
        self.scoped(inst, Method::POST, "webhook", "set", Some(&body))
            .await
            .map(|_| ())
    }

    /// `GET /webhook/find`: the stored webhook (`url`, `enabled`, `events`, …), or None.
    pub async fn find_webhook(&self, inst: &Instance) -> Result<Option<Value>, EvolutionError> {
        let v = self
            .scoped(inst, Method::GET, "webhook", "find", None)
            .await?;
        Ok((!v.is_null()).then_some(v))
    }

    /// `GET /instance/connect[?number=]`: a QR (and the pairing code when `number` is given)
    /// until the phone links.
    pub async fn connect(
        &self,
        inst: &Instance,
        number: Option<&str>,
    ) -> Result<Connect, EvolutionError> {
        let mut url = Self::url(inst, "instance", "connect", true)?;
        if let Some(n) = number {
            url.query_pairs_mut().append_pair("number", n);
        }
        let v = self.call(inst, Method::GET, url, None).await?;
        if let Some(s) = str_at(&v, "/instance/state") {
            return Ok(Connect::State(ConnState::parse(&s)));
        }
        let qr = Qr::parse(&v);
        if qr.code.is_none() && qr.base64.is_none() && qr.pairing_code.is_none() {
            return Ok(Connect::NoQr);
        }
        Ok(Connect::Qr(qr))
    }

    /// `GET /instance/connectionState`.
    pub async fn connection_state(&self, inst: &Instance) -> Result<ConnState, EvolutionError> {
        let v = self
            .scoped(inst, Method::GET, "instance", "connectionState", None)
            .await?;
        str_at(&v, "/instance/state")
            .map(|s| ConnState::parse(&s))
            .ok_or_else(|| EvolutionError::Decode("no instance.state".into()))
    }

    /// `POST /instance/restart` (an error body when the instance is closed).
    pub async fn restart(&self, inst: &Instance) -> Result<(), EvolutionError> {
        self.scoped(inst, Method::POST, "instance", "restart", None)
            .await
            .map(|_| ())
    }

    /// `DELETE /instance/logout`: unlinks the phone. A closed instance answers 400, reported
    /// as [`EvolutionError::NotConnected`].
    pub async fn logout(&self, inst: &Instance) -> Result<(), EvolutionError> {
        match self
            .scoped(inst, Method::DELETE, "instance", "logout", None)
            .await
        {
            Err(EvolutionError::Rejected {
                status: 400,
                message,
            }) => Err(EvolutionError::NotConnected(message)),
            other => other.map(|_| ()),
        }
    }

    /// `DELETE /instance/delete` (logs out first when linked).
    pub async fn delete_instance(&self, inst: &Instance) -> Result<(), EvolutionError> {
        self.scoped(inst, Method::DELETE, "instance", "delete", None)
            .await
            .map(|_| ())
    }

    // ----- sending -----

    fn with_quote(mut body: Value, quoted: Option<&Quoted>) -> Value {
        if let Some(q) = quoted {
            body["quoted"] = json!({ "key": q });
        }
        body
    }

    /// `sendText`; `number` is digits or a full JID (`…@lid` when no phone is known).
    pub async fn send_text(
        &self,
        inst: &Instance,
        number: &str,
        text: &str,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let body = Self::with_quote(json!({"number": number, "text": text}), quoted);
        sent(
            &self
                .scoped(inst, Method::POST, "message", "sendText", Some(&body))
                .await?,
        )
    }

    /// `sendMedia`: an image, video, document or audio file (not a voice note).
    pub async fn send_media(
        &self,
        inst: &Instance,
        number: &str,
        media: &Media<'_>,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let mut body = json!({
            "number": number,
            "mediatype": media.kind.as_str(),
            "media": media.media,
        });
        for (k, v) in [
            ("mimetype", media.mime),
            ("fileName", media.file_name),
            ("caption", media.caption),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                body[k] = json!(v);
            }
        }
        let body = Self::with_quote(body, quoted);
        sent(
            &self
                .scoped(inst, Method::POST, "message", "sendMedia", Some(&body))
                .await?,
        )
    }

    /// `sendWhatsAppAudio`: a voice note (`ptt`), converted to OGG/Opus by the server.
    pub async fn send_voice(
        &self,
        inst: &Instance,
        number: &str,
        audio: &str,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let body = Self::with_quote(json!({"number": number, "audio": audio}), quoted);
        sent(
            &self
                .scoped(
                    inst,
                    Method::POST,
                    "message",
                    "sendWhatsAppAudio",
                    Some(&body),
                )
                .await?,
        )
    }

    /// `sendReaction`; an empty `emoji` removes ours.
    pub async fn send_reaction(
        &self,
        inst: &Instance,
        key: &MessageKey,
        emoji: &str,
    ) -> Result<SentMessage, EvolutionError> {
        let body = json!({"key": key, "reaction": emoji});
        sent(
            &self
                .scoped(inst, Method::POST, "message", "sendReaction", Some(&body))
                .await?,
        )
    }

    // ----- chat operations -----

    /// `DELETE /chat/deleteMessageForEveryone` (WhatsApp allows it for about 2 days).
    pub async fn delete_for_everyone(
        &self,
        inst: &Instance,
        key: &MessageKey,
    ) -> Result<(), EvolutionError> {
        let body = serde_json::to_value(key).map_err(|e| EvolutionError::Decode(e.to_string()))?;
        self.scoped(
            inst,
            Method::DELETE,
            "chat",
            "deleteMessageForEveryone",
            Some(&body),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            // Evolution answers every failure of the delete itself with this 500 (contract §4),
            // WhatsApp's refusal of a late delete included; asking again gets the same answer,
            // so it is final (the operator is told) rather than a server fault to retry.
            EvolutionError::Server { status, message }
                if message.contains("Error while deleting message for everyone") =>
            {
                EvolutionError::Rejected { status, message }
            }
            other => other,
        })
    }

    /// `updateMessage`: the new text of our message `key` (WhatsApp allows 15 min; Evolution
    /// does not check, a late edit fails silently later).
    pub async fn edit_text(
        &self,
        inst: &Instance,
        number: &str,
        key: &MessageKey,
        text: &str,
    ) -> Result<(), EvolutionError> {
        let body = json!({"number": number, "key": key, "text": text});
        self.scoped(inst, Method::POST, "chat", "updateMessage", Some(&body))
            .await
            .map(|_| ())
    }

    /// `markMessageAsRead` (keys on `@lid` chats are skipped by the server, silently).
    pub async fn mark_read(
        &self,
        inst: &Instance,
        keys: &[MessageKey],
    ) -> Result<(), EvolutionError> {
        let reads: Vec<Value> = keys
            .iter()
            .map(|k| json!({"id": k.id, "fromMe": k.from_me, "remoteJid": k.remote_jid}))
            .collect();
        let body = json!({ "readMessages": reads });
        self.scoped(inst, Method::POST, "chat", "markMessageAsRead", Some(&body))
            .await
            .map(|_| ())
    }

    /// `getBase64FromMediaMessage`: the plaintext of an incoming file by its message id (the
    /// webhook's `url` is encrypted).
    pub async fn media_base64(
        &self,
        inst: &Instance,
        message_id: &str,
    ) -> Result<MediaFile, EvolutionError> {
        let body = json!({"message": {"key": {"id": message_id}}, "convertToMp4": false});
        let v = self
            .scoped(
                inst,
                Method::POST,
                "chat",
                "getBase64FromMediaMessage",
                Some(&body),
            )
            .await?;
        let b64 = v
            .get("base64")
            .and_then(Value::as_str)
            .ok_or_else(|| EvolutionError::Decode("no base64".into()))?;
        let bytes = decode_base64(b64).map_err(EvolutionError::Decode)?;
        Ok(MediaFile {
            media_type: str_at(&v, "/mediaType"),
            file_name: str_at(&v, "/fileName"),
            caption: str_at(&v, "/caption"),
            mime: str_at(&v, "/mimetype"),
            bytes,
        })
    }

    /// `whatsappNumbers`: which numbers have WhatsApp (every send checks this itself and
    /// answers 400 `exists:false`; this asks before a chat is opened).
    pub async fn check_numbers(
        &self,
        inst: &Instance,
        numbers: &[&str],
    ) -> Result<Vec<NumberCheck>, EvolutionError> {
        let body = json!({ "numbers": numbers });
        let v = self
            .scoped(inst, Method::POST, "chat", "whatsappNumbers", Some(&body))
            .await?;
        let rows = v
            .as_array()
            .ok_or_else(|| EvolutionError::Decode("not a list".into()))?;
        Ok(rows
            .iter()
            .map(|r| NumberCheck {
                number: str_at(r, "/number").unwrap_or_default(),
                jid: str_at(r, "/jid").unwrap_or_default(),
                exists: r.get("exists").and_then(Value::as_bool).unwrap_or(false),
                lid: str_at(r, "/lid"),
            })
            .collect())
    }

    /// `fetchProfilePictureUrl`: the customer's avatar link (None: hidden or none).
    pub async fn profile_picture_url(
        &self,
        inst: &Instance,
        number: &str,
    ) -> Result<Option<String>, EvolutionError> {
        let body = json!({ "number": number });
        let v = self
            .scoped(
                inst,
                Method::POST,
                "chat",
                "fetchProfilePictureUrl",
                Some(&body),
            )
            .await?;
        Ok(str_at(&v, "/profilePictureUrl").filter(|u| !u.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
