//! WhatsApp transports. Knows nothing of Bitrix24's API (its BBCode aside).

use crate::{i18n::Lang, tr};

pub mod cloud;
pub mod errors;
pub mod evolution;
pub mod gateway;
mod http;

/// A recorded provider webhook from `tests/fixtures/whatsapp/` (both transports' parser tests).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A customer's new message, or the customer acting on an earlier one (both transports).
/// (The inbox stores its own `relay::inbox::CustomerAction`.)
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Action {
    #[default]
    New,
    /// The customer deleted `original` for everyone.
    Revoke { original: String },
    /// The customer edited `original`; `text` is the new text (BBCode, as for a new message).
    Edit { original: String, text: String },
    /// A reaction to `target`; an empty emoji removes it.
    Reaction { target: String, emoji: String },
}

/// A customer's message as a provider's webhook delivers it, decoded (the same for both
/// providers; the inbox stores it as `InboxItem::WaMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The customer's WhatsApp id.
    pub from: String,
    /// The customer's profile name ("" when the provider gives none).
    pub name: String,
    /// The provider's message id (Cloud API wamid, gateway idMessage).
    pub wamid: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The text shown to the operator, as Bitrix24 BBCode: the customer's words escaped and their
    /// WhatsApp formatting made tags (`bbcode::from_whatsapp`), or what `shown` says in English.
    pub text: String,
    pub reply_to: Option<String>,
    /// What the message does to the conversation.
    pub action: Action,
    /// The file of an image, video, audio, voice, document or sticker message.
    pub media: Option<MediaRef>,
    /// What `text` says in English when it is ours (a tap, a location, a contact, …), for the
    /// chat to say it in the portal's language.
    pub shown: Option<Shown>,
}

/// A customer's message that is not words they typed (a tap, a shared location or contact, a
/// kind we cannot show): the parsers know no reader, so the message's `text` has it in English
/// and the chat renders it again in the portal's language (`text`). (The inbox stores its own
/// `relay::inbox::Shown`.)
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// A tap on one of our buttons (`list`: a choice from a list), by its label.
    Tap { list: bool, label: String },
    /// A shared location.
    Location {
        lat: f64,
        lon: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// Shared contact cards: each one's name and phones.
    Contacts(Vec<(String, Vec<String>)>),
    /// A location without coordinates, a contact card without details, a reply to a button or
    /// an interactive message without its label.
    Empty(EmptyKind),
    /// A kind of message we cannot show (as the provider names it).
    Unsupported { kind: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyKind {
    Location,
    Contact,
    Interactive,
    Button,
}

impl Shown {
    /// A shared location from a provider's fields: without both coordinates it shows as an empty
    /// one.
    pub fn location(
        lat: Option<f64>,
        lon: Option<f64>,
        name: Option<&str>,
        address: Option<&str>,
    ) -> Self {
        match (lat, lon) {
            (Some(lat), Some(lon)) => Shown::Location {
                lat,
                lon,
                name: name.map(str::to_string),
                address: address.map(str::to_string),
            },
            _ => Shown::Empty(EmptyKind::Location),
        }
    }

    /// The message as BBCode in `lang`: our words, and the customer's (names, labels, places)
    /// escaped, so the only live tags are ours.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Shown::Tap { list, label } => {
                let what = if *list {
                    tr!(lang, "chose-from-list")
                } else {
                    tr!(lang, "tapped-button")
                };
                format!("[i]{what}[/i] {}", crate::bitrix24::bbcode::escape(label))
            }
            Shown::Location {
                lat,
                lon,
                name,
                address,
            } => location_text(lang, *lat, *lon, name.as_deref(), address.as_deref()),
            Shown::Contacts(cards) => cards
                .iter()
                .map(|(name, phones)| contact_text(lang, name, phones))
                .collect::<Vec<_>>()
                .join("[br]"),
            Shown::Empty(kind) => {
                let kind = match kind {
                    EmptyKind::Location => "location",
                    EmptyKind::Contact => "contact",
                    EmptyKind::Interactive => "interactive",
                    EmptyKind::Button => "button",
                };
                crate::bitrix24::bbcode::escape(&format!(
                    "[{}]",
                    tr!(lang, "wa-empty", kind = kind)
                ))
            }
            // The kind is the provider's word: escaped with the rest.
            Shown::Unsupported { kind } => crate::bitrix24::bbcode::escape(&format!(
                "[{}]",
                tr!(lang, "wa-unsupported", kind = kind.as_str())
            )),
        }
    }
}

/// A file the customer sent, as the provider describes it. The chat downloads it (once) before
/// relaying the message; the bytes never pass through the webhook handler.
/// (The inbox stores its own `relay::inbox::MediaRef`.)
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRef {
    /// image, video, audio, voice (a recorded voice note), document, sticker.
    pub kind: String,
    pub source: MediaSource,
    pub mime: String,
    pub file_name: Option<String>,
    /// The provider's sha256 (Cloud API, base64), checked after download when present.
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// Cloud API: `GET /{media_id}` gives a short-lived URL, fetched with the number's token.
    Cloud { media_id: String },
    /// Web gateway: a direct link; when it has expired, `downloadFile` gives a new one.
    Gateway { url: String },
}

/// Readable text for a shared location, as BBCode: a map link the operator can open, labelled
/// with the place's name and address (escaped: they come from the customer's side).
fn location_text(
    lang: Lang,
    lat: f64,
    lon: f64,
    name: Option<&str>,
    address: Option<&str>,
) -> String {
    let label: Vec<&str> = [name, address]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let label = if label.is_empty() {
        format!("{lat:.6}, {lon:.6}")
    } else {
        crate::bitrix24::bbcode::escape(&label.join(", "))
    };
    format!(
        "📍 {}: [url=https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}]{label}[/url]",
        tr!(lang, "wa-location")
    )
}

/// Readable text for a shared contact card, as BBCode (the card's name and phones escaped).
fn contact_text(lang: Lang, name: &str, phones: &[String]) -> String {
    let name = if name.trim().is_empty() {
        tr!(lang, "wa-contact-no-name")
    } else {
        name.trim().to_string()
    };
    let word = tr!(lang, "wa-contact");
    let text = if phones.is_empty() {
        format!("👤 {word}: {name}")
    } else {
        format!("👤 {word}: {name}, {}", phones.join(", "))
    };
    crate::bitrix24::bbcode::escape(&text)
}

/// The phone numbers in a vCard (`TEL` lines), as the gateway sends contact cards.
pub fn vcard_phones(vcard: &str) -> Vec<String> {
    vcard
        .lines()
        .filter(|l| l.to_ascii_uppercase().starts_with("TEL") || l.contains(".TEL"))
        .filter_map(|l| l.rsplit_once(':').map(|(_, v)| v.trim().to_string()))
        .filter(|v| !v.is_empty())
        .collect()
}
