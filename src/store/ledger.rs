//! The usage ledger's writes: one row per billable thing, in the caller's transaction (the one
//! that records the thing itself), keyed by (kind, message) so a retried or replayed write adds
//! nothing. Rows are never updated or deleted: purging messages leaves past usage as it was.

use entity::{chats, messages, numbers, portals, usage_ledger};
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ConnectionTrait, DbErr,
};

use super::now_ms;

/// What a ledger row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A customer's message relayed to Open Lines.
    Inbound,
    /// An operator's (or CRM, or template) message relayed to WhatsApp.
    Outbound,
    /// A customer's file relayed to Open Lines.
    MediaIn,
    /// An operator's attachment sent to WhatsApp.
    MediaOut,
    /// A voice note transcribed; its quantity is the note's seconds.
    Transcription,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Inbound,
        Kind::Outbound,
        Kind::MediaIn,
        Kind::MediaOut,
        Kind::Transcription,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Inbound => "inbound",
            Kind::Outbound => "outbound",
            Kind::MediaIn => "media_in",
            Kind::MediaOut => "media_out",
            Kind::Transcription => "transcription",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Records `kind` for message `message_id` (`quantity`: 1, or seconds transcribed), billed to
/// the tenant of the message's number as of now. True when this wrote the row (false: it was
/// there, or there is no such message).
pub async fn record<C: ConnectionTrait>(
    c: &C,
    kind: Kind,
    message_id: i64,
    quantity: f64,
) -> Result<bool, DbErr> {
    // One statement: the number and tenant come from the message's chat in the same write.
    let select = Query::select()
        .expr(Expr::col((portals::Entity, portals::Column::TenantId)))
        .expr(Expr::col((numbers::Entity, numbers::Column::Id)))
        .expr(Expr::val(kind.as_str()))
        .expr(Expr::val(message_id))
        .expr(Expr::val(quantity))
        .expr(Expr::val(now_ms()))
        .from(messages::Entity)
        .inner_join(
            chats::Entity,
            Expr::col((chats::Entity, chats::Column::Id))
                .equals((messages::Entity, messages::Column::ChatId)),
        )
        .inner_join(
            numbers::Entity,
            Expr::col((numbers::Entity, numbers::Column::Id))
                .equals((chats::Entity, chats::Column::NumberId)),
        )
        .inner_join(
            portals::Entity,
            Expr::col((portals::Entity, portals::Column::Id))
                .equals((numbers::Entity, numbers::Column::PortalId)),
        )
        // Always a WHERE: SQLite needs one before `ON CONFLICT` in an INSERT … SELECT.
        .and_where(Expr::col((messages::Entity, messages::Column::Id)).eq(message_id))
        .to_owned();
    let insert = Query::insert()
        .into_table(usage_ledger::Entity)
        .columns([
            usage_ledger::Column::TenantId,
            usage_ledger::Column::NumberId,
            usage_ledger::Column::Kind,
            usage_ledger::Column::MessageId,
            usage_ledger::Column::Quantity,
            usage_ledger::Column::At,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(
            OnConflict::columns([usage_ledger::Column::Kind, usage_ledger::Column::MessageId])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let res = c.execute(c.get_database_backend().build(&insert)).await?;
    Ok(res.rows_affected() > 0)
}
