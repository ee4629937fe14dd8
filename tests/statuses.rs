//! Ticks, failures, deletions, edits and reactions over the Cloud API, end to end over HTTP.

mod common;
mod sim;

use std::time::Duration;

use common::{chat_key, spawn_app, wait_until, Backend, Number, TestApp};
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use sim::{GraphFault, GraphSim};

on_both_databases!(
    shuffled_and_duplicated_receipts_tick_each_step_once,
    read_before_sent_ends_at_read,
    failed_receipts_show_the_reason_in_words,
    expired_token_stops_sending_until_reconnected,
    operator_reply_marks_the_customer_messages_read,
    operator_delete_and_edit_on_cloud_api_give_a_plain_notice,
    customer_edit_and_delete_are_mirrored_not_posted,
    reaction_arrives_as_a_note_about_its_message,
);

const CUSTOMER: &str = "4917600000001";

/// Installs, connects, has the customer write once (so the Bitrix24 chat exists), and turns
/// the simulator's automatic receipts off so the test drives them.
async fn ready(backend: Backend, pnid: &str) -> (TestApp, Number) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", pnid).await;
    app.graph.set_auto_statuses(Vec::new());
    assert_eq!(
        app.customer_writes(&n, CUSTOMER, "wamid.HELLO", "Hello")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    (app, n)
}

/// The operator writes `texts`; returns (im_message_id, wamid) of each once WhatsApp took it.
async fn operator_sends(app: &TestApp, n: &Number, texts: &[&str]) -> Vec<(String, String)> {
    let key = chat_key(CUSTOMER, n);
    let before = app.graph.sent_messages().len();
    let mut ims = Vec::new();
    for t in texts {
        let op = app.b24.operator_write("1", &key, t).await;
        assert_eq!(op.http_status, 200);
        ims.push(op.im_message_id);
    }
    let graph = app.graph.clone();
    let want = before + texts.len();
    wait_until(10, "replies sent", move || {
        graph.sent_messages().len() >= want
    })
    .await;
    let sent = app.graph.sent_messages();
    ims.into_iter()
        .zip(sent[before..].iter().map(|m| m.wamid.clone()))
        .collect()
}

fn status_calls(app: &TestApp, method: &str, wamid: &str) -> usize {
    app.b24
        .calls_of(method)
        .iter()
        .flat_map(|c| {
            c.body["MESSAGES"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
        })
        .filter(|m| m["message"]["id"][0].as_str() == Some(wamid))
        .count()
}

async fn message_states(app: &TestApp, n: &Number) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/{CUSTOMER}/messages",
            n.id
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

async fn state_of(app: &TestApp, n: &Number, wamid: &str) -> Option<String> {
    message_states(app, n)
        .await
        .iter()
        .find(|m| m["wamid"].as_str() == Some(wamid))
        .and_then(|m| m["status"].as_str().map(str::to_string))
}

/// Property: whatever the order and however often receipts arrive, every message ends at
/// `read`, and `delivery` and `reading` each reach Bitrix24 exactly once per message.
async fn shuffled_and_duplicated_receipts_tick_each_step_once(backend: Backend) {
    let (app, n) = ready(backend, "3101").await;
    let texts: Vec<String> = (0..6).map(|i| format!("answer {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let sent = operator_sends(&app, &n, &refs).await;
    let mut receipts = Vec::new();
    for (_, wamid) in &sent {
        for s in [
            "sent",
            "delivered",
            "read",
            "sent",
            "delivered",
            "read",
            "played",
        ] {
            receipts.push((wamid.clone(), s));
        }
    }
    receipts.shuffle(&mut rand::thread_rng());
    for (wamid, s) in &receipts {
        assert_eq!(app.graph.push_status(wamid, s).await, 200);
    }
    for (im, wamid) in &sent {
        let b24 = app.b24.clone();
        let im = im.clone();
        wait_until(15, "operator message read in Bitrix24", move || {
            b24.operator_message_state(&im).as_deref() == Some("read")
        })
        .await;
        let _ = wamid;
    }
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    for (_, wamid) in &sent {
        assert_eq!(
            status_calls(&app, "imconnector.send.status.delivery", wamid),
            1,
            "delivery once for {wamid}"
        );
        assert_eq!(
            status_calls(&app, "imconnector.send.status.reading", wamid),
            1,
            "reading once for {wamid}"
        );
        assert_eq!(state_of(&app, &n, wamid).await.as_deref(), Some("read"));
    }
}

async fn read_before_sent_ends_at_read(backend: Backend) {
    let (app, n) = ready(backend, "3102").await;
    let sent = operator_sends(&app, &n, &["quick"]).await;
    let (im, wamid) = &sent[0];
    for s in ["read", "delivered", "sent"] {
        assert_eq!(app.graph.push_status(wamid, s).await, 200);
    }
    let b24 = app.b24.clone();
    let im2 = im.clone();
    wait_until(10, "read in Bitrix24", move || {
        b24.operator_message_state(&im2).as_deref() == Some("read")
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    // Delivery first, then reading, each once, although "read" came first.
    let order: Vec<String> = app
        .b24
        .calls()
        .iter()
        .filter(|c| c.method.starts_with("imconnector.send.status."))
        .map(|c| c.method.clone())
        .collect();
    assert_eq!(
        order,
        vec![
            "imconnector.send.status.delivery".to_string(),
            "imconnector.send.status.reading".to_string()
        ]
    );
    assert_eq!(state_of(&app, &n, wamid).await.as_deref(), Some("read"));
}

fn failed_body(n: &Number, wamid: &str, code: i64, title: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&GraphSim::status_body(
        &n.phone_number_id,
        &n.display_phone,
        wamid,
        "failed",
        CUSTOMER,
        sim::unix_now(),
    ))
    .expect("status body");
    v["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
        "code": code, "title": title, "message": title,
        "error_data": {"details": title}
    }]);
    serde_json::to_vec(&v).expect("json")
}

async fn failed_receipts_show_the_reason_in_words(backend: Backend) {
    let (app, n) = ready(backend, "3103").await;
    let sent = operator_sends(&app, &n, &["one", "two", "three"]).await;
    let cases = [
        (131047, "Re-engagement message", "24 hours"),
        (131026, "Message undeliverable", "cannot receive WhatsApp"),
        (
            130472,
            "User's number is part of an experiment",
            "error 130472",
        ),
    ];
    for ((_, wamid), (code, title, _)) in sent.iter().zip(cases.iter()) {
        let status = app
            .graph
            .post_signed(&n.phone_number_id, failed_body(&n, wamid, *code, title))
            .await;
        assert_eq!(status, 200);
    }
    let b24 = app.b24.clone();
    wait_until(10, "three notices", move || b24.system_notices().len() >= 3).await;
    let notices: Vec<String> = app
        .b24
        .system_notices()
        .into_iter()
        .map(|s| s.message)
        .collect();
    for (_, _, words) in cases {
        assert!(
            notices.iter().any(|m| m.contains(words)),
            "{words:?} in {notices:?}"
        );
    }
    for (_, wamid) in &sent {
        assert_eq!(state_of(&app, &n, wamid).await.as_deref(), Some("failed"));
    }
    // A late "delivered" for a failed message changes nothing.
    assert_eq!(app.graph.push_status(&sent[0].1, "delivered").await, 200);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        state_of(&app, &n, &sent[0].1).await.as_deref(),
        Some("failed")
    );
    assert_eq!(
        app.b24.calls_of("imconnector.send.status.delivery").len(),
        0
    );
}

async fn expired_token_stops_sending_until_reconnected(backend: Backend) {
    let (app, n) = ready(backend, "3104").await;
    app.graph.inject(GraphFault::ExpiredToken, 1);
    let key = chat_key(CUSTOMER, &n);
    for t in ["first", "second"] {
        assert_eq!(app.b24.operator_write("1", &key, t).await.http_status, 200);
    }
    let b24 = app.b24.clone();
    wait_until(10, "re-authorisation notice", move || {
        b24.system_notices()
            .iter()
            .any(|s| s.message.contains("access token"))
    })
    .await;
    let (_, numbers) = app.api_get("/api/v1/numbers").await;
    let me = numbers["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"].as_i64() == Some(n.id)).cloned())
        .expect("number listed");
    assert_eq!(me["session_state"], "token_invalid", "{me}");
    // Nothing goes out while the token is dead, however long we wait.
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    assert!(app.graph.sent_messages().is_empty());
    // The tenant reconnects with a new token: both go out, in order, and the notice was given once.
    let new_token = "EAAG-renewed";
    app.graph.add_number(
        &n.phone_number_id,
        new_token,
        &n.app_secret,
        &n.display_phone,
    );
    let (status, body) = app
        .api_post(
            "/api/v1/numbers",
            json!({"member_id": app.b24.member_id(), "line": "1", "phone_number_id": n.phone_number_id,
                   "display_phone": n.display_phone, "access_token": new_token,
                   "app_secret": n.app_secret, "verify_token": "verify-me"}),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    let graph = app.graph.clone();
    wait_until(10, "both sent after reconnect", move || {
        graph.sent_messages().len() >= 2
    })
    .await;
    let texts: Vec<String> = app
        .graph
        .sent_messages()
        .iter()
        .map(|m| m.text.lines().last().unwrap_or_default().to_string())
        .collect();
    assert_eq!(texts, vec!["first", "second"]);
    let notices = app
        .b24
        .system_notices()
        .iter()
        .filter(|s| s.message.contains("access token"))
        .count();
    assert_eq!(notices, 1);
}

async fn operator_reply_marks_the_customer_messages_read(backend: Backend) {
    let (app, n) = ready(backend, "3105").await;
    app.customer_writes(&n, CUSTOMER, "wamid.SECOND", "Anyone there?")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "second customer message", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    operator_sends(&app, &n, &["Yes, here"]).await;
    let graph = app.graph.clone();
    wait_until(10, "mark as read", move || !graph.reads().is_empty()).await;
    assert_eq!(
        app.graph.reads(),
        vec![(n.phone_number_id.clone(), "wamid.SECOND".to_string())]
    );
    // A second answer with nothing new from the customer marks nothing again.
    operator_sends(&app, &n, &["Anything else?"]).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.graph.reads().len(), 1);
}

async fn operator_delete_and_edit_on_cloud_api_give_a_plain_notice(backend: Backend) {
    let (app, n) = ready(backend, "3106").await;
    let sent = operator_sends(&app, &n, &["Price is 10", "See you"]).await;
    for (_, wamid) in &sent {
        app.graph.push_status(wamid, "delivered").await;
    }
    for (im, _) in &sent {
        let b24 = app.b24.clone();
        let im = im.clone();
        wait_until(10, "delivered", move || {
            b24.operator_message_state(&im).as_deref() == Some("delivered")
        })
        .await;
    }
    assert_eq!(app.b24.operator_edit(&sent[0].0, "Price is 12").await, 200);
    assert_eq!(app.b24.operator_delete(&sent[1].0).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "two notices", move || b24.system_notices().len() >= 2).await;
    let notices: Vec<String> = app
        .b24
        .system_notices()
        .into_iter()
        .map(|s| s.message)
        .collect();
    assert!(
        notices.iter().any(|m| m.contains("Edit not sent")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|m| m.contains("Deleted here only")),
        "{notices:?}"
    );
    assert_eq!(
        state_of(&app, &n, &sent[1].1).await.as_deref(),
        Some("deleted")
    );
    // Nothing new reached WhatsApp.
    assert_eq!(app.graph.sent_messages().len(), 2);
}

async fn customer_edit_and_delete_are_mirrored_not_posted(backend: Backend) {
    let (app, n) = ready(backend, "3107").await;
    let ts = sim::unix_now().to_string();
    let edit = GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Anna",
        json!({"from": CUSTOMER, "id": "wamid.EDIT1", "timestamp": ts, "type": "edit",
               "edit": {"original_message_id": "wamid.HELLO", "message": {"type": "text", "text": {"body": "Hello, corrected"}}}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, edit).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "edit mirrored", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.message_id == "wamid.HELLO" && m.edited)
    })
    .await;
    let m = &app.b24.customer_messages()[0];
    assert_eq!(m.text, "Hello, corrected");
    let revoke = GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Anna",
        json!({"from": CUSTOMER, "id": "wamid.REV1", "timestamp": ts, "type": "revoke",
               "revoke": {"original_message_id": "wamid.HELLO"}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, revoke).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "delete mirrored", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.message_id == "wamid.HELLO" && m.deleted)
    })
    .await;
    assert_eq!(
        app.b24.customer_messages().len(),
        1,
        "nothing posted as new"
    );
    assert_eq!(app.b24.calls_of("imconnector.update.messages").len(), 1);
    assert_eq!(app.b24.calls_of("imconnector.delete.messages").len(), 1);
}

async fn reaction_arrives_as_a_note_about_its_message(backend: Backend) {
    let (app, n) = ready(backend, "3108").await;
    let body = GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Anna",
        json!({"from": CUSTOMER, "id": "wamid.REACT1", "timestamp": sim::unix_now().to_string(),
               "type": "reaction", "reaction": {"message_id": "wamid.HELLO", "emoji": "👍"}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "reaction note", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let note = &app.b24.customer_messages()[1];
    assert!(note.text.contains("👍"), "{}", note.text);
    assert!(note.text.contains("“Hello”"), "{}", note.text);
}
