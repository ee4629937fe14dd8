//! Plans and quotas: a number beyond the plan is refused (409 `quota_exceeded`, in words, on
//! the API and on the connector's settings page);
//! messages beyond the month's quota still reach Bitrix24 and the operators get exactly one
//! notice; voice notes past the transcription minutes arrive with a note instead of a
//! transcript; support sees each tenant's health (dead jobs, numbers not authorized).

mod common;
mod sim;

use std::time::Duration;

use b24wa::{
    billing::Plan,
    http::api::auth::{JwtKeys, Role},
};
use common::{spawn_app_with, wait_until, Backend, TestApp};
use serde_json::{json, Value};
use sim::bitrix::BitrixSimConfig;

on_both_databases!(
    a_number_beyond_the_plan_is_refused,
    messages_over_the_quota_still_arrive_and_operators_are_told_once,
    a_new_chat_over_the_quota_carries_the_notice_in_its_first_message,
    health_shows_dead_jobs_and_numbers_not_authorized,
    voice_notes_past_the_transcription_minutes_arrive_with_a_note,
);

fn tiny(numbers: u64, messages: u64) -> Plan {
    Plan {
        numbers: Some(numbers),
        messages_per_month: Some(messages),
        transcription_minutes: Some(1),
        ..Plan::default()
    }
}

fn token(app: &TestApp, role: Role, tenant: Option<i64>) -> String {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("quotas-test", role, tenant, 600)
        .expect("sign")
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn quota<'a>(usage: &'a Value, name: &str) -> &'a Value {
    usage["plan_use"]["quotas"]
        .as_array()
        .and_then(|a| a.iter().find(|q| q["quota"] == name))
        .unwrap_or(&Value::Null)
}

async fn a_number_beyond_the_plan_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.plans.insert("free".into(), tiny(1, 1000));
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410000001").await;
    let (status, body) = app
        .api_post(
            "/api/v1/numbers",
            json!({
                "member_id": app.b24.member_id(),
                "line": "2",
                "phone_number_id": "410000002",
                "access_token": "EAAG-x",
                "app_secret": "y",
                "verify_token": "z",
            }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
    let words = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        words.contains("free plan allows 1") && words.contains("upgrade"),
        "{words}"
    );
    // Nothing was stored for the refused number.
    let (_, numbers) = app.api_get("/api/v1/numbers?q=410000002").await;
    assert_eq!(numbers["total"], 0, "{numbers}");
    // The connector's settings page in Bitrix24 says so in words.
    app.graph
        .add_number("410000003", "meta-token-3", "meta-secret-3", "15551230003");
    let (status, html) = app
        .b24
        .open_connector_settings_page(
            &format!("{}/bitrix24/placement", app.url),
            "b24wa_whatsapp",
            "3",
        )
        .await;
    assert_eq!(status, 200, "{html}");
    let session = html
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .replace("&amp;", "&");
    let r = app
        .http
        .post(format!("{}/bitrix24/placement/cloud", app.url))
        .form(&[
            ("session", session.as_str()),
            ("phone_number_id", "410000003"),
            ("access_token", "meta-token-3"),
            ("app_secret", "meta-secret-3"),
        ])
        .send()
        .await
        .expect("POST form");
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("The free plan allows 1 connected WhatsApp number"),
        "{html}"
    );
    assert!(!app.b24.connector_active("3"));
    // Connecting the same number again is a rebind, not a second number.
    let again = app.connect("1", &n.phone_number_id).await;
    assert_eq!(again.id, n.id);

    // The plans are listed for anyone signed in; the tenant sees its quota used up.
    let tenant = app.tenant_of_install().await;
    let admin = token(&app, Role::TenantAdmin, Some(tenant));
    let (s, plans) = get_as(&app, &admin, "/api/v1/plans").await;
    assert_eq!(s, 200, "{plans}");
    let free = plans["items"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "free").cloned())
        .expect("free plan");
    assert_eq!(
        (
            free["numbers"].as_u64(),
            free["messages_per_month"].as_u64()
        ),
        (Some(1), Some(1000))
    );
    assert!(plans["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["name"] == "pro")));
    let (s, usage) = get_as(&app, &admin, &format!("/api/v1/tenants/{tenant}/usage")).await;
    assert_eq!(s, 200, "{usage}");
    let numbers = quota(&usage, "numbers");
    assert_eq!(
        (numbers["used"].as_f64(), numbers["limit"].as_u64()),
        (Some(1.0), Some(1)),
        "{usage}"
    );
    assert_eq!(numbers["percent"].as_f64(), Some(100.0));
    assert_eq!(numbers["over"], true);
}

async fn messages_over_the_quota_still_arrive_and_operators_are_told_once(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.plans.insert("free".into(), tiny(5, 2));
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410000011").await;
    let wa = "79004440077";
    for i in 1..=5 {
        let status = app
            .customer_writes(&n, wa, &format!("wamid.Q{i}"), &format!("order {i}"))
            .await;
        assert_eq!(status, 200);
        let b24 = app.b24.clone();
        wait_until(10, "the message in Bitrix24", move || {
            b24.customer_messages().len() == i
        })
        .await;
    }
    // Never dropped: every message arrived, in order.
    let texts = app.texts_in_bitrix(wa);
    for (i, t) in texts.iter().enumerate() {
        assert!(t.contains(&format!("order {}", i + 1)), "{texts:?}");
    }
    let over = |b24: &sim::BitrixSim| {
        b24.system_notices()
            .into_iter()
            .filter(|n| n.message.contains("over its plan's 2 messages"))
            .count()
    };
    let b24 = app.b24.clone();
    wait_until(10, "the over-quota notice", move || over(&b24) >= 1).await;
    // More messages (both ways would count) bring no second notice.
    app.customer_writes(&n, wa, "wamid.Q6", "order 6").await;
    let b24 = app.b24.clone();
    wait_until(10, "the sixth message", move || {
        b24.customer_messages().len() == 6
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(over(&app.b24), 1, "{:?}", app.b24.system_notices());
    let notice = app
        .b24
        .system_notices()
        .into_iter()
        .find(|n| n.message.contains("over its plan"))
        .expect("notice");
    assert!(notice.system);
    assert!(notice.message.contains("still flow"), "{}", notice.message);

    // The tenant's usage says so (its admin-web banner reads this).
    let tenant = app.tenant_of_install().await;
    let (s, usage) = app
        .api_get(&format!("/api/v1/tenants/{tenant}/usage"))
        .await;
    assert_eq!(s, 200, "{usage}");
    let messages = quota(&usage, "messages");
    assert_eq!(messages["used"].as_f64(), Some(6.0), "{usage}");
    assert_eq!(messages["percent"].as_f64(), Some(300.0));
    assert_eq!(messages["over"], true);
    assert_eq!(usage["plan_use"]["over_quota"], json!(["messages"]));
    let (_, health) = app.api_get("/api/v1/tenants/health").await;
    assert_eq!(
        health["items"][0]["over_quota"],
        json!(["messages"]),
        "{health}"
    );
}

async fn health_shows_dead_jobs_and_numbers_not_authorized(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.max_attempts = 2;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410000021").await;
    // The connect waits for the line's activation, not for the number's registration as a CRM
    // sender (its own queue): on a loaded machine that job may still be queued ("warning").
    let mut health = Value::Null;
    for _ in 0..200 {
        let (s, v) = app.api_get("/api/v1/tenants/health").await;
        assert_eq!(s, 200, "{v}");
        health = v;
        if health["items"][0]["pending_jobs"] == json!(0) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let row = &health["items"][0];
    assert_eq!(
        (row["status"].as_str(), row["numbers"].as_i64()),
        (Some("ok"), Some(1)),
        "{health}"
    );
    assert_eq!(row["last_message_at"], Value::Null);

    app.b24.set_down(true);
    app.customer_writes(&n, "79004440088", "wamid.H1", "hello")
        .await;
    let mut dead = 0;
    for _ in 0..100 {
        let (_, v) = app.api_get("/api/v1/tenants/health").await;
        dead = v["items"][0]["dead_jobs"].as_i64().unwrap_or(0);
        if dead > 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead, 1);
    // Meta stopped accepting the number's token (as a 190 answer records it).
    let db = sea_orm::Database::connect(app.settings.database_url())
        .await
        .expect("db");
    b24wa::store::numbers::set_session_state(
        &db,
        n.id,
        b24wa::store::numbers::SESSION_TOKEN_INVALID,
    )
    .await
    .expect("set state");
    let (_, v) = app.api_get("/api/v1/tenants/health").await;
    let row = &v["items"][0];
    assert_eq!(row["status"], "error", "{v}");
    assert_eq!(row["numbers_not_authorized"], 1, "{v}");
    assert_eq!(row["dead_jobs"], 1, "{v}");
    assert!(row["last_message_at"].as_i64().is_some(), "{v}");
    assert_eq!(row["plan"], "free");

    // Support and billing only.
    let tenant = row["tenant_id"].as_i64().expect("tenant id");
    let admin = token(&app, Role::TenantAdmin, Some(tenant));
    let (s, _) = get_as(&app, &admin, "/api/v1/tenants/health").await;
    assert_eq!(s, 403);
    let billing = token(&app, Role::Billing, None);
    let (s, v) = get_as(&app, &billing, "/api/v1/tenants/health").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(1)), "{v}");
    db.close().await.ok();
}

async fn voice_notes_past_the_transcription_minutes_arrive_with_a_note(backend: Backend) {
    let model =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(
        model.exists(),
        "{} is missing: run `make model`",
        model.display()
    );
    let app = spawn_app_with(backend, BitrixSimConfig::default(), move |s| {
        s.transcribe_model = Some(model);
        // No minutes at all: the first voice note is already past the quota.
        s.plans.insert(
            "free".into(),
            Plan {
                transcription_minutes: Some(0),
                ..Plan::default()
            },
        );
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410000031").await;
    // The bytes do not matter: a note past the quota is never decoded.
    let id = app
        .graph
        .add_media("audio/ogg; codecs=opus", b"OggS\0not decoded".to_vec());
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        "79005550009",
        "Maria",
        json!({"from": "79005550009", "id": "wamid.VQ1", "timestamp": sim::unix_now().to_string(),
               "type": "audio", "audio": {"id": id, "mime_type": "audio/ogg; codecs=opus",
               "sha256": "x", "voice": true}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(20, "the voice note", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    let m = &app.b24.customer_messages()[0];
    assert_eq!(m.files.len(), 1, "the voice itself is delivered: {m:?}");
    assert!(
        m.text
            .contains("this plan's 0 transcription minutes for this month are used up"),
        "{}",
        m.text
    );
    // No transcription was queued, so no update follows.
    let (_, jobs) = app.api_get("/api/v1/jobs?kind=transcribe").await;
    assert_eq!(jobs["total"], 0, "{jobs}");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(app.b24.customer_messages().iter().all(|m| !m.edited));
    let tenant = app.tenant_of_install().await;
    let (_, usage) = app
        .api_get(&format!("/api/v1/tenants/{tenant}/usage"))
        .await;
    assert_eq!(
        usage["plan_use"]["over_quota"],
        json!(["transcription_minutes"]),
        "{usage}"
    );
}

async fn a_new_chat_over_the_quota_carries_the_notice_in_its_first_message(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.plans.insert("free".into(), tiny(5, 0));
    })
    .await;
    app.install().await;
    let n = app.connect("1", "410000041").await;
    // Bitrix24 has no chat to post a notice to yet: the notice rides along with the message.
    app.customer_writes(&n, "79004440099", "wamid.N1", "first ever")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    let text = &app.b24.customer_messages()[0].text;
    assert!(
        text.starts_with("first ever") && text.contains("over its plan's 0 messages"),
        "{text}"
    );
    // Once only: the next message is relayed as it is.
    app.customer_writes(&n, "79004440099", "wamid.N2", "second")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the second message", move || {
        b24.customer_messages().len() == 2
    })
    .await;
    assert_eq!(app.b24.customer_messages()[1].text, "second");
    assert!(app.b24.system_notices().is_empty());
}
