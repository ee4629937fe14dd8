//! One chat per (number, customer): the unit of ordering and of the Bitrix24 conversation.

use entity::chats;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{now_ms, query::update_where};

pub async fn find<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    wa_id: &str,
) -> Result<Option<chats::Model>, DbErr> {
    chats::Entity::find()
        .filter(chats::Column::NumberId.eq(number_id))
        .filter(chats::Column::CustomerWaId.eq(wa_id))
        .one(c)
        .await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<chats::Model>, DbErr> {
    chats::Entity::find_by_id(id).one(c).await
}

/// Returns the chat, creating it (race-free through the unique index) if needed.
pub async fn get_or_create<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    wa_id: &str,
    name: &str,
) -> Result<chats::Model, DbErr> {
    if let Some(m) = find(c, number_id, wa_id).await? {
        return Ok(m);
    }
    let now = now_ms();
    let am = chats::ActiveModel {
        number_id: Set(number_id),
        customer_wa_id: Set(wa_id.to_string()),
        customer_name: Set(name.to_string()),
        b24_chat_id: Set(None),
        b24_session_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let unique = [chats::Column::NumberId, chats::Column::CustomerWaId];
    super::query::insert_new(c, am, unique).await?;
    find(c, number_id, wa_id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("chat {number_id}/{wa_id}")))
}

pub async fn set_b24_ids<C: ConnectionTrait>(
    c: &C,
    id: i64,
    b24_chat_id: &str,
    b24_session_id: &str,
) -> Result<(), DbErr> {
    let sets = [
        (chats::Column::B24ChatId, b24_chat_id.into()),
        (chats::Column::B24SessionId, b24_session_id.into()),
        (chats::Column::UpdatedAt, now_ms().into()),
    ];
    update_where(c, sets, chats::Column::Id.eq(id)).await?;
    Ok(())
}

pub async fn set_name<C: ConnectionTrait>(c: &C, id: i64, name: &str) -> Result<(), DbErr> {
    let chat = chats::Column::Id.eq(id);
    super::query::set_where(c, chats::Column::CustomerName, name, chat).await
}

/// A number's chats that have a Bitrix24 chat, most recently active first.
pub async fn recent_with_b24<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    limit: u64,
) -> Result<Vec<chats::Model>, DbErr> {
    chats::Entity::find()
        .filter(chats::Column::NumberId.eq(number_id))
        .filter(chats::Column::B24ChatId.is_not_null())
        .order_by_desc(chats::Column::UpdatedAt)
        .limit(limit)
        .all(c)
        .await
}

/// The Bitrix24 (chat id, session id) stored for each of `ids`.
pub async fn b24_ids_of<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (Option<String>, Option<String>)>, DbErr> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, Option<String>, Option<String>)> = chats::Entity::find()
        .select_only()
        .column(chats::Column::Id)
        .column(chats::Column::B24ChatId)
        .column(chats::Column::B24SessionId)
        .filter(chats::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows.into_iter().map(|(id, c, s)| (id, (c, s))).collect())
}

/// The customer wrote at `at` (the message's own time): the window's start moves forward, never
/// back (a late redelivery of an older message leaves it).
pub async fn note_inbound<C: ConnectionTrait>(c: &C, id: i64, at: i64) -> Result<(), DbErr> {
    let older = chats::Column::LastInboundAt
        .is_null()
        .or(chats::Column::LastInboundAt.lt(at));
    let chat = chats::Column::Id.eq(id).and(older);
    super::query::set_where(c, chats::Column::LastInboundAt, at, chat).await
}

/// WhatsApp refused a send with 131047 at `at`: the window is closed until the customer writes.
pub async fn close_window<C: ConnectionTrait>(c: &C, id: i64, at: i64) -> Result<(), DbErr> {
    let chat = chats::Column::Id.eq(id);
    super::query::set_where(c, chats::Column::WindowClosedAt, at, chat).await
}

/// How long a customer's avatar is trusted before the gateway is asked again.
pub const AVATAR_TTL_MS: i64 = 24 * 3600 * 1000;

/// Whether the customer's avatar should be asked for now (never asked, or a day ago).
pub fn avatar_due(chat: Option<&chats::Model>, now: i64) -> bool {
    chat.and_then(|c| c.avatar_checked_at)
        .is_none_or(|at| now - at >= AVATAR_TTL_MS)
}

/// Stores what the gateway said of the customer's avatar (`None`: none, or hidden) at `now`,
/// creating the chat when it is the customer's first message.
pub async fn set_avatar<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
    wa_id: &str,
    url: Option<&str>,
    now: i64,
) -> Result<(), DbErr> {
    let chat = get_or_create(c, number_id, wa_id, "").await?;
    let sets = [
        (chats::Column::AvatarUrl, url.into()),
        (chats::Column::AvatarCheckedAt, now.into()),
    ];
    update_where(c, sets, chats::Column::Id.eq(chat.id)).await?;
    Ok(())
}
