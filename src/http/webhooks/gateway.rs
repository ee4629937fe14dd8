//! Web gateway webhooks, one URL per number: `POST /webhooks/whatsapp/gateway/{number_id}`.
//! Authenticated by the per-number token the instance presents (`Authorization: Bearer …`,
//! compared in constant time), stored in the inbox, and only then acknowledged.

use actix_web::{web, HttpRequest, HttpResponse};

use super::web_number::{self, Found};
use crate::{
    actors::registry::{Dispatch, Owner},
    http::{ApiError, AppState, ErrorCode},
    relay::inbox::InboxItem,
    store::{inbox, inbox_writer, jobs, numbers},
    tr,
    whatsapp::gateway::webhook::{self, GwEvent},
};

fn refused() -> ApiError {
    ApiError::unauthorized(ErrorCode::WebhookTokenInvalid, |l| {
        tr!(l, "error-webhook-token")
    })
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req.headers().get("Authorization")?.to_str().ok()?;
    Some(v.strip_prefix("Bearer ").unwrap_or(v).trim())
}

pub async fn receive(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let n = match web_number::authenticated(
        &state,
        path.into_inner(),
        numbers::GATEWAY_GREEN_API,
        bearer(&req),
        refused,
    )
    .await?
    {
        Found::Number(n) => *n,
        Found::Answer(answer) => return Ok(answer),
    };
    if let Some(answer) = web_number::admitted(&state, &n).await? {
        return Ok(answer);
    }
    let event = webhook::parse(&body).map_err(|e| {
        let detail = e.to_string();
        ApiError::bad_request(ErrorCode::InvalidWebhook, move |l| {
            tr!(l, "error-invalid-webhook", detail = &detail)
        })
    })?;
    let (external_id, item) = match event {
        GwEvent::Message(m) => (
            m.wamid.clone(),
            InboxItem::wa_message(n.phone_number_id.clone(), m),
        ),
        GwEvent::Status {
            id,
            to,
            status,
            timestamp,
            error,
            error_code,
        } => (
            format!("{id}:{status}"),
            InboxItem::WaStatus {
                phone_number_id: n.phone_number_id.clone(),
                wamid: id,
                status,
                timestamp,
                recipient_id: to,
                error,
                error_code,
            },
        ),
        // Not deduplicated by its content: the gateway stamps it in whole seconds, so a phone
        // linked, logged out and linked again within a second posts the same body twice, and the
        // second is news. Storing a state twice does nothing more; the number actor stores them
        // in order and ignores one stamped before the last it stored (an old webhook retried).
        GwEvent::State {
            state: s,
            timestamp,
        } => (
            format!(
                "state:{timestamp}:{s}:{}",
                hex::encode(rand::random::<[u8; 8]>())
            ),
            InboxItem::WaSessionState {
                state: s,
                timestamp,
            },
        ),
        GwEvent::PhoneMessage {
            to,
            id,
            timestamp,
            text,
        } => (
            id.clone(),
            InboxItem::WaPhoneMessage {
                phone_number_id: n.phone_number_id.clone(),
                to,
                wamid: id,
                timestamp,
                text,
            },
        ),
        GwEvent::Ignored(what) => {
            tracing::debug!(number = n.id, what = %what, "gateway webhook not relayed");
            return Ok(HttpResponse::Ok().body("ignored"));
        }
    };
    let owner = jobs::number_owner(n.id);
    // Back-pressure, before storing: the gateway keeps the event and retries it.
    state.limits.inbox.check(&state.ctx.db, &owner).await?;
    let source = format!("{}:{}", inbox::SOURCE_WA_GATEWAY, n.id);
    let row = inbox_writer::NewRow {
        source,
        external_id,
        owner,
        item,
    };
    let ids = state
        .inbox_writer
        .insert(std::slice::from_ref(&row))
        .await?;
    if let Some(id) = ids.into_iter().flatten().next() {
        state.registry.do_send(Dispatch {
            owner: Owner::Number(n.id),
            items: vec![(id, row.item)],
        });
    }
    Ok(HttpResponse::Ok().body("ok"))
}
