//! How a number reaches WhatsApp: its transport with the decrypted credentials.

use crate::{
    store::numbers::{self, CloudCredentials},
    whatsapp::gateway::Instance,
};

/// How this number reaches WhatsApp, with its decrypted credentials.
#[derive(Clone)]
pub enum Transport {
    Cloud(CloudCredentials),
    Gateway(Instance),
}

impl Transport {
    pub fn load(
        secrets: &crate::store::crypto::SecretBox,
        m: &entity::numbers::Model,
    ) -> Result<Self, crate::store::StoreError> {
        if m.transport == numbers::TRANSPORT_GATEWAY {
            Ok(Transport::Gateway(Instance {
                api_url: m.gateway_api_url.clone().unwrap_or_default(),
                id: m.gateway_instance_id.clone().unwrap_or_default(),
                token: secrets.decrypt(&m.access_token_enc)?,
            }))
        } else {
            Ok(Transport::Cloud(numbers::credentials(secrets, m)?))
        }
    }
}
