//! A message's trace: one row per hop it took (received, to Bitrix24, to WhatsApp, delivered,
//! read, failed, re-driven …), written in the same transaction as the state change it records.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageHops {
    Table,
    Id,
    MessageId,
    Hop,
    Detail,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageHops::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MessageHops::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer(MessageHops::MessageId))
                    .col(text(MessageHops::Hop))
                    .col(text_null(MessageHops::Detail))
                    .col(big_integer(MessageHops::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_message_hops_message_id")
                    .table(MessageHops::Table)
                    .col(MessageHops::MessageId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageHops::Table).to_owned())
            .await
    }
}
