//! WhatsApp Cloud API (Graph API) simulator: sends, mark-as-read, media, and signed webhooks
//! (statuses after each send, inbound messages on demand). Contract: /work/shared/contracts/whatsapp.md §A.
//!
//! - `replies`: Graph error bodies and webhook envelopes,
//! - `messages`: `POST /{version}/{phone_number_id}/messages` (sends and mark-as-read),
//! - `media`: uploads, media info and downloads,
//! - `webhooks`: signed webhook POSTs (automatic statuses, inbound messages on demand).

mod media;
mod messages;
mod replies;
mod templates;
mod webhooks;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::faults::FaultQueue;
use super::server::{lock, Sim};
use super::test_client;
use replies::{gerr, respond};

#[derive(Clone, Debug)]
pub struct GraphSimConfig {
    /// Version path segment, e.g. "v21.0" (requests with another version are accepted and recorded).
    pub version: String,
    /// Delay before each automatic status webhook.
    pub status_delay: Duration,
    /// Statuses POSTed (in order, one POST each) after every accepted send.
    pub auto_statuses: Vec<&'static str>,
    /// Extra attempts for a webhook our app does not answer 200 (like Meta, with backoff).
    pub webhook_retries: usize,
    /// First retry delay, doubled for each further attempt.
    pub retry_backoff: Duration,
    pub waba_id: String,
    /// Free-form sends to a customer whose last message is over 24 h old (or who never wrote
    /// through this sim) are accepted, then fail with a 131047 status, as on the real API.
    pub enforce_window: bool,
}

impl Default for GraphSimConfig {
    fn default() -> Self {
        Self {
            version: "v21.0".into(),
            status_delay: Duration::from_millis(20),
            auto_statuses: vec!["sent", "delivered"],
            webhook_retries: 3,
            retry_backoff: Duration::from_millis(100),
            waba_id: "102290129340398".into(),
            enforce_window: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum GraphFault {
    /// HTTP 500, code 131000.
    ServerError,
    /// Sleep, then answer normally (with effect).
    Timeout(Duration),
    /// HTTP 400, code 130429 (throughput limit).
    Throughput,
    /// HTTP 401, code 190 (expired token).
    ExpiredToken,
    /// HTTP 400, code 131047: the synchronous form of a send outside the window, which some
    /// vendors describe (whatsapp-templates.md §1; the default is the failed-status form).
    Reengagement,
}

#[derive(Clone, Debug)]
pub struct GraphCall {
    /// "POST" / "GET"
    pub http_method: String,
    pub path: String,
    pub phone_number_id: Option<String>,
    /// JSON body (`{"raw": "..."}` when not JSON, `null` for GETs and uploads).
    pub body: Value,
    pub status: u16,
    /// When it was answered, Unix ms.
    pub at_ms: i64,
}

/// An accepted send (not mark-as-read).
#[derive(Clone, Debug)]
pub struct SentMsg {
    pub phone_number_id: String,
    pub to: String,
    /// "text", "image", "document", ...
    pub kind: String,
    /// text.body, or the media caption ("" if none).
    pub text: String,
    pub wamid: String,
    /// context.message_id when replying.
    pub reply_to: Option<String>,
    pub json: Value,
    /// A free-form send outside the customer's window: accepted, then failed with 131047.
    pub outside_window: bool,
    /// When it was accepted, Unix ms.
    pub at_ms: i64,
}

/// One webhook POST the sim made (status webhooks, inbound via `post_signed`, ...).
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    pub url: String,
    /// "status" | "inbound"
    pub kind: String,
    pub body: Value,
    /// What our app answered (0 = connection error).
    pub status: u16,
    /// 1 for the first try.
    pub attempt: u32,
    /// For status webhooks: the wamid and status name.
    pub wamid: Option<String>,
    pub status_name: Option<String>,
    /// When our app answered, Unix ms.
    pub at_ms: i64,
}

#[derive(Clone, Debug)]
struct Number {
    access_token: String,
    app_secret: String,
    display_phone: String,
}

#[derive(Clone, Debug)]
struct Media {
    mime: String,
    bytes: Vec<u8>,
}

/// The simulated Cloud API's state: public only as [`GraphSim`]'s parameter.
#[derive(Default)]
pub struct GraphState {
    cfg: GraphSimConfig,
    base: String,
    numbers: HashMap<String, Number>,
    webhook_url: Option<String>,
    calls: Vec<GraphCall>,
    sent: Vec<SentMsg>,
    reads: Vec<(String, String)>,
    deliveries: Vec<WebhookDelivery>,
    faults: FaultQueue<GraphFault>,
    down: bool,
    media: HashMap<String, Media>,
    seq: u64,
    /// The customer's last message time (Unix s) per (phone_number_id, wa_id), from the inbound
    /// webhooks this sim posted: the window (whatsapp-templates.md §1).
    last_inbound: HashMap<(String, String), i64>,
    /// The account's message templates (Meta's template objects), in listing order.
    templates: Vec<Value>,
}

impl GraphState {
    /// Whether free text may reach `wa_id` from `pnid` now.
    fn window_open(&self, pnid: &str, wa_id: &str) -> bool {
        let key = (pnid.to_string(), wa_id.to_string());
        self.last_inbound
            .get(&key)
            .is_some_and(|at| crate::sim::unix_now() < at + 24 * 3600)
    }

    /// Notes the customer messages of an inbound webhook body (their own timestamps).
    fn note_inbound(&mut self, pnid: &str, body: &Value) {
        let values = body["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| {
                e["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| &c["value"])
            });
        for m in values.flat_map(|v| v["messages"].as_array().into_iter().flatten()) {
            let (Some(from), Some(ts)) = (m["from"].as_str(), m["timestamp"].as_str()) else {
                continue;
            };
            let Ok(ts) = ts.parse::<i64>() else { continue };
            let at = self
                .last_inbound
                .entry((pnid.to_string(), from.to_string()))
                .or_insert(ts);
            *at = (*at).max(ts);
        }
    }

    /// Faults apply to every API call, whatever its method.
    fn take_fault(&mut self) -> Option<GraphFault> {
        self.faults.take(|_| true)
    }

    fn record(
        &mut self,
        http_method: &str,
        path: &str,
        pnid: Option<&str>,
        body: Value,
        status: u16,
    ) {
        self.calls.push(GraphCall {
            http_method: http_method.into(),
            path: path.into(),
            phone_number_id: pnid.map(str::to_string),
            body,
            status,
            at_ms: now_ms(),
        });
    }
}

/// Unix time in milliseconds (the records' `at_ms`).
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

type Data = web::Data<Mutex<GraphState>>;

async fn not_found(req: HttpRequest, data: Data) -> HttpResponse {
    let rpath = req.path().to_string();
    lock(&data).record(req.method().as_str(), &rpath, None, Value::Null, 400);
    respond(gerr(
        400,
        100,
        "GraphMethodException",
        &format!("Unknown path components: {rpath}"),
        Some(2500),
    ))
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

/// The simulator handle (its state is only ever read through it).
pub type GraphSim = Sim<GraphState>;

super::server::simulated! {
    GraphState(GraphSimConfig): "graph", 128 << 20, test_client, routes
}

fn routes(app: &mut web::ServiceConfig) {
    // one client per worker thread (its connections live on this worker's runtime)
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    app.app_data(web::Data::new(client))
        .route("/media-dl/{id}", web::get().to(media::download_handler))
        .route(
            "/{version}/{pnid}/messages",
            web::post().to(messages::messages_handler),
        )
        .route(
            "/{version}/{waba}/message_templates",
            web::get().to(templates::list_handler),
        )
        .route(
            "/{version}/{pnid}/media",
            web::post().to(media::upload_handler),
        )
        .route("/{version}/{id}", web::get().to(media::info_handler))
        .default_service(web::route().to(not_found));
}

impl GraphSim {
    pub fn version(&self) -> String {
        self.st().cfg.version.clone()
    }

    /// Register (or replace) a phone number.
    pub fn add_number(
        &self,
        phone_number_id: &str,
        access_token: &str,
        app_secret: &str,
        display_phone: &str,
    ) {
        self.st().numbers.insert(
            phone_number_id.to_string(),
            Number {
                access_token: access_token.into(),
                app_secret: app_secret.into(),
                display_phone: display_phone.into(),
            },
        );
    }
    /// Where webhooks are POSTed (our app's Cloud API callback).
    pub fn set_webhook_url(&self, url: &str) {
        self.st().webhook_url = Some(url.to_string());
    }
    pub fn webhook_url(&self) -> Option<String> {
        self.st().webhook_url.clone()
    }
    pub fn set_auto_statuses(&self, statuses: Vec<&'static str>) {
        self.st().cfg.auto_statuses = statuses;
    }
    pub fn set_status_delay(&self, d: Duration) {
        self.st().cfg.status_delay = d;
    }
    /// WhatsApp's own view of the window, whatever ours says: the customer's window with this
    /// number is now closed (e.g. it expired on the real clock before our data could tell).
    pub fn close_window(&self, phone_number_id: &str, wa_id: &str) {
        let key = (phone_number_id.to_string(), wa_id.to_string());
        self.st().last_inbound.insert(key, 0);
    }

    // ----- inspection -----

    pub fn sent_messages(&self) -> Vec<SentMsg> {
        self.st().sent.clone()
    }
    pub fn calls(&self) -> Vec<GraphCall> {
        self.st().calls.clone()
    }
    /// (phone_number_id, message_id) of every accepted mark-as-read.
    pub fn reads(&self) -> Vec<(String, String)> {
        self.st().reads.clone()
    }
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.st().deliveries.clone()
    }
    /// Register media (as if a customer sent it); returns its media id for inbound webhooks.
    pub fn add_media(&self, mime: &str, bytes: Vec<u8>) -> String {
        let mut st = self.st();
        st.seq += 1;
        let id = format!("{}", 800_000_000_000u64 + st.seq);
        st.media.insert(
            id.clone(),
            Media {
                mime: mime.into(),
                bytes,
            },
        );
        id
    }
    /// (mime, bytes) of uploaded or added media.
    pub fn media(&self, id: &str) -> Option<(String, Vec<u8>)> {
        self.st()
            .media
            .get(id)
            .map(|m| (m.mime.clone(), m.bytes.clone()))
    }

    // ----- faults -----

    /// The next `times` API calls (sends, reads, media) get `fault`.
    pub fn inject(&self, fault: GraphFault, times: usize) {
        self.st().faults.push(None, fault, times);
    }
    pub fn pending_faults(&self) -> usize {
        self.st().faults.pending()
    }
    /// While down, every API call answers 503 code 131016.
    pub fn set_down(&self, down: bool) {
        self.st().down = down;
    }
}
