//! Webhook delivery with the gateway's behaviour: a webhook kind only when its setting is on, the
//! first attempt awaited and retries in the background (so duplicates happen), webhooks held while
//! the instance is not linked, and the echo and statuses after a send.

use super::*;

pub(super) struct Hook {
    pub(super) url: String,
    pub(super) authorization: Option<String>,
    pub(super) instance: Option<u64>,
    pub(super) body: Value,
    pub(super) raw: Vec<u8>,
}

/// One POST of `hook`, recorded. Returns (status, response text); status 0 on error / timeout.
pub(super) async fn attempt(
    data: &Data,
    client: &reqwest::Client,
    hook: &Hook,
    n: u32,
) -> (u16, String) {
    let timeout = lock(data).cfg.webhook_timeout;
    let mut rb = client
        .post(&hook.url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .body(hook.raw.clone());
    if let Some(a) = &hook.authorization {
        rb = rb.header("Authorization", a);
    }
    let (status, resp) = match rb.send().await {
        Ok(r) => {
            let s = r.status().as_u16();
            (s, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    };
    let mut st = lock(data);
    let at_ms = st.now_ms();
    let b = &hook.body;
    let status_name = b
        .get("status")
        .or_else(|| b.get("stateInstance"))
        .and_then(Value::as_str)
        .map(str::to_string);
    st.deliveries.push(GatewayDelivery {
        url: hook.url.clone(),
        instance: hook.instance,
        type_webhook: b
            .get("typeWebhook")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        id_message: b
            .get("idMessage")
            .and_then(Value::as_str)
            .map(str::to_string),
        status_name,
        authorization: hook.authorization.clone(),
        body: b.clone(),
        status,
        attempt: n,
        at_ms,
    });
    (status, resp)
}

/// POST a webhook of kind `flag` (a `setSettings` field) when the instance has it on. The first
/// attempt is awaited; further attempts (when not answered 200) run in the background. Returns the
/// first attempt's status (0 = not configured, connection error or timeout).
pub(super) async fn deliver(
    data: &Data,
    client: &reqwest::Client,
    instance: u64,
    flag: &str,
    body: Value,
) -> u16 {
    let (target, retries, interval) = {
        let st = lock(data);
        let Some(t) = st.webhook_target(instance, flag) else {
            return 0;
        };
        (t, st.cfg.webhook_retries, st.cfg.webhook_retry_interval)
    };
    let hook = Hook {
        url: target.0,
        authorization: target.1,
        instance: Some(instance),
        raw: serde_json::to_vec(&body).unwrap_or_default(),
        body,
    };
    let (first, _) = attempt(data, client, &hook, 1).await;
    if first != 200 && retries > 0 {
        let data = data.clone();
        let client = client.clone();
        actix_web::rt::spawn(async move {
            for n in 2..=(retries as u32 + 1) {
                actix_web::rt::time::sleep(interval).await;
                if attempt(&data, &client, &hook, n).await.0 == 200 {
                    break;
                }
            }
        });
    }
    first
}

/// Deliver the webhooks held while `instance` was not linked.
pub(super) async fn flush_pending(data: &Data, client: &reqwest::Client, instance: u64) {
    let mine = take_where(&mut lock(data).pending, |p| p.instance == instance);
    for p in mine {
        deliver(data, client, instance, p.flag, p.body).await;
    }
}

/// GatewayState webhook, then (when linked) what was held.
pub(super) async fn after_state_change(
    data: Data,
    client: reqwest::Client,
    instance: u64,
    body: Value,
    linked: bool,
) -> u16 {
    let s = deliver(&data, &client, instance, "stateWebhook", body).await;
    if linked {
        flush_pending(&data, &client, instance).await;
    }
    s
}

pub(super) struct AfterSend {
    pub(super) instance: u64,
    pub(super) chat_id: String,
    pub(super) id_message: String,
    /// `outgoingAPIMessageReceived` (posted when `outgoingAPIMessageWebhook` is on).
    pub(super) echo: Option<Value>,
    pub(super) plan: Vec<(String, Option<String>)>,
    pub(super) by_api: bool,
}

pub(super) async fn after_send(data: Data, client: reqwest::Client, job: AfterSend) {
    if let Some(echo) = job.echo {
        deliver(
            &data,
            &client,
            job.instance,
            "outgoingAPIMessageWebhook",
            echo,
        )
        .await;
    }
    for (status, description) in job.plan {
        let delay = lock(&data).cfg.status_delay;
        actix_web::rt::time::sleep(delay).await;
        let body = {
            let mut st = lock(&data);
            if let Some(m) = st.find_sent_mut(job.instance, &job.id_message) {
                m.statuses.push(status.clone());
            }
            st.status_body(
                job.instance,
                &job.chat_id,
                &job.id_message,
                &status,
                description.as_deref(),
                job.by_api,
            )
        };
        deliver(&data, &client, job.instance, "outgoingWebhook", body).await;
    }
}
