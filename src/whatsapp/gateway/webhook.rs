//! Gateway webhooks: `typeWebhook` envelopes decoded into our events. The token check happens in
//! the HTTP handler (it knows the number).

use serde_json::Value;

use super::wa_id;
use crate::bitrix24::bbcode;
use crate::i18n::Lang;
use crate::whatsapp::{vcard_phones, Action, Incoming, MediaRef, MediaSource, Shown};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GwWebhookError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("missing field {0}")]
    Missing(&'static str),
}

// A webhook yields one short-lived event: boxing the message buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum GwEvent {
    /// A customer's message (or their edit, delete or reaction).
    Message(Incoming),
    /// A receipt for a message we sent. `status` is ours: sent, delivered, read, failed.
    Status {
        id: String,
        to: String,
        status: String,
        timestamp: i64,
        error: Option<String>,
        error_code: Option<i64>,
    },
    /// The instance's session state changed.
    State { state: String, timestamp: i64 },
    /// Words typed on the linked phone itself to customer `to` (`outgoingMessageReceived`).
    PhoneMessage {
        to: String,
        id: String,
        timestamp: i64,
        text: String,
    },
    /// Acknowledged and not relayed (calls, groups, files sent from the phone itself…).
    Ignored(String),
}

fn s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    v.pointer(path).and_then(Value::as_str)
}

pub fn parse(body: &[u8]) -> Result<GwEvent, GwWebhookError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| GwWebhookError::Json(e.to_string()))?;
    let kind = s(&v, "/typeWebhook").ok_or(GwWebhookError::Missing("typeWebhook"))?;
    let timestamp = v.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
    match kind {
        "incomingMessageReceived" => incoming(&v, timestamp),
        // Typed on the phone: its new words are shown as the company's; its files, edits and
        // deletes are not (nothing in Open Lines stands for them).
        "outgoingMessageReceived" => Ok(match incoming(&v, timestamp)? {
            GwEvent::Message(Incoming {
                from,
                wamid,
                timestamp,
                text,
                action: Action::New,
                media: None,
                shown: None,
                ..
            }) if !text.is_empty() => GwEvent::PhoneMessage {
                to: from,
                id: wamid,
                timestamp,
                text,
            },
            _ => GwEvent::Ignored(kind.to_string()),
        }),
        "outgoingMessageStatus" => {
            let id = s(&v, "/idMessage").ok_or(GwWebhookError::Missing("idMessage"))?;
            let chat = s(&v, "/chatId").ok_or(GwWebhookError::Missing("chatId"))?;
            let Some(to) = wa_id(chat) else {
                return Ok(GwEvent::Ignored(format!("status in {chat}")));
            };
            let raw = s(&v, "/status").ok_or(GwWebhookError::Missing("status"))?;
            let description = s(&v, "/description").unwrap_or("").to_string();
            let (status, error, error_code) = match raw {
                "sent" | "delivered" | "read" => (raw, None, None),
                // Same meaning as the Cloud API's 131026 (explained to operators the same way).
                "noAccount" => (
                    "failed",
                    Some("the number is not on WhatsApp".to_string()),
                    Some(131026),
                ),
                "yellowCard" => (
                    "failed",
                    Some(
                        "WhatsApp has temporarily restricted this business number for suspected \
                         spam (yellow card); messages are not delivered until the restriction ends"
                            .to_string(),
                    ),
                    None,
                ),
                other => (
                    "failed",
                    Some(if description.is_empty() {
                        format!("status {other}")
                    } else {
                        description
                    }),
                    None,
                ),
            };
            Ok(GwEvent::Status {
                id: id.to_string(),
                to: to.to_string(),
                status: status.to_string(),
                timestamp,
                error,
                error_code,
            })
        }
        "stateInstanceChanged" => Ok(GwEvent::State {
            state: s(&v, "/stateInstance")
                .ok_or(GwWebhookError::Missing("stateInstance"))?
                .to_string(),
            timestamp,
        }),
        other => Ok(GwEvent::Ignored(other.to_string())),
    }
}

fn incoming(v: &Value, timestamp: i64) -> Result<GwEvent, GwWebhookError> {
    let id = s(v, "/idMessage").ok_or(GwWebhookError::Missing("idMessage"))?;
    let chat = s(v, "/senderData/chatId").ok_or(GwWebhookError::Missing("senderData.chatId"))?;
    let Some(from) = wa_id(chat) else {
        return Ok(GwEvent::Ignored(format!("message in {chat}")));
    };
    let name = s(v, "/senderData/senderName")
        .or_else(|| s(v, "/senderData/chatName"))
        .unwrap_or("")
        .to_string();
    let md = v
        .get("messageData")
        .ok_or(GwWebhookError::Missing("messageData"))?;
    let type_message = s(md, "/typeMessage").unwrap_or("");
    let mut reply_to = None;
    let mut action = Action::New;
    let mut media = None;
    let mut shown = None;
    // The text shown to the operator, as BBCode: what the customer (or the gateway) wrote is
    // escaped and its WhatsApp formatting made tags, so the only live tags are ours.
    let text = match type_message {
        "textMessage" => bbcode::from_whatsapp(s(md, "/textMessageData/textMessage").unwrap_or("")),
        "extendedTextMessage" => {
            bbcode::from_whatsapp(s(md, "/extendedTextMessageData/text").unwrap_or(""))
        }
        "quotedMessage" => {
            reply_to = s(md, "/quotedMessage/stanzaId").map(str::to_string);
            bbcode::from_whatsapp(s(md, "/extendedTextMessageData/text").unwrap_or(""))
        }
        "editedMessage" => {
            let text = bbcode::from_whatsapp(s(md, "/editedMessageData/textMessage").unwrap_or(""));
            if let Some(orig) = s(md, "/editedMessageData/stanzaId") {
                action = Action::Edit {
                    original: orig.to_string(),
                    text: text.clone(),
                };
            }
            text
        }
        "deletedMessage" => {
            if let Some(orig) = s(md, "/deletedMessageData/stanzaId") {
                action = Action::Revoke {
                    original: orig.to_string(),
                };
            }
            String::new()
        }
        "reactionMessage" => {
            let target = s(md, "/quotedMessage/stanzaId")
                .or_else(|| s(md, "/extendedTextMessageData/stanzaId"))
                .unwrap_or("");
            let emoji = s(md, "/extendedTextMessageData/text").unwrap_or("");
            action = Action::Reaction {
                target: target.to_string(),
                emoji: emoji.to_string(),
            };
            String::new()
        }
        "imageMessage" | "videoMessage" | "documentMessage" | "audioMessage" | "stickerMessage" => {
            let mime = s(md, "/fileMessageData/mimeType").unwrap_or("").to_string();
            let kind = match type_message {
                "imageMessage" => "image",
                "videoMessage" => "video",
                "documentMessage" => "document",
                "stickerMessage" => "sticker",
                // A recorded voice note is OGG/Opus; other audio is a shared file.
                _ if mime.starts_with("audio/ogg") => "voice",
                _ => "audio",
            };
            if let Some(url) = s(md, "/fileMessageData/downloadUrl").filter(|u| !u.is_empty()) {
                media = Some(MediaRef {
                    kind: kind.to_string(),
                    source: MediaSource::Gateway {
                        url: url.to_string(),
                    },
                    mime,
                    file_name: s(md, "/fileMessageData/fileName")
                        .filter(|n| !n.is_empty())
                        .map(str::to_string),
                    sha256: None,
                });
            }
            bbcode::from_whatsapp(s(md, "/fileMessageData/caption").unwrap_or(""))
        }
        "locationMessage" => {
            let num = |k: &str| {
                md.pointer(&format!("/locationMessageData/{k}"))
                    .and_then(Value::as_f64)
            };
            let ours = Shown::location(
                num("latitude"),
                num("longitude"),
                s(md, "/locationMessageData/nameLocation"),
                s(md, "/locationMessageData/address"),
            );
            english(&mut shown, ours)
        }
        "contactMessage" => {
            let card = (
                s(md, "/contactMessageData/displayName")
                    .unwrap_or("")
                    .to_string(),
                vcard_phones(s(md, "/contactMessageData/vcard").unwrap_or("")),
            );
            english(&mut shown, Shown::Contacts(vec![card]))
        }
        // The gateway's type name (`pollMessage`): the kind it names.
        other => {
            let kind = other.strip_suffix("Message").unwrap_or(other).to_string();
            english(&mut shown, Shown::Unsupported { kind })
        }
    };
    Ok(GwEvent::Message(Incoming {
        from: from.to_string(),
        name,
        wamid: id.to_string(),
        timestamp,
        text,
        reply_to,
        action,
        media,
        shown,
    }))
}

/// `ours` in English (the message's text), kept in `shown` for the chat to render again in the
/// portal's language.
fn english(shown: &mut Option<Shown>, ours: Shown) -> String {
    let text = ours.text(Lang::en());
    *shown = Some(ours);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatsapp::fixture;

    #[test]
    fn fixture_incoming_text() {
        let ev = parse(&fixture("13-greenapi-webhook-incoming-text.json")).expect("parses");
        assert_eq!(
            ev,
            GwEvent::Message(Incoming {
                from: "79001234568".into(),
                name: "GREEN-API".into(),
                wamid: "F7AEC1B7086ECDC7E6E45923F5EDB825".into(),
                timestamp: 1588091580,
                text: "I use GREEN-API to send this message to you!".into(),
                reply_to: None,
                action: Action::New,
                media: None,
                shown: None,
            })
        );
    }

    #[test]
    fn fixture_statuses_and_groups() {
        let ev = parse(&fixture("15-greenapi-webhook-outgoing-status-sent.json")).expect("parses");
        assert!(
            matches!(ev, GwEvent::Status { ref status, ref to, .. } if status == "sent" && to == "71231234567")
        );
        // A group chat (fixture 16) is not ours to relay.
        let ev =
            parse(&fixture("16-greenapi-webhook-outgoing-status-failed.json")).expect("parses");
        assert!(matches!(ev, GwEvent::Ignored(_)));
    }

    #[test]
    fn fixture_file_message_is_media() {
        let ev = parse(&fixture("14-greenapi-webhook-incoming-audio-file.json")).expect("parses");
        let GwEvent::Message(Incoming { media, text, .. }) = ev else {
            panic!("expected a message");
        };
        assert_eq!(text, "");
        assert_eq!(
            media,
            Some(MediaRef {
                kind: "document".into(),
                source: MediaSource::Gateway {
                    url: "https://sw-media-1101.storage.yandexcloud.net/1101000001/f3f4a306-b6a1-4a2a-bb29-a15b06752118.mp3".into()
                },
                mime: "audio/mpeg".into(),
                file_name: Some("sample-6s.mp3".into()),
                sha256: None,
            })
        );
    }

    fn incoming(md: &str) -> GwEvent {
        let body = format!(
            r#"{{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"M1","senderData":{{"chatId":"7900@c.us","senderName":"A"}},"messageData":{md}}}"#
        );
        parse(body.as_bytes()).expect("parses")
    }

    #[test]
    fn voice_location_and_contact() {
        let ev = incoming(
            r#"{"typeMessage":"audioMessage","fileMessageData":{"downloadUrl":"http://x/v.oga","caption":"","fileName":"v.oga","mimeType":"audio/ogg; codecs=opus"}}"#,
        );
        assert!(
            matches!(ev, GwEvent::Message(Incoming { media: Some(ref m), .. }) if m.kind == "voice"),
            "{ev:?}"
        );
        let ev = incoming(
            r#"{"typeMessage":"locationMessage","locationMessageData":{"nameLocation":"Office","address":"","latitude":55.5,"longitude":37.25}}"#,
        );
        assert!(
            matches!(ev, GwEvent::Message(Incoming { ref text, media: None, .. }) if text.contains("Office") && text.contains("mlat=55.5")),
            "{ev:?}"
        );
        let ev = incoming(
            r#"{"typeMessage":"contactMessage","contactMessageData":{"displayName":"Ivan","vcard":"BEGIN:VCARD\nVERSION:3.0\nFN:Ivan\nitem1.TEL;waid=79001112233:+7 900 111 22 33\nEND:VCARD"}}"#,
        );
        assert!(
            matches!(ev, GwEvent::Message(Incoming { ref text, .. }) if text == "👤 Contact: Ivan, +7 900 111 22 33"),
            "{ev:?}"
        );
        // A file message whose link is missing is shown by its caption, never dropped.
        let ev = incoming(r#"{"typeMessage":"imageMessage","fileMessageData":{"caption":"look"}}"#);
        assert!(
            matches!(ev, GwEvent::Message(Incoming { ref text, media: None, .. }) if text == "look")
        );
    }

    #[test]
    fn words_typed_on_the_phone_are_the_companys() {
        let body = br#"{"typeWebhook":"outgoingMessageReceived","timestamp":7,"idMessage":"P1","senderData":{"chatId":"7900@c.us","sender":"7999@c.us","senderName":""},"messageData":{"typeMessage":"textMessage","textMessageData":{"textMessage":"*on my way*"}}}"#;
        assert_eq!(
            parse(body),
            Ok(GwEvent::PhoneMessage {
                to: "7900".into(),
                id: "P1".into(),
                timestamp: 7,
                text: "[b]on my way[/b]".into(),
            })
        );
        let file = br#"{"typeWebhook":"outgoingMessageReceived","timestamp":7,"idMessage":"P2","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"imageMessage","fileMessageData":{"downloadUrl":"https://gw.example/f","mimeType":"image/jpeg"}}}"#;
        assert!(matches!(parse(file), Ok(GwEvent::Ignored(_))));
    }

    #[test]
    fn no_account_maps_to_undeliverable_and_state_changes_parse() {
        let body = br#"{"typeWebhook":"outgoingMessageStatus","chatId":"79001@c.us","timestamp":5,"idMessage":"X","status":"noAccount","sendByApi":true}"#;
        assert!(matches!(
            parse(body),
            Ok(GwEvent::Status {
                error_code: Some(131026),
                ..
            })
        ));
        let body = br#"{"typeWebhook":"stateInstanceChanged","instanceData":{"idInstance":1},"timestamp":9,"stateInstance":"notAuthorized"}"#;
        assert_eq!(
            parse(body),
            Ok(GwEvent::State {
                state: "notAuthorized".into(),
                timestamp: 9
            })
        );
        assert_eq!(parse(b"{}"), Err(GwWebhookError::Missing("typeWebhook")));
        assert!(matches!(parse(b"nope"), Err(GwWebhookError::Json(_))));
    }

    #[test]
    fn edits_deletes_and_quotes() {
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"E1","senderData":{"chatId":"7900@c.us","senderName":"A"},"messageData":{"typeMessage":"editedMessage","editedMessageData":{"textMessage":"new","stanzaId":"O1"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { action: Action::Edit { ref original, ref text }, .. })) if original == "O1" && text == "new")
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"D1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"deletedMessage","deletedMessageData":{"stanzaId":"O1"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { action: Action::Revoke { ref original }, .. })) if original == "O1")
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"Q1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"quotedMessage","extendedTextMessageData":{"text":"yes"},"quotedMessage":{"stanzaId":"O1"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { ref reply_to, ref text, .. })) if reply_to.as_deref() == Some("O1") && text == "yes")
        );
    }

    #[test]
    fn customer_text_is_escaped_and_formatted_for_bitrix24() {
        let wj = bbcode::INERT;
        let body = r#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"T1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"textMessage","textMessageData":{"textMessage":"[send=/pay]pay[/send] *срочно*"}}}"#;
        assert!(
            matches!(parse(body.as_bytes()), Ok(GwEvent::Message(Incoming { ref text, .. })) if *text == format!("[{wj}send=/pay]pay[{wj}/send] [b]срочно[/b]"))
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"E1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"editedMessage","editedMessageData":{"textMessage":"_[b]_","stanzaId":"O1"}}}"#;
        let edited = format!("[i][{wj}b][/i]");
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { action: Action::Edit { ref text, .. }, text: ref shown, .. })) if *text == edited && *shown == edited)
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"F1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"imageMessage","fileMessageData":{"downloadUrl":"https://gw.example/f","caption":"```[code]```","mimeType":"image/jpeg"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { ref text, .. })) if *text == format!("[code][{wj}code][/code]"))
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"U1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"[url=x]pollMessage"}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message(Incoming { ref text, .. })) if !text.contains("[url"))
        );
    }
}
