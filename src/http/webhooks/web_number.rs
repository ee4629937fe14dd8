//! What both Web-gateway webhook routes check before they store anything: the path names a
//! number of that route's gateway, the secret presented is the number's (constant time), and the
//! number may take events now; and how both store an event they take.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    actors::registry::{Dispatch, Owner},
    http::{api::extract::from_parts, ApiError, AppState, ErrorCode},
    relay::inbox::InboxItem,
    store::{inbox, inbox_writer, jobs, numbers},
    tr,
};

/// Whether `presented` is `expected`, in constant time. An empty stored secret matches nothing
/// (an empty header must never pass).
pub(crate) fn secret_matches(presented: Option<&str>, expected: &SecretString) -> bool {
    use subtle::ConstantTimeEq;
    let Some(p) = presented else {
        return false;
    };
    let e = expected.expose_secret().as_bytes();
    !e.is_empty() && bool::from(p.as_bytes().ct_eq(e))
}

/// What a per-number webhook route takes: the `{number_id}` in its path, the request (which
/// presents the secret) and the body.
pub(crate) struct NumberWebhook {
    pub state: web::Data<AppState>,
    pub number_id: i64,
    pub req: HttpRequest,
    pub body: web::Bytes,
}

from_parts! {
    impl for NumberWebhook;
    (web::Data<AppState>, web::Path<i64>, HttpRequest, web::Bytes) as (state, path, req, body) =>
        Ok(Self { state, number_id: path.into_inner(), req, body })
}

impl NumberWebhook {
    /// The number when it is one of the gateway `kind`'s (`numbers::GATEWAY_*`) here and the
    /// secret `presented` reads from the request is its own (else `refused`, 401); `None`
    /// without such a number ([`Self::unknown`]).
    pub(crate) async fn number(
        &self,
        kind: &'static str,
        presented: fn(&HttpRequest) -> Option<&str>,
        refused: fn() -> ApiError,
    ) -> Result<Option<entity::numbers::Model>, ApiError> {
        let Some(n) = numbers::get(&self.state.ctx.db, self.number_id)
            .await?
            .filter(|n| n.transport == numbers::TRANSPORT_GATEWAY && gateway_of(n) == kind)
        else {
            return Ok(None);
        };
        let expected = self
            .state
            .ctx
            .secrets
            .decrypt(&n.app_secret_enc)
            .map_err(crate::store::StoreError::from)?;
        if !secret_matches(presented(&self.req), &expected) {
            return Err(refused());
        }
        Ok(Some(n))
    }

    /// The answer without a number of the gateway `kind` here (removed, or moved to another
    /// transport): acknowledged and dropped, since a refusal would be retried for a day; nothing
    /// is stored, so a forger gains nothing.
    pub(crate) fn unknown(&self, kind: &str) -> HttpResponse {
        super::ignored_unknown(
            crate::metrics::SOURCE_GATEWAY,
            &format!("{kind}:{}", self.number_id),
        )
    }
}

/// A number's gateway; rows from before Evolution have only GREEN-API.
fn gateway_of(n: &entity::numbers::Model) -> &str {
    if n.gateway_kind == numbers::GATEWAY_EVOLUTION {
        numbers::GATEWAY_EVOLUTION
    } else {
        numbers::GATEWAY_GREEN_API
    }
}

/// Whether an authenticated number's event is taken now: `Err` 503 while its portal has
/// uninstalled the app (the gateway retries), the portal's rate limit, and `Some(answer)` when an
/// admin disconnected the number (acknowledged and dropped).
pub(crate) async fn admitted(
    state: &AppState,
    n: &entity::numbers::Model,
) -> Result<Option<HttpResponse>, ApiError> {
    super::refuse_if_suspended(n)?;
    state
        .limits
        .check_portal(&state.ctx.db, n.portal_id)
        .await?;
    if !super::relayed(n) {
        return Ok(Some(super::ignored_disconnected()));
    }
    Ok(None)
}

/// A body the gateway's parser could not read: `400 invalid_webhook`, saying why.
pub(crate) fn invalid_webhook(e: impl std::fmt::Display) -> ApiError {
    let detail = e.to_string();
    ApiError::bad_request(ErrorCode::InvalidWebhook, move |l| {
        tr!(l, "error-invalid-webhook", detail = &detail)
    })
}

/// A receipt for one of the number's messages: its inbox item, with the key that stores it once
/// per message and status.
pub(crate) fn receipt(
    n: &entity::numbers::Model,
    wamid: String,
    status: String,
    timestamp: i64,
    recipient_id: String,
    error: Option<String>,
    error_code: Option<i64>,
) -> (String, InboxItem) {
    (
        format!("{wamid}:{status}"),
        InboxItem::WaStatus {
            phone_number_id: n.phone_number_id.clone(),
            wamid,
            status,
            timestamp,
            recipient_id,
            error,
            error_code,
        },
    )
}

/// Stores an event in the number's inbox (once per `external_id`) and hands it to the number.
pub(crate) async fn store(
    state: &AppState,
    n: &entity::numbers::Model,
    external_id: String,
    item: InboxItem,
) -> Result<HttpResponse, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_exactly_and_never_when_empty() {
        let s = SecretString::from("k1");
        assert!(secret_matches(Some("k1"), &s));
        assert!(!secret_matches(Some("k2"), &s));
        assert!(!secret_matches(Some("k1x"), &s));
        assert!(!secret_matches(None, &s));
        assert!(!secret_matches(Some(""), &SecretString::from("")));
    }
}
