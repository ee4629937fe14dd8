//! A message's trace. Each state change of a message writes its hop in the same transaction, so
//! the trace support staff read is exactly what happened, in order, with times.

use entity::message_hops;
use sea_orm::{entity::prelude::*, ConnectionTrait, QueryOrder, Set};

use super::now_ms;

/// The customer sent it (the provider's timestamp).
pub const CUSTOMER_SENT: &str = "customer_sent";
/// We stored it (the webhook had been acknowledged before this).
pub const RECEIVED: &str = "received";
/// Bitrix24 accepted it into the Open Lines chat.
pub const TO_BITRIX24: &str = "to_bitrix24";
/// An operator wrote it in Open Lines (the event reached us).
pub const FROM_OPERATOR: &str = "from_operator";
/// WhatsApp accepted it (detail: the provider's message id).
pub const TO_WHATSAPP: &str = "to_whatsapp";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const READ: &str = "read";
/// The operator answered, so we marked the customer's message read in WhatsApp.
pub const READ_BY_OPERATOR: &str = "read_by_operator";
pub const FAILED: &str = "failed";
pub const DELETED: &str = "deleted";
pub const EDITED: &str = "edited";
pub const TRANSCRIPT: &str = "transcript";
/// Support re-drove the failed job that carries it (detail: who).
pub const REDRIVEN: &str = "redriven";

pub struct Hop<'a> {
    pub message_id: i64,
    pub hop: &'a str,
    pub detail: Option<String>,
    pub at: i64,
}

impl<'a> Hop<'a> {
    pub fn now(message_id: i64, hop: &'a str) -> Self {
        Self {
            message_id,
            hop,
            detail: None,
            at: now_ms(),
        }
    }

    pub fn with(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(truncate(detail.into(), 500));
        self
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Writes hops in one statement.
pub async fn record<C: ConnectionTrait>(c: &C, hops: Vec<Hop<'_>>) -> Result<(), DbErr> {
    if hops.is_empty() {
        return Ok(());
    }
    let rows = hops.into_iter().map(|h| message_hops::ActiveModel {
        message_id: Set(h.message_id),
        hop: Set(h.hop.to_string()),
        detail: Set(h.detail),
        at: Set(h.at),
        ..Default::default()
    });
    message_hops::Entity::insert_many(rows).exec(c).await?;
    Ok(())
}

/// One message's trace, oldest first.
pub async fn of<C: ConnectionTrait>(
    c: &C,
    message_id: i64,
) -> Result<Vec<message_hops::Model>, DbErr> {
    message_hops::Entity::find()
        .filter(message_hops::Column::MessageId.eq(message_id))
        .order_by_asc(message_hops::Column::At)
        .order_by_asc(message_hops::Column::Id)
        .all(c)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_details_are_cut_on_a_char_boundary() {
        let s = truncate("ж".repeat(300), 501);
        assert!(s.ends_with('…'));
        assert_eq!(s.chars().count(), 251);
        assert_eq!(truncate("short".into(), 500), "short");
    }
}
