//! Plans and their quotas: numbers connected, messages per month, transcription minutes.
//!
//! Quotas never drop a message. Connecting a number beyond the plan is refused (nothing is lost:
//! the number simply is not added); messages beyond the monthly quota are relayed as usual and
//! the operators get one notice the first time in a month; voice notes beyond the transcription
//! minutes are delivered without a transcript, with a note saying why. Each crossing is recorded
//! once per tenant, quota and month (`quota_events`).
//!
//! The chat actors ask per message, so the month's counts are cached per tenant for a short
//! time (`quota_cache_secs`) and counted forward in memory in between, instead of counting rows
//! per message.

pub mod plans;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use utoipa::ToSchema;

pub use plans::{Plan, Quota};

use crate::store::{now_ms, quotas, usage};

pub use quotas::events_in;

#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(
        "The {plan} plan allows {limit} connected WhatsApp number(s) and this account has \
         {used} already. Disconnect a number, or ask your admin to upgrade the plan, to \
         connect another."
    )]
    Numbers { plan: String, limit: u64, used: u64 },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The calendar month (UTC) around `now_ms`: `YYYY-MM` and `[start, end)` in unix ms.
pub fn month_of(now_ms: i64) -> (String, i64, i64) {
    let today = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    let ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0)
    };
    (first.format("%Y-%m").to_string(), ms(first), ms(next))
}

/// One quota of a plan against what was used.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct QuotaUse {
    /// `numbers`, `messages` or `transcription_minutes`.
    pub quota: String,
    /// Numbers connected now; messages or minutes this month.
    pub used: f64,
    /// `null`: unlimited.
    pub limit: Option<u64>,
    /// `used` as a share of `limit` (0–100+), `null` when unlimited.
    pub percent: Option<f64>,
    /// Over the limit (numbers: at it, so no further number can be connected).
    pub over: bool,
}

/// A plan's quotas against this month's figures (`plan` `None`: an unknown plan, no limits).
pub fn usage_against(
    plan: Option<&Plan>,
    numbers: i64,
    messages: i64,
    transcribed_seconds: f64,
) -> Vec<QuotaUse> {
    let row = |quota: Quota, used: f64| {
        let limit = plan.and_then(|p| p.limit(quota));
        let percent = limit.map(|l| {
            if l == 0 {
                if used > 0.0 {
                    100.0
                } else {
                    0.0
                }
            } else {
                (used / l as f64 * 1000.0).round() / 10.0
            }
        });
        let over = match (quota, limit) {
            (_, None) => false,
            (Quota::Numbers, Some(l)) => used >= l as f64,
            (_, Some(l)) => used > l as f64,
        };
        QuotaUse {
            quota: quota.as_str().to_string(),
            used,
            limit,
            percent,
            over,
        }
    };
    vec![
        row(Quota::Numbers, numbers as f64),
        row(Quota::Messages, messages as f64),
        row(
            Quota::TranscriptionMinutes,
            (transcribed_seconds / 6.0).round() / 10.0,
        ),
    ]
}

/// Whether a voice note may be transcribed under the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Transcription {
    Allowed,
    /// The month's minutes are used up (the plan's limit in minutes).
    UsedUp(u64),
}

/// A tenant's month so far, as last counted plus what was relayed since.
struct Month {
    key: String,
    counted: Instant,
    messages: i64,
    seconds: f64,
}

/// A portal's tenant and plan name (`None`: a portal without a tenant).
type Tenancy = Option<(i64, String)>;

/// The plan table and the per-tenant monthly meters.
pub struct Billing {
    plans: BTreeMap<String, Plan>,
    ttl: Duration,
    /// portal id → (when looked up, (tenant id, plan name)).
    portals: Mutex<HashMap<i64, (Instant, Tenancy)>>,
    months: Mutex<HashMap<i64, Month>>,
    /// (tenant, quota, month) known to be recorded: no further insert is tried.
    recorded: Mutex<HashSet<(i64, &'static str, String)>>,
    /// Plan names not in the table, warned about once.
    unknown: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding it leaves plain counters: still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Billing {
    pub fn new(configured: &BTreeMap<String, Plan>, cache_secs: u64) -> Self {
        Self {
            plans: plans::effective(configured),
            ttl: Duration::from_secs(cache_secs),
            portals: Mutex::default(),
            months: Mutex::default(),
            recorded: Mutex::default(),
            unknown: Mutex::default(),
        }
    }

    pub fn plans(&self) -> &BTreeMap<String, Plan> {
        &self.plans
    }

    /// The plan called `name`; `None` (no limits) for a name not in the table.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        let p = self.plans.get(name);
        if p.is_none() && lock(&self.unknown).insert(name.to_string()) {
            tracing::warn!(
                plan = name,
                "tenant on a plan that is not configured: no limits"
            );
        }
        p
    }

    /// Refuses a number beyond the tenant's plan. `key` is the phone_number_id being connected:
    /// connecting an already connected number again (a rebind) is not a new one.
    pub async fn check_numbers<C: ConnectionTrait>(
        &self,
        c: &C,
        tenant_id: i64,
        key: &str,
    ) -> Result<(), QuotaError> {
        let Some(plan) = quotas::tenant_plan(c, tenant_id).await? else {
            return Ok(());
        };
        let Some(limit) = self.plan(&plan).and_then(|p| p.numbers) else {
            return Ok(());
        };
        let used = quotas::active_numbers_except(c, tenant_id, key).await?;
        if used >= limit {
            return Err(QuotaError::Numbers { plan, limit, used });
        }
        Ok(())
    }

    /// The tenant and plan of a portal (cached).
    async fn tenant_of<C: ConnectionTrait>(&self, c: &C, portal_id: i64) -> Result<Tenancy, DbErr> {
        if let Some((at, t)) = lock(&self.portals).get(&portal_id) {
            if at.elapsed() < self.ttl {
                return Ok(t.clone());
            }
        }
        let found = quotas::portal_tenancy(c, portal_id).await?;
        lock(&self.portals).insert(portal_id, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Adds `messages` and `seconds` to the tenant's month and answers the totals; recounts
    /// from the usage ledger when the cache is stale or the month turned (the recount, made on
    /// `c`, already includes the ledger rows `c` wrote, so nothing is added to it).
    async fn count<C: ConnectionTrait>(
        &self,
        c: &C,
        tenant_id: i64,
        messages: i64,
        seconds: f64,
    ) -> Result<(String, i64, f64), DbErr> {
        let (key, from, to) = month_of(now_ms());
        {
            let mut months = lock(&self.months);
            if let Some(m) = months.get_mut(&tenant_id) {
                if m.key == key && m.counted.elapsed() < self.ttl {
                    m.messages += messages;
                    m.seconds += seconds;
                    return Ok((key, m.messages, m.seconds));
                }
            }
        }
        let t = usage::totals(c, tenant_id, from, to).await?;
        let m = Month {
            key: key.clone(),
            counted: Instant::now(),
            messages: t.inbound + t.outbound,
            seconds: t.transcribed_seconds,
        };
        let out = (key, m.messages, m.seconds);
        lock(&self.months).insert(tenant_id, m);
        Ok(out)
    }

    /// Records that the tenant went over `quota` this month; true the first time (for this
    /// month), when the caller gives the notice. Inside the caller's transaction, so a rolled
    /// back batch does not leave a recorded event without its notice.
    async fn record<C: ConnectionTrait>(
        &self,
        c: &C,
        tenant_id: i64,
        quota: Quota,
        month: &str,
        used: i64,
        limit: u64,
    ) -> Result<bool, DbErr> {
        let key = (tenant_id, quota.as_str(), month.to_string());
        if lock(&self.recorded).contains(&key) {
            return Ok(false);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let inserted =
            quotas::record_crossing(c, tenant_id, quota.as_str(), month, used, limit).await?;
        if !inserted {
            // Recorded (and committed) before: stop asking the database.
            lock(&self.recorded).insert(key);
        }
        Ok(inserted)
    }

    /// A message of `portal_id` was relayed. `Some(limit)` the first time this month the tenant
    /// is over its plan's messages: the caller tells the operators (the message still flows).
    pub async fn message<C: ConnectionTrait>(
        &self,
        c: &C,
        portal_id: i64,
    ) -> Result<Option<u64>, DbErr> {
        let Some((tenant_id, plan)) = self.tenant_of(c, portal_id).await? else {
            return Ok(None);
        };
        let Some(limit) = self.plan(&plan).and_then(|p| p.messages_per_month) else {
            return Ok(None);
        };
        let (month, used, _) = self.count(c, tenant_id, 1, 0.0).await?;
        if used <= i64::try_from(limit).unwrap_or(i64::MAX) {
            return Ok(None);
        }
        let first = self
            .record(c, tenant_id, Quota::Messages, &month, used, limit)
            .await?;
        Ok(first.then_some(limit))
    }

    /// Whether a voice note may be transcribed under the plan of `portal_id`'s tenant: while
    /// the month's minutes are not used up. Nothing is counted here: only seconds actually
    /// transcribed count ([`Billing::transcribed`]), so a note that is too long or cannot be
    /// transcribed costs nothing.
    pub async fn transcription<C: ConnectionTrait>(
        &self,
        c: &C,
        portal_id: i64,
    ) -> Result<Transcription, DbErr> {
        let Some((tenant_id, plan)) = self.tenant_of(c, portal_id).await? else {
            return Ok(Transcription::Allowed);
        };
        let Some(minutes) = self.plan(&plan).and_then(|p| p.transcription_minutes) else {
            return Ok(Transcription::Allowed);
        };
        let (month, _, used) = self.count(c, tenant_id, 0, 0.0).await?;
        if used < minutes as f64 * 60.0 {
            return Ok(Transcription::Allowed);
        }
        self.record(
            c,
            tenant_id,
            Quota::TranscriptionMinutes,
            &month,
            (used / 60.0).ceil() as i64,
            minutes,
        )
        .await?;
        Ok(Transcription::UsedUp(minutes))
    }

    /// A voice note of `portal_id` was transcribed (its ledger row written on `c`): its
    /// `seconds` count against the month's minutes from now on.
    pub async fn transcribed<C: ConnectionTrait>(
        &self,
        c: &C,
        portal_id: i64,
        seconds: f64,
    ) -> Result<(), DbErr> {
        if let Some((tenant_id, _)) = self.tenant_of(c, portal_id).await? {
            self.count(c, tenant_id, 0, seconds).await?;
        }
        Ok(())
    }
}

/// This month's key, for callers outside the meter.
pub fn this_month() -> (String, i64, i64) {
    month_of(Utc::now().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months_in_utc() {
        // 2026-12-31T23:59:59Z
        let (key, from, to) = month_of(1_798_761_599_000);
        assert_eq!(key, "2026-12");
        assert_eq!(from, 1_796_083_200_000);
        assert_eq!(to, 1_798_761_600_000);
    }

    #[test]
    fn usage_is_shown_against_the_plan() {
        let plan = Plan {
            numbers: Some(1),
            messages_per_month: Some(1000),
            transcription_minutes: None,
            ..Plan::default()
        };
        let rows = usage_against(Some(&plan), 1, 1001, 90.0);
        assert!(rows[0].over, "at the number limit");
        assert_eq!(rows[1].percent, Some(100.1));
        assert!(rows[1].over);
        assert_eq!(rows[2].used, 1.5);
        assert_eq!((rows[2].limit, rows[2].over), (None, false));
        assert!(usage_against(None, 9, 9, 9.0).iter().all(|r| !r.over));
    }
}
