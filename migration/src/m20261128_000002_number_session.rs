//! A number's transport session state (Cloud API: `ok` or `token_invalid`; Web gateway: the
//! instance state, e.g. `authorized`) and when it last changed; the gateway's API URL and
//! instance id.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    SessionState,
    SessionChangedAt,
    GatewayApiUrl,
    GatewayInstanceId,
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
            .await?;
        for col in [Numbers::GatewayApiUrl, Numbers::GatewayInstanceId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Numbers::Table)
                        .add_column(text_null(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Numbers::GatewayInstanceId,
            Numbers::GatewayApiUrl,
            Numbers::SessionChangedAt,
            Numbers::SessionState,
        ] {
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
