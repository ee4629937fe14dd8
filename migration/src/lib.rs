//! Database schema migrations for b24wa (SQLite and PostgreSQL).

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261128_000002_number_session;
mod m20261128_000003_media;
mod m20261128_000004_tenants;
mod m20261128_000005_number_suspended;
mod m20261129_000006_message_hops;
mod m20261129_000007_trace_ids;
mod m20261129_000010_quota_events;
mod m20261130_000011_portal_refreshed_at;
mod m20261207_000012_conversations;
mod m20261207_000013_default_template;
mod m20261207_000014_portal_language;
mod m20261207_000015_gateway_kind;
mod m20261207_000016_usage_ledger;
mod m20261207_000017_retention;
mod m20261207_000018_media_links;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261128_000002_number_session::Migration),
            Box::new(m20261128_000003_media::Migration),
            Box::new(m20261128_000004_tenants::Migration),
            Box::new(m20261128_000005_number_suspended::Migration),
            Box::new(m20261129_000006_message_hops::Migration),
            Box::new(m20261129_000007_trace_ids::Migration),
            Box::new(m20261129_000010_quota_events::Migration),
            Box::new(m20261130_000011_portal_refreshed_at::Migration),
            Box::new(m20261207_000012_conversations::Migration),
            Box::new(m20261207_000013_default_template::Migration),
            Box::new(m20261207_000014_portal_language::Migration),
            Box::new(m20261207_000015_gateway_kind::Migration),
            Box::new(m20261207_000016_usage_ledger::Migration),
            Box::new(m20261207_000017_retention::Migration),
            Box::new(m20261207_000018_media_links::Migration),
        ]
    }
}
