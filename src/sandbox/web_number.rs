//! The sandbox's Web gateway number (Open Line 1), on GREEN-API or on Evolution API (`b24wa
//! sandbox --gateway …`): what the customer does on their phone and what the page shows of it,
//! the same whichever simulator stands behind it.

use crate::{
    i18n::Lang,
    sim::{EvolutionCustomer, EvolutionFile, EvolutionSim, GatewaySim},
};

use super::{evolution, green_api, view, CUSTOMER_NAME, CUSTOMER_PHONE, VOICE_SAMPLE};

/// Which gateway the sandbox's Web number speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WebGateway {
    #[default]
    GreenApi,
    Evolution,
}

/// The Web number's simulator and its instance on it.
pub enum WebSim {
    GreenApi { sim: GatewaySim, instance: u64 },
    Evolution { sim: EvolutionSim, instance: String },
}

/// A customer's delete of a message not on their phone, or already deleted.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteRefused {
    NotFound,
    AlreadyDeleted,
}

fn customer() -> EvolutionCustomer {
    EvolutionCustomer::phone(CUSTOMER_PHONE, CUSTOMER_NAME)
}

impl WebSim {
    pub fn gateway(&self) -> WebGateway {
        match self {
            Self::GreenApi { .. } => WebGateway::GreenApi,
            Self::Evolution { .. } => WebGateway::Evolution,
        }
    }

    /// The GREEN-API simulator, when that is the gateway.
    pub fn green_api(&self) -> Option<&GatewaySim> {
        match self {
            Self::GreenApi { sim, .. } => Some(sim),
            Self::Evolution { .. } => None,
        }
    }

    /// The Evolution simulator, when that is the gateway.
    pub fn evolution(&self) -> Option<&EvolutionSim> {
        match self {
            Self::Evolution { sim, .. } => Some(sim),
            Self::GreenApi { .. } => None,
        }
    }

    /// The customer's chat as the gateway names it.
    fn customer_chat(&self) -> String {
        match self {
            Self::GreenApi { .. } => format!("{CUSTOMER_PHONE}@c.us"),
            Self::Evolution { .. } => customer().jid(),
        }
    }

    /// The customer's messages and the business's on the customer's phone, oldest first.
    pub fn phone_messages(&self) -> Vec<view::PhoneMessage> {
        let chat = self.customer_chat();
        match self {
            Self::GreenApi { sim, instance } => green_api::phone_messages(
                *instance,
                &chat,
                &sim.customer_messages(),
                &sim.sent(),
                &sim.webhook_deliveries(),
                &sim.calls(),
            ),
            Self::Evolution { sim, instance } => evolution::phone_messages(
                instance,
                &chat,
                &sim.deliveries(),
                &sim.sent(),
                &sim.reads(),
            ),
        }
    }

    /// The hops between the phone and b24wa, both ways.
    pub fn whatsapp_hops(&self, lang: Lang) -> Vec<view::TraceEntry> {
        match self {
            Self::GreenApi { sim, instance } => {
                green_api::whatsapp_hops(lang, *instance, &sim.webhook_deliveries(), &sim.calls())
            }
            Self::Evolution { sim, instance } => {
                evolution::whatsapp_hops(lang, instance, &sim.deliveries(), &sim.calls())
            }
        }
    }

    /// The customer writes `text`: (message id, how our webhook route answered; 0 = not posted).
    pub async fn customer_text(&self, text: &str) -> (String, u16) {
        match self {
            Self::GreenApi { sim, instance } => {
                let id = sim
                    .customer_text(*instance, CUSTOMER_PHONE, CUSTOMER_NAME, text)
                    .await;
                let status = green_api_status(sim, &id);
                (id, status)
            }
            Self::Evolution { sim, instance } => {
                sim.customer_text(instance, &customer(), text, None).await
            }
        }
    }

    /// The customer sends the bundled voice note.
    pub async fn customer_voice(&self) -> (String, u16) {
        match self {
            Self::GreenApi { sim, instance } => {
                let id = sim
                    .customer_file(
                        *instance,
                        CUSTOMER_PHONE,
                        CUSTOMER_NAME,
                        "audioMessage",
                        "audio/ogg; codecs=opus",
                        "voice-note.ogg",
                        VOICE_SAMPLE.to_vec(),
                        "",
                    )
                    .await;
                let status = green_api_status(sim, &id);
                (id, status)
            }
            Self::Evolution { sim, instance } => {
                let file = EvolutionFile {
                    kind: "voice".into(),
                    mime: "audio/ogg; codecs=opus".into(),
                    file_name: None,
                    caption: None,
                    bytes: VOICE_SAMPLE.to_vec(),
                };
                sim.customer_media(instance, &customer(), file).await
            }
        }
    }

    /// The customer deletes their message `id` for everyone: (the id of what says so — GREEN-API's
    /// `deletedMessage`, Evolution's delete names the message itself — and our route's answer).
    pub async fn customer_delete(&self, id: &str) -> Result<(String, u16), DeleteRefused> {
        match self
            .phone_messages()
            .iter()
            .find(|m| m.id == id && m.from == "customer")
        {
            None => return Err(DeleteRefused::NotFound),
            Some(m) if m.deleted => return Err(DeleteRefused::AlreadyDeleted),
            Some(_) => {}
        }
        Ok(match self {
            Self::GreenApi { sim, instance } => {
                let del = sim.customer_delete(*instance, CUSTOMER_PHONE, id).await;
                let status = green_api_status(sim, &del);
                (del, status)
            }
            Self::Evolution { sim, instance } => {
                let status = sim.customer_delete(instance, &customer(), id).await;
                (id.to_string(), status)
            }
        })
    }
}

/// The first webhook attempt's answer for GREEN-API message `id` (0 = not delivered).
fn green_api_status(sim: &GatewaySim, id: &str) -> u16 {
    sim.webhook_deliveries()
        .iter()
        .find(|d| d.id_message.as_deref() == Some(id))
        .map_or(0, |d| d.status)
}
