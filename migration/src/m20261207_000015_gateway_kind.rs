//! Which Web gateway a gateway number speaks (issue 18): `green-api` (every number from before
//! this column) or `evolution`. Nothing else is new: an Evolution number keeps its server URL in
//! `gateway_api_url`, its instance name in `gateway_instance_id`, its API key in
//! `access_token_enc` and its per-number webhook secret in `app_secret_enc`, encrypted like a
//! GREEN-API number's token and webhook token.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Numbers {
    Table,
    GatewayKind,
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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
