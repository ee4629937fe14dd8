//! `make bench-cluster`: throughput of 1 and of 2 nodes (release `b24wa serve` processes on one
//! PostgreSQL and one Redis, behind a round-robin balancer) with every Bitrix24 call taking
//! 50 ms, what cluster mode costs one node (the same node without Redis), and the failover time
//! when one of two nodes is SIGKILLed.
//! Prints a table and `bench <name> <value> <unit>` lines.
//!
//! Several portals (tenants), each with one number: a portal's calls are serial through its one
//! actor, so what a second node adds is room for more portals' actors. With `B24WA_BENCH_PIN=1`
//! (the default) each node is pinned to one core (`taskset`) as a stand-in for one machine per
//! node; the simulators, the load generator and PostgreSQL share the same cores regardless.
//! On a 2-core machine everything together keeps both cores 83-95 % busy already with one node,
//! so a second node on the same cores cannot add throughput: the scaling figure means something
//! only with nodes (and PostgreSQL) on machines of their own.

#[path = "../sim/mod.rs"]
mod sim;

#[path = "../common/mod.rs"]
#[allow(unused_imports, unused_macros)]
mod common;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{spawn_cluster_pinned, ProcessCluster};
use serde_json::json;
use sim::{BitrixSim, BitrixSimConfig, GraphSim};

const PORTALS: usize = 6;
const LATENCY: Duration = Duration::from_millis(50);
const MESSAGES: u64 = 10_000;
const CONCURRENCY: usize = 192;
const CUSTOMERS_PER_NUMBER: u64 = 40;

struct Tenant {
    b24: BitrixSim,
    pnid: String,
    secret: String,
    display: String,
}

fn b24_config(client_id: &str, client_secret: &str) -> BitrixSimConfig {
    BitrixSimConfig {
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        rate_limit: None,
        latency: LATENCY,
        ..BitrixSimConfig::default()
    }
}

/// A cluster of `nodes` with `PORTALS` installed portals, one Cloud API number each; without
/// `redis`, the one node runs single-node (same balancer in front, for a fair comparison).
async fn rig(nodes: usize, pin: bool, redis: bool) -> (ProcessCluster, Vec<Tenant>) {
    let first = b24_config("app.b24wa.test", "sim-secret");
    let c = spawn_cluster_pinned(
        nodes,
        first.clone(),
        |_, s| {
            common::unthrottled(s);
            s.retry_base_ms = 200;
            s.retry_max_ms = 2_000;
            if !redis {
                s.redis_url = None;
            }
        },
        pin,
    )
    .await;
    let mut tenants = Vec::new();
    for p in 0..PORTALS {
        let b24 = if p == 0 {
            c.b24.clone()
        } else {
            BitrixSim::start(b24_config(&first.client_id, &first.client_secret)).await
        };
        let status = b24
            .install_via_event(&format!("{}/bitrix24/install", c.url))
            .await;
        assert_eq!(status, 200, "install of portal {p}");
        let pnid = format!("9001{p:02}");
        let secret = format!("bench-secret-{p}");
        let display = format!("155500{p:02}999");
        c.graph.add_number(&pnid, "tok", &secret, &display);
        let mut connected = false;
        for _ in 0..100 {
            let (status, body) = c
                .api_post(
                    "/api/v1/numbers",
                    json!({"member_id": b24.member_id(), "line": "1", "phone_number_id": pnid,
                        "display_phone": display, "access_token": "tok", "app_secret": secret,
                        "verify_token": "v"}),
                )
                .await;
            // The connector may still be registering (install runs in the background).
            if status == 201 {
                connected = true;
                break;
            }
            assert!(status >= 400, "connect answered {status}: {body}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(connected, "number of portal {p} not connected");
        tenants.push(Tenant {
            b24,
            pnid,
            secret,
            display,
        });
    }
    (c, tenants)
}

async fn post(c: &ProcessCluster, t: &Tenant, i: u64, run: &str) -> bool {
    let body = GraphSim::inbound_text_body(
        &t.pnid,
        &t.display,
        &format!("4470{:06}", i % CUSTOMERS_PER_NUMBER),
        "Bench",
        &format!("wamid.{run}.{}.{i}", t.pnid),
        &format!("msg {i}"),
        sim::unix_now(),
    );
    let sig = GraphSim::sign(&t.secret, &body);
    let r = c
        .http
        .post(format!("{}/webhooks/whatsapp/cloud/{}", c.url, t.pnid))
        .header("X-Hub-Signature-256", sig)
        .header("Content-Type", "application/json")
        .timeout(Duration::from_secs(30))
        .body(body)
        .send()
        .await;
    matches!(r, Ok(r) if r.status().is_success())
}

fn delivered(tenants: &[Tenant]) -> usize {
    tenants.iter().map(|t| t.b24.customer_message_count()).sum()
}

/// Posts `MESSAGES` spread over the tenants as fast as `CONCURRENCY` connections allow;
/// throughput = arrivals at the portals' `imconnector.send.messages` per second.
async fn throughput(c: &Arc<ProcessCluster>, tenants: &Arc<Vec<Tenant>>, run: &str) -> f64 {
    let base = delivered(tenants);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (c, tenants, next, run) = (c.clone(), tenants.clone(), next.clone(), run.to_string());
        workers.push(actix_web::rt::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MESSAGES {
                    break;
                }
                let t = &tenants[(i as usize) % tenants.len()];
                while !post(&c, t, i, &run).await {
                    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while delivered(tenants) < base + MESSAGES as usize && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let got = delivered(tenants) - base;
    assert_eq!(got, MESSAGES as usize, "{run}: not every message arrived");
    got as f64 / start.elapsed().as_secs_f64()
}

/// Kills the node holding most leases while a steady trickle flows to every tenant; the time
/// until every tenant's portal and number run on the survivor and a message sent after the kill
/// to each tenant has reached its portal.
async fn failover(c: &Arc<ProcessCluster>, tenants: &Arc<Vec<Tenant>>) -> f64 {
    let state = c.state_on(0).await.expect("cluster state");
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for l in state["leases"].as_array().into_iter().flatten() {
        *per_node
            .entry(l["node"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let victim = if per_node.get("node-1").copied().unwrap_or(0)
        > per_node.get("node-0").copied().unwrap_or(0)
    {
        1
    } else {
        0
    };
    let survivor = 1 - victim;
    eprintln!("failover: leases per node {per_node:?}; killing node-{victim}");
    c.nodes[victim].kill();
    let killed = Instant::now();
    // After the kill, one message per tenant every 100 ms; done when each tenant has received
    // one sent after the kill and the survivor holds every lease with work.
    let base: Vec<usize> = tenants
        .iter()
        .map(|t| t.b24.customer_message_count())
        .collect();
    let mut i = 1_000_000u64;
    loop {
        for t in tenants.iter() {
            i += 1;
            let _ = post(c, t, i, "failover").await;
        }
        let all_arrived = tenants
            .iter()
            .zip(&base)
            .all(|(t, b)| t.b24.customer_message_count() > *b);
        let held = match c.state_on(survivor).await {
            Some(s) => s["held_here"].as_array().map_or(0, Vec::len),
            None => 0,
        };
        if all_arrived && held >= 2 * tenants.len() {
            return killed.elapsed().as_secs_f64();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no failover within 60 s"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run() {
    let pin = std::env::var("B24WA_BENCH_PIN").map_or(true, |v| v != "0");
    let mut tput = Vec::new();
    let mut fail_s = f64::NAN;
    let mut lease_moves = 0.0;
    // One node without Redis (single-node mode), then one and two nodes of a cluster.
    for (nodes, redis) in [(1usize, false), (1, true), (2, true)] {
        let (c, tenants) = rig(nodes, pin, redis).await;
        let (c, tenants) = (Arc::new(c), Arc::new(tenants));
        let run = format!("{nodes}{}", if redis { "r" } else { "s" });
        // Warm-up: every actor started, connections open.
        let _ = throughput_n(&c, &tenants, 200, &format!("warm{run}")).await;
        let t = throughput(&c, &tenants, &format!("run{run}")).await;
        println!("{nodes} node(s), Redis {redis}: {t:.0} msg/s");
        tput.push(t);
        if redis {
            // Leases that moved while every node was alive: each one is a lease that expired
            // under load (flapping). Must stay 0.
            let mut moved = 0.0;
            for n in 0..nodes {
                moved += c
                    .metric_on(n, b24wa::metrics::LEASE_MOVES)
                    .await
                    .unwrap_or(f64::NAN);
            }
            lease_moves += moved;
        }
        if nodes == 2 {
            fail_s = failover(&c, &tenants).await;
        }
        drop(tenants);
        if let Ok(c) = Arc::try_unwrap(c) {
            drop(c);
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    // What cluster mode costs one node: leases, Redis and the cross-node wake-ups.
    let single = tput.remove(0);
    let overhead = 1.0 - tput[0] / single;
    let ratio = tput[1] / tput[0];
    println!();
    println!(
        "| figure ({PORTALS} portals, Bitrix24 latency {} ms, nodes pinned: {pin}) | value |",
        LATENCY.as_millis()
    );
    println!("|---|---|");
    println!("| 1 node, single-node mode (no Redis) | {single:.0} msg/s |");
    println!("| 1 node | {:.0} msg/s |", tput[0]);
    println!("| 2 nodes | {:.0} msg/s |", tput[1]);
    println!("| scaling 1 → 2 | {ratio:.2}× (target ≥ 1.7×) |");
    println!(
        "| cluster mode's cost on 1 node | {:.1} % (target ≤ 10 %) |",
        overhead * 100.0
    );
    println!("| failover (SIGKILL → survivor runs all, delivers) | {fail_s:.2} s (target ≤ 2 s) |");
    println!("| leases moved under load, every node alive | {lease_moves} (target 0) |");
    println!("bench cluster_1_node {:.1} msg/s", tput[0]);
    println!("bench cluster_2_nodes {:.1} msg/s", tput[1]);
    println!("bench cluster_scaling_1_to_2 {ratio:.2} ratio");
    println!("bench cluster_overhead_1_node {overhead:.3} fraction");
    println!("bench failover_s {fail_s:.2} s");
    println!("bench cluster_lease_moves_under_load {lease_moves} count");
    common::drop_test_databases().await;
}

/// `throughput` for a given count (warm-up).
async fn throughput_n(
    c: &Arc<ProcessCluster>,
    tenants: &Arc<Vec<Tenant>>,
    n: u64,
    run: &str,
) -> usize {
    let base = delivered(tenants);
    for i in 0..n {
        let t = &tenants[(i as usize) % tenants.len()];
        let _ = post(c, t, i, run).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered(tenants) < base + n as usize && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    delivered(tenants) - base
}

fn main() {
    actix_web::rt::System::new().block_on(run());
}
