//! The WhatsApp Web gateway transport end to end over HTTP: QR linking, webhooks with the
//! per-number token, texts both ways, ticks, deletions and edits, a lost session.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app, wait_until, Backend, TestApp};
use serde_json::{json, Value};
use sim::{GatewayFault, GatewaySim, GatewaySimConfig};

on_both_databases!(
    connect_shows_qr_until_linked_then_relays_both_ways,
    ticks_come_from_gateway_statuses,
    operator_delete_within_72h_deletes_in_whatsapp_and_after_gives_notice,
    operator_edit_is_applied_in_whatsapp,
    customer_edit_and_delete_are_mirrored,
    lost_authorization_holds_jobs_then_sends_all_in_order,
    relinked_within_the_same_second_sends_what_waited,
    wrong_webhook_token_is_401_and_nothing_stored,
    rate_limits_and_gateway_errors_are_retried_quota_is_told,
    a_reply_shows_what_it_quotes,
    files_both_ways_with_an_expired_link_fetched_again,
);

const INSTANCE: u64 = 1101000001;
const TOKEN: &str = "gw-instance-token";
const CUSTOMER: &str = "79001234567";

struct Gw {
    app: TestApp,
    gw: GatewaySim,
    number_id: i64,
    webhook_url: String,
}

/// Installs the app, connects a gateway instance on line 1 (not yet linked) and returns it.
async fn connect(backend: Backend) -> Gw {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(INSTANCE, TOKEN, "79990000000");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": INSTANCE.to_string(), "api_token_instance": TOKEN,
                   "display_phone": "79990000000"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["number"]["transport"], "gateway");
    assert_eq!(body["number"]["session_state"], "notAuthorized");
    let number_id = body["number"]["id"].as_i64().expect("id");
    let webhook_url = body["webhook_url"].as_str().expect("url").to_string();
    // Our webhooks were configured on the instance with a token of their own.
    let settings = gw.settings(INSTANCE);
    assert_eq!(settings["webhookUrl"].as_str(), Some(webhook_url.as_str()));
    assert_eq!(settings["incomingWebhook"], "yes");
    assert_eq!(settings["stateWebhook"], "yes");
    assert!(settings["webhookUrlToken"]
        .as_str()
        .is_some_and(|t| t.len() >= 32));
    Gw {
        app,
        gw,
        number_id,
        webhook_url,
    }
}

async fn link(g: &Gw) {
    let (status, body) = g
        .app
        .api_get(&format!("/api/v1/numbers/{}/qr", g.number_id))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["qr"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/png;base64,")),
        "{body}"
    );
    assert_eq!(g.gw.scan_qr(INSTANCE).await, 200);
    wait_state(&g.app, g.number_id, "authorized").await;
    let (_, body) = g
        .app
        .api_get(&format!("/api/v1/numbers/{}/qr", g.number_id))
        .await;
    assert_eq!(body["state"], "authorized");
    assert!(body["qr"].is_null());
}

async fn number_view(app: &TestApp, id: i64) -> Value {
    let (_, list) = app.api_get("/api/v1/numbers").await;
    list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["id"].as_i64() == Some(id)).cloned())
        .unwrap_or(Value::Null)
}

async fn wait_state(app: &TestApp, id: i64, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = number_view(app, id).await;
        if n["session_state"] == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "state {want} expected: {n}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn key() -> String {
    format!("{CUSTOMER}@gw{INSTANCE}")
}

/// Customer writes; waits until Bitrix24 has `n` customer messages.
async fn customer_writes(g: &Gw, text: &str, n: usize) -> String {
    let id = g.gw.customer_text(INSTANCE, CUSTOMER, "Ivan", text).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        b24.customer_messages().len() >= n
    })
    .await;
    id
}

/// The operator writes; returns (im_message_id, gateway idMessage) once it was sent.
async fn operator_writes(g: &Gw, text: &str) -> (String, String) {
    let before = g.gw.sent().len();
    let op = g.app.b24.operator_write("1", &key(), text).await;
    assert_eq!(op.http_status, 200);
    let gw = g.gw.clone();
    wait_until(10, "sent through the gateway", move || {
        gw.sent().len() > before
    })
    .await;
    let sent = g.gw.sent()[before].clone();
    (op.im_message_id, sent.id_message)
}

async fn connect_shows_qr_until_linked_then_relays_both_ways(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "Привет, есть доставка?", 1).await;
    let m = &g.app.b24.customer_messages()[0];
    assert_eq!(m.text, "Привет, есть доставка?");
    assert_eq!(m.user_id, CUSTOMER);
    assert_eq!(m.phone, format!("+{CUSTOMER}"));
    assert_eq!(m.chat_id, key());
    let (_, _) = operator_writes(&g, "Да, [b]бесплатно[/b]").await;
    let sent = &g.gw.sent()[0];
    assert_eq!(sent.chat_id, format!("{CUSTOMER}@c.us"));
    assert!(sent.text.ends_with("Да, *бесплатно*"), "{}", sent.text);
    // Answering marked the customer's message read on their phone.
    let gw = g.gw.clone();
    wait_until(10, "readChat", move || !gw.reads().is_empty()).await;
    assert_eq!(g.gw.reads()[0].chat_id, format!("{CUSTOMER}@c.us"));
}

async fn ticks_come_from_gateway_statuses(backend: Backend) {
    let g = connect(backend).await;
    g.gw.set_auto_statuses(Vec::new());
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    let (im, id) = operator_writes(&g, "hello").await;
    for s in ["delivered", "sent", "read", "delivered", "read"] {
        assert_eq!(g.gw.push_status(&id, s, None).await, 200);
    }
    let b24 = g.app.b24.clone();
    wait_until(10, "read in Bitrix24", move || {
        b24.operator_message_state(&im).as_deref() == Some("read")
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        g.app.b24.calls_of("imconnector.send.status.delivery").len(),
        1
    );
    assert_eq!(
        g.app.b24.calls_of("imconnector.send.status.reading").len(),
        1
    );
    // noAccount on another message: a failure with the reason in words.
    let (_, id2) = operator_writes(&g, "are you there?").await;
    g.gw.push_status(&id2, "noAccount", None).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "failure notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("cannot receive WhatsApp"))
    })
    .await;
    // yellowCard: the number is restricted for spam; said in words.
    let (_, id3) = operator_writes(&g, "promo!").await;
    g.gw.push_status(&id3, "yellowCard", None).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "spam notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("suspected spam"))
    })
    .await;
}

async fn operator_delete_within_72h_deletes_in_whatsapp_and_after_gives_notice(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    let (im1, id1) = operator_writes(&g, "wrong price").await;
    let (im2, id2) = operator_writes(&g, "old news").await;
    for im in [&im1, &im2] {
        let b24 = g.app.b24.clone();
        let im = im.clone();
        wait_until(10, "delivered", move || {
            matches!(
                b24.operator_message_state(&im).as_deref(),
                Some("delivered" | "read")
            )
        })
        .await;
    }
    assert_eq!(g.app.b24.operator_delete(&im1).await, 200);
    let gw = g.gw.clone();
    let id = id1.clone();
    wait_until(10, "deleted for everyone", move || {
        gw.sent_message(&id).is_some_and(|m| m.deleted_for_everyone)
    })
    .await;
    // 73 hours later (the gateway's clock) a delete is refused; the operator is told why.
    g.gw.advance_clock(Duration::from_secs(73 * 3600));
    assert_eq!(g.app.b24.operator_delete(&im2).await, 200);
    let b24 = g.app.b24.clone();
    wait_until(10, "notice that it stays", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("still sees it"))
    })
    .await;
    assert!(!g.gw.sent_message(&id2).is_some_and(|m| m.deleted));
}

async fn operator_edit_is_applied_in_whatsapp(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    let (im, id) = operator_writes(&g, "Price is 10").await;
    let b24 = g.app.b24.clone();
    let im2 = im.clone();
    wait_until(10, "delivered", move || {
        matches!(
            b24.operator_message_state(&im2).as_deref(),
            Some("delivered" | "read")
        )
    })
    .await;
    assert_eq!(g.app.b24.operator_edit(&im, "Price is 12").await, 200);
    let gw = g.gw.clone();
    wait_until(10, "edited in WhatsApp", move || {
        gw.sent_message(&id)
            .is_some_and(|m| m.current_text().ends_with("Price is 12"))
    })
    .await;
}

async fn customer_edit_and_delete_are_mirrored(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    let id = customer_writes(&g, "helo", 1).await;
    g.gw.customer_edit(INSTANCE, CUSTOMER, &id, "hello").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "edit mirrored", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.edited && m.text == "hello")
    })
    .await;
    g.gw.customer_delete(INSTANCE, CUSTOMER, &id).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "delete mirrored", move || {
        b24.customer_messages().iter().any(|m| m.deleted)
    })
    .await;
    assert_eq!(g.app.b24.customer_messages().len(), 1);
}

async fn lost_authorization_holds_jobs_then_sends_all_in_order(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    operator_writes(&g, "before").await;
    // The phone logs out: a state webhook arrives; operators are told; sends wait.
    assert_eq!(g.gw.set_state(INSTANCE, "notAuthorized").await, 200);
    wait_state(&g.app, g.number_id, "notAuthorized").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "session-lost notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("not linked"))
    })
    .await;
    let texts: Vec<String> = (0..6).map(|i| format!("queued {i}")).collect();
    for t in &texts {
        let op = g.app.b24.operator_write("1", &key(), t).await;
        assert_eq!(op.http_status, 200);
    }
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(g.gw.sent().len(), 1, "nothing sent while unlinked");
    // Linked again: everything goes out, in order, once.
    assert_eq!(g.gw.scan_qr(INSTANCE).await, 200);
    let gw = g.gw.clone();
    wait_until(15, "all sent after relinking", move || gw.sent().len() >= 7).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> =
        g.gw.sent()
            .iter()
            .skip(1)
            .map(|m| m.text.lines().last().unwrap_or_default().to_string())
            .collect();
    assert_eq!(sent, texts);
}

/// The gateway stamps its state webhooks in whole seconds, so a phone linked, logged out and
/// linked again within one second posts the same `{timestamp, stateInstance}` twice. The second
/// `authorized` is a new event, not a duplicate: sending resumes at once (it used to be dropped as
/// a duplicate, leaving the number "not linked" until the next poll of its state, a minute later).
/// The simulator's clock is frozen so that every webhook carries the same timestamp.
async fn relinked_within_the_same_second_sends_what_waited(backend: Backend) {
    let g = connect(backend).await;
    g.gw.freeze_clock(true);
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    operator_writes(&g, "before").await;
    assert_eq!(g.gw.set_state(INSTANCE, "notAuthorized").await, 200);
    wait_state(&g.app, g.number_id, "notAuthorized").await;
    let texts: Vec<String> = (0..3).map(|i| format!("queued {i}")).collect();
    for t in &texts {
        let op = g.app.b24.operator_write("1", &key(), t).await;
        assert_eq!(op.http_status, 200);
    }
    assert_eq!(g.gw.scan_qr(INSTANCE).await, 200);
    let gw = g.gw.clone();
    wait_until(10, "all sent after relinking", move || gw.sent().len() >= 4).await;
    // Logged out and linked again at once, still within the same second: the last word is
    // "authorized", and it is the state that stays.
    assert_eq!(g.gw.set_state(INSTANCE, "notAuthorized").await, 200);
    assert_eq!(g.gw.scan_qr(INSTANCE).await, 200);
    let stamps: std::collections::HashSet<String> =
        g.gw.webhook_deliveries()
            .iter()
            .filter(|d| d.type_webhook == "stateInstanceChanged")
            .map(|d| d.body["timestamp"].to_string())
            .collect();
    assert_eq!(stamps.len(), 1, "one timestamp for every state webhook");
    wait_state(&g.app, g.number_id, "authorized").await;
    operator_writes(&g, "after").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> =
        g.gw.sent()
            .iter()
            .map(|m| m.text.lines().last().unwrap_or_default().to_string())
            .collect();
    assert_eq!(
        sent,
        ["before", "queued 0", "queued 1", "queued 2", "after"],
        "once each, in order"
    );
}

async fn wrong_webhook_token_is_401_and_nothing_stored(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    let body = serde_json::to_vec(&json!({
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": INSTANCE, "wid": "79990000000@c.us", "typeInstance": "whatsapp"},
        "timestamp": 1700000000, "idMessage": "FORGED1",
        "senderData": {"chatId": format!("{CUSTOMER}@c.us"), "sender": format!("{CUSTOMER}@c.us"), "senderName": "Eve"},
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "forged"}}
    }))
    .expect("json");
    let (status, _) =
        g.gw.post_raw_webhook(&g.webhook_url, Some("wrong-token"), body.clone())
            .await;
    assert_eq!(status, 401);
    let (status, _) = g.gw.post_raw_webhook(&g.webhook_url, None, body).await;
    assert_eq!(status, 401);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(g.app.b24.customer_messages().is_empty());
    let (status, _) = g
        .app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/{CUSTOMER}/messages",
            g.number_id
        ))
        .await;
    assert_eq!(status, 404, "no chat was created");
}

async fn rate_limits_and_gateway_errors_are_retried_quota_is_told(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    operator_writes(&g, "warm-up").await;
    g.gw.inject_for("sendMessage", GatewayFault::RateLimited, 1);
    g.gw.inject_for("sendMessage", GatewayFault::Http5xx, 1);
    for t in ["a", "b"] {
        assert_eq!(
            g.app.b24.operator_write("1", &key(), t).await.http_status,
            200
        );
    }
    let gw = g.gw.clone();
    wait_until(15, "both sent", move || gw.sent().len() >= 3).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let texts: Vec<String> =
        g.gw.sent()
            .iter()
            .map(|m| m.text.lines().last().unwrap_or_default().to_string())
            .collect();
    assert_eq!(texts, vec!["warm-up", "a", "b"], "once each, in order");
    // The plan's quota is used up: the message fails and the operator reads why.
    g.gw.inject_for("sendMessage", GatewayFault::QuotaExceeded, 1);
    assert_eq!(
        g.app.b24.operator_write("1", &key(), "c").await.http_status,
        200
    );
    let b24 = g.app.b24.clone();
    wait_until(10, "quota notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("quota"))
    })
    .await;
}

async fn a_reply_shows_what_it_quotes(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    customer_writes(&g, "hi", 1).await;
    let (im, id) = operator_writes(&g, "Which size do you need?").await;
    // Its WhatsApp id is stored once the send is settled (its receipts then reach Bitrix24).
    let b24 = g.app.b24.clone();
    wait_until(10, "reply settled", move || {
        matches!(
            b24.operator_message_state(&im).as_deref(),
            Some("delivered" | "read")
        )
    })
    .await;
    g.gw.customer_reply(INSTANCE, CUSTOMER, "Ivan", "XL please", &id)
        .await;
    let b24 = g.app.b24.clone();
    wait_until(10, "reply in Bitrix24", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let m = &g.app.b24.customer_messages()[1];
    assert!(m.text.contains("Which size do you need?"), "{}", m.text);
    assert!(m.text.ends_with("XL please"), "{}", m.text);
}

async fn files_both_ways_with_an_expired_link_fetched_again(backend: Backend) {
    let g = connect(backend).await;
    link(&g).await;
    // A photo with a caption; then a document whose webhook link has expired by the time we
    // fetch it (the gateway gives a new one through downloadFile).
    let photo = b"\xff\xd8\xff\xe0 gateway photo".to_vec();
    g.gw.customer_file(
        INSTANCE,
        CUSTOMER,
        "Ivan",
        "imageMessage",
        "image/jpeg",
        "IMG_1.jpg",
        photo.clone(),
        "from the park",
    )
    .await;
    let b24 = g.app.b24.clone();
    wait_until(10, "the photo in Bitrix24", || {
        !b24.customer_messages().is_empty()
    })
    .await;
    g.gw.inject_for(
        "download",
        GatewayFault::Custom(404, "link expired".into()),
        1,
    );
    let doc = b"%PDF-1.4 contract".to_vec();
    g.gw.customer_file(
        INSTANCE,
        CUSTOMER,
        "Ivan",
        "documentMessage",
        "application/pdf",
        "contract.pdf",
        doc.clone(),
        "",
    )
    .await;
    let b24 = g.app.b24.clone();
    wait_until(10, "the document in Bitrix24", || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let got = g.app.b24.customer_messages();
    assert_eq!(got[0].text, "from the park");
    for (m, (name, bytes)) in got
        .iter()
        .zip([("IMG_1.jpg", &photo), ("contract.pdf", &doc)])
    {
        let f = &m.files[0];
        assert_eq!(f["name"], name);
        let url = f["url"].as_str().expect("url");
        assert!(url.starts_with(&format!("{}/media/", g.app.url)), "{url}");
        let body = reqwest::get(url)
            .await
            .expect("GET")
            .bytes()
            .await
            .expect("body");
        assert_eq!(&body.to_vec(), bytes);
    }
    assert!(
        g.gw.calls().iter().any(|c| c.method == "downloadFile"),
        "a fresh link was asked for"
    );
    // The operator sends a file: the gateway fetches it from our link.
    let price = b"%PDF-1.4 prices".to_vec();
    let op = g
        .app
        .b24
        .operator_write_file(
            "1",
            &key(),
            "Prices attached",
            "prices.pdf",
            "application/pdf",
            price.clone(),
        )
        .await;
    assert_eq!(op.http_status, 200);
    let gw = g.gw.clone();
    wait_until(10, "sendFileByUrl", move || {
        gw.sent().iter().any(|m| m.file.is_some())
    })
    .await;
    let sent =
        g.gw.sent()
            .into_iter()
            .find(|m| m.file.is_some())
            .expect("file sent");
    let file = sent.file.expect("file");
    assert_eq!(file.file_name, "prices.pdf");
    assert_eq!(sent.kind, "document");
    assert!(sent.text.ends_with("Prices attached"), "{}", sent.text);
    assert_eq!(
        file.bytes.as_deref(),
        Some(price.as_slice()),
        "{:?}",
        file.fetch_error
    );
}
