//! Message templates of a WhatsApp Business Account (whatsapp-templates.md §2): the list, page by
//! page, and the `message_template_status_update` webhook that changes one.

use secrecy::SecretString;
use serde_json::Value;

use super::client::{CloudClient, GraphError};

/// One template as Meta lists it. (name, language) identifies it within an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    /// `APPROVED` is the only sendable one; unknown values are kept as they came.
    pub status: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION` (older ones: `TRANSACTIONAL`, …): any string.
    pub category: String,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`); absent in old answers: positional.
    pub parameter_format: String,
    /// The `components` array, unchanged.
    pub components: Value,
}

/// A template's new status, from a `message_template_status_update` webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The account (`entry[].id`): the webhook names no phone number.
    pub waba_id: String,
    pub template_id: String,
    pub name: String,
    pub language: String,
    /// The new status (`event`: `APPROVED`, `REJECTED`, `PAUSED`, …).
    pub status: String,
    /// Meta's reason, `None` for "NONE" or null.
    pub reason: Option<String>,
}

/// Pages read at most per listing (an account has at most a few thousand templates).
const MAX_PAGES: usize = 50;
const PAGE_SIZE: u32 = 100;
const FIELDS: &str = "name,status,language,category,components,id,parameter_format";

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The templates of one page of `GET /{waba_id}/message_templates`, and the cursor of the next
/// page when there is one (`paging.next` present).
pub fn parse_page(v: &Value) -> Result<(Vec<Template>, Option<String>), GraphError> {
    let data = v["data"]
        .as_array()
        .ok_or_else(|| GraphError::Decode("message_templates: no data array".into()))?;
    let templates = data
        .iter()
        .filter(|t| !text(t, "name").is_empty())
        .map(|t| Template {
            id: text(t, "id"),
            name: text(t, "name"),
            language: text(t, "language"),
            status: text(t, "status"),
            category: text(t, "category"),
            parameter_format: match text(t, "parameter_format") {
                f if f.is_empty() => "POSITIONAL".to_string(),
                f => f,
            },
            components: t
                .get("components")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        })
        .collect();
    let next = v["paging"]["next"]
        .as_str()
        .and_then(|_| v["paging"]["cursors"]["after"].as_str())
        .map(str::to_string);
    Ok((templates, next))
}

/// The template status changes in a webhook body (none when it carries other fields).
pub fn status_updates(body: &Value) -> Vec<StatusUpdate> {
    let mut out = Vec::new();
    for entry in body["entry"].as_array().into_iter().flatten() {
        let waba_id = text(entry, "id");
        for change in entry["changes"].as_array().into_iter().flatten() {
            if change["field"] != "message_template_status_update" {
                continue;
            }
            let v = &change["value"];
            let reason = v["reason"]
                .as_str()
                .filter(|r| !r.is_empty() && *r != "NONE")
                .map(str::to_string);
            out.push(StatusUpdate {
                waba_id: waba_id.clone(),
                template_id: text(v, "message_template_id"),
                name: text(v, "message_template_name"),
                language: text(v, "message_template_language"),
                status: text(v, "event"),
                reason,
            });
        }
    }
    out
}

impl CloudClient {
    /// Every template of account `waba_id`, following the pages (our own URL with the `after`
    /// cursor: `paging.next` is a full URL, and we call only the base URL we were given).
    pub async fn list_templates(
        &self,
        waba_id: &str,
        token: &SecretString,
    ) -> Result<Vec<Template>, GraphError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = format!("{waba_id}/message_templates?fields={FIELDS}&limit={PAGE_SIZE}");
            if let Some(cursor) = &after {
                path.push_str("&after=");
                path.extend(url::form_urlencoded::byte_serialize(cursor.as_bytes()));
            }
            let (page, next) = parse_page(&self.get(token, &path).await?)?;
            all.extend(page);
            match next {
                Some(cursor) if Some(&cursor) != after.as_ref() => after = Some(cursor),
                _ => return Ok(all),
            }
        }
        Err(GraphError::Decode(format!(
            "message_templates: more than {MAX_PAGES} pages"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let bytes = crate::whatsapp::fixture(name);
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn fixture_21_lists_templates_and_its_last_page_has_no_next() {
        let (templates, next) =
            parse_page(&fixture("21-meta-templates-list-response.json")).expect("parses");
        assert_eq!(next, None, "no paging.next: the last page");
        let t = templates
            .iter()
            .find(|t| t.name == "schedule_confirmation5")
            .expect("listed");
        assert_eq!(
            (t.language.as_str(), t.status.as_str(), t.category.as_str()),
            ("pt_BR", "APPROVED", "TRANSACTIONAL")
        );
        assert_eq!(t.id, "1145489599421404");
        assert_eq!(t.parameter_format, "POSITIONAL");
        assert!(t.components.as_array().is_some_and(|c| c.len() >= 3));
        assert!(templates.iter().any(|t| t.status == "REJECTED"));
    }

    #[test]
    fn a_next_page_is_named_by_its_cursor() {
        let page = serde_json::json!({"data": [], "paging": {"cursors": {"before": "A", "after": "B"}, "next": "https://graph.facebook.com/v21.0/1/message_templates?after=B"}});
        assert_eq!(parse_page(&page).expect("parses").1.as_deref(), Some("B"));
        assert!(parse_page(&serde_json::json!({"error": {}})).is_err());
    }

    #[test]
    fn fixture_28_is_a_status_update_of_the_account() {
        let updates = status_updates(&fixture("28-meta-webhook-template-status-update.json"));
        assert_eq!(
            updates,
            vec![StatusUpdate {
                waba_id: "102290129340398".into(),
                template_id: "1689556908129832".into(),
                name: "order_confirmation".into(),
                language: "en_US".into(),
                status: "APPROVED".into(),
                reason: None,
            }]
        );
        // A message webhook carries none.
        assert!(status_updates(&fixture("01-meta-webhook-incoming-text.json")).is_empty());
    }
}
