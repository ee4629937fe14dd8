//! Where WhatsApp messages and receipts enter.

pub mod cloud;
pub mod gateway;

/// A number whose portal uninstalled our app takes no webhooks until the app is installed
/// again: 503, so the provider keeps the message and retries (Meta for days, gateways for 24 h).
/// Whether a number's events are relayed: an admin's disconnect stops them (a portal's uninstall
/// suspends instead, see `refuse_if_suspended`).
pub(crate) fn relayed(n: &entity::numbers::Model) -> bool {
    n.active || n.suspended
}

/// The answer to an event for a number an admin disconnected: acknowledged (the provider would
/// otherwise retry for days, and Meta counts failures against the whole app) and dropped. The
/// number's page says it is disconnected; connecting it again resumes from the next message.
pub(crate) fn ignored_disconnected() -> actix_web::HttpResponse {
    tracing::debug!("event for a disconnected number acknowledged and dropped");
    actix_web::HttpResponse::Ok().json(serde_json::json!({"ignored": "number_disconnected"}))
}

pub(crate) fn refuse_if_suspended(n: &entity::numbers::Model) -> Result<(), crate::http::ApiError> {
    if n.suspended {
        return Err(crate::http::ApiError::unavailable(
            "portal_uninstalled",
            "the Bitrix24 app of this number's portal is uninstalled; retry later",
        ));
    }
    Ok(())
}
