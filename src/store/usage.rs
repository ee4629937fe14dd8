//! Usage figures per tenant and period, counted from what was relayed: messages each way, media,
//! voice notes transcribed (and their seconds), numbers active.

use entity::{media, messages, numbers};
use sea_orm::{
    sea_query::{Expr, Query},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;

use super::messages::{IN, OUT};

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub inbound: i64,
    pub outbound: i64,
    pub media: i64,
    pub transcribed: i64,
    pub transcribed_seconds: f64,
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

/// Figures for the numbers `number_ids` from `from_ms` (inclusive) to `to_ms` (exclusive), both
/// at UTC midnight.
pub async fn report<C: ConnectionTrait>(
    c: &C,
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
    if number_ids.is_empty() || to_ms <= from_ms {
        report.days = days;
        return Ok(report);
    }
    let chats_of_numbers = Query::select()
        .column(entity::chats::Column::Id)
        .from(entity::chats::Entity)
        .and_where(entity::chats::Column::NumberId.is_in(number_ids.iter().copied()))
        .to_owned();
    // Per day and direction: messages, those with a file, those with a transcript.
    let rows: Vec<(i64, String, i64, i64, i64)> = messages::Entity::find()
        .select_only()
        .column_as(Expr::cust(format!("created_at / {DAY_MS}")), "day")
        .column(messages::Column::Direction)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(
            Expr::cust("SUM(CASE WHEN media_id IS NULL THEN 0 ELSE 1 END)"),
            "with_media",
        )
        .column_as(
            Expr::cust("SUM(CASE WHEN transcript IS NULL THEN 0 ELSE 1 END)"),
            "with_transcript",
        )
        .filter(messages::Column::ChatId.in_subquery(chats_of_numbers))
        .filter(messages::Column::CreatedAt.gte(from_ms))
        .filter(messages::Column::CreatedAt.lt(to_ms))
        .group_by(Expr::cust("1"))
        .group_by(messages::Column::Direction)
        .into_tuple()
        .all(c)
        .await?;
    for (day, direction, n, with_media, with_transcript) in rows {
        let Some(d) = usize::try_from(day - first)
            .ok()
            .and_then(|i| days.get_mut(i))
        else {
            continue;
        };
        match direction.as_str() {
            IN => d.figures.inbound += n,
            OUT => d.figures.outbound += n,
            _ => {}
        }
        d.figures.media += with_media;
        d.figures.transcribed += with_transcript;
    }
    // Seconds of the voice notes that got a transcript, by the day their file was stored.
    let seconds: Vec<(i64, Option<f64>)> = media::Entity::find()
        .select_only()
        .column_as(Expr::cust(format!("created_at / {DAY_MS}")), "day")
        .column_as(
            Expr::cust("CAST(SUM(seconds) AS DOUBLE PRECISION)"),
            "seconds",
        )
        .filter(media::Column::NumberId.is_in(number_ids.iter().copied()))
        .filter(media::Column::Kind.eq("voice"))
        .filter(media::Column::CreatedAt.gte(from_ms))
        .filter(media::Column::CreatedAt.lt(to_ms))
        .filter(
            media::Column::Id.in_subquery(
                Query::select()
                    .column(messages::Column::MediaId)
                    .from(messages::Entity)
                    .and_where(messages::Column::Transcript.is_not_null())
                    .and_where(messages::Column::MediaId.is_not_null())
                    .to_owned(),
            ),
        )
        .group_by(Expr::cust("1"))
        .into_tuple()
        .all(c)
        .await?;
    for (day, s) in seconds {
        if let Some(d) = usize::try_from(day - first)
            .ok()
            .and_then(|i| days.get_mut(i))
        {
            d.figures.transcribed_seconds += s.unwrap_or(0.0);
        }
    }
    for d in &days {
        report.totals.inbound += d.figures.inbound;
        report.totals.outbound += d.figures.outbound;
        report.totals.media += d.figures.media;
        report.totals.transcribed += d.figures.transcribed;
        report.totals.transcribed_seconds += d.figures.transcribed_seconds;
    }
    report.totals.transcribed_seconds = (report.totals.transcribed_seconds * 10.0).round() / 10.0;
    report.active_numbers = entity::chats::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(DISTINCT number_id)"), "n")
        .filter(entity::chats::Column::NumberId.is_in(number_ids.iter().copied()))
        .filter(
            entity::chats::Column::Id.in_subquery(
                Query::select()
                    .column(messages::Column::ChatId)
                    .from(messages::Entity)
                    .and_where(messages::Column::CreatedAt.gte(from_ms))
                    .and_where(messages::Column::CreatedAt.lt(to_ms))
                    .to_owned(),
            ),
        )
        .into_tuple::<i64>()
        .one(c)
        .await?
        .unwrap_or(0);
    report.connected_numbers = numbers::Entity::find()
        .filter(numbers::Column::Id.is_in(number_ids.iter().copied()))
        .filter(numbers::Column::Active.eq(true))
        .count(c)
        .await? as i64;
    report.days = days;
    Ok(report)
}
