//! What the client sends and what it reads back: message keys, sends' answers, media, QRs,
//! the webhook configuration, instances.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{json, Value};

use super::{ConnState, SECRET_HEADER};
use crate::whatsapp::evolution::client::EvolutionError;

pub(super) fn str_at(v: &Value, path: &str) -> Option<String> {
    v.pointer(path).and_then(Value::as_str).map(str::to_string)
}

/// A message's key, as Evolution names messages in quotes, reactions, deletes, edits, reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageKey {
    #[serde(rename = "remoteJid")]
    pub remote_jid: String,
    #[serde(rename = "fromMe")]
    pub from_me: bool,
    pub id: String,
    /// The sender in a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
}

/// The message a send replies to (`quoted.key`).
pub type Quoted = MessageKey;

/// What a send answered: store `id` with `remote_jid`; `messages.update.keyId` refers to it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub id: String,
    pub remote_jid: String,
    /// `PENDING` normally.
    pub status: Option<String>,
    pub timestamp: Option<i64>,
}

/// `sendMedia`'s `mediatype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Image,
    Video,
    Document,
    Audio,
}

impl MediaType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Video => "video",
            MediaType::Document => "document",
            MediaType::Audio => "audio",
        }
    }
}

/// A file to send: `media` is an https URL Evolution fetches, or the file as plain base64.
#[derive(Debug, Clone)]
pub struct Media<'a> {
    pub kind: MediaType,
    pub media: &'a str,
    pub mime: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub caption: Option<&'a str>,
}

/// A QR to show until the phone links (`connect`, `create` with `qrcode:true`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Qr {
    /// Set only when a `number` was given: the code typed on the phone instead of scanning.
    pub pairing_code: Option<String>,
    /// The raw QR string.
    pub code: Option<String>,
    /// A data-URL (`data:image/png;base64,…`).
    pub base64: Option<String>,
    pub count: u32,
}

impl Qr {
    pub(crate) fn parse(v: &Value) -> Self {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Qr {
            pairing_code: s("pairingCode"),
            code: s("code"),
            base64: s("base64"),
            count: v
                .get("count")
                .and_then(Value::as_u64)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
        }
    }

    /// The PNG as plain base64 (the data-URL's payload).
    pub fn png_base64(&self) -> Option<&str> {
        let b = self.base64.as_deref()?;
        Some(b.split_once("base64,").map_or(b, |(_, p)| p))
    }
}

/// What `connect` answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Connect {
    Qr(Qr),
    /// Already linked (or another state without a QR).
    State(ConnState),
    /// `{"count":0}` and nothing else (issues #2385, #2437): no QR yet; ask again later.
    NoQr,
}

/// The webhook b24wa configures (`webhook/set`, or inline in `create`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// Sent back as the [`SECRET_HEADER`] header with every webhook.
    pub secret: SecretString,
    /// UPPER_SNAKE names; [`super::WEBHOOK_EVENTS`] normally.
    pub events: Vec<String>,
    /// Whole files inline in `messages.upsert` (`data.message.base64`). b24wa leaves it off and
    /// downloads with [`EvolutionClient::media_base64`]: webhooks stay small.
    pub base64: bool,
}

impl WebhookConfig {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "enabled": true,
            "url": self.url,
            "headers": { SECRET_HEADER: self.secret.expose_secret() },
            "byEvents": false,
            "base64": self.base64,
            "events": self.events,
        })
    }
}

/// `create`'s options.
#[derive(Debug, Clone, Default)]
pub struct CreateInstance {
    /// Digits: enables the pairing code.
    pub number: Option<String>,
    /// Start connecting now (the answer then carries the first QR).
    pub qrcode: bool,
    pub webhook: Option<WebhookConfig>,
}

/// What `create` answered.
#[derive(Debug, Clone)]
pub struct Created {
    pub instance_id: Option<String>,
    pub status: Option<String>,
    /// The instance's own token: enough for every later call on this instance (store it
    /// encrypted instead of the global key).
    pub hash: Option<SecretString>,
    pub qr: Option<Qr>,
}

/// One row of `fetchInstances` (its shape is not in the contract: read leniently).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceInfo {
    pub name: String,
    pub state: Option<ConnState>,
    pub owner_jid: Option<String>,
    pub profile_name: Option<String>,
}

/// One answer of `whatsappNumbers`.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberCheck {
    pub number: String,
    pub jid: String,
    pub exists: bool,
    /// The account's LID, when the server knows it.
    pub lid: Option<String>,
}

/// A file `getBase64FromMediaMessage` returned.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    pub media_type: Option<String>,
    pub file_name: Option<String>,
    pub caption: Option<String>,
    pub mime: Option<String>,
    pub bytes: Vec<u8>,
}

impl SentMessage {
    /// A send's answer (the `prepareMessage` record; also `send.message`'s `data`).
    pub fn from_response(v: &Value) -> Result<Self, EvolutionError> {
        let id = str_at(v, "/key/id")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| EvolutionError::Decode("no key.id".into()))?;
        Ok(SentMessage {
            id,
            remote_jid: str_at(v, "/key/remoteJid").unwrap_or_default(),
            status: str_at(v, "/status"),
            timestamp: v.get("messageTimestamp").and_then(|t| {
                t.as_i64()
                    .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
            }),
        })
    }
}

/// Plain base64, or a data-URL's payload (either alphabet, padded or not).
pub fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let payload = s.split_once("base64,").map_or(s, |(_, p)| p).trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(payload).ok())
        .ok_or_else(|| "invalid base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_and_base64() {
        let q = Qr::parse(
            &json!({"pairingCode":null,"code":"2@x","base64":"data:image/png;base64,iVBO","count":1}),
        );
        assert_eq!(q.pairing_code, None);
        assert_eq!(q.png_base64(), Some("iVBO"));
        assert_eq!(decode_base64("aGk=").ok(), Some(b"hi".to_vec()));
        assert_eq!(
            decode_base64("data:x;base64,aGk").ok(),
            Some(b"hi".to_vec())
        );
        assert!(decode_base64("***").is_err());
    }
}
