//! The sandbox's second number: a WhatsApp Cloud API one (on the simulated Graph API), where the
//! 24-hour window applies and templates go when it is closed. Its example templates, what its
//! phone shows, and the window's clock: the sandbox cannot wait a day, so "25 hours later" moves
//! the customer's last message back 25 hours where both sides keep it (b24wa's chat row and the
//! simulated WhatsApp's record) and the page draws everything before that moment as that much older.

use serde::Serialize;
use serde_json::{json, Value};

use super::view::{hops, oldest_first, with_attempt, PhoneMessage, TraceEntry};
use crate::{
    i18n::Lang,
    relay::window::{self, Window},
    sim::{GraphCall, SentMsg, WebhookDelivery},
    tr,
};

/// The Cloud API number's phone_number_id on the simulated Graph API.
pub const PNID: &str = "106540352242922";
/// Its display number.
pub const PHONE: &str = "15550102030";
/// The Open Line it is connected to (the gateway number has line 1).
pub const LINE: &str = "2";
/// How old "Make the customer's last message 25 hours old" makes it.
pub const AGE_MS: i64 = 25 * 3600 * 1000;

/// The example templates of the simulated WhatsApp Business Account.
pub fn templates() -> Vec<Value> {
    let quick = |labels: &[&str]| {
        json!({"type": "BUTTONS", "buttons": labels.iter()
            .map(|l| json!({"type": "QUICK_REPLY", "text": l})).collect::<Vec<_>>()})
    };
    vec![
        json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "parameter_format": "POSITIONAL",
            "components": [
                {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way.",
                 "example": {"body_text": [["Maria", "A-42"]]}},
                {"type": "FOOTER", "text": "Reply here if you have a question"},
                quick(&["Thanks!", "Change the address"]),
            ]
        }),
        json!({
            "name": "feedback_request", "language": "en_US", "status": "APPROVED",
            "category": "MARKETING", "parameter_format": "POSITIONAL",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "How did we do?"},
                {"type": "BODY", "text": "Hi {{1}}, did your order arrive as expected?",
                 "example": {"body_text": [["Maria"]]}},
                quick(&["Yes, all good", "Not really"]),
            ]
        }),
        json!({
            "name": "spring_sale", "language": "en_US", "status": "PENDING",
            "category": "MARKETING", "parameter_format": "POSITIONAL",
            "components": [
                {"type": "BODY", "text": "Spring sale: 20% off everything until Sunday, {{1}}!",
                 "example": {"body_text": [["Maria"]]}},
            ]
        }),
    ]
}

/// The quick-reply labels of template `name` (`language`).
pub fn quick_replies(name: &str, language: &str) -> Vec<String> {
    templates()
        .iter()
        .filter(|t| t["name"] == name && t["language"] == language)
        .flat_map(|t| t["components"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["type"] == "BUTTONS")
        .flat_map(|c| c["buttons"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "QUICK_REPLY")
        .filter_map(|b| b["text"].as_str().map(str::to_string))
        .collect()
}

/// A template as the page lists it (what b24wa synced from the account).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateView {
    pub name: String,
    pub language: String,
    pub status: String,
    pub body: String,
    /// The `/template …` line an operator could type, filled with the template's examples.
    pub command: String,
}

/// The page's view of a synced template row.
pub fn template_view(t: &entity::templates::Model) -> TemplateView {
    let components: Value = serde_json::from_str(&t.components).unwrap_or(Value::Null);
    let of = |kind: &str| {
        components
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let body = of("BODY");
    let examples: Vec<String> = body["example"]["body_text"][0]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut command = format!("/template {}", t.name);
    if !examples.is_empty() {
        command = format!("{command} {}", examples.join(" | "));
    }
    TemplateView {
        name: t.name.clone(),
        language: t.language.clone(),
        status: t.status.clone(),
        body: body["text"].as_str().unwrap_or("").to_string(),
        command,
    }
}

/// A chat's window as the page shows it (the shape of `GET /api/v1/chats`' `window`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowView {
    /// `open`, `closed`, or `none` before the customer wrote.
    pub state: &'static str,
    pub open_until: Option<i64>,
    pub closed_since: Option<i64>,
}

pub fn window_view(last_inbound_at: Option<i64>, closed_at: Option<i64>, now: i64) -> WindowView {
    match window::at(last_inbound_at, closed_at, now) {
        Window::Open { until } => WindowView {
            state: "open",
            open_until: Some(until),
            closed_since: None,
        },
        Window::Closed { since: None } => WindowView {
            state: "none",
            open_until: None,
            closed_since: None,
        },
        Window::Closed { since } => WindowView {
            state: "closed",
            open_until: None,
            closed_since: since,
        },
    }
}

/// "25 hours later" pressed at `at_ms`: everything before it is drawn `shift_ms` older.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeSkip {
    pub at_ms: i64,
    pub shift_ms: i64,
}

/// When something that happened at `at_ms` is drawn, after the time skips.
pub fn shown_at(at_ms: i64, skips: &[TimeSkip]) -> i64 {
    at_ms
        - skips
            .iter()
            .filter(|s| s.at_ms > at_ms)
            .map(|s| s.shift_ms)
            .sum::<i64>()
}

/// The customer's messages in inbound webhooks to number `pnid` (from `customer`), each with our
/// answer: (message object, when delivered, status).
fn customer_messages<'a>(
    pnid: &str,
    customer: &str,
    deliveries: &'a [WebhookDelivery],
) -> Vec<(&'a Value, i64, u16)> {
    let mut out = Vec::new();
    for d in deliveries.iter().filter(|d| d.kind == "inbound") {
        for change in d.body["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        {
            let value = &change["value"];
            if value["metadata"]["phone_number_id"] != pnid {
                continue;
            }
            for m in value["messages"].as_array().into_iter().flatten() {
                if m["from"] == customer {
                    out.push((m, d.at_ms, d.status));
                }
            }
        }
    }
    out
}

/// Every message between `customer` and Cloud number `pnid` on the customer's phone, oldest
/// first: their own (ticks: our webhook took it, we marked it read) and the business's (ticks
/// from the statuses the phone reported; a template with its quick-reply buttons).
pub fn phone_messages(
    pnid: &str,
    customer: &str,
    deliveries: &[WebhookDelivery],
    sent: &[SentMsg],
    reads: &[(String, String)],
    skips: &[TimeSkip],
) -> Vec<PhoneMessage> {
    let mine = customer_messages(pnid, customer, deliveries);
    let read_ids: Vec<&str> = reads
        .iter()
        .filter(|(p, _)| p == pnid)
        .map(|(_, id)| id.as_str())
        .collect();
    // A read receipt covers its message and every earlier one.
    let last_read = mine
        .iter()
        .rposition(|(m, _, _)| m["id"].as_str().is_some_and(|id| read_ids.contains(&id)));
    let mut out = Vec::new();
    for (i, (m, at_ms, status)) in mine.iter().enumerate() {
        let (kind, text) = match m["type"].as_str().unwrap_or("") {
            "text" => ("text", m["text"]["body"].as_str().unwrap_or("")),
            "button" => ("button", m["button"]["text"].as_str().unwrap_or("")),
            _ => continue,
        };
        let id = m["id"].as_str().unwrap_or("").to_string();
        let read = last_read.is_some_and(|r| i <= r);
        let at_ms = shown_at(*at_ms, skips);
        let message = PhoneMessage::customer(id, kind, text.into(), read, *status == 200, at_ms);
        out.push(message);
    }
    for m in sent
        .iter()
        .filter(|m| m.phone_number_id == pnid && digits(&m.to) == customer)
    {
        let statuses: Vec<String> = deliveries
            .iter()
            .filter(|d| d.kind == "status" && d.status == 200)
            .filter(|d| d.wamid.as_deref() == Some(&m.wamid))
            .filter_map(|d| d.status_name.clone())
            .collect();
        let buttons = if m.kind == "template" {
            let t = &m.json["template"];
            quick_replies(
                t["name"].as_str().unwrap_or(""),
                t["language"]["code"].as_str().unwrap_or(""),
            )
        } else {
            Vec::new()
        };
        let (id, text, at_ms) = (m.wamid.clone(), m.text.clone(), shown_at(m.at_ms, skips));
        out.push(PhoneMessage {
            buttons,
            ..PhoneMessage::business(id, &m.kind, text, &statuses, at_ms)
        });
    }
    oldest_first(out)
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Hops between WhatsApp and b24wa for Cloud number `pnid`, for the trace.
pub fn whatsapp_hops(
    lang: Lang,
    pnid: &str,
    deliveries: &[WebhookDelivery],
    calls: &[GraphCall],
) -> Vec<TraceEntry> {
    let mut out = hops(
        "whatsapp→b24wa",
        deliveries,
        |d| (d.at_ms, d.status),
        |d| {
            let value = &d.body["entry"][0]["changes"][0]["value"];
            if value["metadata"]["phone_number_id"] != pnid {
                return None;
            }
            let text = match (d.kind.as_str(), value["messages"][0]["type"].as_str()) {
                ("inbound", Some("button")) => tr!(lang, "sandbox-trace-customer-button"),
                ("inbound", Some(_)) => tr!(lang, "sandbox-trace-customer-message"),
                ("status", _) => match d.status_name.as_deref() {
                    Some("failed") => tr!(lang, "sandbox-trace-failed"),
                    Some(status) => tr!(lang, "sandbox-trace-receipt", status = status),
                    None => tr!(lang, "sandbox-trace-receipt-any"),
                },
                _ => return None,
            };
            Some(with_attempt(lang, text, d.attempt))
        },
    );
    out.extend(hops(
        "b24wa→whatsapp",
        calls,
        |c| (c.at_ms, c.status),
        |c| {
            Some(if c.path.ends_with("/message_templates") {
                tr!(lang, "sandbox-trace-cloud-templates")
            } else if c.phone_number_id.as_deref() != Some(pnid) || !c.path.ends_with("/messages") {
                return None;
            } else if c.body.get("status").is_some() {
                tr!(lang, "sandbox-trace-cloud-read")
            } else {
                match c.body["type"].as_str().unwrap_or("text") {
                    "template" => tr!(
                        lang,
                        "sandbox-trace-cloud-template",
                        name = c.body["template"]["name"].as_str().unwrap_or("")
                    ),
                    "text" => tr!(lang, "sandbox-trace-cloud-text"),
                    kind => tr!(lang, "sandbox-trace-cloud-media", kind = kind),
                }
            })
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(kind: &str, body: Value, status: u16, at_ms: i64) -> WebhookDelivery {
        WebhookDelivery {
            url: "http://x".into(),
            kind: kind.into(),
            body,
            status,
            attempt: 1,
            wamid: None,
            status_name: None,
            at_ms,
        }
    }

    fn inbound(id: &str, message: Value, at_ms: i64) -> WebhookDelivery {
        let mut m = message;
        m["id"] = json!(id);
        m["from"] = json!("7900");
        delivery(
            "inbound",
            json!({"entry": [{"changes": [{"value": {
                "metadata": {"phone_number_id": PNID}, "messages": [m]}}]}]}),
            200,
            at_ms,
        )
    }

    fn sent(wamid: &str, kind: &str, json: Value, at_ms: i64) -> SentMsg {
        SentMsg {
            phone_number_id: PNID.into(),
            to: "+7900".into(),
            kind: kind.into(),
            text: "Hello Maria, your order A-42 is on its way.".into(),
            wamid: wamid.into(),
            reply_to: None,
            json,
            outside_window: false,
            at_ms,
        }
    }

    #[test]
    fn the_phone_shows_both_sides_with_ticks_buttons_and_taps() {
        let mut status = delivery("status", json!({}), 200, 40);
        status.wamid = Some("wamid.T".into());
        status.status_name = Some("delivered".into());
        let deliveries = vec![
            inbound("A", json!({"type": "text", "text": {"body": "Hi"}}), 10),
            inbound("B", json!({"type": "text", "text": {"body": "Hello?"}}), 20),
            status,
            inbound(
                "C",
                json!({"type": "button", "button": {"text": "Thanks!", "payload": "Thanks!"}}),
                50,
            ),
        ];
        let template = json!({"template": {"name": "order_update", "language": {"code": "en_US"}}});
        let sent = vec![sent("wamid.T", "template", template, 30)];
        // Read up to A only.
        let reads = vec![(PNID.to_string(), "A".to_string())];
        let view = phone_messages(PNID, "7900", &deliveries, &sent, &reads, &[]);
        let shape: Vec<_> = view
            .iter()
            .map(|m| (m.id.as_str(), m.kind.as_str(), m.ticks))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("A", "text", Some("read")),
                ("B", "text", Some("delivered")),
                ("wamid.T", "template", Some("delivered")),
                ("C", "button", Some("delivered")),
            ]
        );
        assert_eq!(view[2].buttons, vec!["Thanks!", "Change the address"]);
        assert_eq!(view[3].text, "Thanks!");
        // Another number's messages are not on this phone.
        assert!(phone_messages("999", "7900", &deliveries, &sent, &reads, &[]).is_empty());
    }

    #[test]
    fn a_time_skip_draws_what_came_before_it_older() {
        let skips = [TimeSkip {
            at_ms: 100,
            shift_ms: AGE_MS,
        }];
        assert_eq!(shown_at(50, &skips), 50 - AGE_MS);
        assert_eq!(shown_at(150, &skips), 150);
    }

    #[test]
    fn the_window_reads_like_the_admin_api_and_none_before_the_customer_wrote() {
        let h = 3600 * 1000;
        assert_eq!(window_view(None, None, 10).state, "none");
        let open = window_view(Some(0), None, h);
        assert_eq!((open.state, open.open_until), ("open", Some(24 * h)));
        let closed = window_view(Some(0), None, 25 * h);
        assert_eq!(
            (closed.state, closed.closed_since),
            ("closed", Some(24 * h))
        );
    }

    #[test]
    fn the_templates_have_quick_replies_and_example_commands() {
        assert_eq!(
            quick_replies("order_update", "en_US"),
            vec!["Thanks!", "Change the address"]
        );
        assert!(quick_replies("spring_sale", "en_US").is_empty());
        let t = &templates()[0];
        let row = entity::templates::Model {
            id: 1,
            number_id: 1,
            template_id: "1".into(),
            name: "order_update".into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            parameter_format: "POSITIONAL".into(),
            components: t["components"].to_string(),
            reason: None,
            synced_at: 0,
            updated_at: 0,
        };
        let v = template_view(&row);
        assert_eq!(v.command, "/template order_update Maria | A-42");
        assert_eq!(v.body, "Hello {{1}}, your order {{2}} is on its way.");
    }
}
