//! The WhatsApp Web gateway transport end to end over HTTP: QR linking, webhooks with the
//! per-number secret, texts both ways, ticks, deletions and edits, a lost session. Every test
//! runs against both gateways (GREEN-API and Evolution API, through `web_gateways`' harness)
//! on both databases, with the same assertions; where the gateways truly differ (their
//! contracts), the test branches on the gateway and says why.

mod common;
mod sim;
mod web_gateways;

use std::time::Duration;

use common::wait_until;
use sim::{EvolutionFault, GatewayFault};
use web_gateways::{connect, Kind, SendFault, CUSTOMER};

use crate::common::Backend;

on_both_gateways!(
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

async fn connect_shows_qr_until_linked_then_relays_both_ways(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("Привет, есть доставка?", 1).await;
    let m = &g.app.b24.customer_messages()[0];
    assert_eq!(m.text, "Привет, есть доставка?");
    assert_eq!(m.user_id, CUSTOMER);
    assert_eq!(m.phone, format!("+{CUSTOMER}"));
    assert_eq!(m.chat_id, g.key());
    let (_, _) = g.operator_writes("Да, [b]бесплатно[/b]").await;
    let sent = &g.sent()[0];
    assert_eq!(sent.chat, g.customer_chat());
    assert!(sent.text.ends_with("Да, *бесплатно*"), "{}", sent.text);
    // Answering marked the customer's message read on their phone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while g.reads().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no read receipt");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(g.reads()[0], g.customer_chat());
}

async fn ticks_come_from_gateway_statuses(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.no_auto_statuses();
    g.link().await;
    g.customer_writes("hi", 1).await;
    let (im, id) = g.operator_writes("hello").await;
    for s in ["delivered", "sent", "read", "delivered", "read"] {
        assert_eq!(g.push_status(&id, s).await, 200);
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
    match kind {
        Kind::GreenApi => {
            // noAccount on another message: a failure with the reason in words.
            let (_, id2) = g.operator_writes("are you there?").await;
            g.green_api().push_status(&id2, "noAccount", None).await;
            let b24 = g.app.b24.clone();
            wait_until(10, "failure notice", move || {
                b24.system_notices()
                    .iter()
                    .any(|n| n.message.contains("cannot receive WhatsApp"))
            })
            .await;
            // yellowCard: the number is restricted for spam; said in words.
            let (_, id3) = g.operator_writes("promo!").await;
            g.green_api().push_status(&id3, "yellowCard", None).await;
            let b24 = g.app.b24.clone();
            wait_until(10, "spam notice", move || {
                b24.system_notices()
                    .iter()
                    .any(|n| n.message.contains("suspected spam"))
            })
            .await;
        }
        Kind::Evolution => {
            // Evolution has no noAccount or yellowCard statuses (contract §3: a send to a
            // number without WhatsApp is refused, and a message WhatsApp gives up on ends
            // ERROR with no reason): the ERROR is told to the operator, and it is not read.
            let notices = g.app.b24.system_notices().len();
            let (im2, id2) = g.operator_writes("are you there?").await;
            assert_eq!(
                g.evolution().push_status("shop-1", &id2, "ERROR").await,
                200
            );
            let b24 = g.app.b24.clone();
            wait_until(10, "failure notice", move || {
                b24.system_notices().len() > notices
            })
            .await;
            assert_ne!(
                g.app.b24.operator_message_state(&im2).as_deref(),
                Some("read")
            );
        }
    }
}

async fn operator_delete_within_72h_deletes_in_whatsapp_and_after_gives_notice(
    kind: Kind,
    backend: Backend,
) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("hi", 1).await;
    let (im1, id1) = g.operator_writes("wrong price").await;
    let (im2, id2) = g.operator_writes("old news").await;
    for im in [&im1, &im2] {
        g.wait_delivered(im).await;
    }
    assert_eq!(g.app.b24.operator_delete(&im1).await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !g.sent_message(&id1).is_some_and(|m| m.deleted_for_everyone) {
        assert!(
            std::time::Instant::now() < deadline,
            "not deleted for everyone"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    match kind {
        // 73 hours later (the gateway's clock) a delete is refused.
        Kind::GreenApi => g.green_api().advance_clock(Duration::from_secs(73 * 3600)),
        // Evolution does not check WhatsApp's limit itself (contract §4): WhatsApp's refusal
        // reaches us as the delete's own error answer, a 500.
        Kind::Evolution => g.evolution().inject_for(
            "deleteMessageForEveryone",
            EvolutionFault::Status(
                500,
                serde_json::json!(["Error while deleting message for everyone"]),
            ),
            1,
        ),
    }
    // The operator is told why it stays.
    assert_eq!(g.app.b24.operator_delete(&im2).await, 200);
    let b24 = g.app.b24.clone();
    wait_until(10, "notice that it stays", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("still sees it"))
    })
    .await;
    assert!(!g.sent_message(&id2).is_some_and(|m| m.deleted));
}

async fn operator_edit_is_applied_in_whatsapp(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("hi", 1).await;
    let (im, id) = g.operator_writes("Price is 10").await;
    g.wait_delivered(&im).await;
    assert_eq!(g.app.b24.operator_edit(&im, "Price is 12").await, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !g
        .sent_message(&id)
        .is_some_and(|m| m.current_text.ends_with("Price is 12"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not edited in WhatsApp"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn customer_edit_and_delete_are_mirrored(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    let id = g.customer_writes("helo", 1).await;
    g.customer_edit(&id, "hello").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "edit mirrored", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.edited && m.text == "hello")
    })
    .await;
    g.customer_delete(&id).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "delete mirrored", move || {
        b24.customer_messages().iter().any(|m| m.deleted)
    })
    .await;
    assert_eq!(g.app.b24.customer_messages().len(), 1);
}

/// The last line of each message that reached WhatsApp (the operator's words under their name).
fn sent_lines(g: &web_gateways::Gw) -> Vec<String> {
    g.sent()
        .iter()
        .map(|m| m.text.lines().last().unwrap_or_default().to_string())
        .collect()
}

/// Waits until at least `n` messages reached WhatsApp.
async fn wait_sent(g: &web_gateways::Gw, n: usize, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while g.sent().len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            sent_lines(g)
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn lost_authorization_holds_jobs_then_sends_all_in_order(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("hi", 1).await;
    g.operator_writes("before").await;
    // The phone logs out: a state webhook arrives; operators are told; sends wait.
    assert_eq!(g.logout().await, 200);
    g.wait_state("notAuthorized").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "session-lost notice", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("not linked"))
    })
    .await;
    let texts: Vec<String> = (0..6).map(|i| format!("queued {i}")).collect();
    for t in &texts {
        let op = g.app.b24.operator_write("1", &g.key(), t).await;
        assert_eq!(op.http_status, 200);
    }
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(g.sent().len(), 1, "nothing sent while unlinked");
    // Linked again: everything goes out, in order, once.
    assert_eq!(g.relink().await, 200);
    wait_sent(&g, 7, "all sent after relinking").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<String> = sent_lines(&g).into_iter().skip(1).collect();
    assert_eq!(sent, texts);
}

/// The gateway stamps its state webhooks in whole seconds, so a phone linked, logged out and
/// linked again within one second posts the same `{timestamp, stateInstance}` twice. The second
/// `authorized` is a new event, not a duplicate: sending resumes at once (it used to be dropped as
/// a duplicate, leaving the number "not linked" until the next poll of its state, a minute later).
/// The GREEN-API simulator's clock is frozen so that every webhook carries the same timestamp;
/// Evolution's envelopes carry milliseconds (`date_time`), and the same quick logout and relink
/// must end the same way there too.
async fn relinked_within_the_same_second_sends_what_waited(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    if kind == Kind::GreenApi {
        g.green_api().freeze_clock(true);
    }
    g.link().await;
    g.customer_writes("hi", 1).await;
    g.operator_writes("before").await;
    assert_eq!(g.logout().await, 200);
    g.wait_state("notAuthorized").await;
    let texts: Vec<String> = (0..3).map(|i| format!("queued {i}")).collect();
    for t in &texts {
        let op = g.app.b24.operator_write("1", &g.key(), t).await;
        assert_eq!(op.http_status, 200);
    }
    assert_eq!(g.relink().await, 200);
    wait_sent(&g, 4, "all sent after relinking").await;
    // Logged out and linked again at once, still within the same second: the last word is
    // "authorized", and it is the state that stays.
    assert_eq!(g.logout().await, 200);
    assert_eq!(g.relink().await, 200);
    if kind == Kind::GreenApi {
        let stamps: std::collections::HashSet<String> = g
            .green_api()
            .webhook_deliveries()
            .iter()
            .filter(|d| d.type_webhook == "stateInstanceChanged")
            .map(|d| d.body["timestamp"].to_string())
            .collect();
        assert_eq!(stamps.len(), 1, "one timestamp for every state webhook");
    }
    g.wait_state("authorized").await;
    g.operator_writes("after").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent_lines(&g),
        ["before", "queued 0", "queued 1", "queued 2", "after"],
        "once each, in order"
    );
}

async fn wrong_webhook_token_is_401_and_nothing_stored(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    assert_eq!(g.post_forged(Some("wrong-token")).await, 401);
    assert_eq!(g.post_forged(None).await, 401);
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

async fn rate_limits_and_gateway_errors_are_retried_quota_is_told(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("hi", 1).await;
    g.operator_writes("warm-up").await;
    g.fail_next_send(SendFault::RateLimited);
    g.fail_next_send(SendFault::ServerError);
    for t in ["a", "b"] {
        assert_eq!(
            g.app.b24.operator_write("1", &g.key(), t).await.http_status,
            200
        );
    }
    wait_sent(&g, 3, "both sent").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent_lines(&g),
        vec!["warm-up", "a", "b"],
        "once each, in order"
    );
    // A plan's message quota is GREEN-API's (a hosted, paid service: 466); a self-hosted
    // Evolution server has none (contract: no quota errors).
    if kind == Kind::GreenApi {
        // The plan's quota is used up: the message fails and the operator reads why.
        g.green_api()
            .inject_for("sendMessage", GatewayFault::QuotaExceeded, 1);
        assert_eq!(
            g.app
                .b24
                .operator_write("1", &g.key(), "c")
                .await
                .http_status,
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
}

async fn a_reply_shows_what_it_quotes(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.customer_writes("hi", 1).await;
    let (im, id) = g.operator_writes("Which size do you need?").await;
    // Its WhatsApp id is stored once the send is settled (its receipts then reach Bitrix24).
    g.wait_delivered(&im).await;
    g.customer_reply("XL please", &id).await;
    let b24 = g.app.b24.clone();
    wait_until(10, "reply in Bitrix24", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    let m = &g.app.b24.customer_messages()[1];
    assert!(m.text.contains("Which size do you need?"), "{}", m.text);
    assert!(m.text.ends_with("XL please"), "{}", m.text);
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

async fn files_both_ways_with_an_expired_link_fetched_again(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    // A photo with a caption; then a document whose webhook link has expired by the time we
    // fetch it.
    let photo = b"\xff\xd8\xff\xe0 gateway photo".to_vec();
    g.customer_file(
        "image",
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
    match kind {
        // GREEN-API gives a new link through downloadFile.
        Kind::GreenApi => g.green_api().inject_for(
            "download",
            GatewayFault::Custom(404, "link expired".into()),
            1,
        ),
        // Evolution's webhook link is WhatsApp's encrypted one, never fetched: every file is
        // asked of Evolution (getBase64FromMediaMessage); a failed ask is asked again.
        Kind::Evolution => {
            g.evolution()
                .inject_for("getBase64FromMediaMessage", EvolutionFault::Http5xx, 1)
        }
    }
    let doc = b"%PDF-1.4 contract".to_vec();
    g.customer_file(
        "document",
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
        assert_eq!(&get_bytes(url).await, bytes);
    }
    match kind {
        Kind::GreenApi => assert!(
            g.green_api()
                .calls()
                .iter()
                .any(|c| c.method == "downloadFile"),
            "a fresh link was asked for"
        ),
        Kind::Evolution => assert!(
            g.evolution().calls_of("getBase64FromMediaMessage").len() >= 3,
            "the failed download was asked again"
        ),
    }
    // The operator sends a file: the gateway fetches it from our link.
    let price = b"%PDF-1.4 prices".to_vec();
    let op = g
        .app
        .b24
        .operator_write_file(
            "1",
            &g.key(),
            "Prices attached",
            "prices.pdf",
            "application/pdf",
            price.clone(),
        )
        .await;
    assert_eq!(op.http_status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !g.sent().iter().any(|m| m.file_url.is_some()) {
        assert!(std::time::Instant::now() < deadline, "no file sent");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = g
        .sent()
        .into_iter()
        .find(|m| m.file_url.is_some())
        .expect("file sent");
    assert_eq!(sent.file_name.as_deref(), Some("prices.pdf"));
    assert_eq!(sent.kind, "document");
    assert!(sent.text.ends_with("Prices attached"), "{}", sent.text);
    let link = sent.file_url.expect("link");
    assert!(link.starts_with(&format!("{}/media/", g.app.url)), "{link}");
    match kind {
        // The simulator fetched it as GREEN-API does.
        Kind::GreenApi => {
            let file = g
                .green_api()
                .sent()
                .into_iter()
                .find_map(|m| m.file)
                .expect("file");
            assert_eq!(
                file.bytes.as_deref(),
                Some(price.as_slice()),
                "{:?}",
                file.fetch_error
            );
        }
        // Evolution is given the link to fetch when it sends: the link serves the file.
        Kind::Evolution => assert_eq!(get_bytes(&link).await, price),
    }
}
