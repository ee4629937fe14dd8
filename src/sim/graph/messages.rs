//! `POST /{version}/{phone_number_id}/messages`: sends and mark-as-read, with the automatic
//! status webhooks after an accepted send.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::replies::{
    bearer, digits, envelope, fault_reply, gerr, param_err, respond, status_value_failing,
    token_err, Reply, REENGAGEMENT, UNDELIVERABLE,
};
use super::webhooks::deliver;
use super::{lock, Data, GraphFault, GraphState, SentMsg};
use crate::sim::{random_hex, unix_now};

/// Like `pre_checks`, but a `Timeout` fault takes effect first and only the answer is late
/// (the dangerous case for a client: accepted, yet it sees a timeout). Returns the delay.
fn pre_checks_effect_first(data: &Data) -> Result<Option<Duration>, Reply> {
    let mut st = lock(data);
    if st.down {
        return Err(gerr(
            503,
            131016,
            "OAuthException",
            "Service unavailable",
            None,
        ));
    }
    match st.take_fault() {
        Some(GraphFault::Timeout(d)) => Ok(Some(d)),
        Some(f) => fault_reply(&f).map_or(Ok(None), Err),
        None => Ok(None),
    }
}

/// Being down and injected faults, before a request's effect; a `Timeout` fault sleeps, then
/// the request goes on.
pub(super) async fn pre_checks(data: &Data) -> Option<Reply> {
    match pre_checks_effect_first(data) {
        Ok(Some(delay)) => {
            actix_web::rt::time::sleep(delay).await;
            None
        }
        Ok(None) => None,
        Err(reply) => Some(reply),
    }
}

pub(super) async fn messages_handler(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    data: Data,
    client: web::Data<reqwest::Client>,
) -> HttpResponse {
    let (_version, pnid) = path.into_inner();
    let json_body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}));
    let rpath = req.path().to_string();
    let late = match pre_checks_effect_first(&data) {
        Ok(late) => late,
        Err(r) => {
            lock(&data).record("POST", &rpath, Some(&pnid), json_body, r.0);
            return respond(r);
        }
    };
    let token = bearer(&req);
    // The lock is released before any await (a late answer sleeps below).
    let reply = {
        let mut st = lock(&data);
        let reply = send_logic(&mut st, &pnid, token.as_deref(), &json_body);
        st.record("POST", &rpath, Some(&pnid), json_body.clone(), reply.0);
        // automatic statuses for an accepted send
        if reply.0 == 200 && json_body.get("status").is_none() {
            if let Some(sent) = st.sent.last().cloned() {
                let (statuses, error) = if sent.outside_window {
                    (vec!["failed"], REENGAGEMENT)
                } else {
                    (st.cfg.auto_statuses.clone(), UNDELIVERABLE)
                };
                if !statuses.is_empty() {
                    let state = data.clone();
                    let client = client.get_ref().clone();
                    actix_web::rt::spawn(async move {
                        for s in statuses {
                            let (delay, waba, display) = {
                                let st = lock(&state);
                                let display = st
                                    .numbers
                                    .get(&sent.phone_number_id)
                                    .map(|n| n.display_phone.clone())
                                    .unwrap_or_default();
                                (st.cfg.status_delay, st.cfg.waba_id.clone(), display)
                            };
                            actix_web::rt::time::sleep(delay).await;
                            let body = envelope(
                                &waba,
                                &sent.phone_number_id,
                                &display,
                                json!({"statuses": [status_value_failing(&sent.wamid, s, &digits(&sent.to), unix_now(), error)]}),
                            );
                            deliver(
                                &state,
                                &client,
                                &sent.phone_number_id,
                                body,
                                "status",
                                Some((&sent.wamid, s)),
                                true,
                            )
                            .await;
                        }
                    });
                }
            }
        }
        reply
    };
    if let Some(d) = late {
        actix_web::rt::time::sleep(d).await;
    }
    respond(reply)
}

fn send_logic(st: &mut GraphState, pnid: &str, token: Option<&str>, body: &Value) -> Reply {
    let Some(num) = st.numbers.get(pnid).cloned() else {
        if token.is_none() {
            return token_err();
        }
        return gerr(
            400,
            100,
            "GraphMethodException",
            &format!("Unsupported post request. Object with ID '{pnid}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            Some(33),
        );
    };
    if token != Some(num.access_token.as_str()) {
        return token_err();
    }
    if !body.is_object() {
        return param_err("(#100) Invalid parameter");
    }
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return param_err("(#100) The parameter messaging_product is required.");
    }
    if let Some(status) = body.get("status") {
        let mid = body.get("message_id").and_then(Value::as_str).unwrap_or("");
        if status.as_str() != Some("read") || mid.is_empty() {
            return param_err("(#100) Invalid parameter");
        }
        st.reads.push((pnid.to_string(), mid.to_string()));
        return (200, json!({"success": true}));
    }
    let to = body.get("to").and_then(Value::as_str).unwrap_or("");
    let to_digits = digits(to);
    if to_digits.is_empty() || to.trim_start_matches('+').len() != to_digits.len() {
        return param_err("(#100) The parameter to is required.");
    }
    if let Some(rt) = body.get("recipient_type") {
        if rt.as_str() != Some("individual") && rt.as_str() != Some("group") {
            return param_err("(#100) Param recipient_type must be one of {INDIVIDUAL, GROUP}");
        }
    }
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text")
        .to_string();
    let obj = body.get(&kind);
    let text = match kind.as_str() {
        "text" => {
            let Some(b) = obj.and_then(|o| o.get("body")).and_then(Value::as_str) else {
                return param_err("(#100) The parameter text['body'] is required.");
            };
            if b.trim().is_empty() {
                return param_err("(#100) Param text['body'] must be a non-empty string.");
            }
            if b.chars().count() > 4096 {
                return param_err(
                    "(#100) Param text['body'] must be at most 4096 characters long.",
                );
            }
            b.to_string()
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let Some(o) = obj.filter(|o| o.is_object()) else {
                return param_err(&format!("(#100) The parameter {kind} is required."));
            };
            let link = o.get("link").and_then(Value::as_str).unwrap_or("");
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            if link.is_empty() == id.is_empty() {
                return param_err(&format!(
                    "(#100) Param {kind} must contain exactly one of link or id."
                ));
            }
            if !id.is_empty() && !st.media.contains_key(id) {
                return param_err(&format!("(#100) Invalid parameter: unknown media id {id}"));
            }
            o.get("caption")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
        "template" => {
            let Some(t) = obj.filter(|o| o.is_object()) else {
                return param_err("(#100) The parameter template is required.");
            };
            if let Some(refused) = super::templates::check_send(st, t) {
                return refused;
            }
            super::templates::rendered(st, t)
        }
        "interactive" | "reaction" | "location" | "contacts" => {
            if obj.is_none() {
                return param_err(&format!("(#100) The parameter {kind} is required."));
            }
            String::new()
        }
        _ => return param_err("(#100) Param type is invalid."),
    };
    // Outside the window only a template goes: anything else is accepted, then fails (§1).
    let outside_window =
        st.cfg.enforce_window && kind != "template" && !st.window_open(pnid, &to_digits);
    st.seq += 1;
    let wamid = format!("wamid.SIM{:08}{}", st.seq, random_hex(8).to_uppercase());
    let reply_to = body
        .get("context")
        .and_then(|c| c.get("message_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    // A template's answer says it was accepted (fixture 23).
    let message = if kind == "template" {
        json!({"id": wamid, "message_status": "accepted"})
    } else {
        json!({"id": wamid})
    };
    st.sent.push(SentMsg {
        phone_number_id: pnid.to_string(),
        to: to.to_string(),
        kind,
        text,
        wamid: wamid.clone(),
        reply_to,
        json: body.clone(),
        outside_window,
        at_ms: super::now_ms(),
    });
    (
        200,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to_digits}],
            "messages": [message]
        }),
    )
}
