//! Bitrix24 portal simulator: REST (`/rest/<method>`), the OAuth server
//! (`/oauth-server/oauth/token/`), the Open Lines connector model and the events a portal POSTs.
//! Contract: /work/shared/contracts/bitrix24.md.
//!
//! - `types`: the public vocabulary (configuration, faults, records),
//! - `params`: PHP-style parameters and forms,
//! - `state`: the portal's state and its counters,
//! - `rest`: the REST entry (`/rest/<method>`, batches, the moved portal's redirect),
//! - `imconnector`: the Open Lines connector methods (register, activate, messages, statuses),
//! - `crm`: conversations and the CRM contacts they create,
//! - `oauth`: access tokens and the OAuth server (`/oauth-server/oauth/token/`),
//! - `faults`: injected faults, being down and the leaky-bucket rate limit,
//! - `events`: event bindings and the events POSTed to our app,
//! - `app`: the app's life (install, placement pages, uninstall, update, an admin's changes),
//! - `placements`: `placement.bind` and the IM_TEXTAREA button's page in an Open Lines chat,
//! - `operator`: what an operator does in the chat (write, attach files, edit, delete).

mod app;
mod crm;
mod events;
mod faults;
mod imconnector;
mod messageservice;
mod oauth;
mod operator;
mod params;
mod placements;
mod rest;
mod state;
mod types;

pub use messageservice::SmsMessage;
pub use params::{php_form_pairs, php_form_to_value, php_pairs_to_value};
pub use types::*;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::cloned_where;
use super::faults::FaultQueue;
use super::server::{lock, status_code, Sim};
use params::normalize_method;

// ---------------------------------------------------------------------------------------------
// BitrixState
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Binding {
    id: u64,
    event: String,
    handler: String,
}

struct ApiErr {
    status: u16,
    code: String,
    desc: String,
}

impl ApiErr {
    fn new(status: u16, code: &str, desc: &str) -> Self {
        Self {
            status,
            code: code.into(),
            desc: desc.into(),
        }
    }
    fn arg(desc: &str) -> Self {
        Self::new(400, "ERROR_ARGUMENT", desc)
    }
    fn json(&self) -> Value {
        json!({"error": self.code, "error_description": self.desc})
    }
    fn response(&self) -> HttpResponse {
        HttpResponse::build(status_code(self.status)).json(self.json())
    }
}

/// A simulated portal's state: public only as [`BitrixSim`]'s parameter.
pub struct BitrixState {
    cfg: BitrixSimConfig,
    /// The portal moved (`move_portal`): `/rest/…` answers 302 to `/moved/rest/…`.
    moved: bool,
    base: String,
    host: String,
    app_token: String,
    installed: bool,
    /// `app.info` answers this as `INSTALLED` instead of `installed` (test switch).
    app_info_installed: Option<bool>,
    access_token: String,
    refresh_token: String,
    valid_access: HashSet<String>,
    expired_access: HashSet<String>,
    refresh_count: usize,
    bucket_level: f64,
    bucket_at: Instant,
    down: bool,
    faults: FaultQueue<BitrixFault>,
    calls: Vec<Call>,
    connectors: BTreeMap<String, Value>,
    active: BTreeSet<(String, String)>,
    connector_data: HashMap<(String, String), Value>,
    lines: BTreeMap<u64, String>,
    bindings: Vec<Binding>,
    /// Placements our app bound (`placement.bind` params).
    placements: Vec<Value>,
    conversations: Vec<Conversation>,
    b24_users: HashMap<(String, String), String>,
    contacts: Vec<CrmContact>,
    customer: Vec<CustomerMsg>,
    operator: Vec<OperatorMessage>,
    notices: Vec<SystemNotice>,
    files: HashMap<String, (String, String, Vec<u8>)>,
    events: Vec<EventDelivery>,
    /// Message-service providers our app registered, by CODE.
    providers: BTreeMap<String, Value>,
    /// Messages sent through them.
    sms: Vec<messageservice::SmsMessage>,
    seq: u64,
    /// The last timeline position handed out (`CustomerMsg::order` …).
    order: u64,
}

fn now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn now_ms() -> i64 {
    (now_f64() * 1000.0) as i64
}

fn iso(t: f64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_default()
}

fn time_json(start: f64) -> Value {
    let finish = now_f64();
    let dur = (finish - start).max(0.0);
    json!({
        "start": start, "finish": finish, "duration": dur, "processing": dur,
        "date_start": iso(start), "date_finish": iso(finish),
        "operating_reset_at": start as i64 + 600, "operating": dur
    })
}

type Data = web::Data<Mutex<BitrixState>>;

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "NOT_FOUND", "error_description": "Not found"}))
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

/// The simulator handle (its state is only ever read through it).
pub type BitrixSim = Sim<BitrixState>;

/// What the portal posts its events with: a connection of its own each time, as Bitrix24's
/// webhook engine does. (A kept-alive connection that our server closes after its idle time
/// races the next event, which would then be lost: Bitrix24 does not retry events.)
fn event_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_default()
}

super::server::simulated! {
    BitrixState(BitrixSimConfig): "bitrix", 64 << 20, event_client, routes, new = BitrixState::create
}

fn routes(app: &mut web::ServiceConfig) {
    app.route("/rest/{method}", web::route().to(rest::old_rest_handler))
        .route("/moved/rest/{method}", web::route().to(rest::rest_handler))
        // With or without the trailing slash, as Bitrix24 takes it.
        .route(
            "/oauth-server/oauth/token{slash:/?}",
            web::route().to(oauth::oauth_handler),
        )
        .route("/~{id}", web::get().to(operator::file_handler))
        .route(
            "/app/im-textarea",
            web::get().to(placements::im_textarea_handler),
        )
        .default_service(web::route().to(not_found));
}

impl BitrixSim {
    /// "127.0.0.1:PORT" (the portal's domain)
    pub fn domain(&self) -> String {
        self.st().host.clone()
    }
    /// "{base}/rest/"
    pub fn client_endpoint(&self) -> String {
        self.st().client_endpoint()
    }
    /// "{base}/oauth-server/rest/"
    pub fn server_endpoint(&self) -> String {
        self.st().server_endpoint()
    }
    /// Names itself `http://localhost:PORT` from now on (its domain, REST and OAuth endpoints in
    /// the events it sends): the same server under a host name a test has not allowed.
    pub fn answer_as_localhost(&self) {
        let mut st = self.st();
        let port = st.base.rsplit(':').next().unwrap_or_default().to_string();
        st.base = format!("http://localhost:{port}");
        st.host = format!("localhost:{port}");
    }
    /// "{base}/oauth-server/oauth/token/"
    pub fn oauth_token_url(&self) -> String {
        format!("{}/oauth-server/oauth/token/", self.server.base)
    }
    pub fn member_id(&self) -> String {
        self.st().cfg.member_id.clone()
    }
    /// The current application token (changes with `update_app`).
    pub fn application_token(&self) -> String {
        self.st().app_token.clone()
    }
    pub fn config(&self) -> BitrixSimConfig {
        self.st().cfg.clone()
    }

    // ----- inspection -----

    pub fn calls(&self) -> Vec<Call> {
        self.st().calls.clone()
    }
    /// Calls of one method (name compared case-insensitively, `.json` ignored), batch sub-calls included.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let m = normalize_method(method);
        cloned_where(&self.st().calls, |c| c.method == m)
    }
    pub fn clear_calls(&self) {
        self.st().calls.clear();
    }
    pub fn customer_messages(&self) -> Vec<CustomerMsg> {
        self.st().customer.clone()
    }
    /// How many customer messages arrived (cheap: for polling under load).
    pub fn customer_message_count(&self) -> usize {
        self.st().customer.len()
    }
    /// The ids of customer messages from index `from` on (cheap: for polling under load).
    pub fn customer_message_ids_since(&self, from: usize) -> Vec<String> {
        let st = self.st();
        st.customer
            .get(from..)
            .map(|m| m.iter().map(|c| c.message_id.clone()).collect())
            .unwrap_or_default()
    }
    pub fn conversations(&self) -> Vec<Conversation> {
        self.st().conversations.clone()
    }
    pub fn operator_messages(&self) -> Vec<OperatorMessage> {
        self.st().operator.clone()
    }
    pub fn operator_message(&self, im_message_id: &str) -> Option<OperatorMessage> {
        self.st()
            .operator
            .iter()
            .find(|m| m.im_message_id == im_message_id)
            .cloned()
    }
    /// "sending" | "delivered" | "read"
    pub fn operator_message_state(&self, im_message_id: &str) -> Option<String> {
        self.operator_message(im_message_id).map(|m| m.state)
    }
    pub fn crm_contacts(&self) -> Vec<CrmContact> {
        self.st().contacts.clone()
    }
    /// (UPPER-CASE event, handler URL)
    pub fn bindings(&self) -> Vec<(String, String)> {
        self.st()
            .bindings
            .iter()
            .map(|b| (b.event.clone(), b.handler.clone()))
            .collect()
    }
    /// Whether any connector is active on `line`.
    pub fn connector_active(&self, line: &str) -> bool {
        self.st().active.iter().any(|(_, l)| l == line)
    }
    /// Registration params of a connector (as sent, minus auth).
    pub fn connector_registration(&self, id: &str) -> Option<Value> {
        self.st().connectors.get(id).cloned()
    }
    pub fn registered_connectors(&self) -> Vec<String> {
        self.st().connectors.keys().cloned().collect()
    }
    /// The DATA last set by imconnector.connector.data.set for (connector, line).
    pub fn connector_data(&self, connector: &str, line: &str) -> Option<Value> {
        self.st()
            .connector_data
            .get(&(connector.to_string(), line.to_string()))
            .cloned()
    }
    pub fn lines(&self) -> Vec<String> {
        self.st().lines.keys().map(|l| l.to_string()).collect()
    }
    pub fn system_notices(&self) -> Vec<SystemNotice> {
        self.st().notices.clone()
    }
    pub fn events_sent(&self) -> Vec<EventDelivery> {
        self.st().events.clone()
    }
    pub fn installed(&self) -> bool {
        self.st().installed
    }
}
