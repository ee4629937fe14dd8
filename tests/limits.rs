//! Limits of the public endpoints: per-IP and per-tenant rate limits answer 429 with
//! Retry-After (and what a provider then retries arrives once, in order); a flood of webhooks
//! for an unknown phone_number_id is acknowledged and logged once, not per request.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app_with, spawn_process_logging, wait_until, Backend};
use sim::{bitrix::BitrixSimConfig, graph::GraphSim};

on_both_databases!(
    one_address_over_its_rate_gets_429_with_retry_after,
    a_tenant_over_its_rate_gets_429_and_retried_messages_arrive_in_order,
    a_flood_for_an_unknown_number_is_logged_once,
);

async fn post_unknown(url: &str, i: usize) -> (u16, Option<String>) {
    let body = GraphSim::inbound_text_body(
        "999000999",
        "15550009999",
        "79000000000",
        "Flood",
        &format!("wamid.FLOOD{i}"),
        "x",
        sim::unix_now(),
    );
    let signature = GraphSim::sign("whatever", &body);
    let r = sim::test_client()
        .post(format!("{url}/webhooks/whatsapp/cloud"))
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .expect("post");
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status().as_u16(), retry)
}

async fn one_address_over_its_rate_gets_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.public_rate_per_ip = 1;
        s.public_burst_per_ip = 5;
    })
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..12 {
        let (status, retry) = post_unknown(&app.url, i).await;
        statuses.push(status);
        if status == 429 {
            retry_after = retry;
        }
    }
    // The burst passes (to the 200 that drops an unknown number's webhook), the rest is
    // refused (a slow machine may see one more token refilled meanwhile).
    assert_eq!(&statuses[..5], [200; 5], "{statuses:?}");
    let refused = statuses[5..].iter().filter(|&&s| s == 429).count();
    assert!(refused >= 4, "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 429),
        "{statuses:?}"
    );
    let secs: u64 = retry_after
        .expect("Retry-After on a 429")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&secs), "{secs}");
    // The admin API is not a public endpoint: no limit there.
    let (status, _) = app.api_get("/api/v1/numbers").await;
    assert_eq!(status, 200);
    // After waiting as told, the address is served again.
    actix_web::rt::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(post_unknown(&app.url, 99).await.0, 200);
}

async fn a_tenant_over_its_rate_gets_429_and_retried_messages_arrive_in_order(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.public_rate_per_tenant = 2;
        s.public_burst_per_tenant = 3;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410200300").await;
    let texts: Vec<String> = (0..8).map(|i| format!("message {i}")).collect();
    let mut refused = 0;
    // Like Meta: a refused webhook is sent again later, and the next waits for it.
    for (i, t) in texts.iter().enumerate() {
        let mut tries = 0;
        loop {
            let status = app
                .customer_writes(&n, "79005550001", &format!("wamid.T{i}"), t)
                .await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 429, "a refusal is a rate limit");
            refused += 1;
            tries += 1;
            assert!(tries < 50, "never accepted");
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(refused > 0, "8 webhooks at once exceed a burst of 3");
    let b24 = app.b24.clone();
    wait_until(15, "all 8 in Bitrix24", move || {
        b24.customer_messages().len() >= 8
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.texts_in_bitrix("79005550001"), texts);
}

async fn a_flood_for_an_unknown_number_is_logged_once(backend: Backend) {
    let app = spawn_process_logging(backend, "info").await;
    // Acknowledged (Meta would retry anything else for days), stored nowhere.
    for i in 0..300 {
        assert_eq!(post_unknown(&app.url, i).await.0, 200);
    }
    // A known request is still logged.
    let (status, _) = app.api_get("/api/v1/numbers").await;
    assert_eq!(status, 200);
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let log = app.log();
    let warnings = log
        .lines()
        .filter(|l| l.contains("not connected here"))
        .count();
    assert_eq!(warnings, 1, "one line for 300 webhooks:\n{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("POST /webhooks/whatsapp/cloud ")),
        "no access line per dropped webhook"
    );
    assert!(log.contains("GET /api/v1/numbers 200"), "{log}");
}
