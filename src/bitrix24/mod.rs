//! Bitrix24: REST/OAuth client, event decoding, BBCode. Knows nothing of WhatsApp.

pub mod bbcode;
pub mod client;
pub mod events;
pub mod form;
pub mod messageservice;
pub mod names;
pub mod rate;
pub mod session;

pub use client::{B24Client, B24Error, TokenPair};
