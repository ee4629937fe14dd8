//! WhatsApp Web gateway simulator (GREEN-API protocol): instances linked by scanning a QR, the session
//! state machine, sends / edits / deletes / reads / file links, `setSettings`, and webhooks with the
//! gateway's retries (so duplicates happen). Contract: /work/shared/contracts/whatsapp.md §B.
//!
//! URL scheme: `{base}/waInstance{idInstance}/{method}/{apiTokenInstance}`; files are served at
//! `{base}/dl/{key}/{fileName}`. "Now" (the 72-hour delete window, QR rotation, link expiry, webhook
//! timestamps, rate-limit windows) is the wall clock plus an offset moved by
//! [`GatewaySim::advance_clock`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{dev::ServerHandle, web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use rand::seq::SliceRandom;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::random_hex;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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

/// `setSettings` fields that take "yes" / "no".
const YES_NO_SETTINGS: [&str; 14] = [
    "incomingWebhook",
    "outgoingWebhook",
    "outgoingMessageWebhook",
    "outgoingAPIMessageWebhook",
    "stateWebhook",
    "deletedMessageWebhook",
    "editedMessageWebhook",
    "incomingCallWebhook",
    "deviceWebhook",
    "pollMessageWebhook",
    "incomingBlockWebhook",
    "markIncomingMessagesReaded",
    "markIncomingMessagesReadedOnReply",
    "keepOnlineStatus",
];

const TEXT_LIMIT: usize = 20_000;

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

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

struct Instance {
    token: String,
    wid: String,
    state: String,
    settings: Map<String, Value>,
    qr_base_ms: i64,
    qr_rotations: u64,
    /// Bumped by every state change: a pending reboot completes only if nothing changed meanwhile.
    state_gen: u64,
    /// The state a reboot in progress returns to.
    reboot_target: Option<String>,
    /// Customer names seen per chat.
    names: HashMap<String, String>,
    /// Accepted request times per method (rate limits).
    windows: HashMap<String, VecDeque<i64>>,
}

struct StoredFile {
    mime: String,
    bytes: Vec<u8>,
    expires_ms: i64,
}

struct FaultRule {
    method: Option<String>,
    fault: GatewayFault,
    remaining: usize,
}

/// A webhook held while the instance is not linked (the phone's messages arrive once it is).
struct Pending {
    instance: u64,
    flag: &'static str,
    body: Value,
}

struct State {
    cfg: GatewaySimConfig,
    base: String,
    nonce: String,
    offset_ms: i64,
    /// Wall time at which the clock was frozen.
    frozen_ms: Option<i64>,
    instances: HashMap<u64, Instance>,
    calls: Vec<GatewayCall>,
    sent: Vec<GatewaySent>,
    reads: Vec<GatewayRead>,
    deliveries: Vec<GatewayDelivery>,
    inbound: Vec<GatewayInbound>,
    pending: Vec<Pending>,
    faults: VecDeque<FaultRule>,
    down: bool,
    files: HashMap<String, StoredFile>,
    no_account: HashSet<String>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn is_linked(state: &str) -> bool {
    state == "authorized" || state == "yellowCard"
}

impl State {
    fn now_ms(&self) -> i64 {
        self.frozen_ms.unwrap_or_else(wall_ms) + self.offset_ms
    }

    fn take_fault(&mut self, method: &str) -> Option<GatewayFault> {
        let idx = self
            .faults
            .iter()
            .position(|r| r.method.as_deref().is_none_or(|m| m == method))?;
        let rule = &mut self.faults[idx];
        rule.remaining -= 1;
        let f = rule.fault.clone();
        if rule.remaining == 0 {
            self.faults.remove(idx);
        }
        Some(f)
    }

    fn record(
        &mut self,
        http_method: &str,
        method: &str,
        instance: Option<u64>,
        body: Value,
        status: u16,
    ) {
        let at_ms = self.now_ms();
        self.calls.push(GatewayCall {
            http_method: http_method.into(),
            method: method.into(),
            instance,
            body,
            status,
            at_ms,
        });
    }

    fn instance(&self, id: u64) -> &Instance {
        self.instances
            .get(&id)
            .expect("gateway sim: unknown instance (add_instance first)")
    }

    fn instance_data(&self, id: u64) -> Value {
        let wid = self
            .instances
            .get(&id)
            .map(|i| i.wid.clone())
            .unwrap_or_default();
        json!({"idInstance": id, "wid": wid, "typeInstance": self.cfg.type_instance})
    }

    /// Store bytes behind a fresh link; returns the link.
    fn store_file(&mut self, mime: &str, file_name: &str, bytes: Vec<u8>) -> String {
        let key = random_hex(16);
        let expires_ms = self.now_ms() + self.cfg.download_url_ttl.as_millis() as i64;
        self.files.insert(
            key.clone(),
            StoredFile {
                mime: mime.into(),
                bytes,
                expires_ms,
            },
        );
        let name: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
        format!("{}/dl/{key}/{name}", self.base)
    }

    fn qr_base64(&self, id: u64) -> String {
        let i = self.instance(id);
        let period = (self.cfg.qr_period.as_millis() as i64).max(1);
        let epoch = (self.now_ms() - i.qr_base_ms).max(0) / period + i.qr_rotations as i64;
        let seed = format!("sim-qr {} {id} {epoch}", self.nonce);
        base64::engine::general_purpose::STANDARD.encode(qr_png(&seed))
    }

    fn find_sent_mut(&mut self, instance: u64, id: &str) -> Option<&mut GatewaySent> {
        self.sent.iter_mut().find(|m| {
            m.instance == instance && (m.id_message == id || m.edit_ids.iter().any(|e| e == id))
        })
    }

    /// Set the state (always) and build the `stateInstanceChanged` body. Returns (changed, body).
    fn change_state(&mut self, id: u64, new: &str) -> (bool, Value) {
        let now = self.now_ms();
        let i = self
            .instances
            .get_mut(&id)
            .expect("gateway sim: unknown instance (add_instance first)");
        let changed = i.state != new;
        i.state = new.to_string();
        i.state_gen += 1;
        i.reboot_target = None;
        if new == "notAuthorized" && changed {
            i.qr_base_ms = now;
            i.qr_rotations = 0;
        }
        let body = json!({
            "typeWebhook": "stateInstanceChanged",
            "instanceData": self.instance_data(id),
            "timestamp": now / 1000,
            "stateInstance": new
        });
        (changed, body)
    }

    fn status_plan(
        &self,
        inst_state: &str,
        chat_id: &str,
        fetch_error: Option<&str>,
    ) -> Vec<(String, Option<String>)> {
        if let Some(e) = fetch_error {
            return vec![("failed".into(), Some(e.to_string()))];
        }
        if inst_state == "yellowCard" {
            return vec![(
                "yellowCard".into(),
                Some("sending is suspended on this account".into()),
            )];
        }
        if self.no_account.contains(chat_id) {
            return vec![(
                "noAccount".into(),
                Some("the number has no WhatsApp account".into()),
            )];
        }
        let mut plan: Vec<(String, Option<String>)> = Vec::new();
        for s in &self.cfg.auto_statuses {
            plan.push((s.to_string(), None));
            if self.cfg.duplicate_statuses {
                plan.push((s.to_string(), None));
            }
        }
        if self.cfg.shuffle_statuses {
            plan.shuffle(&mut rand::thread_rng());
        }
        plan
    }

    fn status_body(
        &self,
        instance: u64,
        chat_id: &str,
        id_message: &str,
        status: &str,
        description: Option<&str>,
        by_api: bool,
    ) -> Value {
        let mut b = json!({
            "typeWebhook": "outgoingMessageStatus",
            "chatId": chat_id,
            "instanceData": self.instance_data(instance),
            "timestamp": self.now_ms() / 1000,
            "idMessage": id_message,
            "status": status,
            "sendByApi": by_api
        });
        if let Some(d) = description {
            b["description"] = json!(d);
        }
        b
    }

    /// Where a webhook of kind `flag` goes: (url, Authorization header) when configured.
    fn webhook_target(&self, instance: u64, flag: &str) -> Option<(String, Option<String>)> {
        let i = self.instances.get(&instance)?;
        let url = i.settings.get("webhookUrl")?.as_str()?;
        if url.is_empty() || i.settings.get(flag).and_then(Value::as_str) != Some("yes") {
            return None;
        }
        let auth = i
            .settings
            .get("webhookUrlToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| format!("Bearer {t}"));
        Some((url.to_string(), auth))
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny valid PNG standing in for the QR
// ---------------------------------------------------------------------------------------------

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
    }
    !c
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A 116×116 1-bit grayscale PNG looking like a QR code, derived from `seed` (also stored in a
/// `tEXt` "Comment" chunk).
fn qr_png(seed: &str) -> Vec<u8> {
    const MODULES: usize = 25;
    const QUIET: usize = 2;
    const SCALE: usize = 4;
    let side = (MODULES + 2 * QUIET) * SCALE;
    let mut bits = Vec::with_capacity(MODULES * MODULES + 256);
    let mut counter = 0u32;
    while bits.len() < MODULES * MODULES {
        let h = Sha256::new()
            .chain_update(seed.as_bytes())
            .chain_update(counter.to_be_bytes())
            .finalize();
        for byte in h {
            for k in 0..8 {
                bits.push((byte >> (7 - k)) & 1 == 1);
            }
        }
        counter += 1;
    }
    let dark = |mx: usize, my: usize| -> bool {
        for (fx, fy) in [(0, 0), (MODULES - 7, 0), (0, MODULES - 7)] {
            if (fx..fx + 7).contains(&mx) && (fy..fy + 7).contains(&my) {
                let (dx, dy) = (mx - fx, my - fy);
                return dx.min(dy).min(6 - dx).min(6 - dy) != 1;
            }
        }
        bits[my * MODULES + mx]
    };
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity(side * (row_bytes + 1));
    for y in 0..side {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            let inside =
                (QUIET..QUIET + MODULES).contains(&mx) && (QUIET..QUIET + MODULES).contains(&my);
            if !(inside && dark(mx - QUIET, my - QUIET)) {
                row[x / 8] |= 0x80 >> (x % 8); // 1 = white
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // 1 bit, grayscale, deflate, filter 0, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"tEXt", format!("Comment\0{seed}").as_bytes());
    png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

// ---------------------------------------------------------------------------------------------
// Replies and validation
// ---------------------------------------------------------------------------------------------

enum Reply {
    Json(u16, Value),
    Text(u16, String),
    Empty,
}

impl Reply {
    fn status(&self) -> u16 {
        match self {
            Reply::Json(s, _) | Reply::Text(s, _) => *s,
            Reply::Empty => 200,
        }
    }

    fn into_response(self) -> HttpResponse {
        let code = |s: u16| {
            actix_web::http::StatusCode::from_u16(s)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
        };
        match self {
            Reply::Json(s, v) => HttpResponse::build(code(s)).json(v),
            Reply::Text(s, t) => HttpResponse::build(code(s))
                .content_type("text/plain; charset=utf-8")
                .body(t),
            Reply::Empty => HttpResponse::Ok().finish(),
        }
    }
}

fn text(status: u16, msg: impl Into<String>) -> Reply {
    Reply::Text(status, msg.into())
}

fn invalid(detail: impl std::fmt::Display) -> Reply {
    text(400, format!("Validation failed. Details: {detail}"))
}

fn ok_json(v: Value) -> Reply {
    Reply::Json(200, v)
}

fn fault_reply(f: &GatewayFault, method: &str) -> Option<Reply> {
    match f {
        GatewayFault::Http5xx => Some(text(502, "Bad Gateway")),
        GatewayFault::RateLimited => Some(text(429, "Too Many Requests")),
        GatewayFault::QuotaExceeded => Some(Reply::Json(
            466,
            json!({"invokeStatus": {
                "method": method,
                "status": "QUOTE_ALLOWED_EXCEEDED",
                "description": "The plan's monthly quota for this method has been exceeded"
            }}),
        )),
        GatewayFault::NotAuthorized => Some(text(400, "instance account not authorized")),
        GatewayFault::Custom(s, t) => Some(text(*s, t.clone())),
        GatewayFault::Timeout(_) => None,
    }
}

type Obj = Map<String, Value>;

fn opt_str(b: &Obj, k: &str) -> Result<Option<String>, Reply> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("'{k}' must be a string"))),
    }
}

fn req_str(b: &Obj, k: &str) -> Result<String, Reply> {
    match opt_str(b, k)? {
        None => Err(invalid(format!("'{k}' is required"))),
        Some(s) if s.is_empty() => Err(invalid(format!("'{k}' is not allowed to be empty"))),
        Some(s) => Ok(s),
    }
}

fn valid_chat_id(c: &str) -> bool {
    c.strip_suffix("@c.us")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn chat_id_of(b: &Obj) -> Result<String, Reply> {
    let c = req_str(b, "chatId")?;
    if valid_chat_id(&c) {
        Ok(c)
    } else {
        Err(invalid(format!(
            "'chatId' must be a person's chat id like 79001234567@c.us, got '{c}'"
        )))
    }
}

fn digits(s: &str) -> String {
    s.split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

fn chat_of(from: &str) -> String {
    format!("{}@c.us", digits(from))
}

fn extension(file_name: &str) -> Option<String> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

fn kind_by_extension(file_name: &str) -> &'static str {
    match extension(file_name).as_deref() {
        Some("jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp") => "image",
        Some("mp4" | "3gp" | "mov" | "avi" | "mkv" | "webm") => "video",
        Some("mp3" | "ogg" | "oga" | "opus" | "aac" | "m4a" | "amr" | "wav") => "audio",
        _ => "document",
    }
}

fn new_out_id() -> String {
    format!("BAE5{}", random_hex(6).to_uppercase())
}

fn new_in_id() -> String {
    random_hex(16).to_uppercase()
}

fn verb_of(method: &str) -> Option<&'static str> {
    match method {
        "getStateInstance" | "qr" | "getSettings" => Some("GET"),
        "setSettings" | "logout" | "reboot" | "sendMessage" | "sendFileByUrl" | "editMessage"
        | "deleteMessage" | "readChat" | "downloadFile" => Some("POST"),
        _ => None,
    }
}

/// Sends need a linked session.
fn ready(st: &State, instance: u64) -> Result<String, Reply> {
    let state = st.instance(instance).state.clone();
    match state.as_str() {
        s if is_linked(s) => Ok(state),
        "starting" => Err(text(400, "instance in starting process try later")),
        _ => Err(text(400, "instance account not authorized")),
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook delivery
// ---------------------------------------------------------------------------------------------

type Data = web::Data<Mutex<State>>;

struct Hook {
    url: String,
    authorization: Option<String>,
    instance: Option<u64>,
    body: Value,
    raw: Vec<u8>,
}

/// One POST of `hook`, recorded. Returns (status, response text); status 0 on error / timeout.
async fn attempt(data: &Data, client: &reqwest::Client, hook: &Hook, n: u32) -> (u16, String) {
    let timeout = lock(data).cfg.webhook_timeout;
    let mut rb = client
        .post(&hook.url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .body(hook.raw.clone());
    if let Some(a) = &hook.authorization {
        rb = rb.header("Authorization", a);
    }
    let (status, resp) = match rb.send().await {
        Ok(r) => {
            let s = r.status().as_u16();
            (s, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    };
    let mut st = lock(data);
    let at_ms = st.now_ms();
    let b = &hook.body;
    let status_name = b
        .get("status")
        .or_else(|| b.get("stateInstance"))
        .and_then(Value::as_str)
        .map(str::to_string);
    st.deliveries.push(GatewayDelivery {
        url: hook.url.clone(),
        instance: hook.instance,
        type_webhook: b
            .get("typeWebhook")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        id_message: b
            .get("idMessage")
            .and_then(Value::as_str)
            .map(str::to_string),
        status_name,
        authorization: hook.authorization.clone(),
        body: b.clone(),
        status,
        attempt: n,
        at_ms,
    });
    (status, resp)
}

/// POST a webhook of kind `flag` (a `setSettings` field) when the instance has it on. The first
/// attempt is awaited; further attempts (when not answered 200) run in the background. Returns the
/// first attempt's status (0 = not configured, connection error or timeout).
async fn deliver(
    data: &Data,
    client: &reqwest::Client,
    instance: u64,
    flag: &str,
    body: Value,
) -> u16 {
    let (target, retries, interval) = {
        let st = lock(data);
        let Some(t) = st.webhook_target(instance, flag) else {
            return 0;
        };
        (t, st.cfg.webhook_retries, st.cfg.webhook_retry_interval)
    };
    let hook = Hook {
        url: target.0,
        authorization: target.1,
        instance: Some(instance),
        raw: serde_json::to_vec(&body).unwrap_or_default(),
        body,
    };
    let (first, _) = attempt(data, client, &hook, 1).await;
    if first != 200 && retries > 0 {
        let data = data.clone();
        let client = client.clone();
        actix_web::rt::spawn(async move {
            for n in 2..=(retries as u32 + 1) {
                actix_web::rt::time::sleep(interval).await;
                if attempt(&data, &client, &hook, n).await.0 == 200 {
                    break;
                }
            }
        });
    }
    first
}

/// Deliver the webhooks held while `instance` was not linked.
async fn flush_pending(data: &Data, client: &reqwest::Client, instance: u64) {
    let mine: Vec<Pending> = {
        let mut st = lock(data);
        let (mine, rest) = std::mem::take(&mut st.pending)
            .into_iter()
            .partition(|p| p.instance == instance);
        st.pending = rest;
        mine
    };
    for p in mine {
        deliver(data, client, instance, p.flag, p.body).await;
    }
}

/// State webhook, then (when linked) what was held.
async fn after_state_change(
    data: Data,
    client: reqwest::Client,
    instance: u64,
    body: Value,
    linked: bool,
) -> u16 {
    let s = deliver(&data, &client, instance, "stateWebhook", body).await;
    if linked {
        flush_pending(&data, &client, instance).await;
    }
    s
}

struct AfterSend {
    instance: u64,
    chat_id: String,
    id_message: String,
    /// `outgoingAPIMessageReceived` (posted when `outgoingAPIMessageWebhook` is on).
    echo: Option<Value>,
    plan: Vec<(String, Option<String>)>,
    by_api: bool,
}

async fn after_send(data: Data, client: reqwest::Client, job: AfterSend) {
    if let Some(echo) = job.echo {
        deliver(
            &data,
            &client,
            job.instance,
            "outgoingAPIMessageWebhook",
            echo,
        )
        .await;
    }
    for (status, description) in job.plan {
        let delay = lock(&data).cfg.status_delay;
        actix_web::rt::time::sleep(delay).await;
        let body = {
            let mut st = lock(&data);
            if let Some(m) = st.find_sent_mut(job.instance, &job.id_message) {
                m.statuses.push(status.clone());
            }
            st.status_body(
                job.instance,
                &job.chat_id,
                &job.id_message,
                &status,
                description.as_deref(),
                job.by_api,
            )
        };
        deliver(&data, &client, job.instance, "outgoingWebhook", body).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

struct Req {
    http: String,
    instance: Option<u64>,
    method: String,
    token: String,
    body: Result<Value, String>,
    /// What `calls()` shows as the body.
    recorded: Value,
}

async fn api_handler(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    data: Data,
    client: web::Data<reqwest::Client>,
) -> HttpResponse {
    let (inst_seg, method, token) = path.into_inner();
    let parsed: Result<Value, String> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let recorded = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => json!({"raw": String::from_utf8_lossy(&body)}),
    };
    let r = Req {
        http: req.method().as_str().to_string(),
        instance: inst_seg
            .strip_prefix("waInstance")
            .and_then(|s| s.parse::<u64>().ok()),
        method,
        token,
        body: parsed,
        recorded,
    };
    // Like the real gateway, a request once received is carried out even if the client hangs up
    // (a client timeout then retry duplicates the effect): run it as its own task.
    let client = client.get_ref().clone();
    match actix_web::rt::spawn(handle_api(data.clone(), client, r)).await {
        Ok(reply) => reply.into_response(),
        Err(_) => text(500, "Internal Server Error").into_response(),
    }
}

async fn handle_api(data: Data, client: reqwest::Client, r: Req) -> Reply {
    let fault = {
        let mut st = lock(&data);
        if st.down {
            st.record(&r.http, &r.method, r.instance, r.recorded, 502);
            return text(502, "Bad Gateway");
        }
        st.take_fault(&r.method)
    };
    match fault {
        Some(GatewayFault::Timeout(d)) => actix_web::rt::time::sleep(d).await,
        Some(f) => {
            if let Some(reply) = fault_reply(&f, &r.method) {
                lock(&data).record(&r.http, &r.method, r.instance, r.recorded, reply.status());
                return reply;
            }
        }
        None => {}
    }
    let reply = process(&data, &client, &r).await.unwrap_or_else(|e| e);
    lock(&data).record(
        &r.http,
        &r.method,
        r.instance,
        r.recorded.clone(),
        reply.status(),
    );
    reply
}

/// Instance, token, method, verb, rate limit and body checks. Returns the instance id and the
/// body (an empty object for GETs).
fn admit(data: &Data, r: &Req) -> Result<(u64, Obj), Reply> {
    let Some(id) = r.instance else {
        return Err(text(404, "Not Found"));
    };
    let mut st = lock(data);
    let now = st.now_ms();
    let limit = st.cfg.rate_limits.get(&r.method).copied();
    let Some(inst) = st.instances.get_mut(&id) else {
        return Err(text(403, "Forbidden"));
    };
    if inst.token != r.token {
        return Err(text(401, "Unauthorized"));
    }
    let Some(verb) = verb_of(&r.method) else {
        return Err(text(404, "Not Found"));
    };
    if verb != r.http {
        return Err(text(405, "Method Not Allowed"));
    }
    if let Some(limit) = limit {
        let w = inst.windows.entry(r.method.clone()).or_default();
        while w.front().is_some_and(|t| now - *t >= 1000) {
            w.pop_front();
        }
        if w.len() as u64 >= u64::from(limit) {
            return Err(text(429, "Too Many Requests"));
        }
        w.push_back(now);
    }
    if verb == "GET" {
        return Ok((id, Obj::new()));
    }
    match &r.body {
        Err(e) => Err(text(400, format!("bad request data: {e}"))),
        Ok(Value::Object(o)) => Ok((id, o.clone())),
        Ok(Value::Null) if matches!(r.method.as_str(), "logout" | "reboot") => Ok((id, Obj::new())),
        Ok(_) => Err(text(
            400,
            "bad request data: the body must be a JSON object",
        )),
    }
}

async fn process(data: &Data, client: &reqwest::Client, r: &Req) -> Result<Reply, Reply> {
    let (id, b) = admit(data, r)?;
    match r.method.as_str() {
        "getStateInstance" => {
            let st = lock(data);
            Ok(ok_json(json!({"stateInstance": st.instance(id).state})))
        }
        "qr" => {
            let st = lock(data);
            let v = match st.instance(id).state.as_str() {
                "notAuthorized" => json!({"type": "qrCode", "message": st.qr_base64(id)}),
                s if is_linked(s) => {
                    json!({"type": "alreadyLogged", "message": "instance account already authorized"})
                }
                "starting" => {
                    json!({"type": "error", "message": "instance in starting process try later"})
                }
                "blocked" => json!({"type": "error", "message": "instance account is blocked"}),
                s => json!({"type": "error", "message": format!("instance is in state {s}")}),
            };
            Ok(ok_json(v))
        }
        "getSettings" => {
            let st = lock(data);
            let i = st.instance(id);
            let mut s = i.settings.clone();
            s.insert("wid".into(), json!(i.wid));
            Ok(ok_json(Value::Object(s)))
        }
        "setSettings" => set_settings(data, id, &b),
        "logout" => {
            let (changed, body) = lock(data).change_state(id, "notAuthorized");
            if changed {
                actix_web::rt::spawn(after_state_change(
                    data.clone(),
                    client.clone(),
                    id,
                    body,
                    false,
                ));
            }
            Ok(ok_json(json!({"isLogout": true})))
        }
        "reboot" => Ok(reboot(data, client, id)),
        "sendMessage" => send_message(data, client, id, &b),
        "sendFileByUrl" => send_file(data, client, id, &b).await,
        "editMessage" => edit_message(data, id, &b),
        "deleteMessage" => delete_message(data, id, &b),
        "readChat" => {
            let chat_id = chat_id_of(&b)?;
            let id_message = opt_str(&b, "idMessage")?;
            let mut st = lock(data);
            ready(&st, id)?;
            st.reads.push(GatewayRead {
                instance: id,
                chat_id,
                id_message,
            });
            Ok(ok_json(json!({"setRead": true})))
        }
        "downloadFile" => download_file(data, id, &b),
        _ => Err(text(404, "Not Found")),
    }
}

fn set_settings(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    for k in YES_NO_SETTINGS {
        match b.get(k) {
            None => {}
            Some(Value::String(s)) if s == "yes" || s == "no" => {}
            Some(_) => return Err(invalid(format!("'{k}' must be one of [yes, no]"))),
        }
    }
    if let Some(u) = b.get("webhookUrl") {
        let Some(u) = u.as_str() else {
            return Err(invalid("'webhookUrl' must be a string"));
        };
        if !u.is_empty()
            && !url::Url::parse(u).is_ok_and(|p| p.scheme() == "http" || p.scheme() == "https")
        {
            return Err(invalid("'webhookUrl' must be an http(s) URL"));
        }
    }
    if b.get("webhookUrlToken").is_some_and(|t| !t.is_string()) {
        return Err(invalid("'webhookUrlToken' must be a string"));
    }
    let mut st = lock(data);
    let i = st
        .instances
        .get_mut(&id)
        .expect("gateway sim: instance vanished");
    for (k, v) in b {
        i.settings.insert(k.clone(), v.clone());
    }
    Ok(ok_json(json!({"saveSettings": true})))
}

fn reboot(data: &Data, client: &reqwest::Client, id: u64) -> Reply {
    let (target, gen, body, delay) = {
        let mut st = lock(data);
        let i = st.instance(id);
        // A reboot neither links nor unlinks the phone: the instance comes back in the state it
        // had (a reboot during a reboot keeps the first one's target).
        let target = match (i.state.as_str(), &i.reboot_target) {
            ("starting", Some(t)) => t.clone(),
            ("starting", None) => "authorized".to_string(),
            (other, _) => other.to_string(),
        };
        let (_, body) = st.change_state(id, "starting");
        if let Some(i) = st.instances.get_mut(&id) {
            i.reboot_target = Some(target.clone());
        }
        (target, st.instance(id).state_gen, body, st.cfg.reboot_delay)
    };
    let data = data.clone();
    let client = client.clone();
    actix_web::rt::spawn(async move {
        deliver(&data, &client, id, "stateWebhook", body).await;
        actix_web::rt::time::sleep(delay).await;
        let done = {
            let mut st = lock(&data);
            (st.instance(id).state_gen == gen).then(|| st.change_state(id, &target).1)
        };
        if let Some(body) = done {
            after_state_change(data, client, id, body, is_linked(&target)).await;
        }
    });
    ok_json(json!({"isReboot": true}))
}

fn send_message(data: &Data, client: &reqwest::Client, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let message = req_str(b, "message")?;
    if message.chars().count() > TEXT_LIMIT {
        return Err(invalid(format!(
            "'message' length must be less than or equal to {TEXT_LIMIT} characters"
        )));
    }
    let quoted_id = opt_str(b, "quotedMessageId")?;
    let mut st = lock(data);
    let state = ready(&st, id)?;
    let id_message = new_out_id();
    let at_ms = st.now_ms();
    st.sent.push(GatewaySent {
        instance: id,
        chat_id: chat_id.clone(),
        kind: "text".into(),
        text: message.clone(),
        file: None,
        quoted_id: quoted_id.clone(),
        id_message: id_message.clone(),
        at_ms,
        edited: false,
        edits: Vec::new(),
        edit_ids: Vec::new(),
        deleted: false,
        deleted_for_everyone: false,
        statuses: Vec::new(),
    });
    let mut ext = json!({"text": message});
    if let Some(q) = &quoted_id {
        ext["stanzaId"] = json!(q);
    }
    let echo = api_echo(
        &st,
        id,
        &chat_id,
        &id_message,
        json!({"typeMessage": "extendedTextMessage", "extendedTextMessageData": ext}),
    );
    let plan = st.status_plan(&state, &chat_id, None);
    drop(st);
    actix_web::rt::spawn(after_send(
        data.clone(),
        client.clone(),
        AfterSend {
            instance: id,
            chat_id,
            id_message: id_message.clone(),
            echo: Some(echo),
            plan,
            by_api: true,
        },
    ));
    Ok(ok_json(json!({"idMessage": id_message})))
}

fn api_echo(st: &State, id: u64, chat_id: &str, id_message: &str, message_data: Value) -> Value {
    let wid = st.instance(id).wid.clone();
    json!({
        "typeWebhook": "outgoingAPIMessageReceived",
        "instanceData": st.instance_data(id),
        "timestamp": st.now_ms() / 1000,
        "idMessage": id_message,
        "senderData": {"chatId": chat_id, "sender": wid, "chatName": "", "senderName": ""},
        "messageData": message_data
    })
}

async fn fetch_file(
    client: &reqwest::Client,
    url: &str,
    file_name: &str,
    max: usize,
) -> GatewaySentFile {
    let mut f = GatewaySentFile {
        url: url.to_string(),
        file_name: file_name.to_string(),
        bytes: None,
        content_type: None,
        fetch_error: None,
    };
    match client
        .get(url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
    {
        Err(e) => f.fetch_error = Some(format!("could not download the file: {e}")),
        Ok(r) if !r.status().is_success() => {
            f.fetch_error = Some(format!(
                "could not download the file: HTTP {}",
                r.status().as_u16()
            ));
        }
        Ok(r) => {
            f.content_type = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match r.bytes().await {
                Err(e) => f.fetch_error = Some(format!("could not download the file: {e}")),
                Ok(b) if b.len() > max => {
                    f.fetch_error = Some(format!(
                        "the file is larger than {max} bytes ({} bytes)",
                        b.len()
                    ));
                }
                Ok(b) => f.bytes = Some(b.to_vec()),
            }
        }
    }
    f
}

async fn send_file(
    data: &Data,
    client: &reqwest::Client,
    id: u64,
    b: &Obj,
) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let url_file = req_str(b, "urlFile")?;
    if !url::Url::parse(&url_file).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https") {
        return Err(invalid("'urlFile' must be an http(s) URL"));
    }
    let file_name = req_str(b, "fileName")?;
    if extension(&file_name).is_none() {
        return Err(invalid("'fileName' must have a file extension"));
    }
    let caption = opt_str(b, "caption")?.unwrap_or_default();
    if caption.chars().count() > TEXT_LIMIT {
        return Err(invalid(format!(
            "'caption' length must be less than or equal to {TEXT_LIMIT} characters"
        )));
    }
    let quoted_id = opt_str(b, "quotedMessageId")?;
    let max = {
        let st = lock(data);
        ready(&st, id)?;
        st.cfg.max_file_bytes
    };
    // Like the gateway, accept (queue) the message even when the file cannot be fetched: it then
    // ends `failed`.
    let file = fetch_file(client, &url_file, &file_name, max).await;
    let mut st = lock(data);
    let state = st.instance(id).state.clone();
    let id_message = new_out_id();
    let at_ms = st.now_ms();
    let kind = kind_by_extension(&file_name);
    let mime = file.content_type.clone().unwrap_or_default();
    let fetch_error = file.fetch_error.clone();
    st.sent.push(GatewaySent {
        instance: id,
        chat_id: chat_id.clone(),
        kind: kind.into(),
        text: caption.clone(),
        file: Some(file),
        quoted_id,
        id_message: id_message.clone(),
        at_ms,
        edited: false,
        edits: Vec::new(),
        edit_ids: Vec::new(),
        deleted: false,
        deleted_for_everyone: false,
        statuses: Vec::new(),
    });
    let echo = api_echo(
        &st,
        id,
        &chat_id,
        &id_message,
        json!({
            "typeMessage": format!("{kind}Message"),
            "fileMessageData": {"downloadUrl": url_file, "caption": caption, "fileName": file_name, "mimeType": mime}
        }),
    );
    let plan = if is_linked(&state) {
        st.status_plan(&state, &chat_id, fetch_error.as_deref())
    } else {
        // unlinked while fetching: it stays queued, no statuses
        Vec::new()
    };
    drop(st);
    actix_web::rt::spawn(after_send(
        data.clone(),
        client.clone(),
        AfterSend {
            instance: id,
            chat_id,
            id_message: id_message.clone(),
            echo: Some(echo),
            plan,
            by_api: true,
        },
    ));
    Ok(ok_json(json!({"idMessage": id_message})))
}

fn edit_message(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let message = req_str(b, "message")?;
    if message.chars().count() > TEXT_LIMIT {
        return Err(invalid(format!(
            "'message' length must be less than or equal to {TEXT_LIMIT} characters"
        )));
    }
    let mut st = lock(data);
    ready(&st, id)?;
    let now = st.now_ms();
    let window = st.cfg.edit_window;
    let theirs = st
        .inbound
        .iter()
        .any(|m| m.instance == id && m.id_message == id_message);
    let Some(m) = st.find_sent_mut(id, &id_message) else {
        return Err(text(
            400,
            if theirs {
                "only messages sent by this account can be edited"
            } else {
                "message not found"
            },
        ));
    };
    if m.chat_id != chat_id {
        return Err(text(400, "message not found in this chat"));
    }
    if m.kind != "text" {
        return Err(text(400, "only text messages can be edited"));
    }
    if m.deleted_for_everyone {
        return Err(text(400, "message was deleted"));
    }
    if let Some(w) = window {
        if now - m.at_ms > w.as_millis() as i64 {
            return Err(text(
                400,
                format!(
                    "message can be edited only within {} minutes of sending",
                    w.as_secs() / 60
                ),
            ));
        }
    }
    let new_id = new_out_id();
    m.edited = true;
    m.edits.push(message);
    m.edit_ids.push(new_id.clone());
    Ok(ok_json(json!({"idMessage": new_id})))
}

fn delete_message(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let only_sender = match b.get("onlySenderDelete") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(x)) => *x,
        Some(_) => return Err(invalid("'onlySenderDelete' must be a boolean")),
    };
    let mut st = lock(data);
    ready(&st, id)?;
    let now = st.now_ms();
    let window = st.cfg.delete_window;
    if let Some(m) = st.find_sent_mut(id, &id_message) {
        if m.chat_id != chat_id {
            return Err(text(400, "message not found in this chat"));
        }
        if !only_sender && !m.deleted_for_everyone {
            if now - m.at_ms > window.as_millis() as i64 {
                return Err(text(
                    400,
                    format!(
                        "message can be deleted for everyone only within {} hours of sending",
                        window.as_secs() / 3600
                    ),
                ));
            }
            m.deleted_for_everyone = true;
        }
        m.deleted = true;
        return Ok(Reply::Empty);
    }
    let Some(m) = st
        .inbound
        .iter_mut()
        .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
    else {
        return Err(text(400, "message not found"));
    };
    if !only_sender {
        return Err(text(
            400,
            "only messages sent by this account can be deleted for everyone",
        ));
    }
    m.deleted_by_us = true;
    Ok(Reply::Empty)
}

fn download_file(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let mut st = lock(data);
    ready(&st, id)?;
    let found = st
        .inbound
        .iter()
        .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
        .and_then(|m| {
            Some((
                m.mime.clone().unwrap_or_default(),
                m.file_name.clone().unwrap_or_default(),
                m.bytes.clone()?,
            ))
        })
        .or_else(|| {
            st.sent
                .iter()
                .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
                .and_then(|m| {
                    let f = m.file.as_ref()?;
                    Some((
                        f.content_type.clone().unwrap_or_default(),
                        f.file_name.clone(),
                        f.bytes.clone()?,
                    ))
                })
        });
    let Some((mime, name, bytes)) = found else {
        return Err(text(400, "message not found or has no file"));
    };
    let url = st.store_file(&mime, &name, bytes);
    Ok(ok_json(json!({"downloadUrl": url})))
}

async fn download_handler(path: web::Path<(String, String)>, data: Data) -> HttpResponse {
    let (key, _name) = path.into_inner();
    let mut st = lock(&data);
    let now = st.now_ms();
    // File links honour faults injected for method "download" (status faults only).
    if let Some(fault) = st.take_fault("download") {
        let resp = match fault {
            GatewayFault::Custom(code, body) => HttpResponse::build(
                actix_web::http::StatusCode::from_u16(code)
                    .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY),
            )
            .body(body),
            GatewayFault::RateLimited => HttpResponse::TooManyRequests().finish(),
            _ => HttpResponse::BadGateway().finish(),
        };
        st.record("GET", "download", None, Value::Null, resp.status().as_u16());
        return resp;
    }
    let resp = match st.files.get(&key) {
        Some(f) if f.expires_ms > now => {
            let mime = if f.mime.is_empty() {
                "application/octet-stream".to_string()
            } else {
                f.mime.clone()
            };
            HttpResponse::Ok().content_type(mime).body(f.bytes.clone())
        }
        Some(_) => HttpResponse::NotFound().body("link expired"),
        None => HttpResponse::NotFound().body("Not Found"),
    };
    st.record("GET", "download", None, Value::Null, resp.status().as_u16());
    resp
}

async fn not_found(req: HttpRequest, data: Data) -> HttpResponse {
    let path = req.path().to_string();
    lock(&data).record(req.method().as_str(), &path, None, Value::Null, 404);
    text(404, "Not Found").into_response()
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub struct GatewaySim {
    data: Data,
    base: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

impl GatewaySim {
    /// Start on 127.0.0.1:<random port>. Must run inside an actix System. Panics when it cannot
    /// listen (tests); [`GatewaySim::try_start`] reports that instead.
    pub async fn start(cfg: GatewaySimConfig) -> Self {
        match Self::try_start(cfg).await {
            Ok(sim) => sim,
            Err(e) => panic!("gateway sim: cannot listen on 127.0.0.1: {e}"),
        }
    }

    /// Start on 127.0.0.1:<random port>. Must run inside an actix System.
    pub async fn try_start(cfg: GatewaySimConfig) -> std::io::Result<Self> {
        let (listener, port) = super::bind_loopback()?;
        let base = format!("http://127.0.0.1:{port}");
        let data: Data = web::Data::new(Mutex::new(State {
            cfg,
            base: base.clone(),
            nonce: random_hex(4),
            offset_ms: 0,
            frozen_ms: None,
            instances: HashMap::new(),
            calls: Vec::new(),
            sent: Vec::new(),
            reads: Vec::new(),
            deliveries: Vec::new(),
            inbound: Vec::new(),
            pending: Vec::new(),
            faults: VecDeque::new(),
            down: false,
            files: HashMap::new(),
            no_account: HashSet::new(),
        }));
        let d = data.clone();
        let server = HttpServer::new(move || {
            // one client per worker thread (its connections live on this worker's runtime)
            App::new()
                .app_data(d.clone())
                .app_data(web::Data::new(plain_client()))
                .app_data(web::PayloadConfig::new(16 << 20))
                .route("/dl/{key}/{name}", web::get().to(download_handler))
                .route("/{instance}/{method}/{token}", web::route().to(api_handler))
                .default_service(web::route().to(not_found))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(Self {
            data,
            base,
            client: plain_client(),
            handle,
        })
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.data)
    }

    /// "http://127.0.0.1:PORT", the instances' `apiUrl`.
    pub fn base_url(&self) -> String {
        self.base.clone()
    }

    /// `{base}/waInstance{id}/{method}/{token}` with the instance's own token.
    pub fn method_url(&self, id_instance: u64, method: &str) -> String {
        let token = self.st().instance(id_instance).token.clone();
        format!("{}/waInstance{id_instance}/{method}/{token}", self.base)
    }

    /// Register (or replace) an instance; it starts `notAuthorized` with every webhook off.
    pub fn add_instance(&self, id_instance: u64, api_token: &str, wid_phone: &str) {
        let mut st = self.st();
        let now = st.now_ms();
        st.instances.insert(
            id_instance,
            Instance {
                token: api_token.into(),
                wid: chat_of(wid_phone),
                state: "notAuthorized".into(),
                settings: Map::new(),
                qr_base_ms: now,
                qr_rotations: 0,
                state_gen: 0,
                reboot_target: None,
                names: HashMap::new(),
                windows: HashMap::new(),
            },
        );
    }

    /// `79990000000@c.us`
    pub fn wid(&self, id_instance: u64) -> String {
        self.st().instance(id_instance).wid.clone()
    }

    pub fn config(&self) -> GatewaySimConfig {
        self.st().cfg.clone()
    }
    /// Change the configuration at run time.
    pub fn configure(&self, f: impl FnOnce(&mut GatewaySimConfig)) {
        f(&mut self.st().cfg);
    }
    pub fn set_auto_statuses(&self, statuses: Vec<&'static str>) {
        self.st().cfg.auto_statuses = statuses;
    }
    pub fn set_status_delay(&self, d: Duration) {
        self.st().cfg.status_delay = d;
    }
    /// Requests per second for `method` (per instance); None = unlimited.
    pub fn set_rate_limit(&self, method: &str, per_second: Option<u32>) {
        let mut st = self.st();
        match per_second {
            Some(n) => st.cfg.rate_limits.insert(method.to_string(), n),
            None => st.cfg.rate_limits.remove(method),
        };
    }
    /// Sends to this number end with status `noAccount` instead of the automatic statuses.
    pub fn set_no_account(&self, phone: &str, no_account: bool) {
        let chat = chat_of(phone);
        let mut st = self.st();
        if no_account {
            st.no_account.insert(chat);
        } else {
            st.no_account.remove(&chat);
        }
    }

    /// Store settings as `setSettings` would (no HTTP call recorded): `webhookUrl`,
    /// `webhookUrlToken` and every webhook flag "yes".
    pub fn set_webhook(&self, id_instance: u64, url: &str, token: &str) {
        let mut st = self.st();
        let i = st
            .instances
            .get_mut(&id_instance)
            .expect("gateway sim: unknown instance (add_instance first)");
        i.settings.insert("webhookUrl".into(), json!(url));
        i.settings.insert("webhookUrlToken".into(), json!(token));
        for k in [
            "incomingWebhook",
            "outgoingWebhook",
            "outgoingMessageWebhook",
            "outgoingAPIMessageWebhook",
            "stateWebhook",
            "deletedMessageWebhook",
            "editedMessageWebhook",
            "incomingCallWebhook",
        ] {
            i.settings.insert(k.into(), json!("yes"));
        }
    }

    // ----- clock -----

    /// Move "now" forward (delete window, QR rotation, link expiry, timestamps, rate windows).
    pub fn advance_clock(&self, d: Duration) {
        self.st().offset_ms += d.as_millis() as i64;
    }
    /// Stop (true) or restart (false) the simulated clock; while frozen only `advance_clock` moves
    /// it (deterministic rate-limit windows and timestamps). Restarting jumps back to wall time
    /// plus the offset.
    pub fn freeze_clock(&self, frozen: bool) {
        self.st().frozen_ms = frozen.then(wall_ms);
    }
    /// Simulated "now", Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.st().now_ms()
    }

    // ----- session -----

    pub fn state(&self, id_instance: u64) -> String {
        self.st().instance(id_instance).state.clone()
    }
    /// Force a new QR now (as if 20 s had passed).
    pub fn rotate_qr(&self, id_instance: u64) {
        self.st()
            .instances
            .get_mut(&id_instance)
            .expect("gateway sim: unknown instance (add_instance first)")
            .qr_rotations += 1;
    }
    /// The base64 PNG `qr` would answer now (None unless `notAuthorized`).
    pub fn current_qr(&self, id_instance: u64) -> Option<String> {
        let st = self.st();
        (st.instance(id_instance).state == "notAuthorized").then(|| st.qr_base64(id_instance))
    }
    /// The phone scans the QR: `notAuthorized` → `authorized` (panics in another state). Posts
    /// `stateInstanceChanged`, then what the phone received meanwhile. Returns the state
    /// webhook's first status (0 = not posted).
    pub async fn scan_qr(&self, id_instance: u64) -> u16 {
        let state = self.state(id_instance);
        assert_eq!(
            state, "notAuthorized",
            "gateway sim: scan_qr needs an instance showing a QR"
        );
        self.set_state(id_instance, "authorized").await
    }
    /// Set any state (see [`GATEWAY_STATES`]) and post `stateInstanceChanged` (even when unchanged).
    /// Cancels a reboot in progress. Returns the webhook's first status (0 = not posted).
    pub async fn set_state(&self, id_instance: u64, state: &str) -> u16 {
        assert!(
            GATEWAY_STATES.contains(&state),
            "gateway sim: unknown state {state}"
        );
        let (_, body) = self.st().change_state(id_instance, state);
        after_state_change(
            self.data.clone(),
            self.client.clone(),
            id_instance,
            body,
            is_linked(state),
        )
        .await
    }

    // ----- inspection -----

    pub fn calls(&self) -> Vec<GatewayCall> {
        self.st().calls.clone()
    }
    pub fn calls_of(&self, method: &str) -> Vec<GatewayCall> {
        self.st()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }
    /// Messages that reached WhatsApp, in order.
    pub fn sent(&self) -> Vec<GatewaySent> {
        self.st().sent.clone()
    }
    /// By the id a send answered (or an edit answered).
    pub fn sent_message(&self, id_message: &str) -> Option<GatewaySent> {
        self.st()
            .sent
            .iter()
            .find(|m| m.id_message == id_message || m.edit_ids.iter().any(|e| e == id_message))
            .cloned()
    }
    pub fn reads(&self) -> Vec<GatewayRead> {
        self.st().reads.clone()
    }
    /// Stored settings (an empty object until `setSettings`).
    pub fn settings(&self, id_instance: u64) -> Value {
        Value::Object(self.st().instance(id_instance).settings.clone())
    }
    /// Every webhook POST attempt, in order.
    pub fn webhook_deliveries(&self) -> Vec<GatewayDelivery> {
        self.st().deliveries.clone()
    }
    /// Messages made on the WhatsApp side (customer hooks, `phone_text`).
    pub fn customer_messages(&self) -> Vec<GatewayInbound> {
        self.st().inbound.clone()
    }
    /// Webhooks held because the instance is not linked.
    pub fn pending_webhooks(&self) -> usize {
        self.st().pending.len()
    }
    /// Forget recorded calls, deliveries and reads (not sent messages or state).
    pub fn clear_records(&self) {
        let mut st = self.st();
        st.calls.clear();
        st.deliveries.clear();
        st.reads.clear();
    }
    /// Poll `f` every 10 ms until true or `timeout`; returns the last result.
    pub async fn wait_for(&self, timeout: Duration, f: impl Fn(&GatewaySim) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // ----- faults -----

    /// The next `times` API calls (any method) get `fault`.
    pub fn inject(&self, fault: GatewayFault, times: usize) {
        self.push_fault(None, fault, times);
    }
    /// The next `times` calls of `method` get `fault`. Rules are consumed in the order added.
    pub fn inject_for(&self, method: &str, fault: GatewayFault, times: usize) {
        self.push_fault(Some(method.to_string()), fault, times);
    }
    fn push_fault(&self, method: Option<String>, fault: GatewayFault, times: usize) {
        if times > 0 {
            self.st().faults.push_back(FaultRule {
                method,
                fault,
                remaining: times,
            });
        }
    }
    pub fn pending_faults(&self) -> usize {
        self.st().faults.iter().map(|r| r.remaining).sum()
    }
    /// While down, every API call answers 502 (recorded, no effect).
    pub fn set_down(&self, down: bool) {
        self.st().down = down;
    }

    // ----- the WhatsApp side -----

    /// Post `body` as a webhook of kind `flag` now when linked, else hold it until linked.
    async fn emit(&self, id: u64, flag: &'static str, body: Value) -> u16 {
        let linked = {
            let mut st = self.st();
            let linked = is_linked(&st.instance(id).state);
            if !linked {
                st.pending.push(Pending {
                    instance: id,
                    flag,
                    body: body.clone(),
                });
            }
            linked
        };
        if linked {
            deliver(&self.data, &self.client, id, flag, body).await
        } else {
            0
        }
    }

    /// Build and record an incoming message; returns (idMessage, webhook body).
    fn incoming(
        &self,
        id: u64,
        from: &str,
        name: Option<&str>,
        message_data: Value,
        file: Option<(String, String, Vec<u8>)>,
    ) -> (String, Value) {
        let chat = chat_of(from);
        let mut st = self.st();
        let now = st.now_ms();
        let i = st
            .instances
            .get_mut(&id)
            .expect("gateway sim: unknown instance (add_instance first)");
        let name = match name {
            Some(n) => {
                i.names.insert(chat.clone(), n.to_string());
                n.to_string()
            }
            None => i.names.get(&chat).cloned().unwrap_or_else(|| digits(&chat)),
        };
        let id_message = new_in_id();
        let body = json!({
            "typeWebhook": "incomingMessageReceived",
            "instanceData": st.instance_data(id),
            "timestamp": now / 1000,
            "idMessage": id_message,
            "senderData": {"chatId": chat, "sender": chat, "chatName": name, "senderName": name},
            "messageData": message_data
        });
        let md = &body["messageData"];
        let s = |p: &str| md.pointer(p).and_then(Value::as_str).map(str::to_string);
        let text = s("/textMessageData/textMessage")
            .or_else(|| s("/extendedTextMessageData/text"))
            .or_else(|| s("/fileMessageData/caption"))
            .or_else(|| s("/editedMessageData/textMessage"))
            .unwrap_or_default();
        let (mime, file_name, bytes) = match file {
            Some((m, n, b)) => (Some(m), Some(n), Some(b)),
            None => (None, None, None),
        };
        st.inbound.push(GatewayInbound {
            instance: id,
            id_message: id_message.clone(),
            chat_id: chat,
            sender_name: name,
            type_message: s("/typeMessage").unwrap_or_default(),
            text,
            quoted_id: s("/quotedMessage/stanzaId"),
            stanza_id: s("/editedMessageData/stanzaId")
                .or_else(|| s("/deletedMessageData/stanzaId")),
            file_name,
            mime,
            bytes,
            from_me: false,
            deleted_by_us: false,
            at_ms: now,
        });
        (id_message, body)
    }

    /// A customer sends an arbitrary `messageData` (locationMessage, contactMessage,
    /// reactionMessage, extendedTextMessage, ...) as `incomingMessageReceived`.
    pub async fn customer_message(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        message_data: Value,
    ) -> String {
        let (idm, body) = self.incoming(id_instance, from, Some(name), message_data, None);
        self.emit(id_instance, "incomingWebhook", body).await;
        idm
    }

    /// A customer writes a text (`textMessage`). Returns its idMessage.
    pub async fn customer_text(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        text: &str,
    ) -> String {
        self.customer_message(
            id_instance,
            from,
            name,
            json!({"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}),
        )
        .await
    }

    /// A customer replies to `quoted_id` (ours or theirs) with a text (`quotedMessage`).
    pub async fn customer_reply(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        text: &str,
        quoted_id: &str,
    ) -> String {
        let chat = chat_of(from);
        let (participant, quoted_text) = {
            let st = self.st();
            let wid = st.instance(id_instance).wid.clone();
            if let Some(m) = st.sent.iter().find(|m| m.id_message == quoted_id) {
                (wid, m.current_text().to_string())
            } else if let Some(m) = st.inbound.iter().find(|m| m.id_message == quoted_id) {
                (m.chat_id.clone(), m.text.clone())
            } else {
                (chat.clone(), String::new())
            }
        };
        self.customer_message(
            id_instance,
            from,
            name,
            json!({
                "typeMessage": "quotedMessage",
                "extendedTextMessageData": {"text": text, "stanzaId": quoted_id, "participant": participant},
                "quotedMessage": {"stanzaId": quoted_id, "participant": participant,
                                  "typeMessage": "textMessage", "textMessage": quoted_text}
            }),
        )
        .await
    }

    /// A customer sends a file: `type_message` is one of [`GATEWAY_FILE_TYPES`] (a voice note is
    /// `audioMessage` with `audio/ogg; codecs=opus`). The bytes are served at the webhook's
    /// `downloadUrl` (valid for `download_url_ttl`).
    #[allow(clippy::too_many_arguments)]
    pub async fn customer_file(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        type_message: &str,
        mime: &str,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> String {
        assert!(
            GATEWAY_FILE_TYPES.contains(&type_message),
            "gateway sim: {type_message} is not a file message type"
        );
        let url = self.st().store_file(mime, file_name, bytes.clone());
        let md = json!({
            "typeMessage": type_message,
            "fileMessageData": {"downloadUrl": url, "caption": caption, "fileName": file_name, "mimeType": mime}
        });
        let (idm, body) = self.incoming(
            id_instance,
            from,
            Some(name),
            md,
            Some((mime.to_string(), file_name.to_string(), bytes)),
        );
        self.emit(id_instance, "incomingWebhook", body).await;
        idm
    }

    /// The customer edits their message `stanza_id` (`editedMessage`, posted when
    /// `editedMessageWebhook` is on). Returns the edit's own idMessage.
    pub async fn customer_edit(
        &self,
        id_instance: u64,
        from: &str,
        stanza_id: &str,
        new_text: &str,
    ) -> String {
        let md = json!({
            "typeMessage": "editedMessage",
            "editedMessageData": {"textMessage": new_text, "stanzaId": stanza_id}
        });
        let (idm, body) = self.incoming(id_instance, from, None, md, None);
        self.emit(id_instance, "editedMessageWebhook", body).await;
        idm
    }

    /// The customer deletes their message `stanza_id` for everyone (`deletedMessage`, posted when
    /// `deletedMessageWebhook` is on). Returns the deletion's own idMessage.
    pub async fn customer_delete(&self, id_instance: u64, from: &str, stanza_id: &str) -> String {
        let md = json!({
            "typeMessage": "deletedMessage",
            "deletedMessageData": {"stanzaId": stanza_id}
        });
        let (idm, body) = self.incoming(id_instance, from, None, md, None);
        self.emit(id_instance, "deletedMessageWebhook", body).await;
        idm
    }

    /// The customer calls (`incomingCall`, posted when `incomingCallWebhook` is on).
    pub async fn customer_call(&self, id_instance: u64, from: &str) -> String {
        let idm = new_in_id();
        let body = {
            let st = self.st();
            json!({
                "typeWebhook": "incomingCall",
                "instanceData": st.instance_data(id_instance),
                "timestamp": st.now_ms() / 1000,
                "idMessage": idm,
                "from": chat_of(from),
                "status": "offer"
            })
        };
        self.emit(id_instance, "incomingCallWebhook", body).await;
        idm
    }

    /// Someone types a text on the linked phone itself (`outgoingMessageReceived`, posted when
    /// `outgoingMessageWebhook` is on), followed by its statuses (`sendByApi: false`).
    pub async fn phone_text(&self, id_instance: u64, to: &str, text: &str) -> String {
        let chat = chat_of(to);
        let idm = new_in_id();
        let (body, plan) = {
            let mut st = self.st();
            let now = st.now_ms();
            let i = st.instance(id_instance);
            let wid = i.wid.clone();
            let state = i.state.clone();
            let chat_name = i.names.get(&chat).cloned().unwrap_or_default();
            let body = json!({
                "typeWebhook": "outgoingMessageReceived",
                "instanceData": st.instance_data(id_instance),
                "timestamp": now / 1000,
                "idMessage": idm,
                "senderData": {"chatId": chat, "sender": wid, "chatName": chat_name, "senderName": ""},
                "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}
            });
            st.inbound.push(GatewayInbound {
                instance: id_instance,
                id_message: idm.clone(),
                chat_id: chat.clone(),
                sender_name: String::new(),
                type_message: "textMessage".into(),
                text: text.into(),
                quoted_id: None,
                stanza_id: None,
                file_name: None,
                mime: None,
                bytes: None,
                from_me: true,
                deleted_by_us: false,
                at_ms: now,
            });
            let plan = if is_linked(&state) {
                st.status_plan(&state, &chat, None)
            } else {
                Vec::new()
            };
            (body, plan)
        };
        self.emit(id_instance, "outgoingMessageWebhook", body).await;
        if !plan.is_empty() {
            actix_web::rt::spawn(after_send(
                self.data.clone(),
                self.client.clone(),
                AfterSend {
                    instance: id_instance,
                    chat_id: chat,
                    id_message: idm.clone(),
                    echo: None,
                    plan,
                    by_api: false,
                },
            ));
        }
        idm
    }

    /// Post an `outgoingMessageStatus` for a message we sent (with retries like any webhook).
    /// `status` is one of [`GATEWAY_STATUSES`]. Returns the first attempt's status (0 = not posted).
    pub async fn push_status(
        &self,
        id_message: &str,
        status: &str,
        description: Option<&str>,
    ) -> u16 {
        assert!(
            GATEWAY_STATUSES.contains(&status),
            "gateway sim: unknown status {status}"
        );
        let (instance, body) = {
            let mut st = self.st();
            let m = st
                .sent
                .iter_mut()
                .find(|m| m.id_message == id_message)
                .expect("gateway sim: unknown idMessage (not sent through the sim)");
            m.statuses.push(status.to_string());
            let (instance, chat) = (m.instance, m.chat_id.clone());
            let body = st.status_body(instance, &chat, id_message, status, description, true);
            (instance, body)
        };
        deliver(&self.data, &self.client, instance, "outgoingWebhook", body).await
    }

    /// POST `body` verbatim to `url` once, with `Authorization: Bearer <token>` when `token` is
    /// given (hostile-input tests). Recorded as a delivery. Returns (status, response text);
    /// status 0 on connection error.
    pub async fn post_raw_webhook(
        &self,
        url: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        self.post_raw_webhook_with_header(url, token.map(|t| format!("Bearer {t}")), body)
            .await
    }

    /// Like [`GatewaySim::post_raw_webhook`] with the whole Authorization header value (or none).
    pub async fn post_raw_webhook_with_header(
        &self,
        url: &str,
        authorization: Option<String>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let json_body = serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}));
        let hook = Hook {
            url: url.to_string(),
            authorization,
            instance: None,
            body: json_body,
            raw: body,
        };
        attempt(&self.data, &self.client, &hook, 1).await
    }
}
