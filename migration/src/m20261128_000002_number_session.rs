//! A number's transport session state (Cloud API: `ok` or `token_invalid`; the Web gateway's
//! instance states come with that transport) and when it last changed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    SessionState,
    SessionChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .add_column(text(Numbers::SessionState).default("ok"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .add_column(big_integer_null(Numbers::SessionChangedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Numbers::SessionChangedAt, Numbers::SessionState] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Numbers::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
