//! Data lifecycle (issue 19): a tenant's own retention (days of messages and of media files;
//! `NULL` follows the configured default, bounded by the plan) and a portal's uninstall state
//! (when it was uninstalled, when its data is purged if the uninstall asked for it (`CLEAN=1`),
//! and when that purge finished). Indexes on the `*_at` columns the retention sweep reads.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    RetentionMessagesDays,
    RetentionMediaDays,
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    UninstalledAt,
    PurgeAfter,
    PurgedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Inbox {
    Table,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    UpdatedAt,
}

const INDEXES: [(&str, &str); 4] = [
    ("idx_messages_created_at", "messages"),
    ("idx_media_created_at", "media"),
    ("idx_inbox_created_at", "inbox"),
    ("idx_jobs_updated_at", "jobs"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [Tenants::RetentionMessagesDays, Tenants::RetentionMediaDays] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(integer_null(col))
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            Portals::UninstalledAt,
            Portals::PurgeAfter,
            Portals::PurgedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Portals::Table)
                        .add_column(big_integer_null(col))
                        .to_owned(),
                )
                .await?;
        }
        let indexes = [
            Index::create()
                .name(INDEXES[0].0)
                .table(Messages::Table)
                .col(Messages::CreatedAt)
                .to_owned(),
            Index::create()
                .name(INDEXES[1].0)
                .table(Media::Table)
                .col(Media::CreatedAt)
                .to_owned(),
            Index::create()
                .name(INDEXES[2].0)
                .table(Inbox::Table)
                .col(Inbox::CreatedAt)
                .to_owned(),
            Index::create()
                .name(INDEXES[3].0)
                .table(Jobs::Table)
                .col(Jobs::UpdatedAt)
                .to_owned(),
        ];
        for idx in indexes {
            manager.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        for col in [
            Portals::PurgedAt,
            Portals::PurgeAfter,
            Portals::UninstalledAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Portals::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [Tenants::RetentionMediaDays, Tenants::RetentionMessagesDays] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
