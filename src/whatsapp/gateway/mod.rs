//! The WhatsApp Web gateway transport (GREEN-API protocol): an instance linked to a phone by
//! QR. Knows nothing of Bitrix24.

pub mod client;
pub mod webhook;

pub use client::{GatewayClient, GatewayError, Instance, MessageOp};

/// Instance states (`getStateInstance`, `stateInstanceChanged`). Only `authorized` sends.
pub const AUTHORIZED: &str = "authorized";
pub const NOT_AUTHORIZED: &str = "notAuthorized";

/// `79001234567` → `79001234567@c.us`.
pub fn chat_id(wa_id: &str) -> String {
    format!("{wa_id}@c.us")
}

/// `79001234567@c.us` → `79001234567`; `None` for groups and anything else.
pub fn wa_id(chat_id: &str) -> Option<&str> {
    chat_id
        .strip_suffix("@c.us")
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}
