//! Media both ways over the Cloud API: every inbound kind reaches Open Lines (files through our
//! own expiring `/media/…` links, locations and contact cards as text), limits and provider
//! failures become notes, and operator attachments reach WhatsApp with the right type.

mod common;
mod sim;

use std::time::Duration;

use common::{chat_key, spawn_app, spawn_app_with, wait_until, Backend, Number, TestApp};
use serde_json::{json, Value};
use sim::{BitrixSimConfig, CustomerMsg, GraphFault};

on_both_databases!(
    every_inbound_kind_reaches_the_open_line,
    oversized_and_vanished_files_become_notes_in_order,
    provider_download_errors_are_retried_then_relayed_in_order,
    media_links_expire_and_unknown_tokens_are_refused,
    operator_attachments_reach_whatsapp_with_their_type,
    operator_file_too_large_for_whatsapp_is_told,
    hostile_caption_and_name_arrive_inert,
);

const CUSTOMER: &str = "79001112233";

async fn customer_sends(app: &TestApp, n: &Number, message: Value) -> u16 {
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Ivan Petrov",
        message,
    );
    app.graph.post_signed(&n.phone_number_id, body).await
}

fn media_message(wamid: &str, kind: &str, obj: Value) -> Value {
    json!({"from": CUSTOMER, "id": wamid, "timestamp": sim::unix_now().to_string(),
           "type": kind, kind: obj})
}

async fn wait_for_messages(app: &TestApp, n: usize) -> Vec<CustomerMsg> {
    let b24 = app.b24.clone();
    wait_until(20, &format!("{n} messages in Bitrix24"), || {
        b24.customer_messages().len() >= n
    })
    .await;
    app.b24.customer_messages()
}

/// Bitrix24 fetches a file itself, without our auth: do the same and return (type, bytes).
async fn fetch_as_portal(app: &TestApp, url: &str) -> (u16, String, Vec<u8>) {
    let resp = reqwest::get(url).await.expect("GET our media link");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.bytes().await.expect("body").to_vec();
    assert!(
        url.starts_with(&format!("{}/media/", app.url)),
        "a link of ours: {url}"
    );
    (status, ct, bytes)
}

fn file_of(m: &CustomerMsg) -> (String, String) {
    let f = m
        .files
        .first()
        .unwrap_or_else(|| panic!("no file in {m:?}"));
    (
        f["url"].as_str().unwrap_or_default().to_string(),
        f["name"].as_str().unwrap_or_default().to_string(),
    )
}

type Sent = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    Option<&'static str>,
);

async fn every_inbound_kind_reaches_the_open_line(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000111").await;
    // (kind, MIME type, file name, bytes, caption)
    let files: Vec<Sent> = vec![
        (
            "image",
            "image/jpeg",
            None,
            b"\xff\xd8\xff\xe0 jpeg bytes".to_vec(),
            Some("our shop"),
        ),
        (
            "video",
            "video/mp4",
            None,
            b"....ftypmp42 video".to_vec(),
            None,
        ),
        (
            "document",
            "application/pdf",
            Some("Счёт №42 от 01.12.pdf"),
            b"%PDF-1.4 invoice".to_vec(),
            Some("the invoice"),
        ),
        ("audio", "audio/mpeg", None, b"ID3 mp3 bytes".to_vec(), None),
        (
            "sticker",
            "image/webp",
            None,
            b"RIFF....WEBP sticker".to_vec(),
            None,
        ),
    ];
    for (i, (kind, mime, filename, bytes, caption)) in files.iter().enumerate() {
        let id = app.graph.add_media(mime, bytes.clone());
        let mut obj = json!({"id": id, "mime_type": mime, "sha256": "x"});
        if let Some(f) = filename {
            obj["filename"] = json!(f);
        }
        if let Some(c) = caption {
            obj["caption"] = json!(c);
        }
        let status =
            customer_sends(&app, &n, media_message(&format!("wamid.M{i}"), kind, obj)).await;
        assert_eq!(status, 200);
    }
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.LOC",
            "location",
            json!({"latitude": 55.7558, "longitude": 37.6173, "name": "Office", "address": "Red Square 1"}),
        ),
    )
    .await;
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.CARD",
            "contacts",
            json!([{"name": {"formatted_name": "Olga Smirnova", "first_name": "Olga"},
                    "phones": [{"phone": "+7 900 555-44-33", "wa_id": "79005554433", "type": "CELL"}]}]),
        ),
    )
    .await;
    let got = wait_for_messages(&app, 7).await;
    let ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "wamid.M0",
            "wamid.M1",
            "wamid.M2",
            "wamid.M3",
            "wamid.M4",
            "wamid.LOC",
            "wamid.CARD"
        ],
        "in order"
    );
    for (m, (kind, mime, filename, bytes, caption)) in got.iter().zip(&files) {
        let (url, name) = file_of(m);
        let (status, ct, body) = fetch_as_portal(&app, &url).await;
        assert_eq!(status, 200, "{kind}: {url}");
        assert_eq!(&body, bytes, "{kind}: the bytes the customer sent");
        assert_eq!(ct, *mime, "{kind}");
        match filename {
            Some(f) => {
                // The name as the customer's phone showed it, also in the download's headers.
                assert_eq!(name, *f, "{kind}");
                let resp = reqwest::get(&url).await.expect("GET our media link");
                let disposition = resp
                    .headers()
                    .get("content-disposition")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                assert!(
                    disposition.contains(
                        "filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82%20%E2%84%9642%20%D0%BE%D1%82%2001.12.pdf"
                    ),
                    "{disposition}"
                );
            }
            None => assert!(name.starts_with(kind), "{kind}: {name}"),
        }
        assert_eq!(m.text, caption.unwrap_or(""), "{kind}: caption as text");
        assert!(m.text.is_empty() || m.files.len() == 1);
    }
    // The token part of a link is long and random: two files never share one.
    let tokens: std::collections::HashSet<String> = got[..5].iter().map(|m| file_of(m).0).collect();
    assert_eq!(tokens.len(), 5);
    assert!(got[5].files.is_empty());
    assert!(
        got[5].text.contains("Office, Red Square 1"),
        "{}",
        got[5].text
    );
    assert!(
        got[5].text.contains("mlat=55.7558&mlon=37.6173"),
        "{}",
        got[5].text
    );
    assert_eq!(got[6].text, "👤 Contact: Olga Smirnova, +7 900 555-44-33");
    // Each file was downloaded from WhatsApp once, with the number's token.
    let downloads = app
        .graph
        .calls()
        .into_iter()
        .filter(|c| c.path.starts_with("/media-dl/"))
        .count();
    assert_eq!(downloads, 5);
}

async fn oversized_and_vanished_files_become_notes_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000112").await;
    // A sticker over WhatsApp's 500 KB limit, and a media id WhatsApp no longer has.
    let big = app.graph.add_media("image/webp", vec![7u8; 600 * 1024]);
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.BIG",
            "sticker",
            json!({"id": big, "mime_type": "image/webp"}),
        ),
    )
    .await;
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.GONE",
            "image",
            json!({"id": "999000999", "mime_type": "image/jpeg", "caption": "see this"}),
        ),
    )
    .await;
    app.customer_writes(&n, CUSTOMER, "wamid.AFTER", "and a text")
        .await;
    let got = wait_for_messages(&app, 3).await;
    assert_eq!(got[0].message_id, "wamid.BIG");
    assert!(got[0].files.is_empty());
    assert!(
        got[0].text.contains("Sticker not relayed") && got[0].text.contains("500 KB"),
        "{}",
        got[0].text
    );
    assert_eq!(got[1].message_id, "wamid.GONE");
    assert!(
        got[1].text.starts_with("see this[br]") && got[1].text.contains("no longer has this file"),
        "{}",
        got[1].text
    );
    assert_eq!(got[2].text, "and a text");
    // The oversized file was never downloaded (its size was known before).
    assert!(!app
        .graph
        .calls()
        .iter()
        .any(|c| c.path == format!("/media-dl/{big}")));
}

async fn provider_download_errors_are_retried_then_relayed_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000113").await;
    let id = app
        .graph
        .add_media("image/png", b"\x89PNG picture".to_vec());
    // The media lookup fails twice (500, then 130429) before it works.
    app.graph.inject(GraphFault::ServerError, 1);
    app.graph.inject(GraphFault::Throughput, 1);
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.P1",
            "image",
            json!({"id": id, "mime_type": "image/png"}),
        ),
    )
    .await;
    app.customer_writes(&n, CUSTOMER, "wamid.P2", "after the picture")
        .await;
    let got = wait_for_messages(&app, 2).await;
    assert_eq!(got[0].message_id, "wamid.P1", "the picture first: {got:?}");
    assert_eq!(got[1].text, "after the picture");
    let (url, _) = file_of(&got[0]);
    assert_eq!(fetch_as_portal(&app, &url).await.2, b"\x89PNG picture");
    assert_eq!(app.graph.pending_faults(), 0);
}

async fn media_links_expire_and_unknown_tokens_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.media_url_ttl_secs = 1;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "555000114").await;
    let id = app
        .graph
        .add_media("image/jpeg", b"\xff\xd8 short-lived".to_vec());
    customer_sends(
        &app,
        &n,
        media_message(
            "wamid.E1",
            "image",
            json!({"id": id, "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    let got = wait_for_messages(&app, 1).await;
    let (url, _) = file_of(&got[0]);
    let (status, _, _) = fetch_as_portal(&app, &url).await;
    assert_eq!(status, 200);
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = fetch_as_portal(&app, &url).await;
    assert_eq!(status, 410, "expired: {}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).expect("json error");
    assert_eq!(v["error"]["code"], "media_expired");
    // A token that was never issued, and one that is not even well-formed.
    let fake = format!("{}/media/{}/x.jpg", app.url, "ab".repeat(32));
    assert_eq!(fetch_as_portal(&app, &fake).await.0, 404);
    let bad = format!("{}/media/..%2F..%2Fetc/passwd", app.url);
    assert_eq!(fetch_as_portal(&app, &bad).await.0, 404);
}

async fn operator_attachments_reach_whatsapp_with_their_type(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000115").await;
    app.customer_writes(&n, CUSTOMER, "wamid.HI", "send me the price list")
        .await;
    wait_for_messages(&app, 1).await;
    let key = chat_key(CUSTOMER, &n);
    // One picture with a caption: one WhatsApp image with that caption.
    let photo = b"\xff\xd8\xff\xe0 a photo".to_vec();
    let op1 = app
        .b24
        .operator_write_file(
            "1",
            &key,
            "Our [b]shop[/b]",
            "shop.jpg",
            "image/jpeg",
            photo.clone(),
        )
        .await;
    assert_eq!(op1.http_status, 200);
    // Two files with a text: the text first, then each file.
    let pdf = b"%PDF-1.4 price list".to_vec();
    let op2 = app
        .b24
        .operator_write_files(
            "1",
            &key,
            "Here you are",
            vec![
                ("prices.pdf".into(), "application/pdf".into(), pdf.clone()),
                ("song.mp3".into(), "audio/mpeg".into(), b"ID3 song".to_vec()),
                (
                    "tour.mp4".into(),
                    "video/mp4".into(),
                    b"....ftypmp42 tour".to_vec(),
                ),
            ],
        )
        .await;
    assert_eq!(op2.http_status, 200);
    let graph = app.graph.clone();
    wait_until(20, "five sends", || graph.sent_messages().len() >= 5).await;
    let sent = app.graph.sent_messages();
    let kinds: Vec<&str> = sent.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["image", "text", "document", "audio", "video"],
        "{sent:?}"
    );
    assert!(sent[0].text.ends_with("Our *shop*"), "{}", sent[0].text);
    assert!(sent[1].text.ends_with("Here you are"), "{}", sent[1].text);
    assert_eq!(sent[2].json["document"]["filename"], "prices.pdf");
    assert!(sent[3].json["audio"].get("caption").is_none());
    // What WhatsApp got is what the operator attached (uploaded, then sent by id).
    for (m, bytes) in [(&sent[0], &photo), (&sent[2], &pdf)] {
        let id = m.json[&m.kind]["id"].as_str().expect("sent by media id");
        assert_eq!(&app.graph.media(id).expect("uploaded").1, bytes);
    }
    // Delivered receipts turn into the operator's ticks for those messages.
    app.graph.push_status(&sent[0].wamid, "delivered").await;
    let b24 = app.b24.clone();
    wait_until(10, "delivery of the photo", || {
        b24.calls_of("imconnector.send.status.delivery")
            .iter()
            .any(|c| c.body.to_string().contains(&op1.im_message_id))
    })
    .await;
}

async fn operator_file_too_large_for_whatsapp_is_told(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000116").await;
    app.customer_writes(&n, CUSTOMER, "wamid.HI2", "hello")
        .await;
    wait_for_messages(&app, 1).await;
    let key = chat_key(CUSTOMER, &n);
    let op = app
        .b24
        .operator_write_file(
            "1",
            &key,
            "",
            "clip.mp4",
            "video/mp4",
            vec![0u8; 17 * 1024 * 1024],
        )
        .await;
    assert_eq!(op.http_status, 200);
    let b24 = app.b24.clone();
    wait_until(30, "a notice about the video", || {
        b24.system_notices()
            .iter()
            .any(|x| x.message.contains("clip.mp4") && x.message.contains("16.0 MB"))
    })
    .await;
    assert!(app.graph.sent_messages().is_empty());
    // Then a text still goes through.
    app.b24.operator_write("1", &key, "sorry, too big").await;
    let graph = app.graph.clone();
    wait_until(10, "the text", || graph.sent_messages().len() == 1).await;
}

/// A customer's BBCode in a caption and in their name reaches Bitrix24 as text, their WhatsApp
/// formatting as tags, and a reaction's quote of that caption is cut inside a tag and closed.
async fn hostile_caption_and_name_arrive_inert(backend: Backend) {
    const WJ: char = '\u{2060}';
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000222").await;
    let caption = "[url=https://evil.example]click[/url] [b]x[/b] *bold* and \
                   *a long bold tail that goes past the quote limit*";
    let id = app
        .graph
        .add_media("image/jpeg", b"\xff\xd8\xff\xe0 jpeg".to_vec());
    let image = media_message(
        "wamid.EVIL",
        "image",
        json!({"id": id, "mime_type": "image/jpeg", "sha256": "x", "caption": caption}),
    );
    let reaction = json!({"from": CUSTOMER, "id": "wamid.REACT", "timestamp": sim::unix_now().to_string(),
                          "type": "reaction", "reaction": {"message_id": "wamid.EVIL", "emoji": "👍"}});
    for message in [image, reaction] {
        let body = sim::GraphSim::inbound_body(
            &n.phone_number_id,
            &n.display_phone,
            CUSTOMER,
            "[b]Boss[/b] [url=https://evil.example]Ivan[/url]",
            message,
        );
        assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    }
    let got = wait_for_messages(&app, 2).await;
    let (photo, note) = (&got[0], &got[1]);
    assert_eq!(photo.message_id, "wamid.EVIL");
    assert_eq!(
        photo.text,
        format!(
            "[{WJ}url=https://evil.example]click[{WJ}/url] [{WJ}b]x[{WJ}/b] [b]bold[/b] and \
             [b]a long bold tail that goes past the quote limit[/b]"
        ),
        "the customer's tags are text, their *bold* is [b]"
    );
    assert_eq!(photo.files.len(), 1, "the photo itself");
    // The reaction quotes 60 characters of the caption: the cut falls inside the last [b],
    // which is closed again, and the escaped link stays text.
    assert_eq!(note.message_id, "wamid.REACT");
    assert!(
        note.text
            .ends_with(&format!("[{WJ}b]x[{WJ}/b] [b]bold[/b] and [b]a lo…[/b]”")),
        "{}",
        note.text
    );
    // Nothing Bitrix24 received holds a live tag from the customer: no link, no name markup,
    // and every [b] we made is closed.
    let mut checked = 0;
    for call in app.b24.calls_of("imconnector.send.messages") {
        let raw = call.body.to_string().to_ascii_lowercase();
        assert!(!raw.contains("[url") && !raw.contains("[/url"), "{raw}");
        for item in call.body["MESSAGES"].as_array().into_iter().flatten() {
            checked += 1;
            let text = item["message"]["text"].as_str().unwrap_or_default();
            let name = item["user"]["name"].as_str().unwrap_or_default();
            assert!(!text.to_ascii_lowercase().contains("[url"), "{text}");
            assert!(!text.contains("[/url]"), "{text}");
            assert_eq!(
                text.matches("[b]").count(),
                text.matches("[/b]").count(),
                "{text}"
            );
            assert!(!name.contains('['), "user name {name:?}");
        }
    }
    assert!(checked >= 2, "the sent items were seen");
    for m in &got {
        assert!(!m.user_name.contains('['), "{:?}", m.user_name);
    }
}
