//! The WhatsApp side of the gateway simulator: customers write, reply, send files, edit, delete
//! and call; someone types on the linked phone; statuses and raw webhooks on demand.

use super::replies::{digits, new_in_id};
use super::webhooks::{after_send, attempt, deliver, AfterSend, Hook};
use super::*;

impl GatewaySim {
    /// Post `body` as a webhook of kind `flag` now when linked, else hold it until linked.
    async fn emit(&self, id: u64, flag: &'static str, body: Value) -> u16 {
        let linked = {
            let mut st = self.st();
            let linked = is_linked(&st.instance(id).state);
            if !linked {
                st.pending.push(Pending {
                    instance: id,
                    flag,
                    body: body.clone(),
                });
            }
            linked
        };
        if linked {
            deliver(&self.data, &self.client, id, flag, body).await
        } else {
            0
        }
    }

    /// Build and record an incoming message; returns (idMessage, webhook body).
    fn incoming(
        &self,
        id: u64,
        from: &str,
        name: Option<&str>,
        message_data: Value,
        file: Option<(String, String, Vec<u8>)>,
    ) -> (String, Value) {
        let chat = chat_of(from);
        let mut st = self.st();
        let now = st.now_ms();
        let i = st
            .instances
            .get_mut(&id)
            .expect("gateway sim: unknown instance (add_instance first)");
        let name = match name {
            Some(n) => {
                i.names.insert(chat.clone(), n.to_string());
                n.to_string()
            }
            None => i.names.get(&chat).cloned().unwrap_or_else(|| digits(&chat)),
        };
        let id_message = new_in_id();
        let body = json!({
            "typeWebhook": "incomingMessageReceived",
            "instanceData": st.instance_data(id),
            "timestamp": now / 1000,
            "idMessage": id_message,
            "senderData": {"chatId": chat, "sender": chat, "chatName": name, "senderName": name},
            "messageData": message_data
        });
        let md = &body["messageData"];
        let s = |p: &str| md.pointer(p).and_then(Value::as_str).map(str::to_string);
        let text = s("/textMessageData/textMessage")
            .or_else(|| s("/extendedTextMessageData/text"))
            .or_else(|| s("/fileMessageData/caption"))
            .or_else(|| s("/editedMessageData/textMessage"))
            .unwrap_or_default();
        let (mime, file_name, bytes) = match file {
            Some((m, n, b)) => (Some(m), Some(n), Some(b)),
            None => (None, None, None),
        };
        st.inbound.push(GatewayInbound {
            instance: id,
            id_message: id_message.clone(),
            chat_id: chat,
            sender_name: name,
            type_message: s("/typeMessage").unwrap_or_default(),
            text,
            quoted_id: s("/quotedMessage/stanzaId"),
            stanza_id: s("/editedMessageData/stanzaId")
                .or_else(|| s("/deletedMessageData/stanzaId")),
            file_name,
            mime,
            bytes,
            from_me: false,
            deleted_by_us: false,
            at_ms: now,
        });
        (id_message, body)
    }

    /// A customer sends an arbitrary `messageData` (locationMessage, contactMessage,
    /// reactionMessage, extendedTextMessage, ...) as `incomingMessageReceived`.
    pub async fn customer_message(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        message_data: Value,
    ) -> String {
        let (idm, body) = self.incoming(id_instance, from, Some(name), message_data, None);
        self.emit(id_instance, "incomingWebhook", body).await;
        idm
    }

    /// A customer writes a text (`textMessage`). Returns its idMessage.
    pub async fn customer_text(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        text: &str,
    ) -> String {
        self.customer_message(
            id_instance,
            from,
            name,
            json!({"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}),
        )
        .await
    }

    /// A customer replies to `quoted_id` (ours or theirs) with a text (`quotedMessage`).
    pub async fn customer_reply(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        text: &str,
        quoted_id: &str,
    ) -> String {
        let chat = chat_of(from);
        let (participant, quoted_text) = {
            let st = self.st();
            let wid = st.instance(id_instance).wid.clone();
            if let Some(m) = st.sent.iter().find(|m| m.id_message == quoted_id) {
                (wid, m.current_text().to_string())
            } else if let Some(m) = st.inbound.iter().find(|m| m.id_message == quoted_id) {
                (m.chat_id.clone(), m.text.clone())
            } else {
                (chat.clone(), String::new())
            }
        };
        self.customer_message(
            id_instance,
            from,
            name,
            json!({
                "typeMessage": "quotedMessage",
                "extendedTextMessageData": {"text": text, "stanzaId": quoted_id, "participant": participant},
                "quotedMessage": {"stanzaId": quoted_id, "participant": participant,
                                  "typeMessage": "textMessage", "textMessage": quoted_text}
            }),
        )
        .await
    }

    /// A customer sends a file: `type_message` is one of [`GATEWAY_FILE_TYPES`] (a voice note is
    /// `audioMessage` with `audio/ogg; codecs=opus`). The bytes are served at the webhook's
    /// `downloadUrl` (valid for `download_url_ttl`).
    #[allow(clippy::too_many_arguments)]
    pub async fn customer_file(
        &self,
        id_instance: u64,
        from: &str,
        name: &str,
        type_message: &str,
        mime: &str,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> String {
        assert!(
            GATEWAY_FILE_TYPES.contains(&type_message),
            "gateway sim: {type_message} is not a file message type"
        );
        let url = self.st().store_file(mime, file_name, bytes.clone());
        let md = json!({
            "typeMessage": type_message,
            "fileMessageData": {"downloadUrl": url, "caption": caption, "fileName": file_name, "mimeType": mime}
        });
        let (idm, body) = self.incoming(
            id_instance,
            from,
            Some(name),
            md,
            Some((mime.to_string(), file_name.to_string(), bytes)),
        );
        self.emit(id_instance, "incomingWebhook", body).await;
        idm
    }

    /// The customer edits their message `stanza_id` (`editedMessage`, posted when
    /// `editedMessageWebhook` is on). Returns the edit's own idMessage.
    pub async fn customer_edit(
        &self,
        id_instance: u64,
        from: &str,
        stanza_id: &str,
        new_text: &str,
    ) -> String {
        let md = json!({
            "typeMessage": "editedMessage",
            "editedMessageData": {"textMessage": new_text, "stanzaId": stanza_id}
        });
        let (idm, body) = self.incoming(id_instance, from, None, md, None);
        self.emit(id_instance, "editedMessageWebhook", body).await;
        idm
    }

    /// The customer deletes their message `stanza_id` for everyone (`deletedMessage`, posted when
    /// `deletedMessageWebhook` is on). Returns the deletion's own idMessage.
    pub async fn customer_delete(&self, id_instance: u64, from: &str, stanza_id: &str) -> String {
        let md = json!({
            "typeMessage": "deletedMessage",
            "deletedMessageData": {"stanzaId": stanza_id}
        });
        let (idm, body) = self.incoming(id_instance, from, None, md, None);
        self.emit(id_instance, "deletedMessageWebhook", body).await;
        idm
    }

    /// The customer calls (`incomingCall`, posted when `incomingCallWebhook` is on).
    pub async fn customer_call(&self, id_instance: u64, from: &str) -> String {
        let idm = new_in_id();
        let body = {
            let st = self.st();
            json!({
                "typeWebhook": "incomingCall",
                "instanceData": st.instance_data(id_instance),
                "timestamp": st.now_ms() / 1000,
                "idMessage": idm,
                "from": chat_of(from),
                "status": "offer"
            })
        };
        self.emit(id_instance, "incomingCallWebhook", body).await;
        idm
    }

    /// Someone types a text on the linked phone itself (`outgoingMessageReceived`, posted when
    /// `outgoingMessageWebhook` is on), followed by its statuses (`sendByApi: false`).
    pub async fn phone_text(&self, id_instance: u64, to: &str, text: &str) -> String {
        let chat = chat_of(to);
        let idm = new_in_id();
        let (body, plan) = {
            let mut st = self.st();
            let now = st.now_ms();
            let i = st.instance(id_instance);
            let wid = i.wid.clone();
            let state = i.state.clone();
            let chat_name = i.names.get(&chat).cloned().unwrap_or_default();
            let body = json!({
                "typeWebhook": "outgoingMessageReceived",
                "instanceData": st.instance_data(id_instance),
                "timestamp": now / 1000,
                "idMessage": idm,
                "senderData": {"chatId": chat, "sender": wid, "chatName": chat_name, "senderName": ""},
                "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}
            });
            st.inbound.push(GatewayInbound {
                instance: id_instance,
                id_message: idm.clone(),
                chat_id: chat.clone(),
                sender_name: String::new(),
                type_message: "textMessage".into(),
                text: text.into(),
                quoted_id: None,
                stanza_id: None,
                file_name: None,
                mime: None,
                bytes: None,
                from_me: true,
                deleted_by_us: false,
                at_ms: now,
            });
            let plan = if is_linked(&state) {
                st.status_plan(&state, &chat, None)
            } else {
                Vec::new()
            };
            (body, plan)
        };
        self.emit(id_instance, "outgoingMessageWebhook", body).await;
        if !plan.is_empty() {
            actix_web::rt::spawn(after_send(
                self.data.clone(),
                self.client.clone(),
                AfterSend {
                    instance: id_instance,
                    chat_id: chat,
                    id_message: idm.clone(),
                    echo: None,
                    plan,
                    by_api: false,
                },
            ));
        }
        idm
    }

    /// Post an `outgoingMessageStatus` for a message we sent (with retries like any webhook).
    /// `status` is one of [`GATEWAY_STATUSES`]. Returns the first attempt's status (0 = not posted).
    pub async fn push_status(
        &self,
        id_message: &str,
        status: &str,
        description: Option<&str>,
    ) -> u16 {
        assert!(
            GATEWAY_STATUSES.contains(&status),
            "gateway sim: unknown status {status}"
        );
        let (instance, body) = {
            let mut st = self.st();
            let m = st
                .sent
                .iter_mut()
                .find(|m| m.id_message == id_message)
                .expect("gateway sim: unknown idMessage (not sent through the sim)");
            m.statuses.push(status.to_string());
            let (instance, chat) = (m.instance, m.chat_id.clone());
            let body = st.status_body(instance, &chat, id_message, status, description, true);
            (instance, body)
        };
        deliver(&self.data, &self.client, instance, "outgoingWebhook", body).await
    }

    /// POST `body` verbatim to `url` once, with `Authorization: Bearer <token>` when `token` is
    /// given (hostile-input tests). Recorded as a delivery. Returns (status, response text);
    /// status 0 on connection error.
    pub async fn post_raw_webhook(
        &self,
        url: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        self.post_raw_webhook_with_header(url, token.map(|t| format!("Bearer {t}")), body)
            .await
    }

    /// Like [`GatewaySim::post_raw_webhook`] with the whole Authorization header value (or none).
    pub async fn post_raw_webhook_with_header(
        &self,
        url: &str,
        authorization: Option<String>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let json_body = serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}));
        let hook = Hook {
            url: url.to_string(),
            authorization,
            instance: None,
            body: json_body,
            raw: body,
        };
        attempt(&self.data, &self.client, &hook, 1).await
    }
}
