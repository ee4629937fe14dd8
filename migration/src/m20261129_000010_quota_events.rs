//! Over-quota events: one row per tenant, quota and month, so that the operators' notice and
//! the tenant's warning are given once, not per message (the unique key makes that hold across
//! chats and nodes).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum QuotaEvents {
    Table,
    Id,
    TenantId,
    Quota,
    Month,
    Used,
    Limit,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QuotaEvents::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(QuotaEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(big_integer(QuotaEvents::TenantId))
                    .col(text(QuotaEvents::Quota))
                    .col(text(QuotaEvents::Month))
                    .col(big_integer(QuotaEvents::Used))
                    .col(big_integer(QuotaEvents::Limit))
                    .col(big_integer(QuotaEvents::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_quota_events_once")
                    .table(QuotaEvents::Table)
                    .col(QuotaEvents::TenantId)
                    .col(QuotaEvents::Quota)
                    .col(QuotaEvents::Month)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QuotaEvents::Table).to_owned())
            .await
    }
}
