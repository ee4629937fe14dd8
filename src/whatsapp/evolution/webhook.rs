//! Evolution webhooks: the `{event, instance, data, …}` envelope decoded into our events, in the
//! vocabulary the GREEN-API parser uses (`Action`, `Shown`, statuses sent / delivered / read /
//! failed), so a number's actor handles both gateways alike. The secret check happens in the
//! HTTP handler (it knows the number); see the module above for which header.
//!
//! Evolution posts events concurrently and retries them: the same event can come twice and
//! out of order. Every event here carries the id to dedupe on.
//!
//! Against the GREEN-API parser's `GwEvent`: `Message` is `GwEvent::Message` with `from` =
//! `peer.key()` plus who wrote it (`author`; GREEN-API drops the phone's own messages) and a
//! media reference by message id (the URL is encrypted); `Status` is `GwEvent::Status` without
//! a timestamp; `State` carries Evolution's words (open / connecting / close / refused), not
//! GREEN-API's (authorized / notAuthorized / starting).

use secrecy::SecretString;
use serde_json::Value;

use super::types::Qr;
use super::{ConnState, Jid, Peer};
use crate::bitrix24::bbcode;
use crate::i18n::Lang;
use crate::whatsapp::{vcard_phones, Action, EmptyKind, Shown};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvoWebhookError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("missing field {0}")]
    Missing(&'static str),
}

/// A decoded webhook.
#[derive(Debug)]
pub struct Webhook {
    /// The dotted name, e.g. `messages.upsert`.
    pub event: String,
    /// The instance's name: the handler checks it is the number's.
    pub instance: String,
    /// The linked account's own JID (absent before the first login).
    pub sender: Option<String>,
    /// The instance token, only when the server exposes it (never trusted as a credential).
    pub apikey: Option<SecretString>,
    pub data: EvoEvent,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The customer (`key.fromMe:false`).
    Customer,
    /// Someone on the linked phone itself, outside b24wa (`messages.upsert` with
    /// `key.fromMe:true`): shown in Open Lines as the company's message.
    Phone,
    /// b24wa through the API (`send.message`, `send.message.update`, an API delete): ours,
    /// already known by the id the send returned.
    Api,
}

/// A file in a message. Its `url` is WhatsApp's encrypted `.enc`: the bytes come from
/// `getBase64FromMediaMessage` with `message_id`, or inline when the webhook has `base64:true`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvoMedia {
    /// image, video, audio, voice (a recorded voice note), document, sticker.
    pub kind: String,
    pub mime: String,
    pub file_name: Option<String>,
    /// Plaintext sha256, base64 (checked after download when present).
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// Audio and video length.
    pub seconds: Option<u64>,
    pub message_id: String,
    /// The whole file, base64 (`webhook.base64:true` only).
    pub inline_base64: Option<String>,
}

/// A message, or an action on an earlier one (edit, delete, reaction).
#[derive(Debug, Clone, PartialEq)]
pub struct EvoMessage {
    pub peer: Peer,
    pub author: Author,
    /// `pushName` (the own account's name on messages from the phone).
    pub name: String,
    /// The message's id; for a delete or an edit, which have none of their own, the original's
    /// id with `~revoke` / `~edit~<ms>` (so dedup by id never drops them as the original).
    pub id: String,
    /// Unix seconds (0 when absent).
    pub timestamp: i64,
    /// BBCode: the customer's words escaped, WhatsApp formatting made tags.
    pub text: String,
    pub reply_to: Option<String>,
    pub action: Action,
    pub media: Option<EvoMedia>,
    /// What `text` says in English when it is ours (a location, a contact, …).
    pub shown: Option<Shown>,
}

/// A contact's name and avatar (`contacts.upsert` / `contacts.update`).
#[derive(Debug, Clone, PartialEq)]
pub struct EvoContact {
    pub peer: Peer,
    pub name: Option<String>,
    pub picture_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvoEvent {
    Message(Box<EvoMessage>),
    /// A receipt for a message sent from this account (`messages.update`). `status` is ours:
    /// sent, delivered, read, failed. No timestamp: Evolution's `date_time` is not UTC.
    Status {
        id: String,
        peer: Peer,
        status: String,
        error: Option<String>,
    },
    /// The session changed (`connection.update`); `reason` is the disconnect code (401 =
    /// logged out from the phone), 200 on open.
    State {
        state: ConnState,
        reason: Option<i64>,
        wuid: Option<String>,
        profile_name: Option<String>,
    },
    /// A new QR (and pairing code) to show until linked.
    Qr(Qr),
    /// No more QRs: the session ended unlinked (`connect` starts again).
    QrLimit(String),
    Contacts(Vec<EvoContact>),
    /// Acknowledged and not relayed (groups, broadcasts, pending statuses, other events).
    Ignored(String),
}

fn s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str)
}

/// An int64 as Evolution writes it: a number, a decimal string, or a protobuf Long object.
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(t) => t.parse().ok(),
        Value::Object(o) => o.get("low").and_then(Value::as_i64),
        _ => None,
    }
}

/// Bytes as base64: a base64 string already, or 2.3.6's `{"0":12,"1":34,…}`.
fn bytes_b64(v: Option<&Value>) -> Option<String> {
    use base64::Engine;
    match v? {
        Value::String(t) if !t.is_empty() => Some(t.clone()),
        Value::Object(o) if !o.is_empty() => {
            let mut bytes = vec![0u8; o.len()];
            for (k, b) in o {
                let i: usize = k.parse().ok()?;
                *bytes.get_mut(i)? = u8::try_from(b.as_u64()?).ok()?;
            }
            Some(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        _ => None,
    }
}

pub fn parse(body: &[u8]) -> Result<Webhook, EvoWebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| EvoWebhookError::Json(e.to_string()))?;
    if !v.is_object() {
        return Err(EvoWebhookError::NotObject);
    }
    let event = s(&v, "/event").ok_or(EvoWebhookError::Missing("event"))?;
    let instance = s(&v, "/instance").ok_or(EvoWebhookError::Missing("instance"))?;
    let data = event_data(event, &v)?;
    Ok(Webhook {
        event: event.to_string(),
        instance: instance.to_string(),
        sender: s(&v, "/sender").map(str::to_string),
        apikey: s(&v, "/apikey")
            .filter(|k| !k.is_empty())
            .map(SecretString::from),
        data,
    })
}

fn event_data(event: &str, v: &Value) -> Result<EvoEvent, EvoWebhookError> {
    const OURS: [&str; 9] = [
        "messages.upsert",
        "send.message",
        "messages.update",
        "messages.delete",
        "messages.edited",
        "send.message.update",
        "connection.update",
        "qrcode.updated",
        "contacts.upsert",
    ];
    if !OURS.contains(&event) && event != "contacts.update" {
        return Ok(EvoEvent::Ignored(event.to_string()));
    }
    let data = v
        .get("data")
        .filter(|d| !d.is_null())
        .ok_or(EvoWebhookError::Missing("data"))?;
    match event {
        "messages.upsert" => message(data, false),
        "send.message" => message(data, true),
        "messages.update" => status(data),
        "messages.delete" => deleted(data),
        "messages.edited" => protocol(data, None, false),
        "send.message.update" => protocol(data, None, true),
        "connection.update" => Ok(EvoEvent::State {
            state: ConnState::parse(
                s(data, "/state").ok_or(EvoWebhookError::Missing("data.state"))?,
            ),
            reason: int(data.get("statusReason")),
            wuid: s(data, "/wuid").map(str::to_string),
            profile_name: s(data, "/profileName").map(str::to_string),
        }),
        "qrcode.updated" => match data.get("qrcode").filter(|q| q.is_object()) {
            Some(q) => Ok(EvoEvent::Qr(Qr::parse(q))),
            None => Ok(EvoEvent::QrLimit(
                s(data, "/message")
                    .unwrap_or("QR code limit reached")
                    .to_string(),
            )),
        },
        // contacts.upsert / contacts.update: an array, or one object from an incoming message.
        _ => {
            let items = match data {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let contacts = items
                .into_iter()
                .filter_map(|c| {
                    Some(EvoContact {
                        peer: peer_of(c)?,
                        name: s(c, "/pushName")
                            .filter(|n| !n.is_empty())
                            .map(str::to_string),
                        picture_url: s(c, "/profilePicUrl")
                            .filter(|u| !u.is_empty())
                            .map(str::to_string),
                    })
                })
                .collect();
            Ok(EvoEvent::Contacts(contacts))
        }
    }
}

/// The customer a key names (`remoteJid` plus the phone or LID it may carry besides), or None
/// for groups, broadcasts and anything not a person.
fn peer_of(key: &Value) -> Option<Peer> {
    let mut peer = Peer::default();
    match Jid::parse(s(key, "/remoteJid")?) {
        Jid::Phone(p) => peer.phone = Some(p),
        Jid::Lid(l) => peer.lid = Some(l),
        Jid::Other(_) => return None,
    }
    // 2.3.3+: `remoteJidAlt` is the other form; 2.3.0–2.3.2: `senderPn`, `previousRemoteJid`.
    for alt in ["/remoteJidAlt", "/senderPn", "/previousRemoteJid"] {
        let Some(a) = s(key, alt) else { continue };
        // `senderPn` may be bare digits.
        let a = if a.contains('@') {
            Jid::parse(a)
        } else {
            Jid::parse(&super::phone_jid(a))
        };
        match a {
            Jid::Phone(p) if peer.phone.is_none() => peer.phone = Some(p),
            Jid::Lid(l) if peer.lid.is_none() => peer.lid = Some(l),
            _ => {}
        }
    }
    Some(peer)
}

fn author(from_me: bool, api: bool) -> Author {
    match (api, from_me) {
        (true, _) => Author::Api,
        (false, true) => Author::Phone,
        (false, false) => Author::Customer,
    }
}

fn skipped(what: &str, jid: Option<&str>) -> EvoEvent {
    EvoEvent::Ignored(format!("{what} in {}", jid.unwrap_or("?")))
}

/// `messages.upsert` / `send.message`.
fn message(data: &Value, api: bool) -> Result<EvoEvent, EvoWebhookError> {
    let key = data
        .get("key")
        .filter(|k| k.is_object())
        .ok_or(EvoWebhookError::Missing("data.key"))?;
    let jid = s(key, "/remoteJid").ok_or(EvoWebhookError::Missing("data.key.remoteJid"))?;
    let id = s(key, "/id")
        .filter(|i| !i.is_empty())
        .ok_or(EvoWebhookError::Missing("data.key.id"))?;
    let Some(peer) = peer_of(key) else {
        return Ok(skipped("message", Some(jid)));
    };
    let from_me = key.get("fromMe").and_then(Value::as_bool).unwrap_or(false);
    let msg = unwrap_message(data.get("message").unwrap_or(&Value::Null));
    // An edit or a revoke through the older path (2.3.6 sends these as messages.edited).
    if let Some(p) = msg
        .get("protocolMessage")
        .or_else(|| msg.pointer("/editedMessage/message/protocolMessage"))
    {
        return protocol(p, Some((id, &peer, data)), api);
    }
    let kind = message_kind(data, msg);
    let mut m = EvoMessage {
        peer,
        author: author(from_me, api),
        name: s(data, "/pushName").unwrap_or("").to_string(),
        id: id.to_string(),
        timestamp: int(data.get("messageTimestamp")).unwrap_or(0),
        text: String::new(),
        reply_to: None,
        action: Action::New,
        media: None,
        shown: None,
    };
    m.reply_to = s(data, "/contextInfo/stanzaId")
        .or_else(|| msg.get(&kind).and_then(|b| s(b, "/contextInfo/stanzaId")))
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    content(&mut m, &kind, msg, data);
    Ok(EvoEvent::Message(Box::new(m)))
}

/// The message inside the wrappers WhatsApp puts around some (disappearing, view-once, a
/// document with a caption).
fn unwrap_message(msg: &Value) -> &Value {
    let mut m = msg;
    for _ in 0..4 {
        let inner = [
            "ephemeralMessage",
            "viewOnceMessage",
            "viewOnceMessageV2",
            "documentWithCaptionMessage",
        ]
        .iter()
        .find_map(|w| m.get(*w).and_then(|x| x.get("message")));
        match inner {
            Some(i) => m = i,
            None => break,
        }
    }
    m
}

/// The content's key in `message`: `messageType` when the message has it, else the first key
/// that names a kind of content (`messageContextInfo`, `base64` are not).
fn message_kind(data: &Value, msg: &Value) -> String {
    let declared = s(data, "/messageType").unwrap_or("");
    let declared = match declared {
        "documentWithCaptionMessage" => "documentMessage",
        d => d,
    };
    if msg.get(declared).is_some() {
        return declared.to_string();
    }
    msg.as_object()
        .and_then(|o| {
            o.keys().find(|k| {
                *k == "conversation" || (k.ends_with("Message") && *k != "messageContextInfo")
            })
        })
        .cloned()
        .unwrap_or_else(|| {
            if declared.is_empty() {
                "unknown".to_string()
            } else {
                declared.to_string()
            }
        })
}

fn content(m: &mut EvoMessage, kind: &str, msg: &Value, data: &Value) {
    let body = msg.get(kind).unwrap_or(&Value::Null);
    m.text = match kind {
        "conversation" => {
            bbcode::from_whatsapp(msg.get(kind).and_then(Value::as_str).unwrap_or(""))
        }
        "extendedTextMessage" => bbcode::from_whatsapp(s(body, "/text").unwrap_or("")),
        "imageMessage" | "videoMessage" | "audioMessage" | "documentMessage" | "stickerMessage"
        | "ptvMessage" => {
            m.media = Some(media(kind, body, &m.id, msg, data));
            bbcode::from_whatsapp(s(body, "/caption").unwrap_or(""))
        }
        "reactionMessage" => {
            m.action = Action::Reaction {
                target: s(body, "/key/id").unwrap_or("").to_string(),
                emoji: s(body, "/text").unwrap_or("").to_string(),
            };
            String::new()
        }
        "locationMessage" | "liveLocationMessage" => {
            let num = |k: &str| body.get(k).and_then(Value::as_f64);
            let ours = match (num("degreesLatitude"), num("degreesLongitude")) {
                (Some(lat), Some(lon)) => Shown::Location {
                    lat,
                    lon,
                    name: s(body, "/name").map(str::to_string),
                    address: s(body, "/address").map(str::to_string),
                },
                _ => Shown::Empty(EmptyKind::Location),
            };
            english(&mut m.shown, ours)
        }
        "contactMessage" | "contactsArrayMessage" => {
            let cards: Vec<&Value> = match body.get("contacts").and_then(Value::as_array) {
                Some(list) => list.iter().collect(),
                None => vec![body],
            };
            let cards: Vec<(String, Vec<String>)> = cards
                .into_iter()
                .map(|c| {
                    (
                        s(c, "/displayName").unwrap_or("").to_string(),
                        vcard_phones(s(c, "/vcard").unwrap_or("")),
                    )
                })
                .collect();
            let ours = if cards.iter().all(|(n, p)| n.is_empty() && p.is_empty()) {
                Shown::Empty(EmptyKind::Contact)
            } else {
                Shown::Contacts(cards)
            };
            english(&mut m.shown, ours)
        }
        "buttonsResponseMessage" | "templateButtonReplyMessage" | "listResponseMessage" => {
            let list = kind == "listResponseMessage";
            let label = s(body, "/selectedDisplayText")
                .or_else(|| s(body, "/title"))
                .unwrap_or("");
            let ours = if label.is_empty() {
                Shown::Empty(EmptyKind::Button)
            } else {
                Shown::Tap {
                    list,
                    label: label.to_string(),
                }
            };
            english(&mut m.shown, ours)
        }
        other => {
            let kind = other.strip_suffix("Message").unwrap_or(other);
            let kind = kind.split("Message").next().unwrap_or(kind).to_string();
            english(&mut m.shown, Shown::Unsupported { kind })
        }
    };
}

fn media(kind: &str, body: &Value, id: &str, msg: &Value, data: &Value) -> EvoMedia {
    let mime = s(body, "/mimetype").unwrap_or("").to_string();
    let ptt = body.get("ptt").and_then(Value::as_bool).unwrap_or(false);
    let ours = match kind {
        "imageMessage" => "image",
        "videoMessage" | "ptvMessage" => "video",
        "documentMessage" => "document",
        "stickerMessage" => "sticker",
        // A recorded voice note (push-to-talk); other audio is a shared file.
        _ if ptt => "voice",
        _ => "audio",
    };
    let mime = if mime.is_empty() {
        match ours {
            "image" => "image/jpeg",
            "video" => "video/mp4",
            "sticker" => "image/webp",
            "voice" => "audio/ogg; codecs=opus",
            _ => "application/octet-stream",
        }
        .to_string()
    } else {
        mime
    };
    EvoMedia {
        kind: ours.to_string(),
        mime,
        file_name: s(body, "/fileName")
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        sha256: bytes_b64(body.get("fileSha256")),
        size: int(body.get("fileLength")).and_then(|n| u64::try_from(n).ok()),
        seconds: int(body.get("seconds")).and_then(|n| u64::try_from(n).ok()),
        message_id: id.to_string(),
        inline_base64: s(msg, "/base64")
            .or_else(|| s(data, "/message/base64"))
            .filter(|b| !b.is_empty())
            .map(str::to_string),
    }
}

/// A protocolMessage: an edit (`MESSAGE_EDIT` / 14) or a delete (`REVOKE` / 0) of `key.id`.
/// `outer`: the carrying message's id, peer and data, when it came inside `messages.upsert`.
fn protocol(
    p: &Value,
    outer: Option<(&str, &Peer, &Value)>,
    api: bool,
) -> Result<EvoEvent, EvoWebhookError> {
    let key = p
        .get("key")
        .filter(|k| k.is_object())
        .ok_or(EvoWebhookError::Missing("data.key"))?;
    let original = s(key, "/id")
        .filter(|i| !i.is_empty())
        .ok_or(EvoWebhookError::Missing("data.key.id"))?;
    let peer = match peer_of(key) {
        Some(p) => p,
        None => match outer {
            Some((_, peer, _)) => peer.clone(),
            None => return Ok(skipped("edit", s(key, "/remoteJid"))),
        },
    };
    let from_me = key.get("fromMe").and_then(Value::as_bool).unwrap_or(false);
    let ts_ms = int(p.get("timestampMs"));
    let kind = match p.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => "REVOKE".to_string(),
            Some(14) => "MESSAGE_EDIT".to_string(),
            _ => n.to_string(),
        },
        // messages.edited carries edits; a type-less one with new content is one too.
        _ if p.get("editedMessage").is_some() => "MESSAGE_EDIT".to_string(),
        _ => String::new(),
    };
    let (id, action, text) = match kind.as_str() {
        "REVOKE" => (
            outer.map_or_else(|| format!("{original}~revoke"), |o| o.0.to_string()),
            Action::Revoke {
                original: original.to_string(),
            },
            String::new(),
        ),
        "MESSAGE_EDIT" => {
            let e = unwrap_message(p.get("editedMessage").unwrap_or(&Value::Null));
            let raw = s(e, "/conversation")
                .or_else(|| s(e, "/extendedTextMessage/text"))
                .or_else(|| {
                    ["imageMessage", "videoMessage", "documentMessage"]
                        .iter()
                        .find_map(|k| e.get(*k).and_then(|b| s(b, "/caption")))
                })
                .unwrap_or("");
            let text = bbcode::from_whatsapp(raw);
            (
                outer.map_or_else(
                    || format!("{original}~edit~{}", ts_ms.unwrap_or(0)),
                    |o| o.0.to_string(),
                ),
                Action::Edit {
                    original: original.to_string(),
                    text: text.clone(),
                },
                text,
            )
        }
        other => {
            return Ok(EvoEvent::Ignored(format!("protocolMessage {other}")));
        }
    };
    let timestamp = outer
        .and_then(|o| int(o.2.get("messageTimestamp")))
        .or(ts_ms.map(|ms| ms / 1000))
        .unwrap_or(0);
    Ok(EvoEvent::Message(Box::new(EvoMessage {
        peer,
        author: author(from_me, api),
        name: outer
            .and_then(|o| s(o.2, "/pushName"))
            .unwrap_or("")
            .to_string(),
        id,
        timestamp,
        text,
        reply_to: None,
        action,
        media: None,
        shown: None,
    })))
}

/// `messages.delete`: the bare key of a message deleted on WhatsApp, or (after our API delete)
/// a stored row `{id, key, status:"DELETED", …}`.
fn deleted(data: &Value) -> Result<EvoEvent, EvoWebhookError> {
    let (key, api) = match data.get("key").filter(|k| k.is_object()) {
        Some(k) => (k, true),
        None => (data, false),
    };
    let original = s(key, "/id")
        .filter(|i| !i.is_empty())
        .ok_or(EvoWebhookError::Missing("data.id"))?;
    let Some(peer) = peer_of(key) else {
        return Ok(skipped("delete", s(key, "/remoteJid")));
    };
    let from_me = key.get("fromMe").and_then(Value::as_bool).unwrap_or(false);
    Ok(EvoEvent::Message(Box::new(EvoMessage {
        peer,
        author: author(from_me, api),
        name: s(data, "/pushName").unwrap_or("").to_string(),
        id: format!("{original}~revoke"),
        timestamp: if api {
            int(data.get("messageTimestamp")).unwrap_or(0)
        } else {
            0
        },
        text: String::new(),
        reply_to: None,
        action: Action::Revoke {
            original: original.to_string(),
        },
        media: None,
        shown: None,
    })))
}

/// `messages.update`: a receipt. Only for messages sent from this account; the rest (reads of
/// incoming messages by another device, `PENDING`, the `DELETED` marker that edits also
/// produce, issue #367) is ignored.
fn status(data: &Value) -> Result<EvoEvent, EvoWebhookError> {
    let id = s(data, "/keyId")
        .or_else(|| s(data, "/key/id"))
        .filter(|i| !i.is_empty())
        .ok_or(EvoWebhookError::Missing("data.keyId"))?;
    let raw = match data.get("status") {
        Some(Value::String(t)) => t.clone(),
        // renderStatus' numbers, should a version send them unrendered.
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => "ERROR".into(),
            Some(1) => "PENDING".into(),
            Some(2) => "SERVER_ACK".into(),
            Some(3) => "DELIVERY_ACK".into(),
            Some(4) => "READ".into(),
            Some(5) => "PLAYED".into(),
            _ => n.to_string(),
        },
        _ => return Err(EvoWebhookError::Missing("data.status")),
    };
    let holder = if data.get("remoteJid").is_some() {
        data
    } else {
        data.get("key").unwrap_or(data)
    };
    let Some(peer) = peer_of(holder) else {
        return Ok(skipped("status", s(holder, "/remoteJid")));
    };
    let from_me = holder
        .get("fromMe")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !from_me {
        return Ok(EvoEvent::Ignored(format!(
            "status {raw} of an incoming message"
        )));
    }
    let (status, error) = match raw.as_str() {
        "SERVER_ACK" => ("sent", None),
        "DELIVERY_ACK" => ("delivered", None),
        "READ" | "PLAYED" => ("read", None),
        "ERROR" => (
            "failed",
            Some(
                s(data, "/error")
                    .or_else(|| s(data, "/message"))
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        "WhatsApp did not accept the message (status ERROR)".to_string()
                    }),
            ),
        ),
        other => return Ok(EvoEvent::Ignored(format!("status {other}"))),
    };
    Ok(EvoEvent::Status {
        id: id.to_string(),
        peer,
        status: status.to_string(),
        error,
    })
}

/// `ours` in English (the message's text), kept in `shown` for the chat to render again in the
/// portal's language.
fn english(shown: &mut Option<Shown>, ours: Shown) -> String {
    let text = ours.text(Lang::en());
    *shown = Some(ours);
    text
}
