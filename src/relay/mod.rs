//! The product's own language, with no I/O and no actors: what is stored between the webhooks
//! and the actors (inbox items, jobs), how a Bitrix24 chat names ours (the chat key), the states
//! a message moves through (forward only), and the pure translations between the two sides:
//! a customer's WhatsApp message → the Bitrix24 MESSAGES entry, an operator's message → the
//! WhatsApp sends, a receipt → the Bitrix24 status call.

pub mod chat_key;
pub mod inbox;
pub mod jobs;
pub mod phone;
pub mod states;
pub mod templates;
pub mod to_bitrix24;
pub mod to_whatsapp;
pub mod window;
