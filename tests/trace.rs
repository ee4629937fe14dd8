//! Support's tools in the admin API: find a message by any id, phone or text, read its trace
//! (every hop with its time) and the jobs that carried it, re-drive a failed job (audited), and
//! the usage figures per tenant, all scoped to the caller's tenant.

mod common;
mod sim;

use std::time::Duration;

use b24wa::http::api::auth::{JwtKeys, Role};
use common::{chat_key, spawn_app, spawn_app_with, wait_until, Backend, TestApp};
use serde_json::{json, Value};
use sim::bitrix::BitrixSimConfig;

on_both_databases!(
    a_message_is_found_by_any_id_phone_or_text_and_its_hops_are_in_order,
    support_redrives_a_failed_job_and_the_message_arrives,
    usage_counts_what_was_relayed_per_tenant,
);

fn token(app: &TestApp, role: Role, tenant: Option<i64>) -> String {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("trace-test", role, tenant, 600)
        .expect("sign")
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
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

async fn post(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}{path}", app.url))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn hops(trace: &Value) -> Vec<String> {
    trace["hops"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["hop"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn a_message_is_found_by_any_id_phone_or_text_and_its_hops_are_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "310200300").await;
    app.graph
        .set_auto_statuses(vec!["sent", "delivered", "read"]);
    assert_eq!(
        app.customer_writes(&n, "380991234567", "wamid.TR1", "where is my parcel 42?")
            .await,
        200
    );
    assert_eq!(
        app.customer_writes(&n, "4915100000001", "wamid.TR2", "another customer")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "both in Bitrix24", move || {
        b24.customer_messages().len() == 2
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("380991234567", &n), "it left today")
        .await;
    assert_eq!(op.http_status, 200);

    // By the WhatsApp id.
    let (s, v) = get(&app, &app.token, "/api/v1/messages?q=wamid.TR1").await;
    assert_eq!(s, 200, "{v}");
    let found = items(&v);
    assert_eq!(found.len(), 1, "{v}");
    let inbound_id = found[0]["id"].as_i64().expect("id");
    assert_eq!(found[0]["text"], "where is my parcel 42?");
    assert_eq!(found[0]["customer_wa_id"], "380991234567");
    // By the phone as people type it: both of that customer's messages, newest first.
    let app_ref = &app;
    let mut by_phone = Vec::new();
    for _ in 0..100 {
        let (s, v) = get(
            app_ref,
            &app.token,
            "/api/v1/messages?q=%2B380%2099%20123-45-67",
        )
        .await;
        assert_eq!(s, 200, "{v}");
        by_phone = items(&v);
        if by_phone.len() == 2 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(by_phone.len(), 2, "{by_phone:?}");
    assert_eq!(by_phone[0]["direction"], "out");
    assert_eq!(by_phone[1]["direction"], "in");
    let outbound_id = by_phone[0]["id"].as_i64().expect("id");
    // By the Open Lines message id, by our id, by a text fragment (LIKE wildcards are literal).
    let (_, v) = get(
        &app,
        &app.token,
        &format!("/api/v1/messages?q={}", op.im_message_id),
    )
    .await;
    assert_eq!(items(&v)[0]["id"].as_i64(), Some(outbound_id), "{v}");
    let (_, v) = get(
        &app,
        &app.token,
        &format!("/api/v1/messages?q={inbound_id}"),
    )
    .await;
    assert!(items(&v)
        .iter()
        .any(|m| m["id"].as_i64() == Some(inbound_id)));
    let (_, v) = get(&app, &app.token, "/api/v1/messages?q=parcel%2042").await;
    assert_eq!(items(&v).len(), 1, "{v}");
    let (_, v) = get(&app, &app.token, "/api/v1/messages?q=%25").await;
    assert_eq!(v["total"], 0, "a % is a character, not a wildcard: {v}");
    // Filters.
    let (_, v) = get(&app, &app.token, "/api/v1/messages?direction=in").await;
    assert_eq!(v["total"], 2, "{v}");
    let (s, v) = get(&app, &app.token, "/api/v1/messages?direction=sideways").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let (s, _) = get(&app, &app.token, "/api/v1/messages?from=yesterday").await;
    assert_eq!(s, 400);
    let (_, v) = get(&app, &app.token, "/api/v1/messages?to=2000-01-01").await;
    assert_eq!(v["total"], 0, "{v}");
    // Chats: by phone fragment, with counts.
    let (s, v) = get(&app, &app.token, "/api/v1/chats?q=99123").await;
    assert_eq!(s, 200, "{v}");
    let chats = items(&v);
    assert_eq!(chats.len(), 1, "{v}");
    assert_eq!(chats[0]["messages"], 2);
    assert_eq!(chats[0]["number_id"].as_i64(), Some(n.id));

    // The inbound trace: sent by the customer, stored, in Open Lines; in that order.
    let (s, t) = get(&app, &app.token, &format!("/api/v1/messages/{inbound_id}")).await;
    assert_eq!(s, 200, "{t}");
    // The operator answered, so it was also marked read in WhatsApp.
    assert_eq!(
        hops(&t),
        [
            "customer_sent",
            "received",
            "to_bitrix24",
            "read_by_operator"
        ],
        "{t}"
    );
    assert_eq!(t["number"]["id"].as_i64(), Some(n.id));
    assert_eq!(t["jobs"][0]["kind"], "b24_send_message");
    assert_eq!(t["jobs"][0]["status"], "done");
    // The outbound trace reaches read (the simulator sends sent, delivered, read).
    let mut trace = Value::Null;
    for _ in 0..100 {
        trace = get(&app, &app.token, &format!("/api/v1/messages/{outbound_id}"))
            .await
            .1;
        if hops(&trace).contains(&"read".to_string()) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let h = hops(&trace);
    assert_eq!(h[0], "from_operator", "{trace}");
    assert_eq!(h[1], "to_whatsapp", "{trace}");
    let pos = |name: &str| h.iter().position(|x| x == name);
    assert!(
        pos("delivered").is_some() && pos("read").is_some(),
        "{trace}"
    );
    assert!(pos("delivered") < pos("read"), "{trace}");
    let times: Vec<i64> = trace["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["at"].as_i64().expect("at"))
        .collect();
    assert!(times.iter().all(|&t| t > 0), "{trace}");
    assert_eq!(
        trace["hops"][1]["detail"].as_str(),
        trace["message"]["wamid"].as_str(),
        "the WhatsApp id is on the hop: {trace}"
    );

    // Another tenant's admin finds nothing and cannot open the trace; the owner's admin can.
    let owner = app.tenant_of_install().await;
    let (s, other) = post_json(&app, "/api/v1/tenants", json!({"name": "Other"})).await;
    assert_eq!(s, 201, "{other}");
    let stranger = token(&app, Role::TenantAdmin, other["id"].as_i64());
    let (s, v) = get(&app, &stranger, "/api/v1/messages?q=wamid.TR1").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(0)), "{v}");
    let (s, v) = get(&app, &stranger, "/api/v1/chats").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(0)), "{v}");
    let (s, v) = get(&app, &stranger, &format!("/api/v1/messages/{inbound_id}")).await;
    assert_eq!(s, 404, "{v}");
    assert!(!v.to_string().contains("parcel"));
    let admin = token(&app, Role::TenantAdmin, Some(owner));
    let (s, _) = get(&app, &admin, &format!("/api/v1/messages/{inbound_id}")).await;
    assert_eq!(s, 200);
    let (s, v) = get(&app, &admin, "/api/v1/messages?q=parcel").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(1)), "{v}");
}

async fn post_json(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.api_post(path, body).await
}

async fn support_redrives_a_failed_job_and_the_message_arrives(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.max_attempts = 2;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "310200301").await;
    app.b24.set_down(true);
    assert_eq!(
        app.customer_writes(&n, "380670000001", "wamid.RD1", "please call me back")
            .await,
        200
    );
    // Two attempts, then the job is dead and the message failed.
    let mut dead = Vec::new();
    for _ in 0..100 {
        let (s, v) = get(&app, &app.token, "/api/v1/jobs?status=dead").await;
        assert_eq!(s, 200, "{v}");
        dead = items(&v);
        if !dead.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead.len(), 1, "{dead:?}");
    let job = &dead[0];
    assert_eq!(job["kind"], "b24_send_message");
    assert_eq!(job["attempts"], 2);
    assert!(job["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    let job_id = job["id"].as_i64().expect("job id");
    let message_id = job["message_id"].as_i64().expect("message id");
    let (_, t) = get(&app, &app.token, &format!("/api/v1/messages/{message_id}")).await;
    assert_eq!(t["message"]["status"], "failed", "{t}");
    assert_eq!(hops(&t).last().map(String::as_str), Some("failed"), "{t}");
    assert_eq!(t["jobs"][0]["id"].as_i64(), Some(job_id));

    // Billing and tenant admins may look (admins: their own) but not re-drive.
    let owner = app.tenant_of_install().await;
    let admin = token(&app, Role::TenantAdmin, Some(owner));
    let (s, v) = get(&app, &admin, "/api/v1/jobs?status=dead").await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(1)), "{v}");
    let (s, v) = post(&app, &admin, &format!("/api/v1/jobs/{job_id}/redrive")).await;
    assert_eq!(s, 403, "{v}");
    let billing = token(&app, Role::Billing, None);
    let (s, _) = get(&app, &billing, "/api/v1/jobs").await;
    assert_eq!(s, 403);
    let (s, v) = get(&app, &app.token, "/api/v1/jobs?status=lost").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let (s, v) = post(&app, &app.token, "/api/v1/jobs/999999/redrive").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("unknown_job")));
    assert_eq!(app.b24.customer_messages().len(), 0);

    // Bitrix24 is back; support re-drives the job; the message arrives once.
    app.b24.set_down(false);
    let (s, v) = post(&app, &app.token, &format!("/api/v1/jobs/{job_id}/redrive")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["attempts"], 0);
    let b24 = app.b24.clone();
    wait_until(10, "the re-driven message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    assert_eq!(app.texts_in_bitrix("380670000001"), ["please call me back"]);
    let mut t = Value::Null;
    for _ in 0..50 {
        t = get(&app, &app.token, &format!("/api/v1/messages/{message_id}"))
            .await
            .1;
        if t["message"]["status"] == "forwarded" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(t["message"]["status"], "forwarded", "{t}");
    let h = hops(&t);
    let tail: Vec<&str> = h.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(tail, ["failed", "redriven", "to_bitrix24"], "{t}");
    assert_eq!(t["jobs"][0]["status"], "done");
    // A job that did not fail cannot be re-driven.
    let (s, v) = post(&app, &app.token, &format!("/api/v1/jobs/{job_id}/redrive")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("job_not_failed"))
    );
    // The audit log says who did it, with the job before and after.
    let (_, audit) = get(&app, &app.token, "/api/v1/audit?action=job.redrive").await;
    let records = items(&audit);
    assert_eq!(records.len(), 1, "{audit}");
    assert_eq!(records[0]["target"], format!("job:{job_id}"));
    assert_eq!(records[0]["actor"], "tester");
    let text = records[0].to_string();
    assert!(text.contains("dead") && text.contains("pending"), "{text}");
}

async fn usage_counts_what_was_relayed_per_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "310200302").await;
    for i in 0..3 {
        app.customer_writes(&n, "380501112233", &format!("wamid.U{i}"), "hello")
            .await;
    }
    let b24 = app.b24.clone();
    wait_until(10, "3 in Bitrix24", move || {
        b24.customer_messages().len() == 3
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("380501112233", &n), "hi!")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(10, "the reply sent", move || {
        graph.sent_messages().len() == 1
    })
    .await;

    let owner = app.tenant_of_install().await;
    let today = chrono::Utc::now().date_naive();
    let path = format!("/api/v1/tenants/{owner}/usage?from={today}&to={today}");
    let admin = token(&app, Role::TenantAdmin, Some(owner));
    // The reply counts once our record of WhatsApp's answer to its send is committed.
    let mut v = Value::Null;
    for _ in 0..200 {
        let (s, page) = get(&app, &admin, &path).await;
        assert_eq!(s, 200, "{page}");
        v = page;
        if v["totals"]["outbound"] != 0 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(v["totals"]["inbound"], 3, "{v}");
    assert_eq!(v["totals"]["outbound"], 1, "{v}");
    assert_eq!(v["totals"]["media"], 0, "{v}");
    assert_eq!(v["active_numbers"], 1);
    assert_eq!(v["connected_numbers"], 1);
    assert_eq!(v["days"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["days"][0]["date"], today.to_string());
    assert_eq!(v["days"][0]["inbound"], 3);
    // The default period is this month: every day of it, zeros included.
    let (_, month) = get(&app, &admin, &format!("/api/v1/tenants/{owner}/usage")).await;
    let days = month["days"].as_array().cloned().unwrap_or_default();
    assert!((28..=31).contains(&days.len()), "{month}");
    assert_eq!(month["totals"]["inbound"], 3);
    // A period before anything happened is all zeros.
    let (_, old) = get(
        &app,
        &admin,
        &format!("/api/v1/tenants/{owner}/usage?from=2020-01-01&to=2020-01-31"),
    )
    .await;
    assert_eq!(old["totals"]["inbound"], 0, "{old}");
    // Bad periods.
    let (s, v) = get(
        &app,
        &admin,
        &format!("/api/v1/tenants/{owner}/usage?from=2026-02-01&to=2026-01-01"),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let (s, _) = get(
        &app,
        &admin,
        &format!("/api/v1/tenants/{owner}/usage?from=2020-01-01&to=2026-01-01"),
    )
    .await;
    assert_eq!(s, 400);
    // Another tenant: its own usage is empty, ours is not found; billing sees every tenant.
    let (s, other) = app
        .api_post("/api/v1/tenants", json!({"name": "Other"}))
        .await;
    assert_eq!(s, 201);
    let other_id = other["id"].as_i64().expect("id");
    let stranger = token(&app, Role::TenantAdmin, Some(other_id));
    let (s, _) = get(&app, &stranger, &path).await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &stranger, "/api/v1/usage").await;
    assert_eq!(s, 403);
    let billing = token(&app, Role::Billing, None);
    let (s, all) = get(
        &app,
        &billing,
        &format!("/api/v1/usage?from={today}&to={today}"),
    )
    .await;
    assert_eq!(s, 200, "{all}");
    let rows = items(&all);
    assert_eq!(all["total"], 2, "{all}");
    let ours = rows
        .iter()
        .find(|r| r["tenant_id"].as_i64() == Some(owner))
        .expect("our tenant");
    assert_eq!(ours["totals"]["inbound"], 3);
    let theirs = rows
        .iter()
        .find(|r| r["tenant_id"].as_i64() == Some(other_id))
        .expect("the other tenant");
    assert_eq!(theirs["totals"]["inbound"], 0);
}
