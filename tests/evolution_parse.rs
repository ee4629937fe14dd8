//! The Evolution API webhook parser and send-answer reader over every recorded payload in
//! tests/fixtures/evolution/ (copies of ../shared/fixtures/evolution/), and over bad input.

use b24wa::whatsapp::evolution::webhook::{parse, Author, EvoEvent, EvoMessage, EvoWebhookError};
use b24wa::whatsapp::evolution::{ConnState, Peer, Qr, SentMessage};
use b24wa::whatsapp::{Action, Shown};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/evolution");

/// Every fixture this file checks; `every_fixture_is_checked` fails when one is added unchecked.
const CHECKED: [&str; 10] = [
    "01-messages-upsert-text.json",
    "02-messages-upsert-voice-ptt-base64.json",
    "03-messages-upsert-image-caption.json",
    "04-messages-upsert-reply-quoted.json",
    "05-messages-upsert-reaction.json",
    "06-messages-update-read.json",
    "07-messages-delete-incoming.json",
    "08-messages-edited.json",
    "09-connection-update-open.json",
    "10-send-text-response.json",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{name}")).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn maria() -> Peer {
    Peer {
        phone: Some("5511988887777".into()),
        lid: None,
    }
}

fn message(name: &str) -> EvoMessage {
    let hook = parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(hook.instance, "shop-1", "{name}");
    assert_eq!(
        hook.sender.as_deref(),
        Some("5511900000001@s.whatsapp.net"),
        "{name}"
    );
    match hook.data {
        EvoEvent::Message(m) => *m,
        other => panic!("{name}: expected a message, got {other:?}"),
    }
}

#[test]
fn every_fixture_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(DIR)
        .expect("fixtures dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    assert_eq!(found, CHECKED.map(String::from).to_vec());
    for name in CHECKED {
        let source = name.replace(".json", ".SOURCE.txt");
        assert!(
            std::path::Path::new(&format!("{DIR}/{source}")).exists(),
            "{source}"
        );
    }
}

#[test]
fn f01_text_from_a_customer() {
    let hook = parse(&fixture("01-messages-upsert-text.json")).expect("parses");
    assert_eq!(hook.event, "messages.upsert");
    // The envelope's apikey is kept as a secret (never printed).
    assert_eq!(
        hook.apikey.as_ref().map(|k| k.expose_secret().to_string()),
        Some("B6D711FCDE4D4FD5936544120E713976".into())
    );
    assert!(!format!("{hook:?}").contains("B6D711FCDE4D4FD5936544120E713976"));
    let m = message("01-messages-upsert-text.json");
    assert_eq!(
        m,
        EvoMessage {
            peer: maria(),
            author: Author::Customer,
            name: "Maria".into(),
            id: "3A5F1C2D9B8E7A6F5E4D".into(),
            timestamp: 1761057639,
            text: "Oi, tudo bem?".into(),
            reply_to: None,
            action: Action::New,
            media: None,
            shown: None,
        }
    );
}

#[test]
fn f02_voice_note_with_inline_file() {
    let m = message("02-messages-upsert-voice-ptt-base64.json");
    assert_eq!(m.id, "3A9C0E11D2F3A4B5C6D7");
    assert_eq!(m.peer, maria());
    assert_eq!(m.author, Author::Customer);
    assert_eq!(m.timestamp, 1761057632);
    assert_eq!(m.text, "");
    assert_eq!(m.action, Action::New);
    let media = m.media.expect("a voice note is media");
    assert_eq!(media.kind, "voice");
    assert_eq!(media.mime, "audio/ogg; codecs=opus");
    assert_eq!(media.seconds, Some(4));
    assert_eq!(media.size, Some(6718));
    assert_eq!(media.message_id, "3A9C0E11D2F3A4B5C6D7");
    assert_eq!(
        media.sha256.as_deref(),
        Some("cGxhY2Vob2xkZXJmaWxlc2hhMjU2cGxhY2Vob2xkZXI=")
    );
    assert_eq!(
        media.inline_base64.as_deref(),
        Some("T2dnUwACAAAAAAAAAAA...truncated-opus-file...")
    );
    assert_eq!(media.file_name, None);
}

#[test]
fn f03_image_with_caption() {
    let hook = parse(&fixture("03-messages-upsert-image-caption.json")).expect("parses");
    assert!(hook.apikey.is_none(), "apikey null");
    let m = message("03-messages-upsert-image-caption.json");
    assert_eq!(m.id, "3AB7D4E5F60718293A4B");
    assert_eq!(m.text, "Nota fiscal");
    assert_eq!(m.timestamp, 1761057701);
    let media = m.media.expect("image");
    assert_eq!(media.kind, "image");
    assert_eq!(media.mime, "image/jpeg");
    assert_eq!(media.size, Some(84213));
    assert_eq!(
        media.inline_base64, None,
        "no base64 without webhook.base64"
    );
    assert_eq!(media.message_id, "3AB7D4E5F60718293A4B");
}

#[test]
fn f04_reply_quotes_our_message() {
    let m = message("04-messages-upsert-reply-quoted.json");
    assert_eq!(m.id, "3AC1D2E3F4A5B6C7D8E9");
    assert_eq!(m.text, "Sim, pode enviar");
    assert_eq!(m.reply_to.as_deref(), Some("3EB0A1B2C3D4E5F60718"));
    assert_eq!(m.action, Action::New);
}

#[test]
fn f05_reaction_to_our_message() {
    let m = message("05-messages-upsert-reaction.json");
    assert_eq!(m.id, "3AD9E8F7A6B5C4D3E2F1");
    assert_eq!(m.text, "");
    assert_eq!(
        m.action,
        Action::Reaction {
            target: "3EB0A1B2C3D4E5F60718".into(),
            emoji: "👍".into()
        }
    );
    assert_eq!(m.author, Author::Customer);
}

#[test]
fn f06_read_receipt() {
    let hook = parse(&fixture("06-messages-update-read.json")).expect("parses");
    assert_eq!(hook.event, "messages.update");
    assert_eq!(
        hook.data,
        EvoEvent::Status {
            id: "3EB0A1B2C3D4E5F60718".into(),
            peer: maria(),
            status: "read".into(),
            error: None,
        }
    );
}

#[test]
fn f07_customer_deleted_a_message() {
    let m = message("07-messages-delete-incoming.json");
    assert_eq!(
        m.action,
        Action::Revoke {
            original: "3A5F1C2D9B8E7A6F5E4D".into()
        }
    );
    // Its own id differs from the original's, so dedup by id keeps both.
    assert_eq!(m.id, "3A5F1C2D9B8E7A6F5E4D~revoke");
    assert_eq!(m.author, Author::Customer);
    assert_eq!(m.peer, maria());
}

#[test]
fn f08_customer_edited_a_message() {
    let m = message("08-messages-edited.json");
    assert_eq!(
        m.action,
        Action::Edit {
            original: "3A5F1C2D9B8E7A6F5E4D".into(),
            text: "Oi, tudo bem? (corrigido)".into()
        }
    );
    assert_eq!(m.text, "Oi, tudo bem? (corrigido)");
    assert_eq!(m.id, "3A5F1C2D9B8E7A6F5E4D~edit~1761058000456");
    assert_eq!(m.timestamp, 1761058000);
    assert_eq!(m.author, Author::Customer);
}

#[test]
fn f09_connection_open() {
    let hook = parse(&fixture("09-connection-update-open.json")).expect("parses");
    assert_eq!(
        hook.data,
        EvoEvent::State {
            state: ConnState::Open,
            reason: Some(200),
            wuid: Some("5511900000001@s.whatsapp.net".into()),
            profile_name: Some("Loja Exemplo".into()),
        }
    );
}

#[test]
fn f10_send_answer_and_its_send_message_echo() {
    let v: Value = serde_json::from_slice(&fixture("10-send-text-response.json")).expect("json");
    let sent = SentMessage::from_response(&v).expect("reads");
    assert_eq!(sent.id, "3EB0A1B2C3D4E5F60718");
    assert_eq!(sent.remote_jid, "5511988887777@s.whatsapp.net");
    assert_eq!(sent.status.as_deref(), Some("PENDING"));
    assert_eq!(sent.timestamp, Some(1761057639));
    // The same object is send.message's data: ours, by the API.
    let hook = json!({"event": "send.message", "instance": "shop-1", "data": v});
    let hook = parse(hook.to_string().as_bytes()).expect("parses");
    let EvoEvent::Message(m) = hook.data else {
        panic!("a message");
    };
    assert_eq!(m.author, Author::Api);
    assert_eq!(m.id, "3EB0A1B2C3D4E5F60718");
    assert_eq!(m.text, "Posso enviar o boleto?");
    assert!(SentMessage::from_response(&json!({"key": {}})).is_err());
}

// ----- beyond the fixtures -----

fn upsert(data: Value) -> EvoEvent {
    let body = json!({"event": "messages.upsert", "instance": "shop-1", "data": data});
    parse(body.to_string().as_bytes()).expect("parses").data
}

#[test]
fn lid_senders_with_and_without_a_phone() {
    let ev = upsert(json!({
        "key": {"remoteJid": "123456789012345@lid", "fromMe": false, "id": "L1",
                "remoteJidAlt": "5511988887777@s.whatsapp.net", "addressingMode": "lid"},
        "pushName": "Maria", "message": {"conversation": "oi"}, "messageType": "conversation",
        "messageTimestamp": 5
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert_eq!(
        m.peer,
        Peer {
            phone: Some("5511988887777".into()),
            lid: Some("123456789012345".into())
        }
    );
    assert_eq!(
        (m.peer.key(), m.peer.lid_only()),
        ("5511988887777".into(), false)
    );
    // No phone in the payload (issue #2326): kept under the LID, flagged.
    let ev = upsert(json!({
        "key": {"remoteJid": "123456789012345@lid", "fromMe": false, "id": "L2"},
        "message": {"conversation": "oi"}, "messageType": "conversation"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert!(m.peer.lid_only());
    assert_eq!(m.peer.key(), "123456789012345@lid");
    assert_eq!(m.name, "");
    // 2.3.0–2.3.2 put the phone in senderPn.
    let ev = upsert(json!({
        "key": {"remoteJid": "777@lid", "fromMe": false, "id": "L3", "senderPn": "5511988887777@s.whatsapp.net"},
        "message": {"conversation": "oi"}
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert_eq!(m.peer.phone.as_deref(), Some("5511988887777"));
}

#[test]
fn from_me_on_the_phone_is_flagged() {
    let ev = upsert(json!({
        "key": {"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": true, "id": "P1"},
        "pushName": "Loja", "message": {"extendedTextMessage": {"text": "*typed* on the phone"}},
        "messageType": "extendedTextMessage", "messageTimestamp": "1761057639"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert_eq!(m.author, Author::Phone);
    assert_eq!(m.text, "[b]typed[/b] on the phone");
    assert_eq!(m.timestamp, 1761057639);
}

#[test]
fn groups_and_broadcasts_are_ignored() {
    for jid in ["120363000000000000@g.us", "status@broadcast"] {
        let ev = upsert(json!({
            "key": {"remoteJid": jid, "fromMe": false, "id": "G1", "participant": "5511@s.whatsapp.net"},
            "message": {"conversation": "oi"}
        }));
        assert!(matches!(ev, EvoEvent::Ignored(_)), "{jid}: {ev:?}");
    }
}

#[test]
fn other_contents() {
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "D1"},
        "message": {"documentWithCaptionMessage": {"message": {"documentMessage": {
            "mimetype": "application/pdf", "fileName": "boleto.pdf", "caption": "segue", "fileLength": 10,
            "fileSha256": {"0": 1, "1": 2, "2": 3}}}}},
        "messageType": "documentWithCaptionMessage"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    let media = m.media.expect("document");
    assert_eq!(
        (
            media.kind.as_str(),
            media.file_name.as_deref(),
            m.text.as_str()
        ),
        ("document", Some("boleto.pdf"), "segue")
    );
    // 2.3.6 writes bytes as {"0":…}: read as base64 of those bytes.
    assert_eq!(media.sha256.as_deref(), Some("AQID"));
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "A1"},
        "message": {"audioMessage": {"mimetype": "audio/mpeg", "ptt": false}}, "messageType": "audioMessage"
    }));
    assert!(
        matches!(ev, EvoEvent::Message(ref m) if m.media.as_ref().is_some_and(|x| x.kind == "audio"))
    );
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "LOC"},
        "message": {"locationMessage": {"degreesLatitude": -23.5, "degreesLongitude": -46.6, "name": "Loja"}},
        "messageType": "locationMessage"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert!(matches!(m.shown, Some(Shown::Location { lat, .. }) if lat == -23.5));
    assert!(m.text.contains("Loja"), "{}", m.text);
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "C1"},
        "message": {"contactMessage": {"displayName": "Ivan", "vcard": "BEGIN:VCARD\nTEL;waid=5511:+55 11\nEND:VCARD"}},
        "messageType": "contactMessage"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert_eq!(
        m.shown,
        Some(Shown::Contacts(vec![(
            "Ivan".into(),
            vec!["+55 11".into()]
        )]))
    );
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "U1"},
        "message": {"pollCreationMessageV3": {"name": "?"}}, "messageType": "pollCreationMessageV3"
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert_eq!(
        m.shown,
        Some(Shown::Unsupported {
            kind: "pollCreation".into()
        })
    );
    // A customer's text cannot carry live BBCode.
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "T1"},
        "message": {"conversation": "[url=http://x]pay[/url]"}
    }));
    let EvoEvent::Message(m) = ev else { panic!() };
    assert!(!m.text.contains("[url="), "{}", m.text);
    // A reply to a media message keeps the quote inside the media's contextInfo.
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "R1"},
        "message": {"imageMessage": {"caption": "this", "contextInfo": {"stanzaId": "Q9"}}},
        "messageType": "imageMessage"
    }));
    assert!(matches!(ev, EvoEvent::Message(ref m) if m.reply_to.as_deref() == Some("Q9")));
}

#[test]
fn statuses_map_to_ours() {
    let status = |s: Value, from_me: bool| {
        let body = json!({"event": "messages.update", "instance": "i", "data": {
            "keyId": "K", "remoteJid": "5511@s.whatsapp.net", "fromMe": from_me, "status": s}});
        parse(body.to_string().as_bytes()).expect("parses").data
    };
    for (raw, ours) in [
        ("SERVER_ACK", "sent"),
        ("DELIVERY_ACK", "delivered"),
        ("READ", "read"),
        ("PLAYED", "read"),
        ("ERROR", "failed"),
    ] {
        let ev = status(json!(raw), true);
        assert!(
            matches!(ev, EvoEvent::Status { ref status, ref id, .. } if status == ours && id == "K"),
            "{raw}: {ev:?}"
        );
    }
    assert!(
        matches!(status(json!("ERROR"), true), EvoEvent::Status { error: Some(ref e), .. } if e.contains("ERROR"))
    );
    assert!(
        matches!(status(json!(3), true), EvoEvent::Status { ref status, .. } if status == "delivered")
    );
    for ignored in ["PENDING", "DELETED", "WHATEVER"] {
        assert!(matches!(status(json!(ignored), true), EvoEvent::Ignored(_)));
    }
    assert!(matches!(status(json!("READ"), false), EvoEvent::Ignored(_)));
}

#[test]
fn session_and_qr_events() {
    let hook = |event: &str, data: Value| {
        let body = json!({"event": event, "instance": "i", "data": data});
        parse(body.to_string().as_bytes()).expect("parses").data
    };
    assert_eq!(
        hook(
            "connection.update",
            json!({"instance": "i", "state": "close", "statusReason": 401})
        ),
        EvoEvent::State {
            state: ConnState::Close,
            reason: Some(401),
            wuid: None,
            profile_name: None
        }
    );
    assert!(matches!(
        hook("connection.update", json!({"state": "refused"})),
        EvoEvent::State {
            state: ConnState::Refused,
            ..
        }
    ));
    assert_eq!(
        hook(
            "qrcode.updated",
            json!({"qrcode": {"instance": "i", "pairingCode": "WZYEH1YY", "code": "2@x", "base64": "data:image/png;base64,AA"}})
        ),
        EvoEvent::Qr(Qr {
            pairing_code: Some("WZYEH1YY".into()),
            code: Some("2@x".into()),
            base64: Some("data:image/png;base64,AA".into()),
            count: 0
        })
    );
    assert!(matches!(
        hook("qrcode.updated", json!({"message": "QR code limit reached, please login again", "statusCode": 500})),
        EvoEvent::QrLimit(ref m) if m.contains("limit")
    ));
    let ev = hook(
        "contacts.upsert",
        json!([{"remoteJid": "5511@s.whatsapp.net", "pushName": "Maria", "profilePicUrl": "https://pps/x.jpg"},
               {"remoteJid": "1203@g.us", "pushName": "group"}]),
    );
    let EvoEvent::Contacts(c) = ev else { panic!() };
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].picture_url.as_deref(), Some("https://pps/x.jpg"));
    assert!(
        matches!(hook("presence.update", Value::Null), EvoEvent::Ignored(ref e) if e == "presence.update")
    );
}

#[test]
fn our_api_delete_and_edit_echoes() {
    let body = json!({"event": "messages.delete", "instance": "i", "data": {
        "id": "cm1", "instanceId": "x", "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": true, "id": "3EB0X"},
        "messageType": "conversation", "status": "DELETED", "messageTimestamp": 9}});
    let EvoEvent::Message(m) = parse(body.to_string().as_bytes()).expect("parses").data else {
        panic!()
    };
    assert_eq!(m.author, Author::Api);
    assert_eq!(
        m.action,
        Action::Revoke {
            original: "3EB0X".into()
        }
    );
    let body = json!({"event": "send.message.update", "instance": "i", "data": {
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": true, "id": "3EB0X"},
        "type": 14, "editedMessage": {"extendedTextMessage": {"text": "new"}}, "timestampMs": "2000"}});
    let EvoEvent::Message(m) = parse(body.to_string().as_bytes()).expect("parses").data else {
        panic!()
    };
    assert_eq!(m.author, Author::Api);
    assert_eq!(
        m.action,
        Action::Edit {
            original: "3EB0X".into(),
            text: "new".into()
        }
    );
    assert_eq!(m.timestamp, 2);
    // An older version's revoke inside messages.upsert.
    let ev = upsert(json!({
        "key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "P9"},
        "message": {"protocolMessage": {"key": {"remoteJid": "5511@s.whatsapp.net", "fromMe": false, "id": "O1"}, "type": "REVOKE"}},
        "messageType": "protocolMessage"
    }));
    assert!(
        matches!(ev, EvoEvent::Message(ref m) if m.id == "P9" && m.action == Action::Revoke { original: "O1".into() })
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(parse(b"not json"), Err(EvoWebhookError::Json(_))));
    assert!(matches!(parse(b""), Err(EvoWebhookError::Json(_))));
    assert_eq!(parse(b"[1,2]").err(), Some(EvoWebhookError::NotObject));
    assert_eq!(parse(b"{}").err(), Some(EvoWebhookError::Missing("event")));
    assert_eq!(
        parse(br#"{"event":"messages.upsert"}"#).err(),
        Some(EvoWebhookError::Missing("instance"))
    );
    let bad = |event: &str, data: Value| {
        let body = json!({"event": event, "instance": "i", "data": data});
        parse(body.to_string().as_bytes()).err()
    };
    assert_eq!(
        bad("messages.upsert", Value::Null),
        Some(EvoWebhookError::Missing("data"))
    );
    assert_eq!(
        bad("messages.upsert", json!({})),
        Some(EvoWebhookError::Missing("data.key"))
    );
    assert_eq!(
        bad("messages.upsert", json!({"key": {"id": "x"}})),
        Some(EvoWebhookError::Missing("data.key.remoteJid"))
    );
    assert_eq!(
        bad(
            "messages.upsert",
            json!({"key": {"remoteJid": "5511@s.whatsapp.net", "id": ""}})
        ),
        Some(EvoWebhookError::Missing("data.key.id"))
    );
    assert_eq!(
        bad(
            "messages.update",
            json!({"remoteJid": "5511@s.whatsapp.net", "status": "READ"})
        ),
        Some(EvoWebhookError::Missing("data.keyId"))
    );
    assert_eq!(
        bad(
            "messages.update",
            json!({"keyId": "k", "remoteJid": "5511@s.whatsapp.net"})
        ),
        Some(EvoWebhookError::Missing("data.status"))
    );
    assert_eq!(
        bad(
            "messages.delete",
            json!({"remoteJid": "5511@s.whatsapp.net"})
        ),
        Some(EvoWebhookError::Missing("data.id"))
    );
    assert_eq!(
        bad("messages.edited", json!({"type": "MESSAGE_EDIT"})),
        Some(EvoWebhookError::Missing("data.key"))
    );
    assert_eq!(
        bad("connection.update", json!({})),
        Some(EvoWebhookError::Missing("data.state"))
    );
    // Wrong types never panic: a message whose parts are not what they should be.
    for data in [
        json!({"key": {"remoteJid": 5, "id": "x"}}),
        json!({"key": {"remoteJid": "5511@s.whatsapp.net", "id": "x"}, "message": "str", "messageType": 7}),
        json!({"key": {"remoteJid": "5511@s.whatsapp.net", "id": "x"}, "message": {"imageMessage": 1}, "messageTimestamp": {"low": "x"}}),
        json!({"key": {"remoteJid": "5511@s.whatsapp.net", "id": "x"}, "message": {"reactionMessage": []}}),
        json!({"key": {"remoteJid": "5511@s.whatsapp.net", "id": "x"}, "message": {"documentMessage": {"fileSha256": {"99": 1}}}}),
    ] {
        let body = json!({"event": "messages.upsert", "instance": "i", "data": data});
        let _ = parse(body.to_string().as_bytes());
    }
}

/// Every node of every fixture replaced in turn by each other JSON kind, or removed: the parser
/// answers (an event or a typed error) and never panics.
#[test]
fn every_fixture_mutated_never_panics() {
    fn paths(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(p.clone());
                    paths(x, p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    paths(x, p, out);
                }
            }
            _ => {}
        }
    }
    let kinds = [
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5e300),
        json!(""),
        json!("x@lid"),
        json!([]),
        json!({}),
    ];
    let mut parsed = 0;
    for name in CHECKED {
        let base: Value = serde_json::from_slice(&fixture(name)).expect("json");
        // The send answer is checked as send.message's data too.
        let base = if base.get("event").is_none() {
            json!({"event": "send.message", "instance": "i", "data": base})
        } else {
            base
        };
        let mut all = Vec::new();
        paths(&base, String::new(), &mut all);
        for p in &all {
            for k in &kinds {
                let mut v = base.clone();
                if let Some(slot) = v.pointer_mut(p) {
                    *slot = k.clone();
                }
                let _ = parse(v.to_string().as_bytes());
                parsed += 1;
            }
            // Removed.
            let mut v = base.clone();
            if let Some((parent, key)) = p.rsplit_once('/') {
                if let Some(Value::Object(o)) = v.pointer_mut(parent) {
                    o.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
            }
            let _ = parse(v.to_string().as_bytes());
        }
    }
    assert!(parsed > 1000, "{parsed}");
}
