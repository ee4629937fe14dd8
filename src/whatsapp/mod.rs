//! WhatsApp transports. Knows nothing of Bitrix24.

pub mod cloud;
pub mod errors;
