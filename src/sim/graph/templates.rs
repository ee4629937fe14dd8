//! Message templates (whatsapp-templates.md §2–3): `GET /{version}/{waba_id}/message_templates`
//! page by page, the checks a `type: template` send goes through (132000/132001/132015/132016),
//! and the `message_template_status_update` webhook. The sim has one account (`cfg.waba_id`).

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::replies::{bearer, gerr, respond, token_err, Reply};
use super::{lock, Data, GraphSim, GraphState};

/// Page size when the request names none (Meta's default is not documented; small on purpose,
/// so that paging is exercised).
const DEFAULT_LIMIT: usize = 25;

/// The distinct `{{…}}` placeholders of a component's text.
fn placeholders(text: &str) -> usize {
    let mut seen = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        seen.insert(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    seen.len()
}

pub(super) async fn list_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<std::collections::HashMap<String, String>>,
    data: Data,
) -> HttpResponse {
    let (version, waba) = path.into_inner();
    let rpath = req.path().to_string();
    let token = bearer(&req);
    let mut st = lock(&data);
    let reply = list(&st, &version, &waba, token.as_deref(), &query);
    st.record("GET", &rpath, None, Value::Null, reply.0);
    drop(st);
    respond(reply)
}

fn list(
    st: &GraphState,
    version: &str,
    waba: &str,
    token: Option<&str>,
    query: &std::collections::HashMap<String, String>,
) -> Reply {
    if !token.is_some_and(|t| st.numbers.values().any(|n| n.access_token == t)) {
        return token_err();
    }
    if waba != st.cfg.waba_id {
        return gerr(
            400,
            100,
            "GraphMethodException",
            &format!("Unsupported get request. Object with ID '{waba}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            Some(33),
        );
    }
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    // Cursors are opaque to clients: here the index of the page's first item, in base 36.
    let start = match query.get("after") {
        Some(c) => match usize::from_str_radix(c, 36) {
            Ok(i) => i,
            Err(_) => return gerr(400, 100, "OAuthException", "Invalid cursor", None),
        },
        None => 0,
    };
    let all = &st.templates;
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let cursor = |i: usize| radix36(i);
    let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
    if end < all.len() {
        paging["next"] = json!(format!(
            "{}/{version}/{waba}/message_templates?limit={limit}&after={}",
            st.base,
            cursor(end)
        ));
    }
    (200, json!({"data": page, "paging": paging}))
}

fn radix36(mut i: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[i % 36]);
        i /= 36;
        if i == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The checks a template send goes through (§3, "Simulator rules"); `None` when it is accepted.
pub(super) fn check_send(st: &GraphState, template: &Value) -> Option<Reply> {
    let name = template["name"].as_str().unwrap_or("");
    let Some(language) = template["language"]["code"].as_str() else {
        return Some(gerr(
            400,
            100,
            "OAuthException",
            "(#100) The parameter template['language']['code'] is required.",
            None,
        ));
    };
    let error = |code: u32, title: &str| {
        Some(gerr(
            400,
            code,
            "OAuthException",
            &format!("(#{code}) {title}"),
            None,
        ))
    };
    let found = st
        .templates
        .iter()
        .find(|t| t["name"] == name && t["language"] == language);
    let Some(t) = found else {
        return error(132001, "Template name does not exist in the translation");
    };
    match t["status"].as_str().unwrap_or("") {
        "APPROVED" => {}
        "PAUSED" => return error(132015, "Template is Paused"),
        "DISABLED" => return error(132016, "Template is Disabled"),
        _ => return error(132001, "Template name does not exist in the translation"),
    }
    // Parameters per component type: the body's and the text header's must match their
    // placeholders.
    let sent = template["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for kind in ["HEADER", "BODY"] {
        let Some(component) = t["components"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind)
        else {
            continue;
        };
        let expected = match (kind, component["format"].as_str()) {
            ("HEADER", Some("TEXT")) | ("BODY", _) => {
                placeholders(component["text"].as_str().unwrap_or(""))
            }
            // A media header takes one media parameter of its kind.
            ("HEADER", Some(_)) => 1,
            _ => 0,
        };
        let given: Vec<Value> = sent
            .iter()
            .filter(|c| c["type"].as_str() == Some(&kind.to_lowercase()))
            .flat_map(|c| c["parameters"].as_array().cloned().unwrap_or_default())
            .collect();
        if given.len() != expected {
            return error(
                132000,
                "Number of parameters does not match the expected number of params",
            );
        }
        if let ("HEADER", Some(format)) = (kind, component["format"].as_str()) {
            let want = format.to_lowercase();
            if given
                .iter()
                .any(|p| p["type"].as_str() != Some(want.as_str()))
            {
                return error(
                    132012,
                    "Parameter format does not match format in the created template",
                );
            }
        }
    }
    None
}

/// The text a template send shows once filled in (header and body), for the sim's record.
pub(super) fn rendered(st: &GraphState, template: &Value) -> String {
    let name = template["name"].as_str().unwrap_or("");
    let language = template["language"]["code"].as_str().unwrap_or("");
    let Some(t) = st
        .templates
        .iter()
        .find(|t| t["name"] == name && t["language"] == language)
    else {
        return String::new();
    };
    let sent = template["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut parts = Vec::new();
    for c in t["components"].as_array().into_iter().flatten() {
        let kind = c["type"].as_str().unwrap_or("").to_lowercase();
        let Some(text) = c["text"].as_str() else {
            continue;
        };
        let params: Vec<String> = sent
            .iter()
            .filter(|s| s["type"].as_str() == Some(kind.as_str()))
            .flat_map(|s| s["parameters"].as_array().cloned().unwrap_or_default())
            .map(|p| p["text"].as_str().unwrap_or("").to_string())
            .collect();
        let mut out = text.to_string();
        for (i, p) in params.iter().enumerate() {
            out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
        }
        parts.push(out);
    }
    parts.join("\n")
}

impl GraphSim {
    /// Adds a template to the sim's account (Meta's template object: name, language, status,
    /// category, components, id); an id is made up when it has none.
    pub fn add_template(&self, mut template: Value) {
        let mut st = self.st();
        if template.get("id").is_none() {
            st.seq += 1;
            template["id"] = json!(format!("{}", 1_000_000_000_000u64 + st.seq));
        }
        st.templates.push(template);
    }

    /// Changes a template's status in the account (what Meta's review or quality rating does).
    pub fn set_template_status(&self, name: &str, language: &str, status: &str) {
        let mut st = self.st();
        for t in st.templates.iter_mut() {
            if t["name"] == name && t["language"] == language {
                t["status"] = json!(status);
            }
        }
    }

    /// Replaces a template's components in the account (an edit made in WhatsApp Manager that
    /// a connector has not synced yet).
    pub fn set_template_components(&self, name: &str, language: &str, components: Value) {
        let mut st = self.st();
        for t in st.templates.iter_mut() {
            if t["name"] == name && t["language"] == language {
                t["components"] = components.clone();
            }
        }
    }

    /// The template's id in the account.
    pub fn template_id(&self, name: &str, language: &str) -> Option<String> {
        let st = self.st();
        st.templates
            .iter()
            .find(|t| t["name"] == name && t["language"] == language)
            .and_then(|t| t["id"].as_str().map(str::to_string))
    }

    /// Sets a template's status and POSTs the `message_template_status_update` webhook
    /// (fixture 28 shape), signed with `phone_number_id`'s app secret (the app's, on Meta).
    pub async fn push_template_status(
        &self,
        phone_number_id: &str,
        name: &str,
        language: &str,
        status: &str,
        reason: &str,
    ) -> u16 {
        self.set_template_status(name, language, status);
        let (waba, id, category) = {
            let st = self.st();
            let t = st
                .templates
                .iter()
                .find(|t| t["name"] == name && t["language"] == language)
                .cloned()
                .unwrap_or(Value::Null);
            (
                st.cfg.waba_id.clone(),
                t["id"].as_str().and_then(|i| i.parse::<u64>().ok()),
                t["category"].clone(),
            )
        };
        let body = json!({
            "entry": [{"id": waba, "time": crate::sim::unix_now(), "changes": [{
                "value": {"event": status, "message_template_id": id,
                          "message_template_name": name, "message_template_language": language,
                          "reason": reason, "message_template_category": category},
                "field": "message_template_status_update"}]}],
            "object": "whatsapp_business_account"
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        self.post_signed(phone_number_id, bytes).await
    }

    /// The sim's account id.
    pub fn waba_id(&self) -> String {
        self.st().cfg.waba_id.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_counted_once_each() {
        assert_eq!(super::placeholders("Hi {{1}}, {{2}} and {{1}}"), 2);
        assert_eq!(super::placeholders("Hi {{first_name}}"), 1);
        assert_eq!(super::placeholders("no variables"), 0);
        assert_eq!(super::radix36(0), "0");
        assert_eq!(super::radix36(36), "10");
    }
}
