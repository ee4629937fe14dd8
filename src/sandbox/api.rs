//! `/sandbox/api/…`: what the sandbox page calls (mounted by `b24wa sandbox` only; no login,
//! as everything in it is simulated and thrown away).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/state` | phone, operator console, trace and setup in one answer (the page polls it); `?number=cloud` for the Cloud API number, with its window and templates |
//! | GET | `/phone`, `/console`, `/trace` | each part alone |
//! | POST | `/phone/messages` | `{text}`: the customer writes (a signed gateway webhook to the service: GREEN-API's or Evolution API's, see [`super::web_number`]) |
//! | POST | `/phone/voice` | the customer sends the bundled voice note |
//! | POST | `/phone/messages/{id}/delete` | the customer deletes their message for everyone |
//! | POST | `/console/messages` | `{text}`: the operator replies (OnImConnectorMessageAdd) |
//! | POST | `/console/messages/{id}/edit` | `{text}`: the operator edits (OnImConnectorMessageUpdate) |
//! | POST | `/console/messages/{id}/delete` | the operator deletes (OnImConnectorMessageDelete) |
//! | GET | `/voice-sample.ogg` | the bundled voice note |
//! | POST | `/cloud/phone/messages` | `{text}`: the customer writes to the Cloud API number (a signed Cloud API webhook) |
//! | POST | `/cloud/phone/messages/{id}/tap` | `{button}`: the customer taps a template's quick-reply button |
//! | POST | `/cloud/window/age` | makes the customer's last message 25 hours old (see [`super::cloud`]) |
//! | POST | `/cloud/console/messages` | `{text}`: the operator writes in the Cloud API number's chat (`/template …` too) |
//! | POST | `/cloud/console/messages/{id}/edit`, `/delete` | the operator edits or deletes (the Cloud API cannot: a notice) |
//!
//! Errors are the admin API's `{"error":{"code","message"}}`.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    cloud, console, view,
    web_number::{DeleteRefused, WebGateway},
    SandboxState, BUSINESS_PHONE, CUSTOMER_NAME, CUSTOMER_PHONE, LINE, OPERATOR_NAME, VOICE_SAMPLE,
    VOICE_SAMPLE_TEXT,
};
use crate::{
    http::{lang::ReaderLang, route_table, ApiError, AppState, ErrorCode},
    i18n::Lang,
    sim::GraphSim,
    store, tr,
};

/// Longest text the page may send (WhatsApp allows more; a demo needs less).
const MAX_TEXT: usize = 4096;
const TRACE_LIMIT: usize = 40;

type State = web::Data<SandboxState>;

pub fn routes(cfg: &mut web::ServiceConfig, state: State) {
    let scope = route_table!(web::scope("/sandbox/api").app_data(state);
        get "/state" => all,
        get "/phone" => phone,
        get "/console" => console,
        get "/trace" => trace,
        post "/phone/messages" => customer_writes,
        post "/phone/voice" => customer_voice,
        post "/phone/messages/{id}/delete" => customer_deletes,
    );
    let scope = route_table!(operator_routes::<false>(scope, "/console/messages");
        get "/voice-sample.ogg" => voice_sample,
        post "/cloud/phone/messages" => cloud_customer_writes,
        post "/cloud/phone/messages/{id}/tap" => cloud_customer_taps,
        post "/cloud/window/age" => cloud_age_window,
    );
    cfg.service(operator_routes::<true>(scope, "/cloud/console/messages"));
}

/// What the operator does in the chat at `messages` (the Cloud API number's when `CLOUD`):
/// write, edit and delete.
fn operator_routes<const CLOUD: bool>(scope: actix_web::Scope, messages: &str) -> actix_web::Scope {
    scope
        .route(messages, web::post().to(operator_writes::<CLOUD>))
        .route(
            &format!("{messages}/{{id}}/edit"),
            web::post().to(operator_edits::<CLOUD>),
        )
        .route(
            &format!("{messages}/{{id}}/delete"),
            web::post().to(operator_deletes::<CLOUD>),
        )
}

#[derive(Deserialize)]
pub struct TextBody {
    text: String,
}

/// The text of a request: trimmed, not empty, not too long.
fn text_of(body: &TextBody) -> Result<String, ApiError> {
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-sandbox-text-empty")
        }));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-sandbox-text-too-long", max = MAX_TEXT)
        }));
    }
    Ok(text.to_string())
}

fn phone_view(s: &SandboxState, lang: Lang) -> Value {
    let messages = s.web.phone_messages();
    json!({
        "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE},
        "business": {"name": tr!(lang, "sandbox-business-name"), "phone": BUSINESS_PHONE},
        "messages": messages,
    })
}

fn console_view(s: &SandboxState) -> Value {
    console_of(s, LINE, &s.chat_id, &[])
}

/// The operator's chat `chat_id` on `line`; the operator's messages in `failed` (Open Lines ids)
/// were not sent, which the page shows.
fn console_of(s: &SandboxState, line: &str, chat_id: &str, failed: &[String]) -> Value {
    let b = &s.b24;
    let mut messages = console::console_messages(
        line,
        chat_id,
        OPERATOR_NAME,
        &b.customer_messages(),
        &b.operator_messages(),
        &b.system_notices(),
    );
    for m in messages.iter_mut() {
        if m.from == "operator" && failed.contains(&m.id) {
            m.state = Some("failed".into());
        }
    }
    json!({
        "line": line,
        "operator": OPERATOR_NAME,
        "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE},
        "messages": messages,
    })
}

fn trace_view(s: &SandboxState, lang: Lang) -> Value {
    trace_of(s, lang, s.web.whatsapp_hops(lang))
}

/// The trace of a number: its `whatsapp` hops and the portal's, newest first.
fn trace_of(s: &SandboxState, lang: Lang, mut whatsapp: Vec<view::TraceEntry>) -> Value {
    whatsapp.extend(view::b24_hops(lang, &s.b24.calls(), &s.b24.events_sent()));
    json!(view::newest_first(whatsapp, TRACE_LIMIT))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[derive(Deserialize)]
pub struct StateQuery {
    /// `gateway` (the default) or `cloud`.
    number: Option<String>,
}

/// The two numbers, for the page's switch.
fn numbers(s: &SandboxState, lang: Lang) -> Value {
    let web = match s.web.gateway() {
        WebGateway::GreenApi => tr!(lang, "sandbox-transport-gateway"),
        WebGateway::Evolution => tr!(lang, "sandbox-transport-evolution"),
    };
    json!([
        {"key": "gateway", "transport": web, "phone": BUSINESS_PHONE, "line": LINE},
        {"key": "cloud", "transport": tr!(lang, "sandbox-transport-cloud"), "phone": cloud::PHONE, "line": cloud::LINE},
    ])
}

async fn all(
    s: State,
    app: web::Data<AppState>,
    q: web::Query<StateQuery>,
    ReaderLang(lang): ReaderLang,
) -> Result<HttpResponse, ApiError> {
    let setup = json!({
        "transcription": s.transcription,
        "voice_sample_text": VOICE_SAMPLE_TEXT,
        "gateway": match s.web.gateway() {
            WebGateway::GreenApi => "green-api",
            WebGateway::Evolution => "evolution",
        },
    });
    match q.number.as_deref() {
        None | Some("gateway") => Ok(no_store(json!({
            "number": "gateway",
            "numbers": numbers(&s, lang),
            "phone": phone_view(&s, lang),
            "console": console_view(&s),
            "trace": trace_view(&s, lang),
            "window": null,
            "templates": [],
            "setup": setup,
        }))),
        Some("cloud") => {
            let db = &app.ctx.db;
            let number_id = s.cloud_number_id.get().copied().unwrap_or(0);
            let chat = store::chats::find(db, number_id, CUSTOMER_PHONE)
                .await
                .map_err(ApiError::from)?;
            let now = store::now_ms();
            let window = cloud::window_view(
                chat.as_ref().and_then(|c| c.last_inbound_at),
                chat.as_ref().and_then(|c| c.window_closed_at),
                now,
            );
            let failed = match &chat {
                Some(c) => failed_operator_messages(db, c.id).await?,
                None => Vec::new(),
            };
            let templates: Vec<cloud::TemplateView> = store::templates::list(db, number_id)
                .await
                .map_err(ApiError::from)?
                .iter()
                .map(cloud::template_view)
                .collect();
            Ok(no_store(json!({
                "number": "cloud",
                "numbers": numbers(&s, lang),
                "phone": cloud_phone_view(&s, lang),
                "console": console_of(&s, cloud::LINE, &s.cloud_chat_id, &failed),
                "trace": cloud_trace_view(&s, lang),
                "window": window,
                "templates": templates,
                "setup": setup,
            })))
        }
        Some(_) => Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-sandbox-number")
        })),
    }
}

/// The Open Lines ids of the operator's messages in chat `chat_id` that b24wa did not send
/// (held back by the window, or refused).
async fn failed_operator_messages(
    db: &sea_orm::DatabaseConnection,
    chat_id: i64,
) -> Result<Vec<String>, ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let ids: Vec<Option<String>> = entity::messages::Entity::find()
        .select_only()
        .column(entity::messages::Column::B24MessageId)
        .filter(entity::messages::Column::ChatId.eq(chat_id))
        .filter(entity::messages::Column::Direction.eq(store::messages::OUT))
        .filter(entity::messages::Column::Status.eq(store::messages::FAILED))
        .into_tuple()
        .all(db)
        .await
        .map_err(ApiError::from)?;
    Ok(ids.into_iter().flatten().collect())
}

fn cloud_phone_view(s: &SandboxState, lang: Lang) -> Value {
    let g = &s.graph;
    let messages = cloud::phone_messages(
        cloud::PNID,
        CUSTOMER_PHONE,
        &g.webhook_deliveries(),
        &g.sent_messages(),
        &g.reads(),
        &s.time_skips(),
    );
    json!({
        "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE},
        "business": {"name": tr!(lang, "sandbox-business-name"), "phone": cloud::PHONE},
        "messages": messages,
    })
}

fn cloud_trace_view(s: &SandboxState, lang: Lang) -> Value {
    let g = &s.graph;
    let hops = cloud::whatsapp_hops(lang, cloud::PNID, &g.webhook_deliveries(), &g.calls());
    trace_of(s, lang, hops)
}

async fn phone(s: State, ReaderLang(lang): ReaderLang) -> HttpResponse {
    no_store(phone_view(&s, lang))
}

async fn console(s: State) -> HttpResponse {
    no_store(console_view(&s))
}

async fn trace(s: State, ReaderLang(lang): ReaderLang) -> HttpResponse {
    no_store(trace_view(&s, lang))
}

/// What a simulated action led to: the id it made and how the service answered the webhook or
/// event it caused (0 = not delivered).
fn accepted(id: &str, status: u16) -> Result<HttpResponse, ApiError> {
    if status != 200 {
        return Err(ApiError::bad_gateway(ErrorCode::NotAccepted, move |l| {
            tr!(l, "error-sandbox-not-accepted", status = status.to_string())
        }));
    }
    Ok(HttpResponse::Created().json(json!({"id": id, "status": status})))
}

async fn customer_writes(s: State, body: web::Json<TextBody>) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    let (id, status) = s.web.customer_text(&text).await;
    accepted(&id, status)
}

async fn customer_voice(s: State) -> Result<HttpResponse, ApiError> {
    let (id, status) = s.web.customer_voice().await;
    accepted(&id, status)
}

async fn customer_deletes(s: State, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match s.web.customer_delete(&id).await {
        Err(DeleteRefused::NotFound) => Err(ApiError::not_found(ErrorCode::NotFound, |l| {
            tr!(l, "error-sandbox-no-phone-message")
        })),
        Err(DeleteRefused::AlreadyDeleted) => {
            Err(ApiError::conflict(ErrorCode::AlreadyDeleted, |l| {
                tr!(l, "error-sandbox-already-deleted")
            }))
        }
        Ok((del, status)) => accepted(&del, status),
    }
}

/// Which Open Lines chat: the gateway number's or the Cloud API number's.
fn chat_of(s: &SandboxState, cloud: bool) -> (&'static str, &str) {
    if cloud {
        (cloud::LINE, s.cloud_chat_id.as_str())
    } else {
        (LINE, s.chat_id.as_str())
    }
}

/// The operator writes in the Cloud API number's chat (`CLOUD`) or the gateway number's.
async fn operator_writes<const CLOUD: bool>(
    s: State,
    body: web::Json<TextBody>,
) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    let (line, chat_id) = chat_of(&s, CLOUD);
    if !has_chat(&s, line, chat_id) {
        return Err(ApiError::conflict(ErrorCode::NoConversation, |l| {
            tr!(l, "error-sandbox-no-chat")
        }));
    }
    let op = s.b24.operator_write(line, chat_id, &text).await;
    accepted(&op.im_message_id, op.http_status)
}

fn has_chat(s: &SandboxState, line: &str, chat_id: &str) -> bool {
    s.b24
        .conversations()
        .iter()
        .any(|c| c.line == line && c.chat_id == chat_id)
}

/// The operator's message `id`, if it can be edited or deleted (reached WhatsApp, not deleted).
fn operator_message(s: &SandboxState, cloud: bool, id: &str) -> Result<(), ApiError> {
    let (_, chat_id) = chat_of(s, cloud);
    let Some(m) = s
        .b24
        .operator_message(id)
        .filter(|m| m.our_chat_id == chat_id)
    else {
        return Err(ApiError::not_found(ErrorCode::NotFound, |l| {
            tr!(l, "error-sandbox-no-operator-message")
        }));
    };
    if m.deleted {
        return Err(ApiError::conflict(ErrorCode::AlreadyDeleted, |l| {
            tr!(l, "error-sandbox-already-deleted")
        }));
    }
    if m.external_ids.is_empty() {
        return Err(ApiError::conflict(ErrorCode::NotDeliveredYet, |l| {
            tr!(l, "error-sandbox-not-delivered-yet")
        }));
    }
    Ok(())
}

/// The operator edits message `id` in the Cloud API number's chat (`CLOUD`) or the gateway
/// number's.
async fn operator_edits<const CLOUD: bool>(
    s: State,
    id: web::Path<String>,
    body: web::Json<TextBody>,
) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    operator_message(&s, CLOUD, &id)?;
    let status = s.b24.operator_edit(&id, &text).await;
    accepted(&id, status)
}

/// The operator deletes message `id` in the Cloud API number's chat (`CLOUD`) or the gateway
/// number's.
async fn operator_deletes<const CLOUD: bool>(
    s: State,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator_message(&s, CLOUD, &id)?;
    let status = s.b24.operator_delete(&id).await;
    accepted(&id, status)
}

/// A fresh WhatsApp message id for something the customer sends.
fn new_wamid() -> String {
    format!("wamid.SANDBOX{}", crate::sim::random_hex(12).to_uppercase())
}

async fn cloud_customer_writes(
    s: State,
    body: web::Json<TextBody>,
) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    let id = new_wamid();
    let status = cloud_customer_sends(
        &s,
        json!({"from": CUSTOMER_PHONE, "id": id, "timestamp": crate::sim::unix_now().to_string(),
               "text": {"body": text}, "type": "text"}),
    )
    .await;
    accepted(&id, status)
}

/// The customer's `message` (a Cloud API message object) reaches the service in the signed
/// webhook WhatsApp posts: how the service answered it.
async fn cloud_customer_sends(s: &SandboxState, message: Value) -> u16 {
    let webhook = GraphSim::inbound_body(
        cloud::PNID,
        cloud::PHONE,
        CUSTOMER_PHONE,
        CUSTOMER_NAME,
        message,
    );
    s.graph.post_signed(cloud::PNID, webhook).await
}

#[derive(Deserialize)]
pub struct TapBody {
    button: String,
}

/// The customer taps a quick-reply button of the business's template message `id`.
async fn cloud_customer_taps(
    s: State,
    id: web::Path<String>,
    body: web::Json<TapBody>,
) -> Result<HttpResponse, ApiError> {
    let phone = cloud::phone_messages(
        cloud::PNID,
        CUSTOMER_PHONE,
        &[],
        &s.graph.sent_messages(),
        &[],
        &[],
    );
    let Some(m) = phone.iter().find(|m| m.id == *id) else {
        return Err(ApiError::not_found(ErrorCode::NotFound, |l| {
            tr!(l, "error-sandbox-no-business-message")
        }));
    };
    if !m.buttons.contains(&body.button) {
        return Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-sandbox-no-button")
        }));
    }
    let tap = new_wamid();
    let status = cloud_customer_sends(
        &s,
        json!({"context": {"from": cloud::PHONE, "id": m.id}, "from": CUSTOMER_PHONE,
               "id": tap, "timestamp": crate::sim::unix_now().to_string(), "type": "button",
               "button": {"payload": body.button, "text": body.button}}),
    )
    .await;
    accepted(&tap, status)
}

/// "Make the customer's last message 25 hours old": the sandbox cannot wait a day, so the
/// customer's last message moves back where both sides keep it — b24wa's chat (the time its
/// window runs from) and the simulated WhatsApp's record (which refuses free text past 24 h) —
/// and the page draws everything before now that much older.
async fn cloud_age_window(s: State, app: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let db = &app.ctx.db;
    let number_id = s.cloud_number_id.get().copied().unwrap_or(0);
    let chat = store::chats::find(db, number_id, CUSTOMER_PHONE)
        .await
        .map_err(ApiError::from)?;
    let Some((chat, last)) = chat.and_then(|c| c.last_inbound_at.map(|at| (c, at))) else {
        return Err(ApiError::conflict(ErrorCode::NoConversation, |l| {
            tr!(l, "error-sandbox-customer-first")
        }));
    };
    let now = store::now_ms();
    let aged = now - cloud::AGE_MS;
    let shift = last - aged;
    if shift > 0 {
        let id = chat.id;
        let mut row: entity::chats::ActiveModel = chat.into();
        row.last_inbound_at = Set(Some(aged));
        row.update(db).await.map_err(ApiError::from)?;
        s.graph.close_window(cloud::PNID, CUSTOMER_PHONE);
        if let Ok(mut skips) = s.time_skips.lock() {
            skips.push(cloud::TimeSkip {
                at_ms: now,
                shift_ms: shift,
            });
        }
        tracing::info!(
            chat = id,
            "sandbox: the customer's last message is now 25 hours old"
        );
    }
    Ok(HttpResponse::Ok().json(json!({
        "last_customer_message_at": aged.min(last),
        "window": cloud::window_view(Some(aged.min(last)), None, now),
    })))
}

async fn voice_sample() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("audio/ogg")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(VOICE_SAMPLE)
}
