//! The retention sweep's queries: which rows are past their retention, what is still in flight
//! (never deleted), and the deletes themselves, by id, in short transactions. Every delete is
//! idempotent (a row deleted twice, by a rerun or by another node, is simply not there), so a
//! sweep cut off at any point is finished by the next one.
//!
//! Media files go in two steps: their rows are marked `purging` in the transaction that
//! decides it, the files are deleted after that commit, and then the rows are marked `purged`
//! (or deleted, once no message refers to them). A sweep killed between the two steps leaves
//! `purging` rows, whose files the next sweep deletes first.

use std::collections::HashSet;

use entity::{chats, inbox, jobs, media, message_hops, messages, numbers, portals, templates};
use sea_orm::{
    sea_query::{Expr, Query},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{
    jobs as job_rows, media as media_rows,
    query::{delete_in, delete_in_where},
};

/// A file being deleted: its row is decided, the file may still be on disk.
pub const PURGING: &str = "purging";
/// The file is gone; the row stays while a message still refers to it.
pub const PURGED: &str = "purged";

/// Work that is not finished, which the sweep leaves alone whatever its age.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    /// Chats with a pending job in their queues (a message being relayed, a receipt, a
    /// transcription).
    pub chats: HashSet<i64>,
    /// Messages whose transcript is stored but not yet applied.
    pub messages: HashSet<i64>,
    /// Files of those chats' and messages' messages, and attachments of pending sends.
    pub media: HashSet<i64>,
}

/// Reads what is in flight now.
pub async fn in_flight<C: ConnectionTrait>(c: &C) -> Result<InFlight, DbErr> {
    let pending: Vec<(i64, String)> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Id)
        .column(jobs::Column::QueueKey)
        .filter(jobs::Column::Status.eq(job_rows::PENDING))
        .into_tuple()
        .all(c)
        .await?;
    let mut busy = InFlight::default();
    let mut out_keys = Vec::new();
    for (id, queue) in &pending {
        let chat = job_rows::parse_chat_queue(queue)
            .or_else(|| queue.strip_prefix("voice:").and_then(|s| s.parse().ok()));
        if let Some(chat) = chat {
            busy.chats.insert(chat);
        }
        out_keys.push(media_rows::outbound_key(*id));
    }
    let transcripts: Vec<String> = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::ExternalId)
        .filter(inbox::Column::Source.eq(super::inbox::SOURCE_TRANSCRIPT))
        .filter(inbox::Column::Processed.eq(false))
        .into_tuple()
        .all(c)
        .await?;
    busy.messages = transcripts.iter().filter_map(|s| s.parse().ok()).collect();
    if !busy.chats.is_empty() || !busy.messages.is_empty() {
        let files: Vec<Option<i64>> = messages::Entity::find()
            .select_only()
            .column(messages::Column::MediaId)
            .filter(
                messages::Column::ChatId
                    .is_in(busy.chats.iter().copied())
                    .or(messages::Column::Id.is_in(busy.messages.iter().copied())),
            )
            .filter(messages::Column::MediaId.is_not_null())
            .into_tuple()
            .all(c)
            .await?;
        busy.media.extend(files.into_iter().flatten());
    }
    for keys in out_keys.chunks(500) {
        let ids: Vec<i64> = media::Entity::find()
            .select_only()
            .column(media::Column::Id)
            .filter(media::Column::SourceKey.is_in(keys.iter().cloned()))
            .into_tuple()
            .all(c)
            .await?;
        busy.media.extend(ids);
    }
    Ok(busy)
}

/// Portals whose data is kept (not purged after an uninstall).
pub async fn live_portals<C: ConnectionTrait>(c: &C) -> Result<Vec<portals::Model>, DbErr> {
    portals::Entity::find()
        .filter(portals::Column::PurgedAt.is_null())
        .order_by_asc(portals::Column::Id)
        .all(c)
        .await
}

/// Whether portal `id` is (still) due its uninstall purge at `now`: uninstalled with
/// `CLEAN=1`, its grace period over, and not installed again.
pub async fn purge_due<C: ConnectionTrait>(c: &C, id: i64, now: i64) -> Result<bool, DbErr> {
    Ok(portals::Entity::find_by_id(id)
        .one(c)
        .await?
        .is_some_and(|p| {
            !p.installed && p.purged_at.is_none() && p.purge_after.is_some_and(|t| t <= now)
        }))
}

/// The purge of portal `id` is finished.
pub async fn mark_purged<C: ConnectionTrait>(c: &C, id: i64, now: i64) -> Result<(), DbErr> {
    portals::Entity::update_many()
        .col_expr(portals::Column::PurgedAt, Expr::value(now))
        .col_expr(portals::Column::UpdatedAt, Expr::value(now))
        .filter(portals::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// The ids of a portal's numbers.
pub async fn number_ids<C: ConnectionTrait>(c: &C, portal_id: i64) -> Result<Vec<i64>, DbErr> {
    numbers::Entity::find()
        .select_only()
        .column(numbers::Column::Id)
        .filter(numbers::Column::PortalId.eq(portal_id))
        .order_by_asc(numbers::Column::Id)
        .into_tuple()
        .all(c)
        .await
}

/// The `jobs.owner` / `inbox.owner` keys of a portal and its numbers.
pub fn owners(portal_id: i64, number_ids: &[i64]) -> Vec<String> {
    std::iter::once(job_rows::portal_owner(portal_id))
        .chain(number_ids.iter().map(|n| job_rows::number_owner(*n)))
        .collect()
}

fn chats_of(number_ids: &[i64]) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(chats::Column::Id)
        .from(chats::Entity)
        .and_where(chats::Column::NumberId.is_in(number_ids.iter().copied()))
        .to_owned()
}

/// Up to `limit` messages of the numbers' chats created before `before` and not in flight:
/// their ids and files.
pub async fn messages_before<C: ConnectionTrait>(
    c: &C,
    number_ids: &[i64],
    before: i64,
    busy: &InFlight,
    limit: u64,
) -> Result<Vec<(i64, Option<i64>)>, DbErr> {
    if number_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = messages::Entity::find()
        .select_only()
        .column(messages::Column::Id)
        .column(messages::Column::MediaId)
        .filter(messages::Column::ChatId.in_subquery(chats_of(number_ids)))
        .filter(messages::Column::CreatedAt.lt(before));
    if !busy.chats.is_empty() {
        q = q.filter(messages::Column::ChatId.is_not_in(busy.chats.iter().copied()));
    }
    if !busy.messages.is_empty() {
        q = q.filter(messages::Column::Id.is_not_in(busy.messages.iter().copied()));
    }
    q.order_by_asc(messages::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// What one delete removed, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub messages: u64,
    /// Of those messages, the ones that held a transcript.
    pub transcripts: u64,
    pub hops: u64,
}

/// Deletes messages `ids` with their hops; their files' rows are marked `purging` in the same
/// transaction (the files go after it commits).
pub async fn delete_messages<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
    files: &[i64],
) -> Result<Removed, DbErr> {
    if ids.is_empty() {
        return Ok(Removed::default());
    }
    let hops = delete_in(c, message_hops::Column::MessageId, ids).await?;
    let transcripts = messages::Entity::find()
        .filter(messages::Column::Id.is_in(ids.iter().copied()))
        .filter(messages::Column::Transcript.is_not_null())
        .count(c)
        .await?;
    mark_purging(c, files).await?;
    let messages = delete_in(c, messages::Column::Id, ids).await?;
    // Files already purged by the media retention: only their rows were left, for the messages.
    delete_in_where(c, media::Column::Id, files, media::Column::State.eq(PURGED)).await?;
    Ok(Removed {
        messages,
        transcripts,
        hops,
    })
}

/// Marks media rows `purging` (their files are deleted next); rows already purged stay so.
pub async fn mark_purging<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    media::Entity::update_many()
        .col_expr(media::Column::State, Expr::value(PURGING))
        .filter(media::Column::Id.is_in(ids.iter().copied()))
        .filter(media::Column::State.ne(PURGED))
        .exec(c)
        .await?;
    Ok(())
}

/// Up to `limit` stored files of the numbers created before `before` and not in flight.
pub async fn media_before<C: ConnectionTrait>(
    c: &C,
    number_ids: &[i64],
    before: i64,
    busy: &InFlight,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    if number_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = media::Entity::find()
        .select_only()
        .column(media::Column::Id)
        .filter(media::Column::NumberId.is_in(number_ids.iter().copied()))
        .filter(media::Column::State.eq(media_rows::STORED))
        .filter(media::Column::CreatedAt.lt(before));
    if !busy.media.is_empty() {
        q = q.filter(media::Column::Id.is_not_in(busy.media.iter().copied()));
    }
    q.order_by_asc(media::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// Deletes the numbers' rows of files already purged (an uninstall's purge, once their
/// messages are gone).
pub async fn delete_purged_media_of_numbers<C: ConnectionTrait>(
    c: &C,
    number_ids: &[i64],
) -> Result<u64, DbErr> {
    delete_in_where(
        c,
        media::Column::NumberId,
        number_ids,
        media::Column::State.eq(PURGED),
    )
    .await
}

/// Up to `limit` media rows of the numbers whose files are not being deleted or gone yet (an
/// uninstall's purge).
pub async fn media_of_numbers<C: ConnectionTrait>(
    c: &C,
    number_ids: &[i64],
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    if number_ids.is_empty() {
        return Ok(Vec::new());
    }
    media::Entity::find()
        .select_only()
        .column(media::Column::Id)
        .filter(media::Column::NumberId.is_in(number_ids.iter().copied()))
        .filter(media::Column::State.is_not_in([PURGING, PURGED]))
        .order_by_asc(media::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// Up to `limit` rows marked `purging`: id, storage key and size.
pub async fn purging<C: ConnectionTrait>(
    c: &C,
    limit: u64,
) -> Result<Vec<(i64, String, i64)>, DbErr> {
    media::Entity::find()
        .select_only()
        .column(media::Column::Id)
        .column(media::Column::StorageKey)
        .column(media::Column::Size)
        .filter(media::Column::State.eq(PURGING))
        .order_by_asc(media::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// The files of `ids` are gone: rows no message refers to any more are deleted, the others
/// marked `purged` (the message shows that its file expired). Returns the rows deleted.
pub async fn finish_purged<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    media::Entity::update_many()
        .col_expr(media::Column::State, Expr::value(PURGED))
        .col_expr(media::Column::StorageKey, Expr::value(""))
        .filter(media::Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    let referenced = Query::select()
        .column(messages::Column::MediaId)
        .from(messages::Entity)
        .and_where(messages::Column::MediaId.is_in(ids.iter().copied()))
        .to_owned();
    delete_in_where(
        c,
        media::Column::Id,
        ids,
        media::Column::Id.not_in_subquery(referenced),
    )
    .await
}

/// Bytes of the files in the media store (rows `stored`).
pub async fn stored_bytes<C: ConnectionTrait>(c: &C) -> Result<i64, DbErr> {
    let sum: Option<Option<i64>> = media::Entity::find()
        .select_only()
        .column_as(
            Expr::col(media::Column::Size)
                .sum()
                .cast_as(sea_orm::sea_query::Alias::new("BIGINT")),
            "bytes",
        )
        .filter(media::Column::State.eq(media_rows::STORED))
        .into_tuple()
        .one(c)
        .await?;
    Ok(sum.flatten().unwrap_or(0))
}

/// Up to `limit` processed inbox items of `owners` stored before `before` (all of them,
/// processed or not, when `all`: an uninstall's purge).
pub async fn inbox_before<C: ConnectionTrait>(
    c: &C,
    owners: &[String],
    before: i64,
    all: bool,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let mut q = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::Id)
        .filter(inbox::Column::Owner.is_in(owners.iter().cloned()))
        .filter(inbox::Column::CreatedAt.lt(before));
    if !all {
        q = q.filter(inbox::Column::Processed.eq(true));
    }
    q.order_by_asc(inbox::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

pub async fn delete_inbox<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    delete_in(c, inbox::Column::Id, ids).await
}

/// Which jobs a delete looks at.
pub enum JobScope<'a> {
    /// Finished (done or dead) jobs of these owners last changed before the time.
    Finished(&'a [String]),
    /// Every job of these owners, and of these chats' queues (an uninstall's purge).
    All(&'a [String], &'a [i64]),
}

/// Up to `limit` jobs in `scope` last changed before `before`.
pub async fn jobs_before<C: ConnectionTrait>(
    c: &C,
    scope: JobScope<'_>,
    before: i64,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let mut q = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Id)
        .filter(jobs::Column::UpdatedAt.lt(before));
    q = match scope {
        JobScope::Finished(owners) => q
            .filter(jobs::Column::Owner.is_in(owners.iter().cloned()))
            .filter(jobs::Column::Status.is_in([job_rows::DONE, job_rows::DEAD])),
        JobScope::All(owners, chat_ids) => {
            let queues = chat_ids
                .iter()
                .flat_map(|id| [job_rows::chat_queue(*id), format!("voice:{id}")]);
            q.filter(
                jobs::Column::Owner
                    .is_in(owners.iter().cloned())
                    .or(jobs::Column::QueueKey.is_in(queues)),
            )
        }
    };
    q.order_by_asc(jobs::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

pub async fn delete_jobs<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    delete_in(c, jobs::Column::Id, ids).await
}

/// Up to `limit` chats of the numbers (an uninstall's purge).
pub async fn chats_of_numbers<C: ConnectionTrait>(
    c: &C,
    number_ids: &[i64],
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    if number_ids.is_empty() {
        return Ok(Vec::new());
    }
    chats::Entity::find()
        .select_only()
        .column(chats::Column::Id)
        .filter(chats::Column::NumberId.is_in(number_ids.iter().copied()))
        .order_by_asc(chats::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// Up to `limit` messages of the chats, with their files (an uninstall's purge).
pub async fn messages_of_chats<C: ConnectionTrait>(
    c: &C,
    chat_ids: &[i64],
    limit: u64,
) -> Result<Vec<(i64, Option<i64>)>, DbErr> {
    messages::Entity::find()
        .select_only()
        .column(messages::Column::Id)
        .column(messages::Column::MediaId)
        .filter(messages::Column::ChatId.is_in(chat_ids.iter().copied()))
        .order_by_asc(messages::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await
}

/// Deletes chats that have no message left; returns how many.
pub async fn delete_empty_chats<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let with_messages = Query::select()
        .column(messages::Column::ChatId)
        .from(messages::Entity)
        .and_where(messages::Column::ChatId.is_in(ids.iter().copied()))
        .to_owned();
    delete_in_where(
        c,
        chats::Column::Id,
        ids,
        chats::Column::Id.not_in_subquery(with_messages),
    )
    .await
}

/// Deletes numbers (their bindings to the portal's lines, their credentials and templates)
/// that have no chat and no file row left; returns how many.
pub async fn delete_numbers<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    delete_in(c, templates::Column::NumberId, ids).await?;
    let with_chats = Query::select()
        .column(chats::Column::NumberId)
        .from(chats::Entity)
        .and_where(chats::Column::NumberId.is_in(ids.iter().copied()))
        .to_owned();
    let with_media = Query::select()
        .column(media::Column::NumberId)
        .from(media::Entity)
        .and_where(media::Column::NumberId.is_in(ids.iter().copied()))
        .to_owned();
    delete_in_where(
        c,
        numbers::Column::Id,
        ids,
        Condition::all()
            .add(numbers::Column::Id.not_in_subquery(with_chats))
            .add(numbers::Column::Id.not_in_subquery(with_media)),
    )
    .await
}

/// Up to `limit` finished jobs of the transcriber (one owner for every tenant) last changed
/// before `before`.
pub async fn transcriber_jobs_before<C: ConnectionTrait>(
    c: &C,
    before: i64,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let owners = [job_rows::TRANSCRIBER_OWNER.to_string()];
    jobs_before(c, JobScope::Finished(&owners), before, limit).await
}
