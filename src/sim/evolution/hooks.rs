//! Webhooks as Evolution posts them: the envelope, only the subscribed events, the configured
//! headers (a `jwt_key` header becomes `Authorization: Bearer <HS256 JWT>`), `byEvents` paths,
//! the first attempt awaited and the retries in the background (none on 400, 401, 403, 404,
//! 422), and the `send.message` echo and statuses after a send.

use rand::seq::SliceRandom;

use super::*;
use crate::sim::server::lock;

/// A stored webhook row, as `webhook/set` and `webhook/find` answer it.
pub(super) fn webhook_row(
    url: &str,
    headers: Value,
    enabled: bool,
    by_events: bool,
    base64: bool,
    events: Vec<String>,
) -> Map<String, Value> {
    let now = chrono::Utc::now().to_rfc3339();
    let row = json!({
        "id": random_hex(12),
        "url": url,
        "headers": headers,
        "enabled": enabled,
        "events": if enabled { events } else { Vec::new() },
        "webhookByEvents": by_events,
        "webhookBase64": base64,
        "createdAt": now,
        "updatedAt": now,
    });
    match row {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `messages.update` → `MESSAGES_UPDATE` (the subscription's spelling).
fn upper_snake(event: &str) -> String {
    event.replace(['.', '-'], "_").to_uppercase()
}

/// `messages.update`'s data for our message `id`.
pub(super) fn status_data(id: &str, jid: &str, status: &str, instance_id: &str) -> Value {
    json!({
        "keyId": id,
        "remoteJid": jid,
        "fromMe": true,
        "status": status,
        "instanceId": instance_id,
        "messageId": format!("cm{}", random_hex(10)),
    })
}

struct Hook {
    url: String,
    instance: String,
    event: String,
    headers: Vec<(String, String)>,
    body: Value,
}

fn jwt(secret: &str) -> Option<String> {
    let iat = chrono::Utc::now().timestamp();
    let claims = json!({"iat": iat, "exp": iat + 600, "app": "evolution", "action": "webhook"});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .ok()
}

/// The hook for `event` of `instance`, when its webhook is on and subscribed to it.
fn build(st: &EvolutionState, instance: &str, event: &str, data: Value) -> Option<Hook> {
    let i = st.instances.get(instance)?;
    let w = i.webhook.as_ref()?;
    if !w.get("enabled").and_then(Value::as_bool).unwrap_or(false) {
        return None;
    }
    let url = w.get("url").and_then(Value::as_str)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let events: Vec<&str> = w
        .get("events")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !events.is_empty() && !events.contains(&upper_snake(event).as_str()) {
        return None;
    }
    let mut headers = Vec::new();
    if let Some(Value::Object(h)) = w.get("headers") {
        for (k, v) in h {
            let Some(v) = v.as_str() else { continue };
            if k == "jwt_key" {
                if let Some(t) = jwt(v) {
                    headers.push(("authorization".to_string(), format!("Bearer {t}")));
                }
            } else {
                headers.push((k.to_lowercase(), v.to_string()));
            }
        }
    }
    let by_events = w
        .get("webhookByEvents")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let target = if by_events {
        format!("{}/{}", url.trim_end_matches('/'), event.replace('.', "-"))
    } else {
        url.to_string()
    };
    // Evolution writes local time with a `Z`; the sim's local time is UTC.
    let body = json!({
        "event": event,
        "instance": instance,
        "data": data,
        "destination": url,
        "date_time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "sender": i.own.as_ref().map(|o| format!("{o}@s.whatsapp.net")),
        "server_url": st.base,
        "apikey": if st.cfg.expose_apikey { json!(i.token) } else { Value::Null },
    });
    Some(Hook {
        url: target,
        instance: instance.to_string(),
        event: event.to_string(),
        headers,
        body,
    })
}

/// One POST of `hook`, recorded. Returns the status (0 on error or timeout).
async fn attempt(data: &Data, client: &reqwest::Client, hook: &Hook, n: u32) -> u16 {
    let timeout = lock(data).cfg.webhook_timeout;
    let mut rb = client.post(&hook.url).timeout(timeout).json(&hook.body);
    for (k, v) in &hook.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let status = match rb.send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    let d = &hook.body["data"];
    let key_id = d
        .pointer("/key/id")
        .or_else(|| d.get("keyId"))
        .or_else(|| d.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let status_name = d
        .get("status")
        .or_else(|| d.get("state"))
        .and_then(Value::as_str)
        .map(str::to_string);
    lock(data).deliveries.push(EvolutionDelivery {
        url: hook.url.clone(),
        instance: hook.instance.clone(),
        event: hook.event.clone(),
        key_id,
        status_name,
        headers: hook.headers.clone(),
        body: hook.body.clone(),
        status,
        attempt: n,
        at_ms: chrono::Utc::now().timestamp_millis(),
    });
    status
}

const NO_RETRY: [u16; 5] = [400, 401, 403, 404, 422];

/// Post `event` for `instance` when its webhook wants it. The first attempt is awaited; the
/// retries (and, with `duplicate_webhooks`, a second copy) run in the background. Returns the
/// first attempt's status (0 = not configured, connection error or timeout).
pub(super) async fn post_event(
    data: &Data,
    client: &reqwest::Client,
    instance: &str,
    event: &str,
    payload: Value,
) -> u16 {
    let (hook, retries, interval, dup) = {
        let st = lock(data);
        let Some(hook) = build(&st, instance, event, payload) else {
            return 0;
        };
        (
            hook,
            st.cfg.webhook_retries,
            st.cfg.webhook_retry_interval,
            st.cfg.duplicate_webhooks,
        )
    };
    let first = attempt(data, client, &hook, 1).await;
    let ok = (200..300).contains(&first);
    if ok && !dup {
        return first;
    }
    let data = data.clone();
    let client = client.clone();
    actix_web::rt::spawn(async move {
        if ok {
            // A retry whose first answer was lost: the same body again.
            attempt(&data, &client, &hook, 2).await;
            return;
        }
        let mut wait = interval;
        let mut last = first;
        for n in 2..=(retries as u32 + 1) {
            if NO_RETRY.contains(&last) {
                break;
            }
            actix_web::rt::time::sleep(wait).await;
            wait *= 2;
            last = attempt(&data, &client, &hook, n).await;
            if (200..300).contains(&last) {
                break;
            }
        }
    });
    first
}

/// What follows an accepted send: `send.message` with the send's record, then the statuses.
pub(super) struct AfterSend {
    pub(super) instance: String,
    pub(super) record: Value,
    pub(super) id: String,
    pub(super) jid: String,
    pub(super) phone: Option<String>,
    pub(super) statuses: bool,
}

pub(super) async fn after_send(data: Data, client: reqwest::Client, job: AfterSend) {
    post_event(&data, &client, &job.instance, "send.message", job.record).await;
    if !job.statuses {
        return;
    }
    let (plan, delay, instance_id) = {
        let st = lock(&data);
        let failing = job.phone.as_ref().is_some_and(|p| st.failing.contains(p));
        let mut plan: Vec<&'static str> = if failing {
            vec!["SERVER_ACK", "ERROR"]
        } else {
            st.cfg.auto_statuses.clone()
        };
        if st.cfg.shuffle_statuses {
            plan.shuffle(&mut rand::thread_rng());
        }
        let instance_id = st
            .instances
            .get(&job.instance)
            .map(|i| i.id.clone())
            .unwrap_or_default();
        (plan, st.cfg.status_delay, instance_id)
    };
    for status in plan {
        actix_web::rt::time::sleep(delay).await;
        if let Some(m) = lock(&data).sent.iter_mut().find(|m| m.id == job.id) {
            m.statuses.push(status.to_string());
        }
        let d = status_data(&job.id, &job.jid, status, &instance_id);
        post_event(&data, &client, &job.instance, "messages.update", d).await;
    }
}
