//! A portal's language (bitrix24-crm.md §4): the Bitrix24 language id last seen from the portal
//! (install event, `app.info`, an admin's settings page) and an override set in the admin app.
//! Both `NULL` for portals from before this column: English until the portal tells us.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Portals {
    Table,
    LanguageB24,
    LanguageOverride,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [Portals::LanguageB24, Portals::LanguageOverride] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Portals::Table)
                        .add_column(text_null(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Portals::LanguageOverride, Portals::LanguageB24] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Portals::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
