//! The Evolution simulator's public vocabulary: its configuration, faults, the customers it
//! plays, and what it records (calls, sends, reads, webhook deliveries).

use std::time::Duration;

use serde_json::{json, Value};

/// The statuses a send goes through by default (`messages.update`).
pub const EVOLUTION_STATUSES: [&str; 6] = [
    "ERROR",
    "PENDING",
    "SERVER_ACK",
    "DELIVERY_ACK",
    "READ",
    "PLAYED",
];

/// The subscription names `webhook.events` accepts (contract §2).
pub const EVOLUTION_EVENTS: [&str; 31] = [
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
];

#[derive(Clone, Debug)]
pub struct EvolutionSimConfig {
    /// `AUTHENTICATION_API_KEY`: works for every call (and is the only key `create` takes).
    pub global_key: String,
    /// Statuses posted (one `messages.update` each, in order) after every accepted send.
    pub auto_statuses: Vec<&'static str>,
    /// Delay before each automatic status.
    pub status_delay: Duration,
    /// Post the automatic statuses in a random order.
    pub shuffle_statuses: bool,
    /// Post every webhook twice (a retry after a lost answer).
    pub duplicate_webhooks: bool,
    /// Post a send's `send.message` and statuses before answering the send (the contract: a
    /// `messages.update` can precede the HTTP reply).
    pub statuses_before_reply: bool,
    /// Extra attempts of a webhook not answered 2xx (no retry on 400, 401, 403, 404, 422).
    pub webhook_retries: usize,
    /// The first retry's delay, doubled at each next one (Evolution: 5 s, 10 s, … 300 s).
    pub webhook_retry_interval: Duration,
    /// How long the sim waits for our answer to a webhook.
    pub webhook_timeout: Duration,
    /// `QRCODE_LIMIT`: QRs shown before the session ends `refused`.
    pub qr_limit: u32,
    /// `AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES`: the envelope's `apikey` is the instance
    /// token (else null).
    pub expose_apikey: bool,
}

impl Default for EvolutionSimConfig {
    fn default() -> Self {
        Self {
            global_key: "sim-global-key".into(),
            auto_statuses: vec!["SERVER_ACK", "DELIVERY_ACK", "READ"],
            status_delay: Duration::from_millis(20),
            shuffle_statuses: false,
            duplicate_webhooks: false,
            statuses_before_reply: false,
            webhook_retries: 3,
            webhook_retry_interval: Duration::from_millis(100),
            webhook_timeout: Duration::from_secs(5),
            qr_limit: 30,
            expose_apikey: false,
        }
    }
}

/// What an API call gets instead of its normal answer.
#[derive(Clone, Debug, PartialEq)]
pub enum EvolutionFault {
    /// 500 with Evolution's error envelope, no effect.
    Http5xx,
    /// 502 text/html from a proxy in front of the server, no effect.
    BadGateway,
    /// Sleep, then answer normally (with effect): make it longer than the client's timeout.
    Timeout(Duration),
    /// HTTP 200 `{"error":true,"message":…}`, no effect (what `connect` / `restart` do).
    ErrorOnOk(String),
    /// Any status with Evolution's error envelope around `message`, no effect.
    Status(u16, Value),
    /// `connect` answers `{"count":0}` (issues #2385, #2437), no effect.
    NoQr,
}

/// A person on WhatsApp, as the sim's webhooks name them.
#[derive(Clone, Debug)]
pub struct EvolutionCustomer {
    /// E.164 digits.
    pub phone: Option<String>,
    /// A LID's digits: the chat is addressed `…@lid`.
    pub lid: Option<String>,
    pub name: String,
}

impl EvolutionCustomer {
    pub fn phone(phone: &str, name: &str) -> Self {
        Self {
            phone: Some(phone.into()),
            lid: None,
            name: name.into(),
        }
    }
    /// Addressed by LID, the phone in `remoteJidAlt` (2.3.3+).
    pub fn lid_with_phone(lid: &str, phone: &str, name: &str) -> Self {
        Self {
            phone: Some(phone.into()),
            lid: Some(lid.into()),
            name: name.into(),
        }
    }
    /// Addressed by LID and nothing else (issue #2326).
    pub fn lid_only(lid: &str, name: &str) -> Self {
        Self {
            phone: None,
            lid: Some(lid.into()),
            name: name.into(),
        }
    }

    /// `remoteJid` (the LID when there is one, as WhatsApp addresses such chats).
    pub fn jid(&self) -> String {
        match (&self.lid, &self.phone) {
            (Some(l), _) => format!("{l}@lid"),
            (None, Some(p)) => format!("{p}@s.whatsapp.net"),
            (None, None) => "0@s.whatsapp.net".into(),
        }
    }

    /// A message key of this chat.
    pub fn key(&self, id: &str, from_me: bool) -> Value {
        let mut k = json!({"remoteJid": self.jid(), "fromMe": from_me, "id": id});
        if let (Some(_), Some(p)) = (&self.lid, &self.phone) {
            k["remoteJidAlt"] = json!(format!("{p}@s.whatsapp.net"));
            k["addressingMode"] = json!("lid");
        }
        k
    }
}

/// A file a customer sends.
#[derive(Clone, Debug)]
pub struct EvolutionFile {
    /// image, video, audio, voice, document, sticker.
    pub kind: String,
    pub mime: String,
    pub file_name: Option<String>,
    pub caption: Option<String>,
    pub bytes: Vec<u8>,
}

/// One API request.
#[derive(Clone, Debug)]
pub struct EvolutionCall {
    pub http_method: String,
    /// The action segment: "sendText", "connect", "set", …
    pub action: String,
    pub instance: Option<String>,
    /// JSON body (`{"raw": …}` when not JSON, null when empty).
    pub body: Value,
    pub status: u16,
    /// The `apikey` header.
    pub apikey: Option<String>,
    /// When it was answered (Unix ms).
    pub at_ms: i64,
}

/// A message that reached WhatsApp (an accepted send).
#[derive(Clone, Debug)]
pub struct EvolutionSent {
    pub instance: String,
    pub remote_jid: String,
    /// text, image, video, document, audio, voice, reaction.
    pub kind: String,
    /// Text, caption, or the reaction's emoji.
    pub text: String,
    /// `media` / `audio` as given (a URL or base64).
    pub media: Option<String>,
    pub quoted_id: Option<String>,
    pub id: String,
    pub edits: Vec<String>,
    pub deleted: bool,
    /// Statuses posted, in order.
    pub statuses: Vec<String>,
    /// When it was accepted (Unix ms).
    pub at_ms: i64,
}

impl EvolutionSent {
    pub fn current_text(&self) -> &str {
        self.edits.last().map_or(self.text.as_str(), String::as_str)
    }
}

/// A key `markMessageAsRead` accepted (`@lid` keys are skipped, as Evolution does).
#[derive(Clone, Debug, PartialEq)]
pub struct EvolutionRead {
    pub instance: String,
    pub remote_jid: String,
    pub id: String,
    /// When it was accepted (Unix ms).
    pub at_ms: i64,
}

/// One webhook POST attempt.
#[derive(Clone, Debug)]
pub struct EvolutionDelivery {
    pub url: String,
    pub instance: String,
    /// Dotted: `messages.update`.
    pub event: String,
    /// `data.key.id`, `data.keyId` or `data.id`.
    pub key_id: Option<String>,
    /// `data.status` or `data.state`.
    pub status_name: Option<String>,
    /// The headers sent besides Content-Type (`webhook.headers`, a JWT's Authorization).
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// What our app answered (0 = connection error or timeout).
    pub status: u16,
    /// 1 for the first try.
    pub attempt: u32,
    /// When it was answered (Unix ms).
    pub at_ms: i64,
}
