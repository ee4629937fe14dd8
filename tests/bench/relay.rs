//! `make bench`: the relay benchmark. Starts the service (PostgreSQL, then SQLite) with the
//! simulators in this process and drives signed inbound text webhooks.
//! Prints a table and one `bench <name> <value> <unit>` line per figure.

#[path = "../sim/mod.rs"]
mod sim;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use b24wa::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
    startup::Application,
};
use secrecy::SecretString;
use serde_json::json;
use sim::{BitrixSim, BitrixSimConfig, GraphSim, GraphSimConfig};

const PNID: &str = "900100";
const SECRET: &str = "bench-app-secret";

struct Rig {
    url: String,
    b24: BitrixSim,
    client: reqwest::Client,
    stop: b24wa::startup::Stopper,
}

async fn rig(db_url: String, dir: &std::path::Path) -> Rig {
    let b24 = BitrixSim::start(BitrixSimConfig {
        rate_limit: None,
        ..BitrixSimConfig::default()
    })
    .await;
    let graph = GraphSim::start(GraphSimConfig::default()).await;
    let mut s = Settings::defaults().expect("defaults");
    s.port = 0;
    s.data_dir = dir.to_path_buf();
    s.database_url = Some(db_url);
    s.encryption_key = Some(SecretString::from(
        "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".to_string(),
    ));
    s.jwt_secret = Some(SecretString::from("bench".to_string()));
    s.app_client_id = "app.b24wa.test".into();
    s.app_client_secret = SecretString::from("sim-secret".to_string());
    // The simulated portal's OAuth server listens on this machine.
    s.b24_oauth_hosts = vec!["127.0.0.1".into()];
    s.graph_base_url = graph.base_url();
    // The simulated portal has no limit here; ours must not be the bottleneck either.
    s.b24_rate_burst = 100_000.0;
    s.b24_rate_per_sec = 100_000.0;
    s.sweep_ms = 1000;
    s.http_workers = 2;
    // Raw throughput: the public rate limits (tests/limits.rs) would turn the load into 429s.
    s.public_rate_per_ip = 0;
    s.public_rate_per_tenant = 0;
    s.log = "error".into();
    // Only texts are sent here: without this, a models/ggml-base-q8_0.bin in the working folder
    // (`make model`) loads whisper into the measured process (~230 MB per Application).
    s.transcribe_model = None;
    let app = Application::build(s).await.expect("app");
    let url = app.public_url().to_string();
    let stop = app.stopper();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("client");
    assert_eq!(
        b24.install_via_event(&format!("{url}/bitrix24/install"))
            .await,
        200
    );
    graph.add_number(PNID, "tok", SECRET, "15550009999");
    let token = JwtKeys::new(SecretString::from("bench".to_string()))
        .issue("bench", Role::Support, None, 3600)
        .expect("jwt");
    let r = client
        .post(format!("{url}/api/v1/numbers"))
        .bearer_auth(token)
        .json(&json!({"member_id": b24.member_id(), "line": "1", "phone_number_id": PNID,
            "display_phone": "15550009999", "access_token": "tok", "app_secret": SECRET, "verify_token": "v"}))
        .send()
        .await
        .expect("connect");
    assert_eq!(r.status().as_u16(), 201);
    Rig {
        url,
        b24,
        client,
        stop,
    }
}

fn body(i: u64, run: &str) -> (String, Vec<u8>) {
    let wamid = format!("wamid.{run}.{i}");
    let b = GraphSim::inbound_text_body(
        PNID,
        "15550009999",
        &format!("4470{:06}", i % 500),
        "Bench",
        &wamid,
        &format!("msg {i}"),
        sim::unix_now(),
    );
    (wamid, b)
}

async fn post(rig: &Rig, b: Vec<u8>) -> Duration {
    let sig = GraphSim::sign(SECRET, &b);
    let t = Instant::now();
    let r = rig
        .client
        .post(format!("{}/webhooks/whatsapp/cloud/{PNID}", rig.url))
        .header("X-Hub-Signature-256", sig)
        .header("Content-Type", "application/json")
        .body(b)
        .send()
        .await;
    let d = t.elapsed();
    assert!(
        matches!(r, Ok(ref r) if r.status().is_success()),
        "webhook not acknowledged"
    );
    d
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Fixed-rate load: acknowledgement latency in ms.
async fn ack_at_rate(rig: &Arc<Rig>, rate: u64, secs: u64, run: &str) -> Vec<f64> {
    let lat = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let total = rate * secs;
    let mut handles = Vec::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        let now = Instant::now();
        if due > now {
            actix_web::rt::time::sleep(due - now).await;
        }
        let (_, b) = body(i, run);
        let rig = rig.clone();
        let lat = lat.clone();
        handles.push(actix_web::rt::spawn(async move {
            let d = post(&rig, b).await;
            if let Ok(mut l) = lat.lock() {
                l.push(d.as_secs_f64() * 1000.0);
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let v = lat.lock().map(|l| l.clone()).unwrap_or_default();
    v
}

async fn wait_delivered(rig: &Rig, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while rig.b24.customer_message_count() < n && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sustained: post `n` as fast as `conc` connections allow; throughput = arrivals at the
/// simulated imconnector.send.messages per second; end-to-end latency from post to arrival.
async fn sustained(rig: &Arc<Rig>, n: u64, conc: usize, run: &str) -> (f64, Vec<f64>) {
    let base = rig.b24.customer_message_count();
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..conc {
        let (rig, next, sent_at, run) =
            (rig.clone(), next.clone(), sent_at.clone(), run.to_string());
        workers.push(actix_web::rt::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let (wamid, b) = body(i, &run);
                if let Ok(mut m) = sent_at.lock() {
                    m.insert(wamid, Instant::now());
                }
                post(&rig, b).await;
            }
        }));
    }
    // Watch arrivals while posting.
    let mut e2e = Vec::new();
    let mut seen = base;
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen < base + n as usize && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        // Only the new arrivals: copying every message each tick would load the process
        // (and the simulator's lock) that is being measured.
        let ids = rig.b24.customer_message_ids_since(seen);
        let now = Instant::now();
        if let Ok(m) = sent_at.lock() {
            for id in &ids {
                if let Some(t) = m.get(id) {
                    e2e.push(now.duration_since(*t).as_secs_f64() * 1000.0);
                }
            }
        }
        seen += ids.len();
    }
    for w in workers {
        let _ = w.await;
    }
    let secs = start.elapsed().as_secs_f64();
    ((seen - base) as f64 / secs, e2e)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn run_backend(name: &str, db_url: String, n: u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let rig = Arc::new(rig(db_url, dir.path()).await);
    let mut a100 = ack_at_rate(&rig, 100, 3, &format!("{name}r100")).await;
    wait_delivered(&rig, 300, 60).await;
    let mut a1000 = ack_at_rate(&rig, 1000, 3, &format!("{name}r1000")).await;
    wait_delivered(&rig, 3300, 120).await;
    let (tput, mut e2e) = sustained(&rig, n, 64, &format!("{name}s")).await;
    let rss = peak_rss_mb();
    println!("\n{name}: ack p50/p99 @100/s = {:.2}/{:.2} ms; @1000/s = {:.2}/{:.2} ms; sustained {tput:.0} msg/s; e2e p50/p99 = {:.1}/{:.1} ms; peak RSS {rss:.0} MB (whole bench process)",
        pct(&mut a100.clone(), 0.5), pct(&mut a100, 0.99), pct(&mut a1000.clone(), 0.5), pct(&mut a1000, 0.99), pct(&mut e2e.clone(), 0.5), pct(&mut e2e, 0.99));
    println!("bench ack_p50_100_{name} {:.2} ms", pct(&mut a100, 0.5));
    println!("bench ack_p99_100_{name} {:.2} ms", pct(&mut a100, 0.99));
    println!("bench ack_p50_1000_{name} {:.2} ms", pct(&mut a1000, 0.5));
    println!("bench ack_p99_1000_{name} {:.2} ms", pct(&mut a1000, 0.99));
    println!("bench relay_throughput_{name} {tput:.0} msg/s");
    println!("bench e2e_p50_{name} {:.1} ms", pct(&mut e2e, 0.5));
    println!("bench e2e_p99_{name} {:.1} ms", pct(&mut e2e, 0.99));
    println!("bench peak_rss_{name} {rss:.0} MB");
    rig.stop.stop().await;
}

fn main() {
    let n: u64 = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    actix_web::rt::System::new().block_on(async move {
        use sqlx::Connection;
        let admin = std::env::var("DATABASE_TEST_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must answer");
        let db = format!("b24wa_bench_{}", sim::random_hex(6));
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut conn)
            .await
            .expect("create db");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        // Loopback: TLS to PostgreSQL would only cost CPU on both sides (perf showed ~18 %).
        run_backend("pg", format!("{base}/{db}?sslmode=disable"), n).await;
        // FORCE: the stopped service's pool may still hold idle connections.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let dir = tempfile::tempdir().expect("tmp");
        run_backend(
            "sqlite",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            n,
        )
        .await;
    });
}
