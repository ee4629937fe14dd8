//! The gateway simulator's public vocabulary: states, statuses, file types, its configuration,
//! faults, and what it records (calls, sends, reads, customers' messages, webhook deliveries).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

/// Session states an instance can be in (`sleepMode` only on old instances).
pub const GATEWAY_STATES: [&str; 6] = [
    "notAuthorized",
    "authorized",
    "blocked",
    "starting",
    "yellowCard",
    "sleepMode",
];

/// `outgoingMessageStatus.status` values.
pub const GATEWAY_STATUSES: [&str; 7] = [
    "sent",
    "delivered",
    "read",
    "failed",
    "noAccount",
    "notInGroup",
    "yellowCard",
];

/// `messageData.typeMessage` values that carry `fileMessageData`.
pub const GATEWAY_FILE_TYPES: [&str; 5] = [
    "imageMessage",
    "videoMessage",
    "documentMessage",
    "audioMessage",
    "stickerMessage",
];

/// The webhook kinds our app uses (`set_webhook` turns them all on); `setSettings` fields that
/// take "yes" / "no", like those of [`OTHER_YES_NO_SETTINGS`].
pub(super) const WEBHOOK_FLAGS: [&str; 8] = [
    "incomingWebhook",
    "outgoingWebhook",
    "outgoingMessageWebhook",
    "outgoingAPIMessageWebhook",
    "stateWebhook",
    "deletedMessageWebhook",
    "editedMessageWebhook",
    "incomingCallWebhook",
];

/// The other `setSettings` fields that take "yes" / "no".
pub(super) const OTHER_YES_NO_SETTINGS: [&str; 6] = [
    "deviceWebhook",
    "pollMessageWebhook",
    "incomingBlockWebhook",
    "markIncomingMessagesReaded",
    "markIncomingMessagesReadedOnReply",
    "keepOnlineStatus",
];

pub(super) const TEXT_LIMIT: usize = 20_000;

#[derive(Clone, Debug)]
pub struct GatewaySimConfig {
    /// `instanceData.typeInstance`.
    pub type_instance: String,
    /// Delay before each automatic `outgoingMessageStatus` webhook.
    pub status_delay: Duration,
    /// Statuses posted (one webhook each, in order) after every accepted send.
    pub auto_statuses: Vec<&'static str>,
    /// Post the automatic statuses in a random order.
    pub shuffle_statuses: bool,
    /// Post every automatic status twice.
    pub duplicate_statuses: bool,
    /// Extra attempts for a webhook not answered 200 (the real gateway: every minute for 24 h).
    pub webhook_retries: usize,
    /// Fixed interval between two attempts of one webhook.
    pub webhook_retry_interval: Duration,
    /// How long the gateway waits for our answer to a webhook (then counts it as not delivered).
    pub webhook_timeout: Duration,
    /// The QR changes this often (simulated time).
    pub qr_period: Duration,
    /// `reboot`: time spent in `starting`.
    pub reboot_delay: Duration,
    /// Accepted requests per second per instance and method; above, 429. Empty = unlimited.
    /// [`GatewaySimConfig::contract_rate_limits`] has the contract's figures.
    pub rate_limits: HashMap<String, u32>,
    /// Delete for everyone is refused for messages sent longer ago than this.
    pub delete_window: Duration,
    /// Edits are refused for messages sent longer ago than this (WhatsApp itself: 15 min).
    /// `None` = no limit (the contract sets none).
    pub edit_window: Option<Duration>,
    /// `sendFileByUrl`: larger files fail (status `failed`).
    pub max_file_bytes: usize,
    /// How long a `downloadUrl` stays valid (simulated time); then `downloadFile` gives a new one.
    pub download_url_ttl: Duration,
}

impl Default for GatewaySimConfig {
    fn default() -> Self {
        Self {
            type_instance: "whatsapp".into(),
            status_delay: Duration::from_millis(20),
            auto_statuses: vec!["sent", "delivered", "read"],
            shuffle_statuses: false,
            duplicate_statuses: false,
            webhook_retries: 3,
            webhook_retry_interval: Duration::from_millis(200),
            webhook_timeout: Duration::from_secs(5),
            qr_period: Duration::from_secs(20),
            reboot_delay: Duration::from_millis(100),
            rate_limits: HashMap::new(),
            delete_window: Duration::from_secs(72 * 3600),
            edit_window: None,
            max_file_bytes: 100 * 1024 * 1024,
            download_url_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl GatewaySimConfig {
    /// The contract's per-method limits (requests per second): sendMessage 50, deleteMessage 10,
    /// editMessage 1, qr 3, getStateInstance 1.
    pub fn contract_rate_limits() -> HashMap<String, u32> {
        [
            ("sendMessage", 50),
            ("deleteMessage", 10),
            ("editMessage", 1),
            ("qr", 3),
            ("getStateInstance", 1),
        ]
        .into_iter()
        .map(|(m, n)| (m.to_string(), n))
        .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum GatewayFault {
    /// 502 Bad Gateway, no effect.
    Http5xx,
    /// 429 Too Many Requests, no effect.
    RateLimited,
    /// Sleep, then answer normally (with effect): make it longer than the client's timeout.
    Timeout(Duration),
    /// 466 plan quota exceeded, no effect.
    QuotaExceeded,
    /// 400 `instance account not authorized`, no effect (the state is unchanged).
    NotAuthorized,
    /// Any status with a text body, no effect.
    Custom(u16, String),
}

/// One request to the API (or to a file link, method "download").
#[derive(Clone, Debug)]
pub struct GatewayCall {
    /// "GET" / "POST"
    pub http_method: String,
    /// The method segment of the URL ("sendMessage", ...); "download" for file links.
    pub method: String,
    /// None when the path named no instance.
    pub instance: Option<u64>,
    /// JSON body (`{"raw": "..."}` when not JSON, `null` when empty).
    pub body: Value,
    pub status: u16,
    /// Simulated time, Unix ms.
    pub at_ms: i64,
}

/// The file of a `sendFileByUrl`.
#[derive(Clone, Debug)]
pub struct GatewaySentFile {
    pub url: String,
    pub file_name: String,
    /// What the sim fetched from `url` (None when the fetch failed).
    pub bytes: Option<Vec<u8>>,
    pub content_type: Option<String>,
    /// Why the fetch failed (HTTP status, connection error, too large); the message got `failed`.
    pub fetch_error: Option<String>,
}

/// A message that reached WhatsApp (an accepted `sendMessage` / `sendFileByUrl`).
#[derive(Clone, Debug)]
pub struct GatewaySent {
    pub instance: u64,
    pub chat_id: String,
    /// "text", or by the file's extension "image" | "video" | "audio" | "document".
    pub kind: String,
    /// `message` as first sent, or the file's caption ("" if none).
    pub text: String,
    pub file: Option<GatewaySentFile>,
    pub quoted_id: Option<String>,
    pub id_message: String,
    /// Simulated time of the send, Unix ms.
    pub at_ms: i64,
    pub edited: bool,
    /// New texts from `editMessage`, in order, and the `idMessage` each edit answered.
    pub edits: Vec<String>,
    pub edit_ids: Vec<String>,
    pub deleted: bool,
    pub deleted_for_everyone: bool,
    /// Statuses the message reached (automatic and `push_status`), in order. Each was posted as a
    /// webhook when `outgoingWebhook` was on.
    pub statuses: Vec<String>,
}

impl GatewaySent {
    /// The text after the last edit.
    pub fn current_text(&self) -> &str {
        self.edits.last().map_or(self.text.as_str(), String::as_str)
    }
}

/// An accepted `readChat`.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayRead {
    pub instance: u64,
    pub chat_id: String,
    pub id_message: Option<String>,
}

/// A message the sim produced on the WhatsApp side (customer hooks and `phone_text`).
#[derive(Clone, Debug)]
pub struct GatewayInbound {
    pub instance: u64,
    pub id_message: String,
    pub chat_id: String,
    pub sender_name: String,
    pub type_message: String,
    /// Text, caption, or new text of an edit ("" otherwise).
    pub text: String,
    pub quoted_id: Option<String>,
    /// The message an edit / delete refers to.
    pub stanza_id: Option<String>,
    pub file_name: Option<String>,
    pub mime: Option<String>,
    pub bytes: Option<Vec<u8>>,
    /// Sent from the linked phone itself (`outgoingMessageReceived`).
    pub from_me: bool,
    /// Deleted by us through `deleteMessage` (for us only).
    pub deleted_by_us: bool,
    pub at_ms: i64,
}

/// One webhook POST attempt the sim made.
#[derive(Clone, Debug)]
pub struct GatewayDelivery {
    pub url: String,
    pub instance: Option<u64>,
    /// `typeWebhook` of the body ("" if none).
    pub type_webhook: String,
    pub id_message: Option<String>,
    /// `status` of an `outgoingMessageStatus`, `stateInstance` of a `stateInstanceChanged`.
    pub status_name: Option<String>,
    /// The Authorization header sent.
    pub authorization: Option<String>,
    /// JSON body (`{"raw": "..."}` when not JSON).
    pub body: Value,
    /// What our app answered (0 = connection error or timeout).
    pub status: u16,
    /// 1 for the first try.
    pub attempt: u32,
    pub at_ms: i64,
}
