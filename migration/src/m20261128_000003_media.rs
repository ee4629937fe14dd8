//! Media files: what we downloaded from WhatsApp (inbound) or fetched from a portal (operator
//! attachments), where it is stored, and the unguessable token of its `/media/…` URL. Messages
//! point at their file and keep a voice note's transcript.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    SourceKey,
    Token,
    NumberId,
    Kind,
    Mime,
    FileName,
    Size,
    Sha256,
    StorageKey,
    State,
    Note,
    Seconds,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    MediaId,
    Transcript,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Media::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    // "in:<provider message id>" or "out:<job id>": one file per source, so a
                    // retried download or fetch finds the file it already stored.
                    .col(text_uniq(Media::SourceKey))
                    .col(text_uniq(Media::Token))
                    .col(big_integer(Media::NumberId))
                    .col(text(Media::Kind))
                    .col(text(Media::Mime))
                    .col(text(Media::FileName))
                    .col(big_integer(Media::Size))
                    .col(text(Media::Sha256))
                    .col(text(Media::StorageKey))
                    .col(text(Media::State))
                    .col(text_null(Media::Note))
                    .col(float_null(Media::Seconds))
                    .col(big_integer(Media::CreatedAt))
                    .col(big_integer(Media::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(big_integer_null(Messages::MediaId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(text_null(Messages::Transcript))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Messages::Transcript, Messages::MediaId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Media::Table).to_owned())
            .await
    }
}
