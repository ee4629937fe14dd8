//! Where WhatsApp messages and receipts enter.

pub mod cloud;
pub mod gateway;

/// A number whose portal uninstalled our app takes no webhooks until the app is installed
/// again: 503, so the provider keeps the message and retries (Meta for days, gateways for 24 h).
pub(crate) fn refuse_if_suspended(n: &entity::numbers::Model) -> Result<(), crate::http::ApiError> {
    if n.suspended {
        return Err(crate::http::ApiError::unavailable(
            "portal_uninstalled",
            "the Bitrix24 app of this number's portal is uninstalled; retry later",
        ));
    }
    Ok(())
}
