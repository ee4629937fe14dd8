//! The message methods: `sendMessage`, `sendFileByUrl` (the file fetched like the gateway does),
//! `editMessage`, `deleteMessage`, `downloadFile`, and the file links they hand out.

use super::replies::*;
use super::webhooks::{after_send, AfterSend};
use super::*;

/// A send the API accepted, as it is recorded and echoed.
struct Outgoing {
    chat_id: String,
    kind: &'static str,
    /// The message, or the file's caption.
    text: String,
    file: Option<GatewaySentFile>,
    quoted_id: Option<String>,
    /// The echo webhook's `messageData`.
    message_data: Value,
}

impl GatewayState {
    /// Record an accepted send; what is left is its echo and the statuses of `plan`.
    fn accept(
        &mut self,
        id: u64,
        send: Outgoing,
        plan: Vec<(String, Option<String>)>,
    ) -> AfterSend {
        let Outgoing {
            chat_id,
            kind,
            text,
            file,
            quoted_id,
            message_data,
        } = send;
        let id_message = self.push_sent(id, &chat_id, kind, text, file, quoted_id);
        let echo = api_echo(self, id, &chat_id, &id_message, message_data);
        AfterSend {
            instance: id,
            chat_id,
            id_message,
            echo: Some(echo),
            plan,
            by_api: true,
        }
    }
}

/// Start the echo and the statuses of a recorded send; answers its idMessage.
pub(super) fn accepted(data: &Data, client: &reqwest::Client, send: AfterSend) -> Reply {
    let id_message = send.id_message.clone();
    actix_web::rt::spawn(after_send(data.clone(), client.clone(), send));
    ok_json(json!({"idMessage": id_message}))
}

pub(super) fn send_message(data: &Data, id: u64, b: &Obj) -> Result<AfterSend, Reply> {
    let chat_id = chat_id_of(b)?;
    let message = req_str(b, "message")?;
    within_text_limit("message", &message)?;
    let quoted_id = opt_str(b, "quotedMessageId")?;
    let mut st = lock(data);
    let state = ready(&st, id)?;
    let plan = st.status_plan(&state, &chat_id, None);
    let mut ext = json!({"text": message});
    if let Some(q) = &quoted_id {
        ext["stanzaId"] = json!(q);
    }
    let send = Outgoing {
        chat_id,
        kind: "text",
        text: message,
        file: None,
        quoted_id,
        message_data: json!({"typeMessage": "extendedTextMessage", "extendedTextMessageData": ext}),
    };
    Ok(st.accept(id, send, plan))
}

pub(super) fn api_echo(
    st: &GatewayState,
    id: u64,
    chat_id: &str,
    id_message: &str,
    message_data: Value,
) -> Value {
    let wid = st.instance(id).wid.clone();
    json!({
        "typeWebhook": "outgoingAPIMessageReceived",
        "instanceData": st.instance_data(id),
        "timestamp": st.now_ms() / 1000,
        "idMessage": id_message,
        "senderData": {"chatId": chat_id, "sender": wid, "chatName": "", "senderName": ""},
        "messageData": message_data
    })
}

pub(super) async fn fetch_file(
    client: &reqwest::Client,
    url: &str,
    file_name: &str,
    max: usize,
) -> GatewaySentFile {
    let mut f = GatewaySentFile {
        url: url.to_string(),
        file_name: file_name.to_string(),
        bytes: None,
        content_type: None,
        fetch_error: None,
    };
    match client
        .get(url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
    {
        Err(e) => f.fetch_error = Some(format!("could not download the file: {e}")),
        Ok(r) if !r.status().is_success() => {
            f.fetch_error = Some(format!(
                "could not download the file: HTTP {}",
                r.status().as_u16()
            ));
        }
        Ok(r) => {
            f.content_type = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            match r.bytes().await {
                Err(e) => f.fetch_error = Some(format!("could not download the file: {e}")),
                Ok(b) if b.len() > max => {
                    f.fetch_error = Some(format!(
                        "the file is larger than {max} bytes ({} bytes)",
                        b.len()
                    ));
                }
                Ok(b) => f.bytes = Some(b.to_vec()),
            }
        }
    }
    f
}

pub(super) async fn send_file(
    data: &Data,
    client: &reqwest::Client,
    id: u64,
    b: &Obj,
) -> Result<AfterSend, Reply> {
    let chat_id = chat_id_of(b)?;
    let url_file = req_str(b, "urlFile")?;
    if !url::Url::parse(&url_file).is_ok_and(|u| u.scheme() == "http" || u.scheme() == "https") {
        return Err(invalid("'urlFile' must be an http(s) URL"));
    }
    let file_name = req_str(b, "fileName")?;
    if extension(&file_name).is_none() {
        return Err(invalid("'fileName' must have a file extension"));
    }
    let caption = opt_str(b, "caption")?.unwrap_or_default();
    within_text_limit("caption", &caption)?;
    let quoted_id = opt_str(b, "quotedMessageId")?;
    let max = {
        let st = lock(data);
        ready(&st, id)?;
        st.cfg.max_file_bytes
    };
    // Like the gateway, accept (queue) the message even when the file cannot be fetched: it then
    // ends `failed`.
    let file = fetch_file(client, &url_file, &file_name, max).await;
    let mut st = lock(data);
    let state = st.instance(id).state.clone();
    let kind = kind_by_extension(&file_name);
    let mime = file.content_type.clone().unwrap_or_default();
    let plan = if is_linked(&state) {
        st.status_plan(&state, &chat_id, file.fetch_error.as_deref())
    } else {
        // unlinked while fetching: it stays queued, no statuses
        Vec::new()
    };
    let send = Outgoing {
        chat_id,
        kind,
        text: caption.clone(),
        file: Some(file),
        quoted_id,
        message_data: json!({
            "typeMessage": format!("{kind}Message"),
            "fileMessageData": {"downloadUrl": url_file, "caption": caption, "fileName": file_name, "mimeType": mime}
        }),
    };
    Ok(st.accept(id, send, plan))
}

/// A message sent at `at_ms` may still be changed at `now` within `window`; else a 400 saying
/// `refusal`.
fn within(
    window: Duration,
    now: i64,
    at_ms: i64,
    refusal: impl FnOnce() -> String,
) -> Result<(), Reply> {
    if now - at_ms > window.as_millis() as i64 {
        return Err(text(400, refusal()));
    }
    Ok(())
}

pub(super) fn edit_message(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let message = req_str(b, "message")?;
    within_text_limit("message", &message)?;
    let mut st = lock(data);
    ready(&st, id)?;
    let now = st.now_ms();
    let window = st.cfg.edit_window;
    let theirs = st
        .inbound
        .iter()
        .any(|m| m.instance == id && m.id_message == id_message);
    let Some(m) = st.find_sent_mut(id, &id_message) else {
        return Err(text(
            400,
            if theirs {
                "only messages sent by this account can be edited"
            } else {
                "message not found"
            },
        ));
    };
    if m.chat_id != chat_id {
        return Err(text(400, "message not found in this chat"));
    }
    if m.kind != "text" {
        return Err(text(400, "only text messages can be edited"));
    }
    if m.deleted_for_everyone {
        return Err(text(400, "message was deleted"));
    }
    if let Some(w) = window {
        within(w, now, m.at_ms, || {
            format!(
                "message can be edited only within {} minutes of sending",
                w.as_secs() / 60
            )
        })?;
    }
    let new_id = new_out_id();
    m.edited = true;
    m.edits.push(message);
    m.edit_ids.push(new_id.clone());
    Ok(ok_json(json!({"idMessage": new_id})))
}

pub(super) fn delete_message(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let only_sender = match b.get("onlySenderDelete") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(x)) => *x,
        Some(_) => return Err(invalid("'onlySenderDelete' must be a boolean")),
    };
    let mut st = lock(data);
    ready(&st, id)?;
    let now = st.now_ms();
    let window = st.cfg.delete_window;
    if let Some(m) = st.find_sent_mut(id, &id_message) {
        if m.chat_id != chat_id {
            return Err(text(400, "message not found in this chat"));
        }
        if !only_sender && !m.deleted_for_everyone {
            within(window, now, m.at_ms, || {
                format!(
                    "message can be deleted for everyone only within {} hours of sending",
                    window.as_secs() / 3600
                )
            })?;
            m.deleted_for_everyone = true;
        }
        m.deleted = true;
        return Ok(Reply::Empty);
    }
    let Some(m) = st
        .inbound
        .iter_mut()
        .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
    else {
        return Err(text(400, "message not found"));
    };
    if !only_sender {
        return Err(text(
            400,
            "only messages sent by this account can be deleted for everyone",
        ));
    }
    m.deleted_by_us = true;
    Ok(Reply::Empty)
}

pub(super) fn download_file(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    let chat_id = chat_id_of(b)?;
    let id_message = req_str(b, "idMessage")?;
    let mut st = lock(data);
    ready(&st, id)?;
    let found = st
        .inbound
        .iter()
        .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
        .and_then(|m| {
            Some((
                m.mime.clone().unwrap_or_default(),
                m.file_name.clone().unwrap_or_default(),
                m.bytes.clone()?,
            ))
        })
        .or_else(|| {
            st.sent
                .iter()
                .find(|m| m.instance == id && m.id_message == id_message && m.chat_id == chat_id)
                .and_then(|m| {
                    let f = m.file.as_ref()?;
                    Some((
                        f.content_type.clone().unwrap_or_default(),
                        f.file_name.clone(),
                        f.bytes.clone()?,
                    ))
                })
        });
    let Some((mime, name, bytes)) = found else {
        return Err(text(400, "message not found or has no file"));
    };
    let url = st.store_file(&mime, &name, bytes);
    Ok(ok_json(json!({"downloadUrl": url})))
}

pub(super) async fn download_handler(
    path: web::Path<(String, String)>,
    data: Data,
) -> HttpResponse {
    let (key, _name) = path.into_inner();
    let mut st = lock(&data);
    let now = st.now_ms();
    // File links honour faults injected for method "download" (status faults only).
    if let Some(fault) = st.take_fault("download") {
        let resp = match fault {
            GatewayFault::Custom(code, body) => HttpResponse::build(
                actix_web::http::StatusCode::from_u16(code)
                    .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY),
            )
            .body(body),
            GatewayFault::RateLimited => HttpResponse::TooManyRequests().finish(),
            _ => HttpResponse::BadGateway().finish(),
        };
        st.record("GET", "download", None, Value::Null, resp.status().as_u16());
        return resp;
    }
    let resp = match st.files.get(&key) {
        Some(f) if f.expires_ms > now => {
            let mime = if f.mime.is_empty() {
                "application/octet-stream".to_string()
            } else {
                f.mime.clone()
            };
            HttpResponse::Ok().content_type(mime).body(f.bytes.clone())
        }
        Some(_) => HttpResponse::NotFound().body("link expired"),
        None => HttpResponse::NotFound().body("Not Found"),
    };
    st.record("GET", "download", None, Value::Null, resp.status().as_u16());
    resp
}
