//! The usage ledger (issue 19): one append-only row per billable thing, written when it happens
//! (in the same transaction), so usage no longer depends on message history and purging messages
//! never changes a past total. One row per (kind, message): a retried write is a no-op.
//!
//! Kinds: `inbound` and `outbound` (a message relayed each way), `media_in` and `media_out` (a
//! file relayed each way), `transcription` (a voice note transcribed; `quantity` is its seconds).
//!
//! The backfill turns today's history into rows counted exactly as the reports counted it before
//! (messages by direction, messages with a file, messages with a stored transcript or note and
//! their voice note's seconds), each at its message's time, so an upgrade leaves past totals as
//! they were.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UsageLedger {
    Table,
    Id,
    TenantId,
    NumberId,
    Kind,
    MessageId,
    Quantity,
    At,
}

/// The message's number and tenant, as of now (the tenant the reports counted it under).
const FROM_MESSAGES: &str = "FROM messages m \
     JOIN chats c ON c.id = m.chat_id \
     JOIN numbers n ON n.id = c.number_id \
     JOIN portals p ON p.id = n.portal_id";

fn backfill() -> [String; 3] {
    let cols = "INSERT INTO usage_ledger (tenant_id, number_id, kind, message_id, quantity, at)";
    [
        format!(
            "{cols} SELECT p.tenant_id, n.id, \
             CASE WHEN m.direction = 'in' THEN 'inbound' ELSE 'outbound' END, \
             m.id, 1.0, m.created_at {FROM_MESSAGES} WHERE m.direction IN ('in', 'out')"
        ),
        format!(
            "{cols} SELECT p.tenant_id, n.id, \
             CASE WHEN m.direction = 'in' THEN 'media_in' ELSE 'media_out' END, \
             m.id, 1.0, m.created_at {FROM_MESSAGES} WHERE m.media_id IS NOT NULL"
        ),
        // Before the ledger a note saying why there is no transcript counted too, and so did
        // its seconds: past totals keep them.
        format!(
            "{cols} SELECT p.tenant_id, n.id, 'transcription', m.id, \
             COALESCE((SELECT CAST(f.seconds AS DOUBLE PRECISION) FROM media f \
                       WHERE f.id = m.media_id AND f.kind = 'voice'), 0.0), \
             m.created_at {FROM_MESSAGES} WHERE m.transcript IS NOT NULL"
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageLedger::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(UsageLedger::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer_null(UsageLedger::TenantId))
                    .col(big_integer(UsageLedger::NumberId))
                    .col(text(UsageLedger::Kind))
                    .col(big_integer(UsageLedger::MessageId))
                    .col(double(UsageLedger::Quantity))
                    .col(big_integer(UsageLedger::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_usage_ledger_once")
                    .table(UsageLedger::Table)
                    .col(UsageLedger::Kind)
                    .col(UsageLedger::MessageId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_usage_ledger_tenant_at")
                    .table(UsageLedger::Table)
                    .col(UsageLedger::TenantId)
                    .col(UsageLedger::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_usage_ledger_number_at")
                    .table(UsageLedger::Table)
                    .col(UsageLedger::NumberId)
                    .col(UsageLedger::At)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in backfill() {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UsageLedger::Table).to_owned())
            .await
    }
}
