//! Bounded queues with back-pressure: a chat flooded while it cannot make progress keeps at most
//! its cap in memory (the rest waits in the inbox) and, once the providers recover, relays every
//! message exactly once and in order; a number whose unprocessed inbox reaches the high-water
//! mark gets `503` with `Retry-After` before anything is stored, and the retried webhook is
//! accepted once the backlog has drained.
//!
//! The gauges read here are process-wide: run with nextest (one process per test), as `make
//! test` does.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app_with, wait_until, Backend, Number, TestApp};
use serde_json::json;
use sim::{bitrix::BitrixSimConfig, graph::GraphSim};

on_both_databases!(
    a_flooded_chat_stays_within_its_cap_and_arrives_once_in_order,
    a_number_over_its_high_water_mark_gets_503_and_its_retry_is_accepted,
);

const CUSTOMER: &str = "79005550101";

/// A customer's picture: while the Cloud API is down its file cannot be fetched, so the chat
/// waits at it and everything the customer writes after it queues up behind it.
fn picture_body(app: &TestApp, n: &Number, wamid: &str) -> Vec<u8> {
    let media = app.graph.add_media("image/png", b"\x89PNG flood".to_vec());
    GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Flood Tester",
        json!({"from": CUSTOMER, "id": wamid, "timestamp": sim::unix_now().to_string(),
               "type": "image", "image": {"id": media, "mime_type": "image/png"}}),
    )
}

fn text_body(n: &Number, wamid: &str, text: &str) -> Vec<u8> {
    GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Flood Tester",
        wamid,
        text,
        sim::unix_now(),
    )
}

/// Posts `body` signed like Meta; returns the status, `Retry-After` and the body.
async fn post(app: &TestApp, n: &Number, body: &[u8]) -> (u16, Option<String>, String) {
    let r = sim::test_client()
        .post(format!("{}/webhooks/whatsapp/cloud", app.url))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", GraphSim::sign(&n.app_secret, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("post webhook");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, r.text().await.unwrap_or_default())
}

async fn metrics_text(app: &TestApp) -> String {
    reqwest::get(format!("{}/metrics", app.url))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The value of `name{queue="<queue>"}` (0 when absent).
fn queue_metric(text: &str, name: &str, queue: &str) -> f64 {
    let prefix = format!("{name}{{queue=\"{queue}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The wamids of the customer's messages that reached Bitrix24, in arrival order.
fn arrived(app: &TestApp) -> Vec<String> {
    app.b24
        .customer_messages()
        .into_iter()
        .filter(|m| m.user_id == CUSTOMER)
        .map(|m| m.message_id)
        .collect()
}

async fn a_flooded_chat_stays_within_its_cap_and_arrives_once_in_order(backend: Backend) {
    const CAP: usize = 16;
    const FLOOD: usize = 150;
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.chat_queue_cap = CAP;
        // Small pages: reading the spilled backlog back takes many of them.
        s.inbox_page = 10;
        s.inbox_high_water = 0;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "555000301").await;

    app.graph.set_down(true);
    app.b24.set_down(true);
    let (status, _, _) = post(&app, &n, &picture_body(&app, &n, "wamid.F000")).await;
    assert_eq!(status, 200);
    let mut deepest = 0.0f64;
    for i in 1..=FLOOD {
        let wamid = format!("wamid.F{i:03}");
        let (status, _, body) =
            post(&app, &n, &text_body(&n, &wamid, &format!("flood {i:03}"))).await;
        assert_eq!(status, 200, "{wamid}: {body}");
        if i % 10 == 0 {
            let m = metrics_text(&app).await;
            deepest = deepest.max(queue_metric(&m, "b24wa_queue_items", "chat"));
        }
    }
    // A few sweeps (300 ms) while still stalled: they re-send old items, which must not grow it.
    for _ in 0..10 {
        actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        let m = metrics_text(&app).await;
        deepest = deepest.max(queue_metric(&m, "b24wa_queue_items", "chat"));
    }
    let m = metrics_text(&app).await;
    let spilled = queue_metric(&m, "b24wa_queue_spilled_total", "chat");
    assert!(
        deepest <= CAP as f64,
        "a chat held {deepest} items in memory, over its cap of {CAP}"
    );
    assert!(
        deepest >= (CAP / 2) as f64,
        "the chat never filled up ({deepest}): the flood did not queue behind the picture"
    );
    assert!(
        spilled > 0.0,
        "nothing was left in the inbox: the cap never applied"
    );
    assert!(
        arrived(&app).is_empty(),
        "nothing can arrive while both are down"
    );

    app.graph.set_down(false);
    app.b24.set_down(false);
    let b24 = app.b24.clone();
    wait_until(90, "every flooded message in Bitrix24", move || {
        b24.customer_messages()
            .iter()
            .filter(|m| m.user_id == CUSTOMER)
            .count()
            > FLOOD
    })
    .await;
    // Late duplicates would show up after the last one.
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    let expected: Vec<String> = (0..=FLOOD).map(|i| format!("wamid.F{i:03}")).collect();
    assert_eq!(arrived(&app), expected, "every message once, in order");
    let m = metrics_text(&app).await;
    assert_eq!(
        queue_metric(&m, "b24wa_queue_items", "chat"),
        0.0,
        "the drained chat holds nothing"
    );
}

async fn a_number_over_its_high_water_mark_gets_503_and_its_retry_is_accepted(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.inbox_high_water = 5;
        s.inbox_retry_after_secs = 7;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "555000302").await;

    app.graph.set_down(true);
    let (status, _, _) = post(&app, &n, &picture_body(&app, &n, "wamid.B000")).await;
    assert_eq!(status, 200);
    // Spread out: the verdict is re-checked twice a second.
    let mut refused = None;
    let mut accepted = 1;
    for i in 1..=60 {
        let wamid = format!("wamid.B{i:03}");
        let body = text_body(&n, &wamid, &format!("backlog {i:03}"));
        let (status, retry, text) = post(&app, &n, &body).await;
        match status {
            200 => accepted += 1,
            503 => {
                assert_eq!(retry.as_deref(), Some("7"), "Retry-After of the 503");
                assert!(text.contains("inbox_backlogged"), "{text}");
                refused = Some((wamid, body));
                break;
            }
            other => panic!("{wamid}: {other} {text}"),
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let (refused_wamid, refused_body) = refused.expect("a 503 once the backlog reached 5");
    assert!(
        accepted >= 5,
        "refused before the mark: {accepted} accepted"
    );
    let m = metrics_text(&app).await;
    assert!(
        m.contains("outcome=\"backlogged\""),
        "the refusal is counted as backlogged"
    );

    // The backlog drains; what was refused was not stored, so only the accepted ones arrive.
    app.graph.set_down(false);
    let b24 = app.b24.clone();
    wait_until(30, "the accepted messages in Bitrix24", move || {
        b24.customer_messages()
            .iter()
            .filter(|m| m.user_id == CUSTOMER)
            .count()
            >= accepted
    })
    .await;
    assert!(
        !arrived(&app).contains(&refused_wamid),
        "a refused webhook was stored"
    );

    // Meta retries the same body: accepted now (after at most the verdict's lifetime).
    let mut status = 0;
    for _ in 0..40 {
        status = post(&app, &n, &refused_body).await.0;
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "the retried webhook is accepted once the backlog drained"
    );
    let b24 = app.b24.clone();
    wait_until(30, "the retried message in Bitrix24", move || {
        b24.customer_messages()
            .iter()
            .filter(|m| m.user_id == CUSTOMER)
            .count()
            > accepted
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let expected: Vec<String> = (0..=accepted).map(|i| format!("wamid.B{i:03}")).collect();
    assert_eq!(arrived(&app), expected, "every message once, in order");
}
