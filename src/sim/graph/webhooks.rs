//! Signed webhooks: what the sim POSTs to our app (automatic statuses with Meta-like retries,
//! inbound messages and statuses on demand) and the bodies tests build themselves.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::replies::{digits, envelope, status_value};
use super::{lock, Data, GraphSim, WebhookDelivery};
use crate::sim::{test_client, unix_now};

/// POST `body` with the signature header `sig` like Meta does. Returns our status (0 = connection
/// error).
async fn post_signed_once(client: &reqwest::Client, url: &str, sig: &str, body: Vec<u8>) -> u16 {
    match client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", sig)
        .header("User-Agent", "facebookexternalua")
        .body(body)
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// POST `body` signed with the number's app secret to the webhook URL, with Meta-like retries when
/// `retry`. Records every attempt. Returns the last status (0 = not delivered / no webhook URL).
pub(super) async fn deliver(
    state: &Data,
    client: &reqwest::Client,
    pnid: &str,
    body: Value,
    kind: &str,
    status_of: Option<(&str, &str)>,
    retry: bool,
) -> u16 {
    let (url, secret, retries, backoff) = {
        let st = lock(state);
        let Some(url) = st.webhook_url.clone() else {
            return 0;
        };
        let secret = st
            .numbers
            .get(pnid)
            .map(|n| n.app_secret.clone())
            .unwrap_or_default();
        (url, secret, st.cfg.webhook_retries, st.cfg.retry_backoff)
    };
    let raw = serde_json::to_vec(&body).unwrap_or_default();
    let sig = GraphSim::sign(&secret, &raw);
    let attempts = if retry { 1 + retries } else { 1 };
    let mut status = 0;
    for attempt in 1..=attempts {
        status = post_signed_once(client, &url, &sig, raw.clone()).await;
        lock(state).deliveries.push(WebhookDelivery {
            url: url.clone(),
            kind: kind.into(),
            body: body.clone(),
            status,
            attempt: attempt as u32,
            wamid: status_of.map(|(w, _)| w.to_string()),
            status_name: status_of.map(|(_, s)| s.to_string()),
            at_ms: super::now_ms(),
        });
        if status == 200 || attempt == attempts {
            break;
        }
        let factor = 1u32 << (attempt - 1).min(16);
        actix_web::rt::time::sleep(backoff * factor).await;
    }
    status
}

/// A webhook body (the default WABA's envelope around `value`), as the sim's tests post it.
fn webhook_body(phone_number_id: &str, display_phone: &str, value: Value) -> Vec<u8> {
    let body = envelope("102290129340398", phone_number_id, display_phone, value);
    serde_json::to_vec(&body).unwrap_or_default()
}

impl GraphSim {
    /// `sha256=<hex HMAC-SHA256(body, app_secret)>`, the X-Hub-Signature-256 header value.
    pub fn sign(app_secret: &str, body: &[u8]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
            return String::new();
        };
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// A fixture-01 shaped inbound text webhook body.
    #[allow(clippy::too_many_arguments)]
    pub fn inbound_text_body(
        phone_number_id: &str,
        display_phone: &str,
        from_wa_id: &str,
        name: &str,
        wamid: &str,
        text: &str,
        ts: i64,
    ) -> Vec<u8> {
        Self::inbound_body(
            phone_number_id,
            display_phone,
            from_wa_id,
            name,
            json!({"from": from_wa_id, "id": wamid, "timestamp": ts.to_string(), "text": {"body": text}, "type": "text"}),
        )
    }

    /// An inbound webhook body carrying one arbitrary `message` object (from, id, timestamp, type, ...).
    pub fn inbound_body(
        phone_number_id: &str,
        display_phone: &str,
        from_wa_id: &str,
        name: &str,
        message: Value,
    ) -> Vec<u8> {
        webhook_body(
            phone_number_id,
            display_phone,
            json!({
                "contacts": [{"profile": {"name": name}, "wa_id": from_wa_id}],
                "messages": [message]
            }),
        )
    }

    /// A status webhook body (fixture 05-08 shape) for `wamid`.
    pub fn status_body(
        phone_number_id: &str,
        display_phone: &str,
        wamid: &str,
        status: &str,
        recipient_id: &str,
        ts: i64,
    ) -> Vec<u8> {
        webhook_body(
            phone_number_id,
            display_phone,
            json!({"statuses": [status_value(wamid, status, recipient_id, ts)]}),
        )
    }

    /// Sign `body` with the number's app secret and POST it once to the webhook URL. Returns our status.
    pub async fn post_signed(&self, phone_number_id: &str, body: Vec<u8>) -> u16 {
        let (url, secret) = {
            let st = self.st();
            let url = st
                .webhook_url
                .clone()
                .expect("graph sim: set_webhook_url first");
            let secret = st
                .numbers
                .get(phone_number_id)
                .expect("graph sim: unknown phone_number_id (add_number first)")
                .app_secret
                .clone();
            (url, secret)
        };
        let sig = Self::sign(&secret, &body);
        let status = post_signed_once(&self.client, &url, &sig, body.clone()).await;
        let json_body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut st = self.st();
        st.note_inbound(phone_number_id, &json_body);
        st.deliveries.push(WebhookDelivery {
            url,
            kind: "inbound".into(),
            body: json_body,
            status,
            attempt: 1,
            wamid: None,
            status_name: None,
            at_ms: super::now_ms(),
        });
        status
    }

    /// POST a signed status webhook for a message we sent (once, no retries). Returns our status.
    pub async fn push_status(&self, wamid: &str, status: &str) -> u16 {
        let (pnid, to, display) = {
            let st = self.st();
            let m = st
                .sent
                .iter()
                .find(|m| m.wamid == wamid)
                .cloned()
                .expect("graph sim: unknown wamid");
            let display = st
                .numbers
                .get(&m.phone_number_id)
                .map(|n| n.display_phone.clone())
                .unwrap_or_default();
            (m.phone_number_id, m.to, display)
        };
        let body = Self::status_body(&pnid, &display, wamid, status, &digits(&to), unix_now());
        self.post_signed(&pnid, body).await
    }

    /// POST `body` to `url` with an optional X-Hub-Signature-256 value. Returns (status, body text);
    /// status 0 on connection error.
    pub async fn post_raw(url: &str, body: Vec<u8>, signature: Option<String>) -> (u16, String) {
        let mut rb = test_client()
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(s) = signature {
            rb = rb.header("X-Hub-Signature-256", s);
        }
        match rb.send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }

    /// Meta's webhook verification GET. Returns (status, body).
    pub async fn verify_webhook(url: &str, verify_token: &str, challenge: &str) -> (u16, String) {
        let q = crate::sim::form_encode(&[
            ("hub.mode".into(), "subscribe".into()),
            ("hub.verify_token".into(), verify_token.into()),
            ("hub.challenge".into(), challenge.into()),
        ]);
        let sep = if url.contains('?') { '&' } else { '?' };
        match test_client().get(format!("{url}{sep}{q}")).send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                (s, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    }
}
