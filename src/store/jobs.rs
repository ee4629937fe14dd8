//! The outbox: every outbound provider call is a stored job with attempts and a next-attempt
//! time, owned by one actor ("portal:<id>" or "number:<id>") and ordered per `queue_key`.

use entity::jobs;
use sea_orm::{
    sea_query::Expr, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, UpdateMany,
};

use super::{
    now_ms,
    query::{update_where, FilterIf},
};

pub const PENDING: &str = "pending";
pub const DONE: &str = "done";
pub const DEAD: &str = "dead";

pub use crate::relay::jobs::{Job, KINDS};

pub fn portal_owner(portal_id: i64) -> String {
    format!("portal:{portal_id}")
}
pub fn number_owner(number_id: i64) -> String {
    format!("number:{number_id}")
}
/// The transcriber's jobs (one owner for the whole pool).
pub const TRANSCRIBER_OWNER: &str = "transcriber";

pub fn chat_queue(chat_id: i64) -> String {
    format!("chat:{chat_id}")
}

/// The chat id of a `chat:<id>` queue key.
pub fn parse_chat_queue(key: &str) -> Option<i64> {
    key.strip_prefix("chat:")?.parse().ok()
}

pub async fn enqueue<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    queue_key: &str,
    job: &Job,
) -> Result<i64, DbErr> {
    let now = now_ms();
    let payload = serde_json::to_string(job).map_err(|e| DbErr::Custom(e.to_string()))?;
    let am = jobs::ActiveModel {
        owner: Set(owner.to_string()),
        queue_key: Set(queue_key.to_string()),
        kind: Set(job.kind().to_string()),
        payload: Set(payload),
        status: Set(PENDING.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        // The message this job carries on, when enqueued while handling one.
        trace_id: Set(crate::trace::current_id()),
        origin_at: Set(crate::trace::current_origin()),
        ..Default::default()
    };
    let id = jobs::Entity::insert(am).exec(c).await?.last_insert_id;
    crate::metrics::job_queued(job.kind());
    Ok(id)
}

/// Pending jobs per kind (for the metrics gauge, read at scrape time).
pub async fn pending_by_kind<C: ConnectionTrait>(c: &C) -> Result<Vec<(String, i64)>, DbErr> {
    jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Kind)
        .column_as(jobs::Column::Id.count(), "n")
        .filter(jobs::Column::Status.eq(PENDING))
        .group_by(jobs::Column::Kind)
        .into_tuple()
        .all(c)
        .await
}

pub fn decode(row: &jobs::Model) -> Result<Job, DbErr> {
    serde_json::from_str(&row.payload).map_err(|e| DbErr::Custom(format!("job {}: {e}", row.id)))
}

/// Pending jobs of one owner in creation order (due or not: the caller keeps per-queue order).
pub async fn pending<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    limit: u64,
) -> Result<Vec<jobs::Model>, DbErr> {
    jobs::Entity::find()
        .filter(jobs::Column::Owner.eq(owner))
        .filter(jobs::Column::Status.eq(PENDING))
        .order_by_asc(jobs::Column::Id)
        .limit(limit)
        .all(c)
        .await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<jobs::Model>, DbErr> {
    jobs::Entity::find_by_id(id).one(c).await
}

pub async fn mark_done<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let sets = [
        (jobs::Column::Status, DONE.into()),
        (jobs::Column::UpdatedAt, now_ms().into()),
    ];
    update_where(c, sets, jobs::Column::Id.is_in(ids.iter().copied())).await?;
    Ok(())
}

/// Counts one more failed attempt and sets when to try again.
pub async fn retry_later<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
    next_attempt_at: i64,
    error: &str,
) -> Result<(), DbErr> {
    failed_attempt(c, ids, error, |u| {
        u.col_expr(jobs::Column::NextAttemptAt, Expr::value(next_attempt_at))
    })
    .await
}

/// Parks a job that cannot succeed (a permanent error, or out of attempts), keeping the reason;
/// the attempt that failed for good is counted.
pub async fn mark_dead<C: ConnectionTrait>(c: &C, ids: &[i64], error: &str) -> Result<(), DbErr> {
    failed_attempt(c, ids, error, |u| {
        u.col_expr(jobs::Column::Status, Expr::value(DEAD))
    })
    .await
}

/// Counts a failed attempt on `ids`, keeping its `error`, and sets what `then` adds.
async fn failed_attempt<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
    error: &str,
    then: impl FnOnce(UpdateMany<jobs::Entity>) -> UpdateMany<jobs::Entity>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    then(jobs::Entity::update_many())
        .col_expr(
            jobs::Column::Attempts,
            Expr::col(jobs::Column::Attempts).add(1),
        )
        .col_expr(jobs::Column::LastError, Expr::value(error.to_string()))
        .col_expr(jobs::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(jobs::Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    Ok(())
}

/// Owners that have pending jobs (to start their actors after a restart).
pub async fn owners_with_pending<C: ConnectionTrait>(c: &C) -> Result<Vec<String>, DbErr> {
    super::query::distinct(c, jobs::Column::Owner, jobs::Column::Status.eq(PENDING)).await
}

/// Jobs falling due within this window run together with those due now, so retries that
/// failed together are retried together (one batch, one wave) instead of one by one.
pub const COALESCE_MS: i64 = 250;

/// Picks, from pending jobs in id order, those that may run now: a job whose queue has an
/// earlier job not yet due waits behind it, so per-queue order is kept across retries.
pub fn runnable(pending: &[jobs::Model], now: i64) -> Vec<&jobs::Model> {
    let mut blocked = std::collections::HashSet::new();
    let mut out = Vec::new();
    for job in pending {
        if blocked.contains(job.queue_key.as_str()) {
            continue;
        }
        if job.next_attempt_at > now {
            blocked.insert(job.queue_key.as_str());
            continue;
        }
        out.push(job);
    }
    out
}

/// When a runner with nothing due should look again: at the earliest pending job.
pub fn next_wake(pending: &[jobs::Model], now: i64) -> Option<std::time::Duration> {
    let next = pending.iter().map(|j| j.next_attempt_at).min()?;
    Some(std::time::Duration::from_millis((next - now).max(10) as u64))
}

/// Exponential backoff for the n-th failure.
pub fn backoff_ms(attempts: i32, base_ms: u64, max_ms: u64) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    let delay = base_ms.saturating_mul(1u64 << exp).min(max_ms);
    delay as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lists_every_job_kind() {
        let v = serde_json::Value::Null;
        let s = String::new;
        let every = [
            Job::B24Setup,
            Job::B24Activate {
                number_id: 0,
                line: s(),
                active: true,
            },
            Job::B24SendMessage {
                message_id: 0,
                chat_id: 0,
                line: s(),
                item: v.clone(),
            },
            Job::B24Status {
                message_id: 0,
                line: s(),
                reading: false,
                item: v.clone(),
            },
            Job::B24Notice {
                im_chat_id: s(),
                text: s(),
            },
            Job::B24ChatNotice {
                chat_id: 1,
                text: s(),
            },
            Job::B24SmsStatus {
                code: s(),
                message_id: s(),
                status: s(),
            },
            Job::B24CrmNotice {
                im_chat_id: s(),
                chat_id: Some(1),
                user_id: None,
                note: s(),
                text: s(),
            },
            Job::B24Provider {
                number_id: 0,
                registered: true,
            },
            Job::B24UpdateMessage {
                line: s(),
                item: v.clone(),
            },
            Job::B24DeleteMessage {
                line: s(),
                item: v.clone(),
            },
            Job::WaMarkRead {
                wamid: s(),
                to: None,
            },
            Job::WaDelete {
                message_id: 0,
                to: s(),
                wamid: s(),
            },
            Job::WaEdit {
                message_id: 0,
                to: s(),
                wamid: s(),
                text: s(),
            },
            Job::WaSendText {
                message_id: 0,
                to: s(),
                text: s(),
            },
            Job::WaSendMedia {
                message_id: 0,
                to: s(),
                link: s(),
                name: s(),
                mime: s(),
                caption: s(),
            },
            Job::WaSendTemplate {
                message_id: 0,
                to: s(),
                name: s(),
                language: s(),
                components: v.clone(),
            },
            Job::Transcribe {
                message_id: 0,
                number_id: 0,
                wa_id: s(),
                media_id: 0,
            },
        ];
        let kinds: Vec<&str> = every.iter().map(Job::kind).collect();
        assert_eq!(kinds, KINDS);
    }

    fn job(id: i64, key: &str, next: i64) -> jobs::Model {
        jobs::Model {
            id,
            owner: "portal:1".into(),
            queue_key: key.into(),
            kind: "x".into(),
            payload: "{}".into(),
            status: PENDING.into(),
            attempts: 0,
            next_attempt_at: next,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            trace_id: None,
            origin_at: None,
        }
    }

    #[test]
    fn a_waiting_job_blocks_its_queue_only() {
        let jobs = vec![job(1, "a", 100), job(2, "a", 0), job(3, "b", 0)];
        let ids: Vec<i64> = runnable(&jobs, 50).iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![3]);
        let ids: Vec<i64> = runnable(&jobs, 100).iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_ms(0, 500, 60_000), 500);
        assert_eq!(backoff_ms(3, 500, 60_000), 4_000);
        assert_eq!(backoff_ms(30, 500, 60_000), 60_000);
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub owner: Option<String>,
    /// Only these owners (a tenant's portals and numbers); `None`: any.
    pub owners: Option<Vec<String>>,
}

/// Jobs newest first.
impl super::Selection for Filter {
    type Entity = jobs::Entity;

    fn select(&self) -> Select<jobs::Entity> {
        jobs::Entity::find()
            .eq_if(jobs::Column::Status, self.status.as_deref())
            .eq_if(jobs::Column::Kind, self.kind.as_deref())
            .eq_if(jobs::Column::Owner, self.owner.as_deref())
            .apply_if(self.owners.clone(), |q, o| {
                q.filter(jobs::Column::Owner.is_in(o))
            })
            .order_by_desc(jobs::Column::Id)
    }
}

/// Puts a dead job back in its queue to run now, with a fresh attempt count; the last error
/// stays for the record until the next attempt replaces it. `None` if it is not dead.
pub async fn redrive<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<jobs::Model>, DbErr> {
    let now = now_ms();
    let sets = [
        (jobs::Column::Status, PENDING.into()),
        (jobs::Column::Attempts, 0.into()),
        (jobs::Column::NextAttemptAt, now.into()),
        (jobs::Column::UpdatedAt, now.into()),
    ];
    let dead = jobs::Column::Id.eq(id).and(jobs::Column::Status.eq(DEAD));
    if update_where(c, sets, dead).await? == 0 {
        return Ok(None);
    }
    get(c, id).await
}

impl Job {
    /// The message this job carries, if any.
    pub fn message_id(&self) -> Option<i64> {
        match self {
            Job::B24SendMessage { message_id, .. }
            | Job::B24Status { message_id, .. }
            | Job::WaDelete { message_id, .. }
            | Job::WaEdit { message_id, .. }
            | Job::WaSendText { message_id, .. }
            | Job::WaSendMedia { message_id, .. }
            | Job::WaSendTemplate { message_id, .. }
            | Job::Transcribe { message_id, .. } => Some(*message_id),
            _ => None,
        }
    }
}

/// The jobs that carried one message (found within its chat's queues).
pub async fn for_message<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
    message_id: i64,
) -> Result<Vec<jobs::Model>, DbErr> {
    // A cheap pre-filter on the JSON text; decoding below decides.
    let needle = format!("%\"message_id\":{message_id}%");
    let rows = jobs::Entity::find()
        .filter(jobs::Column::QueueKey.is_in([chat_queue(chat_id), format!("voice:{chat_id}")]))
        .filter(jobs::Column::Payload.like(needle))
        .order_by_asc(jobs::Column::Id)
        .all(c)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| decode(r).ok().and_then(|j| j.message_id()) == Some(message_id))
        .collect())
}
