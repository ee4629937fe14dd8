//! The Open Lines connector methods: `imconnector.register` / `activate` / `connector.data.set`,
//! customers' messages in (`send` / `update` / `delete.messages`), delivery and reading statuses
//! of operators' messages, and `im.message.add` (system notices in a chat).

use serde_json::Map;

use super::params::*;
use super::*;

const REGISTER_FLAGS: &[&str] = &[
    "DEL_EXTERNAL_MESSAGES",
    "EDIT_INTERNAL_MESSAGES",
    "DEL_INTERNAL_MESSAGES",
    "NEWSLETTER",
    "NEED_SYSTEM_MESSAGES",
    "NEED_SIGNATURE",
    "CHAT_GROUP",
];

impl BitrixState {
    pub(super) fn m_register(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let fail = |e: &str| Ok(json!({"result": false, "error": e}));
        let id = sval(param(p, "ID"));
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return fail("Invalid connector ID: only a-z, 0-9 and _ are allowed");
        }
        if sval(param(p, "NAME")).is_empty() {
            return fail("NAME is required");
        }
        let icon_ok = param(p, "ICON")
            .map(|i| !sval(param(i, "DATA_IMAGE")).is_empty())
            .unwrap_or(false);
        if !icon_ok {
            return fail("ICON[DATA_IMAGE] is required");
        }
        if sval(param(p, "PLACEMENT_HANDLER")).is_empty() {
            return fail("PLACEMENT_HANDLER is required");
        }
        for f in REGISTER_FLAGS {
            if let Some(v) = param(p, f) {
                if !v.is_boolean() {
                    return fail(&format!("{f} must be a JSON boolean"));
                }
            }
        }
        let mut reg = p.clone();
        if let Value::Object(m) = &mut reg {
            m.retain(|k, _| !k.eq_ignore_ascii_case("auth"));
        }
        self.connectors.insert(id, reg);
        Ok(json!({"result": true}))
    }

    pub(super) fn line_exists(&self, line: &str) -> bool {
        line.parse::<u64>()
            .map(|l| self.lines.contains_key(&l))
            .unwrap_or(false)
    }

    /// `CONNECTOR` and `LINE` of `p`, when that connector is registered and the line exists.
    fn registered_connector_on_line(&self, p: &Value) -> Result<(String, String), ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if !self.connectors.contains_key(&c) {
            return Err(ApiErr::arg("Connector is not registered"));
        }
        if !self.line_exists(&l) {
            return Err(ApiErr::arg("Open line not found"));
        }
        Ok((c, l))
    }

    pub(super) fn m_activate(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let (c, l) = self.registered_connector_on_line(p)?;
        let Some(on) = truthy(param(p, "ACTIVE")) else {
            return Err(ApiErr::arg("ACTIVE must be 1 or 0"));
        };
        if on {
            self.active.insert((c, l));
        } else {
            self.active.remove(&(c, l));
        }
        Ok(json!(true))
    }

    pub(super) fn m_data_set(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let (c, l) = self.registered_connector_on_line(p)?;
        let Some(data @ Value::Object(_)) = param(p, "DATA") else {
            return Err(ApiErr::arg("DATA is required"));
        };
        self.connector_data.insert((c, l), data.clone());
        Ok(json!(true))
    }

    pub(super) fn m_im_add(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let dialog = nonempty(p, "DIALOG_ID")
            .ok_or_else(|| ApiErr::new(400, "DIALOG_ID_EMPTY", "Dialog ID can't be empty"))?;
        let msg = nonempty(p, "MESSAGE")
            .ok_or_else(|| ApiErr::new(400, "MESSAGE_EMPTY", "Message can't be empty"))?;
        let chat = dialog.strip_prefix("chat").unwrap_or("").to_string();
        if !self.conversations.iter().any(|c| c.b24_chat_id == chat) {
            return Err(ApiErr::new(
                400,
                "ACCESS_ERROR",
                "You do not have access to the specified dialog",
            ));
        }
        let system = sval(param(p, "SYSTEM")).eq_ignore_ascii_case("Y");
        let order = self.next_order();
        self.notices.push(SystemNotice {
            dialog_id: dialog,
            chat_id: chat,
            message: msg,
            system,
            order,
        });
        let id: u64 = self.next(90000).parse().unwrap_or(0);
        Ok(json!(id))
    }

    pub(super) fn m_messages(&mut self, p: &Value, op: MsgOp) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if c.is_empty() || l.is_empty() {
            return Err(ApiErr::arg("CONNECTOR and LINE are required"));
        }
        if !self.active.contains(&(c.clone(), l.clone())) {
            return Err(ApiErr::new(
                400,
                "NOT_ACTIVE_LINE",
                "The connector is not active on this line",
            ));
        }
        let Some(items) = as_list(param(p, "MESSAGES")) else {
            return Err(ApiErr::arg("MESSAGES must be an array"));
        };
        let mut out = Vec::new();
        let mut all_ok = true;
        for item in items {
            let item = lc_keys(&item);
            let r = self.message_item(&c, &l, &item, op);
            all_ok &= r.get("SUCCESS").and_then(Value::as_bool).unwrap_or(false);
            out.push(r);
        }
        Ok(json!({"SUCCESS": all_ok, "DATA": {"RESULT": out}}))
    }

    pub(super) fn message_item(&mut self, c: &str, l: &str, item: &Value, op: MsgOp) -> Value {
        let user = item.get("user").cloned().unwrap_or(json!({}));
        let message = item.get("message").cloned().unwrap_or(json!({}));
        let chat = item.get("chat").cloned().unwrap_or(json!({}));
        let uid = sval(user.get("id"));
        let mid = sval(message.get("id"));
        let cid = sval(chat.get("id"));
        let text = sval(message.get("text"));
        let files = as_list(message.get("files")).unwrap_or_default();
        let failed = |e: &str| {
            json!({"user": user, "message": message, "chat": chat, "SUCCESS": false,
                   "ERRORS": [{"code": "ERROR_ARGUMENT", "message": e}]})
        };
        if uid.is_empty() || mid.is_empty() || cid.is_empty() {
            return failed("user.id, message.id and chat.id are required");
        }
        if op == MsgOp::Send && text.is_empty() && files.is_empty() {
            return failed("message.text or message.files is required");
        }
        let key = format!("{c}|{l}|{cid}|{uid}");
        let conv = match op {
            MsgOp::Send => self.conversation(c, l, &cid, &uid, &user, &message, &key),
            _ => match self.conversations.iter().find(|x| x.key == key) {
                Some(x) => x.clone(),
                None => return failed("Conversation not found"),
            },
        };
        let order = if op == MsgOp::Send {
            self.next_order()
        } else {
            0
        };
        match op {
            MsgOp::Send => self.customer.push(CustomerMsg {
                connector: c.into(),
                line: l.into(),
                chat_id: cid.clone(),
                user_id: uid.clone(),
                user_name: sval(user.get("name")),
                user_last_name: sval(user.get("last_name")),
                chat_name: sval(chat.get("name")),
                phone: sval(user.get("phone")),
                text: text.clone(),
                files: files.clone(),
                message_id: mid.clone(),
                date: sval(message.get("date")),
                b24_chat_id: conv.b24_chat_id.clone(),
                session_id: conv.session_id.clone(),
                edited: false,
                deleted: false,
                order,
            }),
            MsgOp::Update | MsgOp::Delete => {
                let Some(m) = self.customer.iter_mut().find(|m| {
                    m.connector == c
                        && m.line == l
                        && m.chat_id == cid
                        && m.user_id == uid
                        && m.message_id == mid
                        && !m.deleted
                }) else {
                    return failed("Message not found");
                };
                if op == MsgOp::Update {
                    m.text = text.clone();
                    if !files.is_empty() {
                        m.files = files.clone();
                    }
                    m.edited = true;
                } else {
                    m.deleted = true;
                }
            }
        }
        let mut chat_out = json!({"id": cid});
        if let Value::Object(m) = &mut chat_out {
            if let Some(n) = chat.get("name") {
                m.insert("name".into(), n.clone());
            }
            let url = sval(chat.get("url"));
            if !url.is_empty() {
                m.insert(
                    "description".into(),
                    json!(format!("Link to the original post: {url}")),
                );
            }
        }
        let mut r = json!({
            "user": conv.b24_user_id,
            "message": {"id": mid, "date": {}, "text": text, "files": []},
            "chat": chat_out,
            "SUCCESS": true,
            "session": {"ID": conv.session_id, "CHAT_ID": conv.b24_chat_id}
        });
        let mut extra = Map::new();
        if sval(user.get("skip_phone_validate")).eq_ignore_ascii_case("Y") {
            extra.insert("skip_phone_validate".into(), json!("Y"));
        }
        if sval(message.get("disable_crm")).eq_ignore_ascii_case("Y") {
            extra.insert("disable_tracker".into(), json!("Y"));
        }
        if !extra.is_empty() {
            if let Value::Object(m) = &mut r {
                m.insert("extra".into(), Value::Object(extra));
            }
        }
        r
    }

    pub(super) fn m_status(&mut self, p: &Value, target: &str) -> Result<Value, ApiErr> {
        let c = sval(param(p, "CONNECTOR"));
        let l = sval(param(p, "LINE"));
        if c.is_empty() || l.is_empty() {
            return Err(ApiErr::arg("CONNECTOR and LINE are required"));
        }
        let Some(items) = as_list(param(p, "MESSAGES")) else {
            return Err(ApiErr::arg("MESSAGES must be an array"));
        };
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item = lc_keys(item);
            let im = item.get("im").cloned().unwrap_or(json!({}));
            let chat_id = sval(im.get("chat_id"));
            let msg_id = sval(im.get("message_id"));
            let ids = match item.get("message").and_then(|m| m.get("id")) {
                Some(v @ Value::Array(_)) | Some(v @ Value::Object(_)) => as_list(Some(v)),
                _ => None,
            };
            let Some(ids) = ids.filter(|l| !l.is_empty()) else {
                errors.push(json!(format!(
                    "MESSAGES[{i}][message][id] must be a non-empty array"
                )));
                continue;
            };
            if chat_id.is_empty() || msg_id.is_empty() {
                errors.push(json!(format!(
                    "MESSAGES[{i}][im] must have chat_id and message_id"
                )));
                continue;
            }
            let Some(m) = self
                .operator
                .iter_mut()
                .find(|m| m.im_message_id == msg_id && m.im_chat_id == chat_id)
            else {
                continue;
            };
            for id in ids {
                let id = sval(Some(&id));
                if !id.is_empty() && !m.external_ids.contains(&id) {
                    m.external_ids.push(id);
                }
            }
            let rank = |s: &str| match s {
                "sending" => 0,
                "delivered" => 1,
                _ => 2,
            };
            if rank(target) > rank(&m.state) {
                m.state = target.to_string();
                m.history.push(target.to_string());
            }
        }
        if errors.is_empty() {
            Ok(json!({"SUCCESS": true, "DATA": []}))
        } else {
            Ok(json!({"SUCCESS": false, "DATA": [], "ERRORS": errors}))
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum MsgOp {
    Send,
    Update,
    Delete,
}
