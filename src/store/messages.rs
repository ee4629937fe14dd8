//! Messages in both directions with their ids on each side and their delivery state.

use entity::messages;
use sea_orm::{
    sea_query::Expr, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

use super::{
    hops::{self, Hop},
    now_ms,
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

pub async fn insert_inbound<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
    wamid: &str,
    text: &str,
    at_ms: i64,
    content: Content<'_>,
) -> Result<Option<i64>, DbErr> {
    let now = now_ms();
    let am = messages::ActiveModel {
        chat_id: Set(chat_id),
        direction: Set(IN.into()),
        kind: Set(content.kind.into()),
        media_id: Set(content.media_id),
        wamid: Set(Some(wamid.to_string())),
        b24_chat_id: Set(None),
        b24_message_id: Set(None),
        text: Set(text.to_string()),
        status: Set(RECEIVED.into()),
        error: Set(None),
        sent_at: Set(Some(at_ms)),
        delivered_at: Set(None),
        read_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // The wamid is unique: a message seen before is not inserted (`None`), in one round trip.
    let res = messages::Entity::insert(am)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(messages::Column::Wamid)
                .do_nothing()
                .to_owned(),
        )
        .exec(c)
        .await;
    let id = super::inserted(res.map(|r| r.last_insert_id))?;
    if let Some(id) = id {
        let mut sent = Hop::now(id, hops::CUSTOMER_SENT);
        sent.at = at_ms;
        hops::record(c, vec![sent, Hop::now(id, hops::RECEIVED)]).await?;
    }
    Ok(id)
}

pub async fn insert_outbound<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
    b24_chat_id: &str,
    b24_message_id: &str,
    text: &str,
    content: Content<'_>,
) -> Result<i64, DbErr> {
    let now = now_ms();
    let am = messages::ActiveModel {
        chat_id: Set(chat_id),
        direction: Set(OUT.into()),
        kind: Set(content.kind.into()),
        media_id: Set(content.media_id),
        wamid: Set(None),
        b24_chat_id: Set(Some(b24_chat_id.to_string())),
        b24_message_id: Set(Some(b24_message_id.to_string())),
        text: Set(text.to_string()),
        status: Set(QUEUED.into()),
        error: Set(None),
        sent_at: Set(None),
        delivered_at: Set(None),
        read_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
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
    messages::Entity::find()
        .filter(messages::Column::Wamid.eq(wamid))
        .one(c)
        .await
}

pub async fn list_for_chat<C: ConnectionTrait>(
    c: &C,
    chat_id: i64,
) -> Result<Vec<messages::Model>, DbErr> {
    messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat_id))
        .order_by_asc(messages::Column::Id)
        .all(c)
        .await
}

pub async fn set_wamid<C: ConnectionTrait>(c: &C, id: i64, wamid: &str) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::Wamid, Expr::value(wamid.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .exec(c)
        .await?;
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
    messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(status.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    let hop = match status {
        FORWARDED => hops::TO_BITRIX24,
        DELETED => hops::DELETED,
        SENT => hops::SENT,
        DELIVERED => hops::DELIVERED,
        READ => hops::READ,
        FAILED => hops::FAILED,
        _ => return Ok(()),
    };
    hops::record(c, ids.iter().map(|&id| Hop::now(id, hop)).collect()).await
}

/// Sets a forward state and its timestamp column.
pub async fn advance<C: ConnectionTrait>(
    c: &C,
    id: i64,
    status: &str,
    at_ms: i64,
) -> Result<(), DbErr> {
    let mut q = messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(status.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()));
    q = match status {
        SENT => q.col_expr(messages::Column::SentAt, Expr::value(at_ms)),
        DELIVERED => q.col_expr(messages::Column::DeliveredAt, Expr::value(at_ms)),
        READ => q.col_expr(messages::Column::ReadAt, Expr::value(at_ms)),
        _ => q,
    };
    q.filter(messages::Column::Id.eq(id)).exec(c).await?;
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
    messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(FAILED))
        .col_expr(messages::Column::Error, Expr::value(error.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    hops::record(
        c,
        ids.iter()
            .map(|&id| Hop::now(id, hops::FAILED).with(error))
            .collect(),
    )
    .await
}

pub async fn set_text<C: ConnectionTrait>(c: &C, id: i64, text: &str) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::Text, Expr::value(text.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .exec(c)
        .await?;
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
    messages::Entity::update_many()
        .col_expr(messages::Column::ReadAt, Expr::value(at_ms))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .exec(c)
        .await?;
    let mut h = Hop::now(id, hops::READ_BY_OPERATOR);
    h.at = at_ms;
    hops::record(c, vec![h]).await
}

/// Stores a voice note's transcript (or the reason there is none).
pub async fn set_transcript<C: ConnectionTrait>(c: &C, id: i64, text: &str) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::Transcript, Expr::value(text.to_string()))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .exec(c)
        .await?;
    hops::record(c, vec![Hop::now(id, hops::TRANSCRIPT).with(text)]).await
}

/// Points a message at its file (an operator attachment stored once fetched).
pub async fn set_media<C: ConnectionTrait>(c: &C, id: i64, media_id: i64) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::MediaId, Expr::value(media_id))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// A failed message goes back to a state before sending (its job was re-driven).
pub async fn resume<C: ConnectionTrait>(c: &C, id: i64, status: &str) -> Result<(), DbErr> {
    messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(status.to_string()))
        .col_expr(messages::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(messages::Column::Id.eq(id))
        .filter(messages::Column::Status.eq(FAILED))
        .exec(c)
        .await?;
    Ok(())
}
