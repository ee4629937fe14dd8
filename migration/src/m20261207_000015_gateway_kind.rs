//! Which Web gateway a gateway number speaks (issue 18): `green-api` (every number from before
//! this column) or `evolution`. Nothing else is new: an Evolution number keeps its server URL in
//! `gateway_api_url`, its instance name in `gateway_instance_id`, its API key in
//! `access_token_enc` and its per-number webhook secret in `app_secret_enc`, encrypted like a
//! GREEN-API number's token and webhook token.
//!
//! And a customer's avatar on a Web gateway chat (`chats.avatar_url`, the URL the gateway gave;
//! `chats.avatar_checked_at`, when it was last asked: at most daily), passed to Bitrix24 with
//! the customer's messages.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    GatewayKind,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    AvatarUrl,
    AvatarCheckedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .add_column(text(Numbers::GatewayKind).default("green-api"))
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            text_null(Chats::AvatarUrl),
            big_integer_null(Chats::AvatarCheckedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chats::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [Chats::AvatarCheckedAt, Chats::AvatarUrl] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chats::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Numbers::Table)
                    .drop_column(Numbers::GatewayKind)
                    .to_owned(),
            )
            .await
    }
}
