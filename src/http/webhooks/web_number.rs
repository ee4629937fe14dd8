//! What both Web-gateway webhook routes check before they store anything: the path names a
//! number of that route's gateway, the secret presented is the number's (constant time), and the
//! number may take events now.

use actix_web::HttpResponse;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    http::{ApiError, AppState},
    store::numbers,
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

/// A webhook's number, or the answer it gets without one.
pub(crate) enum Found {
    Number(Box<entity::numbers::Model>),
    /// Not a number of this gateway here (removed, or moved to another transport): acknowledged
    /// and dropped, since a refusal would be retried for a day; nothing is stored, so a forger
    /// gains nothing.
    Answer(HttpResponse),
}

/// The number `number_id` of the gateway `kind` (`numbers::GATEWAY_*`) when `presented` is its
/// secret; `refused` (401) when it is not.
pub(crate) async fn authenticated(
    state: &AppState,
    number_id: i64,
    kind: &'static str,
    presented: Option<&str>,
    refused: fn() -> ApiError,
) -> Result<Found, ApiError> {
    let Some(n) = numbers::get(&state.ctx.db, number_id)
        .await?
        .filter(|n| n.transport == numbers::TRANSPORT_GATEWAY && gateway_of(n) == kind)
    else {
        return Ok(Found::Answer(super::ignored_unknown(
            crate::metrics::SOURCE_GATEWAY,
            &format!("{kind}:{number_id}"),
        )));
    };
    let expected = state
        .ctx
        .secrets
        .decrypt(&n.app_secret_enc)
        .map_err(crate::store::StoreError::from)?;
    if !secret_matches(presented, &expected) {
        return Err(refused());
    }
    Ok(Found::Number(Box::new(n)))
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
