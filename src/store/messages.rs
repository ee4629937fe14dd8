//! Messages in both directions with their ids on each side and their delivery state.

use entity::messages;
use sea_orm::{
    sea_query::{Expr, IntoCondition},
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, UpdateMany, Value,
};

use super::{
    hops::{self, Hop},
    ledger, now_ms,
};

/// The directions and states (the product's, in `relay::states`), as stored.
pub use crate::relay::states::{
    rank, DELETED, DELIVERED, FAILED, FORWARDED, IN, OUT, QUEUED, READ, RECEIVED, SENT,
};

/// What a message is: its kind (`text`, or a media kind) and its file, if any.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub kind: &'a str,
    pub media_id: Option<i64>,
}

impl Content<'_> {
    pub const TEXT: Content<'static> = Content {
        kind: "text",
        media_id: None,
    };
}

/// A new message of `chat_id` with no provider ids and no times yet; the caller adds its side's.
fn new_row(
    chat_id: i64,
    direction: &str,
    status: &str,
    text: &str,
    content: Content<'_>,
) -> messages::ActiveModel {
    let now = now_ms();
    messages::ActiveModel {
        chat_id: Set(chat_id),
        direction: Set(direction.into()),
        kind: Set(content.kind.into()),
        media_id: Set(content.media_id),
        wamid: Set(None),
        b24_chat_id: Set(None),
        b24_message_id: Set(None),
        text: Set(text.to_string()),
        status: Set(status.into()),
        error: Set(None),
        sent_at: Set(None),
        delivered_at: Set(None),
        read_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// `insert_inbound` on PostgreSQL: the message, its two hops, its ledger row and the chat's
/// window in one statement (data-modifying CTEs: one round trip instead of four on the relay's
/// hottest path). SQLite has no INSERT inside WITH. A wamid seen before changes nothing at all.
const INSERT_INBOUND_PG: &str = r#"
WITH m AS (
    INSERT INTO messages (chat_id, direction, kind, media_id, wamid, text, status, sent_at,
                          created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
    ON CONFLICT (wamid) DO NOTHING
    RETURNING id
), hops AS (
    INSERT INTO message_hops (message_id, hop, detail, at)
    SELECT id, $10, NULL, $8 FROM m UNION ALL SELECT id, $11, NULL, $9 FROM m
), ledger AS (
    INSERT INTO usage_ledger (tenant_id, number_id, kind, message_id, quantity, at)
    SELECT portals.tenant_id, numbers.id, $12, m.id, $13, $9
    FROM m, chats
    JOIN numbers ON numbers.id = chats.number_id
    JOIN portals ON portals.id = numbers.portal_id
    WHERE chats.id = $1
    ON CONFLICT (kind, message_id) DO NOTHING
), window_start AS (
    UPDATE chats SET last_inbound_at = $8
    WHERE id = $1 AND EXISTS (SELECT 1 FROM m)
      AND (last_inbound_at IS NULL OR last_inbound_at < $8)
)
SELECT id FROM m"#;

/// Stores a customer's message taken in at `at_ms` (its own time), once per wamid (`None`: seen
/// before, under another inbox id). With it: its trace hops, its usage-ledger row (billed as it
/// is taken in: a redelivery counts nothing), and the chat's window, which any customer message
/// (a button tap too) opens for 24 h from its time (`chats::note_inbound`).
pub async fn insert_inbound<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
    wamid: &str,
    text: &str,
    at_ms: i64,
    content: Content<'_>,
) -> Result<Option<i64>, DbErr> {
    if c.get_database_backend() == DbBackend::Postgres {
        let now = now_ms();
        let values: [Value; 13] = [
            chat_id.into(),
            IN.into(),
            content.kind.into(),
            content.media_id.into(),
            wamid.into(),
            text.into(),
            RECEIVED.into(),
            at_ms.into(),
            now.into(),
            hops::CUSTOMER_SENT.into(),
            hops::RECEIVED.into(),
            ledger::Kind::Inbound.as_str().into(),
            1.0f64.into(),
        ];
        let stmt = Statement::from_sql_and_values(DbBackend::Postgres, INSERT_INBOUND_PG, values);
        return match c.query_one(stmt).await? {
            Some(row) => Ok(Some(row.try_get::<i64>("", "id")?)),
            None => Ok(None),
        };
    }
    let mut am = new_row(chat_id, IN, RECEIVED, text, content);
    am.wamid = Set(Some(wamid.to_string()));
    am.sent_at = Set(Some(at_ms));
    // The wamid is unique: a message seen before is not inserted (`None`).
    let id = super::query::insert_new(c, am, [messages::Column::Wamid]).await?;
    if let Some(id) = id {
        let mut sent = Hop::now(id, hops::CUSTOMER_SENT);
        sent.at = at_ms;
        hops::record(c, vec![sent, Hop::now(id, hops::RECEIVED)]).await?;
        ledger::record(c, ledger::Kind::Inbound, id, 1.0).await?;
        super::chats::note_inbound(c, chat_id, at_ms).await?;
    }
    Ok(id)
}

pub async fn insert_outbound<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
    b24_chat_id: Option<&str>,
    b24_message_id: &str,
    text: &str,
    content: Content<'_>,
) -> Result<i64, DbErr> {
    let mut am = new_row(chat_id, OUT, QUEUED, text, content);
    // `None`: a message sent from the CRM, which has no Open Lines chat.
    am.b24_chat_id = Set(b24_chat_id.map(str::to_string));
    am.b24_message_id = Set(Some(b24_message_id.to_string()));
    let id = messages::Entity::insert(am).exec(c).await?.last_insert_id;
    hops::record(
        c,
        vec![Hop::now(id, hops::FROM_OPERATOR).with(format!("Open Lines message {b24_message_id}"))],
    )
    .await?;
    Ok(id)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<messages::Model>, DbErr> {
    messages::Entity::find_by_id(id).one(c).await
}

pub async fn find_by_wamid<C: ConnectionTrait>(
    c: &C,
    wamid: &str,
) -> Result<Option<messages::Model>, DbErr> {
    super::query::one_by(c, messages::Column::Wamid, wamid).await
}

pub async fn list_for_chat<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
) -> Result<Vec<messages::Model>, DbErr> {
    super::query::all_by(c, messages::Column::ChatId, chat_id).await
}

/// An update of the messages `cond` selects that also stamps their `updated_at`.
fn update(cond: impl IntoCondition) -> UpdateMany<messages::Entity> {
    messages::Entity::update_many()
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(cond)
}

/// Sets one column of message `id` (and its `updated_at`); whether the message is there.
async fn set<C: ConnectionTrait>(
    c: &C,
    id: i64,
    col: messages::Column,
    value: impl Into<Value>,
) -> Result<bool, DbErr> {
    let res = update(messages::Column::Id.eq(id))
        .col_expr(col, Expr::value(value))
        .exec(c)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The hops of the messages among `ids` that an update found (`updated` rows). A message
/// erased while its work was in flight (`store::erase`) gets no hop: a trace of a message that
/// is gone would outlive the erase. (The update waits for the erase's lock on the row, so it
/// sees the erase once committed.)
async fn existing<C: ConnectionTrait>(c: &C, ids: &[i64], updated: u64) -> Result<Vec<i64>, DbErr> {
    if updated as usize >= ids.len() {
        return Ok(ids.to_vec());
    }
    if updated == 0 {
        return Ok(Vec::new());
    }
    messages::Entity::find()
        .select_only()
        .column(messages::Column::Id)
        .filter(messages::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(c)
        .await
}

pub async fn set_wamid<C: ConnectionTrait>(c: &C, id: i64, wamid: &str) -> Result<(), DbErr> {
    if !set(c, id, messages::Column::Wamid, wamid).await? {
        return Ok(());
    }
    hops::record(c, vec![Hop::now(id, hops::TO_WHATSAPP).with(wamid)]).await
}

pub async fn set_status_many<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
    status: &str,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let updated = update(messages::Column::Id.is_in(ids.iter().copied()))
        .col_expr(messages::Column::Status, Expr::value(status))
        .exec(c)
        .await?
        .rows_affected;
    let hop = match status {
        FORWARDED => hops::TO_BITRIX24,
        DELETED => hops::DELETED,
        SENT => hops::SENT,
        DELIVERED => hops::DELIVERED,
        READ => hops::READ,
        FAILED => hops::FAILED,
        _ => return Ok(()),
    };
    let ids = existing(c, ids, updated).await?;
    hops::record(c, ids.iter().map(|&id| Hop::now(id, hop)).collect()).await
}

/// Sets a forward state and its timestamp column.
pub async fn advance<C: ConnectionTrait>(
    c: &C,
    id: i64,
    status: &str,
    at_ms: i64,
) -> Result<(), DbErr> {
    let mut q =
        update(messages::Column::Id.eq(id)).col_expr(messages::Column::Status, Expr::value(status));
    q = match status {
        SENT => q.col_expr(messages::Column::SentAt, Expr::value(at_ms)),
        DELIVERED => q.col_expr(messages::Column::DeliveredAt, Expr::value(at_ms)),
        READ => q.col_expr(messages::Column::ReadAt, Expr::value(at_ms)),
        _ => q,
    };
    if q.exec(c).await?.rows_affected == 0 {
        return Ok(());
    }
    let hop = match status {
        SENT => hops::SENT,
        DELIVERED => hops::DELIVERED,
        READ => hops::READ,
        DELETED => hops::DELETED,
        _ => return Ok(()),
    };
    // Our clock orders the trace; the provider's (whole seconds) is kept as the detail.
    let provider_time = chrono::DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    hops::record(
        c,
        vec![Hop::now(id, hop).with(format!("provider time {provider_time}"))],
    )
    .await
}

pub async fn fail<C: ConnectionTrait>(c: &C, ids: &[i64], error: &str) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let updated = update(messages::Column::Id.is_in(ids.iter().copied()))
        .col_expr(messages::Column::Status, Expr::value(FAILED))
        .col_expr(messages::Column::Error, Expr::value(error))
        .exec(c)
        .await?
        .rows_affected;
    let ids = existing(c, ids, updated).await?;
    hops::record(
        c,
        ids.iter()
            .map(|&id| Hop::now(id, hops::FAILED).with(error))
            .collect(),
    )
    .await
}

pub async fn set_text<C: ConnectionTrait>(c: &C, id: i64, text: &str) -> Result<(), DbErr> {
    if !set(c, id, messages::Column::Text, text).await? {
        return Ok(());
    }
    hops::record(c, vec![Hop::now(id, hops::EDITED)]).await
}

/// The customer's latest message in a chat that we have not yet marked read in WhatsApp.
pub async fn latest_unread_inbound<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
) -> Result<Option<messages::Model>, DbErr> {
    let latest = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat_id))
        .filter(messages::Column::Direction.eq(IN))
        .order_by_desc(messages::Column::Id)
        .one(c)
        .await?;
    Ok(latest.filter(|m| m.read_at.is_none() && m.wamid.is_some()))
}

/// Records when we marked an inbound message read (the operator answered).
pub async fn set_read_at<C: ConnectionTrait>(c: &C, id: i64, at_ms: i64) -> Result<(), DbErr> {
    if !set(c, id, messages::Column::ReadAt, at_ms).await? {
        return Ok(());
    }
    let mut h = Hop::now(id, hops::READ_BY_OPERATOR);
    h.at = at_ms;
    hops::record(c, vec![h]).await
}

/// Stores a voice note's transcript (or the reason there is none).
pub async fn set_transcript<C: ConnectionTrait>(c: &C, id: i64, text: &str) -> Result<(), DbErr> {
    if !set(c, id, messages::Column::Transcript, text).await? {
        return Ok(());
    }
    hops::record(c, vec![Hop::now(id, hops::TRANSCRIPT).with(text)]).await
}

/// Points a message at its file (an operator attachment stored once fetched).
pub async fn set_media<C: ConnectionTrait>(c: &C, id: i64, media_id: i64) -> Result<(), DbErr> {
    set(c, id, messages::Column::MediaId, media_id)
        .await
        .map(|_| ())
}

/// A failed message goes back to a state before sending (its job was re-driven).
pub async fn resume<C: ConnectionTrait>(c: &C, id: i64, status: &str) -> Result<(), DbErr> {
    update(messages::Column::Id.eq(id))
        .col_expr(messages::Column::Status, Expr::value(status))
        .col_expr(messages::Column::Error, Expr::value(Option::<String>::None))
        .filter(messages::Column::Status.eq(FAILED))
        .exec(c)
        .await?;
    Ok(())
}
