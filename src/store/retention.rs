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
    sea_query::{Expr, Query, SelectStatement, SimpleExpr},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{
    jobs as job_rows, media as media_rows,
    query::{delete_in, delete_in_where, first, pick, set_where, update_where},
};

/// A file being deleted: its row is decided, the file may still be on disk.
pub const PURGING: &str = "purging";
/// The file is gone; the row stays while a message still refers to it.
pub const PURGED: &str = "purged";

/// Work that is not finished, which the sweep leaves alone whatever its age.
#[derive(Debug, Default, Clone)]
struct InFlight {
    /// Chats with a pending job in their queues (a message being relayed, a receipt, a
    /// transcription).
    chats: HashSet<i64>,
    /// Messages whose transcript is stored but not yet applied.
    messages: HashSet<i64>,
    /// Files of those chats' and messages' messages, and attachments of pending sends.
    media: HashSet<i64>,
}

/// Reads what is in flight now.
async fn in_flight<C: ConnectionTrait>(c: &C) -> Result<InFlight, DbErr> {
    let pending: Vec<(i64, String)> = pick(
        [jobs::Column::Id, jobs::Column::QueueKey],
        jobs::Column::Status.eq(job_rows::PENDING),
    )
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
    let unapplied = Condition::all()
        .add(inbox::Column::Source.eq(super::inbox::SOURCE_TRANSCRIPT))
        .add(inbox::Column::Processed.eq(false));
    let transcripts: Vec<String> = pick([inbox::Column::ExternalId], unapplied)
        .into_tuple()
        .all(c)
        .await?;
    busy.messages = transcripts.iter().filter_map(|s| s.parse().ok()).collect();
    if !busy.chats.is_empty() || !busy.messages.is_empty() {
        let theirs = Condition::all()
            .add(
                messages::Column::ChatId
                    .is_in(busy.chats.iter().copied())
                    .or(messages::Column::Id.is_in(busy.messages.iter().copied())),
            )
            .add(messages::Column::MediaId.is_not_null());
        let files: Vec<Option<i64>> = pick([messages::Column::MediaId], theirs)
            .into_tuple()
            .all(c)
            .await?;
        busy.media.extend(files.into_iter().flatten());
    }
    for keys in out_keys.chunks(500) {
        let sends = media::Column::SourceKey.is_in(keys.iter().cloned());
        let ids: Vec<i64> = pick([media::Column::Id], sends).into_tuple().all(c).await?;
        busy.media.extend(ids);
    }
    Ok(busy)
}

/// `col` is none of `ids`; no condition when there are none.
fn none_of(col: impl ColumnTrait, ids: &HashSet<i64>) -> Option<SimpleExpr> {
    (!ids.is_empty()).then(|| col.is_not_in(ids.iter().copied()))
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
    let sets = [
        (portals::Column::PurgedAt, now.into()),
        (portals::Column::UpdatedAt, now.into()),
    ];
    update_where(c, sets, portals::Column::Id.eq(id)).await?;
    Ok(())
}

/// The ids of a portal's numbers.
pub async fn number_ids<C: ConnectionTrait>(c: &C, portal_id: i64) -> Result<Vec<i64>, DbErr> {
    pick(
        [numbers::Column::Id],
        numbers::Column::PortalId.eq(portal_id),
    )
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

/// `SELECT col FROM its table WHERE by IN ids` (a subquery).
fn select_in(col: impl ColumnTrait, by: impl ColumnTrait, ids: &[i64]) -> SelectStatement {
    Query::select()
        .column(col)
        .from(col.entity_name())
        .and_where(by.is_in(ids.iter().copied()))
        .to_owned()
}

/// The values among `ids` that column `col` holds (a subquery: which of them its rows refer to).
fn referred(col: impl ColumnTrait, ids: &[i64]) -> SelectStatement {
    select_in(col, col, ids)
}

/// Deletes the rows `ids` of `id`'s table that none of the `refs` refers to; how many.
async fn delete_unreferenced<E, C>(
    c: &C,
    id: impl ColumnTrait<EntityName = E>,
    ids: &[i64],
    refs: impl IntoIterator<Item = SelectStatement>,
) -> Result<u64, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let unreferenced = refs
        .into_iter()
        .fold(Condition::all(), |cond, r| cond.add(id.not_in_subquery(r)));
    delete_in_where(c, id, ids, unreferenced).await
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
    let unpurged = media::Column::Id
        .is_in(ids.iter().copied())
        .and(media::Column::State.ne(PURGED));
    set_where(c, media::Column::State, PURGING, unpurged).await
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

/// Up to `limit` rows marked `purging`: id, storage key and size.
pub async fn purging<C: ConnectionTrait>(
    c: &C,
    limit: u64,
) -> Result<Vec<(i64, String, i64)>, DbErr> {
    let more = [media::Column::StorageKey, media::Column::Size];
    first(
        c,
        media::Column::Id,
        &more,
        media::Column::State.eq(PURGING),
        limit,
    )
    .await
}

/// The files of `ids` are gone: rows no message refers to any more are deleted, the others
/// marked `purged` (the message shows that its file expired). Returns the rows deleted.
pub async fn finish_purged<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sets = [
        (media::Column::State, PURGED.into()),
        (media::Column::StorageKey, "".into()),
    ];
    update_where(c, sets, media::Column::Id.is_in(ids.iter().copied())).await?;
    let refs = [referred(messages::Column::MediaId, ids)];
    delete_unreferenced(c, media::Column::Id, ids, refs).await
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

/// Which jobs a batch takes.
#[derive(Debug, Clone, Copy)]
pub enum JobScope<'a> {
    /// Finished (done or dead) jobs of these owners.
    Finished(&'a [String]),
    /// Every job of these owners, and of these chats' queues (an uninstall's purge).
    All(&'a [String], &'a [i64]),
}

/// Which rows the sweep deletes, a batch at a time: the cases of [`find`].
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// Messages of the numbers' chats created before the time and not in flight.
    MessagesBefore(&'a [i64], i64),
    /// Every message of these chats (an uninstall's purge).
    MessagesOfChats(&'a [i64]),
    /// Stored files of the numbers created before the time and not in flight.
    MediaBefore(&'a [i64], i64),
    /// The numbers' files not being deleted or gone yet (an uninstall's purge).
    MediaOfNumbers(&'a [i64]),
    /// Inbox items of the owners stored before the time: processed ones, or (`true`: an
    /// uninstall's purge) all of them.
    Inbox(&'a [String], i64, bool),
    /// Jobs in the scope last changed before the time.
    Jobs(JobScope<'a>, i64),
}

/// Tables whose rows go by id alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Inbox,
    Jobs,
}

/// What one batch found.
#[derive(Debug)]
pub enum Found {
    /// Messages with their files ([`delete_messages`]).
    Messages(Vec<(i64, Option<i64>)>),
    /// Files to delete ([`mark_purging`], then [`purging`]).
    Media(Vec<i64>),
    /// Rows to delete ([`delete_rows`]).
    Rows(Table, Vec<i64>),
}

impl Found {
    pub fn is_empty(&self) -> bool {
        match self {
            Found::Messages(m) => m.is_empty(),
            Found::Media(ids) | Found::Rows(_, ids) => ids.is_empty(),
        }
    }
}

/// Up to `limit` rows of `batch`, lowest ids first.
pub async fn find<C: ConnectionTrait>(c: &C, batch: Batch<'_>, limit: u64) -> Result<Found, DbErr> {
    use messages::Column as M;
    let found = match batch {
        Batch::MessagesBefore(numbers, before) => {
            let busy = in_flight(c).await?;
            if numbers.is_empty() {
                return Ok(Found::Messages(Vec::new()));
            }
            let cond = Condition::all()
                .add(M::ChatId.in_subquery(select_in(
                    chats::Column::Id,
                    chats::Column::NumberId,
                    numbers,
                )))
                .add(M::CreatedAt.lt(before))
                .add_option(none_of(M::ChatId, &busy.chats))
                .add_option(none_of(M::Id, &busy.messages));
            Found::Messages(first(c, M::Id, &[M::MediaId], cond, limit).await?)
        }
        Batch::MessagesOfChats(chats) => {
            let cond = M::ChatId.is_in(chats.iter().copied());
            Found::Messages(first(c, M::Id, &[M::MediaId], cond, limit).await?)
        }
        Batch::MediaBefore(numbers, before) => {
            let busy = in_flight(c).await?;
            if numbers.is_empty() {
                return Ok(Found::Media(Vec::new()));
            }
            let cond = Condition::all()
                .add(media::Column::NumberId.is_in(numbers.iter().copied()))
                .add(media::Column::State.eq(media_rows::STORED))
                .add(media::Column::CreatedAt.lt(before))
                .add_option(none_of(media::Column::Id, &busy.media));
            Found::Media(first(c, media::Column::Id, &[], cond, limit).await?)
        }
        Batch::MediaOfNumbers(numbers) => {
            if numbers.is_empty() {
                return Ok(Found::Media(Vec::new()));
            }
            let cond = media::Column::NumberId
                .is_in(numbers.iter().copied())
                .and(media::Column::State.is_not_in([PURGING, PURGED]));
            Found::Media(first(c, media::Column::Id, &[], cond, limit).await?)
        }
        Batch::Inbox(owners, before, all) => {
            let cond = Condition::all()
                .add(inbox::Column::Owner.is_in(owners.iter().cloned()))
                .add(inbox::Column::CreatedAt.lt(before))
                .add_option((!all).then(|| inbox::Column::Processed.eq(true)));
            let ids = first(c, inbox::Column::Id, &[], cond, limit).await?;
            Found::Rows(Table::Inbox, ids)
        }
        Batch::Jobs(scope, before) => {
            let which = match scope {
                JobScope::Finished(owners) => jobs::Column::Owner
                    .is_in(owners.iter().cloned())
                    .and(jobs::Column::Status.is_in([job_rows::DONE, job_rows::DEAD])),
                JobScope::All(owners, chat_ids) => {
                    let queues = chat_ids
                        .iter()
                        .flat_map(|id| [job_rows::chat_queue(*id), format!("voice:{id}")]);
                    jobs::Column::Owner
                        .is_in(owners.iter().cloned())
                        .or(jobs::Column::QueueKey.is_in(queues))
                }
            };
            let cond = Condition::all()
                .add(jobs::Column::UpdatedAt.lt(before))
                .add(which);
            let ids = first(c, jobs::Column::Id, &[], cond, limit).await?;
            Found::Rows(Table::Jobs, ids)
        }
    };
    Ok(found)
}

/// Deletes rows `ids` of `table`; how many.
pub async fn delete_rows<C: ConnectionTrait>(
    c: &C,
    table: Table,
    ids: &[i64],
) -> Result<u64, DbErr> {
    match table {
        Table::Inbox => delete_in(c, inbox::Column::Id, ids).await,
        Table::Jobs => delete_in(c, jobs::Column::Id, ids).await,
    }
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
    let cond = chats::Column::NumberId.is_in(number_ids.iter().copied());
    first(c, chats::Column::Id, &[], cond, limit).await
}

/// Deletes chats that have no message left; returns how many.
pub async fn delete_empty_chats<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    let refs = [referred(messages::Column::ChatId, ids)];
    delete_unreferenced(c, chats::Column::Id, ids, refs).await
}

/// Deletes numbers (their bindings to the portal's lines, their credentials and templates)
/// that have no chat and no file row left; returns how many.
pub async fn delete_numbers<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<u64, DbErr> {
    delete_in(c, templates::Column::NumberId, ids).await?;
    let refs = [
        referred(chats::Column::NumberId, ids),
        referred(media::Column::NumberId, ids),
    ];
    delete_unreferenced(c, numbers::Column::Id, ids, refs).await
}
