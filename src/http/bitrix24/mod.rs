//! Where a portal talks to us: app install, events, and the settings page (placement).

pub mod events;
pub mod install;
pub mod messageservice;
pub mod placement;
