//! The plan table: what each plan allows per tenant. Defaults below; `[plans.<name>]` in the
//! configuration file (or `B24WA_PLANS` as JSON) adds plans or replaces a default one. A tenant
//! whose plan is not in the table has no limits (logged once per name, so a typo is visible).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A plan's quotas; `None` (or left out) is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// Numbers connected at once.
    pub numbers: Option<u64>,
    /// Messages relayed per calendar month (UTC), both ways.
    pub messages_per_month: Option<u64>,
    /// Minutes of voice notes transcribed per calendar month (UTC).
    pub transcription_minutes: Option<u64>,
    /// The longest message retention (days) a tenant may choose; `None`: any, including
    /// `0` (for ever).
    pub max_retention_messages_days: Option<u32>,
    /// The longest media file retention (days) a tenant may choose; `None`: any.
    pub max_retention_media_days: Option<u32>,
}

/// The retention in days that applies: the tenant's own choice, else the configured default,
/// capped by the plan's maximum (`0`, for ever, is over any maximum).
pub fn retention_days(own: Option<i32>, default: u32, max: Option<u32>) -> u32 {
    let days = own.map_or(default, |d| u32::try_from(d).unwrap_or(0));
    match max {
        Some(m) if days == 0 || days > m => m,
        _ => days,
    }
}

/// Whether a tenant may choose `days` under a plan maximum `max` (`0`: for ever).
pub fn retention_allowed(days: u32, max: Option<u32>) -> bool {
    days <= MAX_RETENTION_DAYS && max.is_none_or(|m| days != 0 && days <= m)
}

/// The longest retention anyone may set (a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

impl Plan {
    pub fn limit(&self, quota: Quota) -> Option<u64> {
        match quota {
            Quota::Numbers => self.numbers,
            Quota::Messages => self.messages_per_month,
            Quota::TranscriptionMinutes => self.transcription_minutes,
        }
    }
}

/// What a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    Numbers,
    Messages,
    TranscriptionMinutes,
}

impl Quota {
    pub fn as_str(self) -> &'static str {
        match self {
            Quota::Numbers => "numbers",
            Quota::Messages => "messages",
            Quota::TranscriptionMinutes => "transcription_minutes",
        }
    }
}

fn plan(numbers: u64, messages: u64, minutes: u64, retention: Option<(u32, u32)>) -> Plan {
    Plan {
        numbers: Some(numbers),
        messages_per_month: Some(messages),
        transcription_minutes: Some(minutes),
        max_retention_messages_days: retention.map(|r| r.0),
        max_retention_media_days: retention.map(|r| r.1),
    }
}

/// The built-in plans.
pub fn default_plans() -> BTreeMap<String, Plan> {
    BTreeMap::from([
        ("free".to_string(), plan(1, 1_000, 30, Some((365, 90)))),
        (
            "standard".to_string(),
            plan(5, 20_000, 600, Some((730, 365))),
        ),
        ("pro".to_string(), plan(25, 200_000, 6_000, None)),
    ])
}

/// The defaults with the configured plans laid over them.
pub fn effective(configured: &BTreeMap<String, Plan>) -> BTreeMap<String, Plan> {
    let mut plans = default_plans();
    plans.extend(configured.iter().map(|(k, v)| (k.clone(), v.clone())));
    plans
}

/// `plans` from the configuration: a table (TOML) or a JSON object in one string (environment).
pub fn deserialize_plans<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Plan>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Table(BTreeMap<String, Plan>),
        Json(String),
    }
    match Either::deserialize(d)? {
        Either::Table(t) => Ok(t),
        Either::Json(s) if s.trim().is_empty() => Ok(BTreeMap::new()),
        Either::Json(s) => serde_json::from_str(&s).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_plans_replace_and_extend_the_defaults() {
        let configured: BTreeMap<String, Plan> =
            serde_json::from_str(r#"{"free": {"numbers": 2}, "team": {"messages_per_month": 5}}"#)
                .expect("json");
        let plans = effective(&configured);
        assert_eq!(plans["free"].numbers, Some(2));
        assert_eq!(plans["free"].messages_per_month, None);
        assert_eq!(plans["team"].limit(Quota::Messages), Some(5));
        assert_eq!(plans["pro"].numbers, Some(25));
    }

    #[test]
    fn retention_is_the_tenants_or_the_default_capped_by_the_plan() {
        assert_eq!(retention_days(None, 365, None), 365);
        assert_eq!(retention_days(Some(30), 365, None), 30);
        assert_eq!(retention_days(Some(0), 365, None), 0);
        assert_eq!(retention_days(None, 365, Some(90)), 90);
        assert_eq!(retention_days(None, 0, Some(90)), 90);
        assert_eq!(retention_days(Some(10), 365, Some(90)), 10);
        assert!(retention_allowed(0, None));
        assert!(retention_allowed(90, Some(90)));
        assert!(!retention_allowed(91, Some(90)));
        assert!(!retention_allowed(0, Some(90)));
        assert!(!retention_allowed(MAX_RETENTION_DAYS + 1, None));
    }

    #[derive(Deserialize)]
    struct Cfg {
        #[serde(default, deserialize_with = "deserialize_plans")]
        plans: BTreeMap<String, Plan>,
    }

    #[test]
    fn plans_come_as_a_table_or_as_json_in_one_string() {
        let table: Cfg =
            serde_json::from_str(r#"{"plans": {"team": {"numbers": 3}}}"#).expect("table");
        assert_eq!(table.plans["team"].numbers, Some(3));
        let env: Cfg = serde_json::from_str(
            r#"{"plans": "{\"team\": {\"numbers\": 4, \"messages_per_month\": null}}"}"#,
        )
        .expect("json string");
        assert_eq!(env.plans["team"].numbers, Some(4));
        assert!(serde_json::from_str::<Cfg>(r#"{"plans": "{\"team\": {\"seats\": 1}}"}"#).is_err());
        assert!(serde_json::from_str::<Cfg>("{}")
            .expect("none")
            .plans
            .is_empty());
    }
}
