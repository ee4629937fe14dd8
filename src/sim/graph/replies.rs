//! Graph API error bodies, replies and webhook envelopes.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::GraphFault;
use crate::sim::random_hex;
use crate::sim::server::status_code;

pub(super) type Reply = (u16, Value);

pub(super) fn gerr(status: u16, code: u32, kind: &str, msg: &str, subcode: Option<u32>) -> Reply {
    let mut e = json!({"message": msg, "type": kind, "code": code, "fbtrace_id": format!("A{}", random_hex(10))});
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    if code >= 130000 {
        e["error_data"] = json!({"messaging_product": "whatsapp", "details": msg});
    }
    (status, json!({ "error": e }))
}

pub(super) fn param_err(msg: &str) -> Reply {
    gerr(400, 100, "OAuthException", msg, None)
}

pub(super) fn token_err() -> Reply {
    gerr(
        401,
        190,
        "OAuthException",
        "Error validating access token: The session is invalid because the user logged out or the token is invalid.",
        None,
    )
}

pub(super) fn expired_err() -> Reply {
    gerr(
        401,
        190,
        "OAuthException",
        "Error validating access token: Session has expired on Friday, 26-Apr-24 06:00:00 PDT. The current time is Sunday, 28-Apr-24 03:40:10 PDT.",
        Some(463),
    )
}

pub(super) fn fault_reply(f: &GraphFault) -> Option<Reply> {
    match f {
        GraphFault::ServerError => Some(gerr(
            500,
            131000,
            "OAuthException",
            "Something went wrong",
            None,
        )),
        GraphFault::Throughput => Some(gerr(
            400,
            130429,
            "OAuthException",
            "Rate limit hit: Cloud API message throughput has been reached.",
            None,
        )),
        GraphFault::ExpiredToken => Some(expired_err()),
        GraphFault::Reengagement => Some(gerr(
            400,
            131047,
            "OAuthException",
            "Re-engagement message",
            None,
        )),
        GraphFault::Timeout(_) => None,
    }
}

pub(super) fn respond((status, body): Reply) -> HttpResponse {
    HttpResponse::build(status_code(status)).json(body)
}

pub(super) fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let t = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

pub(super) fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

pub(super) fn envelope(waba: &str, pnid: &str, display: &str, value_extra: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": pnid}
    });
    if let (Value::Object(v), Value::Object(extra)) = (&mut value, value_extra) {
        v.extend(extra);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"value": value, "field": "messages"}]}]
    })
}

pub(super) fn status_value(wamid: &str, status: &str, recipient: &str, ts: i64) -> Value {
    status_value_failing(wamid, status, recipient, ts, UNDELIVERABLE)
}

/// A failed status's error: (code, title, details).
pub(super) type StatusError = (u32, &'static str, &'static str);

/// The default failure (whatsapp.md fixture 08).
pub(super) const UNDELIVERABLE: StatusError =
    (131026, "Message undeliverable", "Message Undeliverable.");

/// A free-form message outside the customer-service window (whatsapp-templates.md §1, fixture 12).
pub(super) const REENGAGEMENT: StatusError = (
    131047,
    "Re-engagement message",
    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
);

/// A status entry; a `failed` one carries `error` (and, like Meta's, no conversation or pricing).
pub(super) fn status_value_failing(
    wamid: &str,
    status: &str,
    recipient: &str,
    ts: i64,
    (code, title, details): StatusError,
) -> Value {
    let mut s = json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": recipient});
    if status == "failed" {
        s["errors"] = json!([{
            "code": code, "title": title, "message": title,
            "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
        }]);
    } else {
        s["conversation"] =
            json!({"id": format!("{:x}", md5ish(recipient)), "origin": {"type": "service"}});
        s["pricing"] = json!({"billable": true, "pricing_model": "CBP", "category": "service"});
    }
    s
}

fn md5ish(s: &str) -> u128 {
    let h = Sha256::digest(s.as_bytes());
    u128::from_be_bytes(h[..16].try_into().unwrap_or([0; 16]))
}
