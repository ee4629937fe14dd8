//! `/sandbox/api/…`: what the sandbox page calls (mounted by `b24wa sandbox` only; no login,
//! as everything in it is simulated and thrown away).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/state` | phone, operator console, trace and setup in one answer (the page polls it) |
//! | GET | `/phone`, `/console`, `/trace` | each part alone |
//! | POST | `/phone/messages` | `{text}`: the customer writes (a signed gateway webhook to the service) |
//! | POST | `/phone/voice` | the customer sends the bundled voice note |
//! | POST | `/phone/messages/{id}/delete` | the customer deletes their message for everyone |
//! | POST | `/console/messages` | `{text}`: the operator replies (OnImConnectorMessageAdd) |
//! | POST | `/console/messages/{id}/edit` | `{text}`: the operator edits (OnImConnectorMessageUpdate) |
//! | POST | `/console/messages/{id}/delete` | the operator deletes (OnImConnectorMessageDelete) |
//! | GET | `/voice-sample.ogg` | the bundled voice note |
//!
//! Errors are the admin API's `{"error":{"code","message"}}`.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    view, SandboxState, BUSINESS_PHONE, CUSTOMER_NAME, CUSTOMER_PHONE, LINE, OPERATOR_NAME,
    VOICE_SAMPLE, VOICE_SAMPLE_TEXT,
};
use crate::http::{ApiError, ErrorCode};

/// Longest text the page may send (WhatsApp allows more; a demo needs less).
const MAX_TEXT: usize = 4096;
const TRACE_LIMIT: usize = 40;

type State = web::Data<SandboxState>;

pub fn routes(cfg: &mut web::ServiceConfig, state: State) {
    cfg.service(
        web::scope("/sandbox/api")
            .app_data(state)
            .route("/state", web::get().to(all))
            .route("/phone", web::get().to(phone))
            .route("/console", web::get().to(console))
            .route("/trace", web::get().to(trace))
            .route("/phone/messages", web::post().to(customer_writes))
            .route("/phone/voice", web::post().to(customer_voice))
            .route(
                "/phone/messages/{id}/delete",
                web::post().to(customer_deletes),
            )
            .route("/console/messages", web::post().to(operator_writes))
            .route(
                "/console/messages/{id}/edit",
                web::post().to(operator_edits),
            )
            .route(
                "/console/messages/{id}/delete",
                web::post().to(operator_deletes),
            )
            .route("/voice-sample.ogg", web::get().to(voice_sample)),
    );
}

#[derive(Deserialize)]
pub struct TextBody {
    text: String,
}

/// The text of a request: trimmed, not empty, not too long.
fn text_of(body: &TextBody) -> Result<String, ApiError> {
    let text = body.text.trim();
    if text.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidField,
            "text is empty",
        ));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidField,
            format!("text is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(text.to_string())
}

fn customer_chat() -> String {
    format!("{CUSTOMER_PHONE}@c.us")
}

fn phone_view(s: &SandboxState) -> Value {
    let g = &s.gateway;
    let messages = view::phone_messages(
        s.instance,
        &customer_chat(),
        &g.customer_messages(),
        &g.sent(),
        &g.webhook_deliveries(),
        &g.calls(),
    );
    json!({
        "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE},
        "business": {"name": "Your company", "phone": BUSINESS_PHONE},
        "messages": messages,
    })
}

fn console_view(s: &SandboxState) -> Value {
    let b = &s.b24;
    let messages = view::console_messages(
        LINE,
        &s.chat_id,
        OPERATOR_NAME,
        &b.customer_messages(),
        &b.operator_messages(),
        &b.system_notices(),
    );
    json!({
        "line": LINE,
        "operator": OPERATOR_NAME,
        "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE},
        "messages": messages,
    })
}

fn trace_view(s: &SandboxState) -> Value {
    json!(view::trace(
        s.instance,
        &s.gateway.webhook_deliveries(),
        &s.gateway.calls(),
        &s.b24.calls(),
        &s.b24.events_sent(),
        TRACE_LIMIT,
    ))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn all(s: State) -> HttpResponse {
    no_store(json!({
        "phone": phone_view(&s),
        "console": console_view(&s),
        "trace": trace_view(&s),
        "setup": {
            "transcription": s.transcription,
            "voice_sample_text": VOICE_SAMPLE_TEXT,
        },
    }))
}

async fn phone(s: State) -> HttpResponse {
    no_store(phone_view(&s))
}

async fn console(s: State) -> HttpResponse {
    no_store(console_view(&s))
}

async fn trace(s: State) -> HttpResponse {
    no_store(trace_view(&s))
}

/// What a simulated action led to: the id it made and how the service answered the webhook or
/// event it caused (0 = not delivered).
fn accepted(id: &str, status: u16) -> Result<HttpResponse, ApiError> {
    if status != 200 {
        return Err(ApiError::bad_gateway(
            ErrorCode::NotAccepted,
            format!("the service answered {status} to the simulated webhook or event"),
        ));
    }
    Ok(HttpResponse::Created().json(json!({"id": id, "status": status})))
}

/// The first webhook attempt's answer for gateway message `id`.
fn webhook_status(s: &SandboxState, id: &str) -> u16 {
    s.gateway
        .webhook_deliveries()
        .iter()
        .find(|d| d.id_message.as_deref() == Some(id))
        .map_or(0, |d| d.status)
}

async fn customer_writes(s: State, body: web::Json<TextBody>) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    let id = s
        .gateway
        .customer_text(s.instance, CUSTOMER_PHONE, CUSTOMER_NAME, &text)
        .await;
    accepted(&id, webhook_status(&s, &id))
}

async fn customer_voice(s: State) -> Result<HttpResponse, ApiError> {
    let id = s
        .gateway
        .customer_file(
            s.instance,
            CUSTOMER_PHONE,
            CUSTOMER_NAME,
            "audioMessage",
            "audio/ogg; codecs=opus",
            "voice-note.ogg",
            VOICE_SAMPLE.to_vec(),
            "",
        )
        .await;
    accepted(&id, webhook_status(&s, &id))
}

async fn customer_deletes(s: State, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let view = view::phone_messages(
        s.instance,
        &customer_chat(),
        &s.gateway.customer_messages(),
        &[],
        &[],
        &[],
    );
    match view.iter().find(|m| m.id == id) {
        None => Err(ApiError::not_found(
            ErrorCode::NotFound,
            "no such message written on the phone",
        )),
        Some(m) if m.deleted => Err(ApiError::conflict(
            ErrorCode::AlreadyDeleted,
            "the message is already deleted",
        )),
        Some(_) => {
            let del = s
                .gateway
                .customer_delete(s.instance, CUSTOMER_PHONE, &id)
                .await;
            accepted(&del, webhook_status(&s, &del))
        }
    }
}

async fn operator_writes(s: State, body: web::Json<TextBody>) -> Result<HttpResponse, ApiError> {
    let text = text_of(&body)?;
    let has_chat = s
        .b24
        .conversations()
        .iter()
        .any(|c| c.line == LINE && c.chat_id == s.chat_id);
    if !has_chat {
        return Err(ApiError::conflict(
            ErrorCode::NoConversation,
            "there is no chat yet: the customer writes first (Open Lines opens the chat then)",
        ));
    }
    let op = s.b24.operator_write(LINE, &s.chat_id, &text).await;
    accepted(&op.im_message_id, op.http_status)
}

/// The operator's message `id`, if it can be edited or deleted (reached WhatsApp, not deleted).
fn operator_message(s: &SandboxState, id: &str) -> Result<(), ApiError> {
    let Some(m) = s
        .b24
        .operator_message(id)
        .filter(|m| m.our_chat_id == s.chat_id)
    else {
        return Err(ApiError::not_found(
            ErrorCode::NotFound,
            "no such operator message",
        ));
    };
    if m.deleted {
        return Err(ApiError::conflict(
            ErrorCode::AlreadyDeleted,
            "the message is already deleted",
        ));
    }
    if m.external_ids.is_empty() {
        return Err(ApiError::conflict(
            ErrorCode::NotDeliveredYet,
            "the message has not reached WhatsApp yet: try again in a moment",
        ));
    }
    Ok(())
}

async fn operator_edits(
    s: State,
    id: web::Path<String>,
    body: web::Json<TextBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let text = text_of(&body)?;
    operator_message(&s, &id)?;
    let status = s.b24.operator_edit(&id, &text).await;
    accepted(&id, status)
}

async fn operator_deletes(s: State, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    operator_message(&s, &id)?;
    let status = s.b24.operator_delete(&id).await;
    accepted(&id, status)
}

async fn voice_sample() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("audio/ogg")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(VOICE_SAMPLE)
}
