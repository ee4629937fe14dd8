//! The Bitrix24 app's lifecycle: uninstall switches the portal's numbers off and drops its
//! tokens (history kept); a reinstall brings back exactly those numbers, re-activates the
//! connector on their lines, and messages flow again, including those WhatsApp kept retrying
//! while the app was away.

mod common;
mod sim;

use common::{chat_key, spawn_app, spawn_app_with, wait_until, Backend, TestApp};
use sim::{BitrixSim, BitrixSimConfig};

on_both_databases!(
    uninstall_suspends_and_reinstall_restores,
    a_disconnected_number_drops_its_events_until_connected_again,
    a_marketplace_install_is_accepted_when_its_code_is_configured,
    a_marketplace_install_with_another_code_is_refused,
    a_local_install_is_accepted_beside_a_marketplace_code,
    an_unfinished_install_is_refused,
    an_idle_portal_gets_one_refresh_from_the_sweep,
    a_call_in_flight_across_a_reinstall_uses_the_new_tokens,
    a_rejected_token_costs_one_refresh_and_a_refused_refresh_holds_the_jobs,
    an_install_through_an_unlisted_oauth_server_is_refused,
    an_existing_portal_cannot_be_taken_over_through_another_oauth_server,
);

/// Whether number `id` is active in a `GET /api/v1/numbers` answer.
fn is_active(numbers: &serde_json::Value, id: i64) -> Option<bool> {
    numbers["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"].as_i64() == Some(id)))
        .map(|x| x["active"] == true)
}

async fn uninstall_suspends_and_reinstall_restores(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "600100200").await;
    let m = app.connect("2", "600100201").await;
    assert_eq!(
        app.customer_writes(&n, "79001230001", "wamid.L1", "before")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the first message", || {
        b24.customer_messages().len() == 1
    })
    .await;
    // An admin disconnected the second number before the uninstall: it must stay off.
    let (status, _) = app
        .api_post(
            &format!("/api/v1/numbers/{}/disconnect", m.id),
            serde_json::json!({}),
        )
        .await;
    let admin_disconnected = status == 200;

    assert_eq!(app.b24.uninstall().await, 200);
    let (_, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(portals["items"][0]["installed"], false, "{portals}");
    let (_, numbers) = app.api_get("/api/v1/numbers").await;
    let active = |id: i64| is_active(&numbers, id);
    assert_eq!(active(n.id), Some(false), "{numbers}");
    // While the app is away a customer's message is not accepted, so WhatsApp keeps it and
    // retries (Meta retries for days): nothing is lost.
    let status = app
        .customer_writes(&n, "79001230001", "wamid.L2", "while away")
        .await;
    assert_ne!(status, 200, "not acknowledged while uninstalled");

    app.install().await;
    let b24 = app.b24.clone();
    wait_until(10, "connector active again on line 1", || {
        b24.connector_active("1")
    })
    .await;
    let (_, numbers) = app.api_get("/api/v1/numbers").await;
    let active = |id: i64| is_active(&numbers, id);
    assert_eq!(active(n.id), Some(true), "{numbers}");
    if admin_disconnected {
        assert_eq!(
            active(m.id),
            Some(false),
            "an admin's disconnect is kept: {numbers}"
        );
    }
    // WhatsApp's retry now lands, then new messages; the history is still there.
    assert_eq!(
        app.customer_writes(&n, "79001230001", "wamid.L2", "while away")
            .await,
        200
    );
    assert_eq!(
        app.customer_writes(&n, "79001230001", "wamid.L3", "after")
            .await,
        200
    );
    let texts = wait_for_texts(&app, 3, "messages after the reinstall").await;
    assert_eq!(texts, ["before", "while away", "after"]);
    let (status, chat) = app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/79001230001/messages",
            n.id
        ))
        .await;
    assert_eq!(status, 200, "{chat}");
    assert_eq!(chat["messages"].as_array().map(Vec::len), Some(3), "{chat}");
    // Operators answer again through the restored portal.
    app.b24
        .operator_write("1", &chat_key("79001230001", &n), "welcome back")
        .await;
    let graph = app.graph.clone();
    wait_until(10, "the answer in WhatsApp", || {
        graph
            .sent_messages()
            .iter()
            .any(|s| s.text.ends_with("welcome back"))
    })
    .await;
}

async fn a_disconnected_number_drops_its_events_until_connected_again(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "600100300").await;
    let (status, body) = app
        .api_post(
            &format!("/api/v1/numbers/{}/disconnect", n.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Acknowledged (Meta would retry for days otherwise), and nothing of it is kept or relayed.
    assert_eq!(
        app.customer_writes(&n, "79001230099", "wamid.DC1", "while off")
            .await,
        200
    );
    actix_web::rt::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(app.b24.customer_messages().is_empty());
    let (_, found) = app.api_get("/api/v1/messages?q=wamid.DC1").await;
    assert_eq!(found["total"], 0, "{found}");
    // A wrong signature is still refused: being off does not skip the check.
    let body = sim::graph::GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        "79001230099",
        "Mallory",
        "wamid.DC2",
        "forged",
        sim::unix_now(),
    );
    let signature = sim::graph::GraphSim::sign("not-the-app-secret", &body);
    let (status, _) = sim::graph::GraphSim::post_raw(
        &format!("{}/webhooks/whatsapp/cloud", app.url),
        body,
        Some(signature),
    )
    .await;
    assert_eq!(status, 401);
    // Connected again: the next message flows.
    let n2 = app.connect("1", "600100300").await;
    assert_eq!(n2.id, n.id, "the same number row");
    assert_eq!(
        app.customer_writes(&n2, "79001230099", "wamid.DC3", "back on")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the message after reconnecting", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    assert_eq!(app.texts_in_bitrix("79001230099"), ["back on"]);
}

/// A Marketplace app: its client_id is `app.…`, `app.info` names it by its catalogue code.
fn marketplace_portal(status: &str) -> BitrixSimConfig {
    BitrixSimConfig {
        client_id: "app.573ad8a0346747.09223434".into(),
        app_code: Some("vendor.app".into()),
        app_status: status.into(),
        ..BitrixSimConfig::default()
    }
}

async fn portal_count(app: &TestApp) -> i64 {
    let (status, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200, "{portals}");
    portals["total"].as_i64().expect("total")
}

/// Waits until Bitrix24 holds `n` customer messages (`what` names them in a timeout) and returns
/// their texts, in order.
async fn wait_for_texts(app: &TestApp, n: usize, what: &str) -> Vec<String> {
    let b24 = app.b24.clone();
    wait_until(15, what, move || b24.customer_messages().len() == n).await;
    app.b24
        .customer_messages()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn a_marketplace_install_is_accepted_when_its_code_is_configured(backend: Backend) {
    let app = spawn_app_with(backend, marketplace_portal("F"), |s| {
        s.app_marketplace_code = Some("vendor.app".into());
    })
    .await;
    // Free licence: installed, connector registered, events bound.
    app.install().await;
    assert_eq!(portal_count(&app).await, 1);
    // Another portal with a paid licence of the same app.
    let paid = BitrixSim::start(marketplace_portal("P")).await;
    let status = paid
        .install_via_event(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(status, 200);
    assert_eq!(portal_count(&app).await, 2);
    let p = paid.clone();
    wait_until(10, "the paid portal's connector registered", move || {
        !p.registered_connectors().is_empty()
    })
    .await;
}

async fn a_marketplace_install_with_another_code_is_refused(backend: Backend) {
    // Configured for another Marketplace app.
    let app = spawn_app_with(backend, marketplace_portal("F"), |s| {
        s.app_marketplace_code = Some("vendor.other".into());
    })
    .await;
    let url = format!("{}/bitrix24/install", app.url);
    assert_eq!(app.b24.install_via_event(&url).await, 403);
    assert_eq!(portal_count(&app).await, 0);
    assert!(app.b24.registered_connectors().is_empty());
    // No Marketplace code configured at all: a Marketplace install cannot be confirmed either.
    let app = spawn_app_with(backend, marketplace_portal("P"), |s| {
        s.app_marketplace_code = None;
    })
    .await;
    let url = format!("{}/bitrix24/install", app.url);
    assert_eq!(app.b24.install_via_event(&url).await, 403);
    assert_eq!(portal_count(&app).await, 0);
}

async fn a_local_install_is_accepted_beside_a_marketplace_code(backend: Backend) {
    let local = BitrixSimConfig {
        client_id: "local.66ba434d853c87.18550109".into(),
        app_code: None,
        app_status: "L".into(),
        ..BitrixSimConfig::default()
    };
    let app = spawn_app_with(backend, local, |s| {
        s.app_marketplace_code = Some("vendor.app".into());
    })
    .await;
    app.install().await;
    assert_eq!(portal_count(&app).await, 1);
    // The install stored a pair of its own: the first refresh, with our credentials, succeeded.
    assert_eq!(app.b24.refresh_count(), 1);
}

/// An install whose OAuth server is not one we know is refused before anything is called: our
/// client_id and secret never reach it, and nothing is stored.
async fn an_install_through_an_unlisted_oauth_server_is_refused(backend: Backend) {
    // Bitrix24's own OAuth server only (the default): the simulator's is not on the list.
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.b24_oauth_hosts = vec!["oauth.bitrix.info".into()];
    })
    .await;
    let url = format!("{}/bitrix24/install", app.url);
    assert_eq!(app.b24.install_via_event(&url).await, 403);
    assert_eq!(portal_count(&app).await, 0);
    assert_eq!(app.b24.refresh_count(), 0, "our secret went nowhere");
    assert!(app.b24.registered_connectors().is_empty());
}

/// A second "portal" with an installed portal's member_id, whose events name an OAuth server
/// that is not on the list, cannot overwrite the installed portal's address or tokens.
async fn an_existing_portal_cannot_be_taken_over_through_another_oauth_server(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let (_, before) = app.api_get("/api/v1/portals").await;
    let domain = before["items"][0]["domain"].clone();
    assert_eq!(domain, app.b24.domain(), "{before}");
    // The intruder runs its own portal and OAuth server, reached as `localhost` (not listed).
    let intruder = BitrixSim::start(BitrixSimConfig {
        member_id: app.b24.member_id(),
        ..BitrixSimConfig::default()
    })
    .await;
    intruder.answer_as_localhost();
    let url = format!("{}/bitrix24/install", app.url);
    assert_eq!(intruder.install_via_event(&url).await, 403);
    assert_eq!(intruder.refresh_count(), 0, "our secret went nowhere");
    let (_, after) = app.api_get("/api/v1/portals").await;
    assert_eq!(portal_count(&app).await, 1);
    assert_eq!(after["items"][0]["domain"], domain, "{after}");
    // The real portal still works with its own tokens.
    let n = app.connect("1", "5550001").await;
    assert_eq!(
        app.customer_writes(&n, "79001112233", "wamid.T1", "still ours")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "message at the real portal", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    assert!(intruder.customer_messages().is_empty());
}

async fn an_unfinished_install_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = format!("{}/bitrix24/install", app.url);
    app.b24.set_app_info_installed(Some(false));
    assert_eq!(app.b24.install_via_event(&url).await, 409);
    assert_eq!(portal_count(&app).await, 0);
    assert!(app.b24.registered_connectors().is_empty());
    // The install page of an app with UI comes before `BX24.installFinish()`: there the portal
    // says INSTALLED false by design, and the install goes on.
    let page = BitrixSim::start(BitrixSimConfig::default()).await;
    assert!(!page.installed());
    assert_eq!(page.install_via_page(&url).await, 200);
    assert_eq!(portal_count(&app).await, 1);
    // Once the portal has finished the first one, its event is accepted.
    app.b24.set_app_info_installed(None);
    app.install().await;
    assert_eq!(portal_count(&app).await, 2);
}

/// Sets the stored time of portal `member_id`'s last token refresh.
async fn set_refreshed_at(app: &TestApp, member_id: &str, at_ms: i64) {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(app.settings.database_url())
        .await
        .expect("connect");
    let res = db
        .execute(Statement::from_string(
            db.get_database_backend(),
            format!("UPDATE portals SET refreshed_at = {at_ms} WHERE member_id = '{member_id}'"),
        ))
        .await
        .expect("update");
    assert_eq!(res.rows_affected(), 1);
    let _ = db.close().await;
}

/// Refresh tokens live 180 days: a portal nobody writes to gets its tokens refreshed by the
/// sweep once their last refresh is older than the threshold, exactly once; a fresh one gets
/// none; the new pair is stored and used afterwards.
async fn an_idle_portal_gets_one_refresh_from_the_sweep(backend: Backend) {
    let mut app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.token_refresh_after_secs = 3600;
        s.token_sweep_secs = 1;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "600100500").await;
    let fresh = BitrixSim::start(BitrixSimConfig::default()).await;
    assert_eq!(
        fresh
            .install_via_event(&format!("{}/bitrix24/install", app.url))
            .await,
        200
    );
    // Each install refreshed once (its check that the tokens are ours).
    let fresh_refreshes = fresh.refresh_count();
    let before = app.b24.refresh_count();
    // The first portal's last refresh was two hours ago: over the threshold of one hour. Set
    // while the service is stopped: after the restart no actor runs for an idle portal (nothing
    // is pending), so it is the sweep that must find it.
    app.stop().await;
    let two_hours_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - 2 * 3600 * 1000;
    set_refreshed_at(&app, &app.b24.member_id(), two_hours_ago).await;
    app.restart().await;
    let b24 = app.b24.clone();
    wait_until(10, "the sweep refreshes the idle portal", move || {
        b24.refresh_count() > before
    })
    .await;
    // Several sweeps later: still one (its new time is stored), and none for the fresh portal.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(app.b24.refresh_count(), before + 1, "exactly one refresh");
    assert_eq!(
        fresh.refresh_count(),
        fresh_refreshes,
        "a fresh portal: none"
    );
    // The new pair was stored: after a restart (tokens read from the database), an expired
    // access token is refreshed with the stored refresh token, which the portal only accepts
    // if it is the newest, and the message goes through.
    app.stop().await;
    app.restart().await;
    app.b24.expire_access_token();
    assert_eq!(
        app.customer_writes(&n, "79001230500", "wamid.IDLE1", "still here")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(15, "the message after the refresh", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    assert_eq!(app.b24.refresh_count(), before + 2);
    assert!(app
        .b24
        .calls_of("oauth.token")
        .iter()
        .all(|c| c.status == 200));
}

/// Dead jobs in `GET /api/v1/jobs?status=dead`.
async fn dead_jobs(app: &TestApp) -> serde_json::Value {
    let (status, dead) = app.api_get("/api/v1/jobs?status=dead").await;
    assert_eq!(status, 200, "{dead}");
    dead
}

/// The portal's job runner is in the middle of a call (the portal holds it) when the app is
/// uninstalled and installed again: the call, answered `invalid_token` for the old tokens, and
/// everything the runner picks up after it (the reinstall's setup) use the new stored tokens.
/// Nothing is marked dead.
async fn a_call_in_flight_across_a_reinstall_uses_the_new_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "600100600").await;
    assert_eq!(
        app.customer_writes(&n, "79001230600", "wamid.F1", "before")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the first message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    // The next send is held by the portal for 2 s, then checked against the tokens valid then.
    app.b24.inject(
        Some("imconnector.send.messages"),
        sim::bitrix::BitrixFault::Timeout(std::time::Duration::from_millis(2000)),
        1,
    );
    assert_eq!(
        app.customer_writes(&n, "79001230600", "wamid.F2", "in flight")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the send in flight", move || b24.pending_faults() == 0).await;
    // Uninstall and reinstall while the call is in flight (well within its 2 s).
    assert_eq!(app.b24.uninstall().await, 200);
    app.install().await;
    let b24 = app.b24.clone();
    wait_until(10, "connector active again on line 1", move || {
        b24.connector_active("1")
    })
    .await;
    let b24 = app.b24.clone();
    wait_until(
        10,
        "the message in flight, sent again with the new tokens",
        move || b24.customer_messages().len() == 2,
    )
    .await;
    assert_eq!(
        app.customer_writes(&n, "79001230600", "wamid.F3", "after")
            .await,
        200
    );
    let texts = wait_for_texts(&app, 3, "the message after the reinstall").await;
    assert_eq!(texts, ["before", "in flight", "after"]);
    let dead = dead_jobs(&app).await;
    assert_eq!(dead["total"], 0, "{dead}");
}

/// A 401 other than `expired_token` (here `invalid_token`) costs one refresh: when the OAuth
/// server refuses it the portal needs re-authorisation and its jobs are held, not killed, and
/// not retried against the OAuth server; a reinstall sends them. When the refresh works the
/// call is repeated with the new pair.
async fn a_rejected_token_costs_one_refresh_and_a_refused_refresh_holds_the_jobs(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "600100700").await;
    let refreshes = || app.b24.calls_of("oauth.token").len();

    // The portal no longer accepts the access token, and the refresh token is dead too.
    app.b24.invalidate_access_tokens();
    app.b24.revoke_refresh_token();
    let before = refreshes();
    assert_eq!(
        app.customer_writes(&n, "79001230700", "wamid.R1", "held")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the refused refresh", move || {
        b24.calls_of("oauth.token").len() > before
    })
    .await;
    // Several retry periods later (retry_max_ms is 400 in tests): still one refresh, the job
    // waits (pending, not dead) and says why.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(refreshes(), before + 1, "one refresh, not one per retry");
    assert!(app.b24.customer_messages().is_empty());
    let dead = dead_jobs(&app).await;
    assert_eq!(dead["total"], 0, "held, not dead: {dead}");
    let (_, pending) = app.api_get("/api/v1/jobs?status=pending").await;
    let held = pending["items"]
        .as_array()
        .and_then(|a| a.iter().find(|j| j["kind"] == "b24_send_message"))
        .cloned()
        .unwrap_or_default();
    assert!(
        held["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("re-authorisation")),
        "{pending}"
    );
    // The admin installs the app again: the held message goes with the new tokens.
    app.install().await;
    let b24 = app.b24.clone();
    wait_until(10, "the held message after the reinstall", move || {
        b24.customer_messages().len() == 1
    })
    .await;

    // A rejected token with a working refresh token: one refresh, and the call goes through.
    app.b24.invalidate_access_tokens();
    let before = refreshes();
    assert_eq!(
        app.customer_writes(&n, "79001230700", "wamid.R2", "refreshed")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the message after one refresh", move || {
        b24.customer_messages().len() == 2
    })
    .await;
    assert_eq!(refreshes(), before + 1);
    assert!(app
        .b24
        .calls_of("oauth.token")
        .iter()
        .skip(before)
        .all(|c| c.status == 200));
    let dead = dead_jobs(&app).await;
    assert_eq!(dead["total"], 0, "{dead}");
}
