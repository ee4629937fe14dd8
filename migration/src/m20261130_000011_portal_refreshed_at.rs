//! When a portal's tokens were last refreshed (or handed over by an install), so that a portal
//! nobody writes to gets its refresh token renewed well inside its 180 days (bitrix24-crm §5).
//! `NULL` (portals from before this column): not known, renewed by the next sweep.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Portals {
    Table,
    RefreshedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .add_column(big_integer_null(Portals::RefreshedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .drop_column(Portals::RefreshedAt)
                    .to_owned(),
            )
            .await
    }
}
