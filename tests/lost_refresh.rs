//! A portal whose refresh token the OAuth server refused (it had already replaced it: a refresh
//! whose answer was lost to a crash or the network ends the same way) is not stuck until an
//! admin opens the app: the access token its events bring (bitrix24-crm.md §1, usable for an
//! hour) carries its calls meanwhile, and the OAuth server is not asked again.

mod common;
mod sim;

use common::{chat_key, spawn_app, wait_until, Backend, TestApp};

on_both_databases!(a_refused_refresh_is_bridged_by_the_tokens_events_bring);

async fn pending_jobs(app: &TestApp) -> serde_json::Value {
    let (status, v) = app.api_get("/api/v1/jobs?status=pending").await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn a_refused_refresh_is_bridged_by_the_tokens_events_bring(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "600100800").await;
    let customer = "79001230800";
    assert_eq!(
        app.customer_writes(&n, customer, "wamid.L0", "hello").await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the first message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    let refreshes = || app.b24.calls_of("oauth.token").len();

    // The access token is rejected and the refresh token is dead: the customer's next message
    // is held (pending, saying why), after one refused refresh.
    app.b24.invalidate_access_tokens();
    app.b24.revoke_refresh_token();
    let before = refreshes();
    assert_eq!(
        app.customer_writes(&n, customer, "wamid.L1", "held").await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the refused refresh", move || {
        b24.calls_of("oauth.token").len() > before
    })
    .await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(app.b24.customer_messages().len(), 1, "held");
    let pending = pending_jobs(&app).await;
    assert!(
        pending["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|j| j["kind"] == "b24_send_message"
                && j["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("re-authorisation")))),
        "{pending}"
    );

    // An operator answers: the event carries a fresh access token of the portal's. The held
    // message goes with it, the answer reaches WhatsApp, and nobody asked the OAuth server.
    app.b24.issue_access_token();
    let op = app
        .b24
        .operator_write("1", &chat_key(customer, &n), "we are on it")
        .await;
    assert_eq!(op.http_status, 200);
    let b24 = app.b24.clone();
    wait_until(10, "the held message, on the event's token", move || {
        b24.customer_messages().len() == 2
    })
    .await;
    let graph = app.graph.clone();
    wait_until(10, "the answer in WhatsApp", move || {
        graph
            .sent_messages()
            .iter()
            .any(|m| m.text.contains("we are on it"))
    })
    .await;
    assert_eq!(refreshes(), before + 1, "no second refresh");

    // That token expires in turn: the next message is held again without a refresh (there is
    // no refresh token to ask with), until the next event's token.
    app.b24.expire_access_token();
    assert_eq!(
        app.customer_writes(&n, customer, "wamid.L2", "held again")
            .await,
        200
    );
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.b24.customer_messages().len(), 2, "held again");
    assert_eq!(
        refreshes(),
        before + 1,
        "a dead refresh token is not asked with"
    );
    app.b24.issue_access_token();
    let op = app
        .b24
        .operator_write("1", &chat_key(customer, &n), "still here")
        .await;
    assert_eq!(op.http_status, 200);
    let b24 = app.b24.clone();
    wait_until(10, "the second held message", move || {
        b24.customer_messages().len() == 3
    })
    .await;

    // An admin installs the app again: a whole pair, and refreshes work as before.
    app.install().await;
    app.b24.expire_access_token();
    let before = refreshes();
    assert_eq!(
        app.customer_writes(&n, customer, "wamid.L3", "after the reinstall")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "a message after one refresh", move || {
        b24.customer_messages().len() == 4
    })
    .await;
    assert_eq!(refreshes(), before + 1);
    let texts: Vec<String> = app
        .b24
        .customer_messages()
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(
        texts,
        ["hello", "held", "held again", "after the reinstall"],
        "in order, nothing lost"
    );
    let (_, dead) = app.api_get("/api/v1/jobs?status=dead").await;
    assert_eq!(dead["total"], 0, "{dead}");
}
