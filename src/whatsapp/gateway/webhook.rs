//! Gateway webhooks: `typeWebhook` envelopes decoded into our events. The token check happens in
//! the HTTP handler (it knows the number).

use serde_json::Value;

use super::wa_id;
use crate::whatsapp::Action;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GwWebhookError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("missing field {0}")]
    Missing(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GwEvent {
    /// A customer's message (or their edit, delete or reaction).
    Message {
        from: String,
        name: String,
        id: String,
        timestamp: i64,
        text: String,
        reply_to: Option<String>,
        action: Action,
    },
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
    /// Acknowledged and not relayed (calls, groups, messages typed on the phone itself…).
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
    let text = match type_message {
        "textMessage" => s(md, "/textMessageData/textMessage")
            .unwrap_or("")
            .to_string(),
        "extendedTextMessage" => s(md, "/extendedTextMessageData/text")
            .unwrap_or("")
            .to_string(),
        "quotedMessage" => {
            reply_to = s(md, "/quotedMessage/stanzaId").map(str::to_string);
            s(md, "/extendedTextMessageData/text")
                .unwrap_or("")
                .to_string()
        }
        "editedMessage" => {
            let text = s(md, "/editedMessageData/textMessage")
                .unwrap_or("")
                .to_string();
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
        other => {
            // Media relay comes with the media issue; the operator sees what arrived meanwhile.
            let caption = s(md, "/fileMessageData/caption").unwrap_or("");
            if caption.is_empty() {
                format!("[{other}: this type is not relayed yet; see it in WhatsApp]")
            } else {
                format!("[{other}] {caption}")
            }
        }
    };
    Ok(GwEvent::Message {
        from: from.to_string(),
        name,
        id: id.to_string(),
        timestamp,
        text,
        reply_to,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/whatsapp/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
    }

    #[test]
    fn fixture_incoming_text() {
        let ev = parse(&fixture("13-greenapi-webhook-incoming-text.json")).expect("parses");
        assert_eq!(
            ev,
            GwEvent::Message {
                from: "79001234568".into(),
                name: "GREEN-API".into(),
                id: "F7AEC1B7086ECDC7E6E45923F5EDB825".into(),
                timestamp: 1588091580,
                text: "I use GREEN-API to send this message to you!".into(),
                reply_to: None,
                action: Action::New,
            }
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
        let ev = parse(&fixture("14-greenapi-webhook-incoming-audio-file.json")).expect("parses");
        assert!(
            matches!(ev, GwEvent::Message { ref text, .. } if text.contains("documentMessage"))
        );
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
            matches!(parse(body), Ok(GwEvent::Message { action: Action::Edit { ref original, ref text }, .. }) if original == "O1" && text == "new")
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"D1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"deletedMessage","deletedMessageData":{"stanzaId":"O1"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message { action: Action::Revoke { ref original }, .. }) if original == "O1")
        );
        let body = br#"{"typeWebhook":"incomingMessageReceived","timestamp":1,"idMessage":"Q1","senderData":{"chatId":"7900@c.us"},"messageData":{"typeMessage":"quotedMessage","extendedTextMessageData":{"text":"yes"},"quotedMessage":{"stanzaId":"O1"}}}"#;
        assert!(
            matches!(parse(body), Ok(GwEvent::Message { ref reply_to, ref text, .. }) if reply_to.as_deref() == Some("O1") && text == "yes")
        );
    }
}
