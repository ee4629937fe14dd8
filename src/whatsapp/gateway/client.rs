//! Calls to a gateway instance: `{apiUrl}/waInstance{id}/{method}/{token}`. The token is part of
//! the URL, so URLs are never logged or put into error messages.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::whatsapp::http::{exchange, http_client, json_answer};

/// One instance's address and credentials.
#[derive(Clone)]
pub struct Instance {
    pub api_url: String,
    pub id: String,
    pub token: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// 400 `instance account not authorized` (the phone is not linked) or `starting`.
    #[error("gateway instance is not authorized ({0})")]
    NotAuthorized(String),
    /// 401 / 403: wrong instance token or id.
    #[error("gateway rejected the instance credentials (HTTP {0})")]
    Credentials(u16),
    /// 466: the plan's quota is used up.
    #[error("gateway plan quota exceeded: {0}")]
    Quota(String),
    #[error("gateway error HTTP {status}: {text}")]
    Http { status: u16, text: String },
    #[error("network: {0}")]
    Network(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl GatewayError {
    /// Retry later: rate limits (429), the gateway's own failures (5xx), the network.
    pub fn is_transient(&self) -> bool {
        match self {
            GatewayError::Http { status, .. } => *status == 429 || *status >= 500,
            GatewayError::Network(_) => true,
            _ => false,
        }
    }
}

/// What [`GatewayClient::on_message`] does to a message.
#[derive(Debug, Clone, Copy)]
pub enum MessageOp<'a> {
    /// `readChat`: the chat read up to the message.
    Read,
    /// `deleteMessage` for everyone (the gateway allows it within 72 h of sending).
    Delete,
    /// `editMessage`: the message's new text.
    Edit(&'a str),
}

#[derive(Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
}

fn classify(status: u16, text: String) -> GatewayError {
    let lower = text.to_lowercase();
    match status {
        400 if lower.contains("not authorized") || lower.contains("starting") => {
            GatewayError::NotAuthorized(text)
        }
        401 | 403 => GatewayError::Credentials(status),
        466 => GatewayError::Quota(text),
        _ => GatewayError::Http { status, text },
    }
}

impl GatewayClient {
    pub fn new(timeout: Duration) -> Result<Self, GatewayError> {
        let http =
            http_client(timeout).map_err(|e| GatewayError::Network(e.without_url().to_string()))?;
        Ok(Self { http })
    }

    fn url(inst: &Instance, method: &str) -> String {
        format!(
            "{}/waInstance{}/{method}/{}",
            inst.api_url.trim_end_matches('/'),
            inst.id,
            inst.token.expose_secret()
        )
    }

    async fn call(
        &self,
        inst: &Instance,
        method: &str,
        body: Option<&Value>,
    ) -> Result<Value, GatewayError> {
        let url = Self::url(inst, method);
        let req = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url),
        };
        let (status, text) = exchange(req)
            .await
            .map_err(|e| GatewayError::Network(e.into()))?;
        json_answer(
            status,
            &text,
            |status, text| classify(status, text.chars().take(300).collect()),
            GatewayError::Decode,
        )
    }

    /// A send: `method` with `body`, answered by the new message's `idMessage`.
    async fn send(
        &self,
        inst: &Instance,
        method: &str,
        body: &Value,
    ) -> Result<String, GatewayError> {
        let v = self.call(inst, method, Some(body)).await?;
        v.get("idMessage")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| GatewayError::Decode("no idMessage".into()))
    }

    /// `getStateInstance` → `authorized`, `notAuthorized`, `blocked`, `starting`, `yellowCard`…
    pub async fn state(&self, inst: &Instance) -> Result<String, GatewayError> {
        let v = self.call(inst, "getStateInstance", None).await?;
        v.get("stateInstance")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| GatewayError::Decode("no stateInstance".into()))
    }

    /// `qr`: `(type, message)`; type `qrCode` carries a base64 PNG.
    pub async fn qr(&self, inst: &Instance) -> Result<(String, String), GatewayError> {
        let v = self.call(inst, "qr", None).await?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("error");
        let msg = v.get("message").and_then(Value::as_str).unwrap_or("");
        Ok((kind.to_string(), msg.to_string()))
    }

    /// Points the instance's webhooks at us, with the token it must present.
    pub async fn set_settings(
        &self,
        inst: &Instance,
        webhook_url: &str,
        webhook_token: &SecretString,
    ) -> Result<(), GatewayError> {
        let body = json!({
            "webhookUrl": webhook_url,
            "webhookUrlToken": webhook_token.expose_secret(),
            "incomingWebhook": "yes",
            "outgoingWebhook": "yes",
            "outgoingMessageWebhook": "yes",
            "outgoingAPIMessageWebhook": "yes",
            "stateWebhook": "yes",
            "deletedMessageWebhook": "yes",
            "editedMessageWebhook": "yes",
        });
        self.call(inst, "setSettings", Some(&body))
            .await
            .map(|_| ())
    }

    pub async fn send_message(
        &self,
        inst: &Instance,
        chat_id: &str,
        text: &str,
        quoted: Option<&str>,
    ) -> Result<String, GatewayError> {
        let mut body = json!({"chatId": chat_id, "message": text});
        if let Some(q) = quoted {
            body["quotedMessageId"] = Value::from(q);
        }
        self.send(inst, "sendMessage", &body).await
    }

    /// Does `op` to message `id` of `chat_id`.
    pub async fn on_message(
        &self,
        inst: &Instance,
        chat_id: &str,
        id: &str,
        op: MessageOp<'_>,
    ) -> Result<(), GatewayError> {
        let mut body = json!({"chatId": chat_id, "idMessage": id});
        let method = match op {
            MessageOp::Read => "readChat",
            MessageOp::Delete => {
                body["onlySenderDelete"] = Value::from(false);
                "deleteMessage"
            }
            MessageOp::Edit(text) => {
                body["message"] = Value::from(text);
                "editMessage"
            }
        };
        self.call(inst, method, Some(&body)).await.map(|_| ())
    }

    /// Sends a file the gateway fetches from `url` (its type follows the file name's extension).
    pub async fn send_file_by_url(
        &self,
        inst: &Instance,
        chat_id: &str,
        url: &str,
        file_name: &str,
        caption: &str,
    ) -> Result<String, GatewayError> {
        let mut body = json!({"chatId": chat_id, "urlFile": url, "fileName": file_name});
        if !caption.is_empty() {
            body["caption"] = Value::from(caption);
        }
        self.send(inst, "sendFileByUrl", &body).await
    }

    /// The avatar of `chat_id` (`getAvatar`): `None` when it has none or hides it.
    pub async fn avatar(
        &self,
        inst: &Instance,
        chat_id: &str,
    ) -> Result<Option<String>, GatewayError> {
        let body = json!({ "chatId": chat_id });
        let v = self.call(inst, "getAvatar", Some(&body)).await?;
        Ok(v.get("urlAvatar")
            .and_then(Value::as_str)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(str::to_string))
    }

    /// A fresh link to an incoming file whose webhook link has expired.
    pub async fn download_file(
        &self,
        inst: &Instance,
        chat_id: &str,
        id: &str,
    ) -> Result<String, GatewayError> {
        let body = json!({"chatId": chat_id, "idMessage": id});
        let v = self.call(inst, "downloadFile", Some(&body)).await?;
        v.get("downloadUrl")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .ok_or_else(|| GatewayError::Decode("no downloadUrl".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified() {
        assert!(matches!(
            classify(400, "instance account not authorized".into()),
            GatewayError::NotAuthorized(_)
        ));
        assert!(matches!(
            classify(401, String::new()),
            GatewayError::Credentials(401)
        ));
        assert!(matches!(
            classify(466, "quota".into()),
            GatewayError::Quota(_)
        ));
        assert!(classify(429, String::new()).is_transient());
        assert!(classify(502, String::new()).is_transient());
        assert!(!classify(400, "chatId is invalid".into()).is_transient());
    }
}
