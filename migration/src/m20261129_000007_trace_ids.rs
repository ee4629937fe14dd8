//! A message's trace id travels with it: the inbox item that brought it and the jobs it caused
//! carry the id (for the logs), and a job the time its message entered (for relay latency).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Inbox {
    Table,
    TraceId,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    TraceId,
    OriginAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds columns one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Inbox::Table)
                    .add_column(text_null(Inbox::TraceId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(text_null(Jobs::TraceId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(big_integer_null(Jobs::OriginAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, col) in [
            (Inbox::Table.into_iden(), Inbox::TraceId.into_iden()),
            (Jobs::Table.into_iden(), Jobs::TraceId.into_iden()),
            (Jobs::Table.into_iden(), Jobs::OriginAt.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
