//! A Cloud API number's default template: what a message from the CRM or a robot is sent as when
//! the customer's 24-hour window is closed (its one body variable takes the message's text).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    DefaultTemplateName,
    DefaultTemplateLanguage,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            Numbers::DefaultTemplateName,
            Numbers::DefaultTemplateLanguage,
        ] {
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
            Numbers::DefaultTemplateLanguage,
            Numbers::DefaultTemplateName,
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
