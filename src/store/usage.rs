//! Usage figures per tenant and period, summed from the usage ledger (`store::ledger`):
//! messages each way, files each way, voice notes transcribed (and their seconds), numbers
//! active. Nothing here reads message history, so purging messages changes no total.

use entity::{numbers, usage_ledger};
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use serde::Serialize;

use super::ledger::Kind;

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub inbound: i64,
    pub outbound: i64,
    pub media: i64,
    pub transcribed: i64,
    pub transcribed_seconds: f64,
}

impl Figures {
    /// Adds `n` rows of `kind` whose quantities sum to `sum`.
    fn add(&mut self, kind: Kind, n: i64, sum: f64) {
        match kind {
            Kind::Inbound => self.inbound += n,
            Kind::Outbound => self.outbound += n,
            Kind::MediaIn | Kind::MediaOut => self.media += n,
            Kind::Transcription => {
                self.transcribed += n;
                self.transcribed_seconds += sum;
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub totals: Figures,
    /// Every day of the period, zeros included (a chart needs them).
    pub days: Vec<Day>,
    /// Numbers that relayed at least one message in the period.
    pub active_numbers: i64,
    /// Numbers connected now.
    pub connected_numbers: i64,
}

fn date_of(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The tenant's ledger rows from `from_ms` (inclusive) to `to_ms` (exclusive).
fn of_tenant(tenant_id: i64, from_ms: i64, to_ms: i64) -> sea_orm::Select<usage_ledger::Entity> {
    usage_ledger::Entity::find()
        .filter(usage_ledger::Column::TenantId.eq(tenant_id))
        .filter(usage_ledger::Column::At.gte(from_ms))
        .filter(usage_ledger::Column::At.lt(to_ms))
}

/// Per kind: how many rows and the sum of their quantities (seconds for transcriptions).
const COUNT_AND_SUM: [(&str, &str); 2] = [
    ("COUNT(*)", "n"),
    (
        "CAST(COALESCE(SUM(quantity), 0) AS DOUBLE PRECISION)",
        "total",
    ),
];

/// The tenant's figures from `from_ms` to `to_ms` in one sum (what the quotas need).
pub async fn totals<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    from_ms: i64,
    to_ms: i64,
) -> Result<Figures, DbErr> {
    let mut q = of_tenant(tenant_id, from_ms, to_ms)
        .select_only()
        .column(usage_ledger::Column::Kind);
    for (expr, alias) in COUNT_AND_SUM {
        q = q.column_as(Expr::cust(expr), alias);
    }
    let rows: Vec<(String, i64, f64)> = q
        .group_by(usage_ledger::Column::Kind)
        .into_tuple()
        .all(c)
        .await?;
    let mut f = Figures::default();
    for (kind, n, sum) in rows {
        if let Some(k) = Kind::parse(&kind) {
            f.add(k, n, sum);
        }
    }
    Ok(f)
}

/// The tenant's figures per UTC day from `from_ms` (inclusive) to `to_ms` (exclusive), both at
/// UTC midnight; `number_ids`: the tenant's numbers (those connected now are counted).
pub async fn report<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    number_ids: &[i64],
    from_ms: i64,
    to_ms: i64,
) -> Result<Report, DbErr> {
    let first = from_ms.div_euclid(DAY_MS);
    let last = (to_ms - 1).div_euclid(DAY_MS);
    let mut days: Vec<Day> = (first..=last)
        .map(|d| Day {
            date: date_of(d),
            figures: Figures::default(),
        })
        .collect();
    let mut report = Report {
        totals: Figures::default(),
        days: Vec::new(),
        active_numbers: 0,
        connected_numbers: 0,
    };
    if to_ms <= from_ms {
        report.days = days;
        return Ok(report);
    }
    let mut q = of_tenant(tenant_id, from_ms, to_ms)
        .select_only()
        .column_as(Expr::cust(format!("at / {DAY_MS}")), "day")
        .column(usage_ledger::Column::Kind);
    for (expr, alias) in COUNT_AND_SUM {
        q = q.column_as(Expr::cust(expr), alias);
    }
    let rows: Vec<(i64, String, i64, f64)> = q
        .group_by(Expr::cust("1"))
        .group_by(usage_ledger::Column::Kind)
        .into_tuple()
        .all(c)
        .await?;
    for (day, kind, n, sum) in rows {
        let (Some(d), Some(k)) = (
            usize::try_from(day - first)
                .ok()
                .and_then(|i| days.get_mut(i)),
            Kind::parse(&kind),
        ) else {
            continue;
        };
        d.figures.add(k, n, sum);
    }
    for d in &days {
        report.totals.inbound += d.figures.inbound;
        report.totals.outbound += d.figures.outbound;
        report.totals.media += d.figures.media;
        report.totals.transcribed += d.figures.transcribed;
        report.totals.transcribed_seconds += d.figures.transcribed_seconds;
    }
    report.totals.transcribed_seconds = (report.totals.transcribed_seconds * 10.0).round() / 10.0;
    report.active_numbers = of_tenant(tenant_id, from_ms, to_ms)
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT number_id)"), "n")
        .filter(usage_ledger::Column::Kind.is_in([Kind::Inbound.as_str(), Kind::Outbound.as_str()]))
        .into_tuple::<i64>()
        .one(c)
        .await?
        .unwrap_or(0);
    if !number_ids.is_empty() {
        report.connected_numbers = numbers::Entity::find()
            .filter(numbers::Column::Id.is_in(number_ids.iter().copied()))
            .filter(numbers::Column::Active.eq(true))
            .count(c)
            .await? as i64;
    }
    report.days = days;
    Ok(report)
}
