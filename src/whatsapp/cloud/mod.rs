//! Meta WhatsApp Cloud API: signed webhooks in, Graph API calls out.

pub mod client;
mod content;
pub mod payload;
pub mod templates;
pub mod webhook;

pub use client::{CloudClient, GraphError};
