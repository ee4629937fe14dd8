//! WhatsApp Web gateway simulator (GREEN-API protocol): instances linked by scanning a QR, the session
//! state machine, sends / edits / deletes / reads / file links, `setSettings`, and webhooks with the
//! gateway's retries (so duplicates happen). Contract: /work/shared/contracts/whatsapp.md §B.
//!
//! URL scheme: `{base}/waInstance{idInstance}/{method}/{apiTokenInstance}`; files are served at
//! `{base}/dl/{key}/{fileName}`. "Now" (the 72-hour delete window, QR rotation, link expiry, webhook
//! timestamps, rate-limit windows) is the wall clock plus an offset moved by
//! [`GatewaySim::advance_clock`].
//!
//! - `types`: the public vocabulary (configuration, faults, records),
//! - `state`: the instances' session state machine, statuses and the QR,
//! - `replies`: answers and request validation,
//! - `api`: the API entry (admission, rate limits, faults) and the session methods,
//! - `messages`: sends, edits, deletes, reads and file links,
//! - `webhooks`: webhook delivery with the gateway's retries,
//! - `phone`: the WhatsApp side (customers' messages, the linked phone, raw webhooks).

mod api;
mod messages;
mod phone;
mod replies;
mod state;
mod types;
mod webhooks;

/// The QR stand-in PNG, shared with the Evolution sim.
pub(crate) use state::qr_png;
pub use types::*;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::faults::FaultQueue;
use super::server::{lock, plain_client, Sim};
use super::{cloned_where, random_hex, take_where};
use replies::{chat_of, text};
use webhooks::after_state_change;

// ---------------------------------------------------------------------------------------------
// GatewayState
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

/// A webhook held while the instance is not linked (the phone's messages arrive once it is).
struct Pending {
    instance: u64,
    flag: &'static str,
    body: Value,
}

/// The simulated gateway's state: public only as [`GatewaySim`]'s parameter.
#[derive(Default)]
pub struct GatewayState {
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
    faults: FaultQueue<GatewayFault>,
    down: bool,
    files: HashMap<String, StoredFile>,
    no_account: HashSet<String>,
    /// `getAvatar`'s `urlAvatar` per chat id (none: an empty one).
    avatars: HashMap<String, String>,
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

type Data = web::Data<Mutex<GatewayState>>;

async fn not_found(req: HttpRequest, data: Data) -> HttpResponse {
    let path = req.path().to_string();
    lock(&data).record(req.method().as_str(), &path, None, Value::Null, 404);
    text(404, "Not Found").into_response()
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

/// The simulator handle (its state is only ever read through it).
pub type GatewaySim = Sim<GatewayState>;

super::server::simulated! {
    GatewayState(GatewaySimConfig): "gateway", 16 << 20, plain_client, routes,
        new = |cfg, base, _host| GatewayState {
            cfg, base, nonce: random_hex(4), ..GatewayState::default()
        }
}

fn routes(app: &mut web::ServiceConfig) {
    // one client per worker thread (its connections live on this worker's runtime)
    app.app_data(web::Data::new(plain_client()))
        .route(
            "/dl/{key}/{name}",
            web::get().to(messages::download_handler),
        )
        .route(
            "/{instance}/{method}/{token}",
            web::route().to(api::api_handler),
        )
        .default_service(web::route().to(not_found));
}

impl GatewaySim {
    /// `{base}/waInstance{id}/{method}/{token}` with the instance's own token.
    pub fn method_url(&self, id_instance: u64, method: &str) -> String {
        let token = self.st().instance(id_instance).token.clone();
        format!(
            "{}/waInstance{id_instance}/{method}/{token}",
            self.server.base
        )
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
    /// The avatar `getAvatar` answers for this phone.
    pub fn set_avatar(&self, phone: &str, url: &str) {
        self.st().avatars.insert(chat_of(phone), url.to_string());
    }

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
        for k in WEBHOOK_FLAGS {
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

    pub fn calls_of(&self, method: &str) -> Vec<GatewayCall> {
        cloned_where(&self.st().calls, |c| c.method == method)
    }
    /// By the id a send answered (or an edit answered).
    pub fn sent_message(&self, id_message: &str) -> Option<GatewaySent> {
        self.st()
            .sent
            .iter()
            .find(|m| m.id_message == id_message || m.edit_ids.iter().any(|e| e == id_message))
            .cloned()
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
}

crate::sim::web_gateway_records!(GatewaySim: GatewayCall, GatewaySent, GatewayRead);
crate::sim::faults::fault_controls!(GatewaySim, GatewayFault);
