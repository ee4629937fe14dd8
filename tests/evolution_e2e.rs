//! An Evolution API number end to end over HTTP, with the Evolution simulator: connecting
//! (instance created, webhook set with the per-number secret), the QR until linked, texts both
//! ways, ticks from `messages.update` shuffled and duplicated, a forged webhook refused.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app, wait_until, Backend, TestApp};
use serde_json::{json, Value};
use sim::{EvolutionCustomer, EvolutionFile, EvolutionSim, EvolutionSimConfig};

on_both_databases!(
    connect_shows_qr_until_linked_then_relays_both_ways,
    ticks_shuffled_and_duplicated_each_once_never_backwards,
    forged_webhook_is_401_and_nothing_stored,
    an_existing_instance_is_reused_with_its_token,
    files_both_ways_downloaded_through_evolution,
    operator_delete_and_edit_reach_whatsapp,
    customer_edit_and_delete_are_mirrored,
    phone_logout_tells_operators_holds_sends_until_linked_again,
    lid_senders_with_and_without_a_phone,
    statuses_before_the_send_returned_are_applied,
    replies_reactions_and_a_failed_send,
    messages_typed_on_the_phone_show_as_the_companys,
    a_customer_known_only_by_lid_is_erased_by_it,
);

const NAME: &str = "shop-1";
const OWN: &str = "5511900000001";
const CUSTOMER: &str = "5511988887777";

struct Evo {
    app: TestApp,
    evo: EvolutionSim,
    number_id: i64,
    webhook_url: String,
}

fn maria() -> EvolutionCustomer {
    EvolutionCustomer::phone(CUSTOMER, "Maria")
}

async fn post_connect(app: &TestApp, evo: &EvolutionSim, key: &str) -> (u16, Value) {
    app.api_post(
        "/api/v1/numbers/gateway",
        json!({"provider": "evolution", "member_id": app.b24.member_id(), "line": "1",
               "base_url": evo.base_url(), "instance": NAME, "api_key": key,
               "display_phone": OWN}),
    )
    .await
}

/// Installs the app, connects an Evolution instance on line 1 (created by b24wa, not yet
/// linked) and returns it.
async fn connect_with(backend: Backend, cfg: EvolutionSimConfig) -> Evo {
    let app = spawn_app(backend).await;
    app.install().await;
    let evo = EvolutionSim::start(cfg).await;
    let (status, body) = post_connect(&app, &evo, &evo.global_key()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["number"]["transport"], "gateway");
    assert_eq!(body["number"]["session_state"], "notAuthorized");
    let number_id = body["number"]["id"].as_i64().expect("id");
    let webhook_url = body["webhook_url"].as_str().expect("url").to_string();
    assert!(webhook_url.ends_with(&format!("/webhooks/whatsapp/evolution/{number_id}")));
    // The instance was created, and its webhook points at us with a secret header of its own.
    assert!(evo.has_instance(NAME));
    let hook = evo.webhook(NAME).expect("webhook set");
    assert_eq!(hook["url"].as_str(), Some(webhook_url.as_str()));
    assert!(hook["headers"]["x-b24wa-secret"]
        .as_str()
        .is_some_and(|s| s.len() >= 32));
    // Every later call uses the instance's own token, not the global key.
    let calls = evo.calls_of("set");
    assert_eq!(
        calls.last().and_then(|c| c.apikey.clone()),
        Some(evo.token(NAME))
    );
    Evo {
        app,
        evo,
        number_id,
        webhook_url,
    }
}

async fn connect(backend: Backend) -> Evo {
    connect_with(backend, EvolutionSimConfig::default()).await
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

/// The QR shows until the phone scans it; then the number is `authorized` and shows none.
async fn link(e: &Evo) {
    let qr_path = format!("/api/v1/numbers/{}/qr", e.number_id);
    let (status, body) = e.app.api_get(&qr_path).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["qr"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/png;base64,")),
        "{body}"
    );
    assert_eq!(e.evo.state(NAME), "connecting");
    // The phone was named when connecting: a pairing code to type instead of scanning.
    assert!(
        body["pairing_code"].as_str().is_some_and(|c| c.len() == 8),
        "{body}"
    );
    // Asked again while the QR shows: still a QR.
    let (_, body) = e.app.api_get(&qr_path).await;
    assert!(body["qr"].is_string(), "{body}");
    assert_eq!(e.evo.link(NAME, OWN).await, 200);
    wait_state(&e.app, e.number_id, "authorized").await;
    let (_, body) = e.app.api_get(&qr_path).await;
    assert_eq!(body["state"], "authorized", "{body}");
    assert!(body["qr"].is_null());
}

fn key(e: &Evo) -> String {
    format!("{CUSTOMER}@{}", phone_number_id(e))
}

fn phone_number_id(e: &Evo) -> String {
    b24wa::store::numbers::evolution_key(&e.evo.base_url(), NAME)
}

/// The customer writes; waits until Bitrix24 has `n` customer messages.
async fn customer_writes(e: &Evo, text: &str, n: usize) -> String {
    let (id, status) = e.evo.customer_text(NAME, &maria(), text, None).await;
    assert_eq!(status, 200);
    let b24 = e.app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        b24.customer_messages().len() >= n
    })
    .await;
    id
}

/// The operator writes; returns (im_message_id, Evolution key.id) once it was sent.
async fn operator_writes(e: &Evo, text: &str) -> (String, String) {
    let before = e.evo.sent().len();
    let op = e.app.b24.operator_write("1", &key(e), text).await;
    assert_eq!(op.http_status, 200);
    let evo = e.evo.clone();
    wait_until(10, "sent through Evolution", move || {
        evo.sent().len() > before
    })
    .await;
    let sent = e.evo.sent()[before].clone();
    (op.im_message_id, sent.id)
}

async fn connect_shows_qr_until_linked_then_relays_both_ways(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    customer_writes(&e, "Olá, vocês entregam?", 1).await;
    let m = &e.app.b24.customer_messages()[0];
    assert_eq!(m.text, "Olá, vocês entregam?");
    assert_eq!(m.user_id, CUSTOMER);
    assert_eq!(m.phone, format!("+{CUSTOMER}"));
    assert_eq!(m.chat_id, key(&e));
    operator_writes(&e, "Sim, [b]grátis[/b]").await;
    let sent = &e.evo.sent()[0];
    assert_eq!(sent.kind, "text");
    assert_eq!(sent.remote_jid, format!("{CUSTOMER}@s.whatsapp.net"));
    assert!(sent.text.ends_with("Sim, *grátis*"), "{}", sent.text);
    // Answering marked the customer's message read on their phone.
    let evo = e.evo.clone();
    wait_until(10, "markMessageAsRead", move || !evo.reads().is_empty()).await;
    assert_eq!(
        e.evo.reads()[0].remote_jid,
        format!("{CUSTOMER}@s.whatsapp.net")
    );
    // The same customer message retried by Evolution is not relayed twice.
    let first = e.app.b24.customer_messages().len();
    let (id, _) = e.evo.customer_text(NAME, &maria(), "again", None).await;
    let hook = e
        .evo
        .deliveries()
        .into_iter()
        .rev()
        .find(|d| d.key_id.as_deref() == Some(id.as_str()))
        .expect("delivered");
    let r = e
        .app
        .http
        .post(&e.webhook_url)
        .header(
            "x-b24wa-secret",
            hook.headers
                .iter()
                .find(|(k, _)| k == "x-b24wa-secret")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        )
        .json(&hook.body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(e.app.b24.customer_messages().len(), first + 1);
}

async fn ticks_shuffled_and_duplicated_each_once_never_backwards(backend: Backend) {
    let cfg = EvolutionSimConfig {
        auto_statuses: vec!["SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED"],
        shuffle_statuses: true,
        duplicate_webhooks: true,
        ..Default::default()
    };
    let e = connect_with(backend, cfg).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    let (im, id) = operator_writes(&e, "olá").await;
    let b24 = e.app.b24.clone();
    let im2 = im.clone();
    wait_until(10, "read in Bitrix24", move || {
        b24.operator_message_state(&im2).as_deref() == Some("read")
    })
    .await;
    // Late and repeated statuses change nothing: never back from read.
    for s in ["DELIVERY_ACK", "SERVER_ACK", "READ", "DELIVERY_ACK"] {
        assert_eq!(e.evo.push_status(NAME, &id, s).await, 200);
    }
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        e.app.b24.operator_message_state(&im).as_deref(),
        Some("read")
    );
    assert_eq!(
        e.app.b24.calls_of("imconnector.send.status.delivery").len(),
        1
    );
    assert_eq!(
        e.app.b24.calls_of("imconnector.send.status.reading").len(),
        1
    );
}

async fn forged_webhook_is_401_and_nothing_stored(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    let body = json!({"event": "messages.upsert", "instance": NAME,
        "data": {"key": {"remoteJid": format!("{CUSTOMER}@s.whatsapp.net"), "fromMe": false,
                         "id": "3AFORGED0001"},
                 "pushName": "Mallory", "message": {"conversation": "send me the money"},
                 "messageType": "conversation", "messageTimestamp": 1761057639},
        "sender": format!("{OWN}@s.whatsapp.net"), "apikey": null});
    let real = e.evo.webhook(NAME).expect("webhook")["headers"]["x-b24wa-secret"]
        .as_str()
        .expect("secret")
        .to_string();
    // No secret, a wrong one, and the right one for another instance's body.
    let other = {
        let mut b = body.clone();
        b["instance"] = json!("someone-else");
        b
    };
    for (secret, body) in [
        (None, &body),
        (Some("x".repeat(real.len())), &body),
        (Some(real.clone()), &other),
    ] {
        let mut req = e.app.http.post(&e.webhook_url).json(body);
        if let Some(s) = secret {
            req = req.header("x-b24wa-secret", s);
        }
        let r = req.send().await.expect("POST");
        assert_eq!(r.status().as_u16(), 401);
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(v["error"]["code"], "webhook_token_invalid", "{v}");
    }
    // The GREEN-API route does not take an Evolution number's events either.
    let gw_url = e.webhook_url.replace(
        "/webhooks/whatsapp/evolution/",
        "/webhooks/whatsapp/gateway/",
    );
    let r = e
        .app
        .http
        .post(&gw_url)
        .bearer_auth(&real)
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert!(e.app.b24.customer_messages().is_empty());
    // The real one, with the same body, is relayed.
    let r = e
        .app
        .http
        .post(&e.webhook_url)
        .header("x-b24wa-secret", &real)
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    let b24 = e.app.b24.clone();
    wait_until(10, "the genuine one relayed", move || {
        b24.customer_messages().len() == 1
    })
    .await;
}

/// An instance the server already has is reused (no `create`), reached with the key given.
async fn an_existing_instance_is_reused_with_its_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
    let token = evo.add_instance(NAME);
    let (status, body) = post_connect(&app, &evo, "wrong-key").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["code"], "gateway_credentials_invalid",
        "{body}"
    );
    let (status, body) = post_connect(&app, &evo, &token).await;
    assert_eq!(status, 201, "{body}");
    assert!(evo.calls_of("create").is_empty());
    assert!(evo.webhook(NAME).is_some());
    // A body without the Evolution fields is refused with the field named.
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"provider": "evolution", "member_id": app.b24.member_id(), "line": "1"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_json", "{body}");
}

async fn get_bytes(url: &str) -> Vec<u8> {
    reqwest::get(url)
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body")
        .to_vec()
}

async fn wait_delivered(e: &Evo, im: &str) {
    let b24 = e.app.b24.clone();
    let im = im.to_string();
    wait_until(10, "delivered", move || {
        matches!(
            b24.operator_message_state(&im).as_deref(),
            Some("delivered" | "read")
        )
    })
    .await;
}

/// Customers' files are decrypted by Evolution (`getBase64FromMediaMessage`: the webhook's
/// link is WhatsApp's encrypted one); an operator's file goes out as `sendMedia` with our link.
async fn files_both_ways_downloaded_through_evolution(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    let photo = b"\xff\xd8\xff\xe0 evolution photo".to_vec();
    let file = |kind: &str, mime: &str, name: Option<&str>, caption: Option<&str>, bytes: &[u8]| {
        EvolutionFile {
            kind: kind.into(),
            mime: mime.into(),
            file_name: name.map(str::to_string),
            caption: caption.map(str::to_string),
            bytes: bytes.to_vec(),
        }
    };
    e.evo
        .customer_media(
            NAME,
            &maria(),
            file("image", "image/jpeg", None, Some("do parque"), &photo),
        )
        .await;
    let doc = b"%PDF-1.4 contrato".to_vec();
    e.evo
        .customer_media(
            NAME,
            &maria(),
            file(
                "document",
                "application/pdf",
                Some("contrato.pdf"),
                None,
                &doc,
            ),
        )
        .await;
    let b24 = e.app.b24.clone();
    wait_until(10, "both files in Bitrix24", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let got = e.app.b24.customer_messages();
    assert_eq!(got[0].text, "do parque");
    assert_eq!(got[1].files[0]["name"], "contrato.pdf");
    for (m, bytes) in got.iter().zip([&photo, &doc]) {
        let url = m.files[0]["url"].as_str().expect("url");
        assert!(url.starts_with(&format!("{}/media/", e.app.url)), "{url}");
        assert_eq!(&get_bytes(url).await, bytes);
    }
    assert_eq!(e.evo.calls_of("getBase64FromMediaMessage").len(), 2);
    // The operator sends a file: Evolution is given our link to fetch.
    let price = b"%PDF-1.4 precos".to_vec();
    let op = e
        .app
        .b24
        .operator_write_file(
            "1",
            &key(&e),
            "Preços em anexo",
            "precos.pdf",
            "application/pdf",
            price.clone(),
        )
        .await;
    assert_eq!(op.http_status, 200);
    let evo = e.evo.clone();
    wait_until(10, "sendMedia", move || {
        evo.sent().iter().any(|m| m.media.is_some())
    })
    .await;
    let sent = e
        .evo
        .sent()
        .into_iter()
        .find(|m| m.media.is_some())
        .expect("file sent");
    assert_eq!(sent.kind, "document");
    assert!(sent.text.ends_with("Preços em anexo"), "{}", sent.text);
    let link = sent.media.expect("media");
    assert!(link.starts_with(&format!("{}/media/", e.app.url)), "{link}");
    assert_eq!(get_bytes(&link).await, price);
}

async fn operator_delete_and_edit_reach_whatsapp(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    let (im1, id1) = operator_writes(&e, "preço errado").await;
    wait_delivered(&e, &im1).await;
    assert_eq!(e.app.b24.operator_delete(&im1).await, 200);
    let evo = e.evo.clone();
    let id = id1.clone();
    wait_until(10, "deleted for everyone", move || {
        evo.sent_message(&id).is_some_and(|m| m.deleted)
    })
    .await;
    let call = e.evo.calls_of("deleteMessageForEveryone");
    assert_eq!(call[0].body["fromMe"], true);
    assert_eq!(
        call[0].body["remoteJid"],
        format!("{CUSTOMER}@s.whatsapp.net")
    );
    let (im2, id2) = operator_writes(&e, "O preço é 10").await;
    wait_delivered(&e, &im2).await;
    assert_eq!(e.app.b24.operator_edit(&im2, "O preço é 12").await, 200);
    let evo = e.evo.clone();
    wait_until(10, "edited in WhatsApp", move || {
        evo.sent_message(&id2)
            .is_some_and(|m| m.current_text().ends_with("O preço é 12"))
    })
    .await;
}

async fn customer_edit_and_delete_are_mirrored(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    let id = customer_writes(&e, "olá tuod bem", 1).await;
    assert_eq!(
        e.evo
            .customer_edit(NAME, &maria(), &id, "olá tudo bem")
            .await,
        200
    );
    let b24 = e.app.b24.clone();
    wait_until(10, "edit mirrored", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.edited && m.text == "olá tudo bem")
    })
    .await;
    assert_eq!(e.evo.customer_delete(NAME, &maria(), &id).await, 200);
    let b24 = e.app.b24.clone();
    wait_until(10, "delete mirrored", move || {
        b24.customer_messages().iter().any(|m| m.deleted)
    })
    .await;
    assert_eq!(e.app.b24.customer_messages().len(), 1);
}

/// The phone logs the session out (`connection.update` close, 401): the number is
/// `notAuthorized`, operators of its chats are told, sends wait; once the QR is scanned again
/// everything waiting goes out in order.
async fn phone_logout_tells_operators_holds_sends_until_linked_again(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    operator_writes(&e, "antes").await;
    assert_eq!(e.evo.logout_phone(NAME).await, 200);
    wait_state(&e.app, e.number_id, "notAuthorized").await;
    let b24 = e.app.b24.clone();
    wait_until(10, "session-lost notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("not linked"))
    })
    .await;
    let texts: Vec<String> = (0..3).map(|i| format!("na fila {i}")).collect();
    for t in &texts {
        let op = e.app.b24.operator_write("1", &key(&e), t).await;
        assert_eq!(op.http_status, 200);
    }
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(e.evo.sent().len(), 1, "nothing sent while logged out");
    link(&e).await;
    let evo = e.evo.clone();
    wait_until(15, "all sent after relinking", move || {
        evo.sent().len() >= 4
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = e
        .evo
        .sent()
        .iter()
        .skip(1)
        .map(|m| m.text.lines().last().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent, texts);
}

/// `@lid` senders: with the phone in `remoteJidAlt` the chat is the phone's (and answers go to
/// the phone); with the LID alone the chat is kept under the LID, never merged with another
/// customer, and answers go to the LID.
async fn lid_senders_with_and_without_a_phone(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    let with_phone = EvolutionCustomer::lid_with_phone("207700000001", CUSTOMER, "Maria");
    e.evo.customer_text(NAME, &with_phone, "by lid", None).await;
    let b24 = e.app.b24.clone();
    wait_until(10, "the LID+phone message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let m = &e.app.b24.customer_messages()[0];
    assert_eq!(m.chat_id, key(&e));
    assert_eq!(m.phone, format!("+{CUSTOMER}"));
    operator_writes(&e, "to the phone").await;
    assert_eq!(
        e.evo.sent()[0].remote_jid,
        format!("{CUSTOMER}@s.whatsapp.net")
    );
    let hidden = EvolutionCustomer::lid_only("207700000002", "Ana");
    e.evo
        .customer_text(NAME, &hidden, "no phone here", None)
        .await;
    let b24 = e.app.b24.clone();
    wait_until(10, "the LID-only message", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let m = e.app.b24.customer_messages()[1].clone();
    let lid_key = format!("207700000002@lid@{}", phone_number_id(&e));
    assert_eq!(m.chat_id, lid_key);
    assert_eq!(m.phone, "");
    let before = e.evo.sent().len();
    let op = e.app.b24.operator_write("1", &lid_key, "to the lid").await;
    assert_eq!(op.http_status, 200);
    let evo = e.evo.clone();
    wait_until(10, "sent to the LID", move || evo.sent().len() > before).await;
    assert_eq!(e.evo.sent()[before].remote_jid, "207700000002@lid");
}

/// A status that arrives before the send call returned is kept and applied.
async fn statuses_before_the_send_returned_are_applied(backend: Backend) {
    let cfg = EvolutionSimConfig {
        statuses_before_reply: true,
        ..Default::default()
    };
    let e = connect_with(backend, cfg).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    let (im, _) = operator_writes(&e, "rápido").await;
    let b24 = e.app.b24.clone();
    wait_until(10, "read in Bitrix24", move || {
        b24.operator_message_state(&im).as_deref() == Some("read")
    })
    .await;
}

/// A customer's reply shows what it quotes, a reaction is told with the message it is on, and
/// a send WhatsApp refuses (`SERVER_ACK` then `ERROR`) reaches the operator as a failure.
async fn replies_reactions_and_a_failed_send(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    let (im, id) = operator_writes(&e, "Qual tamanho você precisa?").await;
    wait_delivered(&e, &im).await;
    e.evo
        .customer_text(NAME, &maria(), "GG por favor", Some(&id))
        .await;
    let b24 = e.app.b24.clone();
    wait_until(10, "reply in Bitrix24", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let m = &e.app.b24.customer_messages()[1];
    assert!(m.text.contains("Qual tamanho você precisa?"), "{}", m.text);
    assert!(m.text.ends_with("GG por favor"), "{}", m.text);
    e.evo.customer_reaction(NAME, &maria(), &id, "👍").await;
    let b24 = e.app.b24.clone();
    wait_until(10, "reaction in Bitrix24", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.text.contains("👍") && m.text.contains("Qual tamanho"))
    })
    .await;
    e.evo.set_failing(CUSTOMER, true);
    let notices = e.app.b24.system_notices().len();
    let (im2, _) = operator_writes(&e, "não vai chegar").await;
    let b24 = e.app.b24.clone();
    wait_until(10, "the failure told", move || {
        b24.system_notices().len() > notices
    })
    .await;
    assert_ne!(
        e.app.b24.operator_message_state(&im2).as_deref(),
        Some("read")
    );
}

/// What someone types on the linked phone itself (`messages.upsert` with `fromMe:true`) shows
/// in the chat as the company's words, once, and is not taken for the customer's.
async fn messages_typed_on_the_phone_show_as_the_companys(backend: Backend) {
    let e = connect(backend).await;
    link(&e).await;
    customer_writes(&e, "oi", 1).await;
    let b24 = e.app.b24.clone();
    wait_until(10, "the chat opened", move || {
        !b24.calls_of("imconnector.send.messages").is_empty()
    })
    .await;
    e.evo
        .phone_text(NAME, &maria(), "Respondi pelo celular")
        .await;
    let b24 = e.app.b24.clone();
    wait_until(10, "the phone's message in the chat", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("Respondi pelo celular"))
    })
    .await;
    let n = e
        .app
        .b24
        .system_notices()
        .into_iter()
        .find(|n| n.message.contains("Respondi pelo celular"))
        .expect("notice");
    assert!(n.message.contains("linked phone"), "{}", n.message);
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.app.b24.customer_messages().len(), 1);
    assert!(e.evo.sent().is_empty(), "nothing sent back");
}

/// A customer WhatsApp shows only by LID is erased by `<lid>@lid` (issue 19): nothing of them is
/// found by search or in the chats and messages tables; another LID customer stays.
async fn a_customer_known_only_by_lid_is_erased_by_it(backend: Backend) {
    use sea_orm::EntityTrait;
    let e = connect(backend).await;
    link(&e).await;
    let ana = EvolutionCustomer::lid_only("207700000002", "Ana");
    let bia = EvolutionCustomer::lid_only("207700000003", "Bia");
    e.evo
        .customer_text(NAME, &ana, "ana private words", None)
        .await;
    e.evo.customer_text(NAME, &bia, "bia stays", None).await;
    let b24 = e.app.b24.clone();
    wait_until(10, "both LID messages", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let (_, tenants) = e.app.api_get("/api/v1/tenants").await;
    let tenant = tenants["items"][0]["id"].as_i64().expect("the tenant");
    let (status, erased) = e
        .app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": "207700000002@lid"}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["customer"], "207700000002@lid");
    assert_eq!(
        (erased["chats"].as_u64(), erased["messages"].as_u64()),
        (Some(1), Some(1)),
        "{erased}"
    );
    let (_, found) = e.app.api_get("/api/v1/messages?q=ana%20private").await;
    assert_eq!(found["total"], 0, "{found}");
    let (_, found) = e.app.api_get("/api/v1/messages?q=bia%20stays").await;
    assert_eq!(found["total"], 1, "{found}");
    let db = sea_orm::Database::connect(e.app.settings.database_url())
        .await
        .expect("the database");
    let chats = entity::chats::Entity::find().all(&db).await.expect("chats");
    let keys: Vec<&str> = chats.iter().map(|c| c.customer_wa_id.as_str()).collect();
    assert_eq!(keys, ["207700000003@lid"]);
    let inbox = entity::inbox::Entity::find().all(&db).await.expect("inbox");
    assert!(
        inbox.iter().all(|r| !r.payload.contains("207700000002")),
        "{inbox:#?}"
    );
    assert!(inbox.iter().any(|r| r.payload.contains("207700000003")));
}
