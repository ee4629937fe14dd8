//! Web gateways (a phone linked by QR): GREEN-API and Evolution API behind one interface, so the
//! number's actor, the media fetcher and the QR endpoint never ask which one they talk to. A
//! gateway is one provider folder in `whatsapp/` plus one arm in each method here.
//!
//! Session states are stored in one vocabulary, GREEN-API's (`authorized`, `notAuthorized`,
//! `starting`, …): the admin app, the health check and the operators' notices read them alike;
//! Evolution's (`open`, `connecting`, `close`, `refused`) are translated by [`evolution_state`].

use secrecy::SecretString;

use crate::{
    media::{FetchError, Fetched},
    relay::inbox::MediaSource,
    store::{crypto::SecretBox, numbers, StoreError},
    whatsapp::{
        evolution::{self, ConnState, EvolutionClient, EvolutionError},
        gateway::{self, GatewayClient, GatewayError, MessageOp},
    },
};

/// The clients of every Web gateway (the actors' and the request handlers' own sets).
#[derive(Clone, Copy)]
pub struct WebClients<'a> {
    pub green: &'a GatewayClient,
    pub evolution: &'a EvolutionClient,
}

/// One linked phone, with the gateway it is reached through and its decrypted credentials.
#[derive(Clone)]
pub enum WebGateway {
    GreenApi(gateway::Instance),
    Evolution(evolution::Instance),
}

/// Why a gateway call failed, in the terms the outbox and the API act on. Each carries the
/// provider's error in words (English, for logs and the admin app).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The phone is not linked (or the session is starting): wait for it.
    #[error("{0}")]
    NotAuthorized(String),
    /// The gateway refused our credentials (or does not know the instance).
    #[error("{0}")]
    Credentials(String),
    /// Worth retrying: rate limits, the gateway's own failures, timeouts, the network.
    #[error("{0}")]
    Transient(String),
    /// This request cannot succeed.
    #[error("{0}")]
    Rejected(String),
}

impl From<GatewayError> for WebError {
    fn from(e: GatewayError) -> Self {
        let words = e.to_string();
        match e {
            GatewayError::NotAuthorized(_) => WebError::NotAuthorized(words),
            GatewayError::Credentials(_) => WebError::Credentials(words),
            e if e.is_transient() => WebError::Transient(words),
            _ => WebError::Rejected(words),
        }
    }
}

impl From<EvolutionError> for WebError {
    fn from(e: EvolutionError) -> Self {
        let words = e.to_string();
        match e {
            EvolutionError::NotConnected(_) => WebError::NotAuthorized(words),
            EvolutionError::Unauthorized
            | EvolutionError::UnknownInstance(_)
            | EvolutionError::BadKey
            | EvolutionError::BadUrl(_) => WebError::Credentials(words),
            e if e.is_transient() => WebError::Transient(words),
            _ => WebError::Rejected(words),
        }
    }
}

/// What the QR endpoint shows.
#[derive(Debug, Clone, PartialEq)]
pub enum QrShown {
    /// A QR to scan (PNG, plain base64), and a pairing code when the gateway gave one.
    Qr {
        png_base64: String,
        pairing_code: Option<String>,
    },
    /// The phone is linked.
    Linked,
    /// No QR yet (the session is starting): ask again shortly.
    Pending,
    /// The gateway said something else instead (its words).
    Other(String),
}

/// Why a customer's file could not be downloaded.
#[derive(Debug)]
pub enum WebMediaError {
    /// Try again later (network, 5xx, an unlinked phone).
    Transient(String),
    /// The gateway no longer has the file.
    Gone(String),
    /// The download itself failed (too large, a dead link).
    Fetch(FetchError),
    /// The file's source is not this gateway's.
    WrongSource,
}

/// A gateway's failure to hand over a customer's file: worth another try later (the network,
/// an unlinked phone), or the file is gone.
fn file_refused(e: impl Into<WebError>) -> WebMediaError {
    match e.into() {
        WebError::Transient(w) | WebError::NotAuthorized(w) => WebMediaError::Transient(w),
        other => WebMediaError::Gone(other.to_string()),
    }
}

/// Evolution's session words in the stored vocabulary (GREEN-API's).
pub fn evolution_state(s: &ConnState) -> String {
    match s {
        ConnState::Open => gateway::AUTHORIZED.into(),
        ConnState::Connecting => "starting".into(),
        ConnState::Close | ConnState::Refused => gateway::NOT_AUTHORIZED.into(),
        ConnState::Other(o) => o.clone(),
    }
}

/// An Evolution send's `number` for our customer key: the digits, or a LID key (`…@lid`) as is.
fn evo_number(to: &str) -> String {
    to.to_string()
}

/// An Evolution `remoteJid` for our customer key.
fn evo_jid(to: &str) -> String {
    if to.contains('@') {
        to.to_string()
    } else {
        evolution::phone_jid(to)
    }
}

fn evo_key(to: &str, id: &str, from_me: bool) -> evolution::MessageKey {
    evolution::MessageKey {
        remote_jid: evo_jid(to),
        from_me,
        id: id.to_string(),
        participant: None,
    }
}

impl WebGateway {
    /// The gateway of a stored gateway number, credentials decrypted.
    pub fn load(sb: &SecretBox, m: &entity::numbers::Model) -> Result<Self, StoreError> {
        let url = m.gateway_api_url.clone().unwrap_or_default();
        let id = m.gateway_instance_id.clone().unwrap_or_default();
        let key: SecretString = sb.decrypt(&m.access_token_enc)?;
        Ok(if m.gateway_kind == numbers::GATEWAY_EVOLUTION {
            WebGateway::Evolution(evolution::Instance {
                base_url: url,
                name: id,
                api_key: key,
            })
        } else {
            WebGateway::GreenApi(gateway::Instance {
                api_url: url,
                id,
                token: key,
            })
        })
    }

    /// The session state, in the stored vocabulary.
    pub async fn state(&self, c: WebClients<'_>) -> Result<String, WebError> {
        match self {
            WebGateway::GreenApi(i) => Ok(c.green.state(i).await?),
            WebGateway::Evolution(i) => {
                Ok(evolution_state(&c.evolution.connection_state(i).await?))
            }
        }
    }

    /// The QR to show until the phone is linked; with the `phone` to be linked (digits), a
    /// pairing code too where the gateway gives one.
    pub async fn qr(&self, c: WebClients<'_>, phone: &str) -> Result<QrShown, WebError> {
        match self {
            WebGateway::GreenApi(i) => {
                let (kind, message) = c.green.qr(i).await?;
                Ok(match kind.as_str() {
                    "qrCode" => QrShown::Qr {
                        png_base64: message,
                        pairing_code: None,
                    },
                    "alreadyLogged" => QrShown::Linked,
                    _ => QrShown::Other(message),
                })
            }
            WebGateway::Evolution(i) => {
                let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
                let number = Some(digits.as_str()).filter(|d| !d.is_empty());
                Ok(match c.evolution.connect(i, number).await? {
                    evolution::Connect::Qr(q) => match q.png_base64() {
                        Some(png) => QrShown::Qr {
                            png_base64: png.to_string(),
                            pairing_code: q.pairing_code.clone(),
                        },
                        None => QrShown::Pending,
                    },
                    evolution::Connect::State(ConnState::Open) => QrShown::Linked,
                    evolution::Connect::State(_) | evolution::Connect::NoQr => QrShown::Pending,
                })
            }
        }
    }

    /// Sends a text to customer `to` (our key: digits, or a LID key); the message's id.
    pub async fn send_text(
        &self,
        c: WebClients<'_>,
        to: &str,
        text: &str,
    ) -> Result<String, WebError> {
        match self {
            WebGateway::GreenApi(i) => Ok(c
                .green
                .send_message(i, &gateway::chat_id(to), text, None)
                .await?),
            WebGateway::Evolution(i) => Ok(c
                .evolution
                .send_text(i, &evo_number(to), text, None)
                .await?
                .id),
        }
    }

    /// Sends a file the gateway fetches from `url`; the message's id. A voice note (an OGG
    /// audio) goes as one where the gateway tells them apart.
    pub async fn send_file(
        &self,
        c: WebClients<'_>,
        to: &str,
        url: &str,
        f: &FileToSend<'_>,
    ) -> Result<String, WebError> {
        match self {
            WebGateway::GreenApi(i) => Ok(c
                .green
                .send_file_by_url(i, &gateway::chat_id(to), url, f.name, f.caption)
                .await?),
            WebGateway::Evolution(i) => {
                let kind = match crate::media::cloud_kind(f.mime) {
                    "image" => evolution::MediaType::Image,
                    "video" => evolution::MediaType::Video,
                    "audio" => evolution::MediaType::Audio,
                    _ => evolution::MediaType::Document,
                };
                let media = evolution::Media {
                    kind,
                    media: url,
                    mime: Some(f.mime),
                    file_name: Some(f.name),
                    caption: Some(f.caption),
                };
                Ok(c.evolution
                    .send_media(i, &evo_number(to), &media, None)
                    .await?
                    .id)
            }
        }
    }

    /// Reads, deletes for everyone, or edits message `id` of the chat with `to`.
    pub async fn on_message(
        &self,
        c: WebClients<'_>,
        to: &str,
        id: &str,
        op: MessageOp<'_>,
    ) -> Result<(), WebError> {
        match self {
            WebGateway::GreenApi(i) => {
                Ok(c.green.on_message(i, &gateway::chat_id(to), id, op).await?)
            }
            WebGateway::Evolution(i) => {
                let e = &c.evolution;
                match op {
                    // A read is of the customer's message; deletes and edits of ours.
                    MessageOp::Read => e.mark_read(i, &[evo_key(to, id, false)]).await?,
                    MessageOp::Delete => e.delete_for_everyone(i, &evo_key(to, id, true)).await?,
                    MessageOp::Edit(text) => {
                        e.edit_text(i, &evo_number(to), &evo_key(to, id, true), text)
                            .await?
                    }
                }
                Ok(())
            }
        }
    }

    /// Customer `wa_id`'s avatar URL (`None`: none, or hidden by their privacy settings).
    pub async fn avatar(&self, c: WebClients<'_>, wa_id: &str) -> Result<Option<String>, WebError> {
        match self {
            WebGateway::GreenApi(i) => Ok(c.green.avatar(i, &gateway::chat_id(wa_id)).await?),
            WebGateway::Evolution(i) => Ok(c
                .evolution
                .profile_picture_url(i, &evo_number(wa_id))
                .await?),
        }
    }

    /// Downloads customer `wa_id`'s file of message `message_id` from where the webhook said.
    pub async fn download(
        &self,
        c: WebClients<'_>,
        http: &reqwest::Client,
        wa_id: &str,
        message_id: &str,
        source: &MediaSource,
        max: u64,
    ) -> Result<Fetched, WebMediaError> {
        match (self, source) {
            (WebGateway::GreenApi(inst), MediaSource::Gateway { url }) => {
                match crate::media::fetch(http, url, None, max).await {
                    // The webhook's link has expired: the gateway gives a new one.
                    Err(FetchError::Gone(_)) => {
                        let fresh = c
                            .green
                            .download_file(inst, &gateway::chat_id(wa_id), message_id)
                            .await
                            .map_err(file_refused)?;
                        crate::media::fetch(http, &fresh, None, max)
                            .await
                            .map_err(WebMediaError::Fetch)
                    }
                    other => other.map_err(WebMediaError::Fetch),
                }
            }
            // Evolution's links point at WhatsApp's encrypted files: the server decrypts them.
            (WebGateway::Evolution(inst), MediaSource::Evolution { message_id }) => {
                let f = c
                    .evolution
                    .media_base64(inst, message_id)
                    .await
                    .map_err(file_refused)?;
                if f.bytes.len() as u64 > max {
                    return Err(WebMediaError::Fetch(FetchError::TooLarge {
                        size: Some(f.bytes.len() as u64),
                        max,
                    }));
                }
                Ok(Fetched {
                    bytes: f.bytes,
                    mime: f.mime,
                })
            }
            _ => Err(WebMediaError::WrongSource),
        }
    }
}

/// An operator's file as the gateway sends it.
pub struct FileToSend<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub caption: &'a str,
}
