//! SeaORM entities for the b24wa relay.
//!
//! Plain data definitions only; all `*_at` columns are unix milliseconds.

pub mod audit_log;
pub mod chats;
pub mod inbox;
pub mod jobs;
pub mod media;
pub mod media_links;
pub mod message_hops;
pub mod messages;
pub mod numbers;
pub mod portals;
pub mod quota_events;
pub mod templates;
pub mod tenants;
pub mod usage_ledger;
pub mod users;

pub mod prelude {
    pub use super::audit_log::Entity as AuditLog;
    pub use super::chats::Entity as Chats;
    pub use super::inbox::Entity as Inbox;
    pub use super::jobs::Entity as Jobs;
    pub use super::media::Entity as Media;
    pub use super::media_links::Entity as MediaLinks;
    pub use super::message_hops::Entity as MessageHops;
    pub use super::messages::Entity as Messages;
    pub use super::numbers::Entity as Numbers;
    pub use super::portals::Entity as Portals;
    pub use super::quota_events::Entity as QuotaEvents;
    pub use super::templates::Entity as Templates;
    pub use super::tenants::Entity as Tenants;
    pub use super::usage_ledger::Entity as UsageLedger;
    pub use super::users::Entity as Users;
}
