//! What an operator does in an Open Lines chat: write (with files the portal serves at a public
//! link), edit and delete; each becomes an event to our app.

use super::params::{file_type, param};
use super::*;
use crate::sim::random_hex;

impl BitrixState {
    pub(super) fn signed_text(&self, connector: &str, text: &str) -> String {
        let sign = self
            .connectors
            .get(connector)
            .and_then(|r| param(r, "NEED_SIGNATURE"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if sign {
            format!("[b]{}:[/b][br]{}", self.cfg.operator_name, text)
        } else {
            text.to_string()
        }
    }

    /// The operator message `im_message_id` (panics when unknown) and its index, when our app
    /// confirmed it (its ids recorded) and it is not deleted; else None, saying that no `what`
    /// event is sent.
    pub(super) fn confirmed_operator_message(
        &self,
        im_message_id: &str,
        what: &str,
    ) -> Option<(usize, OperatorMessage)> {
        let Some(idx) = self
            .operator
            .iter()
            .position(|m| m.im_message_id == im_message_id)
        else {
            panic!("bitrix sim: unknown operator message {im_message_id}");
        };
        let m = self.operator[idx].clone();
        if m.external_ids.is_empty() || m.deleted {
            eprintln!("bitrix sim: operator message {im_message_id} not confirmed/deleted: no {what} event");
            return None;
        }
        Some((idx, m))
    }
}

pub(super) async fn file_handler(path: web::Path<String>, data: Data) -> HttpResponse {
    let id = path.into_inner();
    let file = lock(&data).files.get(&id).cloned();
    match file {
        Some((name, mime, bytes)) => HttpResponse::Ok()
            .content_type(mime)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}\""),
            ))
            .body(bytes),
        None => HttpResponse::NotFound().finish(),
    }
}

impl BitrixSim {
    /// The operator writes `text` in the Open Lines chat of our chat id `our_chat_id` on `line`:
    /// creates an operator message ("sending") and POSTs ONIMCONNECTORMESSAGEADD to the bound handler(s).
    /// Panics if no conversation exists for (line, our_chat_id).
    pub async fn operator_write(&self, line: &str, our_chat_id: &str, text: &str) -> OperatorMsg {
        self.operator_write_files(line, our_chat_id, text, Vec::new())
            .await
    }

    /// Like `operator_write` with one attached file, served by the sim at a public link
    /// (`{base}/~<id>`, no auth) given in `message[files][0][link]`.
    pub async fn operator_write_file(
        &self,
        line: &str,
        our_chat_id: &str,
        text: &str,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> OperatorMsg {
        self.operator_write_files(
            line,
            our_chat_id,
            text,
            vec![(name.into(), mime.into(), bytes)],
        )
        .await
    }

    pub async fn operator_write_files(
        &self,
        line: &str,
        our_chat_id: &str,
        text: &str,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> OperatorMsg {
        let (im_chat_id, im_message_id, out) = {
            let mut st = self.st();
            let conv = st
                .conversations
                .iter()
                .rev()
                .find(|c| c.line == line && c.chat_id == our_chat_id)
                .cloned()
                .unwrap_or_else(|| {
                    panic!("bitrix sim: no conversation for line {line} chat {our_chat_id}")
                });
            let im_message_id = st.next(86000);
            let text = st.signed_text(&conv.connector, text);
            let mut file_items = Vec::new();
            for (name, mime, bytes) in files {
                let id = random_hex(6);
                let size = bytes.len();
                file_items.push(json!({
                    "name": name, "type": file_type(&mime),
                    "link": format!("{}/~{id}", st.base), "size": size.to_string()
                }));
                st.files.insert(id, (name, mime, bytes));
            }
            let order = st.next_order();
            st.operator.push(OperatorMessage {
                connector: conv.connector.clone(),
                line: line.into(),
                our_chat_id: our_chat_id.into(),
                im_chat_id: conv.b24_chat_id.clone(),
                im_message_id: im_message_id.clone(),
                text: text.clone(),
                state: "sending".into(),
                history: vec!["sending".into()],
                external_ids: Vec::new(),
                deleted: false,
                order,
            });
            let data = json!({
                "CONNECTOR": conv.connector, "LINE": line,
                "MESSAGES": [{
                    "im": {"chat_id": conv.b24_chat_id, "message_id": im_message_id},
                    "message": {"user_id": st.cfg.operator_user_id, "text": text, "files": file_items},
                    "chat": {"id": our_chat_id}
                }]
            });
            let out = st.outgoing("ONIMCONNECTORMESSAGEADD", &data, true);
            (conv.b24_chat_id, im_message_id, out)
        };
        let http_status = self.deliver(out).await;
        OperatorMsg {
            im_chat_id,
            im_message_id,
            http_status,
        }
    }

    /// The operator edits a message. Only messages confirmed by send.status.delivery (our ids
    /// recorded) produce ONIMCONNECTORMESSAGEUPDATE; otherwise nothing is sent and 0 is returned.
    pub async fn operator_edit(&self, im_message_id: &str, new_text: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let Some((idx, m)) = st.confirmed_operator_message(im_message_id, "edit") else {
                return 0;
            };
            let text = st.signed_text(&m.connector, new_text);
            st.operator[idx].text = text.clone();
            let data = json!({
                "CONNECTOR": m.connector, "LINE": m.line,
                "MESSAGES": [{
                    "im": {"chat_id": m.im_chat_id, "message_id": m.im_message_id},
                    "message": {"id": m.external_ids, "text": text},
                    "chat": {"id": m.our_chat_id}
                }]
            });
            st.outgoing("ONIMCONNECTORMESSAGEUPDATE", &data, true)
        };
        self.deliver(out).await
    }

    /// The operator deletes a confirmed message: ONIMCONNECTORMESSAGEDELETE with one item per our id.
    /// Returns 0 (nothing sent) for unconfirmed messages.
    pub async fn operator_delete(&self, im_message_id: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let Some((idx, m)) = st.confirmed_operator_message(im_message_id, "delete") else {
                return 0;
            };
            st.operator[idx].deleted = true;
            let items: Vec<Value> = m
                .external_ids
                .iter()
                .map(|id| {
                    json!({
                        "im": {"chat_id": m.im_chat_id, "message_id": m.im_message_id},
                        "message": {"id": id},
                        "chat": {"id": m.our_chat_id}
                    })
                })
                .collect();
            let data = json!({"CONNECTOR": m.connector, "LINE": m.line, "MESSAGES": items});
            st.outgoing("ONIMCONNECTORMESSAGEDELETE", &data, true)
        };
        self.deliver(out).await
    }
}
