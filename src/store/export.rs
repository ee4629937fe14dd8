//! A customer's conversation for a data-access request: every message of their chats on one
//! tenant's numbers, both ways, with its file, and a fresh link to each file that works until
//! the export's own expiry (the link given to Bitrix24 may have expired long ago).

use std::collections::HashMap;

use entity::{chats, media, media_links, messages, numbers};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::{crypto::random_token, erase::customer_chats, media as media_rows, now_ms};

/// One message of the export, with the number it went through and its file, if stored.
#[derive(Debug, Clone)]
pub struct Exported {
    pub message: messages::Model,
    pub chat: chats::Model,
    /// The business number's phone as shown.
    pub number_phone: String,
    /// The file and the token of its export link.
    pub file: Option<(media::Model, String)>,
}

/// The messages of customer `wa_id` in tenant `tenant_id`, oldest first; `None` when the
/// tenant has no chat with them. Each stored file gets a new link valid until `expires_at`.
pub async fn conversation<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    wa_id: &str,
    expires_at: i64,
) -> Result<Option<Vec<Exported>>, DbErr> {
    let chats = customer_chats(c, tenant_id, wa_id).await?;
    if chats.is_empty() {
        return Ok(None);
    }
    let number_ids: Vec<i64> = chats.iter().map(|ch| ch.number_id).collect();
    let phones: HashMap<i64, String> = numbers::Entity::find()
        .filter(numbers::Column::Id.is_in(number_ids))
        .all(c)
        .await?
        .into_iter()
        .map(|n| (n.id, n.display_phone))
        .collect();
    let by_id: HashMap<i64, &chats::Model> = chats.iter().map(|ch| (ch.id, ch)).collect();
    let rows = messages::Entity::find()
        .filter(messages::Column::ChatId.is_in(by_id.keys().copied()))
        .order_by_asc(messages::Column::CreatedAt)
        .order_by_asc(messages::Column::Id)
        .all(c)
        .await?;
    let now = now_ms();
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let Some(chat) = by_id.get(&m.chat_id) else {
            continue;
        };
        let file = match m.media_id {
            Some(id) => match media_rows::get(c, id).await? {
                Some(f) if f.state == media_rows::STORED => {
                    let token = random_token();
                    let link = media_links::ActiveModel {
                        token: Set(token.clone()),
                        media_id: Set(f.id),
                        created_at: Set(now),
                        expires_at: Set(expires_at),
                        ..Default::default()
                    };
                    media_links::Entity::insert(link).exec(c).await?;
                    Some((f, token))
                }
                _ => None,
            },
            None => None,
        };
        out.push(Exported {
            number_phone: phones.get(&chat.number_id).cloned().unwrap_or_default(),
            chat: (*chat).clone(),
            message: m,
            file,
        });
    }
    Ok(Some(out))
}

/// The file behind an export link, and when the link expires.
pub async fn by_link<C: ConnectionTrait>(
    c: &C,
    token: &str,
) -> Result<Option<(media::Model, i64)>, DbErr> {
    let Some(link) = media_links::Entity::find()
        .filter(media_links::Column::Token.eq(token))
        .one(c)
        .await?
    else {
        return Ok(None);
    };
    Ok(media_rows::get(c, link.media_id)
        .await?
        .map(|m| (m, link.expires_at)))
}
