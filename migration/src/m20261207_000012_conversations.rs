//! Starting and resuming conversations (whatsapp-templates.md): each chat's customer-service
//! window (the customer's last message time, and when a 131047 failure closed it), a Cloud API
//! number's WhatsApp Business Account (templates are listed per WABA), and the templates synced
//! from it, one row per (number, name, language).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Chats {
    Table,
    LastInboundAt,
    WindowClosedAt,
}

#[derive(DeriveIden)]
enum Numbers {
    Table,
    Id,
    WabaId,
}

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
    NumberId,
    TemplateId,
    Name,
    Language,
    Category,
    Status,
    ParameterFormat,
    Components,
    Reason,
    SyncedAt,
    UpdatedAt,
}

/// One column per statement: SQLite's ALTER TABLE adds one at a time.
fn add(table: impl IntoIden + 'static, mut col: ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(&mut col).to_owned()
}

fn drop(table: impl IntoIden + 'static, col: impl IntoIden + 'static) -> TableAlterStatement {
    Table::alter().table(table).drop_column(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let chats = [Chats::LastInboundAt, Chats::WindowClosedAt];
        for col in chats {
            manager
                .alter_table(add(Chats::Table, big_integer_null(col)))
                .await?;
        }
        // Chats from before this column: the window starts from the customer's last stored
        // message (its own time), so an upgrade does not close windows that are open.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE chats SET last_inbound_at = (SELECT MAX(m.sent_at) FROM messages m \
                 WHERE m.chat_id = chats.id AND m.direction = 'in')",
            )
            .await?;
        manager
            .alter_table(add(Numbers::Table, text_null(Numbers::WabaId)))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Templates::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Templates::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer(Templates::NumberId))
                    .col(text(Templates::TemplateId))
                    .col(text(Templates::Name))
                    .col(text(Templates::Language))
                    .col(text(Templates::Category))
                    .col(text(Templates::Status))
                    .col(text(Templates::ParameterFormat))
                    .col(text(Templates::Components))
                    .col(text_null(Templates::Reason))
                    .col(big_integer(Templates::SyncedAt))
                    .col(big_integer(Templates::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Templates::Table, Templates::NumberId)
                            .to(Numbers::Table, Numbers::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_templates_number_name_language")
                    .table(Templates::Table)
                    .col(Templates::NumberId)
                    .col(Templates::Name)
                    .col(Templates::Language)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Templates::Table).to_owned())
            .await?;
        manager
            .alter_table(drop(Numbers::Table, Numbers::WabaId))
            .await?;
        for col in [Chats::WindowClosedAt, Chats::LastInboundAt] {
            manager.alter_table(drop(Chats::Table, col)).await?;
        }
        Ok(())
    }
}
