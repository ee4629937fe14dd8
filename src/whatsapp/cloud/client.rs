//! Graph API calls for one number: send text and media, mark read, upload and download media.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::whatsapp::http::{exchange, http_client};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("Graph API error {code}: {message}")]
    Api {
        http: u16,
        code: i64,
        message: String,
    },
    #[error("Graph API unavailable: HTTP {0}")]
    Unavailable(u16),
    #[error("network: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl GraphError {
    /// Retry later (throughput limits, pair limit, Meta's own outages, the network).
    pub fn is_transient(&self) -> bool {
        match self {
            GraphError::Api { code, http, .. } => {
                matches!(code, 130429 | 131056 | 131000 | 131016 | 1 | 2 | 4 | 80007)
                    || *http >= 500
            }
            GraphError::Unavailable(_) | GraphError::Network(_) => true,
            GraphError::Decode(_) => false,
        }
    }

    /// The number's token is dead: stop sending until the tenant re-authorises.
    pub fn is_auth(&self) -> bool {
        matches!(self, GraphError::Api { code: 190, .. })
    }

    /// The Graph error code, when the API answered with one.
    pub fn api_code(&self) -> Option<i64> {
        match self {
            GraphError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn code(&self) -> String {
        match self {
            GraphError::Api { code, .. } => code.to_string(),
            GraphError::Unavailable(_) => "graph_unavailable".into(),
            GraphError::Network(_) => "network".into(),
            GraphError::Decode(_) => "bad_answer".into(),
        }
    }
}

#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base_url: String,
    version: String,
}

impl CloudClient {
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> Result<Self, GraphError> {
        let http = http_client(timeout).map_err(|e| GraphError::Network(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            version: version.to_string(),
        })
    }

    /// Sends a text; returns the wamid WhatsApp assigned (accepted, not yet delivered).
    pub async fn send_text(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        to: &str,
        text: &str,
    ) -> Result<String, GraphError> {
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"body": text, "preview_url": false},
        });
        self.send(phone_number_id, token, &body).await
    }

    /// Sends an approved template (whatsapp-templates.md §3): `components` fill its variables
    /// (omitted when empty). The wamid WhatsApp assigned.
    pub async fn send_template(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        to: &str,
        name: &str,
        language: &str,
        components: &Value,
    ) -> Result<String, GraphError> {
        let mut template =
            json!({"name": name, "language": {"code": language, "policy": "deterministic"}});
        if components.as_array().is_some_and(|c| !c.is_empty()) {
            template["components"] = components.clone();
        }
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        });
        self.send(phone_number_id, token, &body).await
    }

    /// Marks an inbound message (and so every earlier one in that chat) as read: blue ticks on
    /// the customer's phone.
    pub async fn mark_read(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        wamid: &str,
    ) -> Result<(), GraphError> {
        let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        self.post(phone_number_id, token, &body).await.map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    /// Sends a file we uploaded (`media_id`) as `kind` (image, video, audio, document,
    /// sticker), with a caption where the kind takes one.
    pub async fn send_media(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        to: &str,
        kind: &str,
        media_id: &str,
        caption: &str,
        file_name: &str,
    ) -> Result<String, GraphError> {
        let mut obj = json!({"id": media_id});
        if !caption.is_empty() && matches!(kind, "image" | "video" | "document") {
            obj["caption"] = Value::from(caption);
        }
        if kind == "document" {
            obj["filename"] = Value::from(file_name);
        }
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
        });
        body[kind] = obj;
        self.send(phone_number_id, token, &body).await
    }

    /// Uploads a file for sending (`POST /{phone_number_id}/media`, multipart); its media id.
    pub async fn upload(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        bytes: Vec<u8>,
        mime: &str,
        file_name: &str,
    ) -> Result<String, GraphError> {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(mime)
            .map_err(|e| GraphError::Decode(format!("mime type {mime}: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_string())
            .part("file", part);
        let req = self
            .http
            .post(self.url(&format!("{phone_number_id}/media")))
            .bearer_auth(token.expose_secret())
            .multipart(form);
        let v = self.answer(req).await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| GraphError::Decode("no id".into()))
    }

    /// The number as the Graph API knows it (`GET /{phone_number_id}`): its display phone.
    /// Used to check credentials before a number is saved.
    pub async fn phone_number(
        &self,
        phone_number_id: &str,
        token: &SecretString,
    ) -> Result<String, GraphError> {
        let fields = "fields=display_phone_number,verified_name";
        let v = self
            .get(token, &format!("{phone_number_id}?{fields}"))
            .await?;
        Ok(v.get("display_phone_number")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Where to download an inbound file: `GET /{media_id}` → (url, mime, size). The URL is
    /// short-lived and needs the same token.
    pub async fn media_info(
        &self,
        token: &SecretString,
        media_id: &str,
    ) -> Result<(String, String, Option<u64>), GraphError> {
        let v = self.get(token, media_id).await?;
        let link = v
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| GraphError::Decode("no url".into()))?;
        Ok((
            link.to_string(),
            v.get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            v.get("file_size").and_then(Value::as_u64),
        ))
    }

    /// `{base}/{version}/{path}`
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.base_url, self.version)
    }

    /// `GET /{path}` with the number's token.
    pub(super) async fn get(&self, token: &SecretString, path: &str) -> Result<Value, GraphError> {
        self.answer(
            self.http
                .get(self.url(path))
                .bearer_auth(token.expose_secret()),
        )
        .await
    }

    /// `POST /{phone_number_id}/messages`.
    async fn post(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        body: &Value,
    ) -> Result<Value, GraphError> {
        let url = self.url(&format!("{phone_number_id}/messages"));
        self.answer(
            self.http
                .post(url)
                .bearer_auth(token.expose_secret())
                .json(body),
        )
        .await
    }

    /// Sends a message; the wamid WhatsApp assigned.
    async fn send(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        body: &Value,
    ) -> Result<String, GraphError> {
        let v = self.post(phone_number_id, token, body).await?;
        v.pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| GraphError::Decode("no messages[0].id".into()))
    }

    /// Sends a request and decodes the Graph answer or error envelope.
    async fn answer(&self, req: reqwest::RequestBuilder) -> Result<Value, GraphError> {
        let (status, text) = exchange(req)
            .await
            .map_err(|e| GraphError::Network(e.into()))?;
        let success = (200..300).contains(&status);
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) if !success => return Err(GraphError::Unavailable(status)),
            Err(e) => return Err(GraphError::Decode(e.to_string())),
        };
        if let Some(err) = v.get("error") {
            return Err(GraphError::Api {
                http: status,
                code: err["code"].as_i64().unwrap_or(0),
                message: err["message"].as_str().unwrap_or("").to_string(),
            });
        }
        if !success {
            return Err(GraphError::Unavailable(status));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let t = GraphError::Api {
            http: 400,
            code: 130429,
            message: String::new(),
        };
        assert!(t.is_transient());
        let a = GraphError::Api {
            http: 401,
            code: 190,
            message: String::new(),
        };
        assert!(a.is_auth() && !a.is_transient());
        let p = GraphError::Api {
            http: 400,
            code: 100,
            message: String::new(),
        };
        assert!(!p.is_transient());
    }
}
