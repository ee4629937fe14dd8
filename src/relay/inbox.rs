//! Inbox items: what a webhook or an event becomes once it is ours, stored as JSON in
//! `inbox.payload` before it is acknowledged. The serde names are the stored format: rows
//! written by earlier versions must keep parsing, so rename nothing here.
//!
//! The providers' parsers have their own types (`whatsapp::MediaRef`, `whatsapp::Action`,
//! `bitrix24::events::OperatorFile`); they become these at the boundary (`From` below).

use serde::{Deserialize, Serialize};

use crate::{bitrix24::events as b24, whatsapp};

/// What an inbox row carries, decoded from the provider's payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboxItem {
    /// A customer's WhatsApp message (Cloud API).
    WaMessage {
        phone_number_id: String,
        from: String,
        name: String,
        wamid: String,
        timestamp: i64,
        text: String,
        #[serde(default)]
        reply_to: Option<String>,
        #[serde(default)]
        action: CustomerAction,
        /// The file of a media message, fetched by the chat before relaying.
        #[serde(default)]
        media: Option<MediaRef>,
        /// What `text` says in English when the words are ours (a tap, a location, …): the
        /// chat says it in the portal's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shown: Option<Box<Shown>>,
    },
    /// A message typed on a Web gateway's linked phone itself, outside b24wa (`text`: BBCode):
    /// shown in the chat as the company's words, so the Open Lines history matches the phone.
    WaPhoneMessage {
        phone_number_id: String,
        /// The customer it was written to.
        to: String,
        wamid: String,
        timestamp: i64,
        text: String,
    },
    /// A receipt for a message we sent.
    WaStatus {
        phone_number_id: String,
        wamid: String,
        status: String,
        timestamp: i64,
        recipient_id: String,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        error_code: Option<i64>,
    },
    /// An operator's message from an Open Lines chat.
    B24OperatorMessage {
        line: String,
        chat_id: String,
        im_chat_id: String,
        im_message_id: String,
        text: String,
        /// Attachments to fetch from the portal and send.
        #[serde(default)]
        files: Vec<OperatorFile>,
    },
    /// A voice note's transcript is ready (`text`), or there is none and `reason` says why
    /// (rendered in the portal's language; `note`: the English words of earlier versions).
    Transcript {
        wa_id: String,
        message_id: i64,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        note: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<super::to_bitrix24::TranscriptNote>,
        /// The note's length in seconds, when it was transcribed (what its minutes cost).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<f32>,
    },
    /// A gateway number's session state changed (`stateInstanceChanged`).
    WaSessionState { state: String, timestamp: i64 },
    /// An operator edited a message we had confirmed (`ids` are our wamids on it).
    B24OperatorEdit {
        line: String,
        chat_id: String,
        im_chat_id: String,
        im_message_id: String,
        ids: Vec<String>,
        text: String,
    },
    /// A message a CRM user or a robot sent through the number's message-service provider
    /// (bitrix24-crm.md §1). `to` is the customer's WhatsApp id (the CRM phone, normalised);
    /// `message_id` is Bitrix24's, the key of the statuses we report.
    B24CrmMessage {
        code: String,
        message_id: String,
        to: String,
        text: String,
        #[serde(default)]
        user_id: Option<String>,
    },
    /// An operator deleted a message we had confirmed (`id` is our wamid on it).
    B24OperatorDelete {
        line: String,
        chat_id: String,
        im_chat_id: String,
        im_message_id: String,
        id: String,
    },
}

impl InboxItem {
    /// A customer's message to the number `phone_number_id` (either provider's), as stored.
    pub fn wa_message(phone_number_id: String, m: whatsapp::Incoming) -> Self {
        InboxItem::WaMessage {
            phone_number_id,
            from: m.from,
            name: m.name,
            wamid: m.wamid,
            timestamp: m.timestamp,
            text: m.text,
            reply_to: m.reply_to,
            action: m.action.into(),
            media: m.media.map(Into::into),
            shown: m.shown.map(|s| Box::new(s.into())),
        }
    }

    /// The customer (`wa_id`) whose chat an item belongs to; `None` for a number's own items
    /// (session states) and for what cannot be routed.
    pub fn customer(&self) -> Option<&str> {
        match self {
            InboxItem::WaMessage { from, .. } => Some(from),
            InboxItem::WaPhoneMessage { to, .. } => Some(to),
            InboxItem::WaStatus { recipient_id, .. } => Some(recipient_id),
            InboxItem::Transcript { wa_id, .. } => Some(wa_id),
            InboxItem::B24CrmMessage { to, .. } => Some(to),
            InboxItem::WaSessionState { .. } => None,
            b24 => b24
                .b24_route()
                .and_then(|(_, chat_id, _)| super::chat_key::parse_chat_key(chat_id))
                .map(|(wa, _)| wa),
        }
    }

    /// For items from a portal: (line, our chat id, Bitrix24 chat id), used to route them.
    pub fn b24_route(&self) -> Option<(&str, &str, &str)> {
        match self {
            InboxItem::B24OperatorMessage {
                line,
                chat_id,
                im_chat_id,
                ..
            }
            | InboxItem::B24OperatorEdit {
                line,
                chat_id,
                im_chat_id,
                ..
            }
            | InboxItem::B24OperatorDelete {
                line,
                chat_id,
                im_chat_id,
                ..
            } => Some((line, chat_id, im_chat_id)),
            _ => None,
        }
    }
}

/// A customer's new message, or the customer acting on an earlier one (`kind` tag).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CustomerAction {
    #[default]
    New,
    /// The customer deleted `original` for everyone.
    Revoke { original: String },
    /// The customer edited `original`; `text` is the new text (BBCode, as for a new message).
    Edit { original: String, text: String },
    /// A reaction to `target`; an empty emoji removes it.
    Reaction { target: String, emoji: String },
}

/// A customer's message that is not words they typed (`whatsapp::Shown`, stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shown {
    Tap {
        #[serde(default)]
        list: bool,
        label: String,
    },
    Location {
        lat: f64,
        lon: f64,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        address: Option<String>,
    },
    Contacts {
        /// (name, phones) of each card.
        cards: Vec<(String, Vec<String>)>,
    },
    /// `what`: location, contact, interactive, button.
    Empty {
        what: String,
    },
    Unsupported {
        what: String,
    },
}

impl From<whatsapp::Shown> for Shown {
    fn from(s: whatsapp::Shown) -> Self {
        use whatsapp::{EmptyKind as E, Shown as W};
        match s {
            W::Tap { list, label } => Self::Tap { list, label },
            W::Location {
                lat,
                lon,
                name,
                address,
            } => Self::Location {
                lat,
                lon,
                name,
                address,
            },
            W::Contacts(cards) => Self::Contacts { cards },
            W::Empty(k) => Self::Empty {
                what: match k {
                    E::Location => "location",
                    E::Contact => "contact",
                    E::Interactive => "interactive",
                    E::Button => "button",
                }
                .into(),
            },
            W::Unsupported { kind } => Self::Unsupported { what: kind },
        }
    }
}

impl Shown {
    /// The message in `lang` (the parser's rendering, `whatsapp::Shown::text`).
    pub fn text(&self, lang: crate::i18n::Lang) -> String {
        use whatsapp::{EmptyKind as E, Shown as W};
        let w = match self.clone() {
            Shown::Tap { list, label } => W::Tap { list, label },
            Shown::Location {
                lat,
                lon,
                name,
                address,
            } => W::Location {
                lat,
                lon,
                name,
                address,
            },
            Shown::Contacts { cards } => W::Contacts(cards),
            Shown::Empty { what } => W::Empty(match what.as_str() {
                "location" => E::Location,
                "contact" => E::Contact,
                "interactive" => E::Interactive,
                _ => E::Button,
            }),
            Shown::Unsupported { what } => W::Unsupported { kind: what },
        };
        w.text(lang)
    }
}

/// A file the customer sent, as the provider describes it. The chat downloads it (once) before
/// relaying the message; the bytes never pass through the webhook handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    /// image, video, audio, voice (a recorded voice note), document, sticker.
    pub kind: String,
    pub source: MediaSource,
    #[serde(default)]
    pub mime: String,
    #[serde(default)]
    pub file_name: Option<String>,
    /// The provider's sha256 (Cloud API, base64), checked after download when present.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Where a customer's file is fetched from (`via` tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum MediaSource {
    /// Cloud API: `GET /{media_id}` gives a short-lived URL, fetched with the number's token.
    Cloud { media_id: String },
    /// Web gateway: a direct link; when it has expired, `downloadFile` gives a new one.
    Gateway { url: String },
    /// Evolution API: the file's link is WhatsApp's encrypted one; the server decrypts it
    /// (`getBase64FromMediaMessage`) by the message's id.
    Evolution { message_id: String },
}

/// One operator attachment, served by the portal at `link`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorFile {
    pub name: String,
    /// `image`, `file`, … as Bitrix24 labels it.
    #[serde(default)]
    pub kind: String,
    pub link: String,
    #[serde(default)]
    pub size: Option<i64>,
}

impl From<whatsapp::Action> for CustomerAction {
    fn from(a: whatsapp::Action) -> Self {
        match a {
            whatsapp::Action::New => Self::New,
            whatsapp::Action::Revoke { original } => Self::Revoke { original },
            whatsapp::Action::Edit { original, text } => Self::Edit { original, text },
            whatsapp::Action::Reaction { target, emoji } => Self::Reaction { target, emoji },
        }
    }
}

impl From<whatsapp::MediaRef> for MediaRef {
    fn from(m: whatsapp::MediaRef) -> Self {
        Self {
            kind: m.kind,
            source: match m.source {
                whatsapp::MediaSource::Cloud { media_id } => MediaSource::Cloud { media_id },
                whatsapp::MediaSource::Gateway { url } => MediaSource::Gateway { url },
            },
            mime: m.mime,
            file_name: m.file_name,
            sha256: m.sha256,
        }
    }
}

impl From<b24::OperatorFile> for OperatorFile {
    fn from(f: b24::OperatorFile) -> Self {
        Self {
            name: f.name,
            kind: f.kind,
            link: f.link,
            size: f.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before the inbox had its own types still parse, and are written the same.
    #[test]
    fn stored_items_keep_their_json() {
        let stored = r#"{"type":"wa_message","phone_number_id":"P1","from":"7900","name":"Ann","wamid":"wamid.1","timestamp":1700000000,"text":"","reply_to":null,"action":{"kind":"new"},"media":{"kind":"voice","source":{"via":"cloud","media_id":"M1"},"mime":"audio/ogg","file_name":null,"sha256":"abc"}}"#;
        let item: InboxItem = serde_json::from_str(stored).expect("parses");
        let InboxItem::WaMessage {
            media: Some(m),
            action,
            ..
        } = &item
        else {
            panic!("a message with media: {item:?}");
        };
        assert_eq!(action, &CustomerAction::New);
        assert_eq!(
            m.source,
            MediaSource::Cloud {
                media_id: "M1".into()
            }
        );
        assert_eq!(serde_json::to_string(&item).expect("writes"), stored);

        let edit = r#"{"type":"wa_message","phone_number_id":"P1","from":"7900","name":"","wamid":"w2","timestamp":1,"text":"new","reply_to":"w1","action":{"kind":"edit","original":"w1","text":"new"},"media":null}"#;
        let item: InboxItem = serde_json::from_str(edit).expect("parses");
        assert_eq!(serde_json::to_string(&item).expect("writes"), edit);

        let op = r#"{"type":"b24_operator_message","line":"1","chat_id":"7900","im_chat_id":"5","im_message_id":"9","text":"hi","files":[{"name":"a.pdf","kind":"file","link":"https://x/a","size":3}]}"#;
        let item: InboxItem = serde_json::from_str(op).expect("parses");
        assert_eq!(serde_json::to_string(&item).expect("writes"), op);

        // Older rows without the later fields.
        let old = r#"{"type":"wa_message","phone_number_id":"P1","from":"7900","name":"","wamid":"w3","timestamp":1,"text":"x"}"#;
        let InboxItem::WaMessage { action, media, .. } = serde_json::from_str(old).expect("parses")
        else {
            panic!("a message");
        };
        assert_eq!((action, media), (CustomerAction::New, None));
        let old_op = r#"{"type":"b24_operator_message","line":"1","chat_id":"c","im_chat_id":"5","im_message_id":"9","text":"hi"}"#;
        assert!(serde_json::from_str::<InboxItem>(old_op).is_ok());
    }

    #[test]
    fn provider_types_convert() {
        let a: CustomerAction = whatsapp::Action::Reaction {
            target: "w".into(),
            emoji: "👍".into(),
        }
        .into();
        assert_eq!(
            a,
            CustomerAction::Reaction {
                target: "w".into(),
                emoji: "👍".into()
            }
        );
        let m: MediaRef = whatsapp::MediaRef {
            kind: "image".into(),
            source: whatsapp::MediaSource::Gateway { url: "u".into() },
            mime: "image/png".into(),
            file_name: Some("a.png".into()),
            sha256: None,
        }
        .into();
        assert_eq!(m.source, MediaSource::Gateway { url: "u".into() });
        assert_eq!(m.file_name.as_deref(), Some("a.png"));
    }
}
