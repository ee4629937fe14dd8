//! Sends (text, media, voice, reaction), delete for everyone and edit, and the helpers the
//! endpoints share (the session check, recipients, events posted in the background).

use super::api::Reply;
use super::hooks::{after_send, post_event, AfterSend};
use super::*;
use crate::sim::server::lock;

fn err400(message: Value) -> Reply {
    Reply::Json(
        400,
        json!({"status": 400, "error": "Bad Request", "response": {"message": message}}),
    )
}

fn bad(msg: impl Into<String>) -> Reply {
    err400(json!([msg.into()]))
}

fn not_found(msg: &str) -> Reply {
    Reply::Json(
        404,
        json!({"status": 404, "error": "Not Found", "response": {"message": [msg]}}),
    )
}

/// `+55 11 98888-7777` → `5511988887777`; None when not a phone.
pub(super) fn digits(number: &str) -> Option<String> {
    let d: String = number
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

/// The instance is linked, else the send fails as Baileys' closed socket does.
pub(super) fn ready(st: &EvolutionState, name: &str) -> Result<(), Reply> {
    if st.inst(name).state == "open" {
        Ok(())
    } else {
        Err(bad("Error: Connection Closed"))
    }
}

/// A send's `number` as (remoteJid, phone): digits, or a full JID. A number not on WhatsApp is
/// the contract's 400 with `exists:false`.
fn recipient(st: &EvolutionState, number: &str) -> Result<(String, Option<String>), Reply> {
    if let Some((user, server)) = number.split_once('@') {
        return match server {
            "s.whatsapp.net" | "g.us" | "lid" if !user.is_empty() => {
                let phone = (server == "s.whatsapp.net").then(|| user.to_string());
                Ok((number.to_string(), phone))
            }
            _ => Err(bad("Invalid format")),
        };
    }
    let d = digits(number).unwrap_or_default();
    let jid = format!("{d}@s.whatsapp.net");
    if d.is_empty() || st.not_on_whatsapp.contains(&d) {
        return Err(err400(json!([{"jid": jid, "exists": false, "number": d}])));
    }
    Ok((jid, Some(d)))
}

/// Post an event in the background (Evolution's emits are fire-and-forget).
pub(super) fn spawn_event(
    data: &Data,
    client: &reqwest::Client,
    name: &str,
    event: &'static str,
    payload: Value,
) {
    let (d, c, n) = (data.clone(), client.clone(), name.to_string());
    actix_web::rt::spawn(async move {
        post_event(&d, &c, &n, event, payload).await;
    });
}

/// A restart or a dropped socket: `connecting`, then `open` again.
pub(super) async fn reconnect(data: &Data, client: &reqwest::Client, name: &str) {
    let own = {
        let mut st = lock(data);
        let Some(i) = st.instances.get_mut(name) else {
            return;
        };
        i.state = "connecting".into();
        i.own.clone().unwrap_or_default()
    };
    post_event(
        data,
        client,
        name,
        "connection.update",
        json!({"instance": name, "state": "connecting", "statusReason": 428}),
    )
    .await;
    if let Some(i) = lock(data).instances.get_mut(name) {
        i.state = "open".into();
    }
    post_event(
        data,
        client,
        name,
        "connection.update",
        json!({"instance": name, "wuid": format!("{own}@s.whatsapp.net"), "state": "open", "statusReason": 200}),
    )
    .await;
}

fn str_of<'a>(b: &'a Obj, k: &str) -> Result<&'a str, Reply> {
    b.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("instance requires property \"{k}\"")))
}

type Obj = Map<String, Value>;

/// What a send puts on WhatsApp: the record's kind and text, the `media` / `audio` as given,
/// and the message (`{message_type: body}`).
struct Content {
    kind: &'static str,
    text: String,
    media: Option<String>,
    message_type: String,
    body: Value,
}

impl Content {
    fn new(
        kind: &'static str,
        text: &str,
        media: Option<&str>,
        message_type: String,
        body: Value,
    ) -> Self {
        Self {
            kind,
            text: text.to_string(),
            media: media.map(str::to_string),
            message_type,
            body,
        }
    }
}

/// `sendReaction`'s chat (the key's) and content.
fn reaction(b: &Obj) -> Result<(String, Content), Reply> {
    let key = b
        .get("key")
        .filter(|k| k.get("id").and_then(Value::as_str).is_some())
        .ok_or_else(|| bad("instance requires property \"key\""))?;
    let emoji = str_of(b, "reaction")?;
    let jid = key
        .get("remoteJid")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("instance requires property \"remoteJid\""))?;
    let body = json!({"key": key, "text": emoji});
    let content = Content::new("reaction", emoji, None, "reactionMessage".into(), body);
    Ok((jid.to_string(), content))
}

/// The content of `sendText`, `sendWhatsAppAudio` or `sendMedia` (any other action).
fn content(action: &str, b: &Obj) -> Result<Content, Reply> {
    match action {
        "sendText" => {
            let text = str_of(b, "text")?;
            if text.is_empty() {
                return Err(bad("Text is required"));
            }
            let body = json!(text);
            Ok(Content::new(
                "text",
                text,
                None,
                "conversation".into(),
                body,
            ))
        }
        "sendWhatsAppAudio" => {
            let audio = str_of(b, "audio")?;
            if audio.is_empty() {
                return Err(bad("Audio is required"));
            }
            let body = json!({"url": "https://mmg.whatsapp.net/v/t62.sim/out.enc",
                "mimetype": "audio/ogg; codecs=opus", "ptt": true, "seconds": 1});
            Ok(Content::new(
                "voice",
                "",
                Some(audio),
                "audioMessage".into(),
                body,
            ))
        }
        _ => {
            let kind = str_of(b, "mediatype")?;
            if !["image", "video", "document", "audio"].contains(&kind) {
                return Err(bad(
                    "mediatype must be one of image, video, document, audio",
                ));
            }
            let media = str_of(b, "media")?;
            if media.is_empty() {
                return Err(bad("Media is required"));
            }
            let caption = b.get("caption").and_then(Value::as_str).unwrap_or("");
            let mut body = json!({"url": "https://mmg.whatsapp.net/v/t62.sim/out.enc",
                "mimetype": b.get("mimetype").and_then(Value::as_str)
                    .map_or_else(|| mime_guess::from_path(
                        b.get("fileName").and_then(Value::as_str).unwrap_or(media))
                        .first_or_octet_stream().to_string(), str::to_string)});
            if !caption.is_empty() {
                body["caption"] = json!(caption);
            }
            if let Some(f) = b.get("fileName") {
                body["fileName"] = f.clone();
            }
            let kind_static = match kind {
                "image" => "image",
                "video" => "video",
                "document" => "document",
                _ => "audio",
            };
            let message_type = format!("{kind}Message");
            Ok(Content::new(
                kind_static,
                caption,
                Some(media),
                message_type,
                body,
            ))
        }
    }
}

/// sendText, sendMedia, sendWhatsAppAudio, sendReaction: 201 with the sent message's record;
/// then `send.message` and the statuses (before the answer with `statuses_before_reply`).
pub(super) async fn send(
    data: &Data,
    client: &reqwest::Client,
    name: &str,
    action: &str,
    b: &Obj,
) -> Result<Reply, Reply> {
    let (job, record, early) = {
        let mut st = lock(data);
        let (jid, phone, c) = match action {
            "sendReaction" => {
                let (jid, c) = reaction(b)?;
                (jid, None, c)
            }
            _ => {
                let (jid, phone) = recipient(&st, str_of(b, "number")?)?;
                (jid, phone, content(action, b)?)
            }
        };
        ready(&st, name)?;
        let quoted = b
            .get("quoted")
            .and_then(|q| q.pointer("/key/id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let id = message_id("3EB0");
        let mut record = json!({
            "key": {"remoteJid": jid, "fromMe": true, "id": id},
            "pushName": "Você",
            "status": "PENDING",
            "message": {c.message_type.clone(): c.body},
            "messageType": c.message_type,
            "messageTimestamp": chrono::Utc::now().timestamp(),
            "instanceId": st.inst(name).id,
            "source": "web",
        });
        if let Some(q) = &quoted {
            record["contextInfo"] = json!({"stanzaId": q, "participant": jid, "quotedMessage": {}});
        }
        st.sent.push(EvolutionSent {
            instance: name.to_string(),
            remote_jid: jid.clone(),
            kind: c.kind.to_string(),
            text: c.text,
            media: c.media,
            quoted_id: quoted,
            id: id.clone(),
            edits: Vec::new(),
            deleted: false,
            statuses: Vec::new(),
            at_ms: chrono::Utc::now().timestamp_millis(),
        });
        let job = AfterSend {
            instance: name.to_string(),
            record: record.clone(),
            id,
            jid,
            phone,
            // WhatsApp acks reactions too, but nothing waits for them.
            statuses: c.kind != "reaction",
        };
        (job, record, st.cfg.statuses_before_reply)
    };
    if early {
        after_send(data.clone(), client.clone(), job).await;
    } else {
        actix_web::rt::spawn(after_send(data.clone(), client.clone(), job));
    }
    Ok(Reply::Json(201, record))
}

/// `DELETE /chat/deleteMessageForEveryone`: 201 with the revoke; `messages.delete` follows in
/// the shape of a stored row.
pub(super) fn delete_for_everyone(
    data: &Data,
    client: &reqwest::Client,
    name: &str,
    b: &Obj,
) -> Result<Reply, Reply> {
    let id = str_of(b, "id")?.to_string();
    let jid = str_of(b, "remoteJid")?.to_string();
    let from_me = b.get("fromMe").and_then(Value::as_bool).unwrap_or(false);
    let (instance_id, message_type) = {
        let mut st = lock(data);
        ready(&st, name)?;
        let instance_id = st.inst(name).id.clone();
        let kind = st
            .sent
            .iter_mut()
            .find(|m| m.id == id && m.instance == name)
            .map(|m| {
                m.deleted = true;
                m.kind.clone()
            });
        let message_type = match kind.as_deref() {
            Some("text") | None => "conversation".to_string(),
            Some("voice") => "audioMessage".to_string(),
            Some(k) => format!("{k}Message"),
        };
        (instance_id, message_type)
    };
    let key = json!({"remoteJid": jid, "fromMe": from_me, "id": id});
    spawn_event(
        data,
        client,
        name,
        "messages.delete",
        json!({"id": format!("cm{}", random_hex(10)), "instanceId": instance_id, "key": key,
               "messageType": message_type, "status": "DELETED", "source": "web",
               "messageTimestamp": chrono::Utc::now().timestamp(), "pushName": "Você",
               "participant": Value::Null, "message": {}}),
    );
    Ok(Reply::Json(
        201,
        json!({"key": {"remoteJid": jid, "fromMe": true, "id": message_id("3EB0")},
               "message": {"protocolMessage": {"key": key, "type": "REVOKE"}},
               "messageTimestamp": chrono::Utc::now().timestamp(), "status": "PENDING"}),
    ))
}

/// `POST /chat/updateMessage`: a new text for our message; `send.message.update` follows.
pub(super) fn update_message(
    data: &Data,
    client: &reqwest::Client,
    name: &str,
    b: &Obj,
) -> Result<Reply, Reply> {
    let number = str_of(b, "number")?.to_string();
    let text = str_of(b, "text")?.to_string();
    let key = b
        .get("key")
        .filter(|k| k.is_object())
        .ok_or_else(|| bad("instance requires property \"key\""))?
        .clone();
    let id = key
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let key_jid = key
        .get("remoteJid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    {
        let mut st = lock(data);
        ready(&st, name)?;
        let (jid, _) = recipient(&st, &number)?;
        let Some(m) = st
            .sent
            .iter_mut()
            .find(|m| m.id == id && m.instance == name)
        else {
            return Err(not_found("Message not found"));
        };
        if key_jid != jid || m.remote_jid != jid {
            return Err(bad("RemoteJid does not match"));
        }
        if !["text", "image", "video", "document"].contains(&m.kind.as_str()) {
            return Err(bad("Message not compatible"));
        }
        m.edits.push(text.clone());
    }
    let ms = chrono::Utc::now().timestamp_millis();
    spawn_event(
        data,
        client,
        name,
        "send.message.update",
        json!({"key": key, "type": "MESSAGE_EDIT", "editedMessage": {"conversation": text},
               "timestampMs": ms.to_string()}),
    );
    Ok(Reply::Json(
        200,
        json!({"key": {"remoteJid": key_jid, "fromMe": true, "id": message_id("3EB0")},
               "message": {"protocolMessage": {"key": key, "type": "MESSAGE_EDIT",
                                                "editedMessage": {"conversation": text}}},
               "messageTimestamp": ms / 1000, "status": "PENDING"}),
    ))
}
