//! What the admin API looks up across tenants: numbers in scope, chats and messages by any id,
//! phone or text. A scope is the set of number ids a caller may see (`None`: all of them).

use std::collections::HashMap;

use entity::{chats, messages, numbers, portals};

use super::contains_ci;
use sea_orm::{
    sea_query::{Expr, Query},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Number ids a caller may see: `None` means every number (support and billing).
pub type Scope = Option<Vec<i64>>;

/// The numbers of one tenant's portals.
pub async fn tenant_numbers<C: ConnectionTrait>(c: &C, tenant_id: i64) -> Result<Vec<i64>, DbErr> {
    let portal_ids: Vec<i64> = portals::Entity::find()
        .select_only()
        .column(portals::Column::Id)
        .filter(portals::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .all(c)
        .await?;
    if portal_ids.is_empty() {
        return Ok(Vec::new());
    }
    numbers::Entity::find()
        .select_only()
        .column(numbers::Column::Id)
        .filter(numbers::Column::PortalId.is_in(portal_ids))
        .into_tuple()
        .all(c)
        .await
}

/// The digits of a phone number as typed (`+7 (912) 345-67-89` → `79123456789`).
pub fn phone_digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[derive(Debug, Default, Clone)]
pub struct ChatFilter {
    pub number_id: Option<i64>,
    /// Phone digits or a name fragment.
    pub q: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChatRow {
    #[serde(flatten)]
    pub chat: chats::Model,
    pub messages: i64,
    pub last_message_at: Option<i64>,
    /// Its number's transport (`cloud` or `gateway`): whether the chat has a window.
    pub transport: String,
}

fn scoped<Q: QueryFilter>(q: Q, col: impl ColumnTrait, scope: &Scope) -> Q {
    match scope {
        None => q,
        Some(ids) => q.filter(col.is_in(ids.iter().copied())),
    }
}

/// Chats in scope, most recently active first, with their message count and last message time.
pub async fn chats_page<C: ConnectionTrait>(
    c: &C,
    scope: &Scope,
    f: &ChatFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ChatRow>, u64), DbErr> {
    let mut q = scoped(chats::Entity::find(), chats::Column::NumberId, scope);
    if let Some(n) = f.number_id {
        q = q.filter(chats::Column::NumberId.eq(n));
    }
    if let Some(text) = &f.q {
        let digits = phone_digits(text);
        let mut any = Condition::any().add(contains_ci(chats::Column::CustomerName, text));
        if !digits.is_empty() {
            any = any.add(contains_ci(chats::Column::CustomerWaId, &digits));
        }
        q = q.filter(any);
    }
    let q = q
        .order_by_desc(chats::Column::UpdatedAt)
        .order_by_desc(chats::Column::Id);
    let (rows, total) = super::query::paged(c, q, page, per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let stats: HashMap<i64, (i64, Option<i64>)> = if ids.is_empty() {
        HashMap::new()
    } else {
        messages::Entity::find()
            .select_only()
            .column(messages::Column::ChatId)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .column_as(messages::Column::CreatedAt.max(), "last")
            .filter(messages::Column::ChatId.is_in(ids))
            .group_by(messages::Column::ChatId)
            .into_tuple::<(i64, i64, Option<i64>)>()
            .all(c)
            .await?
            .into_iter()
            .map(|(id, n, last)| (id, (n, last)))
            .collect()
    };
    let number_ids: Vec<i64> = rows.iter().map(|r| r.number_id).collect();
    let transports: HashMap<i64, String> = numbers::Entity::find()
        .select_only()
        .column(numbers::Column::Id)
        .column(numbers::Column::Transport)
        .filter(numbers::Column::Id.is_in(number_ids))
        .into_tuple::<(i64, String)>()
        .all(c)
        .await?
        .into_iter()
        .collect();
    let items = rows
        .into_iter()
        .map(|chat| {
            let (messages, last_message_at) = stats.get(&chat.id).copied().unwrap_or((0, None));
            let transport = transports.get(&chat.number_id).cloned().unwrap_or_default();
            ChatRow {
                chat,
                messages,
                last_message_at,
                transport,
            }
        })
        .collect();
    Ok((items, total))
}

#[derive(Debug, Default, Clone)]
pub struct MessageFilter {
    pub number_id: Option<i64>,
    pub chat_id: Option<i64>,
    pub direction: Option<String>,
    pub status: Option<String>,
    /// Any id (ours, the WhatsApp message id, the Open Lines message id), a phone number, or a
    /// fragment of the text.
    pub q: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Messages in scope matching the filter, newest first, each with its chat.
pub async fn messages_page<C: ConnectionTrait>(
    c: &C,
    scope: &Scope,
    f: &MessageFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(messages::Model, chats::Model)>, u64), DbErr> {
    let mut q = messages::Entity::find();
    let mut chat_filter = Query::select()
        .column(chats::Column::Id)
        .from(chats::Entity)
        .to_owned();
    let mut restrict = false;
    if let Some(ids) = scope {
        chat_filter.and_where(chats::Column::NumberId.is_in(ids.iter().copied()));
        restrict = true;
    }
    if let Some(n) = f.number_id {
        chat_filter.and_where(chats::Column::NumberId.eq(n));
        restrict = true;
    }
    if restrict {
        q = q.filter(messages::Column::ChatId.in_subquery(chat_filter));
    }
    if let Some(id) = f.chat_id {
        q = q.filter(messages::Column::ChatId.eq(id));
    }
    if let Some(d) = &f.direction {
        q = q.filter(messages::Column::Direction.eq(d.as_str()));
    }
    if let Some(s) = &f.status {
        q = q.filter(messages::Column::Status.eq(s.as_str()));
    }
    if let Some(from) = f.from_ms {
        q = q.filter(messages::Column::CreatedAt.gte(from));
    }
    if let Some(to) = f.to_ms {
        q = q.filter(messages::Column::CreatedAt.lt(to));
    }
    if let Some(text) = &f.q {
        let mut any = Condition::any()
            .add(messages::Column::Wamid.eq(text.as_str()))
            .add(messages::Column::B24MessageId.eq(text.as_str()))
            .add(contains_ci(messages::Column::Text, text));
        if let Ok(id) = text.parse::<i64>() {
            any = any.add(messages::Column::Id.eq(id));
        }
        let digits = phone_digits(text);
        // A phone: at least the length of a short national number, so "12" is not every chat.
        if digits.len() >= 5 && digits.len() * 2 >= text.len() {
            let chats_with_phone = Query::select()
                .column(chats::Column::Id)
                .from(chats::Entity)
                .and_where(contains_ci(chats::Column::CustomerWaId, &digits))
                .to_owned();
            any = any.add(messages::Column::ChatId.in_subquery(chats_with_phone));
        }
        q = q.filter(any);
    }
    let q = q.order_by_desc(messages::Column::Id);
    let (rows, total) = super::query::paged(c, q, page, per_page).await?;
    let chat_ids: Vec<i64> = rows.iter().map(|m| m.chat_id).collect();
    let chats: HashMap<i64, chats::Model> = if chat_ids.is_empty() {
        HashMap::new()
    } else {
        chats::Entity::find()
            .filter(chats::Column::Id.is_in(chat_ids))
            .all(c)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    Ok((
        rows.into_iter()
            .filter_map(|m| chats.get(&m.chat_id).cloned().map(|c| (m, c)))
            .collect(),
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_their_digits() {
        assert_eq!(phone_digits("+7 (912) 345-67-89"), "79123456789");
    }
}
