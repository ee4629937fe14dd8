//! Web gateway webhooks, one URL per number: `POST /webhooks/whatsapp/gateway/{number_id}`.
//! Authenticated by the per-number token the instance presents (`Authorization: Bearer …`,
//! compared in constant time), stored in the inbox, and only then acknowledged.

use actix_web::{HttpRequest, HttpResponse};

use super::web_number::{self, NumberWebhook};
use crate::{
    http::{ApiError, ErrorCode},
    relay::inbox::InboxItem,
    store::numbers,
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

pub(crate) async fn receive(hook: NumberWebhook) -> Result<HttpResponse, ApiError> {
    let kind = numbers::GATEWAY_GREEN_API;
    let Some(n) = hook.number(kind, bearer, refused).await? else {
        return Ok(hook.unknown(kind));
    };
    let NumberWebhook { state, body, .. } = hook;
    if let Some(answer) = web_number::admitted(&state, &n).await? {
        return Ok(answer);
    }
    let event = webhook::parse(&body).map_err(web_number::invalid_webhook)?;
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
        } => web_number::receipt(&n, id, status, timestamp, to, error, error_code),
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
    web_number::store(&state, &n, external_id, item).await
}
