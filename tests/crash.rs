//! Durability against a hard kill: the real binary (`b24wa serve`, configured by environment
//! variables only) is SIGKILLed while customers write, started again on the same database and
//! port, then SIGKILLed again while operators reply. Nothing accepted may be lost or reordered;
//! the only duplicates allowed are calls a provider accepted just before a kill, before our
//! commit (neither Bitrix24 nor the Cloud API takes an idempotency key).

mod common;
mod sim;

use std::{
    collections::HashSet,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use common::{
    chat_key,
    delivery::{digits, first_arrivals, reply_key, until_answered, InFlight},
    spawn_process, Backend, Number, ProcessApp,
};
use futures::future::join_all;
use rand::Rng;
on_both_databases!(sigkill_mid_traffic_loses_nothing_and_keeps_order);

const CHATS: usize = 4;
const MESSAGES_PER_CHAT: usize = 40;
const REPLIES_PER_CHAT: usize = 25;
const LINE: &str = "1";

fn customer_wamid(chat: usize, i: usize) -> String {
    format!("wamid.CRASH{chat}x{i:03}")
}

fn customer_text(wamid: &str) -> String {
    format!("customer message {wamid}")
}

/// The operator's text; it is also the end of what WhatsApp receives (after the signature).
fn reply_text(chat: usize, i: usize) -> String {
    format!("reply {chat}-{i:03}")
}

/// A random kill point between 30 % and 70 % of `total` sends.
fn kill_point(total: usize) -> usize {
    rand::thread_rng().gen_range(total * 3 / 10..=total * 7 / 10)
}

/// SIGKILLs the service once `started` sends have begun.
async fn kill_when(app: &ProcessApp, started: &AtomicUsize, at: usize) {
    while started.load(Ordering::SeqCst) < at {
        actix_web::rt::time::sleep(Duration::from_millis(1)).await;
    }
    app.kill();
}

/// Customer messages (wamids) per chat as they reached `imconnector.send.messages`.
fn b24_arrivals(app: &ProcessApp, wa_id: &str) -> Vec<String> {
    app.b24
        .customer_messages()
        .into_iter()
        .filter(|m| m.user_id == wa_id)
        .map(|m| m.message_id)
        .collect()
}

/// Operator replies (keys) per chat as they reached the Cloud API.
fn wa_arrivals(app: &ProcessApp, wa_id: &str) -> Vec<String> {
    app.graph
        .sent_messages()
        .into_iter()
        .filter(|m| digits(&m.to) == wa_id)
        .filter_map(|m| reply_key(&m.text))
        .collect()
}

/// Customers write concurrently, each a numbered sequence; the service is SIGKILLed after a
/// random number of sends. Returns per chat (accepted wamids in order, refused wamids in order).
async fn customers_write_through_a_kill(
    app: &ProcessApp,
    n: &Number,
    wa_ids: &[String],
) -> (Vec<Vec<String>>, Vec<Vec<String>>, usize) {
    let kill_at = kill_point(CHATS * MESSAGES_PER_CHAT);
    let started = AtomicUsize::new(0);
    let writers = wa_ids.iter().enumerate().map(|(c, wa)| {
        let started = &started;
        async move {
            let (mut accepted, mut refused) = (Vec::new(), Vec::new());
            for i in 0..MESSAGES_PER_CHAT {
                let wamid = customer_wamid(c, i);
                started.fetch_add(1, Ordering::SeqCst);
                let status = app
                    .customer_writes(n, wa, &wamid, &customer_text(&wamid))
                    .await;
                // Meta retries whatever was not acknowledged with a 200.
                if status == 200 {
                    accepted.push(wamid);
                } else {
                    refused.push(wamid);
                }
            }
            (accepted, refused)
        }
    });
    let (outcomes, ()) = futures::join!(join_all(writers), kill_when(app, &started, kill_at));
    let (accepted, refused) = outcomes.into_iter().unzip();
    (accepted, refused, kill_at)
}

/// Operators reply concurrently in every chat; the service is SIGKILLed after a random number
/// of replies. Returns per chat (accepted reply texts, refused (text, im message id)).
async fn operators_reply_through_a_kill(
    app: &ProcessApp,
    chat_keys: &[String],
) -> (Vec<Vec<String>>, Vec<Vec<(String, String)>>, usize) {
    let kill_at = kill_point(CHATS * REPLIES_PER_CHAT);
    let started = AtomicUsize::new(0);
    let operators = chat_keys.iter().enumerate().map(|(c, key)| {
        let started = &started;
        async move {
            let (mut accepted, mut refused) = (Vec::new(), Vec::new());
            for i in 0..REPLIES_PER_CHAT {
                let text = reply_text(c, i);
                started.fetch_add(1, Ordering::SeqCst);
                let op = app.b24.operator_write(LINE, key, &text).await;
                if op.http_status == 200 {
                    accepted.push(text);
                } else {
                    refused.push((text, op.im_message_id));
                }
            }
            (accepted, refused)
        }
    });
    let (outcomes, ()) = futures::join!(join_all(operators), kill_when(app, &started, kill_at));
    let (accepted, refused) = outcomes.into_iter().unzip();
    (accepted, refused, kill_at)
}

async fn sigkill_mid_traffic_loses_nothing_and_keeps_order(backend: Backend) {
    let began = Instant::now();
    let app = spawn_process(backend).await;
    app.install().await;
    let n = app.connect(LINE, "5550001").await;
    let wa_ids: Vec<String> = (0..CHATS).map(|c| format!("4860000000{c}")).collect();
    let chat_keys: Vec<String> = wa_ids.iter().map(|w| chat_key(w, &n)).collect();

    // 1. Customers write; SIGKILL mid-burst.
    let (mut expected_b24, refused, kill1_at) =
        customers_write_through_a_kill(&app, &n, &wa_ids).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let kill1 = InFlight::snapshot(&app);
    let refused_count: usize = refused.iter().map(Vec::len).sum();
    assert!(refused_count > 0, "the kill refused nothing");
    eprintln!(
        "crash {backend:?}: SIGKILL 1 after {kill1_at} customer sends; refused per chat (first, count): {:?}",
        refused
            .iter()
            .map(|r| (r.first().cloned().unwrap_or_default(), r.len()))
            .collect::<Vec<_>>()
    );
    app.restart().await;

    // Meta retries a wamid the killed process had already acknowledged (one that was not
    // possibly in flight at the kill): 200 again, and (checked at the end) still one delivery.
    let (retried_chat, retried) = expected_b24
        .iter()
        .enumerate()
        .find_map(|(c, wamids)| {
            let w = wamids.iter().find(|w| !kill1.b24.contains(*w))?;
            Some((c, w.clone()))
        })
        .expect("an acknowledged message that was not in flight at the kill");
    let status = {
        let (app, n, wa, wamid) = (&app, &n, &wa_ids[retried_chat], &retried);
        until_answered(|| async move {
            app.customer_writes(n, wa, wamid, &customer_text(wamid))
                .await
        })
        .await
    };
    assert_eq!(status, 200, "Meta's retry of {retried} after the restart");

    // Meta retries every refused message, each chat in its order.
    join_all(refused.iter().enumerate().map(|(c, wamids)| {
        let (app, n, wa) = (&app, &n, &wa_ids[c]);
        async move {
            for wamid in wamids {
                let status = until_answered(|| async move {
                    app.customer_writes(n, wa, wamid, &customer_text(wamid))
                        .await
                })
                .await;
                assert_eq!(status, 200, "Meta's retry of {wamid} after the restart");
            }
        }
    }))
    .await;
    for (c, wamids) in refused.into_iter().enumerate() {
        expected_b24[c].extend(wamids);
    }

    // 2. Operators reply in every chat (each needs its Open Lines conversation); SIGKILL while
    // the replies flow (and whatever customer messages are still being relayed).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !chat_keys.iter().all(|k| {
        app.b24
            .conversations()
            .iter()
            .any(|x| &x.chat_id == k && x.line == LINE)
    }) {
        assert!(
            Instant::now() < deadline,
            "no Open Lines conversation for every chat after the first restart"
        );
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    let (mut expected_wa, refused_ops, kill2_at) =
        operators_reply_through_a_kill(&app, &chat_keys).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let kill2 = InFlight::snapshot(&app);
    eprintln!(
        "crash {backend:?}: SIGKILL 2 after {kill2_at} replies; refused per chat (first, count): {:?}",
        refused_ops
            .iter()
            .map(|r| (r.first().map(|(t, _)| t.clone()).unwrap_or_default(), r.len()))
            .collect::<Vec<_>>()
    );
    app.restart().await;

    // Bitrix24 itself does not redeliver events; the operators' unacknowledged messages are
    // delivered again here (the same event, same message id) so every reply must arrive.
    let events = app.b24.events_sent();
    join_all(refused_ops.iter().map(|ops| {
        let (app, events) = (&app, &events);
        async move {
            for (text, im_message_id) in ops {
                let ev = events
                    .iter()
                    .find(|e| {
                        e.event == "ONIMCONNECTORMESSAGEADD"
                            && e.form
                                .iter()
                                .any(|(k, v)| k.ends_with("[im][message_id]") && v == im_message_id)
                    })
                    .expect("the refused event was recorded by the simulator");
                let status = until_answered(|| async move {
                    app.b24.post_event_raw(&ev.url, ev.form.clone()).await
                })
                .await;
                assert_eq!(status, 200, "redelivery of {text:?} after the restart");
            }
        }
    }))
    .await;
    for (c, ops) in refused_ops.into_iter().enumerate() {
        expected_wa[c].extend(ops.into_iter().map(|(text, _)| text));
    }

    // 3. Everything arrives (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered: HashSet<String> = app
            .b24
            .customer_messages()
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        let sent: HashSet<String> = app
            .graph
            .sent_messages()
            .iter()
            .filter_map(|m| reply_key(&m.text))
            .collect();
        let missing_b24: Vec<&String> = expected_b24
            .iter()
            .flatten()
            .filter(|w| !delivered.contains(*w))
            .collect();
        let missing_wa: Vec<&String> = expected_wa
            .iter()
            .flatten()
            .filter(|t| !sent.contains(*t))
            .collect();
        if missing_b24.is_empty() && missing_wa.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost after the kills: not in Bitrix24 {missing_b24:?}; not on WhatsApp {missing_wa:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    // Anything sent twice would arrive within this.
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;

    // Zero loss, per-chat order of first arrival, and duplicates only where a kill left them.
    let mut dup_b24 = 0;
    let mut dup_wa = 0;
    let allowed = |id: &String, b24: bool| {
        [&kill1, &kill2]
            .iter()
            .filter(|k| (if b24 { &k.b24 } else { &k.wa }).contains(id))
            .count()
    };
    for (c, wa) in wa_ids.iter().enumerate() {
        let (first, repeats) = first_arrivals(b24_arrivals(&app, wa));
        assert_eq!(
            first, expected_b24[c],
            "chat {c}: every accepted customer message in Bitrix24, in order"
        );
        for (id, times) in &repeats {
            assert!(
                *times <= allowed(id, true),
                "{id} reached Bitrix24 {} times but was not in flight at a kill",
                times + 1
            );
            dup_b24 += times;
        }
        let (first, repeats) = first_arrivals(wa_arrivals(&app, wa));
        assert_eq!(
            first, expected_wa[c],
            "chat {c}: every accepted operator reply on WhatsApp, in order"
        );
        for (id, times) in &repeats {
            assert!(
                *times <= allowed(id, false),
                "{id:?} reached WhatsApp {} times but was not in flight at a kill",
                times + 1
            );
            dup_wa += times;
        }
    }
    let stray_b24 = app
        .b24
        .customer_messages()
        .into_iter()
        .filter(|m| !wa_ids.contains(&m.user_id))
        .count();
    let stray_wa = app
        .graph
        .sent_messages()
        .into_iter()
        .filter(|m| !wa_ids.contains(&digits(&m.to)) || reply_key(&m.text).is_none())
        .count();
    assert_eq!((stray_b24, stray_wa), (0, 0), "messages nobody wrote");
    let bound_b24 = kill1.b24.len() + kill2.b24.len();
    let bound_wa = kill1.wa.len() + kill2.wa.len();
    assert!(dup_b24 <= bound_b24, "{dup_b24} > {bound_b24}");
    assert!(dup_wa <= bound_wa, "{dup_wa} > {bound_wa}");
    assert_eq!(
        b24_arrivals(&app, &wa_ids[retried_chat])
            .iter()
            .filter(|w| **w == retried)
            .count(),
        1,
        "Meta's retry of an acknowledged {retried} was delivered again"
    );
    println!("crash duplicates b24={dup_b24} wa={dup_wa}");
    println!(
        "crash {backend:?}: kill 1 after {kill1_at}/{} customer sends ({refused_count} refused), \
         kill 2 after {kill2_at}/{} replies; in flight at most b24={bound_b24} wa={bound_wa}; {:.1} s",
        CHATS * MESSAGES_PER_CHAT,
        CHATS * REPLIES_PER_CHAT,
        began.elapsed().as_secs_f64()
    );
}
