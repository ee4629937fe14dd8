//! Meta WhatsApp Cloud API: signed webhooks in, Graph API calls out.

pub mod client;
pub mod templates;
pub mod webhook;

pub use client::{CloudClient, GraphError};
