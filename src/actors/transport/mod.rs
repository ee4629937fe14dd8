//! How a number reaches WhatsApp: the Cloud API, or a Web gateway (a linked phone) through one
//! of the gateways [`web::WebGateway`] knows. The number's actor, the media fetcher and the
//! QR endpoint match once on Cloud vs Web; what differs between gateways lives in `web`.

pub mod web;

pub use web::{QrShown, WebClients, WebError, WebGateway, WebMediaError};

use crate::store::numbers::{self, CloudCredentials};

/// How this number reaches WhatsApp, with its decrypted credentials.
#[derive(Clone)]
pub enum Transport {
    Cloud(CloudCredentials),
    Web(WebGateway),
}

impl Transport {
    pub fn load(
        secrets: &crate::store::crypto::SecretBox,
        m: &entity::numbers::Model,
    ) -> Result<Self, crate::store::StoreError> {
        if m.transport == numbers::TRANSPORT_GATEWAY {
            Ok(Transport::Web(WebGateway::load(secrets, m)?))
        } else {
            Ok(Transport::Cloud(numbers::credentials(secrets, m)?))
        }
    }
}
