//! Initial schema: portals, numbers, chats, messages, inbox, jobs.
//!
//! Only portable column types are used (BIGINT, INTEGER, TEXT, BOOLEAN) so
//! the same migration runs on SQLite and PostgreSQL. All `*_at` columns hold
//! unix milliseconds.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn big_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

fn boolean(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).boolean().not_null().to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // portals
        manager
            .create_table(
                Table::create()
                    .table(Portals::Table)
                    .col(pk(Portals::Id))
                    .col(text(Portals::MemberId))
                    .col(text(Portals::Domain))
                    .col(text(Portals::ClientEndpoint))
                    .col(text(Portals::ServerEndpoint))
                    .col(text(Portals::AccessTokenEnc))
                    .col(text(Portals::RefreshTokenEnc))
                    .col(big(Portals::TokenExpiresAt))
                    .col(text(Portals::ApplicationTokenEnc))
                    .col(text(Portals::Scope))
                    .col(boolean(Portals::Installed))
                    .col(big(Portals::CreatedAt))
                    .col(big(Portals::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_portals_member_id")
                    .table(Portals::Table)
                    .col(Portals::MemberId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // numbers
        manager
            .create_table(
                Table::create()
                    .table(Numbers::Table)
                    .col(pk(Numbers::Id))
                    .col(big(Numbers::PortalId))
                    .col(text(Numbers::LineId))
                    .col(text(Numbers::Transport))
                    .col(text(Numbers::PhoneNumberId))
                    .col(text(Numbers::DisplayPhone))
                    .col(text(Numbers::AccessTokenEnc))
                    .col(text(Numbers::AppSecretEnc))
                    .col(text(Numbers::VerifyTokenEnc))
                    .col(boolean(Numbers::Active))
                    .col(big(Numbers::CreatedAt))
                    .col(big(Numbers::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_numbers_portal_id")
                            .from(Numbers::Table, Numbers::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_numbers_portal_id")
                    .table(Numbers::Table)
                    .col(Numbers::PortalId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_numbers_portal_id_line_id")
                    .table(Numbers::Table)
                    .col(Numbers::PortalId)
                    .col(Numbers::LineId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_numbers_phone_number_id")
                    .table(Numbers::Table)
                    .col(Numbers::PhoneNumberId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // chats
        manager
            .create_table(
                Table::create()
                    .table(Chats::Table)
                    .col(pk(Chats::Id))
                    .col(big(Chats::NumberId))
                    .col(text(Chats::CustomerWaId))
                    .col(text(Chats::CustomerName))
                    .col(text_null(Chats::B24ChatId))
                    .col(text_null(Chats::B24SessionId))
                    .col(big(Chats::CreatedAt))
                    .col(big(Chats::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_number_id")
                            .from(Chats::Table, Chats::NumberId)
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
                    .name("ux_chats_number_id_customer_wa_id")
                    .table(Chats::Table)
                    .col(Chats::NumberId)
                    .col(Chats::CustomerWaId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // messages
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(pk(Messages::Id))
                    .col(big(Messages::ChatId))
                    .col(text(Messages::Direction))
                    .col(text(Messages::Kind))
                    .col(text_null(Messages::Wamid))
                    .col(text_null(Messages::B24ChatId))
                    .col(text_null(Messages::B24MessageId))
                    .col(text(Messages::Text))
                    .col(text(Messages::Status))
                    .col(text_null(Messages::Error))
                    .col(big_null(Messages::SentAt))
                    .col(big_null(Messages::DeliveredAt))
                    .col(big_null(Messages::ReadAt))
                    .col(big(Messages::CreatedAt))
                    .col(big(Messages::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_chat_id")
                            .from(Messages::Table, Messages::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_chat_id")
                    .table(Messages::Table)
                    .col(Messages::ChatId)
                    .to_owned(),
            )
            .await?;
        // Unique over non-NULL values; both SQLite and PostgreSQL allow
        // any number of NULL wamids under a plain unique index.
        manager
            .create_index(
                Index::create()
                    .name("ux_messages_wamid")
                    .table(Messages::Table)
                    .col(Messages::Wamid)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_b24_chat_id_b24_message_id")
                    .table(Messages::Table)
                    .col(Messages::B24ChatId)
                    .col(Messages::B24MessageId)
                    .to_owned(),
            )
            .await?;

        // inbox
        manager
            .create_table(
                Table::create()
                    .table(Inbox::Table)
                    .col(pk(Inbox::Id))
                    .col(text(Inbox::Source))
                    .col(text(Inbox::ExternalId))
                    .col(text(Inbox::Owner))
                    .col(text(Inbox::Payload))
                    .col(boolean(Inbox::Processed))
                    .col(big(Inbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_inbox_source_external_id")
                    .table(Inbox::Table)
                    .col(Inbox::Source)
                    .col(Inbox::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbox_owner_processed_id")
                    .table(Inbox::Table)
                    .col(Inbox::Owner)
                    .col(Inbox::Processed)
                    .col(Inbox::Id)
                    .to_owned(),
            )
            .await?;

        // jobs
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk(Jobs::Id))
                    .col(text(Jobs::Owner))
                    .col(text(Jobs::QueueKey))
                    .col(text(Jobs::Kind))
                    .col(text(Jobs::Payload))
                    .col(text(Jobs::Status))
                    .col(int(Jobs::Attempts))
                    .col(big(Jobs::NextAttemptAt))
                    .col(text_null(Jobs::LastError))
                    .col(big(Jobs::CreatedAt))
                    .col(big(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_owner_status_id")
                    .table(Jobs::Table)
                    .col(Jobs::Owner)
                    .col(Jobs::Status)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents; indexes go with their tables.
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Inbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Messages::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Chats::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Numbers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Portals::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    Id,
    MemberId,
    Domain,
    ClientEndpoint,
    ServerEndpoint,
    AccessTokenEnc,
    RefreshTokenEnc,
    TokenExpiresAt,
    ApplicationTokenEnc,
    Scope,
    Installed,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Numbers {
    Table,
    Id,
    PortalId,
    LineId,
    Transport,
    PhoneNumberId,
    DisplayPhone,
    AccessTokenEnc,
    AppSecretEnc,
    VerifyTokenEnc,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    NumberId,
    CustomerWaId,
    CustomerName,
    B24ChatId,
    B24SessionId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ChatId,
    Direction,
    Kind,
    Wamid,
    B24ChatId,
    B24MessageId,
    Text,
    Status,
    Error,
    SentAt,
    DeliveredAt,
    ReadAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Inbox {
    Table,
    Id,
    Source,
    ExternalId,
    Owner,
    Payload,
    Processed,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Owner,
    QueueKey,
    Kind,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}
