//! Crash soak: rounds of mixed traffic (customers' texts and voice notes, operators' replies,
//! WhatsApp receipts shuffled and duplicated) against the real binary while the simulators inject
//! 5xx, timeouts, rate limits and expired tokens, and the service is SIGKILLed at random moments
//! and started again. At the end the simulators' records are compared with what was sent:
//! lost, duplicated, out-of-order and backward-tick events, and how long the backlog took to
//! drain after the last fault. Prints `bench soak_* N unit` lines.
//!
//! `make test` runs a short soak (`B24WA_SOAK_SECS`, 10 s by default); `make soak` a long one.
//!
//! Duplicates: a call a provider accepted just before a kill, before our commit, is sent again
//! after the restart (neither Bitrix24 nor the Cloud API takes an idempotency key). Those are
//! counted apart (`soak_duplicated_in_flight`); every other duplicate fails the soak. A kill
//! inside a token refresh leaves the portal needing the app installed again (Bitrix24 rotates
//! refresh tokens); the soak then installs it again, as an admin would (`soak_reinstalls`), and
//! still nothing may be lost.

mod common;
mod sim;

use std::{
    collections::{HashMap, HashSet},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use common::{
    chat_key,
    delivery::{digits, first_arrivals, list, member, reply_key, scalar, until_answered, InFlight},
    spawn_process, Backend, Number, ProcessApp,
};
use futures::future::join_all;
use rand::{seq::SliceRandom, Rng};
use serde_json::json;
use sim::{BitrixFault, GraphFault, GraphSim};

on_both_databases!(soak_under_kills_and_faults_loses_and_doubles_nothing);

const LINE: &str = "1";
const CHATS: usize = 3;
const CUSTOMER_PER_ROUND: usize = 6;
const REPLIES_PER_ROUND: usize = 4;

fn soak_secs() -> u64 {
    std::env::var("B24WA_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn reply_text(chat: usize, round: usize, i: usize) -> String {
    format!("reply {chat}-{round:03}-{i}")
}

/// One customer message: every third a voice note (a file the service downloads and relays).
async fn customer_sends(app: &ProcessApp, n: &Number, wa_id: &str, wamid: &str, i: usize) -> u16 {
    if i % 3 == 2 {
        let media = app.graph.add_media(
            "audio/ogg; codecs=opus",
            format!("OggS voice note {wamid}").into_bytes(),
        );
        let body = GraphSim::inbound_body(
            &n.phone_number_id,
            &n.display_phone,
            wa_id,
            "Soak",
            json!({"from": wa_id, "id": wamid, "timestamp": sim::unix_now().to_string(),
                   "type": "audio", "audio": {"id": media, "mime_type": "audio/ogg; codecs=opus",
                   "sha256": "x", "voice": true}}),
        );
        app.graph.post_signed(&n.phone_number_id, body).await
    } else {
        app.customer_writes(n, wa_id, wamid, &format!("customer text {wamid}"))
            .await
    }
}

/// Faults for one round, on both simulators.
fn inject_faults(app: &ProcessApp, rng: &mut impl Rng) -> usize {
    let b24_faults = [
        BitrixFault::ServerError,
        BitrixFault::QueryLimit,
        BitrixFault::ExpiredToken,
        BitrixFault::Timeout(Duration::from_millis(400)),
    ];
    // Not the Cloud API's 190: a system user's token does not expire, and a rejected one pauses
    // the number until an admin connects it again (tests/statuses.rs); Bitrix24's tokens do
    // expire every hour and are refreshed.
    let graph_faults = [
        GraphFault::ServerError,
        GraphFault::Throughput,
        GraphFault::Timeout(Duration::from_millis(400)),
    ];
    let methods = [
        "imconnector.send.messages",
        "imconnector.send.status.delivery",
        "imconnector.send.status.reading",
    ];
    let mut n = 0;
    for _ in 0..rng.gen_range(1..=3) {
        let f = b24_faults[rng.gen_range(0..b24_faults.len())].clone();
        app.b24
            .inject(Some(methods[rng.gen_range(0..methods.len())]), f, 1);
        n += 1;
    }
    for _ in 0..rng.gen_range(1..=2) {
        app.graph.inject(
            graph_faults[rng.gen_range(0..graph_faults.len())].clone(),
            1,
        );
        n += 1;
    }
    n
}

/// Receipts for sent replies: sent, delivered, read in a random order, one of them twice.
fn receipts_for(wamids: &[String], rng: &mut impl Rng) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for w in wamids {
        let mut r = vec!["sent", "delivered", "read"];
        r.push(r[rng.gen_range(0..3)]);
        r.shuffle(rng);
        out.extend(r.into_iter().map(|s| (w.clone(), s)));
    }
    out.shuffle(rng);
    out
}

/// An operator's reply the service did not acknowledge: its text and Open Lines message id.
type RefusedReply = (String, String);

#[derive(Default)]
struct RoundOutcome {
    /// Per chat: accepted and refused customer wamids (refused are retried after the restart).
    customer: Vec<(Vec<String>, Vec<String>)>,
    /// Per chat: accepted reply texts, refused (text, im message id).
    replies: Vec<(Vec<String>, Vec<RefusedReply>)>,
    refused_receipts: Vec<(String, &'static str)>,
}

async fn soak_under_kills_and_faults_loses_and_doubles_nothing(backend: Backend) {
    let app = spawn_process(backend).await;
    app.install().await;
    let n = app.connect(LINE, "5559001").await;
    // Receipts are the soak's to send, shuffled and duplicated.
    app.graph.set_auto_statuses(vec![]);
    let wa_ids: Vec<String> = (0..CHATS).map(|c| format!("4870000000{c}")).collect();
    let chat_keys: Vec<String> = wa_ids.iter().map(|w| chat_key(w, &n)).collect();
    let mut rng = rand::thread_rng();
    let mut expected_b24: Vec<Vec<String>> = vec![Vec::new(); CHATS];
    // Each customer opens a conversation first (operators answer in existing ones).
    for (c, wa) in wa_ids.iter().enumerate() {
        let wamid = format!("wamid.SOAK{c}xopen");
        assert_eq!(customer_sends(&app, &n, wa, &wamid, 0).await, 200);
        expected_b24[c].push(wamid);
    }
    let b24 = app.b24.clone();
    common::wait_until(15, "the conversations", move || {
        b24.conversations().len() >= CHATS
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(soak_secs());

    let mut expected_wa: Vec<Vec<String>> = vec![Vec::new(); CHATS];
    let mut in_flight_b24: HashSet<String> = HashSet::new();
    let mut in_flight_wa: HashSet<String> = HashSet::new();
    let mut receipted: HashSet<String> = HashSet::new();
    let (mut rounds, mut kills, mut faults) = (0usize, 0usize, 0usize);
    let mut serial = 0usize;

    while Instant::now() < deadline {
        rounds += 1;
        faults += inject_faults(&app, &mut rng);
        // Receipts for the replies WhatsApp got so far and that have none yet.
        let fresh: Vec<String> = app
            .graph
            .sent_messages()
            .into_iter()
            .filter(|m| reply_key(&m.text).is_some() && !receipted.contains(&m.wamid))
            .map(|m| m.wamid)
            .collect();
        receipted.extend(fresh.iter().cloned());
        let receipts = receipts_for(&fresh, &mut rng);
        let actions = CHATS * (CUSTOMER_PER_ROUND + REPLIES_PER_ROUND) + receipts.len();
        let kill_at = rng.gen_bool(0.75).then(|| rng.gen_range(0..actions));
        let started = AtomicUsize::new(0);
        let base = serial;
        serial += CUSTOMER_PER_ROUND;
        let round = rounds;

        let customers = wa_ids.iter().enumerate().map(|(c, wa)| {
            let (app, n, started) = (&app, &n, &started);
            async move {
                let (mut ok, mut refused) = (Vec::new(), Vec::new());
                for i in 0..CUSTOMER_PER_ROUND {
                    let wamid = format!("wamid.SOAK{c}x{:05}", base + i);
                    started.fetch_add(1, Ordering::SeqCst);
                    if customer_sends(app, n, wa, &wamid, i).await == 200 {
                        ok.push(wamid);
                    } else {
                        refused.push(wamid);
                    }
                }
                (ok, refused)
            }
        });
        let operators = chat_keys.iter().enumerate().map(|(c, key)| {
            let (app, started) = (&app, &started);
            async move {
                let (mut ok, mut refused) = (Vec::new(), Vec::new());
                for i in 0..REPLIES_PER_ROUND {
                    let text = reply_text(c, round, i);
                    started.fetch_add(1, Ordering::SeqCst);
                    let op = app.b24.operator_write(LINE, key, &text).await;
                    if op.http_status == 200 {
                        ok.push(text);
                    } else {
                        refused.push((text, op.im_message_id));
                    }
                }
                (ok, refused)
            }
        });
        let receipts_task = {
            let (app, started) = (&app, &started);
            async move {
                let mut refused = Vec::new();
                for (wamid, status) in receipts {
                    started.fetch_add(1, Ordering::SeqCst);
                    if app.graph.push_status(&wamid, status).await != 200 {
                        refused.push((wamid, status));
                    }
                }
                refused
            }
        };
        let killer = async {
            if let Some(at) = kill_at {
                while started.load(Ordering::SeqCst) < at {
                    actix_web::rt::time::sleep(Duration::from_millis(1)).await;
                }
                app.kill();
            }
        };
        let (customer, replies, refused_receipts, ()) = futures::join!(
            join_all(customers),
            join_all(operators),
            receipts_task,
            killer
        );
        let outcome = RoundOutcome {
            customer,
            replies,
            refused_receipts,
        };
        for (c, (ok, _)) in outcome.customer.iter().enumerate() {
            expected_b24[c].extend(ok.iter().cloned());
        }
        for (c, (ok, _)) in outcome.replies.iter().enumerate() {
            expected_wa[c].extend(ok.iter().cloned());
        }
        if kill_at.is_some() {
            kills += 1;
            // What a provider may have taken just before the kill, unrecorded by us (after the
            // longest injected delay, 400 ms, so a call held by the simulator has landed too).
            actix_web::rt::time::sleep(Duration::from_millis(700)).await;
            let f = InFlight::snapshot(&app);
            in_flight_b24.extend(f.b24);
            in_flight_wa.extend(f.wa);
            app.restart().await;
        }
        redeliver(
            &app,
            &n,
            &wa_ids,
            outcome,
            &mut expected_b24,
            &mut expected_wa,
        )
        .await;
    }

    // Drain: no more faults or kills; the last receipts go out; everything must arrive.
    let last_fault = Instant::now();
    let mut drained = None;
    // Bitrix24 rotates the refresh token on every refresh (the old one dies). A kill after the
    // OAuth server answered a refresh and before the new tokens were stored leaves only a dead
    // token: the portal needs the app installed again (the service says so and its jobs wait,
    // nothing is dropped). That is what an admin does here, and it is counted.
    let (mut oauth_seen, mut reinstalls) = (0usize, 0usize);
    while last_fault.elapsed() < Duration::from_secs(90) {
        let oauth = app.b24.calls_of("oauth.token");
        if oauth.len() > oauth_seen && oauth.last().is_some_and(|c| c.status == 400) {
            eprintln!("soak: the refresh token died with a kill; installing the app again");
            app.install().await;
            reinstalls += 1;
        }
        oauth_seen = oauth.len();
        let fresh: Vec<String> = app
            .graph
            .sent_messages()
            .into_iter()
            .filter(|m| reply_key(&m.text).is_some() && !receipted.contains(&m.wamid))
            .map(|m| m.wamid)
            .collect();
        receipted.extend(fresh.iter().cloned());
        for (wamid, status) in receipts_for(&fresh, &mut rng) {
            let status = {
                let (app, wamid) = (&app, &wamid);
                until_answered(|| async move { app.graph.push_status(wamid, status).await }).await
            };
            assert_eq!(status, 200);
        }
        if everything_arrived(&app, &expected_b24, &expected_wa) {
            drained = Some(last_fault.elapsed());
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything late would show as a duplicate now.
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;

    let f = figures(
        &app,
        &wa_ids,
        &expected_b24,
        &expected_wa,
        &in_flight_b24,
        &in_flight_wa,
    );
    let drain_s = drained.map_or(f64::NAN, |d| d.as_secs_f64());
    let total_b24: usize = expected_b24.iter().map(Vec::len).sum();
    let total_wa: usize = expected_wa.iter().map(Vec::len).sum();
    eprintln!(
        "soak {backend:?}: {rounds} rounds, {kills} SIGKILLs, {faults} injected faults, \
         {total_b24} customer messages, {total_wa} replies, {} receipts",
        receipted.len() * 4
    );
    println!("bench soak_lost {} count", f.lost);
    println!("bench soak_reinstalls {reinstalls} count");
    println!("bench soak_duplicated {} count", f.duplicated);
    println!(
        "bench soak_duplicated_in_flight {} count",
        f.duplicated_in_flight
    );
    println!("bench soak_out_of_order {} count", f.out_of_order);
    println!("bench soak_backward_ticks {} count", f.backward_ticks);
    println!("bench soak_drain_s {drain_s:.2} s");
    if drained.is_none() {
        // What is still waiting, for the report: first the service's errors and the portal's
        // state (short, so they survive a truncated report), then the jobs.
        let log = app.log();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("b24wa serve, start"))
            .collect();
        eprintln!(
            "soak: the service's ERROR lines ({} of them, the last 20):",
            errors.len()
        );
        for line in &errors[errors.len().saturating_sub(20)..] {
            eprintln!("soak:   {}", &line[..line.len().min(400)]);
        }
        let (_, v) = app.api_get("/api/v1/portals").await;
        eprintln!("soak: /api/v1/portals: {v}");
        eprintln!("soak: Bitrix24 refreshes: {}", app.b24.refresh_count());
        for path in [
            "/api/v1/jobs?status=pending&per_page=5".to_string(),
            "/api/v1/jobs?status=dead&per_page=5".to_string(),
        ] {
            let (_, v) = app.api_get(&path).await;
            eprintln!("soak: {path}: {v}");
        }
        if let Some(w) = expected_b24.iter().flatten().find(|w| {
            !app.b24
                .customer_messages()
                .iter()
                .any(|m| &m.message_id == *w)
        }) {
            let (_, v) = app.api_get(&format!("/api/v1/messages?q={w}")).await;
            eprintln!("soak: first lost {w}: {v}");
            if let Some(id) = v["items"][0]["id"].as_i64() {
                let (_, t) = app.api_get(&format!("/api/v1/messages/{id}")).await;
                eprintln!("soak: its trace: {t}");
            }
        }
    }
    assert!(drained.is_some(), "not drained within 90 s: {f:?}");
    assert_eq!(
        (f.lost, f.duplicated, f.out_of_order, f.backward_ticks),
        (0, 0, 0, 0),
        "{f:?}"
    );
    assert!(kills > 0 || soak_secs() < 3, "the soak killed nothing");
}

/// After a round (and a restart): what was refused is delivered again, as the providers do —
/// Meta retries webhooks (per chat in order), the portal's events are re-posted.
async fn redeliver(
    app: &ProcessApp,
    n: &Number,
    wa_ids: &[String],
    outcome: RoundOutcome,
    expected_b24: &mut [Vec<String>],
    expected_wa: &mut [Vec<String>],
) {
    join_all(
        outcome
            .customer
            .iter()
            .enumerate()
            .map(|(c, (_, refused))| {
                let wa = &wa_ids[c];
                async move {
                    for wamid in refused {
                        // The same kind as first sent: voice notes stay voice notes.
                        let i: usize = wamid
                            .rsplit('x')
                            .next()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        let i = i % CUSTOMER_PER_ROUND;
                        let status =
                            until_answered(
                                || async move { customer_sends(app, n, wa, wamid, i).await },
                            )
                            .await;
                        assert_eq!(status, 200, "Meta's retry of {wamid}");
                    }
                }
            }),
    )
    .await;
    let events = app.b24.events_sent();
    join_all(outcome.replies.iter().map(|(_, refused)| {
        let events = &events;
        async move {
            for (text, im_message_id) in refused {
                let ev = events
                    .iter()
                    .find(|e| {
                        e.event == "ONIMCONNECTORMESSAGEADD"
                            && e.form
                                .iter()
                                .any(|(k, v)| k.ends_with("[im][message_id]") && v == im_message_id)
                    })
                    .expect("the refused event was recorded");
                let status = until_answered(|| async move {
                    app.b24.post_event_raw(&ev.url, ev.form.clone()).await
                })
                .await;
                assert_eq!(status, 200, "redelivery of {text:?}");
            }
        }
    }))
    .await;
    for (wamid, status) in &outcome.refused_receipts {
        let s = until_answered(|| async move { app.graph.push_status(wamid, status).await }).await;
        assert_eq!(s, 200, "Meta's retry of a receipt");
    }
    for (c, (_, refused)) in outcome.customer.into_iter().enumerate() {
        expected_b24[c].extend(refused);
    }
    for (c, (_, refused)) in outcome.replies.into_iter().enumerate() {
        expected_wa[c].extend(refused.into_iter().map(|(t, _)| t));
    }
}

fn everything_arrived(app: &ProcessApp, b24: &[Vec<String>], wa: &[Vec<String>]) -> bool {
    let delivered: HashSet<String> = app
        .b24
        .customer_messages()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    let sent: HashMap<String, String> = app
        .graph
        .sent_messages()
        .into_iter()
        .filter_map(|m| reply_key(&m.text).map(|k| (k, m.wamid)))
        .collect();
    let read: HashSet<String> = status_ids(app, "imconnector.send.status.reading")
        .into_iter()
        .collect();
    b24.iter().flatten().all(|w| delivered.contains(w))
        && wa
            .iter()
            .flatten()
            .all(|k| sent.get(k).is_some_and(|wamid| read.contains(wamid)))
}

/// Our ids (wamids) in the status calls of `method`, in call order.
fn status_ids(app: &ProcessApp, method: &str) -> Vec<String> {
    app.b24
        .calls_of(method)
        .into_iter()
        .filter(|c| c.status == 200)
        .flat_map(|c| list(member(&c.body, "MESSAGES")))
        .flat_map(|m| {
            let ids = member(&m, "message").and_then(|x| member(x, "id")).cloned();
            list(ids.as_ref())
                .into_iter()
                .map(|v| scalar(Some(&v)))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[derive(Debug, Default)]
struct Figures {
    lost: usize,
    lost_to_bitrix24: usize,
    duplicated: usize,
    duplicated_in_flight: usize,
    out_of_order: usize,
    backward_ticks: usize,
}

fn figures(
    app: &ProcessApp,
    wa_ids: &[String],
    expected_b24: &[Vec<String>],
    expected_wa: &[Vec<String>],
    in_flight_b24: &HashSet<String>,
    in_flight_wa: &HashSet<String>,
) -> Figures {
    let mut f = Figures::default();
    let customer = app.b24.customer_messages();
    let sent = app.graph.sent_messages();
    for (c, wa) in wa_ids.iter().enumerate() {
        let arrivals = customer
            .iter()
            .filter(|m| m.user_id == *wa)
            .map(|m| m.message_id.clone());
        let before = f.lost;
        count(&mut f, arrivals, &expected_b24[c], in_flight_b24);
        f.lost_to_bitrix24 += f.lost - before;
        let replies = sent
            .iter()
            .filter(|m| digits(&m.to) == *wa)
            .filter_map(|m| reply_key(&m.text));
        count(&mut f, replies, &expected_wa[c], in_flight_wa);
    }
    // A tick goes backwards when Bitrix24 hears "delivered" after "read" for a message (the
    // simulator records calls in the order it handled them).
    let mut events: Vec<(bool, String)> = Vec::new();
    for call in app.b24.calls() {
        let reading = match call.method.as_str() {
            "imconnector.send.status.delivery" => false,
            "imconnector.send.status.reading" => true,
            _ => continue,
        };
        if call.status != 200 {
            continue;
        }
        for m in list(member(&call.body, "MESSAGES")) {
            let ids = member(&m, "message").and_then(|x| member(x, "id")).cloned();
            for id in list(ids.as_ref()) {
                events.push((reading, scalar(Some(&id))));
            }
        }
    }
    let mut read_seen: HashSet<String> = HashSet::new();
    for (reading, id) in events {
        if reading {
            read_seen.insert(id);
        } else if read_seen.contains(&id) {
            if f.backward_ticks < 3 {
                let key = sent
                    .iter()
                    .find(|m| m.wamid == id)
                    .and_then(|m| reply_key(&m.text));
                let sends = key.as_ref().map_or(0, |k| {
                    sent.iter()
                        .filter(|m| reply_key(&m.text).as_ref() == Some(k))
                        .count()
                });
                eprintln!(
                    "soak: backward tick for {id} ({key:?} sent {sends}x, in flight at a kill: {}): {}",
                    key.as_ref().is_some_and(|k| in_flight_wa.contains(k)),
                    trace_of(app, &id)
                );
            }
            f.backward_ticks += 1;
        }
    }
    f
}

/// Lost, duplicated and out-of-order counts of one chat's arrivals against what was sent.
fn count(
    f: &mut Figures,
    arrivals: impl Iterator<Item = String>,
    expected: &[String],
    in_flight: &HashSet<String>,
) {
    let (first, repeats) = first_arrivals(arrivals);
    let arrived: HashSet<&String> = first.iter().collect();
    let lost: Vec<&String> = expected.iter().filter(|e| !arrived.contains(e)).collect();
    if !lost.is_empty() {
        eprintln!(
            "soak: lost {} of a chat, first {:?}",
            lost.len(),
            &lost[..lost.len().min(3)]
        );
    }
    f.lost += lost.len();
    for (id, times) in repeats {
        // One repeat per kill at most, and only of what was in flight at a kill.
        if in_flight.contains(&id) {
            f.duplicated_in_flight += times;
        } else {
            eprintln!("soak: {id} arrived {} times", times + 1);
            f.duplicated += times;
        }
    }
    let order: Vec<&String> = first.iter().filter(|id| expected.contains(id)).collect();
    let want: Vec<&String> = expected.iter().filter(|id| arrived.contains(id)).collect();
    f.out_of_order += order.iter().zip(&want).filter(|(a, b)| a != b).count();
}

/// Every status call and receipt about one wamid, for the report of a failure.
fn trace_of(app: &ProcessApp, wamid: &str) -> String {
    app.b24
        .calls()
        .into_iter()
        .filter(|c| {
            c.method.starts_with("imconnector.send.status") && c.body.to_string().contains(wamid)
        })
        .map(|c| {
            format!(
                "{}={}",
                c.method.trim_start_matches("imconnector.send.status."),
                c.status
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
