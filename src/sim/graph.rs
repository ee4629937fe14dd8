//! WhatsApp Cloud API (Graph API) simulator: sends, mark-as-read, media, and signed webhooks
//! (statuses after each send, inbound messages on demand). Contract: /work/shared/contracts/whatsapp.md §A.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{dev::ServerHandle, web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{random_hex, test_client, unix_now};

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

struct State {
    cfg: GraphSimConfig,
    base: String,
    numbers: HashMap<String, Number>,
    webhook_url: Option<String>,
    calls: Vec<GraphCall>,
    sent: Vec<SentMsg>,
    reads: Vec<(String, String)>,
    deliveries: Vec<WebhookDelivery>,
    faults: VecDeque<(GraphFault, usize)>,
    down: bool,
    media: HashMap<String, Media>,
    seq: u64,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn take_fault(&mut self) -> Option<GraphFault> {
        let (f, n) = self.faults.front_mut()?;
        let f = f.clone();
        *n -= 1;
        if *n == 0 {
            self.faults.pop_front();
        }
        Some(f)
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
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and bodies
// ---------------------------------------------------------------------------------------------

type Reply = (u16, Value);

fn gerr(status: u16, code: u32, kind: &str, msg: &str, subcode: Option<u32>) -> Reply {
    let mut e = json!({"message": msg, "type": kind, "code": code, "fbtrace_id": format!("A{}", random_hex(10))});
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    if code >= 130000 {
        e["error_data"] = json!({"messaging_product": "whatsapp", "details": msg});
    }
    (status, json!({ "error": e }))
}

fn param_err(msg: &str) -> Reply {
    gerr(400, 100, "OAuthException", msg, None)
}

fn token_err() -> Reply {
    gerr(
        401,
        190,
        "OAuthException",
        "Error validating access token: The session is invalid because the user logged out or the token is invalid.",
        None,
    )
}

fn expired_err() -> Reply {
    gerr(
        401,
        190,
        "OAuthException",
        "Error validating access token: Session has expired on Friday, 26-Apr-24 06:00:00 PDT. The current time is Sunday, 28-Apr-24 03:40:10 PDT.",
        Some(463),
    )
}

fn fault_reply(f: &GraphFault) -> Option<Reply> {
    match f {
        GraphFault::ServerError => Some(gerr(
            500,
            131000,
            "OAuthException",
            "Something went wrong",
            None,
        )),
        GraphFault::Throughput => Some(gerr(
            400,
            130429,
            "OAuthException",
            "Rate limit hit: Cloud API message throughput has been reached.",
            None,
        )),
        GraphFault::ExpiredToken => Some(expired_err()),
        GraphFault::Timeout(_) => None,
    }
}

fn respond((status, body): Reply) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(body)
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let t = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn envelope(waba: &str, pnid: &str, display: &str, value_extra: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": pnid}
    });
    if let (Value::Object(v), Value::Object(extra)) = (&mut value, value_extra) {
        v.extend(extra);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"value": value, "field": "messages"}]}]
    })
}

fn status_value(wamid: &str, status: &str, recipient: &str, ts: i64) -> Value {
    let mut s = json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": recipient});
    if status == "failed" {
        s["errors"] = json!([{
            "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
        }]);
    } else {
        s["conversation"] =
            json!({"id": format!("{:x}", md5ish(recipient)), "origin": {"type": "service"}});
        s["pricing"] = json!({"billable": true, "pricing_model": "CBP", "category": "service"});
    }
    s
}

fn md5ish(s: &str) -> u128 {
    let h = Sha256::digest(s.as_bytes());
    u128::from_be_bytes(h[..16].try_into().unwrap_or([0; 16]))
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

type Data = web::Data<Mutex<State>>;

/// Like `pre_checks`, but a `Timeout` fault takes effect first and only the answer is late
/// (the dangerous case for a client: accepted, yet it sees a timeout). Returns the delay.
fn pre_checks_effect_first(data: &Data) -> Result<Option<Duration>, Reply> {
    let mut st = lock(data);
    if st.down {
        return Err(gerr(
            503,
            131016,
            "OAuthException",
            "Service unavailable",
            None,
        ));
    }
    match st.take_fault() {
        Some(GraphFault::Timeout(d)) => Ok(Some(d)),
        Some(f) => fault_reply(&f).map_or(Ok(None), Err),
        None => Ok(None),
    }
}

async fn pre_checks(data: &Data) -> Option<Reply> {
    let fault = {
        let mut st = lock(data);
        if st.down {
            return Some(gerr(
                503,
                131016,
                "OAuthException",
                "Service unavailable",
                None,
            ));
        }
        st.take_fault()
    };
    match fault {
        Some(GraphFault::Timeout(d)) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Some(f) => fault_reply(&f),
        None => None,
    }
}

async fn messages_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    data: Data,
    client: web::Data<reqwest::Client>,
) -> HttpResponse {
    let (_version, pnid) = path.into_inner();
    let json_body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}));
    let rpath = req.path().to_string();
    let late = match pre_checks_effect_first(&data) {
        Ok(late) => late,
        Err(r) => {
            lock(&data).record("POST", &rpath, Some(&pnid), json_body, r.0);
            return respond(r);
        }
    };
    let token = bearer(&req);
    // The lock is released before any await (a late answer sleeps below).
    let reply = {
        let mut st = lock(&data);
        let reply = send_logic(&mut st, &pnid, token.as_deref(), &json_body);
        st.record("POST", &rpath, Some(&pnid), json_body.clone(), reply.0);
        // automatic statuses for an accepted send
        if reply.0 == 200 && json_body.get("status").is_none() {
            if let Some(sent) = st.sent.last().cloned() {
                let statuses = st.cfg.auto_statuses.clone();
                if !statuses.is_empty() {
                    let state = data.clone();
                    let client = client.get_ref().clone();
                    actix_web::rt::spawn(async move {
                        for s in statuses {
                            let (delay, waba, display) = {
                                let st = lock(&state);
                                let display = st
                                    .numbers
                                    .get(&sent.phone_number_id)
                                    .map(|n| n.display_phone.clone())
                                    .unwrap_or_default();
                                (st.cfg.status_delay, st.cfg.waba_id.clone(), display)
                            };
                            actix_web::rt::time::sleep(delay).await;
                            let body = envelope(
                                &waba,
                                &sent.phone_number_id,
                                &display,
                                json!({"statuses": [status_value(&sent.wamid, s, &digits(&sent.to), unix_now())]}),
                            );
                            deliver(
                                &state,
                                &client,
                                &sent.phone_number_id,
                                body,
                                "status",
                                Some((&sent.wamid, s)),
                                true,
                            )
                            .await;
                        }
                    });
                }
            }
        }
        reply
    };
    if let Some(d) = late {
        actix_web::rt::time::sleep(d).await;
    }
    respond(reply)
}

fn send_logic(st: &mut State, pnid: &str, token: Option<&str>, body: &Value) -> Reply {
    let Some(num) = st.numbers.get(pnid).cloned() else {
        if token.is_none() {
            return token_err();
        }
        return gerr(
            400,
            100,
            "GraphMethodException",
            &format!("Unsupported post request. Object with ID '{pnid}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            Some(33),
        );
    };
    if token != Some(num.access_token.as_str()) {
        return token_err();
    }
    if !body.is_object() {
        return param_err("(#100) Invalid parameter");
    }
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return param_err("(#100) The parameter messaging_product is required.");
    }
    if let Some(status) = body.get("status") {
        let mid = body.get("message_id").and_then(Value::as_str).unwrap_or("");
        if status.as_str() != Some("read") || mid.is_empty() {
            return param_err("(#100) Invalid parameter");
        }
        st.reads.push((pnid.to_string(), mid.to_string()));
        return (200, json!({"success": true}));
    }
    let to = body.get("to").and_then(Value::as_str).unwrap_or("");
    let to_digits = digits(to);
    if to_digits.is_empty() || to.trim_start_matches('+').len() != to_digits.len() {
        return param_err("(#100) The parameter to is required.");
    }
    if let Some(rt) = body.get("recipient_type") {
        if rt.as_str() != Some("individual") && rt.as_str() != Some("group") {
            return param_err("(#100) Param recipient_type must be one of {INDIVIDUAL, GROUP}");
        }
    }
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text")
        .to_string();
    let obj = body.get(&kind);
    let text = match kind.as_str() {
        "text" => {
            let Some(b) = obj.and_then(|o| o.get("body")).and_then(Value::as_str) else {
                return param_err("(#100) The parameter text['body'] is required.");
            };
            if b.trim().is_empty() {
                return param_err("(#100) Param text['body'] must be a non-empty string.");
            }
            if b.chars().count() > 4096 {
                return param_err(
                    "(#100) Param text['body'] must be at most 4096 characters long.",
                );
            }
            b.to_string()
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let Some(o) = obj.filter(|o| o.is_object()) else {
                return param_err(&format!("(#100) The parameter {kind} is required."));
            };
            let link = o.get("link").and_then(Value::as_str).unwrap_or("");
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            if link.is_empty() == id.is_empty() {
                return param_err(&format!(
                    "(#100) Param {kind} must contain exactly one of link or id."
                ));
            }
            if !id.is_empty() && !st.media.contains_key(id) {
                return param_err(&format!("(#100) Invalid parameter: unknown media id {id}"));
            }
            o.get("caption")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
        "template" | "interactive" | "reaction" | "location" | "contacts" => {
            if obj.is_none() {
                return param_err(&format!("(#100) The parameter {kind} is required."));
            }
            String::new()
        }
        _ => return param_err("(#100) Param type is invalid."),
    };
    st.seq += 1;
    let wamid = format!("wamid.SIM{:08}{}", st.seq, random_hex(8).to_uppercase());
    let reply_to = body
        .get("context")
        .and_then(|c| c.get("message_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    st.sent.push(SentMsg {
        phone_number_id: pnid.to_string(),
        to: to.to_string(),
        kind,
        text,
        wamid: wamid.clone(),
        reply_to,
        json: body.clone(),
    });
    (
        200,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to_digits}],
            "messages": [{"id": wamid}]
        }),
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `file` part of a multipart body: (mime, bytes).
fn multipart_file(content_type: &str, body: &[u8]) -> Option<(String, Vec<u8>)> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut rest = body;
    let mut segments = Vec::new();
    while let Some(i) = find(rest, delim.as_bytes()) {
        if i > 0 {
            segments.push(&rest[..i]);
        }
        rest = &rest[i + delim.len()..];
    }
    for seg in segments {
        let seg = seg.strip_prefix(b"\r\n").unwrap_or(seg);
        let seg = seg.strip_suffix(b"\r\n").unwrap_or(seg);
        let Some(h) = find(seg, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&seg[..h]).to_string();
        if !headers.to_ascii_lowercase().contains("name=\"file\"") {
            continue;
        }
        let mime = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        return Some((mime, seg[h + 4..].to_vec()));
    }
    None
}

async fn upload_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    data: Data,
) -> HttpResponse {
    let (_version, pnid) = path.into_inner();
    let rpath = req.path().to_string();
    if let Some(r) = pre_checks(&data).await {
        lock(&data).record("POST", &rpath, Some(&pnid), Value::Null, r.0);
        return respond(r);
    }
    let token = bearer(&req);
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut st = lock(&data);
    let reply = match st.numbers.get(&pnid) {
        Some(n) if token.as_deref() == Some(n.access_token.as_str()) => {
            match multipart_file(&ct, &body) {
                Some((mime, bytes)) => {
                    st.seq += 1;
                    let id = format!("{}", 900_000_000_000u64 + st.seq);
                    st.media.insert(id.clone(), Media { mime, bytes });
                    (200, json!({ "id": id }))
                }
                None => param_err("(#100) The parameter file is required."),
            }
        }
        Some(_) | None => token_err(),
    };
    st.record("POST", &rpath, Some(&pnid), Value::Null, reply.0);
    drop(st);
    respond(reply)
}

fn token_known(st: &State, token: Option<&str>) -> bool {
    token.is_some_and(|t| st.numbers.values().any(|n| n.access_token == t))
}

async fn media_info_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    data: Data,
) -> HttpResponse {
    let (_version, id) = path.into_inner();
    let rpath = req.path().to_string();
    if let Some(r) = pre_checks(&data).await {
        lock(&data).record("GET", &rpath, None, Value::Null, r.0);
        return respond(r);
    }
    let token = bearer(&req);
    let mut st = lock(&data);
    let reply = if let Some(n) = st.numbers.get(&id) {
        // `GET /{phone_number_id}`: the number itself, for its own token only.
        if token.as_deref() == Some(n.access_token.as_str()) {
            (
                200,
                json!({"display_phone_number": n.display_phone, "verified_name": "Sim Business",
                       "id": id, "quality_rating": "GREEN"}),
            )
        } else {
            token_err()
        }
    } else if !token_known(&st, token.as_deref()) {
        token_err()
    } else if let Some(m) = st.media.get(&id) {
        (
            200,
            json!({
                "messaging_product": "whatsapp",
                "url": format!("{}/media-dl/{id}", st.base),
                "mime_type": m.mime,
                "sha256": hex::encode(Sha256::digest(&m.bytes)),
                "file_size": m.bytes.len(),
                "id": id
            }),
        )
    } else {
        gerr(
            400,
            100,
            "GraphMethodException",
            &format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            Some(33),
        )
    };
    st.record("GET", &rpath, None, Value::Null, reply.0);
    drop(st);
    respond(reply)
}

async fn media_download_handler(
    req: HttpRequest,
    path: web::Path<String>,
    data: Data,
) -> HttpResponse {
    let id = path.into_inner();
    let token = bearer(&req);
    let mut st = lock(&data);
    let rpath = req.path().to_string();
    let resp = if !token_known(&st, token.as_deref()) {
        st.record("GET", &rpath, None, Value::Null, 401);
        return respond(token_err());
    } else {
        st.media.get(&id).cloned()
    };
    match resp {
        Some(m) => {
            st.record("GET", &rpath, None, Value::Null, 200);
            HttpResponse::Ok().content_type(m.mime).body(m.bytes)
        }
        None => {
            st.record("GET", &rpath, None, Value::Null, 404);
            HttpResponse::NotFound().finish()
        }
    }
}

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

/// POST `body` signed with the number's app secret to the webhook URL, with Meta-like retries when
/// `retry`. Records every attempt. Returns the last status (0 = not delivered / no webhook URL).
async fn deliver(
    state: &Data,
    client: &reqwest::Client,
    pnid: &str,
    body: Value,
    kind: &str,
    status_of: Option<(&str, &str)>,
    retry: bool,
) -> u16 {
    let (url, secret, retries, backoff) = {
        let st = lock(state);
        let Some(url) = st.webhook_url.clone() else {
            return 0;
        };
        let secret = st
            .numbers
            .get(pnid)
            .map(|n| n.app_secret.clone())
            .unwrap_or_default();
        (url, secret, st.cfg.webhook_retries, st.cfg.retry_backoff)
    };
    let raw = serde_json::to_vec(&body).unwrap_or_default();
    let sig = GraphSim::sign(&secret, &raw);
    let attempts = if retry { 1 + retries } else { 1 };
    let mut status = 0;
    for attempt in 1..=attempts {
        status = match client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", &sig)
            .header("User-Agent", "facebookexternalua")
            .body(raw.clone())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        lock(state).deliveries.push(WebhookDelivery {
            url: url.clone(),
            kind: kind.into(),
            body: body.clone(),
            status,
            attempt: attempt as u32,
            wamid: status_of.map(|(w, _)| w.to_string()),
            status_name: status_of.map(|(_, s)| s.to_string()),
        });
        if status == 200 || attempt == attempts {
            break;
        }
        let factor = 1u32 << (attempt - 1).min(16);
        actix_web::rt::time::sleep(backoff * factor).await;
    }
    status
}

// ---------------------------------------------------------------------------------------------
// The simulator handle
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
pub struct GraphSim {
    state: Arc<Mutex<State>>,
    base: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl GraphSim {
    /// Start on 127.0.0.1:<random port>. Must run inside an actix System. Panics when it cannot
    /// listen (tests); [`GraphSim::try_start`] reports that instead.
    pub async fn start(cfg: GraphSimConfig) -> Self {
        match Self::try_start(cfg).await {
            Ok(sim) => sim,
            Err(e) => panic!("graph sim: cannot listen on 127.0.0.1: {e}"),
        }
    }

    /// Start on 127.0.0.1:<random port>. Must run inside an actix System.
    pub async fn try_start(cfg: GraphSimConfig) -> std::io::Result<Self> {
        let (listener, port) = super::bind_loopback()?;
        let base = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            cfg,
            base: base.clone(),
            numbers: HashMap::new(),
            webhook_url: None,
            calls: Vec::new(),
            sent: Vec::new(),
            reads: Vec::new(),
            deliveries: Vec::new(),
            faults: VecDeque::new(),
            down: false,
            media: HashMap::new(),
            seq: 0,
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            // one client per worker thread (its connections live on this worker's runtime)
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default();
            App::new()
                .app_data(data.clone())
                .app_data(web::Data::new(client))
                .app_data(web::PayloadConfig::new(128 << 20))
                .route("/media-dl/{id}", web::get().to(media_download_handler))
                .route(
                    "/{version}/{pnid}/messages",
                    web::post().to(messages_handler),
                )
                .route("/{version}/{pnid}/media", web::post().to(upload_handler))
                .route("/{version}/{id}", web::get().to(media_info_handler))
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

    /// "http://127.0.0.1:PORT" (Graph base URL; requests go to `{base}/{version}/...`).
    pub fn base_url(&self) -> String {
        self.base.clone()
    }
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
        if times > 0 {
            self.st().faults.push_back((fault, times));
        }
    }
    pub fn pending_faults(&self) -> usize {
        self.st().faults.iter().map(|(_, n)| *n).sum()
    }
    /// While down, every API call answers 503 code 131016.
    pub fn set_down(&self, down: bool) {
        self.st().down = down;
    }

    // ----- webhooks -----

    /// `sha256=<hex HMAC-SHA256(body, app_secret)>`, the X-Hub-Signature-256 header value.
    pub fn sign(app_secret: &str, body: &[u8]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
            return String::new();
        };
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// A fixture-01 shaped inbound text webhook body.
    #[allow(clippy::too_many_arguments)]
    pub fn inbound_text_body(
        phone_number_id: &str,
        display_phone: &str,
        from_wa_id: &str,
        name: &str,
        wamid: &str,
        text: &str,
        ts: i64,
    ) -> Vec<u8> {
        Self::inbound_body(
            phone_number_id,
            display_phone,
            from_wa_id,
            name,
            json!({"from": from_wa_id, "id": wamid, "timestamp": ts.to_string(), "text": {"body": text}, "type": "text"}),
        )
    }

    /// An inbound webhook body carrying one arbitrary `message` object (from, id, timestamp, type, ...).
    pub fn inbound_body(
        phone_number_id: &str,
        display_phone: &str,
        from_wa_id: &str,
        name: &str,
        message: Value,
    ) -> Vec<u8> {
        let body = envelope(
            "102290129340398",
            phone_number_id,
            display_phone,
            json!({
                "contacts": [{"profile": {"name": name}, "wa_id": from_wa_id}],
                "messages": [message]
            }),
        );
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// A status webhook body (fixture 05-08 shape) for `wamid`.
    pub fn status_body(
        phone_number_id: &str,
        display_phone: &str,
        wamid: &str,
        status: &str,
        recipient_id: &str,
        ts: i64,
    ) -> Vec<u8> {
        let body = envelope(
            "102290129340398",
            phone_number_id,
            display_phone,
            json!({"statuses": [status_value(wamid, status, recipient_id, ts)]}),
        );
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// Sign `body` with the number's app secret and POST it once to the webhook URL. Returns our status.
    pub async fn post_signed(&self, phone_number_id: &str, body: Vec<u8>) -> u16 {
        let (url, secret) = {
            let st = self.st();
            let url = st
                .webhook_url
                .clone()
                .expect("graph sim: set_webhook_url first");
            let secret = st
                .numbers
                .get(phone_number_id)
                .expect("graph sim: unknown phone_number_id (add_number first)")
                .app_secret
                .clone();
            (url, secret)
        };
        let sig = Self::sign(&secret, &body);
        let status = match self
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", &sig)
            .header("User-Agent", "facebookexternalua")
            .body(body.clone())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        let json_body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.st().deliveries.push(WebhookDelivery {
            url,
            kind: "inbound".into(),
            body: json_body,
            status,
            attempt: 1,
            wamid: None,
            status_name: None,
        });
        status
    }

    /// POST a signed status webhook for a message we sent (once, no retries). Returns our status.
    pub async fn push_status(&self, wamid: &str, status: &str) -> u16 {
        let (pnid, to, display) = {
            let st = self.st();
            let m = st
                .sent
                .iter()
                .find(|m| m.wamid == wamid)
                .cloned()
                .expect("graph sim: unknown wamid");
            let display = st
                .numbers
                .get(&m.phone_number_id)
                .map(|n| n.display_phone.clone())
                .unwrap_or_default();
            (m.phone_number_id, m.to, display)
        };
        let body = Self::status_body(&pnid, &display, wamid, status, &digits(&to), unix_now());
        self.post_signed(&pnid, body).await
    }

    /// POST `body` to `url` with an optional X-Hub-Signature-256 value. Returns (status, body text);
    /// status 0 on connection error.
    pub async fn post_raw(url: &str, body: Vec<u8>, signature: Option<String>) -> (u16, String) {
        let mut rb = test_client()
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(s) = signature {
            rb = rb.header("X-Hub-Signature-256", s);
        }
        match rb.send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }

    /// Meta's webhook verification GET. Returns (status, body).
    pub async fn verify_webhook(url: &str, verify_token: &str, challenge: &str) -> (u16, String) {
        let q = super::form_encode(&[
            ("hub.mode".into(), "subscribe".into()),
            ("hub.verify_token".into(), verify_token.into()),
            ("hub.challenge".into(), challenge.into()),
        ]);
        let sep = if url.contains('?') { '&' } else { '?' };
        match test_client().get(format!("{url}{sep}{q}")).send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }
}
