//! Bitrix24 portal simulator: REST (`/rest/<method>`), the OAuth server
//! (`/oauth-server/oauth/token/`), the Open Lines connector model and the events a portal POSTs.
//! Contract: /work/shared/contracts/bitrix24.md.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{dev::ServerHandle, web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Map, Value};

use super::{form_decode, form_encode, random_hex, test_client, unix_now};

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct BitrixSimConfig {
    /// Stable portal id (`auth[member_id]`).
    pub member_id: String,
    /// `auth[application_token]` sent with every event.
    pub application_token: String,
    pub client_id: String,
    pub client_secret: String,
    /// Leaky bucket per portal: (burst, drained per second). `None` = unlimited.
    pub rate_limit: Option<(f64, f64)>,
    /// Open lines "1" ..= "lines" exist at start.
    pub lines: usize,
    pub scope: String,
    /// The operator (`message[user_id]`) and the name used for signatures when the connector was
    /// registered with `NEED_SIGNATURE: true` (text becomes `[b]Name:[/b][br]text`).
    pub operator_user_id: String,
    pub operator_name: String,
    /// Delay before the OAuth server answers a refresh (widens races between parallel refreshes).
    pub refresh_delay: Duration,
    /// Delay before every REST answer (a slow portal; makes concurrent calls overlap).
    pub latency: Duration,
    pub language: String,
    /// What `app.info` answers as `CODE`: `None` = `client_id` (a local app); a Marketplace
    /// app answers its catalogue code, e.g. `vendor.app` (its client_id then looks like
    /// `app.573ad8a0346747.09223434`).
    pub app_code: Option<String>,
    /// The licence letter of `app.info` `STATUS` and of `auth[status]`: `L` local, `F` free,
    /// `D` demo, `T` trial, `P` paid.
    pub app_status: String,
}

impl Default for BitrixSimConfig {
    fn default() -> Self {
        Self {
            member_id: random_hex(16),
            application_token: random_hex(16),
            client_id: "app.b24wa.test".into(),
            client_secret: "sim-secret".into(),
            rate_limit: Some((50.0, 2.0)),
            lines: 3,
            scope: "imconnector,imopenlines,im,crm,placement".into(),
            operator_user_id: "27".into(),
            operator_name: "Sim Operator".into(),
            refresh_delay: Duration::ZERO,
            latency: Duration::ZERO,
            language: "en".into(),
            app_code: None,
            app_status: "L".into(),
        }
    }
}

/// One recorded call. REST calls use the method name (lower-case, no `.json`); sub-calls of a
/// `batch` are recorded too (with `via_batch: true`, before the batch itself); OAuth refreshes are
/// recorded as method `oauth.token`.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub status: u16,
    pub via_batch: bool,
    /// When it was answered, Unix ms.
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BitrixFault {
    /// 500 INTERNAL_SERVER_ERROR, no effect.
    ServerError,
    /// Sleep, then answer normally (with effect).
    Timeout(Duration),
    /// 503 QUERY_LIMIT_EXCEEDED, no effect.
    QueryLimit,
    /// 401 expired_token whatever the token, no effect.
    ExpiredToken,
}

#[derive(Clone, Debug)]
pub struct CustomerMsg {
    pub connector: String,
    pub line: String,
    /// Our chat id (`chat.id`).
    pub chat_id: String,
    /// Our user id (`user.id`).
    pub user_id: String,
    pub user_name: String,
    pub user_last_name: String,
    /// The chat's title (`chat.name`).
    pub chat_name: String,
    pub phone: String,
    pub text: String,
    pub files: Vec<Value>,
    /// Our message id (`message.id`, the wamid).
    pub message_id: String,
    pub date: String,
    /// Bitrix24 chat id (`session.CHAT_ID`) and session id.
    pub b24_chat_id: String,
    pub session_id: String,
    pub edited: bool,
    pub deleted: bool,
    /// Position in the portal's timeline of chat messages and notices (shared by customer
    /// messages, operator messages and notices: a chat is shown in this order).
    pub order: u64,
}

#[derive(Clone, Debug)]
pub struct Conversation {
    /// `connector|line|chat.id|user.id`
    pub key: String,
    pub connector: String,
    pub line: String,
    pub chat_id: String,
    pub user_id: String,
    pub session_id: String,
    pub b24_chat_id: String,
    pub b24_user_id: String,
    pub contact_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct CrmContact {
    pub id: String,
    pub phone: String,
    pub name: String,
    pub last_name: String,
}

/// A message an operator wrote in Bitrix24.
#[derive(Clone, Debug)]
pub struct OperatorMessage {
    pub connector: String,
    pub line: String,
    pub our_chat_id: String,
    pub im_chat_id: String,
    pub im_message_id: String,
    /// Text as sent in the event (with the signature when the connector asked for one).
    pub text: String,
    /// "sending" → "delivered" → "read" (never backwards).
    pub state: String,
    /// Every state it went through, in order, starting with "sending".
    pub history: Vec<String>,
    /// Our ids recorded by send.status.delivery / reading.
    pub external_ids: Vec<String>,
    pub deleted: bool,
    /// Position in the portal's timeline (see [`CustomerMsg::order`]).
    pub order: u64,
}

/// Returned by the operator hooks. `http_status` is what our app answered to the event (0 = the
/// event was not delivered: no handler bound, app not installed, or connection error).
#[derive(Clone, Debug)]
pub struct OperatorMsg {
    pub im_chat_id: String,
    pub im_message_id: String,
    pub http_status: u16,
}

#[derive(Clone, Debug)]
pub struct SystemNotice {
    pub dialog_id: String,
    /// Bitrix24 chat id (DIALOG_ID without the `chat` prefix).
    pub chat_id: String,
    pub message: String,
    pub system: bool,
    /// Position in the portal's timeline (see [`CustomerMsg::order`]).
    pub order: u64,
}

/// One event POST the sim made to our app.
#[derive(Clone, Debug)]
pub struct EventDelivery {
    pub event: String,
    pub url: String,
    pub form: Vec<(String, String)>,
    pub status: u16,
    /// When our app answered it, Unix ms.
    pub at_ms: i64,
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Binding {
    id: u64,
    event: String,
    handler: String,
}

struct FaultRule {
    method: Option<String>,
    fault: BitrixFault,
    remaining: usize,
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
}

struct State {
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
    faults: VecDeque<FaultRule>,
    calls: Vec<Call>,
    connectors: BTreeMap<String, Value>,
    active: BTreeSet<(String, String)>,
    connector_data: HashMap<(String, String), Value>,
    lines: BTreeMap<u64, String>,
    bindings: Vec<Binding>,
    conversations: Vec<Conversation>,
    b24_users: HashMap<(String, String), String>,
    contacts: Vec<CrmContact>,
    customer: Vec<CustomerMsg>,
    operator: Vec<OperatorMessage>,
    notices: Vec<SystemNotice>,
    files: HashMap<String, (String, String, Vec<u8>)>,
    events: Vec<EventDelivery>,
    seq: u64,
    /// The last timeline position handed out (`CustomerMsg::order` …).
    order: u64,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

// ---------------------------------------------------------------------------------------------
// Parameter helpers
// ---------------------------------------------------------------------------------------------

/// Case-insensitive top-level lookup.
fn param<'a>(p: &'a Value, key: &str) -> Option<&'a Value> {
    let m = p.as_object()?;
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Scalar as string ("" for null/absent/containers).
fn sval(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => (if *b { "1" } else { "0" }).to_string(),
        _ => String::new(),
    }
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "y" | "true" => Some(true),
            "0" | "n" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An array, or a PHP-style object with numeric keys, as a list.
fn as_list(v: Option<&Value>) -> Option<Vec<Value>> {
    match v? {
        Value::Array(a) => Some(a.clone()),
        Value::Object(m) => {
            let mut items: Vec<(usize, Value)> = Vec::new();
            for (k, x) in m {
                items.push((k.parse().ok()?, x.clone()));
            }
            items.sort_by_key(|(i, _)| *i);
            Some(items.into_iter().map(|(_, x)| x).collect())
        }
        _ => None,
    }
}

/// Lower-case every object key, recursively (keys inside MESSAGES are case-insensitive).
fn lc_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.to_ascii_lowercase(), lc_keys(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lc_keys).collect()),
        x => x.clone(),
    }
}

fn split_php_key(k: &str) -> Vec<String> {
    let Some(open) = k.find('[') else {
        return vec![k.to_string()];
    };
    if open == 0 || !k.ends_with(']') {
        return vec![k.to_string()];
    }
    let mut segs = vec![k[..open].to_string()];
    let mut rest = &k[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return vec![k.to_string()];
        };
        segs.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() {
        return vec![k.to_string()];
    }
    segs
}

fn php_insert(node: &mut Value, segs: &[String], v: &str) {
    let Some((first, rest)) = segs.split_first() else {
        *node = Value::String(v.to_string());
        return;
    };
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        let key = if first.is_empty() {
            map.len().to_string()
        } else {
            first.clone()
        };
        let child = map.entry(key).or_insert(Value::Null);
        php_insert(child, rest, v);
    }
}

fn php_normalize(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let n = m.len();
            let is_list = n > 0
                && (0..n).all(|i| m.contains_key(&i.to_string()))
                && m.keys().all(|k| k.parse::<usize>().is_ok());
            if is_list {
                let mut m = m;
                Value::Array(
                    (0..n)
                        .map(|i| php_normalize(m.remove(&i.to_string()).unwrap_or(Value::Null)))
                        .collect(),
                )
            } else {
                Value::Object(m.into_iter().map(|(k, x)| (k, php_normalize(x))).collect())
            }
        }
        x => x,
    }
}

/// Decode PHP-style form pairs (`data[MESSAGES][0][im][chat_id]=1`) into JSON. Objects whose keys
/// are exactly 0..n become arrays; every scalar stays a string.
pub fn php_pairs_to_value(pairs: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in pairs {
        php_insert(&mut root, &split_php_key(k), v);
    }
    php_normalize(root)
}

/// Decode a form-encoded body (an event our app received, say) into JSON (see `php_pairs_to_value`).
pub fn php_form_to_value(body: &[u8]) -> Value {
    php_pairs_to_value(&form_decode(body))
}

/// Flatten JSON into PHP-style form pairs like Bitrix24 does: every scalar a string (booleans
/// "1"/"0"), null and empty arrays/objects absent.
pub fn php_form_pairs(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((prefix.to_string(), (if *b { "1" } else { "0" }).into())),
        Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                php_form_pairs(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                php_form_pairs(&key, x, out);
            }
        }
    }
}

fn parse_params(req: &HttpRequest, body: &[u8]) -> Result<Value, ApiErr> {
    let mut params = Map::new();
    let q = req.query_string();
    if !q.is_empty() {
        if let Value::Object(m) = php_form_to_value(q.as_bytes()) {
            params.extend(m);
        }
    }
    let trimmed = body.trim_ascii();
    if !trimmed.is_empty() {
        let ct = req
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.contains("json") || trimmed.starts_with(b"{") {
            match serde_json::from_slice::<Value>(trimmed) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => return Err(ApiErr::arg("Request body is not a JSON object")),
            }
        } else if let Value::Object(m) = php_form_to_value(trimmed) {
            params.extend(m);
        }
    }
    Ok(Value::Object(params))
}

fn normalize_method(m: &str) -> String {
    let m = m.trim_matches('/').to_ascii_lowercase();
    m.strip_suffix(".json").map(str::to_string).unwrap_or(m)
}

fn digits_phone(p: &str) -> String {
    p.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn file_type(mime: &str) -> &'static str {
    if mime.starts_with("image/") {
        "image"
    } else if mime.starts_with("video/") {
        "video"
    } else if mime.starts_with("audio/") {
        "audio"
    } else {
        "file"
    }
}

// ---------------------------------------------------------------------------------------------
// State logic
// ---------------------------------------------------------------------------------------------

const REGISTER_FLAGS: &[&str] = &[
    "DEL_EXTERNAL_MESSAGES",
    "EDIT_INTERNAL_MESSAGES",
    "DEL_INTERNAL_MESSAGES",
    "NEWSLETTER",
    "NEED_SYSTEM_MESSAGES",
    "NEED_SIGNATURE",
    "CHAT_GROUP",
];

impl State {
    fn new(cfg: BitrixSimConfig, base: String, host: String) -> Self {
        let access = random_hex(16);
        let refresh = random_hex(16);
        let lines = (1..=cfg.lines as u64)
            .map(|i| (i, format!("Open Line {i}")))
            .collect();
        Self {
            moved: false,
            app_token: cfg.application_token.clone(),
            cfg,
            base,
            host,
            installed: false,
            app_info_installed: None,
            valid_access: HashSet::from([access.clone()]),
            expired_access: HashSet::new(),
            access_token: access,
            refresh_token: refresh,
            refresh_count: 0,
            bucket_level: 0.0,
            bucket_at: Instant::now(),
            down: false,
            faults: VecDeque::new(),
            calls: Vec::new(),
            connectors: BTreeMap::new(),
            active: BTreeSet::new(),
            connector_data: HashMap::new(),
            lines,
            bindings: Vec::new(),
            conversations: Vec::new(),
            b24_users: HashMap::new(),
            contacts: Vec::new(),
            customer: Vec::new(),
            operator: Vec::new(),
            notices: Vec::new(),
            files: HashMap::new(),
            events: Vec::new(),
            seq: 0,
            order: 0,
        }
    }

    fn next_order(&mut self) -> u64 {
        self.order += 1;
        self.order
    }

    fn next(&mut self, base: u64) -> String {
        self.seq += 1;
        (base + self.seq).to_string()
    }

    fn client_endpoint(&self) -> String {
        if self.moved {
            format!("{}/moved/rest/", self.base)
        } else {
            format!("{}/rest/", self.base)
        }
    }
    fn server_endpoint(&self) -> String {
        format!("{}/oauth-server/rest/", self.base)
    }

    fn record(&mut self, method: &str, body: &Value, status: u16, via_batch: bool) {
        self.calls.push(Call {
            method: method.to_string(),
            body: body.clone(),
            status,
            via_batch,
            at_ms: now_ms(),
        });
    }

    fn take_fault(&mut self, method: &str, rest: bool) -> Option<BitrixFault> {
        let idx = self.faults.iter().position(|r| {
            r.remaining > 0
                && match &r.method {
                    None => rest,
                    Some(m) => normalize_method(m) == method,
                }
        })?;
        let rule = &mut self.faults[idx];
        rule.remaining -= 1;
        let f = rule.fault.clone();
        if rule.remaining == 0 {
            self.faults.remove(idx);
        }
        Some(f)
    }

    fn bucket_take(&mut self, cost: f64) -> bool {
        let Some((burst, per_sec)) = self.cfg.rate_limit else {
            return true;
        };
        let now = Instant::now();
        let elapsed = now.duration_since(self.bucket_at).as_secs_f64();
        self.bucket_level = (self.bucket_level - elapsed * per_sec).max(0.0);
        self.bucket_at = now;
        if self.bucket_level + cost > burst + 1e-9 {
            return false;
        }
        self.bucket_level += cost;
        true
    }

    fn check_auth(&self, token: Option<&str>) -> Result<(), ApiErr> {
        match token {
            None | Some("") => Err(ApiErr::new(
                401,
                "NO_AUTH_FOUND",
                "Wrong authorization data",
            )),
            Some(t) if self.expired_access.contains(t) => Err(ApiErr::new(
                401,
                "expired_token",
                "The access token provided has expired.",
            )),
            Some(t) if self.valid_access.contains(t) => Ok(()),
            Some(_) => Err(ApiErr::new(
                401,
                "invalid_token",
                "The access token provided is invalid.",
            )),
        }
    }

    fn event_auth(&self, with_tokens: bool, app_token: &str) -> Value {
        let mut a = json!({
            "domain": self.host,
            "server_endpoint": self.server_endpoint(),
            "client_endpoint": self.client_endpoint(),
            "member_id": self.cfg.member_id,
            "application_token": app_token,
        });
        if with_tokens {
            if let Value::Object(m) = &mut a {
                m.insert("access_token".into(), json!(self.access_token));
                m.insert("expires".into(), json!((unix_now() + 3600).to_string()));
                m.insert("expires_in".into(), json!("3600"));
                m.insert("scope".into(), json!(self.cfg.scope));
                m.insert("status".into(), json!(self.cfg.app_status));
                m.insert("user_id".into(), json!(self.cfg.operator_user_id));
            }
        }
        a
    }

    /// Form pairs of an event: event, event_handler_id, data, ts, auth.
    fn event_form(
        &self,
        event: &str,
        handler_id: Option<u64>,
        data: &Value,
        with_tokens: bool,
        app_token: &str,
    ) -> Vec<(String, String)> {
        let mut out = vec![("event".to_string(), event.to_ascii_uppercase())];
        if let Some(id) = handler_id {
            out.push(("event_handler_id".into(), id.to_string()));
        }
        php_form_pairs("data", data, &mut out);
        out.push(("ts".into(), unix_now().to_string()));
        php_form_pairs("auth", &self.event_auth(with_tokens, app_token), &mut out);
        out
    }

    fn handlers(&self, event: &str) -> Vec<Binding> {
        let ev = event.to_ascii_uppercase();
        self.bindings
            .iter()
            .filter(|b| b.event == ev)
            .cloned()
            .collect()
    }

    /// (url, form) for every handler bound to `event`, unless the app is not installed.
    fn outgoing(
        &self,
        event: &str,
        data: &Value,
        with_tokens: bool,
    ) -> Vec<(String, Vec<(String, String)>)> {
        if !self.installed {
            eprintln!("bitrix sim: app not installed (install_via_event / install_finish): {event} not sent");
            return Vec::new();
        }
        self.handlers(event)
            .into_iter()
            .map(|b| {
                let form = self.event_form(event, Some(b.id), data, with_tokens, &self.app_token);
                (b.handler, form)
            })
            .collect()
    }

    fn signed_text(&self, connector: &str, text: &str) -> String {
        let sign = self
            .connectors
            .get(connector)
            .and_then(|r| param(r, "NEED_SIGNATURE"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if sign {
            format!("[b]{}:[/b][br]{}", self.cfg.operator_name, text)
        } else {
            text.to_string()
        }
    }

    // ----- REST dispatch -----

    fn handle_rest(
        &mut self,
        method: &str,
        params: &Value,
        token: Option<&str>,
    ) -> Result<Value, ApiErr> {
        self.check_auth(token)?;
        let cost = if method == "batch" {
            match param(params, "cmd") {
                Some(Value::Object(m)) => m.len().max(1),
                Some(Value::Array(a)) => a.len().max(1),
                _ => 1,
            }
        } else {
            1
        };
        if !self.bucket_take(cost as f64) {
            return Err(ApiErr::new(
                503,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            ));
        }
        if method == "batch" {
            self.exec_batch(params, token)
        } else {
            self.exec(method, params)
        }
    }

    fn exec_batch(&mut self, params: &Value, token: Option<&str>) -> Result<Value, ApiErr> {
        let halt = truthy(param(params, "halt")).unwrap_or(false);
        let cmds: Vec<(String, String)> = match param(params, "cmd") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), sval(Some(v)))).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), sval(Some(v))))
                .collect(),
            _ => return Err(ApiErr::arg("cmd is required")),
        };
        if cmds.len() > 50 {
            return Err(ApiErr::new(
                400,
                "ERROR_BATCH_LENGTH_EXCEEDED",
                "Max batch length exceeded",
            ));
        }
        let mut results = Map::new();
        let mut errors = Map::new();
        let mut times = Map::new();
        for (key, cmd) in cmds {
            let start = now_f64();
            let (m, q) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
            let method = normalize_method(m);
            let sub = php_form_to_value(q.as_bytes());
            let sub_token = param(&sub, "auth").map(|v| sval(Some(v)));
            let sub_token = sub_token.as_deref().or(token);
            let res = if method == "batch" {
                Err(ApiErr::new(
                    400,
                    "ERROR_BATCH_METHOD_NOT_ALLOWED",
                    "Method is not allowed for batch usage",
                ))
            } else {
                self.check_auth(sub_token)
                    .and_then(|_| self.exec(&method, &sub))
            };
            let status = res.as_ref().map(|_| 200).unwrap_or_else(|e| e.status);
            self.record(&method, &sub, status, true);
            times.insert(key.clone(), time_json(start));
            match res {
                Ok(v) => {
                    results.insert(key, v);
                }
                Err(e) => {
                    errors.insert(key, e.json());
                    if halt {
                        break;
                    }
                }
            }
        }
        let php = |m: Map<String, Value>| {
            if m.is_empty() {
                json!([])
            } else {
                Value::Object(m)
            }
        };
        Ok(json!({
            "result": php(results), "result_error": php(errors),
            "result_total": [], "result_next": [], "result_time": php(times)
        }))
    }

    fn exec(&mut self, method: &str, p: &Value) -> Result<Value, ApiErr> {
        match method {
            "imconnector.register" => self.m_register(p),
            "imconnector.unregister" => {
                let id = sval(param(p, "ID"));
                self.connectors.remove(&id);
                self.active.retain(|(c, _)| *c != id);
                Ok(json!({"result": true}))
            }
            "imconnector.activate" => self.m_activate(p),
            "imconnector.connector.data.set" => self.m_data_set(p),
            "imconnector.status" => {
                let (c, l) = (sval(param(p, "CONNECTOR")), sval(param(p, "LINE")));
                let on = self.active.contains(&(c.clone(), l.clone()));
                Ok(json!({"LINE": l, "CONNECTOR": c, "ERROR": false, "CONFIGURED": on, "STATUS": on}))
            }
            "imconnector.list" => Ok(Value::Object(
                self.connectors
                    .iter()
                    .map(|(id, r)| (id.clone(), json!(sval(param(r, "NAME")))))
                    .collect(),
            )),
            "imconnector.send.messages" => self.m_messages(p, MsgOp::Send),
            "imconnector.update.messages" => self.m_messages(p, MsgOp::Update),
            "imconnector.delete.messages" => self.m_messages(p, MsgOp::Delete),
            "imconnector.send.status.delivery" => self.m_status(p, "delivered"),
            "imconnector.send.status.reading" => self.m_status(p, "read"),
            "imconnector.chat.name.set" => Ok(json!(true)),
            "event.bind" => self.m_bind(p),
            "event.unbind" => {
                let ev = sval(param(p, "event")).to_ascii_uppercase();
                let h = sval(param(p, "handler"));
                let before = self.bindings.len();
                self.bindings
                    .retain(|b| !(b.event == ev && (h.is_empty() || b.handler == h)));
                Ok(json!({"count": before - self.bindings.len()}))
            }
            "event.get" => Ok(Value::Array(
                self.bindings
                    .iter()
                    .map(|b| json!({"event": b.event, "handler": b.handler, "auth_type": "0", "offline": 0}))
                    .collect(),
            )),
            "im.message.add" => self.m_im_add(p),
            "imopenlines.config.list.get" => Ok(Value::Array(
                self.lines
                    .iter()
                    .map(|(id, name)| json!({"ID": id.to_string(), "LINE_NAME": name, "ACTIVE": "Y"}))
                    .collect(),
            )),
            "imopenlines.config.add" => {
                let fields = param(p, "PARAMS").cloned().unwrap_or(json!({}));
                let id = self.lines.keys().max().copied().unwrap_or(0) + 1;
                let name = sval(param(&fields, "LINE_NAME"));
                let name = if name.is_empty() { format!("Open Line {id}") } else { name };
                self.lines.insert(id, name);
                Ok(json!(id))
            }
            "app.info" => Ok(json!({
                "ID": "1",
                "CODE": self.cfg.app_code.as_deref().unwrap_or(&self.cfg.client_id),
                "VERSION": "1", "STATUS": self.cfg.app_status,
                "INSTALLED": self.app_info_installed.unwrap_or(self.installed),
                "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": self.cfg.language
            })),
            "scope" => Ok(Value::Array(
                self.cfg.scope.split(',').map(|s| json!(s.trim())).collect(),
            )),
            _ => Err(ApiErr::new(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")),
        }
    }

    fn m_register(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let fail = |e: &str| Ok(json!({"result": false, "error": e}));
        let id = sval(param(p, "ID"));
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return fail("Invalid connector ID: only a-z, 0-9 and _ are allowed");
        }
        if sval(param(p, "NAME")).is_empty() {
            return fail("NAME is required");
        }
        let icon_ok = param(p, "ICON")
            .map(|i| !sval(param(i, "DATA_IMAGE")).is_empty())
            .unwrap_or(false);
        if !icon_ok {
            return fail("ICON[DATA_IMAGE] is required");
        }
        if sval(param(p, "PLACEMENT_HANDLER")).is_empty() {
            return fail("PLACEMENT_HANDLER is required");
        }
        for f in REGISTER_FLAGS {
            if let Some(v) = param(p, f) {
                if !v.is_boolean() {
                    return fail(&format!("{f} must be a JSON boolean"));
                }
            }
        }
        let mut reg = p.clone();
        if let Value::Object(m) = &mut reg {
            m.retain(|k, _| !k.eq_ignore_ascii_case("auth"));
        }
        self.connectors.insert(id, reg);
        Ok(json!({"result": true}))
    }

    fn line_exists(&self, line: &str) -> bool {
        line.parse::<u64>()
            .map(|l| self.lines.contains_key(&l))
            .unwrap_or(false)
    }

    fn m_activate(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if !self.connectors.contains_key(&c) {
            return Err(ApiErr::arg("Connector is not registered"));
        }
        if !self.line_exists(&l) {
            return Err(ApiErr::arg("Open line not found"));
        }
        let Some(on) = truthy(param(p, "ACTIVE")) else {
            return Err(ApiErr::arg("ACTIVE must be 1 or 0"));
        };
        if on {
            self.active.insert((c, l));
        } else {
            self.active.remove(&(c, l));
        }
        Ok(json!(true))
    }

    fn m_data_set(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if !self.connectors.contains_key(&c) {
            return Err(ApiErr::arg("Connector is not registered"));
        }
        if !self.line_exists(&l) {
            return Err(ApiErr::arg("Open line not found"));
        }
        let Some(data @ Value::Object(_)) = param(p, "DATA") else {
            return Err(ApiErr::arg("DATA is required"));
        };
        self.connector_data.insert((c, l), data.clone());
        Ok(json!(true))
    }

    fn m_bind(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let ev = sval(param(p, "event")).to_ascii_uppercase();
        let h = sval(param(p, "handler"));
        if !ev.starts_with("ON") || ev.len() < 3 {
            return Err(ApiErr::new(400, "ERROR_EVENT_NOT_FOUND", "Event not found"));
        }
        if !(h.starts_with("http://") || h.starts_with("https://")) {
            return Err(ApiErr::new(
                400,
                "ERROR_HANDLER_URL_MISMATCH",
                "Handler URL is invalid",
            ));
        }
        if self
            .bindings
            .iter()
            .any(|b| b.event == ev && b.handler == h)
        {
            return Err(ApiErr::new(
                400,
                "ERROR_EVENT_HANDLER_ALREADY_EXISTS",
                "Handler already binded",
            ));
        }
        self.seq += 1;
        let id = 500 + self.seq;
        self.bindings.push(Binding {
            id,
            event: ev,
            handler: h,
        });
        Ok(json!(true))
    }

    fn m_im_add(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let dialog = sval(param(p, "DIALOG_ID"));
        if dialog.is_empty() {
            return Err(ApiErr::new(
                400,
                "DIALOG_ID_EMPTY",
                "Dialog ID can't be empty",
            ));
        }
        let msg = sval(param(p, "MESSAGE"));
        if msg.is_empty() {
            return Err(ApiErr::new(400, "MESSAGE_EMPTY", "Message can't be empty"));
        }
        let chat = dialog.strip_prefix("chat").unwrap_or("").to_string();
        if !self.conversations.iter().any(|c| c.b24_chat_id == chat) {
            return Err(ApiErr::new(
                400,
                "ACCESS_ERROR",
                "You do not have access to the specified dialog",
            ));
        }
        let system = sval(param(p, "SYSTEM")).eq_ignore_ascii_case("Y");
        let order = self.next_order();
        self.notices.push(SystemNotice {
            dialog_id: dialog,
            chat_id: chat,
            message: msg,
            system,
            order,
        });
        let id: u64 = self.next(90000).parse().unwrap_or(0);
        Ok(json!(id))
    }

    fn m_messages(&mut self, p: &Value, op: MsgOp) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if c.is_empty() || l.is_empty() {
            return Err(ApiErr::arg("CONNECTOR and LINE are required"));
        }
        if !self.active.contains(&(c.clone(), l.clone())) {
            return Err(ApiErr::new(
                400,
                "NOT_ACTIVE_LINE",
                "The connector is not active on this line",
            ));
        }
        let Some(items) = as_list(param(p, "MESSAGES")) else {
            return Err(ApiErr::arg("MESSAGES must be an array"));
        };
        let mut out = Vec::new();
        let mut all_ok = true;
        for item in items {
            let item = lc_keys(&item);
            let r = self.message_item(&c, &l, &item, op);
            all_ok &= r.get("SUCCESS").and_then(Value::as_bool).unwrap_or(false);
            out.push(r);
        }
        Ok(json!({"SUCCESS": all_ok, "DATA": {"RESULT": out}}))
    }

    fn message_item(&mut self, c: &str, l: &str, item: &Value, op: MsgOp) -> Value {
        let user = item.get("user").cloned().unwrap_or(json!({}));
        let message = item.get("message").cloned().unwrap_or(json!({}));
        let chat = item.get("chat").cloned().unwrap_or(json!({}));
        let uid = sval(user.get("id"));
        let mid = sval(message.get("id"));
        let cid = sval(chat.get("id"));
        let text = sval(message.get("text"));
        let files = as_list(message.get("files")).unwrap_or_default();
        let failed = |e: &str| {
            json!({"user": user, "message": message, "chat": chat, "SUCCESS": false,
                   "ERRORS": [{"code": "ERROR_ARGUMENT", "message": e}]})
        };
        if uid.is_empty() || mid.is_empty() || cid.is_empty() {
            return failed("user.id, message.id and chat.id are required");
        }
        if op == MsgOp::Send && text.is_empty() && files.is_empty() {
            return failed("message.text or message.files is required");
        }
        let key = format!("{c}|{l}|{cid}|{uid}");
        let conv = match op {
            MsgOp::Send => self.conversation(c, l, &cid, &uid, &user, &message, &key),
            _ => match self.conversations.iter().find(|x| x.key == key) {
                Some(x) => x.clone(),
                None => return failed("Conversation not found"),
            },
        };
        let order = if op == MsgOp::Send {
            self.next_order()
        } else {
            0
        };
        match op {
            MsgOp::Send => self.customer.push(CustomerMsg {
                connector: c.into(),
                line: l.into(),
                chat_id: cid.clone(),
                user_id: uid.clone(),
                user_name: sval(user.get("name")),
                user_last_name: sval(user.get("last_name")),
                chat_name: sval(chat.get("name")),
                phone: sval(user.get("phone")),
                text: text.clone(),
                files: files.clone(),
                message_id: mid.clone(),
                date: sval(message.get("date")),
                b24_chat_id: conv.b24_chat_id.clone(),
                session_id: conv.session_id.clone(),
                edited: false,
                deleted: false,
                order,
            }),
            MsgOp::Update | MsgOp::Delete => {
                let Some(m) = self.customer.iter_mut().find(|m| {
                    m.connector == c
                        && m.line == l
                        && m.chat_id == cid
                        && m.user_id == uid
                        && m.message_id == mid
                        && !m.deleted
                }) else {
                    return failed("Message not found");
                };
                if op == MsgOp::Update {
                    m.text = text.clone();
                    if !files.is_empty() {
                        m.files = files.clone();
                    }
                    m.edited = true;
                } else {
                    m.deleted = true;
                }
            }
        }
        let mut chat_out = json!({"id": cid});
        if let Value::Object(m) = &mut chat_out {
            if let Some(n) = chat.get("name") {
                m.insert("name".into(), n.clone());
            }
            let url = sval(chat.get("url"));
            if !url.is_empty() {
                m.insert(
                    "description".into(),
                    json!(format!("Link to the original post: {url}")),
                );
            }
        }
        let mut r = json!({
            "user": conv.b24_user_id,
            "message": {"id": mid, "date": {}, "text": text, "files": []},
            "chat": chat_out,
            "SUCCESS": true,
            "session": {"ID": conv.session_id, "CHAT_ID": conv.b24_chat_id}
        });
        let mut extra = Map::new();
        if sval(user.get("skip_phone_validate")).eq_ignore_ascii_case("Y") {
            extra.insert("skip_phone_validate".into(), json!("Y"));
        }
        if sval(message.get("disable_crm")).eq_ignore_ascii_case("Y") {
            extra.insert("disable_tracker".into(), json!("Y"));
        }
        if !extra.is_empty() {
            if let Value::Object(m) = &mut r {
                m.insert("extra".into(), Value::Object(extra));
            }
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn conversation(
        &mut self,
        c: &str,
        l: &str,
        cid: &str,
        uid: &str,
        user: &Value,
        message: &Value,
        key: &str,
    ) -> Conversation {
        let contact_id = self.contact_for(user, message);
        if let Some(x) = self.conversations.iter_mut().find(|x| x.key == key) {
            if x.contact_id.is_none() {
                x.contact_id = contact_id;
            }
            return x.clone();
        }
        let ukey = (c.to_string(), uid.to_string());
        let b24_user_id = match self.b24_users.get(&ukey) {
            Some(u) => u.clone(),
            None => {
                let u = self.next(580);
                self.b24_users.insert(ukey, u.clone());
                u
            }
        };
        let conv = Conversation {
            key: key.into(),
            connector: c.into(),
            line: l.into(),
            chat_id: cid.into(),
            user_id: uid.into(),
            session_id: self.next(320),
            b24_chat_id: self.next(1760),
            b24_user_id,
            contact_id,
        };
        self.conversations.push(conv.clone());
        conv
    }

    fn contact_for(&mut self, user: &Value, message: &Value) -> Option<String> {
        let phone = sval(user.get("phone"));
        let digits = digits_phone(&phone);
        if digits.is_empty() || sval(message.get("disable_crm")).eq_ignore_ascii_case("Y") {
            return None;
        }
        if let Some(c) = self
            .contacts
            .iter()
            .find(|c| digits_phone(&c.phone) == digits)
        {
            return Some(c.id.clone());
        }
        let id = self.next(0);
        self.contacts.push(CrmContact {
            id: id.clone(),
            phone: format!("+{digits}"),
            name: sval(user.get("name")),
            last_name: sval(user.get("last_name")),
        });
        Some(id)
    }

    fn m_status(&mut self, p: &Value, target: &str) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if c.is_empty() || l.is_empty() {
            return Err(ApiErr::arg("CONNECTOR and LINE are required"));
        }
        let Some(items) = as_list(param(p, "MESSAGES")) else {
            return Err(ApiErr::arg("MESSAGES must be an array"));
        };
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item = lc_keys(item);
            let im = item.get("im").cloned().unwrap_or(json!({}));
            let chat_id = sval(im.get("chat_id"));
            let msg_id = sval(im.get("message_id"));
            let ids = match item.get("message").and_then(|m| m.get("id")) {
                Some(v @ Value::Array(_)) | Some(v @ Value::Object(_)) => as_list(Some(v)),
                _ => None,
            };
            let Some(ids) = ids.filter(|l| !l.is_empty()) else {
                errors.push(json!(format!(
                    "MESSAGES[{i}][message][id] must be a non-empty array"
                )));
                continue;
            };
            if chat_id.is_empty() || msg_id.is_empty() {
                errors.push(json!(format!(
                    "MESSAGES[{i}][im] must have chat_id and message_id"
                )));
                continue;
            }
            let Some(m) = self
                .operator
                .iter_mut()
                .find(|m| m.im_message_id == msg_id && m.im_chat_id == chat_id)
            else {
                continue;
            };
            for id in ids {
                let id = sval(Some(&id));
                if !id.is_empty() && !m.external_ids.contains(&id) {
                    m.external_ids.push(id);
                }
            }
            let rank = |s: &str| match s {
                "sending" => 0,
                "delivered" => 1,
                _ => 2,
            };
            if rank(target) > rank(&m.state) {
                m.state = target.to_string();
                m.history.push(target.to_string());
            }
        }
        if errors.is_empty() {
            Ok(json!({"SUCCESS": true, "DATA": []}))
        } else {
            Ok(json!({"SUCCESS": false, "DATA": [], "ERRORS": errors}))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum MsgOp {
    Send,
    Update,
    Delete,
}

// ---------------------------------------------------------------------------------------------
// HTTP handlers
// ---------------------------------------------------------------------------------------------

fn err_response(e: &ApiErr) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(e.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(e.json())
}

/// The portal's original REST base: once moved, a 302 to the new base (method kept).
async fn old_rest_handler(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: web::Data<Mutex<State>>,
) -> HttpResponse {
    let moved = {
        let st = lock(&data);
        st.moved
            .then(|| format!("{}/moved/rest/{}", st.base, path.as_str()))
    };
    match moved {
        Some(location) => {
            let q = req.query_string();
            let location = if q.is_empty() {
                location
            } else {
                format!("{location}?{q}")
            };
            lock(&data).record(
                &format!("redirect:{}", path.as_str()),
                &Value::Null,
                302,
                false,
            );
            HttpResponse::Found()
                .insert_header(("Location", location))
                .finish()
        }
        None => rest_handler(req, path, body, data).await,
    }
}

async fn rest_handler(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: web::Data<Mutex<State>>,
) -> HttpResponse {
    let start = now_f64();
    let latency = lock(&data).cfg.latency;
    if !latency.is_zero() {
        actix_web::rt::time::sleep(latency).await;
    }
    let method = normalize_method(&path.into_inner());
    let params = match parse_params(&req, &body) {
        Ok(p) => p,
        Err(e) => {
            let raw = json!(String::from_utf8_lossy(&body));
            lock(&data).record(&method, &raw, e.status, false);
            return err_response(&e);
        }
    };
    let token = param(&params, "auth").map(|v| sval(Some(v)));
    let fault = {
        let mut st = lock(&data);
        if st.down {
            Some(BitrixFault::ServerError)
        } else {
            st.take_fault(&method, true)
        }
    };
    let fault_err = match fault {
        None => None,
        Some(BitrixFault::Timeout(d)) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Some(BitrixFault::ServerError) => Some(ApiErr::new(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        )),
        Some(BitrixFault::QueryLimit) => Some(ApiErr::new(
            503,
            "QUERY_LIMIT_EXCEEDED",
            "Too many requests",
        )),
        Some(BitrixFault::ExpiredToken) => Some(ApiErr::new(
            401,
            "expired_token",
            "The access token provided has expired.",
        )),
    };
    if let Some(e) = fault_err {
        lock(&data).record(&method, &params, e.status, false);
        return err_response(&e);
    }
    let res = {
        let mut st = lock(&data);
        let res = st.handle_rest(&method, &params, token.as_deref());
        let status = res.as_ref().map(|_| 200).unwrap_or_else(|e| e.status);
        st.record(&method, &params, status, false);
        res
    };
    match res {
        Ok(v) => HttpResponse::Ok().json(json!({"result": v, "time": time_json(start)})),
        Err(e) => err_response(&e),
    }
}

async fn oauth_handler(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut params = php_form_to_value(req.query_string().as_bytes());
    if let (Value::Object(m), Value::Object(b)) = (&mut params, php_form_to_value(&body)) {
        m.extend(b);
    }
    let (fault, delay) = {
        let mut st = lock(&data);
        (st.take_fault("oauth.token", false), st.cfg.refresh_delay)
    };
    let oauth_err =
        |status: u16, e: &str, d: &str| (status, json!({"error": e, "error_description": d}));
    let fault_res = match fault {
        Some(BitrixFault::Timeout(d)) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Some(BitrixFault::ServerError) => Some(oauth_err(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        )),
        Some(BitrixFault::QueryLimit) => {
            Some(oauth_err(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"))
        }
        Some(BitrixFault::ExpiredToken) => Some(oauth_err(400, "invalid_grant", "Invalid grant")),
        None => None,
    };
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    let (status, body) = match fault_res {
        Some(r) => r,
        None => {
            let mut st = lock(&data);
            let get = |k: &str| sval(params.get(k));
            if get("grant_type") != "refresh_token" {
                oauth_err(
                    400,
                    "unsupported_grant_type",
                    "Only refresh_token is supported by the simulator",
                )
            } else if get("client_id") != st.cfg.client_id
                || get("client_secret") != st.cfg.client_secret
            {
                oauth_err(400, "invalid_client", "Invalid client credentials")
            } else if st.refresh_token.is_empty() || get("refresh_token") != st.refresh_token {
                oauth_err(
                    400,
                    "invalid_grant",
                    "The refresh token provided is invalid or expired.",
                )
            } else {
                st.access_token = random_hex(16);
                st.refresh_token = random_hex(16);
                let at = st.access_token.clone();
                st.valid_access.insert(at);
                st.refresh_count += 1;
                (
                    200,
                    json!({
                        "access_token": st.access_token,
                        "client_endpoint": st.client_endpoint(),
                        "domain": st.host,
                        "expires": unix_now() + 3600,
                        "expires_in": 3600,
                        "member_id": st.cfg.member_id,
                        "refresh_token": st.refresh_token,
                        "scope": st.cfg.scope,
                        "server_endpoint": st.server_endpoint(),
                        "status": st.cfg.app_status,
                        "user_id": 1
                    }),
                )
            }
        }
    };
    lock(&data).record("oauth.token", &params, status, false);
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(body)
}

async fn file_handler(path: web::Path<String>, data: web::Data<Mutex<State>>) -> HttpResponse {
    let id = path.into_inner();
    let file = lock(&data).files.get(&id).cloned();
    match file {
        Some((name, mime, bytes)) => HttpResponse::Ok()
            .content_type(mime)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ))
            .body(bytes),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "NOT_FOUND", "error_description": "Not found"}))
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub struct BitrixSim {
    state: Arc<Mutex<State>>,
    base: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl BitrixSim {
    /// Start on 127.0.0.1:<random port>. Must run inside an actix System. Panics when it cannot
    /// listen (tests); [`BitrixSim::try_start`] reports that instead.
    pub async fn start(cfg: BitrixSimConfig) -> Self {
        match Self::try_start(cfg).await {
            Ok(sim) => sim,
            Err(e) => panic!("bitrix sim: cannot listen on 127.0.0.1: {e}"),
        }
    }

    /// Start on 127.0.0.1:<random port>. Must run inside an actix System.
    pub async fn try_start(cfg: BitrixSimConfig) -> std::io::Result<Self> {
        let (listener, port) = super::bind_loopback()?;
        let host = format!("127.0.0.1:{port}");
        let base = format!("http://{host}");
        let state = Arc::new(Mutex::new(State::new(cfg, base.clone(), host)));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .route("/rest/{method}", web::route().to(old_rest_handler))
                .route("/moved/rest/{method}", web::route().to(rest_handler))
                .route("/oauth-server/oauth/token/", web::route().to(oauth_handler))
                .route("/oauth-server/oauth/token", web::route().to(oauth_handler))
                .route("/~{id}", web::get().to(file_handler))
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
            state,
            base,
            client: test_client(),
            handle,
        })
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// "http://127.0.0.1:PORT"
    pub fn base_url(&self) -> String {
        self.base.clone()
    }
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
    /// "{base}/oauth-server/oauth/token/"
    pub fn oauth_token_url(&self) -> String {
        format!("{}/oauth-server/oauth/token/", self.base)
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

    // ----- tokens -----

    /// The portal moves to a new address: the old REST base answers 302 to the new one.
    pub fn move_portal(&self) {
        self.st().moved = true;
    }
    /// Current valid (access, refresh) pair.
    pub fn tokens(&self) -> (String, String) {
        let st = self.st();
        (st.access_token.clone(), st.refresh_token.clone())
    }
    /// Every access token issued so far now answers 401 expired_token (the refresh token stays valid).
    pub fn expire_access_token(&self) {
        let mut st = self.st();
        let valid: Vec<String> = st.valid_access.drain().collect();
        st.expired_access.extend(valid);
    }
    /// Kill the refresh token (next refresh → invalid_grant).
    pub fn revoke_refresh_token(&self) {
        self.st().refresh_token.clear();
    }
    pub fn refresh_count(&self) -> usize {
        self.st().refresh_count
    }

    // ----- inspection -----

    pub fn calls(&self) -> Vec<Call> {
        self.st().calls.clone()
    }
    /// Calls of one method (name compared case-insensitively, `.json` ignored), batch sub-calls included.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let m = normalize_method(method);
        self.st()
            .calls
            .iter()
            .filter(|c| c.method == m)
            .cloned()
            .collect()
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

    // ----- faults -----

    /// The next `times` REST calls matching `method` (None = any REST method; OAuth refreshes only
    /// match `Some("oauth.token")`) get `fault`. Rules are consumed in the order they were added.
    pub fn inject(&self, method: Option<&str>, fault: BitrixFault, times: usize) {
        if times == 0 {
            return;
        }
        self.st().faults.push_back(FaultRule {
            method: method.map(str::to_string),
            fault,
            remaining: times,
        });
    }
    /// Injected faults not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.st().faults.iter().map(|r| r.remaining).sum()
    }
    /// While down, every REST call answers 500 INTERNAL_SERVER_ERROR (recorded, no effect).
    pub fn set_down(&self, down: bool) {
        self.st().down = down;
    }
    pub fn set_rate_limit(&self, limit: Option<(f64, f64)>) {
        let mut st = self.st();
        st.cfg.rate_limit = limit;
        st.bucket_level = 0.0;
    }

    // ----- posting to our app -----

    /// POST a form to `url`; the HTTP status (0 on connection error). No retries.
    pub async fn post_event_raw(&self, url: &str, form: Vec<(String, String)>) -> u16 {
        let status = match self
            .client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "Bitrix24 Webhook Engine")
            .body(form_encode(&form))
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(e) => {
                eprintln!("bitrix sim: POST {url} failed: {e}");
                0
            }
        };
        let event = super::form_get(&form, "event").unwrap_or("").to_string();
        self.st().events.push(EventDelivery {
            event,
            url: url.to_string(),
            form,
            status,
            at_ms: now_ms(),
        });
        status
    }

    /// Form pairs of an event exactly as the portal would send them (current application token,
    /// tokens in auth, no event_handler_id).
    pub fn event_form(&self, event: &str, data: Value) -> Vec<(String, String)> {
        let st = self.st();
        let tok = st.app_token.clone();
        st.event_form(event, None, &data, true, &tok)
    }
    /// Same as `event_form` with another application_token (to test that our app rejects it).
    pub fn event_form_with_token(
        &self,
        event: &str,
        data: Value,
        application_token: &str,
    ) -> Vec<(String, String)> {
        self.st()
            .event_form(event, None, &data, true, application_token)
    }

    async fn deliver(&self, out: Vec<(String, Vec<(String, String)>)>) -> u16 {
        let mut first = 0;
        for (i, (url, form)) in out.into_iter().enumerate() {
            let s = self.post_event_raw(&url, form).await;
            if i == 0 {
                first = s;
            }
        }
        first
    }

    /// POST ONAPPINSTALL (contract §1) to `app_handler_url`; marks the app installed. Returns our status.
    pub async fn install_via_event(&self, app_handler_url: &str) -> u16 {
        let form = {
            let mut st = self.st();
            st.installed = true;
            // A reinstall after an uninstall comes with fresh tokens (the old ones are dead).
            if st.refresh_token.is_empty() {
                st.access_token = random_hex(16);
                st.refresh_token = random_hex(16);
                let at = st.access_token.clone();
                st.valid_access.insert(at);
            }
            let mut f = vec![
                ("event".to_string(), "ONAPPINSTALL".to_string()),
                ("data[VERSION]".into(), "1".into()),
                ("data[ACTIVE]".into(), "Y".into()),
                ("data[INSTALLED]".into(), "Y".into()),
                ("data[LANGUAGE_ID]".into(), st.cfg.language.clone()),
                ("ts".into(), unix_now().to_string()),
            ];
            let auth = json!({
                "domain": st.host,
                "access_token": st.access_token,
                "refresh_token": st.refresh_token,
                "expires_in": "3600",
                "scope": st.cfg.scope,
                "server_endpoint": st.server_endpoint(),
                "status": st.cfg.app_status,
                "client_endpoint": st.client_endpoint(),
                "member_id": st.cfg.member_id,
                "application_token": st.app_token,
            });
            php_form_pairs("auth", &auth, &mut f);
            f
        };
        self.post_event_raw(app_handler_url, form).await
    }

    /// POST the install page form (contract §1) like the portal's iframe does. The app is not
    /// "installed" (no events) until `install_finish()` (what `BX24.installFinish()` does).
    pub async fn install_via_page(&self, app_install_url: &str) -> u16 {
        self.post_page(app_install_url, "DEFAULT", None).await
    }

    /// POST the SETTING_CONNECTOR placement (contract §5) for `line` to `placement_url`.
    pub async fn open_connector_settings(
        &self,
        placement_url: &str,
        connector: &str,
        line: &str,
    ) -> u16 {
        let opts = json!({"CONNECTOR": connector, "LINE": line, "STATUS": self.connector_active(line),
            "ACTIVE_STATUS": true, "CONNECTION_STATUS": false, "REGISTER_STATUS": false, "ERROR_STATUS": false});
        self.post_page(placement_url, "SETTING_CONNECTOR", Some(opts.to_string()))
            .await
    }

    /// Like `open_connector_settings`, returning the page too: (status, HTML).
    pub async fn open_connector_settings_page(
        &self,
        placement_url: &str,
        connector: &str,
        line: &str,
    ) -> (u16, String) {
        let opts = json!({"CONNECTOR": connector, "LINE": line, "STATUS": self.connector_active(line),
            "ACTIVE_STATUS": true, "CONNECTION_STATUS": false, "REGISTER_STATUS": false, "ERROR_STATUS": false});
        self.post_page_full(placement_url, "SETTING_CONNECTOR", Some(opts.to_string()))
            .await
    }

    async fn post_page(&self, url: &str, placement: &str, options: Option<String>) -> u16 {
        self.post_page_full(url, placement, options).await.0
    }

    async fn post_page_full(
        &self,
        url: &str,
        placement: &str,
        options: Option<String>,
    ) -> (u16, String) {
        let (query, mut form) = {
            let st = self.st();
            let query = form_encode(&[
                ("DOMAIN".into(), st.host.clone()),
                ("PROTOCOL".into(), "0".into()),
                ("LANG".into(), st.cfg.language.clone()),
                ("APP_SID".into(), random_hex(16)),
            ]);
            let form: Vec<(String, String)> = vec![
                ("AUTH_ID".into(), st.access_token.clone()),
                ("AUTH_EXPIRES".into(), "3600".into()),
                ("REFRESH_ID".into(), st.refresh_token.clone()),
                ("SERVER_ENDPOINT".into(), st.server_endpoint()),
                ("APPLICATION_TOKEN".into(), st.app_token.clone()),
                ("APPLICATION_SCOPE".into(), st.cfg.scope.clone()),
                ("member_id".into(), st.cfg.member_id.clone()),
                ("status".into(), st.cfg.app_status.clone()),
                ("PLACEMENT".into(), placement.into()),
            ];
            (query, form)
        };
        if let Some(o) = options {
            form.push(("PLACEMENT_OPTIONS".into(), o));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}{query}");
        match self
            .client
            .post(&full)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "Bitrix24 Webhook Engine")
            .body(form_encode(&form))
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => {
                eprintln!("bitrix sim: POST {full} failed: {e}");
                (0, String::new())
            }
        }
    }

    /// What `BX24.installFinish()` does: the app counts as installed (events are delivered).
    pub fn install_finish(&self) {
        self.st().installed = true;
    }

    /// `app.info` answers `INSTALLED: v` whatever the install state (`None`: the real state),
    /// e.g. `Some(false)` for an install the portal has not finished.
    pub fn set_app_info_installed(&self, v: Option<bool>) {
        self.st().app_info_installed = v;
    }

    // ----- operator hooks -----

    /// The operator writes `text` in the Open Lines chat of our chat id `our_chat_id` on `line`:
    /// creates an operator message ("sending") and POSTs ONIMCONNECTORMESSAGEADD to the bound handler(s).
    /// Panics if no conversation exists for (line, our_chat_id).
    pub async fn operator_write(&self, line: &str, our_chat_id: &str, text: &str) -> OperatorMsg {
        self.operator_write_files(line, our_chat_id, text, Vec::new())
            .await
    }

    /// Like `operator_write` with one attached file, served by the sim at a public link
    /// (`{base}/~<id>`, no auth) given in `message[files][0][link]`.
    pub async fn operator_write_file(
        &self,
        line: &str,
        our_chat_id: &str,
        text: &str,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> OperatorMsg {
        self.operator_write_files(
            line,
            our_chat_id,
            text,
            vec![(name.into(), mime.into(), bytes)],
        )
        .await
    }

    pub async fn operator_write_files(
        &self,
        line: &str,
        our_chat_id: &str,
        text: &str,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> OperatorMsg {
        let (im_chat_id, im_message_id, out) = {
            let mut st = self.st();
            let conv = st
                .conversations
                .iter()
                .rev()
                .find(|c| c.line == line && c.chat_id == our_chat_id)
                .cloned()
                .unwrap_or_else(|| {
                    panic!("bitrix sim: no conversation for line {line} chat {our_chat_id}")
                });
            let im_message_id = st.next(86000);
            let text = st.signed_text(&conv.connector, text);
            let mut file_items = Vec::new();
            for (name, mime, bytes) in files {
                let id = random_hex(6);
                let size = bytes.len();
                file_items.push(json!({
                    "name": name, "type": file_type(&mime),
                    "link": format!("{}/~{id}", st.base), "size": size.to_string()
                }));
                st.files.insert(id, (name, mime, bytes));
            }
            let order = st.next_order();
            st.operator.push(OperatorMessage {
                connector: conv.connector.clone(),
                line: line.into(),
                our_chat_id: our_chat_id.into(),
                im_chat_id: conv.b24_chat_id.clone(),
                im_message_id: im_message_id.clone(),
                text: text.clone(),
                state: "sending".into(),
                history: vec!["sending".into()],
                external_ids: Vec::new(),
                deleted: false,
                order,
            });
            let data = json!({
                "CONNECTOR": conv.connector, "LINE": line,
                "MESSAGES": [{
                    "im": {"chat_id": conv.b24_chat_id, "message_id": im_message_id},
                    "message": {"user_id": st.cfg.operator_user_id, "text": text, "files": file_items},
                    "chat": {"id": our_chat_id}
                }]
            });
            let out = st.outgoing("ONIMCONNECTORMESSAGEADD", &data, true);
            (conv.b24_chat_id, im_message_id, out)
        };
        let http_status = self.deliver(out).await;
        OperatorMsg {
            im_chat_id,
            im_message_id,
            http_status,
        }
    }

    /// The operator edits a message. Only messages confirmed by send.status.delivery (our ids
    /// recorded) produce ONIMCONNECTORMESSAGEUPDATE; otherwise nothing is sent and 0 is returned.
    pub async fn operator_edit(&self, im_message_id: &str, new_text: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let Some(idx) = st
                .operator
                .iter()
                .position(|m| m.im_message_id == im_message_id)
            else {
                panic!("bitrix sim: unknown operator message {im_message_id}");
            };
            let m = st.operator[idx].clone();
            if m.external_ids.is_empty() || m.deleted {
                eprintln!("bitrix sim: operator message {im_message_id} not confirmed/deleted: no edit event");
                return 0;
            }
            let text = st.signed_text(&m.connector, new_text);
            st.operator[idx].text = text.clone();
            let data = json!({
                "CONNECTOR": m.connector, "LINE": m.line,
                "MESSAGES": [{
                    "im": {"chat_id": m.im_chat_id, "message_id": m.im_message_id},
                    "message": {"id": m.external_ids, "text": text},
                    "chat": {"id": m.our_chat_id}
                }]
            });
            st.outgoing("ONIMCONNECTORMESSAGEUPDATE", &data, true)
        };
        self.deliver(out).await
    }

    /// The operator deletes a confirmed message: ONIMCONNECTORMESSAGEDELETE with one item per our id.
    /// Returns 0 (nothing sent) for unconfirmed messages.
    pub async fn operator_delete(&self, im_message_id: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let Some(idx) = st
                .operator
                .iter()
                .position(|m| m.im_message_id == im_message_id)
            else {
                panic!("bitrix sim: unknown operator message {im_message_id}");
            };
            let m = st.operator[idx].clone();
            if m.external_ids.is_empty() || m.deleted {
                eprintln!("bitrix sim: operator message {im_message_id} not confirmed/deleted: no delete event");
                return 0;
            }
            st.operator[idx].deleted = true;
            let items: Vec<Value> = m
                .external_ids
                .iter()
                .map(|id| {
                    json!({
                        "im": {"chat_id": m.im_chat_id, "message_id": m.im_message_id},
                        "message": {"id": id},
                        "chat": {"id": m.our_chat_id}
                    })
                })
                .collect();
            let data = json!({"CONNECTOR": m.connector, "LINE": m.line, "MESSAGES": items});
            st.outgoing("ONIMCONNECTORMESSAGEDELETE", &data, true)
        };
        self.deliver(out).await
    }

    /// The admin switches our connector off on `line`: deactivates it and POSTs
    /// ONIMCONNECTORSTATUSDELETE (data[connector], data[line]).
    pub async fn switch_connector_off(&self, line: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let conns: Vec<String> = st
                .active
                .iter()
                .filter(|(_, l)| l == line)
                .map(|(c, _)| c.clone())
                .collect();
            let mut out = Vec::new();
            for c in conns {
                st.active.remove(&(c.clone(), line.to_string()));
                out.extend(st.outgoing(
                    "ONIMCONNECTORSTATUSDELETE",
                    &json!({"connector": c, "line": line}),
                    true,
                ));
            }
            out
        };
        self.deliver(out).await
    }

    /// The admin deletes the open line: POSTs ONIMCONNECTORLINEDELETE (data=<line>).
    pub async fn delete_line(&self, line: &str) -> u16 {
        let out = {
            let mut st = self.st();
            if let Ok(l) = line.parse::<u64>() {
                st.lines.remove(&l);
            }
            st.active.retain(|(_, l)| l != line);
            st.outgoing("ONIMCONNECTORLINEDELETE", &json!(line), true)
        };
        self.deliver(out).await
    }

    /// The admin uninstalls the app (CLEAN=1): Bitrix24 drops our connectors, bindings and tokens and
    /// POSTs ONAPPUNINSTALL (auth without tokens).
    pub async fn uninstall(&self) -> u16 {
        self.uninstall_with(true).await
    }

    pub async fn uninstall_with(&self, clean: bool) -> u16 {
        let out = {
            let mut st = self.st();
            let data =
                json!({"LANGUAGE_ID": st.cfg.language, "CLEAN": if clean { "1" } else { "0" }});
            let out = st.outgoing("ONAPPUNINSTALL", &data, false);
            st.installed = false;
            st.bindings.clear();
            st.connectors.clear();
            st.active.clear();
            st.connector_data.clear();
            st.valid_access.clear();
            st.refresh_token.clear();
            out
        };
        self.deliver(out).await
    }

    /// The app is updated: a new application_token; ONAPPUPDATE (with full tokens and the new
    /// application_token) is POSTed to the handler bound for it. Bindings are kept.
    pub async fn update_app(&self) -> u16 {
        let out = {
            let mut st = self.st();
            st.app_token = random_hex(16);
            let data = json!({"VERSION": "2", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": st.cfg.language});
            st.outgoing("ONAPPUPDATE", &data, true)
        };
        self.deliver(out).await
    }

    /// URL(s) bound for `event` (any case).
    pub fn handlers_for(&self, event: &str) -> Vec<String> {
        self.st()
            .handlers(event)
            .into_iter()
            .map(|b| b.handler)
            .collect()
    }
}
