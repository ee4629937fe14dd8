//! b24wa: WhatsApp ↔ Bitrix24 Open Lines connector.
//!
//! A message enters at `http/webhooks` (WhatsApp) or `http/bitrix24` (operator), is stored in
//! the inbox, owned by `actors/` (number → chat, portal), and leaves through the outbox via
//! `bitrix24/client` or `whatsapp/cloud/client`.

pub mod actors;
pub mod auth;
pub mod billing;
pub mod bitrix24;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod http;
pub mod i18n;
pub mod media;
pub mod metrics;
pub mod relay;
pub mod sandbox;
pub mod sim;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod trace;
pub mod transcribe;
pub mod whatsapp;
