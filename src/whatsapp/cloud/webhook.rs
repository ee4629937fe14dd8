//! Cloud API webhooks: signature check over the raw body, then decoding into our events. The
//! body's shapes are in [`super::payload`] (re-exported here), a message's content (text, file,
//! action) in `super::content`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::content::{action, media, message_text};
pub use super::payload::*;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WebhookError {
    #[error("X-Hub-Signature-256 header is missing")]
    MissingSignature,
    #[error("X-Hub-Signature-256 does not match the body")]
    BadSignature,
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("not a WhatsApp Business Account webhook (object = {0})")]
    WrongObject(String),
}

/// Verifies `sha256=<hex>` over the exact bytes received, in constant time.
pub fn verify_signature(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or(WebhookError::BadSignature)?;
    let sig = hex::decode(hex_sig.trim()).map_err(|_| WebhookError::BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| WebhookError::BadSignature)
}

/// Computes the header value Meta would send (used by our tools and tests).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch is unreachable.
        Hmac::<Sha256>::new_from_slice(b"").unwrap_or_else(|_| unreachable!())
    });
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A customer message, decoded, with the number it was sent to.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub phone_number_id: String,
    /// The Cloud API's message type (`text`, `image`, `interactive`, …).
    pub kind: String,
    pub message: Incoming,
}

pub use crate::whatsapp::{Action, Incoming, MediaRef, Shown};

/// A receipt for a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub phone_number_id: String,
    pub wamid: String,
    pub status: String,
    pub timestamp: i64,
    pub recipient_id: String,
    pub error: Option<String>,
    /// The Graph error code of a `failed` receipt (131047, 131026, …).
    pub error_code: Option<i64>,
}

// A webhook yields a handful of short-lived events: boxing the larger one buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(Inbound),
    Status(Receipt),
}

pub fn parse(body: &[u8]) -> Result<Payload, WebhookError> {
    let p: Payload = serde_json::from_slice(body).map_err(|e| WebhookError::Json(e.to_string()))?;
    if p.object != "whatsapp_business_account" {
        return Err(WebhookError::WrongObject(p.object));
    }
    Ok(p)
}

/// The phone_number_ids a payload addresses (each must pass its own number's signature check).
pub fn phone_number_ids(p: &Payload) -> Vec<String> {
    let mut ids: Vec<String> = p
        .entry
        .iter()
        .flat_map(|e| e.changes.iter())
        .filter_map(|c| c.value.metadata.as_ref().map(|m| m.phone_number_id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Flattens every entry/change/message/status into events, in payload order.
pub fn events(p: &Payload) -> Vec<Event> {
    let mut out = Vec::new();
    for change in p.entry.iter().flat_map(|e| e.changes.iter()) {
        let Some(meta) = &change.value.metadata else {
            continue;
        };
        let pnid = &meta.phone_number_id;
        for m in &change.value.messages {
            let name = change
                .value
                .contacts
                .iter()
                .find(|c| c.wa_id == m.from)
                .or(change.value.contacts.first())
                .and_then(|c| c.profile.as_ref())
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let (text, shown) = message_text(m);
            out.push(Event::Message(Inbound {
                phone_number_id: pnid.clone(),
                kind: m.kind.clone(),
                message: Incoming {
                    from: m.from.clone(),
                    name,
                    wamid: m.id.clone(),
                    timestamp: m.timestamp.parse().unwrap_or(0),
                    text,
                    shown,
                    media: media(m),
                    reply_to: m.context.as_ref().and_then(|c| c.id.clone()),
                    action: action(m),
                },
            }));
        }
        for s in &change.value.statuses {
            out.push(Event::Status(Receipt {
                phone_number_id: pnid.clone(),
                wamid: s.id.clone(),
                status: s.status.clone(),
                timestamp: s.timestamp.parse().unwrap_or(0),
                recipient_id: s.recipient_id.clone(),
                error: s.errors.first().map(describe_error),
                error_code: s.errors.first().map(|e| e.code),
            }));
        }
    }
    out
}

/// A human reason for a failed status (shown to operators later).
pub fn describe_error(e: &StatusError) -> String {
    let detail = e
        .error_data
        .as_ref()
        .map(|d| d.details.as_str())
        .filter(|d| !d.is_empty())
        .unwrap_or(if e.message.is_empty() {
            &e.title
        } else {
            &e.message
        });
    format!("{} ({})", detail, e.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitrix24::bbcode;
    use crate::i18n::Lang;
    use crate::whatsapp::fixture;
    use crate::whatsapp::MediaSource;

    #[test]
    fn signature_round_trip_and_rejections() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let sig = sign(b"secret", body);
        assert_eq!(verify_signature(b"secret", body, Some(&sig)), Ok(()));
        assert_eq!(
            verify_signature(b"other", body, Some(&sig)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(b"secret", body, None),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify_signature(b"secret", b"{}", Some(&sig)),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(b"secret", body, Some("sha1=00")),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn fixture_incoming_text() {
        let p = parse(&fixture("01-meta-webhook-incoming-text.json")).expect("parses");
        assert_eq!(phone_number_ids(&p), vec!["1122334455667".to_string()]);
        assert_eq!(
            events(&p),
            vec![Event::Message(Inbound {
                phone_number_id: "1122334455667".into(),
                kind: "text".into(),
                message: Incoming {
                    from: "972987654321".into(),
                    name: "Test Name".into(),
                    wamid: "wamid.xyzxyz".into(),
                    timestamp: 1697043223,
                    text: "Body Text".into(),
                    reply_to: None,
                    action: Action::New,
                    media: None,
                    shown: None,
                },
            })]
        );
    }

    #[test]
    fn fixtures_26_27_button_taps_read_as_marked_labels() {
        let p = parse(&fixture(
            "26-meta-webhook-incoming-template-quick-reply.json",
        ))
        .expect("parses");
        let Some(Event::Message(m)) = events(&p).into_iter().next() else {
            panic!("a message")
        };
        assert_eq!(m.message.text, "[i]Tapped the button:[/i] SIM");
        // The chat says it in the portal's language.
        let shown = m.message.shown.clone().expect("a tap");
        assert_eq!(shown.text(Lang::ru()), "[i]Нажата кнопка:[/i] SIM");
        assert!(m.message.reply_to.is_some(), "linked to our template");
        let p = parse(&fixture(
            "27-meta-webhook-incoming-interactive-button-reply.json",
        ))
        .expect("parses");
        let Some(Event::Message(m)) = events(&p).into_iter().next() else {
            panic!("a message")
        };
        assert!(
            m.message.text.starts_with("[i]Tapped the button:[/i] "),
            "{}",
            m.message.text
        );
        assert_eq!(m.kind, "interactive");
    }

    #[test]
    fn fixture_voice_note_is_media() {
        let p = parse(&fixture("02-meta-webhook-incoming-voice.json")).expect("parses");
        let Event::Message(m) = &events(&p)[0] else {
            panic!("expected a message");
        };
        assert_eq!(m.message.text, "");
        assert_eq!(
            m.message.media,
            Some(MediaRef {
                kind: "voice".into(),
                source: MediaSource::Cloud {
                    media_id: "1234567890987654321".into()
                },
                mime: "audio/ogg; codecs=opus".into(),
                file_name: None,
                sha256: Some("m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=".into()),
            })
        );
    }

    /// One webhook message of `kind` with `obj` (the shapes in contracts/whatsapp.md).
    fn one(kind: &str, obj: serde_json::Value) -> Inbound {
        let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": "P"},
            "messages": [{"from": "7900", "id": "wamid.1", "timestamp": "1", "type": kind, kind: obj}]}}]}]});
        let p = parse(body.to_string().as_bytes()).expect("parses");
        match events(&p).remove(0) {
            Event::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn every_media_kind_and_cards() {
        let doc = one(
            "document",
            serde_json::json!({"id": "D1", "mime_type": "application/pdf", "sha256": "x",
                "filename": "invoice.pdf", "caption": "the invoice"}),
        );
        let media = doc.message.media.expect("document media");
        assert_eq!(
            (media.kind.as_str(), media.file_name.as_deref()),
            ("document", Some("invoice.pdf"))
        );
        assert_eq!(doc.message.text, "the invoice");
        for kind in ["image", "video", "sticker"] {
            let m = one(
                kind,
                serde_json::json!({"id": "M", "mime_type": "image/webp"}),
            );
            assert_eq!(m.message.media.map(|x| x.kind), Some(kind.to_string()));
        }
        let audio = one(
            "audio",
            serde_json::json!({"id": "A", "mime_type": "audio/mpeg", "voice": false}),
        );
        assert_eq!(
            audio.message.media.map(|x| x.kind),
            Some("audio".to_string())
        );
        // A media message without an id cannot be fetched: shown as text only.
        assert_eq!(
            one("image", serde_json::json!({"caption": "c"}))
                .message
                .media,
            None
        );

        let loc = one(
            "location",
            serde_json::json!({"latitude": 55.75, "longitude": 37.61, "name": "Office", "address": "Tverskaya 1"}),
        );
        assert!(loc.message.media.is_none());
        assert!(
            loc.message.text.contains("Office, Tverskaya 1"),
            "{}",
            loc.message.text
        );
        assert!(
            loc.message.text.contains("mlat=55.75&mlon=37.61"),
            "{}",
            loc.message.text
        );

        let card = one(
            "contacts",
            serde_json::json!([{"name": {"formatted_name": "Ivan Petrov"},
                "phones": [{"phone": "+7 900 111-22-33", "wa_id": "79001112233"}]}]),
        );
        assert_eq!(
            card.message.text,
            "👤 Contact: Ivan Petrov, +7 900 111-22-33"
        );
    }

    #[test]
    fn fixture_reply_with_context_and_unsupported() {
        let p =
            parse(&fixture("03-meta-webhook-incoming-reply-with-context.json")).expect("parses");
        let Event::Message(m) = &events(&p)[0] else {
            panic!("expected a message");
        };
        assert!(m.message.reply_to.is_some());
        let p = parse(&fixture("04-meta-webhook-incoming-unsupported.json")).expect("parses");
        let Event::Message(m) = &events(&p)[0] else {
            panic!("expected a message");
        };
        assert_eq!(m.kind, "unsupported");
        assert!(m.message.text.contains("cannot be shown"));
    }

    #[test]
    fn fixture_statuses() {
        for (file, status) in [
            ("05-meta-webhook-status-sent.json", "sent"),
            ("06-meta-webhook-status-delivered.json", "delivered"),
            ("07-meta-webhook-status-read.json", "read"),
        ] {
            let p = parse(&fixture(file)).expect("parses");
            let evs = events(&p);
            let Some(Event::Status(r)) = evs.first() else {
                panic!("{file}: expected a status");
            };
            assert_eq!(r.status, status, "{file}");
            assert!(r.wamid.starts_with("wamid."), "{file}");
            assert!(r.error.is_none());
        }
        let p = parse(&fixture("08-meta-webhook-status-failed.json")).expect("parses");
        let Some(Event::Status(r)) = events(&p).into_iter().next() else {
            panic!("expected a status");
        };
        assert_eq!(r.status, "failed");
        assert!(r.error.is_some());
    }

    #[test]
    fn fixture_revoke_and_synthetic_edit_and_reaction() {
        let p = parse(&fixture("09-meta-webhook-incoming-revoke.json")).expect("parses");
        let Event::Message(m) = &events(&p)[0] else {
            panic!("a message")
        };
        assert_eq!(
            m.message.action,
            Action::Revoke {
                original: "<ORIGINAL_WHATSAPP_MESSAGE_ID>".into()
            }
        );
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "metadata":{"display_phone_number":"1","phone_number_id":"77"},
            "messages":[
              {"from":"491","id":"wamid.E","timestamp":"1","type":"edit","edit":{"original_message_id":"wamid.O","message":{"type":"text","text":{"body":"fixed"}}}},
              {"from":"491","id":"wamid.R","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.O","emoji":"👍"}}]}}]}]}"#;
        let ev = events(&parse(body.as_bytes()).expect("parses"));
        let actions: Vec<Action> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.message.action.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            actions,
            vec![
                Action::Edit {
                    original: "wamid.O".into(),
                    text: "fixed".into()
                },
                Action::Reaction {
                    target: "wamid.O".into(),
                    emoji: "👍".into()
                }
            ]
        );
    }

    #[test]
    fn malformed_and_foreign_bodies() {
        assert!(matches!(parse(b"{not json"), Err(WebhookError::Json(_))));
        assert!(matches!(
            parse(br#"{"object":"page","entry":[]}"#),
            Err(WebhookError::WrongObject(_))
        ));
    }

    #[test]
    fn customer_text_is_escaped_and_formatted_for_bitrix24() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
            "metadata":{"display_phone_number":"1","phone_number_id":"77"},
            "messages":[
              {"from":"491","id":"wamid.T","timestamp":"1","type":"text","text":{"body":"[b]x[/b] *доставка*"}},
              {"from":"491","id":"wamid.I","timestamp":"1","type":"image","image":{"id":"m1","caption":"[url=https://evil.example]_click_[/url]"}},
              {"from":"491","id":"wamid.L","timestamp":"1","type":"location","location":{"latitude":1.5,"longitude":2.5,"name":"[/url][url=https://evil.example]Office"}},
              {"from":"491","id":"wamid.C","timestamp":"1","type":"contacts","contacts":[{"name":{"formatted_name":"[b]Olga[/b]"}}]},
              {"from":"491","id":"wamid.E","timestamp":"1","type":"edit","edit":{"original_message_id":"wamid.T","message":{"type":"text","text":{"body":"~[i]~"}}}}]}}]}]}"#;
        let ev = events(&parse(body.as_bytes()).expect("parses"));
        let texts: Vec<String> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(match &m.message.action {
                    Action::Edit { text, .. } => text.clone(),
                    _ => m.message.text.clone(),
                }),
                _ => None,
            })
            .collect();
        let wj = bbcode::INERT;
        assert_eq!(texts[0], format!("[{wj}b]x[{wj}/b] [b]доставка[/b]"));
        assert_eq!(
            texts[1],
            format!("[{wj}url=https://evil.example][i]click[/i][{wj}/url]")
        );
        // The place's name cannot close our map link or open another.
        assert!(
            texts[2].ends_with(&format!(
                "][{wj}/url][{wj}url=https://evil.example]Office[/url]"
            )),
            "{}",
            texts[2]
        );
        assert_eq!(texts[2].matches("[url=").count(), 1, "{}", texts[2]);
        assert_eq!(texts[3], format!("👤 Contact: [{wj}b]Olga[{wj}/b]"));
        assert_eq!(texts[4], format!("[s][{wj}i][/s]"));
    }
}
