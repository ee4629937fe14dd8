//! `make bench`: the relay benchmark. The service is the release `b24wa serve` binary in a
//! process of its own (PostgreSQL, then SQLite); the simulators and the load generator run in
//! this process, so each side's CPU is measured apart: `relay_cpu_us_per_msg_service`,
//! `_postgres` (every PostgreSQL process, from /proc) and `_sim` (this process).
//! Drives signed inbound text webhooks and prints a table and one `bench <name> <value> <unit>`
//! line per figure.
//!
//! `B24WA_BENCH_PROFILE=1` also samples the service with `perf` during the sustained run and
//! prints its ten hottest functions. `B24WA_BENCH_BACKENDS=pg` (or `sqlite`) runs one backend;
//! `BENCH_MESSAGES` sets the sustained run's length (5,000).

#[path = "../sim/mod.rs"]
mod sim;

#[path = "../common/mod.rs"]
#[allow(unused_imports, unused_macros)]
mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{spawn_process_config, Backend, Number, ProcessApp};
use sim::{BitrixSimConfig, GraphSim};

const PNID: &str = "900100";

struct Rig {
    app: ProcessApp,
    client: reqwest::Client,
    number: Number,
}

async fn rig(backend: Backend) -> Rig {
    let cfg = BitrixSimConfig {
        rate_limit: None,
        ..BitrixSimConfig::default()
    };
    let app = spawn_process_config(
        backend,
        cfg,
        |s| {
            if let Some(url) = s.database_url.as_mut() {
                if url.starts_with("postgres") {
                    // Loopback: TLS to PostgreSQL would only cost CPU on both sides.
                    url.push_str("?sslmode=disable");
                }
            }
            common::unthrottled(s);
            // Only texts are sent here.
            s.transcribe_model = None;
            s.debug_faults = false;
        },
        &[],
    )
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("client");
    app.install().await;
    let number = app.connect("1", PNID).await;
    Rig {
        app,
        client,
        number,
    }
}

fn body(rig: &Rig, i: u64, run: &str) -> (String, Vec<u8>) {
    let wamid = format!("wamid.{run}.{i}");
    let b = GraphSim::inbound_text_body(
        PNID,
        &rig.number.display_phone,
        &format!("4470{:06}", i % 500),
        "Bench",
        &wamid,
        &format!("msg {i}"),
        sim::unix_now(),
    );
    (wamid, b)
}

async fn post(rig: &Rig, b: Vec<u8>) -> Duration {
    let sig = GraphSim::sign(&rig.number.app_secret, &b);
    let t = Instant::now();
    let r = rig
        .client
        .post(format!("{}/webhooks/whatsapp/cloud/{PNID}", rig.app.url))
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

type SentAt = Arc<Mutex<HashMap<String, Instant>>>;

/// End-to-end latencies in ms: from each post (`sent_at`) to its arrival at the simulated Open
/// Lines, watched every 5 ms (so up to 5 ms late) until `n` new messages arrived after `base`
/// or `secs` passed. Returns them with the count that arrived.
async fn watch_arrivals(
    rig: &Rig,
    sent_at: &SentAt,
    base: usize,
    n: usize,
    secs: u64,
) -> (Vec<f64>, usize) {
    let mut e2e = Vec::new();
    let mut seen = base;
    let deadline = Instant::now() + Duration::from_secs(secs);
    while seen < base + n && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        // Only the new arrivals: copying every message each tick would load the simulator's
        // lock on the way of the service's calls.
        let ids = rig.app.b24.customer_message_ids_since(seen);
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
    (e2e, seen - base)
}

/// Fixed-rate load: acknowledgement latencies and end-to-end latencies, in ms.
async fn ack_at_rate(rig: &Arc<Rig>, rate: u64, secs: u64, run: &str) -> (Vec<f64>, Vec<f64>) {
    let lat = Arc::new(Mutex::new(Vec::new()));
    let sent_at: SentAt = Arc::default();
    let total = rate * secs;
    let watcher = {
        let (rig, sent_at) = (rig.clone(), sent_at.clone());
        let base = rig.app.b24.customer_message_count();
        actix_web::rt::spawn(async move {
            watch_arrivals(&rig, &sent_at, base, total as usize, secs + 60)
                .await
                .0
        })
    };
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        let now = Instant::now();
        if due > now {
            actix_web::rt::time::sleep(due - now).await;
        }
        let (wamid, b) = body(rig, i, run);
        if let Ok(mut m) = sent_at.lock() {
            m.insert(wamid, Instant::now());
        }
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
    let acks = lat.lock().map(|l| l.clone()).unwrap_or_default();
    (acks, watcher.await.unwrap_or_default())
}

async fn wait_delivered(rig: &Rig, n: usize, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while rig.app.b24.customer_message_count() < n && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sustained: post `n` as fast as `conc` connections allow; throughput = arrivals at the
/// simulated imconnector.send.messages per second; end-to-end latency from post to arrival.
async fn sustained(rig: &Arc<Rig>, n: u64, conc: usize, run: &str) -> (f64, Vec<f64>) {
    let base = rig.app.b24.customer_message_count();
    let sent_at: SentAt = Arc::default();
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
                let (wamid, b) = body(&rig, i, &run);
                if let Ok(mut m) = sent_at.lock() {
                    m.insert(wamid, Instant::now());
                }
                post(&rig, b).await;
            }
        }));
    }
    // Watch arrivals while posting.
    let (e2e, arrived) = watch_arrivals(rig, &sent_at, base, n as usize, 300).await;
    for w in workers {
        let _ = w.await;
    }
    let secs = start.elapsed().as_secs_f64();
    (arrived as f64 / secs, e2e)
}

/// CPU time (user + system) of a process so far, in µs; `None` once it is gone.
fn cpu_us(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime
    // and stime the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 1e6 / clock_ticks())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU time of every PostgreSQL process (server and backends), in µs.
fn postgres_cpu_us() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return f64::NAN;
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().to_string();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "postgres").then(|| cpu_us(&pid)).flatten()
        })
        .sum()
}

/// Peak resident memory (VmHWM) of a process, in MB.
fn peak_rss_mb(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
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

/// The service's own count of SQL statements sent (`/metrics`).
async fn statements(rig: &Rig) -> f64 {
    let Ok(r) = rig
        .client
        .get(format!("{}/metrics", rig.app.url))
        .send()
        .await
    else {
        return f64::NAN;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("b24wa_db_statements_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// PostgreSQL's own counters for the service's database: transactions committed (a statement
/// outside a transaction is one) and WAL flushes to disk (the whole server).
async fn pg_counters(rig: &Rig) -> Option<(f64, f64)> {
    use sqlx::Connection;
    let url = rig.app.settings.database_url.clone()?;
    let db = url.rsplit_once('/')?.1.split('?').next()?.to_string();
    let admin = std::env::var("DATABASE_TEST_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
    let commits: i64 =
        sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
            .bind(&db)
            .fetch_one(&mut conn)
            .await
            .ok()?;
    let syncs: i64 = sqlx::query_scalar("SELECT wal_sync FROM pg_stat_wal")
        .fetch_one(&mut conn)
        .await
        .ok()?;
    Some((commits as f64, syncs as f64))
}

/// An idle backend reports its statistics up to 10 s late (PostgreSQL 15): wait them out.
async fn settle_pg_stats() {
    actix_web::rt::time::sleep(Duration::from_secs(11)).await;
}

/// `perf record` of the service while the sustained run goes, when asked for.
fn start_profile(pid: &str, out: &std::path::Path) -> Option<std::process::Child> {
    if std::env::var("B24WA_BENCH_PROFILE").ok().as_deref() != Some("1") {
        return None;
    }
    std::process::Command::new("perf")
        .args(["record", "-F", "499", "-g", "-p", pid, "-o"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// Stops `perf record` (SIGINT writes its file) and prints the ten hottest functions by their
/// own samples.
fn report_profile(name: &str, child: Option<std::process::Child>, out: &std::path::Path) {
    let Some(mut child) = child else { return };
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let Ok(report) = std::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--sort",
            "dso,symbol",
            "-i",
        ])
        .arg(out)
        .output()
    else {
        println!("{name}: perf report failed");
        return;
    };
    println!("\n{name}: service CPU profile, top 10 functions (self time):");
    for line in String::from_utf8_lossy(&report.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .take(10)
    {
        // perf pads its columns to the terminal's width: one space between fields is enough.
        let fields: Vec<&str> = line.split_whitespace().filter(|f| *f != "-").collect();
        println!("  {}", fields.join(" "));
    }
}

async fn run_backend(name: &str, backend: Backend, n: u64) {
    let rig = Arc::new(rig(backend).await);
    let pid = rig.app.pid().expect("service running").to_string();
    let is_pg = backend == Backend::Postgres;
    let (mut a100, _) = ack_at_rate(&rig, 100, 3, &format!("{name}r100")).await;
    wait_delivered(&rig, 300, 60).await;
    let (mut a1000, mut e1000) = ack_at_rate(&rig, 1000, 3, &format!("{name}r1000")).await;
    wait_delivered(&rig, 3300, 120).await;
    if is_pg {
        settle_pg_stats().await;
    }
    let before = (
        cpu_us(&pid),
        postgres_cpu_us(),
        cpu_us("self"),
        statements(&rig).await,
        pg_counters(&rig).await,
    );
    let profile_file = tempfile::NamedTempFile::new().expect("tmp");
    let profile = start_profile(&pid, profile_file.path());
    let (tput, mut e2e) = sustained(&rig, n, 64, &format!("{name}s")).await;
    let after_cpu = (cpu_us(&pid), postgres_cpu_us(), cpu_us("self"));
    report_profile(name, profile, profile_file.path());
    let after_statements = statements(&rig).await;
    if is_pg {
        settle_pg_stats().await;
    }
    let after_pg = pg_counters(&rig).await;
    let per_msg = |a: f64, b: f64| (a - b) / n as f64;
    let service = per_msg(
        after_cpu.0.unwrap_or(f64::NAN),
        before.0.unwrap_or(f64::NAN),
    );
    let postgres = per_msg(after_cpu.1, before.1);
    let sim = per_msg(
        after_cpu.2.unwrap_or(f64::NAN),
        before.2.unwrap_or(f64::NAN),
    );
    let stmts = per_msg(after_statements, before.3);
    let rss = peak_rss_mb(&pid);
    println!("\n{name}: ack p50/p99 @100/s = {:.2}/{:.2} ms; @1000/s = {:.2}/{:.2} ms; sustained {tput:.0} msg/s; e2e p50/p99 = {:.1}/{:.1} ms; service peak RSS {rss:.0} MB",
        pct(&mut a100.clone(), 0.5), pct(&mut a100, 0.99), pct(&mut a1000.clone(), 0.5), pct(&mut a1000, 0.99), pct(&mut e2e.clone(), 0.5), pct(&mut e2e, 0.99));
    println!("bench ack_p50_100_{name} {:.2} ms", pct(&mut a100, 0.5));
    println!("bench ack_p99_100_{name} {:.2} ms", pct(&mut a100, 0.99));
    println!("bench ack_p50_1000_{name} {:.2} ms", pct(&mut a1000, 0.5));
    println!("bench ack_p99_1000_{name} {:.2} ms", pct(&mut a1000, 0.99));
    println!("bench relay_throughput_{name} {tput:.0} msg/s");
    println!("bench e2e_p50_{name} {:.1} ms", pct(&mut e2e, 0.5));
    println!("bench e2e_p99_{name} {:.1} ms", pct(&mut e2e, 0.99));
    println!("bench e2e_p50_1000_{name} {:.1} ms", pct(&mut e1000, 0.5));
    println!("bench e2e_p99_1000_{name} {:.1} ms", pct(&mut e1000, 0.99));
    println!("bench peak_rss_{name} {rss:.0} MB");
    println!("bench relay_cpu_us_per_msg_service_{name} {service:.0} us");
    if is_pg {
        println!("bench relay_cpu_us_per_msg_postgres_{name} {postgres:.0} us");
    }
    println!("bench relay_cpu_us_per_msg_sim_{name} {sim:.0} us");
    println!("bench relay_sql_statements_per_msg_{name} {stmts:.1} statements");
    if let (Some((c0, w0)), Some((c1, w1))) = (before.4, after_pg) {
        println!(
            "bench relay_commits_per_msg_{name} {:.2} commits",
            per_msg(c1, c0)
        );
        println!(
            "bench relay_wal_syncs_per_msg_{name} {:.2} syncs",
            per_msg(w1, w0)
        );
    }
}

fn main() {
    let n: u64 = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    actix_web::rt::System::new().block_on(async move {
        // `B24WA_BENCH_BACKENDS=pg` (or `sqlite`) runs one of the two.
        let only = std::env::var("B24WA_BENCH_BACKENDS").unwrap_or_default();
        for (name, backend) in [("pg", Backend::Postgres), ("sqlite", Backend::Sqlite)] {
            if only.is_empty() || only.split(',').any(|b| b == name) {
                run_backend(name, backend, n).await;
            }
        }
        common::drop_test_databases().await;
    });
}
