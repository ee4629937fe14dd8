//! Where a portal talks to us: app install, events, the settings page and the template picker
//! (placements).

pub mod events;
pub mod install;
pub mod messageservice;
mod page;
pub mod picker;
pub mod placement;
