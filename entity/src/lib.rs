//! SeaORM entities for the b24wa relay.
//!
//! Plain data definitions only; all `*_at` columns are unix milliseconds.

pub mod chats;
pub mod inbox;
pub mod jobs;
pub mod media;
pub mod messages;
pub mod numbers;
pub mod portals;

pub mod prelude {
    pub use super::chats::Entity as Chats;
    pub use super::inbox::Entity as Inbox;
    pub use super::jobs::Entity as Jobs;
    pub use super::media::Entity as Media;
    pub use super::messages::Entity as Messages;
    pub use super::numbers::Entity as Numbers;
    pub use super::portals::Entity as Portals;
}
