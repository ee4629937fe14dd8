//! Cluster mode: three `b24wa serve` processes on one PostgreSQL database and one Redis, behind
//! a round-robin balancer (so two webhooks in three land on a node that does not own their
//! number and are handed over). One node is SIGKILLed mid-traffic. Checked: within 5 s every
//! actor is owned by exactly one live node; every message arrives, once, in per-chat order (a
//! repeat only of a call the killed node had in flight, as in tests/crash.rs).

mod common;
mod sim;

use std::{
    collections::{HashMap, HashSet},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use common::{
    chat_key,
    delivery::{first_arrivals, reply_key, until_answered, InFlight},
    settle, spawn_cluster, Number, ProcessCluster,
};
use futures::future::join_all;
use serde_json::Value;
use sim::BitrixSimConfig;

const NODES: usize = 3;
const NUMBERS: usize = 3;
const CHATS_PER_NUMBER: usize = 2;
const MESSAGES_PER_CHAT: usize = 30;
const REPLIES_PER_CHAT: usize = 12;
/// The bound for a dead node's actors to be running elsewhere.
const FAILOVER_LIMIT: Duration = Duration::from_secs(5);

struct Chat {
    number: usize,
    wa_id: String,
    key: String,
}

fn wamid(chat: usize, i: usize) -> String {
    format!("wamid.CLUSTER{chat}x{i:03}")
}

fn text_of(wamid: &str) -> String {
    format!("customer message {wamid}")
}

fn reply_text(chat: usize, i: usize) -> String {
    format!("reply {chat}-{i:03}")
}

/// Owner → holding node, from one live node's `/api/v1/cluster`.
fn leases(state: &Value) -> HashMap<String, String> {
    state["leases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| Some((l["owner"].as_str()?.into(), l["node"].as_str()?.into())))
        .collect()
}

fn node_name(i: usize) -> String {
    format!("node-{i}")
}

/// Whether every owner in `owners` is held by a live node, and no two live nodes run the same
/// owner (each node's own list of what it runs, asked separately).
async fn owned_once_by_live_nodes(
    c: &ProcessCluster,
    live: &[usize],
    owners: &[String],
) -> Result<(), String> {
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    let mut table = None;
    for &i in live {
        let state = c
            .state_on(i)
            .await
            .ok_or_else(|| format!("{} did not answer", node_name(i)))?;
        for owner in state["held_here"].as_array().into_iter().flatten() {
            if let Some(o) = owner.as_str() {
                runs.entry(o.to_string()).or_default().push(node_name(i));
            }
        }
        table.get_or_insert(leases(&state));
    }
    let table = table.unwrap_or_default();
    let live_names: HashSet<String> = live.iter().map(|&i| node_name(i)).collect();
    for owner in owners {
        match table.get(owner) {
            Some(node) if live_names.contains(node) => {}
            other => return Err(format!("{owner}: lease held by {other:?}")),
        }
        match runs.get(owner).map(Vec::as_slice) {
            Some([_]) => {}
            other => return Err(format!("{owner}: run by {other:?}")),
        }
    }
    if let Some((owner, nodes)) = runs.iter().find(|(_, n)| n.len() > 1) {
        return Err(format!("{owner} runs on {nodes:?}"));
    }
    Ok(())
}

/// The node holding most leases (the kill hurts most there; with the portal's, when tied).
async fn busiest_node(c: &ProcessCluster) -> usize {
    let state = c.state_on(0).await.expect("node-0 answers /cluster");
    let mut count = [0usize; NODES];
    for (owner, node) in leases(&state) {
        if let Some(i) = (0..NODES).find(|&i| node_name(i) == node) {
            // The portal's lease weighs a little more: its failover is the harder one.
            count[i] += if owner.starts_with("portal:") { 3 } else { 2 };
        }
    }
    eprintln!("cluster: leases before the kill {:?}", leases(&state));
    (0..NODES).max_by_key(|&i| count[i]).unwrap_or(0)
}

/// A chat's first arrivals at Bitrix24: the acknowledged messages in the order sent; a message
/// whose acknowledgement was lost with the killed node (stored there or not, then redelivered
/// by Meta) anywhere after every message sent before it; nothing else.
fn check_order(k: usize, first: &[String], accepted: &[String], all: &[String]) {
    let acked: Vec<&String> = first.iter().filter(|w| accepted.contains(w)).collect();
    assert_eq!(
        acked,
        accepted.iter().collect::<Vec<_>>(),
        "chat {k}: acknowledged messages in Bitrix24 out of order"
    );
    let mut got: Vec<&String> = first.iter().collect();
    let mut want: Vec<&String> = all.iter().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "chat {k}: not exactly the messages sent");
    let at = |w: &String| first.iter().position(|x| x == w);
    for w in all.iter().filter(|w| !accepted.contains(w)) {
        // Sent after every wamid that sorts before it (the numbering is the send order).
        for earlier in accepted.iter().filter(|a| *a < w) {
            assert!(
                at(earlier) < at(w),
                "chat {k}: {w} (redelivered) reached Bitrix24 before {earlier}"
            );
        }
    }
}

#[actix_web::test]
async fn three_nodes_share_the_work_and_one_dying_loses_nothing() {
    let c = spawn_cluster(NODES, BitrixSimConfig::default(), |_, _| {}).await;
    c.install().await;
    let mut numbers: Vec<Number> = Vec::new();
    for i in 0..NUMBERS {
        numbers.push(c.connect(&(i + 1).to_string(), &format!("55520{i}")).await);
    }
    let chats: Vec<Chat> = (0..NUMBERS * CHATS_PER_NUMBER)
        .map(|k| {
            let number = k % NUMBERS;
            let wa_id = format!("4871000000{k}");
            let key = chat_key(&wa_id, &numbers[number]);
            Chat { number, wa_id, key }
        })
        .collect();

    // 1. Customers write in every chat at once, each chat in sequence (Meta's order); after
    // 40 % of the sends the busiest node is SIGKILLed.
    let total = chats.len() * MESSAGES_PER_CHAT;
    let started = AtomicUsize::new(0);
    let writers = chats.iter().enumerate().map(|(k, chat)| {
        let (c, n, started) = (&c, &numbers[chat.number], &started);
        async move {
            let (mut accepted, mut refused) = (Vec::new(), Vec::new());
            for i in 0..MESSAGES_PER_CHAT {
                let w = wamid(k, i);
                started.fetch_add(1, Ordering::SeqCst);
                if c.customer_writes(n, &chat.wa_id, &w, &text_of(&w)).await == 200 {
                    accepted.push(w);
                } else {
                    refused.push(w);
                }
                // Real customers pause; it also spreads the traffic over the kill.
                actix_web::rt::time::sleep(Duration::from_millis(15)).await;
            }
            (accepted, refused)
        }
    });
    let killer = async {
        while started.load(Ordering::SeqCst) < total * 4 / 10 {
            actix_web::rt::time::sleep(Duration::from_millis(2)).await;
        }
        let victim = busiest_node(&c).await;
        c.nodes[victim].kill();
        let killed_at = Instant::now();
        // What the killed node may have had accepted without recording it: its last calls.
        // (Taken before its leases expire, so no other node has called for its owners yet.)
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        (victim, killed_at, InFlight::snapshot(&c.nodes[0]))
    };
    let (outcomes, (victim, killed_at, in_flight)) = futures::join!(join_all(writers), killer);
    let live: Vec<usize> = (0..NODES).filter(|&i| i != victim).collect();
    eprintln!("cluster: SIGKILLed {}", node_name(victim));

    // 2. Within 5 s of the kill every actor is owned by exactly one live node.
    let portal_id = {
        let (status, body) = c.api_get("/api/v1/portals").await;
        assert_eq!(status, 200, "{body}");
        body["items"][0]["id"].as_i64().expect("portal id")
    };
    let mut owners: Vec<String> = numbers.iter().map(|n| format!("number:{}", n.id)).collect();
    owners.push(format!("portal:{portal_id}"));
    let failover = loop {
        match owned_once_by_live_nodes(&c, &live, &owners).await {
            Ok(()) => break killed_at.elapsed(),
            Err(why) => {
                assert!(
                    killed_at.elapsed() < FAILOVER_LIMIT,
                    "{FAILOVER_LIMIT:?} after the kill: {why}"
                );
                // Customers go on writing (Meta retries the refused ones).
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!("cluster: every actor owned by one live node {failover:?} after the kill");

    let mut expected_b24: Vec<Vec<String>> = Vec::new();
    let mut accepted_b24: Vec<Vec<String>> = Vec::new();
    for (k, (accepted, refused)) in outcomes.into_iter().enumerate() {
        accepted_b24.push(accepted.clone());
        // Meta redelivers what was not acknowledged, in order.
        let chat = &chats[k];
        for w in &refused {
            let status = until_answered(|| async {
                c.customer_writes(&numbers[chat.number], &chat.wa_id, w, &text_of(w))
                    .await
            })
            .await;
            assert_eq!(status, 200, "Meta's retry of {w}");
        }
        expected_b24.push(accepted.into_iter().chain(refused).collect());
    }

    // Meta redelivers acknowledged messages to every live node at once: each answers 200 and
    // (checked at the end) each message still reaches Bitrix24 once (dedup across nodes).
    for (k, chat) in chats.iter().enumerate().take(2) {
        let w = expected_b24[k]
            .iter()
            .find(|w| !in_flight.b24.contains(*w))
            .expect("an acknowledged message not in flight at the kill")
            .clone();
        let n = &numbers[chat.number];
        let body = sim::GraphSim::inbound_text_body(
            &n.phone_number_id,
            &n.display_phone,
            &chat.wa_id,
            "Anna Kowalska",
            &w,
            &text_of(&w),
            sim::unix_now(),
        );
        let sig = sim::GraphSim::sign(&n.app_secret, &body);
        let statuses = join_all(live.iter().map(|&i| {
            let (c, body, sig) = (&c, body.clone(), sig.clone());
            async move {
                c.http
                    .post(format!("{}/webhooks/whatsapp/cloud", c.nodes[i].node_url()))
                    .header("X-Hub-Signature-256", sig)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        }))
        .await;
        assert!(
            statuses.iter().all(|s| *s == 200),
            "redelivery of {w}: {statuses:?}"
        );
    }

    // 3. Operators reply in every chat (Bitrix24 posts the events to the balancer).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !chats
        .iter()
        .all(|ch| c.b24.conversations().iter().any(|x| x.chat_id == ch.key))
    {
        assert!(Instant::now() < deadline, "no conversation for every chat");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let expected_wa: Vec<Vec<String>> = join_all(chats.iter().enumerate().map(|(k, chat)| {
        let c = &c;
        async move {
            let mut sent = Vec::new();
            for i in 0..REPLIES_PER_CHAT {
                let text = reply_text(k, i);
                let line = (chat.number + 1).to_string();
                let op = c.b24.operator_write(&line, &chat.key, &text).await;
                assert_eq!(op.http_status, 200, "operator event for {text}");
                sent.push(text);
            }
            sent
        }
    }))
    .await;

    // 4. Everything arrives once, in order.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let got_b24: HashSet<String> = c
            .b24
            .customer_messages()
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        let got_wa: HashSet<String> = c
            .graph
            .sent_messages()
            .iter()
            .filter_map(|m| reply_key(&m.text))
            .collect();
        let missing_b24 = expected_b24
            .iter()
            .flatten()
            .filter(|w| !got_b24.contains(*w))
            .count();
        let missing_wa = expected_wa
            .iter()
            .flatten()
            .filter(|t| !got_wa.contains(*t))
            .count();
        if missing_b24 == 0 && missing_wa == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost: {missing_b24} customer messages, {missing_wa} replies"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;

    let all_b24 = c.b24.customer_messages();
    let all_wa = c.graph.sent_messages();
    for (k, chat) in chats.iter().enumerate() {
        let (first, repeats) = first_arrivals(
            all_b24
                .iter()
                .filter(|m| m.user_id == chat.wa_id)
                .map(|m| m.message_id.clone()),
        );
        check_order(k, &first, &accepted_b24[k], &expected_b24[k]);
        for (id, n) in &repeats {
            assert!(
                in_flight.b24.contains(id) && *n == 1,
                "chat {k}: {id} reached Bitrix24 {} times (not in flight at the kill)",
                n + 1
            );
        }
        let (first, repeats) = first_arrivals(
            all_wa
                .iter()
                .filter(|m| common::delivery::digits(&m.to) == chat.wa_id)
                .filter_map(|m| reply_key(&m.text)),
        );
        assert_eq!(first, expected_wa[k], "chat {k}: WhatsApp order");
        assert!(
            repeats.is_empty(),
            "chat {k}: replies sent twice after the kill: {repeats:?}"
        );
    }

    // Each live node took webhooks (the balancer spread them; non-owners handed them over).
    for &i in &live {
        let metrics = c
            .http
            .get(format!("{}/metrics", c.nodes[i].node_url()))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .unwrap_or_default();
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("b24wa_webhooks_received_total{")
                    && l.contains("outcome=\"stored\"")
                    && !l.ends_with(" 0")),
            "{} stored no webhook",
            node_name(i)
        );
    }
    drop(c);
    settle().await;
}

/// Waits (at most `within`) until every one of `sent` has reached Bitrix24 from customer `wa`,
/// then checks each arrived once and in order.
async fn arrive_once_in_order(
    c: &ProcessCluster,
    wa: &str,
    sent: &[String],
    within: Duration,
    when: &str,
) {
    let deadline = Instant::now() + within;
    loop {
        let got: Vec<String> = c
            .b24
            .customer_messages()
            .into_iter()
            .filter(|m| m.user_id == wa)
            .map(|m| m.message_id)
            .collect();
        if got.len() >= sent.len() {
            assert_eq!(got, sent, "once each, in order");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} arrived {within:?} {when}",
            got.len(),
            sent.len()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A node stopped with SIGTERM finishes its work and hands its leases back: the other node runs
/// its actors at once (well within one lease life), and nothing is lost or doubled.
#[actix_web::test]
async fn a_stopping_node_hands_its_actors_over_at_once() {
    let c = spawn_cluster(2, BitrixSimConfig::default(), |_, s| s.lease_ms = 10_000).await;
    c.install().await;
    let n = c.connect("1", "5553001").await;
    let wa = "48720000001";
    // Webhooks alternate between the nodes; whichever took the number's lease keeps it.
    let mut sent = Vec::new();
    for i in 0..10 {
        let w = wamid(90, i);
        assert_eq!(c.customer_writes(&n, wa, &w, &text_of(&w)).await, 200);
        sent.push(w);
    }
    let owner = format!("number:{}", n.id);
    let state = c.state_on(0).await.expect("cluster state");
    let holder = leases(&state)
        .get(&owner)
        .cloned()
        .expect("the number's lease is held");
    let (stopping, other) = if holder == node_name(0) {
        (0, 1)
    } else {
        (1, 0)
    };
    let status = c.nodes[stopping]
        .terminate(Duration::from_secs(15))
        .expect("the node stops within its deadline");
    assert!(status.success(), "exit status {status}");
    let stopped = Instant::now();
    // With a 10 s lease, only the handed-back lease lets the other node take over this soon.
    for i in 10..20 {
        let w = wamid(90, i);
        let status =
            until_answered(|| async { c.customer_writes(&n, wa, &w, &text_of(&w)).await }).await;
        assert_eq!(status, 200, "{w}");
        sent.push(w);
    }
    arrive_once_in_order(&c, wa, &sent, Duration::from_secs(5), "after the stop").await;
    let state = c.state_on(other).await.expect("cluster state");
    assert_eq!(
        leases(&state).get(&owner),
        Some(&node_name(other)),
        "the number runs on the remaining node"
    );
    assert_eq!(
        state["nodes"],
        serde_json::json!([node_name(other)]),
        "the stopped node left"
    );
    eprintln!(
        "cluster: after SIGTERM everything delivered {:?} after the stop",
        stopped.elapsed()
    );
    drop(c);
    settle().await;
}

/// Failed logins count across the cluster: guesses spread over the nodes hit the same limit as
/// on one node (per-node counting would allow the limit once per node).
#[actix_web::test]
async fn failed_logins_are_limited_across_nodes() {
    let c = spawn_cluster(2, BitrixSimConfig::default(), |_, s| {
        s.login_max_failures_per_account = 5;
        s.login_max_failures_per_ip = 1_000;
    })
    .await;
    let attempt = |node: usize| {
        let c = &c;
        async move {
            c.http
                .post(format!("{}/api/v1/auth/login", c.nodes[node].node_url()))
                .json(&serde_json::json!({"email": "guess@example.com", "password": "not-the-password"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    for i in 0..5 {
        assert_eq!(attempt(i % 2).await, 401, "attempt {i} on node-{}", i % 2);
    }
    // Each node has seen fewer than five: only a shared count refuses these.
    assert_eq!(attempt(0).await, 429, "sixth attempt on node-0");
    assert_eq!(attempt(1).await, 429, "sixth attempt on node-1");
    drop(c);
    settle().await;
}

/// A Redis server of the test's own on `port` (the machine's `redis-server`), killed on drop.
struct OwnRedis(std::process::Child);

impl OwnRedis {
    async fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (see .ci/run)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        Self(child)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Redis goes away for a while: webhooks are still accepted (stored), nodes stop running work
/// they can no longer prove they own, say they are not ready; once Redis is back (empty: it
/// keeps nothing), leases are taken again and everything arrives once, in order.
#[actix_web::test]
async fn a_redis_outage_delays_messages_and_loses_none() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let redis = OwnRedis::start(port).await;
    let url = format!("redis://127.0.0.1:{port}/");
    let c = spawn_cluster(2, BitrixSimConfig::default(), |_, s| {
        s.redis_url = Some(secrecy::SecretString::from(url.clone()));
        s.lease_ms = 1_500;
    })
    .await;
    c.install().await;
    let n = c.connect("1", "5554001").await;
    let wa = "48730000001";
    let mut sent = Vec::new();
    for i in 0..5 {
        let w = wamid(70, i);
        assert_eq!(c.customer_writes(&n, wa, &w, &text_of(&w)).await, 200);
        sent.push(w);
    }
    drop(redis);
    // Past a lease life without Redis no node may still be running the number.
    actix_web::rt::time::sleep(Duration::from_millis(2_000)).await;
    let before = c
        .b24
        .customer_messages()
        .into_iter()
        .filter(|m| m.user_id == wa)
        .count();
    for i in 5..10 {
        let w = wamid(70, i);
        let status =
            until_answered(|| async { c.customer_writes(&n, wa, &w, &text_of(&w)).await }).await;
        assert_eq!(status, 200, "{w} accepted while Redis is down");
        sent.push(w);
    }
    let not_ready = c
        .http
        .get(format!("{}/readyz", c.nodes[0].node_url()))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(not_ready, 503, "ready without Redis");
    actix_web::rt::time::sleep(Duration::from_millis(1_500)).await;
    let during = c
        .b24
        .customer_messages()
        .into_iter()
        .filter(|m| m.user_id == wa)
        .count();
    assert_eq!(
        during, before,
        "a message was relayed while no node could hold the number's lease"
    );
    let _redis = OwnRedis::start(port).await;
    arrive_once_in_order(
        &c,
        wa,
        &sent,
        Duration::from_secs(20),
        "after Redis came back",
    )
    .await;
    eprintln!(
        "cluster: {before} of 10 delivered before the leases lapsed; the rest waited for Redis"
    );
    drop(c);
    settle().await;
}
