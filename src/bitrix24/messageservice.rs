//! The message-service provider (bitrix24-crm.md §1): what we register per number so that CRM
//! cards and "Send SMS" robots can send through it, the form Bitrix24 POSTs to our HANDLER when a
//! user or a robot sends, and the statuses we may report back.

use serde_json::{json, Value};

use super::form::{list, str_at};
use crate::{i18n::Lang, tr};

/// Our provider CODEs: `b24wa_<number id>` (stable across renames, so statuses of messages in
/// flight keep their provider).
const CODE_PREFIX: &str = "b24wa_";

pub fn provider_code(number_id: i64) -> String {
    format!("{CODE_PREFIX}{number_id}")
}

/// The number a provider CODE stands for.
pub fn number_of(code: &str) -> Option<i64> {
    code.strip_prefix(CODE_PREFIX)?.parse().ok()
}

/// The `messageservice.sender.add` / `update` parameters: NAME and DESCRIPTION as maps over
/// every language the catalogues hold (Bitrix24 picks the user's language, then its fallback).
pub fn sender_params(code: &str, handler: &str, phone: &str) -> Value {
    let map = |key: &str| -> serde_json::Map<String, Value> {
        Lang::all()
            .into_iter()
            .map(|l| {
                let text = match key {
                    "NAME" => tr!(l, "b24-provider-name", phone = phone),
                    _ => tr!(l, "b24-provider-description", phone = phone),
                };
                (l.code().to_string(), Value::String(text))
            })
            .collect()
    };
    json!({
        "CODE": code,
        "TYPE": "SMS",
        "HANDLER": handler,
        "NAME": map("NAME"),
        "DESCRIPTION": map("DESCRIPTION"),
    })
}

/// A message a CRM user or a robot sent through one of our providers.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderMessage {
    pub code: String,
    /// Bitrix24's id (32 hex): the key of status updates.
    pub message_id: String,
    /// The phone as stored in the CRM, not normalised.
    pub to: String,
    pub text: String,
    pub member_id: String,
    pub application_token: String,
    /// Who sent it (a robot's: the entity's responsible user), when the form says.
    pub user_id: Option<String>,
    /// `crm` (a card) or `bizproc` (a robot or workflow).
    pub module: String,
    /// The CRM entities it was sent from: (OWNER_TYPE_ID, OWNER_ID).
    pub bindings: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProviderError {
    #[error("missing {0}")]
    Missing(&'static str),
}

/// Decodes the handler's form (already parsed by `form::parse`).
pub fn decode(v: &Value) -> Result<ProviderMessage, ProviderError> {
    let req = |path: &[&str], name| str_at(v, path).ok_or(ProviderError::Missing(name));
    let to = str_at(v, &["message_to"])
        .or_else(|| str_at(v, &["properties", "phone_number"]))
        .ok_or(ProviderError::Missing("message_to"))?;
    let text = str_at(v, &["message_body"])
        .or_else(|| str_at(v, &["properties", "message_text"]))
        .unwrap_or("");
    Ok(ProviderMessage {
        code: req(&["code"], "code")?.to_string(),
        message_id: req(&["message_id"], "message_id")?.to_string(),
        to: to.to_string(),
        text: text.to_string(),
        member_id: req(&["auth", "member_id"], "auth[member_id]")?.to_string(),
        application_token: req(&["auth", "application_token"], "auth[application_token]")?
            .to_string(),
        user_id: str_at(v, &["auth", "user_id"]).map(str::to_string),
        module: str_at(v, &["module_id"]).unwrap_or("").to_string(),
        bindings: list(v.get("bindings"))
            .into_iter()
            .map(|b| {
                let s = |k| str_at(b, &[k]).unwrap_or("").to_string();
                (s("OWNER_TYPE_ID"), s("OWNER_ID"))
            })
            .collect(),
    })
}

/// The status we report for a message (`messageservice.message.status.update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsStatus {
    Sent,
    Delivered,
    /// WhatsApp said it cannot reach the customer (or the 24-hour window is closed).
    Undelivered,
    /// It failed before WhatsApp took it.
    Failed,
}

impl SmsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Sent => "sent",
            SmsStatus::Delivered => "delivered",
            SmsStatus::Undelivered => "undelivered",
            SmsStatus::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_numbers() {
        assert_eq!(provider_code(42), "b24wa_42");
        assert_eq!(number_of("b24wa_42"), Some(42));
        assert_eq!(number_of("provider1"), None);
        let p = sender_params("b24wa_1", "https://x/h", "+7 999 123-45-67");
        assert_eq!(p["NAME"]["ru"], "WhatsApp +7 999 123-45-67");
    }

    #[test]
    fn fixture_13_the_handler_form() {
        // Fixture 13 (the docs render the form as JSON; the SOURCE line first) plus the auth block
        // the docs leave out.
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/bitrix24/13-messageservice.handler.post.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        let json = text.split_once('\n').map(|(_, j)| j).unwrap_or(&text);
        let mut v: Value = serde_json::from_str(json).expect("json");
        // Form values are strings.
        v["bindings"][0]["OWNER_TYPE_ID"] = json!("3");
        v["bindings"][0]["OWNER_ID"] = json!("123");
        v["auth"] = json!({"member_id": "m1", "application_token": "t1", "user_id": "5"});
        let m = decode(&v).expect("decodes");
        assert_eq!(m.code, "provider1");
        assert_eq!(m.message_id, "65575980fa531ac284c2ee68f81ebebd");
        assert_eq!(m.to, "+19990000000");
        assert_eq!(m.text, "Your confirmation code: 1234");
        assert_eq!(m.module, "crm");
        assert_eq!(m.bindings, vec![("3".into(), "123".into())]);
        assert_eq!(m.user_id.as_deref(), Some("5"));
        v.as_object_mut().map(|o| o.remove("auth"));
        assert_eq!(decode(&v), Err(ProviderError::Missing("auth[member_id]")));
    }
}
