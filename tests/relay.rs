//! End to end over HTTP: the service between a simulated Bitrix24 portal and the Cloud API.

mod common;
mod sim;

use std::time::Duration;

use common::{chat_key, spawn_app, spawn_app_with, wait_until, Backend};
use serde_json::Value;
use sim::{BitrixFault, BitrixSimConfig, GraphFault, GraphSim};

on_both_databases!(
    install_registers_connector_and_binds_events,
    connect_activates_connector_on_line,
    inbound_text_reaches_open_line,
    a_customers_name_keeps_its_emoji_in_the_chat_title,
    operator_reply_is_sent_and_confirmed_delivered,
    duplicate_webhook_reaches_bitrix_once,
    bad_or_missing_signature_is_rejected_without_side_effects,
    malformed_json_is_a_clear_400,
    event_with_wrong_application_token_is_rejected,
    concurrent_calls_share_one_token_refresh,
    bitrix_down_then_back_delivers_all_in_order,
    restart_mid_burst_loses_and_doubles_nothing,
    actor_panic_restarts_and_work_continues,
    whatsapp_send_errors_are_retried_in_order,
    whatsapp_send_timeout_is_retried,
    moved_portal_is_followed_and_its_new_address_kept,
    oversized_bodies_are_refused_with_413,
    forged_install_is_refused_and_stores_nothing,
);

async fn install_registers_connector_and_binds_events(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let reg = app
        .b24
        .connector_registration("b24wa_whatsapp")
        .expect("connector registered");
    assert_eq!(reg["CHAT_GROUP"], Value::Bool(false));
    assert_eq!(
        reg["PLACEMENT_HANDLER"].as_str(),
        Some(format!("{}/bitrix24/placement", app.url).as_str())
    );
    let mut events: Vec<String> = app.b24.bindings().into_iter().map(|(e, _)| e).collect();
    events.sort();
    for e in [
        "ONAPPUNINSTALL",
        "ONIMCONNECTORLINEDELETE",
        "ONIMCONNECTORMESSAGEADD",
        "ONIMCONNECTORMESSAGEDELETE",
        "ONIMCONNECTORMESSAGEUPDATE",
        "ONIMCONNECTORSTATUSDELETE",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} not bound: {events:?}");
    }
    // Reinstall (event, then the install page) is idempotent: one portal, one binding per event.
    app.install().await;
    let status = app
        .b24
        .install_via_page(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(
        status,
        200,
        "install page: {:?}",
        app.b24.events_sent().last()
    );
    let b24 = app.b24.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b24.calls_of("imconnector.register").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "three registrations expected: {:?}",
            b24.calls()
                .iter()
                .map(|c| (c.method.clone(), c.status))
                .collect::<Vec<_>>()
        );
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    let (status, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200);
    assert_eq!(
        portals["items"].as_array().map(Vec::len),
        Some(1),
        "{portals}"
    );
    let bindings = app.b24.bindings();
    let mut dedup = bindings.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(
        bindings.len(),
        dedup.len(),
        "duplicate bindings: {bindings:?}"
    );
    // Tokens are stored encrypted.
    assert!(app
        .api_get("/api/v1/portals")
        .await
        .1
        .to_string()
        .find(&app.b24.tokens().0)
        .is_none());
}

async fn connect_activates_connector_on_line(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("2", "100200300").await;
    assert!(app.b24.connector_active("2"));
    let data = app
        .b24
        .connector_data("b24wa_whatsapp", "2")
        .expect("connector data set");
    assert_eq!(data["ID"], "wa_100200300");
    let (status, list) = app.api_get("/api/v1/numbers").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["phone_number_id"], "100200300");
    assert!(
        !list.to_string().contains(&n.access_token),
        "secret leaked: {list}"
    );
    // Without a token the API refuses.
    let r = app
        .http
        .get(format!("{}/api/v1/numbers", app.url))
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 401);
    // Webhook verification with the number's verify token.
    let (s, body) = GraphSim::verify_webhook(
        &format!("{}/webhooks/whatsapp/cloud", app.url),
        "verify-me",
        "challenge-42",
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "challenge-42"));
    let (s, _) = GraphSim::verify_webhook(
        &format!("{}/webhooks/whatsapp/cloud", app.url),
        "wrong",
        "c",
    )
    .await;
    assert_eq!(s, 403);
}

async fn inbound_text_reaches_open_line(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "111").await;
    assert_eq!(
        app.customer_writes(&n, "79001234567", "wamid.A1", "Hello, [b]shop[/b]")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let m = &app.b24.customer_messages()[0];
    assert_eq!(m.user_id, "79001234567");
    assert_eq!(m.phone, "+79001234567");
    assert_eq!(m.user_name, "Anna Kowalska");
    assert_eq!(m.message_id, "wamid.A1");
    assert_eq!(m.chat_id, chat_key("79001234567", &n));
    // The customer's BBCode arrives as text: a word joiner after each `[` keeps it from being a tag.
    assert_eq!(m.text, "Hello, [\u{2060}b]shop[\u{2060}/b]");
    // The CRM contact was matched/created by phone.
    assert!(app
        .b24
        .crm_contacts()
        .iter()
        .any(|c| c.phone == "+79001234567"));
    // Bitrix24's chat id is stored, the message is marked forwarded.
    let b24_chat = m.b24_chat_id.clone();
    let path = format!("/api/v1/numbers/{}/chats/79001234567/messages", n.id);
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.api_get(&path).await.1;
        if last["messages"][0]["status"] == "forwarded" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["messages"][0]["status"], "forwarded", "{last}");
    assert_eq!(
        last["chat"]["b24_chat_id"].as_str(),
        Some(b24_chat.as_str())
    );
}

/// Bitrix24's user name takes letters only, so an emoji between words leaves one space, not two;
/// the chat's title keeps the name as the customer wrote it.
async fn a_customers_name_keeps_its_emoji_in_the_chat_title(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "111").await;
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        "79001234568",
        "Zoë 🌸  O'Neil",
        "wamid.N1",
        "hello",
        sim::unix_now(),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let m = &app.b24.customer_messages()[0];
    assert_eq!(m.user_name, "Zoë O'Neil");
    assert_eq!(m.chat_name, "Zoë 🌸 O'Neil · WhatsApp +79001234568");
}

async fn operator_reply_is_sent_and_confirmed_delivered(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "222").await;
    app.customer_writes(&n, "4915112345678", "wamid.Q1", "Is it in stock?")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("4915112345678", &n), "Yes, [i]two[/i] left")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(10, "reply sent with the Graph API", move || {
        !graph.sent_messages().is_empty()
    })
    .await;
    let sent = &app.graph.sent_messages()[0];
    assert_eq!(sent.to, "4915112345678");
    assert!(sent.text.ends_with("Yes, _two_ left"), "{}", sent.text);
    // The simulator reports sent, then delivered: the operator's message turns delivered, with
    // our wamid recorded on it.
    let b24 = app.b24.clone();
    let im = op.im_message_id.clone();
    wait_until(10, "delivery confirmed to Bitrix24", move || {
        b24.operator_message_state(&im).as_deref() == Some("delivered")
    })
    .await;
    let om = app
        .b24
        .operator_message(&op.im_message_id)
        .expect("operator message");
    assert_eq!(om.external_ids, vec![sent.wamid.clone()]);
    let calls = app.b24.calls_of("imconnector.send.status.delivery");
    assert_eq!(calls.len(), 1, "delivery confirmed once");
    let item = &calls[0].body["MESSAGES"][0];
    assert_eq!(
        item["im"]["message_id"].as_str(),
        Some(op.im_message_id.as_str())
    );
    // A late duplicate "sent" does not move the state backwards.
    assert_eq!(app.graph.push_status(&sent.wamid, "sent").await, 200);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.b24.operator_message_state(&op.im_message_id).as_deref(),
        Some("delivered")
    );
    assert_eq!(
        app.b24.calls_of("imconnector.send.status.delivery").len(),
        1
    );
}

async fn duplicate_webhook_reaches_bitrix_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "333").await;
    for _ in 0..3 {
        assert_eq!(
            app.customer_writes(&n, "111222333", "wamid.DUP", "only once")
                .await,
            200
        );
    }
    app.customer_writes(&n, "111222333", "wamid.NEXT", "next")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "second message", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(app.texts_in_bitrix("111222333"), vec!["only once", "next"]);
}

async fn bad_or_missing_signature_is_rejected_without_side_effects(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "444").await;
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        "5550001",
        "X",
        "wamid.S1",
        "forged",
        1,
    );
    for url in [
        format!("{}/webhooks/whatsapp/cloud", app.url),
        format!("{}/webhooks/whatsapp/cloud/{}", app.url, n.phone_number_id),
    ] {
        let (s, text) = GraphSim::post_raw(&url, body.clone(), None).await;
        assert_eq!(s, 401, "{text}");
        assert!(text.contains("signature_missing"), "{text}");
        let wrong = GraphSim::sign("not-the-secret", &body);
        let (s, text) = GraphSim::post_raw(&url, body.clone(), Some(wrong)).await;
        assert_eq!(s, 401, "{text}");
        assert!(text.contains("signature_invalid"), "{text}");
        // Signed over different bytes than sent.
        let sig = GraphSim::sign(&n.app_secret, &body);
        let mut tampered = body.clone();
        tampered.push(b' ');
        let (s, _) = GraphSim::post_raw(&url, tampered, Some(sig)).await;
        assert_eq!(s, 401);
    }
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert!(app.b24.customer_messages().is_empty());
    let (s, body) = app
        .api_get(&format!("/api/v1/numbers/{}/chats/5550001/messages", n.id))
        .await;
    assert_eq!(s, 404, "nothing stored: {body}");
}

async fn malformed_json_is_a_clear_400(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555").await;
    let bad = b"{\"object\":\"whatsapp_business_account\",\"entry\":[".to_vec();
    let (s, text) = GraphSim::post_raw(
        &format!("{}/webhooks/whatsapp/cloud", app.url),
        bad.clone(),
        None,
    )
    .await;
    assert_eq!(s, 400);
    let v: Value = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(v["error"]["code"], "invalid_json");
    // Correctly signed but malformed, on the per-number callback.
    let sig = GraphSim::sign(&n.app_secret, &bad);
    let (s, text) = GraphSim::post_raw(
        &format!("{}/webhooks/whatsapp/cloud/{}", app.url, n.phone_number_id),
        bad,
        Some(sig),
    )
    .await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("invalid_json"));
    // A malformed admin API body is a JSON 400 too.
    let r = app
        .http
        .post(format!("{}/api/v1/numbers", app.url))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/json")
        .body("{\"member_id\":")
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "invalid_json");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(app.b24.customer_messages().is_empty());
}

async fn event_with_wrong_application_token_is_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "666").await;
    app.customer_writes(&n, "777", "wamid.T1", "hi").await;
    let b24 = app.b24.clone();
    wait_until(10, "conversation", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let b24_chat = app.b24.customer_messages()[0].b24_chat_id.clone();
    let data = serde_json::json!({
        "CONNECTOR": "b24wa_whatsapp",
        "LINE": "1",
        "MESSAGES": [{
            "im": {"chat_id": b24_chat, "message_id": "999001"},
            "message": {"user_id": "27", "text": "forged"},
            "chat": {"id": chat_key("777", &n)},
        }],
    });
    let form =
        app.b24
            .event_form_with_token("ONIMCONNECTORMESSAGEADD", data.clone(), "not-the-token");
    let s = app
        .b24
        .post_event_raw(&format!("{}/bitrix24/events", app.url), form)
        .await;
    assert_eq!(s, 401);
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert!(
        app.graph.sent_messages().is_empty(),
        "forged event was sent"
    );
    // The same event with the right token goes through.
    let form = app.b24.event_form("ONIMCONNECTORMESSAGEADD", data);
    let s = app
        .b24
        .post_event_raw(&format!("{}/bitrix24/events", app.url), form)
        .await;
    assert_eq!(s, 200);
    let graph = app.graph.clone();
    wait_until(10, "genuine event sent", move || {
        graph.sent_messages().len() == 1
    })
    .await;
}

async fn concurrent_calls_share_one_token_refresh(backend: Backend) {
    let cfg = BitrixSimConfig {
        refresh_delay: Duration::from_millis(300),
        // A slow portal: the three calls of a wave are in flight together.
        latency: Duration::from_millis(150),
        ..BitrixSimConfig::default()
    };
    // Retries 1 s apart so the three failed sends fall due together and run concurrently.
    let mut app = spawn_app_with(backend, cfg, |s| {
        s.retry_base_ms = 1000;
        s.retry_max_ms = 1000;
    })
    .await;
    app.install().await;
    // The install's own first refresh (its check that the tokens are our app's) is not counted.
    let refreshes_before = app.b24.refresh_count();
    let numbers = [
        app.connect("1", "9001").await,
        app.connect("2", "9002").await,
        app.connect("3", "9003").await,
    ];
    app.b24.set_down(true);
    for (i, n) in numbers.iter().enumerate() {
        app.customer_writes(n, &format!("4470000000{i}"), &format!("wamid.R{i}"), "hi")
            .await;
    }
    let b24 = app.b24.clone();
    wait_until(10, "three failed sends", move || {
        b24.calls_of("imconnector.send.messages").len() >= 3
    })
    .await;
    // Let all three retries fall due while the service is stopped: on start they run in one
    // wave, three calls in flight together against an expired token.
    app.stop().await;
    actix_web::rt::time::sleep(Duration::from_millis(1300)).await;
    app.b24.expire_access_token();
    app.b24.set_down(false);
    app.restart().await;
    let b24 = app.b24.clone();
    wait_until(15, "all three delivered", move || {
        b24.customer_messages().len() == 3
    })
    .await;
    assert_eq!(
        app.b24.refresh_count() - refreshes_before,
        1,
        "exactly one refresh"
    );
    let expired = app
        .b24
        .calls_of("imconnector.send.messages")
        .iter()
        .filter(|c| c.status == 401)
        .count();
    assert!(
        expired >= 2,
        "calls were concurrent: {expired} saw expired_token; {:?}",
        app.b24
            .calls_of("imconnector.send.messages")
            .iter()
            .map(|c| c.status)
            .collect::<Vec<_>>()
    );
}

async fn bitrix_down_then_back_delivers_all_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "777").await;
    app.b24.set_down(true);
    let expected: Vec<String> = (0..12).map(|i| format!("message {i}")).collect();
    for (i, t) in expected.iter().enumerate() {
        assert_eq!(
            app.customer_writes(&n, "3809911", &format!("wamid.D{i}"), t)
                .await,
            200
        );
    }
    // Also rate limiting and a timeout on the way back.
    let b24 = app.b24.clone();
    wait_until(10, "failed attempts while down", move || {
        b24.calls_of("imconnector.send.messages").len() >= 2
    })
    .await;
    app.b24.inject(
        Some("imconnector.send.messages"),
        BitrixFault::QueryLimit,
        1,
    );
    app.b24.inject(
        Some("imconnector.send.messages"),
        BitrixFault::ServerError,
        1,
    );
    app.b24.set_down(false);
    let b24 = app.b24.clone();
    wait_until(20, "all delivered", move || {
        b24.customer_messages().len() >= 12
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.texts_in_bitrix("3809911"), expected);
}

async fn restart_mid_burst_loses_and_doubles_nothing(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "888").await;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for i in 0..40 {
        if i == 20 {
            // Stop while the first half is still being relayed.
            eprintln!("restart test: stopping");
            app.stop().await;
            eprintln!("restart test: stopped");
        }
        let text = format!("burst {i}");
        let s = app
            .customer_writes(&n, "3531234", &format!("wamid.B{i}"), &text)
            .await;
        if s == 200 {
            accepted.push(text);
        } else {
            refused.push((i, text));
        }
    }
    assert_eq!(accepted.len(), 20, "the stopped service accepts nothing");
    eprintln!("restart test: posted burst");
    app.restart().await;
    eprintln!("restart test: restarted");
    // Meta retries what was not acknowledged.
    for (i, text) in &refused {
        assert_eq!(
            app.customer_writes(&n, "3531234", &format!("wamid.B{i}"), text)
                .await,
            200
        );
        accepted.push(text.clone());
    }
    eprintln!("restart test: reposted");
    let b24 = app.b24.clone();
    wait_until(20, "all 40 delivered", move || {
        b24.customer_messages().len() >= 40
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        app.texts_in_bitrix("3531234"),
        accepted,
        "exactly once, in order"
    );
}

async fn actor_panic_restarts_and_work_continues(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "999").await;
    app.customer_writes(&n, "2547000", "wamid.P0", "before")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "first message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    // The chat actor panics while processing the next message (after writing, before commit).
    let (s, _) = app
        .api_post(
            "/api/v1/debug/faults",
            serde_json::json!({"actor": "chat", "number_id": n.id, "wa_id": "2547000"}),
        )
        .await;
    assert_eq!(s, 202);
    app.customer_writes(&n, "2547000", "wamid.P1", "during")
        .await;
    app.customer_writes(&n, "2547000", "wamid.P2", "after")
        .await;
    // The portal actor panics in its job runner too.
    let (s, _) = app
        .api_post(
            "/api/v1/debug/faults",
            serde_json::json!({"actor": "portal", "portal_id": 1}),
        )
        .await;
    assert_eq!(s, 202);
    app.customer_writes(&n, "2547000", "wamid.P3", "last").await;
    let b24 = app.b24.clone();
    wait_until(15, "all delivered after restarts", move || {
        b24.customer_messages().len() >= 4
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        app.texts_in_bitrix("2547000"),
        vec!["before", "during", "after", "last"]
    );
}

/// Operator replies whose sends hit 130429 (throughput) and a 5xx: retried with backoff, each
/// reaches WhatsApp exactly once (those errors have no effect), in the order written.
async fn whatsapp_send_errors_are_retried_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "1212").await;
    app.customer_writes(&n, "4930123456", "wamid.F0", "hello")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "customer message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    app.graph.inject(GraphFault::Throughput, 2);
    app.graph.inject(GraphFault::ServerError, 1);
    let key = chat_key("4930123456", &n);
    let mut ims = Vec::new();
    for i in 0..3 {
        let op = app
            .b24
            .operator_write("1", &key, &format!("reply {i}"))
            .await;
        assert_eq!(op.http_status, 200);
        ims.push(op.im_message_id);
    }
    let graph = app.graph.clone();
    wait_until(15, "three replies sent", move || {
        graph.sent_messages().len() >= 3
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let sent: Vec<String> = app
        .graph
        .sent_messages()
        .iter()
        .map(|m| m.text.rsplit("[br]").next().unwrap_or_default().to_string())
        .map(|t| t.rsplit('\n').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent, vec!["reply 0", "reply 1", "reply 2"]);
    assert_eq!(app.graph.pending_faults(), 0, "every fault was hit");
    // Three failed attempts and three good ones reached the Graph API.
    let attempts = app
        .graph
        .calls()
        .iter()
        .filter(|c| c.http_method == "POST" && c.path.ends_with("/messages"))
        .count();
    assert!(attempts >= 6, "{attempts} send attempts");
    for im in ims {
        let b24 = app.b24.clone();
        wait_until(10, "each reply confirmed delivered", move || {
            b24.operator_message_state(&im).as_deref() == Some("delivered")
        })
        .await;
    }
}

/// A send that times out on our side is retried. The Cloud API has no idempotency key, so a send
/// that WhatsApp accepted after our timeout may reach the customer twice (at least once, never
/// lost); the later replies still follow in order.
async fn whatsapp_send_timeout_is_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "1313").await;
    app.customer_writes(&n, "4930999999", "wamid.T0", "hello")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "customer message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let key = chat_key("4930999999", &n);
    // A first answer marks the customer's message read; the timeout below then hits a send.
    app.b24.operator_write("1", &key, "warm-up").await;
    let graph = app.graph.clone();
    wait_until(10, "warm-up sent", move || {
        !graph.sent_messages().is_empty()
    })
    .await;
    // Longer than the service's 5 s HTTP timeout in tests.
    app.graph
        .inject(GraphFault::Timeout(Duration::from_millis(5_500)), 1);
    for i in 0..2 {
        let op = app
            .b24
            .operator_write("1", &key, &format!("slow {i}"))
            .await;
        assert_eq!(op.http_status, 200);
    }
    let graph = app.graph.clone();
    wait_until(20, "both replies sent", move || {
        let texts: Vec<String> = graph
            .sent_messages()
            .iter()
            .map(|m| m.text.clone())
            .collect();
        texts.iter().any(|t| t.ends_with("slow 0")) && texts.iter().any(|t| t.ends_with("slow 1"))
    })
    .await;
    let texts: Vec<String> = app
        .graph
        .sent_messages()
        .iter()
        .map(|m| m.text.clone())
        .collect();
    let first_1 = texts.iter().position(|t| t.ends_with("slow 1"));
    let last_0 = texts.iter().rposition(|t| t.ends_with("slow 0"));
    assert!(last_0 < first_1, "order kept: {texts:?}");
    assert!(
        texts.len() <= 4,
        "at most the timed-out send doubled: {texts:?}"
    );
    // WhatsApp took the first send although our call timed out; the retry sent it again.
    let zeros = texts.iter().filter(|t| t.ends_with("slow 0")).count();
    assert_eq!(zeros, 2, "the timed-out send was retried: {texts:?}");
}

/// A portal that moved answers 302: the call is re-POSTed to the new address, which is stored
/// and used from then on, also after a restart.
async fn moved_portal_is_followed_and_its_new_address_kept(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "1414").await;
    app.b24.move_portal();
    app.customer_writes(&n, "4930777777", "wamid.M1", "one")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "first message after the move", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    let redirects = |app: &common::TestApp| {
        app.b24
            .calls()
            .iter()
            .filter(|c| c.method.starts_with("redirect:"))
            .count()
    };
    assert_eq!(redirects(&app), 1, "followed once");
    app.stop().await;
    app.restart().await;
    app.customer_writes(&n, "4930777777", "wamid.M2", "two")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "second message", move || {
        b24.customer_messages().len() == 2
    })
    .await;
    assert_eq!(redirects(&app), 1, "the new address was kept");
    assert_eq!(app.texts_in_bitrix("4930777777"), vec!["one", "two"]);
}

/// Public endpoints cap their bodies: a 300 KB webhook or event is refused (413), nothing stored.
async fn oversized_bodies_are_refused_with_413(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "1515").await;
    let big = "x".repeat(300 * 1024);
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        "4930555555",
        "Big",
        "wamid.BIG",
        &big,
        sim::unix_now(),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 413);
    for path in ["/bitrix24/events", "/webhooks/whatsapp/gateway/1"] {
        let r = app
            .http
            .post(format!("{}{path}", app.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("event=ONIMCONNECTORMESSAGEADD&data={big}"))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status().as_u16(), 413, "{path}");
    }
    // A normal message still goes through.
    assert_eq!(
        app.customer_writes(&n, "4930555555", "wamid.SMALL", "small")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "small message", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    assert_eq!(app.texts_in_bitrix("4930555555"), vec!["small"]);
}

/// An install whose tokens the portal does not accept (a forged DOMAIN / endpoint, stolen
/// member_id) is refused after asking the portal (`app.info`); nothing is stored.
async fn forged_install_is_refused_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let b24 = &app.b24;
    let pairs: Vec<(String, String)> = [
        ("event", "ONAPPINSTALL".to_string()),
        ("auth[domain]", "victim.bitrix24.com".to_string()),
        ("auth[access_token]", "forged-access-token".to_string()),
        ("auth[refresh_token]", "forged-refresh-token".to_string()),
        ("auth[expires_in]", "3600".to_string()),
        ("auth[server_endpoint]", b24.server_endpoint()),
        ("auth[client_endpoint]", b24.client_endpoint()),
        ("auth[member_id]", b24.member_id()),
        ("auth[application_token]", "forged-app-token".to_string()),
        ("auth[scope]", "imconnector,imopenlines,im".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let r = app
        .http
        .post(format!("{}/bitrix24/install", app.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(sim::form_encode(&pairs))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 403);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "install_not_confirmed");
    let (_, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(portals["total"], 0, "{portals}");
    assert!(b24.registered_connectors().is_empty());
    // The real install still works.
    app.install().await;
}
