//! The Cloud API's 24-hour customer-service window, end to end over HTTP
//! (../shared/contracts/whatsapp-templates.md §1): free text goes while it is open; into a closed
//! one it is held back with a notice at once; a 131047 in either form closes it until the
//! customer writes again; the admin API shows each chat's window.

mod common;
mod sim;

use std::time::Duration;

use common::{chat_key, spawn_app, wait_until, Backend, Number, TestApp};
use serde_json::Value;
use sim::{GraphFault, GraphSim};

on_both_databases!(
    free_text_goes_while_the_window_is_open,
    free_text_into_an_expired_window_is_held_with_a_notice,
    a_131047_status_closes_the_window_until_the_customer_writes,
    a_synchronous_131047_closes_it_too,
    the_admin_api_shows_each_chats_window,
);

const CUSTOMER: &str = "4917600000077";
const HOUR: i64 = 3600;

/// Installs and connects a Cloud API number; the customer writes once, stamped `ts` (Unix s,
/// the message's own time; the webhook itself arrives now).
async fn ready(backend: Backend, pnid: &str, ts: i64) -> (TestApp, Number) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", pnid).await;
    customer_writes_at(&app, &n, "wamid.FIRST", "Hello", ts).await;
    (app, n)
}

async fn customer_writes_at(app: &TestApp, n: &Number, wamid: &str, text: &str, ts: i64) {
    let before = app.b24.customer_message_count();
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga Petrova",
        wamid,
        text,
        ts,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        b24.customer_message_count() > before
    })
    .await;
}

fn free_sends(app: &TestApp) -> usize {
    app.graph
        .sent_messages()
        .iter()
        .filter(|m| m.kind != "template")
        .count()
}

fn has_text(row: &Value, text: &str) -> bool {
    row["text"].as_str().is_some_and(|t| t.contains(text))
}

async fn message_rows(app: &TestApp, n: &Number) -> Vec<Value> {
    let (status, body) = app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/{CUSTOMER}/messages",
            n.id
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

async fn operator_reply_goes(app: &TestApp, n: &Number, text: &str) {
    let before = free_sends(app);
    let op = app
        .b24
        .operator_write("1", &chat_key(CUSTOMER, n), text)
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(10, "the reply sent to WhatsApp", move || {
        graph
            .sent_messages()
            .iter()
            .filter(|m| m.kind != "template")
            .count()
            > before
    })
    .await;
    let last = app.graph.sent_messages().last().cloned();
    let last = last.expect("a send");
    assert!(last.text.ends_with(text), "{}", last.text);
    assert!(!last.outside_window, "sent inside the window");
}

async fn free_text_goes_while_the_window_is_open(backend: Backend) {
    // 23 hours ago: still open for another hour.
    let (app, n) = ready(backend, "3201", sim::unix_now() - 23 * HOUR).await;
    operator_reply_goes(&app, &n, "We are on it").await;
    let b24 = app.b24.clone();
    let op = app.b24.operator_messages();
    let im = op
        .last()
        .map(|m| m.im_message_id.clone())
        .unwrap_or_default();
    wait_until(10, "the reply delivered", move || {
        b24.operator_message_state(&im).as_deref() == Some("delivered")
    })
    .await;
    assert!(
        !app.b24
            .system_notices()
            .iter()
            .any(|s| s.message.contains("window")),
        "no window notice while it is open"
    );
}

async fn free_text_into_an_expired_window_is_held_with_a_notice(backend: Backend) {
    let ts = sim::unix_now() - 25 * HOUR;
    let (app, n) = ready(backend, "3202", ts).await;
    let notice = app
        .operator_writes_expecting(&n, CUSTOMER, "Your order is ready", "24-hour window")
        .await;
    // When it closed: 24 h after the customer's message, by that message's own time.
    let closed = chrono::DateTime::from_timestamp(ts + 24 * HOUR, 0).expect("a time");
    assert!(
        notice.contains(&closed.format("%H:%M").to_string()),
        "the notice names when the window closed: {notice}"
    );
    assert!(notice.contains("template"), "{notice}");
    // Nothing went to WhatsApp, and the message is recorded as not sent, with the reason.
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(free_sends(&app), 0, "nothing sent into a closed window");
    let rows = message_rows(&app, &n).await;
    let held = rows
        .iter()
        .find(|m| has_text(m, "Your order is ready"))
        .expect("the operator's message is recorded");
    assert_eq!(held["status"], "failed", "{held}");
    assert!(
        held["error"].as_str().unwrap_or("").contains("window"),
        "{held}"
    );
    // Never relayed, so never billed.
    let usage = app.usage_today().await;
    assert_eq!(usage["totals"]["outbound"], 0, "{usage}");
    // The customer writes: the window opens again and free text goes.
    customer_writes_at(&app, &n, "wamid.AGAIN", "Hi again", sim::unix_now()).await;
    operator_reply_goes(&app, &n, "Welcome back").await;
    // That one was relayed: counted once WhatsApp took it.
    let mut outbound = Value::Null;
    for _ in 0..200 {
        outbound = app.usage_today().await["totals"]["outbound"].clone();
        if outbound != 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbound, 1);
}

async fn a_131047_status_closes_the_window_until_the_customer_writes(backend: Backend) {
    let (app, n) = ready(backend, "3203", sim::unix_now() - HOUR).await;
    // Our data says open (1 h); WhatsApp says closed and fails the send with a 131047 status.
    app.graph.close_window(&n.phone_number_id, CUSTOMER);
    app.operator_writes_expecting(&n, CUSTOMER, "First try", "more than 24 hours")
        .await;
    assert_eq!(free_sends(&app), 1, "the first message went and failed");
    let rows = message_rows(&app, &n).await;
    let first = rows.iter().find(|m| has_text(m, "First try")).expect("row");
    assert_eq!(first["status"], "failed", "{first}");
    // From now on nothing is sent into failure: the operator is told at once.
    app.operator_writes_expecting(&n, CUSTOMER, "Second try", "24-hour window")
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(free_sends(&app), 1, "the second message was held back");
    // A late redelivery of the customer's old message does not reopen it.
    let old = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga Petrova",
        "wamid.FIRST",
        "Hello",
        sim::unix_now() - HOUR,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, old).await, 200);
    app.operator_writes_expecting(&n, CUSTOMER, "Third try", "24-hour window")
        .await;
    assert_eq!(free_sends(&app), 1);
    // The customer writes again: open.
    customer_writes_at(&app, &n, "wamid.BACK", "I'm back", sim::unix_now()).await;
    operator_reply_goes(&app, &n, "Glad to hear").await;
}

async fn a_synchronous_131047_closes_it_too(backend: Backend) {
    let (app, n) = ready(backend, "3204", sim::unix_now() - HOUR).await;
    // A first reply goes (and marks the customer's message read, a call of its own).
    operator_reply_goes(&app, &n, "Hello").await;
    app.graph.inject(GraphFault::Reengagement, 1);
    app.operator_writes_expecting(&n, CUSTOMER, "Refused at once", "more than 24 hours")
        .await;
    app.operator_writes_expecting(&n, CUSTOMER, "Held back", "24-hour window")
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(free_sends(&app), 1, "only the first reply was taken");
    let rows = message_rows(&app, &n).await;
    for text in ["Refused at once", "Held back"] {
        let row = rows.iter().find(|m| has_text(m, text)).expect("row");
        assert_eq!(row["status"], "failed", "{row}");
    }
}

async fn the_admin_api_shows_each_chats_window(backend: Backend) {
    let ts = sim::unix_now() - 2 * HOUR;
    let (app, n) = ready(backend, "3205", ts).await;
    let window = |body: &Value| -> Value {
        body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["customer_wa_id"] == CUSTOMER))
            .map(|c| c["window"].clone())
            .unwrap_or(Value::Null)
    };
    let (status, body) = app.api_get("/api/v1/chats").await;
    assert_eq!(status, 200, "{body}");
    let w = window(&body);
    assert_eq!(w["state"], "open", "{body}");
    assert_eq!(w["open_until"], (ts + 24 * HOUR) * 1000, "{w}");
    // A 131047 closes it; the list says so, and since when.
    app.graph.close_window(&n.phone_number_id, CUSTOMER);
    app.operator_writes_expecting(&n, CUSTOMER, "Anyone there?", "more than 24 hours")
        .await;
    let (_, body) = app.api_get("/api/v1/chats").await;
    let w = window(&body);
    assert_eq!(w["state"], "closed", "{body}");
    assert!(w["closed_since"].as_i64().is_some(), "{w}");
}
