//! Erasing one customer of one tenant (a data subject's request to be forgotten): their chats'
//! messages, transcripts, hops, files, inbox items and jobs stored before the erase began (the
//! cutoff), and the chat rows left with nothing. What arrives from the customer afterwards is a
//! new conversation and stays. Usage totals are not touched here (they are not the customer's
//! data), and the caller records who erased, not whom.

use std::collections::HashSet;

use entity::{chats, inbox, jobs, media, media_links, message_hops, messages};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use super::{contains_ci, media as media_rows, query::delete_in, search, tenants};
use crate::relay::inbox::InboxItem;

/// What one erase removed (counts for the answer; never written to the audit log).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    pub chats: u64,
    pub messages: u64,
    pub inbox_items: u64,
    pub jobs: u64,
    pub files: u64,
    /// The storage keys of the files whose rows were deleted: the caller deletes the bytes once
    /// the transaction has committed (a rollback must not leave rows without their files).
    pub storage_keys: Vec<String>,
}

impl Erased {
    /// Whether there was anything of the customer left to erase.
    pub fn is_empty(&self) -> bool {
        self.chats == 0
            && self.messages == 0
            && self.inbox_items == 0
            && self.jobs == 0
            && self.files == 0
    }
}

/// The chats of customer `wa_id` on tenant `tenant_id`'s numbers.
pub async fn customer_chats<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    wa_id: &str,
) -> Result<Vec<chats::Model>, DbErr> {
    let numbers = search::tenant_numbers(c, tenant_id).await?;
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    chats::Entity::find()
        .filter(chats::Column::NumberId.is_in(numbers))
        .filter(chats::Column::CustomerWaId.eq(wa_id))
        .all(c)
        .await
}

/// The job and inbox owners of a tenant (its portals and numbers).
async fn tenant_owners<C: ConnectionTrait>(c: &C, tenant_id: i64) -> Result<Vec<String>, DbErr> {
    let numbers = search::tenant_numbers(c, tenant_id).await?;
    let portals = tenants::portals_of(c, tenant_id).await?;
    Ok(portals
        .iter()
        .map(|p| super::jobs::portal_owner(p.id))
        .chain(numbers.into_iter().map(super::jobs::number_owner))
        .collect())
}

/// Erases everything of customer `wa_id` in tenant `tenant_id` stored before `cutoff` (unix
/// ms). Run it in one transaction; a second run finds nothing and erases nothing.
pub async fn customer<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    wa_id: &str,
    cutoff: i64,
) -> Result<Erased, DbErr> {
    let mut out = Erased::default();
    let chats = customer_chats(c, tenant_id, wa_id).await?;
    let mut media_ids: HashSet<i64> = HashSet::new();
    let mut media_sources: Vec<String> = Vec::new();
    for chat in &chats {
        // The chat row locked first (PostgreSQL; SQLite has one connection, which serialises
        // everything): a transaction storing a message in it holds a key-share lock on it, so
        // this waits for those in flight, whose messages are then seen and erased, and stores
        // of later ones wait for this erase (and find the chat gone when it went).
        if chats::Entity::find_by_id(chat.id)
            .lock_exclusive()
            .one(c)
            .await?
            .is_none()
        {
            continue;
        }
        let rows: Vec<(i64, Option<String>, Option<i64>)> = messages::Entity::find()
            .select_only()
            .column(messages::Column::Id)
            .column(messages::Column::Wamid)
            .column(messages::Column::MediaId)
            .filter(messages::Column::ChatId.eq(chat.id))
            .filter(messages::Column::CreatedAt.lt(cutoff))
            .into_tuple()
            .all(c)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
        for (_, wamid, media_id) in &rows {
            media_ids.extend(*media_id);
            if let Some(w) = wamid {
                media_sources.push(media_rows::inbound_key(chat.number_id, w));
            }
        }
        // Messages first: deleting them waits for a transaction that is updating one (a
        // receipt, a status), so their hops, deleted next, include what that wrote.
        for batch in ids.chunks(500) {
            out.messages += delete_in(c, messages::Column::Id, batch).await?;
            delete_in(c, message_hops::Column::MessageId, batch).await?;
        }
        // The chat's queued work: to Bitrix24 and WhatsApp (`chat:<id>`) and its voice notes'
        // transcriptions (`voice:<id>`). An operator's attachment is stored under its job.
        let queues = [
            super::jobs::chat_queue(chat.id),
            format!("voice:{}", chat.id),
        ];
        let job_cond = Condition::all()
            .add(jobs::Column::QueueKey.is_in(queues))
            .add(jobs::Column::CreatedAt.lt(cutoff));
        let job_ids: Vec<i64> = jobs::Entity::find()
            .select_only()
            .column(jobs::Column::Id)
            .filter(job_cond.clone())
            .into_tuple()
            .all(c)
            .await?;
        media_sources.extend(job_ids.iter().map(|id| media_rows::outbound_key(*id)));
        out.jobs += jobs::Entity::delete_many()
            .filter(job_cond)
            .exec(c)
            .await?
            .rows_affected;
        // A chat that still has messages keeps its row: they arrived after the cutoff and
        // belong to it.
        let left = messages::Entity::find()
            .filter(messages::Column::ChatId.eq(chat.id))
            .count(c)
            .await?;
        if left == 0 {
            out.chats += chats::Entity::delete_by_id(chat.id)
                .exec(c)
                .await?
                .rows_affected;
        }
    }
    // The files: those of the erased messages, and any stored for them but never linked (a
    // customer's file kept when its message failed, an attachment whose send was cut off).
    let mut files_cond = Condition::any();
    if !media_ids.is_empty() {
        files_cond = files_cond.add(media::Column::Id.is_in(media_ids.iter().copied()));
    }
    for batch in media_sources.chunks(500) {
        files_cond = files_cond.add(media::Column::SourceKey.is_in(batch.iter().cloned()));
    }
    if !media_ids.is_empty() || !media_sources.is_empty() {
        let files: Vec<(i64, String, String)> = media::Entity::find()
            .select_only()
            .column(media::Column::Id)
            .column(media::Column::StorageKey)
            .column(media::Column::State)
            .filter(files_cond)
            .filter(media::Column::CreatedAt.lt(cutoff))
            .into_tuple()
            .all(c)
            .await?;
        let ids: Vec<i64> = files.iter().map(|(id, _, _)| *id).collect();
        for batch in ids.chunks(500) {
            delete_in(c, media_links::Column::MediaId, batch).await?;
            out.files += delete_in(c, media::Column::Id, batch).await?;
        }
        out.storage_keys = files
            .into_iter()
            .filter(|(_, key, state)| state == media_rows::STORED && !key.is_empty())
            .map(|(_, key, _)| key)
            .collect();
    }
    out.inbox_items = erase_inbox(c, tenant_id, wa_id, cutoff).await?;
    Ok(out)
}

/// The tenant's inbox items about the customer (their messages, receipts of messages to them,
/// operators' messages in their chats, transcripts), processed or not.
async fn erase_inbox<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    wa_id: &str,
    cutoff: i64,
) -> Result<u64, DbErr> {
    let owners = tenant_owners(c, tenant_id).await?;
    if owners.is_empty() {
        return Ok(0);
    }
    // The text match narrows the rows down; the decoded item decides (one customer's id may be
    // part of another's, e.g. in a longer number).
    let candidates = inbox::Entity::find()
        .filter(inbox::Column::Owner.is_in(owners))
        .filter(inbox::Column::CreatedAt.lt(cutoff))
        .filter(contains_ci(inbox::Column::Payload, wa_id))
        .all(c)
        .await?;
    let ids: Vec<i64> = candidates
        .iter()
        .filter(|row| {
            serde_json::from_str::<InboxItem>(&row.payload)
                .map(|item| item.customer() == Some(wa_id))
                // An item nobody can decode but naming the customer goes too.
                .unwrap_or(true)
        })
        .map(|row| row.id)
        .collect();
    let mut n = 0;
    for batch in ids.chunks(500) {
        n += delete_in(c, inbox::Column::Id, batch).await?;
    }
    Ok(n)
}
