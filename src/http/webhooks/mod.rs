//! Where WhatsApp messages and receipts enter.

pub mod cloud;
pub mod gateway;
