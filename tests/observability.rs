//! The service's own metrics, trace ids and probes: `/metrics` after a relay shows what it did,
//! a refused signature is counted as such, JSON logs carry one trace id per message across the
//! webhook, the chat actor and the job runner, and `/readyz` fails when the database does.

mod common;
mod sim;

use std::time::Duration;

use common::{chat_key, spawn_app, spawn_process_with_env, wait_until, Backend, PG_ADMIN_URL};
use serde_json::Value;
use sim::GraphSim;

on_both_databases!(
    metrics_show_a_relayed_message_and_a_refused_signature,
    json_logs_carry_one_trace_id_per_message_across_every_hop,
    readyz_is_ready_while_the_database_answers,
    readyz_in_cluster_mode_needs_redis_too,
    a_webhook_for_an_unknown_number_is_acknowledged_counted_and_dropped,
);

/// The value of the first sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn metrics_text(url: &str) -> String {
    let r = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(r.status(), 200);
    r.text().await.expect("metrics text")
}

async fn metrics_show_a_relayed_message_and_a_refused_signature(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "777001").await;
    assert_eq!(
        app.customer_writes(&n, "380501112233", "wamid.M1", "hello metrics")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    // Settled jobs are counted after their commit, just after Bitrix24 answered.
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics_text(&app.url).await;
        if sample(
            &text,
            "b24wa_jobs_succeeded_total",
            &[("kind", "b24_send_message")],
        )
        .is_some_and(|v| v >= 1.0)
        {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let at_least_one = |name: &str, labels: &[(&str, &str)]| {
        let v = sample(&text, name, labels);
        assert!(
            v.is_some_and(|v| v >= 1.0),
            "{name}{labels:?} = {v:?} in\n{text}"
        );
    };
    at_least_one(
        "b24wa_webhooks_received_total",
        &[("source", "cloud"), ("outcome", "stored")],
    );
    at_least_one("b24wa_jobs_queued_total", &[("kind", "b24_send_message")]);
    at_least_one(
        "b24wa_jobs_succeeded_total",
        &[("kind", "b24_send_message")],
    );
    at_least_one("b24wa_to_bitrix24_seconds_count", &[]);
    at_least_one("b24wa_webhook_ack_seconds_count", &[("source", "cloud")]);
    for kind in ["portal", "number", "chat"] {
        at_least_one("b24wa_actors_alive", &[("kind", kind)]);
    }
    // Described once, present from the start.
    assert!(text.contains("# HELP b24wa_lease_moves_total"), "{text}");
    assert_eq!(sample(&text, "b24wa_lease_moves_total", &[]), Some(0.0));
    // Read at scrape time: nothing is left pending.
    assert_eq!(
        sample(&text, "b24wa_jobs_pending", &[("kind", "b24_send_message")]),
        Some(0.0),
        "{text}"
    );

    // A forged signature: refused, and counted as such.
    let before = sample(
        &text,
        "b24wa_webhooks_received_total",
        &[("source", "cloud"), ("outcome", "refused_signature")],
    )
    .unwrap_or(0.0);
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        "380501112233",
        "Mallory",
        "wamid.FORGED",
        "forged",
        sim::unix_now(),
    );
    let (status, _) = GraphSim::post_raw(
        &format!("{}/webhooks/whatsapp/cloud", app.url),
        body,
        Some(format!("sha256={}", "0".repeat(64))),
    )
    .await;
    assert_eq!(status, 401);
    let text = metrics_text(&app.url).await;
    let after = sample(
        &text,
        "b24wa_webhooks_received_total",
        &[("source", "cloud"), ("outcome", "refused_signature")],
    );
    assert!(
        after.is_some_and(|a| a >= before + 1.0),
        "{before} -> {after:?}\n{text}"
    );
}

/// Every trace id a JSON log line carries: in its fields, its span and the spans above it
/// (a batch's span lists several, comma-separated).
fn trace_ids(line: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |v: &Value| {
        if let Some(t) = v.get("trace_id").and_then(Value::as_str) {
            out.extend(t.split(',').map(str::to_string));
        }
    };
    add(&line["fields"]);
    add(&line["span"]);
    if let Some(spans) = line["spans"].as_array() {
        spans.iter().for_each(&mut add);
    }
    out
}

fn span_names(line: &Value) -> Vec<String> {
    line["spans"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The hops logged for trace `t`: which spans its lines were in.
fn hops_of(lines: &[Value], t: &str) -> Vec<String> {
    let mut hops: Vec<String> = lines
        .iter()
        .filter(|l| trace_ids(l).iter().any(|x| x == t))
        .flat_map(span_names)
        .collect();
    hops.sort();
    hops.dedup();
    hops
}

/// The trace id of the job of `kind` that settled done.
fn settled_trace(lines: &[Value], kind: &str) -> Option<String> {
    lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "job settled"
                && l["fields"]["kind"] == kind
                && l["fields"]["outcome"] == "Done"
        })
        .and_then(|l| l["fields"]["trace_id"].as_str().map(str::to_string))
}

async fn json_logs_carry_one_trace_id_per_message_across_every_hop(backend: Backend) {
    let app = spawn_process_with_env(
        backend,
        |s| s.log = "info,b24wa=debug".into(),
        &[("B24WA_LOG_FORMAT", "json")],
    )
    .await;
    app.install().await;
    let n = app.connect("1", "777002").await;
    assert_eq!(
        app.customer_writes(&n, "380501112244", "wamid.T1", "trace me")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(15, "message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("380501112244", &n), "traced reply")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(15, "reply sent", move || !graph.sent_messages().is_empty()).await;

    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = app
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        if settled_trace(&lines, "wa_send_text").is_some()
            && settled_trace(&lines, "b24_send_message").is_some()
        {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(lines.len() > 5, "JSON lines expected:\n{}", app.log());
    let inbound = settled_trace(&lines, "b24_send_message").expect("inbound job settled");
    let reply = settled_trace(&lines, "wa_send_text").expect("reply job settled");
    assert_ne!(inbound, reply, "two messages, two traces");
    for t in [&inbound, &reply] {
        let hops = hops_of(&lines, t);
        for hop in ["webhook", "chat", "job"] {
            assert!(
                hops.iter().any(|h| h == hop),
                "trace {t}: no {hop} line (hops {hops:?})\n{}",
                app.log()
            );
        }
    }
    // The webhook lines say where each came from.
    let source_of = |t: &str| {
        lines
            .iter()
            .find(|l| {
                l["fields"]["message"] == "webhook answered" && trace_ids(l).iter().any(|x| x == t)
            })
            .map(|l| (l["span"]["source"].clone(), l["fields"]["outcome"].clone()))
    };
    assert_eq!(source_of(&inbound), Some(("cloud".into(), "stored".into())));
    assert_eq!(
        source_of(&reply),
        Some(("bitrix24".into(), "stored".into()))
    );
}

async fn readyz_is_ready_while_the_database_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", app.url);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .expect("probe");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(get("/readyz").await, (200, "ready".to_string()));
    if backend != Backend::Postgres {
        return;
    }
    // The database goes away under the running app: its connections are ended and new ones
    // refused. Alive, but not ready.
    use sqlx::Connection;
    let url = app.settings.database_url();
    let name = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .expect("database name")
        .to_string();
    let admin_url = std::env::var("DATABASE_TEST_URL").unwrap_or_else(|_| PG_ADMIN_URL.into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("admin connection");
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .expect("refuse connections");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .expect("end the app's connections");
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database"), "{body}");
    assert_eq!(get("/healthz").await.0, 200);
    // Back: ready again.
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("allow connections");
    let mut ready = false;
    for _ in 0..50 {
        if get("/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database answers");
}

/// A throwaway Redis server on a free port (the system's `redis-server`), killed on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Self { child, port })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn readyz_in_cluster_mode_needs_redis_too(backend: Backend) {
    let Some(redis) = Redis::start() else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let redis_url = format!("redis://127.0.0.1:{}/", redis.port);
    let app = spawn_process_with_env(backend, |_| {}, &[("REDIS_URL", redis_url.as_str())]).await;
    let readyz = || async {
        let r = reqwest::Client::new()
            .get(format!("{}/readyz", app.url))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("probe");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    };
    let mut last = (0, String::new());
    for _ in 0..50 {
        last = readyz().await;
        if last.0 == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, (200, "ready".to_string()));
    drop(redis);
    let (status, body) = readyz().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("redis"), "{body}");
    assert!(
        !body.contains("database"),
        "the database still answers: {body}"
    );
}

/// A webhook for a number not connected here (removed, or another app's on a shared callback)
/// gets 200, since Meta and the gateways retry anything else for days, and stores nothing; it
/// is counted in `b24wa_webhook_unknown_number_total`.
async fn a_webhook_for_an_unknown_number_is_acknowledged_counted_and_dropped(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "777002").await;
    let post = |path: String, pnid: &str, wamid: &str| {
        let body = GraphSim::inbound_text_body(
            pnid,
            "15550001234",
            "380501110000",
            "Stranger",
            wamid,
            "for someone else",
            sim::unix_now(),
        );
        // Signed with a secret we cannot know: the number is not ours.
        let signature = GraphSim::sign("another-apps-secret", &body);
        async move { GraphSim::post_raw(&path, body, Some(signature)).await.0 }
    };
    let cloud = format!("{}/webhooks/whatsapp/cloud", app.url);
    assert_eq!(post(cloud.clone(), "999000111", "wamid.UNK1").await, 200);
    assert_eq!(
        post(format!("{cloud}/999000222"), "999000222", "wamid.UNK2").await,
        200
    );
    // A gateway number that does not exist (any longer).
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp/gateway/987654", app.url))
        .header("Authorization", "Bearer whatever")
        .json(&serde_json::json!({"typeWebhook": "incomingMessageReceived"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    // Our own number is still checked and relayed as usual.
    assert_eq!(
        app.customer_writes(&n, "380501110001", "wamid.OURS", "ours")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "our message in Bitrix24", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.texts_in_bitrix("380501110001"), ["ours"]);
    assert_eq!(app.b24.customer_messages().len(), 1, "nothing else relayed");
    for wamid in ["wamid.UNK1", "wamid.UNK2"] {
        let (_, found) = app.api_get(&format!("/api/v1/messages?q={wamid}")).await;
        assert_eq!(found["total"], 0, "{found}");
    }
    let text = metrics_text(&app.url).await;
    let unknown = |source| {
        sample(
            &text,
            "b24wa_webhook_unknown_number_total",
            &[("source", source)],
        )
    };
    assert_eq!(unknown("cloud"), Some(2.0), "{text}");
    assert_eq!(unknown("gateway"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "b24wa_webhooks_received_total",
            &[("source", "cloud"), ("outcome", "unknown_number")]
        ),
        Some(2.0),
        "{text}"
    );
}
