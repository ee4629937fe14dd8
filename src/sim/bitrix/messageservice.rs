//! The message service (bitrix24-crm.md §1): providers an app registers (`messageservice.sender.*`),
//! a user sending an SMS from a CRM card or a robot (the form POSTed to the provider's HANDLER,
//! once, never retried), and the five statuses the provider may report back.

use super::params::{nonempty, param, php_form_pairs, sval};
use super::*;
use crate::sim::{random_hex, unix_now};

/// A message a CRM user or a robot sent through one of our providers.
#[derive(Clone, Debug)]
pub struct SmsMessage {
    /// Bitrix24's id (32 hex), the key of status updates.
    pub message_id: String,
    pub code: String,
    pub to: String,
    pub text: String,
    /// Statuses the provider reported, in order.
    pub statuses: Vec<String>,
}

/// The statuses `messageservice.message.status.update` accepts (there is no `read`).
const STATUSES: [&str; 5] = ["queued", "sent", "delivered", "undelivered", "failed"];

fn name_given(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(m)) => m
            .values()
            .any(|v| v.as_str().is_some_and(|s| !s.is_empty())),
        _ => false,
    }
}

impl BitrixState {
    /// `user.get {ID}`: the portal's operator (the user who sends from CRM cards here), or no one.
    pub(super) fn m_user_get(&self, p: &Value) -> Value {
        if sval(param(p, "ID")) != self.cfg.operator_user_id {
            return json!([]);
        }
        let (name, last) = self
            .cfg
            .operator_name
            .split_once(' ')
            .unwrap_or((self.cfg.operator_name.as_str(), ""));
        json!([{"ID": self.cfg.operator_user_id, "NAME": name, "LAST_NAME": last}])
    }

    pub(super) fn m_sender_add(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let code = sval(param(p, "CODE"));
        let fail = |d: &str| ApiErr::new(400, "ERROR_SENDER_VALIDATION_FAILURE", d);
        if code.is_empty() {
            return Err(fail("Empty sender code!"));
        }
        if !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(fail("Wrong sender code!"));
        }
        if !name_given(param(p, "NAME")) {
            return Err(fail("Empty sender NAME!"));
        }
        if sval(param(p, "TYPE")) != "SMS" {
            return Err(fail("Unknown sender message TYPE!"));
        }
        if self.providers.contains_key(&code) {
            return Err(ApiErr::new(
                400,
                "ERROR_SENDER_ALREADY_INSTALLED",
                "Sender already installed!",
            ));
        }
        let provider = json!({
            "HANDLER": sval(param(p, "HANDLER")),
            "NAME": param(p, "NAME").cloned().unwrap_or(Value::Null),
            "DESCRIPTION": param(p, "DESCRIPTION").cloned().unwrap_or(Value::Null),
        });
        self.providers.insert(code, provider);
        Ok(json!(true))
    }

    pub(super) fn m_sender_update(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let code = nonempty(p, "CODE").ok_or_else(|| {
            ApiErr::new(400, "ERROR_SENDER_CODE_REQUIRED", "Sender code required!")
        })?;
        let Some(provider) = self.providers.get_mut(&code) else {
            return Err(ApiErr::new(
                400,
                "ERROR_SENDER_NOT_FOUND",
                "Sender not found!",
            ));
        };
        let mut changed = false;
        for key in ["HANDLER", "NAME", "DESCRIPTION"] {
            if let Some(v) = param(p, key) {
                provider[key] = v.clone();
                changed = true;
            }
        }
        if !changed {
            return Err(ApiErr::new(
                400,
                "ERROR_SENDER_OTHER_PARAMS_REQUIRED",
                "Other params required!",
            ));
        }
        Ok(json!(true))
    }

    pub(super) fn m_sender_delete(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let code = sval(param(p, "CODE"));
        match self.providers.remove(&code) {
            Some(_) => Ok(json!(true)),
            None => Err(ApiErr::new(
                400,
                "ERROR_SENDER_NOT_FOUND",
                "Sender not found!",
            )),
        }
    }

    pub(super) fn m_sender_list(&self) -> Result<Value, ApiErr> {
        Ok(Value::Array(
            self.providers.keys().map(|c| json!(c)).collect(),
        ))
    }

    pub(super) fn m_sms_status(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let status = sval(param(p, "STATUS"));
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiErr::new(
                400,
                "ERROR_MESSAGE_STATUS_INCORRECT",
                "Incorrect message status",
            ));
        }
        let id = sval(param(p, "MESSAGE_ID"));
        let Some(m) = self.sms.iter_mut().find(|m| m.message_id == id) else {
            return Err(ApiErr::new(
                400,
                "ERROR_MESSAGE_NOT_FOUND",
                "Message not found",
            ));
        };
        m.statuses.push(status);
        Ok(json!(true))
    }
}

impl BitrixSim {
    /// The providers our app registered: (CODE, {HANDLER, NAME, DESCRIPTION}).
    pub fn providers(&self) -> Vec<(String, Value)> {
        self.st()
            .providers
            .iter()
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect()
    }

    /// Messages sent through our providers, with the statuses reported.
    pub fn sms_messages(&self) -> Vec<SmsMessage> {
        self.st().sms.clone()
    }

    /// A user sends `text` to `to` (the phone as typed in the CRM) from a contact's card through
    /// provider `code`: the form goes to its HANDLER once. Returns (our answer, message_id).
    pub async fn send_from_crm(&self, code: &str, to: &str, text: &str) -> (u16, String) {
        let extra =
            json!({"module_id": "crm", "bindings": [{"OWNER_TYPE_ID": 3, "OWNER_ID": 8061}]});
        self.send_sms(code, to, text, extra).await
    }

    /// A "Send SMS" robot on a deal sends `text`: like [`Self::send_from_crm`], from bizproc.
    pub async fn send_from_robot(&self, code: &str, to: &str, text: &str) -> (u16, String) {
        let extra = json!({"module_id": "bizproc", "workflow_id": format!("{}.{}", random_hex(6), random_hex(4)),
            "document_id": ["crm", "CCrmDocumentDeal", "DEAL_8061"],
            "document_type": ["crm", "CCrmDocumentDeal", "DEAL"]});
        self.send_sms(code, to, text, extra).await
    }

    async fn send_sms(&self, code: &str, to: &str, text: &str, extra: Value) -> (u16, String) {
        let (handler, form, message_id) = {
            let mut st = self.st();
            let handler = st
                .providers
                .get(code)
                .map(|p| sval(p.get("HANDLER")))
                .unwrap_or_else(|| panic!("bitrix sim: no provider {code}"));
            let message_id = random_hex(16);
            st.sms.push(SmsMessage {
                message_id: message_id.clone(),
                code: code.into(),
                to: to.into(),
                text: text.into(),
                statuses: Vec::new(),
            });
            let mut data = json!({
                "type": "SMS", "code": code, "message_id": message_id, "message_to": to,
                "message_body": text, "ts": unix_now(),
                "properties": {"phone_number": to, "message_text": text},
            });
            if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
                d.extend(e);
            }
            let mut form = Vec::new();
            if let Value::Object(d) = &data {
                for (k, v) in d {
                    php_form_pairs(k, v, &mut form);
                }
            }
            // The event auth block, without a refresh token (bitrix24-crm.md §1).
            let auth = st.event_auth(true, &st.app_token.clone());
            php_form_pairs("auth", &auth, &mut form);
            (handler, form, message_id)
        };
        let status = self.deliver(vec![(handler, form)]).await;
        (status, message_id)
    }
}
