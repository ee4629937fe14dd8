//! A customer message's content in the product's vocabulary: the text the operator sees (BBCode),
//! the file it carries, and what it does to the conversation (new, revoke, edit, reaction).

use super::payload::RawMessage;
use crate::bitrix24::bbcode;
use crate::i18n::Lang;
use crate::whatsapp::{Action, EmptyKind, MediaRef, MediaSource, Shown};

/// The string at JSON pointer `path` of `v`.
fn str_in<'a>(v: Option<&'a serde_json::Value>, path: &str) -> Option<&'a str> {
    v.and_then(|v| v.pointer(path)).and_then(|x| x.as_str())
}

/// What the message does to the conversation: a new message, or a revoke, an edit or a
/// reaction naming an earlier one.
pub(super) fn action(m: &RawMessage) -> Action {
    let obj = m.rest.get(m.kind.as_str());
    match m.kind.as_str() {
        "revoke" => match str_in(obj, "/original_message_id") {
            Some(o) => Action::Revoke {
                original: o.to_string(),
            },
            None => Action::New,
        },
        "edit" => match str_in(obj, "/original_message_id") {
            Some(o) => Action::Edit {
                original: o.to_string(),
                text: bbcode::from_whatsapp(
                    str_in(obj, "/message/text/body")
                        .or_else(|| str_in(obj, "/message/body"))
                        .unwrap_or_default(),
                ),
            },
            None => Action::New,
        },
        "reaction" => match str_in(obj, "/message_id") {
            Some(t) => Action::Reaction {
                target: t.to_string(),
                emoji: str_in(obj, "/emoji").unwrap_or_default().to_string(),
            },
            None => Action::New,
        },
        _ => Action::New,
    }
}

/// The kinds that carry a file (`{id, mime_type, sha256, …}`).
const MEDIA_KINDS: [&str; 5] = ["image", "video", "audio", "document", "sticker"];

/// The file of a media message (Meta's media id, fetched later).
pub(super) fn media(m: &RawMessage) -> Option<MediaRef> {
    if !MEDIA_KINDS.contains(&m.kind.as_str()) {
        return None;
    }
    let obj = m.rest.get(m.kind.as_str());
    let id = str_in(obj, "/id")?;
    let voice = obj
        .and_then(|o| o.get("voice"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Some(MediaRef {
        kind: if m.kind == "audio" && voice {
            "voice".into()
        } else {
            m.kind.clone()
        },
        source: MediaSource::Cloud {
            media_id: id.to_string(),
        },
        mime: str_in(obj, "/mime_type").unwrap_or_default().to_string(),
        file_name: str_in(obj, "/filename").map(str::to_string),
        sha256: str_in(obj, "/sha256").map(str::to_string),
    })
}

/// The text shown to the operator, as BBCode (in English for what is ours: `shown` has it for
/// the chat to render in the portal's language): the body, a media caption, a map link, a
/// contact card, a tap, or a placeholder for what cannot be shown. Whatever the customer (or
/// WhatsApp) wrote in it is escaped, so the only live tags are ours.
pub(super) fn message_text(m: &RawMessage) -> (String, Option<Shown>) {
    let obj = m.rest.get(m.kind.as_str());
    let shown = match (m.kind.as_str(), &m.text) {
        ("text", Some(t)) => return (bbcode::from_whatsapp(&t.body), None),
        (k, _) if MEDIA_KINDS.contains(&k) => {
            return (
                bbcode::from_whatsapp(str_in(obj, "/caption").unwrap_or_default()),
                None,
            )
        }
        ("location", _) => {
            let num = |k: &str| {
                obj.and_then(|o| o.get(k))
                    .and_then(serde_json::Value::as_f64)
            };
            Shown::location(
                num("latitude"),
                num("longitude"),
                str_in(obj, "/name"),
                str_in(obj, "/address"),
            )
        }
        ("contacts", _) => {
            let cards: Vec<(String, Vec<String>)> = obj
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    let name = str_in(Some(c), "/name/formatted_name").unwrap_or_default();
                    let phones: Vec<String> = c
                        .get("phones")
                        .and_then(serde_json::Value::as_array)
                        .map(|ps| {
                            ps.iter()
                                .filter_map(|p| str_in(Some(p), "/phone"))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    (name.to_string(), phones)
                })
                .collect();
            if cards.is_empty() {
                Shown::Empty(EmptyKind::Contact)
            } else {
                Shown::Contacts(cards)
            }
        }
        // Taps on our buttons (whatsapp-templates.md §4): the label, marked as a tap, since the
        // customer typed nothing.
        ("interactive", _) => match (
            str_in(obj, "/button_reply/title"),
            str_in(obj, "/list_reply/title"),
        ) {
            (Some(title), _) => Shown::Tap {
                list: false,
                label: title.to_string(),
            },
            (None, Some(title)) => Shown::Tap {
                list: true,
                label: title.to_string(),
            },
            (None, None) => Shown::Empty(EmptyKind::Interactive),
        },
        ("button", _) => match str_in(obj, "/text").or_else(|| str_in(obj, "/payload")) {
            Some(label) => Shown::Tap {
                list: false,
                label: label.to_string(),
            },
            None => Shown::Empty(EmptyKind::Button),
        },
        (kind, _) => Shown::Unsupported {
            kind: kind.to_string(),
        },
    };
    (shown.text(Lang::en()), Some(shown))
}
