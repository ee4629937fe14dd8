//! Where WhatsApp messages and receipts enter.

pub mod cloud;
pub mod evolution;
pub mod gateway;
pub(crate) mod web_number;

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

/// Marks the answer to a webhook for a number not connected here: counted as
/// `outcome="unknown_number"` (`http::observe`) and left out of the access log (a flood would
/// repeat it; `UNKNOWN_NUMBERS` logs it instead).
#[derive(Debug, Clone, Copy)]
pub struct UnknownNumber;

/// A number not connected here is logged at most once per this long.
const UNKNOWN_LOG_EVERY: Duration = Duration::from_secs(3600);
/// Numbers remembered for that; past it (ids from a flood of forged webhooks) one summary line a
/// minute stands for the rest.
const UNKNOWN_LOG_KEYS: usize = 1024;

/// When each unknown number was last logged.
struct UnknownLog {
    last: Mutex<HashMap<String, Instant>>,
    overflow: crate::http::limits::LogEvery,
}

static UNKNOWN_NUMBERS: LazyLock<UnknownLog> = LazyLock::new(|| UnknownLog {
    last: Mutex::new(HashMap::new()),
    overflow: crate::http::limits::LogEvery::new(Duration::from_secs(60)),
});

impl UnknownLog {
    /// Logs `key` unless it was logged within the hour.
    fn note(&self, source: &'static str, key: &str) {
        let now = Instant::now();
        let fresh = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last
                .get(key)
                .is_some_and(|t| now.duration_since(*t) < UNKNOWN_LOG_EVERY)
            {
                return;
            }
            if last.len() >= UNKNOWN_LOG_KEYS && !last.contains_key(key) {
                last.retain(|_, t| now.duration_since(*t) < UNKNOWN_LOG_EVERY);
            }
            if last.len() < UNKNOWN_LOG_KEYS || last.contains_key(key) {
                last.insert(key.to_string(), now);
                true
            } else {
                false
            }
        };
        if fresh {
            tracing::warn!(
                source,
                number = %key,
                "webhooks for a number not connected here are acknowledged and dropped (logged once an hour per number)"
            );
        } else {
            self.overflow.note(|n| {
                tracing::warn!(
                    source,
                    count = n,
                    "webhooks for many numbers not connected here acknowledged and dropped (this one the latest: {key})"
                )
            });
        }
    }
}

/// The answer to a webhook for a number not connected here (removed from b24wa, or another
/// app's number on a shared callback): `200`, nothing stored. Any other answer would be
/// retried by Meta for days (and counted against the whole app), by a gateway for a day.
pub(crate) fn ignored_unknown(source: &'static str, key: &str) -> actix_web::HttpResponse {
    unknown_seen(source, key);
    let mut res =
        actix_web::HttpResponse::Ok().json(serde_json::json!({"ignored": "unknown_phone_number"}));
    res.extensions_mut().insert(UnknownNumber);
    res
}

/// Counts and (at most hourly) logs a webhook for a number not connected here.
pub(crate) fn unknown_seen(source: &'static str, key: &str) {
    crate::metrics::unknown_number(source);
    UNKNOWN_NUMBERS.note(source, key);
}

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
            crate::http::ErrorCode::PortalUninstalled,
            |l| crate::tr!(l, "error-portal-uninstalled"),
        ));
    }
    Ok(())
}
