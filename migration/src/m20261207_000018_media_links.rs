//! Extra links to a stored file with their own expiry: a conversation export hands out links
//! that work for a while (7 days by default) after the file's own link, given to Bitrix24 when
//! it was relayed, may have expired. Erasing the customer deletes them with the file.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MediaLinks {
    Table,
    Id,
    Token,
    MediaId,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MediaLinks::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(MediaLinks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(MediaLinks::Token))
                    .col(big_integer(MediaLinks::MediaId))
                    .col(big_integer(MediaLinks::CreatedAt))
                    .col(big_integer(MediaLinks::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_links_token")
                    .table(MediaLinks::Table)
                    .col(MediaLinks::Token)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_media_links_media")
                    .table(MediaLinks::Table)
                    .col(MediaLinks::MediaId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MediaLinks::Table).to_owned())
            .await
    }
}
