//! Rate limits of the public endpoints (provider webhooks, portal events, the settings page,
//! media links): per client IP before anything is read, and per tenant once the request is
//! known to be for one. Over a limit the answer is `429 rate_limited` with `Retry-After`;
//! providers retry, so nothing is lost, and a flood costs a map lookup.
//!
//! Also `LogEvery`: a warning that a flood would repeat per request is written once per interval
//! with the count of what it stood for.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, HttpRequest,
};
use governor::{
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
    Quota, RateLimiter,
};

use super::{ApiError, AppState};
use crate::{config::Settings, i18n::text::Text, tr};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Keys not seen for a while are dropped once the map holds this many (a flood from many
/// addresses must not grow memory without end).
const MAX_KEYS: usize = 50_000;

pub struct PublicLimits {
    per_ip: Option<Keyed<IpAddr>>,
    per_tenant: Option<Keyed<i64>>,
    trust_forwarded_for: bool,
    log: LogEvery,
    /// Portal → tenant, for a minute (tenants are re-attached rarely).
    tenants: Mutex<HashMap<i64, (Instant, Option<i64>)>>,
    /// Back-pressure: a number's webhooks wait (503) while its inbox backlog is too long.
    pub inbox: super::backpressure::InboxGate,
}

const TENANT_TTL: Duration = Duration::from_secs(60);

fn keyed<K: std::hash::Hash + Eq + Clone>(per_sec: u32, burst: u32) -> Option<Keyed<K>> {
    let rate = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(burst.max(per_sec)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

fn check<K: std::hash::Hash + Eq + Clone>(limiter: &Keyed<K>, key: &K) -> Result<(), Duration> {
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// A wait as the whole seconds of `Retry-After` (rounded up, at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn too_many(wait: Duration, message: impl Into<Text>) -> ApiError {
    ApiError::RateLimited {
        message: message.into(),
        retry_after_secs: retry_after_secs(wait),
    }
}

impl PublicLimits {
    /// A limit of 0 requests per second switches that limit off.
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            per_ip: keyed(s.public_rate_per_ip, s.public_burst_per_ip),
            per_tenant: keyed(s.public_rate_per_tenant, s.public_burst_per_tenant),
            trust_forwarded_for: s.trust_forwarded_for,
            log: LogEvery::new(Duration::from_secs(60)),
            tenants: Mutex::new(HashMap::new()),
            inbox: super::backpressure::InboxGate::from_settings(s),
        }
    }

    /// The client's address: the connection's peer, or, behind a proxy we were told to trust,
    /// the left-most `X-Forwarded-For` entry (anyone can send that header, so only then).
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.peer_addr().map(|a| a.ip())
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        let Some(l) = &self.per_ip else {
            return Ok(());
        };
        check(l, &ip).map_err(|wait| {
            self.log.note(|n| {
                tracing::warn!(%ip, refused = n, "public endpoint rate limit hit (per IP)");
            });
            too_many(wait, |l| tr!(l, "error-rate-limited-address"))
        })
    }

    /// The per-tenant limit for a request to `portal_id`'s tenant.
    pub async fn check_portal(
        &self,
        db: &sea_orm::DatabaseConnection,
        portal_id: i64,
    ) -> Result<(), ApiError> {
        if self.per_tenant.is_none() {
            return Ok(());
        }
        let cached = self
            .tenants
            .lock()
            .ok()
            .and_then(|m| m.get(&portal_id).copied())
            .filter(|(at, _)| at.elapsed() < TENANT_TTL);
        let tenant = match cached {
            Some((_, t)) => t,
            None => {
                let t = crate::store::portals::get(db, portal_id)
                    .await?
                    .and_then(|p| p.tenant_id);
                if let Ok(mut m) = self.tenants.lock() {
                    if m.len() > MAX_KEYS {
                        m.clear();
                    }
                    m.insert(portal_id, (Instant::now(), t));
                }
                t
            }
        };
        self.check_tenant(tenant)
    }

    /// Per tenant (a portal without a tenant counts as tenant 0).
    pub fn check_tenant(&self, tenant: Option<i64>) -> Result<(), ApiError> {
        let Some(l) = &self.per_tenant else {
            return Ok(());
        };
        let tenant = tenant.unwrap_or(0);
        check(l, &tenant).map_err(|wait| {
            self.log.note(|n| {
                tracing::warn!(
                    tenant,
                    refused = n,
                    "public endpoint rate limit hit (per tenant)"
                );
            });
            too_many(wait, |l| tr!(l, "error-rate-limited-tenant"))
        })
    }
}

/// Middleware for the public scopes: the per-IP limit, before the body is read.
pub async fn per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        if let Some(ip) = state.limits.client_ip(req.request()) {
            state.limits.check_ip(ip)?;
        }
    }
    next.call(req).await
}

/// Writes a log line at most once per interval, saying how many times it was due.
pub struct LogEvery {
    every: Duration,
    last: Mutex<Option<Instant>>,
    pending: AtomicU64,
}

impl LogEvery {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(None),
            pending: AtomicU64::new(0),
        }
    }

    /// Counts one occurrence; calls `log` with the count since the last line when the interval
    /// has passed (or on the first occurrence).
    pub fn note(&self, log: impl FnOnce(u64)) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < self.every) {
            return;
        }
        *last = Some(now);
        drop(last);
        // What was counted since the last line, this one included.
        log(self.pending.swap(0, Ordering::Relaxed).max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_refuses_past_its_burst_and_says_how_long_to_wait() {
        let l = keyed::<i64>(1, 3).expect("limiter");
        for _ in 0..3 {
            assert!(check(&l, &7).is_ok());
        }
        let wait = check(&l, &7).expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another key has its own budget.
        assert!(check(&l, &8).is_ok());
        assert!(
            keyed::<i64>(0, 10).is_none(),
            "0 per second switches it off"
        );
    }

    #[test]
    fn log_every_writes_once_per_interval_with_the_count() {
        let log = LogEvery::new(Duration::from_secs(3600));
        let mut lines = Vec::new();
        for _ in 0..1000 {
            log.note(|n| lines.push(n));
        }
        assert_eq!(lines, [1], "one line for a thousand occurrences");
        let log = LogEvery::new(Duration::ZERO);
        let mut lines = Vec::new();
        for _ in 0..3 {
            log.note(|n| lines.push(n));
        }
        assert_eq!(lines, [1, 1, 1]);
    }
}
