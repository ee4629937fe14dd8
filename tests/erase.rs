//! Erasing a customer and exporting their conversation (issue 19), on both databases: after an
//! erase nothing of that customer is found by search, the API, the files on disk or any table;
//! another customer is untouched; another tenant's admin cannot erase; erasing again is a no-op;
//! what the customer writes afterwards is kept and relayed. An export holds what was relayed,
//! both ways, and its file links work, then expire.

mod common;
mod sim;

use std::path::Path;

use b24wa::http::api::auth::{JwtKeys, Role};
use common::{chat_key, spawn_app, spawn_app_with, wait_until, Backend, Number, TestApp};
use sea_orm::{Database, DatabaseConnection, EntityTrait};
use serde_json::{json, Value};
use sim::BitrixSimConfig;

on_both_databases!(
    an_erased_customer_is_gone_everywhere_and_later_messages_stay,
    an_export_holds_the_relayed_conversation_and_its_links_expire,
    an_erase_while_the_customer_keeps_writing_leaves_a_consistent_chat,
);

const ALICE: &str = "79001112233";
const BORIS: &str = "79004445566";
const ALICE_JPEG: &[u8] = b"\xff\xd8\xff\xe0 alice private photo";
const BORIS_JPEG: &[u8] = b"\xff\xd8\xff\xe0 boris holiday photo";
const ALICE_PDF: &[u8] = b"%PDF-1.4 alice contract";

async fn sends_image(
    app: &TestApp,
    n: &Number,
    who: &str,
    wamid: &str,
    bytes: &[u8],
    caption: &str,
) {
    let id = app.graph.add_media("image/jpeg", bytes.to_vec());
    let message = json!({"from": who, "id": wamid, "timestamp": sim::unix_now().to_string(),
        "type": "image", "image": {"id": id, "mime_type": "image/jpeg", "caption": caption}});
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        who,
        "Alice Smith",
        message,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
}

async fn sends_voice(app: &TestApp, n: &Number, who: &str, wamid: &str, bytes: &[u8]) {
    let id = app
        .graph
        .add_media("audio/ogg; codecs=opus", bytes.to_vec());
    let message = json!({"from": who, "id": wamid, "timestamp": sim::unix_now().to_string(),
        "type": "audio", "audio": {"id": id, "mime_type": "audio/ogg; codecs=opus", "voice": true}});
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        who,
        "Alice Smith",
        message,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
}

/// The tenant the installed portal belongs to.
async fn tenant_of_portal(app: &TestApp) -> i64 {
    let (status, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200, "{portals}");
    portals["items"][0]["tenant_id"]
        .as_i64()
        .expect("the portal's tenant")
}

async fn db(app: &TestApp) -> DatabaseConnection {
    Database::connect(app.settings.database_url())
        .await
        .expect("the app's database")
}

/// Every row of every table, as JSON text, with its table's name.
async fn every_row(db: &DatabaseConnection) -> Vec<(&'static str, String)> {
    use entity::prelude::*;
    async fn rows<E: EntityTrait>(
        db: &DatabaseConnection,
        name: &'static str,
    ) -> Vec<(&'static str, String)> {
        E::find()
            .into_json()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
            .into_iter()
            .map(|v| (name, v.to_string()))
            .collect()
    }
    let mut all = Vec::new();
    all.extend(rows::<AuditLog>(db, "audit_log").await);
    all.extend(rows::<Chats>(db, "chats").await);
    all.extend(rows::<Inbox>(db, "inbox").await);
    all.extend(rows::<Jobs>(db, "jobs").await);
    all.extend(rows::<Media>(db, "media").await);
    all.extend(rows::<MediaLinks>(db, "media_links").await);
    all.extend(rows::<MessageHops>(db, "message_hops").await);
    all.extend(rows::<Messages>(db, "messages").await);
    all.extend(rows::<Numbers>(db, "numbers").await);
    all.extend(rows::<Portals>(db, "portals").await);
    all.extend(rows::<QuotaEvents>(db, "quota_events").await);
    all.extend(rows::<Templates>(db, "templates").await);
    all.extend(rows::<Tenants>(db, "tenants").await);
    all.extend(rows::<Users>(db, "users").await);
    all
}

/// The rows, in any table, that mention `needle`.
async fn rows_with(db: &DatabaseConnection, needle: &str) -> Vec<(&'static str, String)> {
    every_row(db)
        .await
        .into_iter()
        .filter(|(_, row)| row.contains(needle))
        .collect()
}

/// The contents of every file under `dir`.
fn files_under(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push(bytes);
        }
    }
    out
}

fn media_dir(app: &TestApp) -> std::path::PathBuf {
    app.settings
        .media_dir
        .clone()
        .unwrap_or_else(|| app.settings.data_dir.join("media"))
}

/// Waits until every message to `who` is delivered.
async fn delivered_to(app: &TestApp, who: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let sent = total(app, &format!("/api/v1/messages?q={who}&direction=out")).await;
        let delivered = total(
            app,
            &format!("/api/v1/messages?q={who}&direction=out&status=delivered"),
        )
        .await;
        if sent > 0 && delivered == sent {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{delivered} of {sent} delivered to {who}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Today's usage totals of `tenant`.
async fn usage_totals(app: &TestApp, tenant: i64) -> Value {
    let today = chrono::Utc::now().date_naive();
    let (status, v) = app
        .api_get(&format!(
            "/api/v1/tenants/{tenant}/usage?from={today}&to={today}"
        ))
        .await;
    assert_eq!(status, 200, "{v}");
    v["totals"].clone()
}

async fn total(app: &TestApp, path: &str) -> u64 {
    let (status, page) = app.api_get(path).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["total"].as_u64().expect("a page's total")
}

async fn an_erased_customer_is_gone_everywhere_and_later_messages_stay(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000181").await;
    // Alice: two texts, a photo, and an operator's reply with a file; Boris: a text and a photo.
    assert_eq!(
        app.customer_writes(&n, ALICE, "wamid.A1", "alpha order one")
            .await,
        200
    );
    assert_eq!(
        app.customer_writes(&n, BORIS, "wamid.B1", "bravo hello")
            .await,
        200
    );
    sends_image(&app, &n, ALICE, "wamid.A2", ALICE_JPEG, "alpha photo").await;
    sends_image(&app, &n, BORIS, "wamid.B2", BORIS_JPEG, "bravo photo").await;
    assert_eq!(
        app.customer_writes(&n, ALICE, "wamid.A3", "alpha order two")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(20, "five customer messages in Open Lines", || {
        b24.customer_messages().len() >= 5
    })
    .await;
    let op = app
        .b24
        .operator_write_file(
            &n.line,
            &chat_key(ALICE, &n),
            "alpha reply",
            "contract.pdf",
            "application/pdf",
            ALICE_PDF.to_vec(),
        )
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(20, "the operator's reply and file in WhatsApp", || {
        graph
            .sent_messages()
            .iter()
            .any(|m| m.to == ALICE && m.kind == "document")
    })
    .await;
    let files_before = files_under(&media_dir(&app));
    for bytes in [ALICE_JPEG, BORIS_JPEG, ALICE_PDF] {
        assert!(
            files_before.iter().any(|f| f == bytes),
            "stored before the erase"
        );
    }
    let tenant = tenant_of_portal(&app).await;
    let db = db(&app).await;
    assert!(
        !rows_with(&db, ALICE).await.is_empty(),
        "Alice is in the database before"
    );
    // WhatsApp's receipts of what was sent to her arrive before the erase (a receipt stored
    // after it would be kept, as anything after the erase is).
    delivered_to(&app, ALICE).await;
    let usage_before = usage_totals(&app, tenant).await;
    assert!(
        usage_before["inbound"].as_i64() >= Some(5),
        "{usage_before}"
    );

    // Another tenant's admin cannot erase tenant A's customer: 404, and nothing changes.
    let (status, other) = app
        .api_post("/api/v1/tenants", json!({"name": "Other Co"}))
        .await;
    assert_eq!(status, 201, "{other}");
    let other_admin = JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("other-admin", Role::TenantAdmin, other["id"].as_i64(), 600)
        .expect("sign");
    let r = app
        .http
        .post(format!(
            "{}/api/v1/tenants/{tenant}/customers/erase",
            app.url
        ))
        .bearer_auth(&other_admin)
        .json(&json!({"customer": ALICE}))
        .send()
        .await
        .expect("erase as another tenant");
    assert_eq!(r.status().as_u16(), 404);
    let r = app
        .http
        .post(format!(
            "{}/api/v1/tenants/{}/customers/erase",
            app.url, other["id"]
        ))
        .bearer_auth(&other_admin)
        .json(&json!({"customer": ALICE}))
        .send()
        .await
        .expect("erase in its own tenant");
    assert_eq!(
        r.status().as_u16(),
        200,
        "its own tenant has no such customer: a no-op"
    );
    assert_eq!(
        total(&app, &format!("/api/v1/messages?q={ALICE}")).await,
        4,
        "Alice untouched"
    );

    // A phone that is not one is refused.
    let (status, body) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": "12"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );

    // Erase Alice, typed as people type phones.
    let (status, erased) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": "+7 (900) 111-22-33"}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["customer"], ALICE);
    assert_eq!(erased["chats"], 1, "{erased}");
    assert_eq!(erased["messages"], 4, "{erased}");
    assert_eq!(erased["files"], 2, "{erased}");

    // Her messages stay counted (the usage ledger is not her data).
    assert_eq!(usage_totals(&app, tenant).await, usage_before);

    // Search and the API find nothing of her.
    assert_eq!(total(&app, &format!("/api/v1/messages?q={ALICE}")).await, 0);
    assert_eq!(total(&app, "/api/v1/messages?q=alpha").await, 0);
    assert_eq!(total(&app, &format!("/api/v1/chats?q={ALICE}")).await, 0);
    let (status, _) = app
        .api_get(&format!("/api/v1/numbers/{}/chats/{ALICE}/messages", n.id))
        .await;
    assert_eq!(status, 404, "her chat is gone");
    let (status, body) = app
        .api_get(&format!(
            "/api/v1/tenants/{tenant}/customers/export?customer={ALICE}"
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_chat"))
    );
    // No table mentions her phone, her words or her files' names.
    for needle in [ALICE, "alpha", "contract.pdf"] {
        let left = rows_with(&db, needle).await;
        assert!(left.is_empty(), "{needle} is still stored: {left:#?}");
    }
    // Her files are gone from disk; Boris's stays.
    let files_after = files_under(&media_dir(&app));
    assert!(
        !files_after.iter().any(|f| f == ALICE_JPEG),
        "her photo is deleted"
    );
    assert!(
        !files_after.iter().any(|f| f == ALICE_PDF),
        "the file sent to her is deleted"
    );
    assert!(
        files_after.iter().any(|f| f == BORIS_JPEG),
        "Boris's photo stays"
    );
    // Boris is untouched.
    assert_eq!(total(&app, &format!("/api/v1/messages?q={BORIS}")).await, 2);
    assert_eq!(total(&app, "/api/v1/messages?q=bravo").await, 2);
    assert!(!rows_with(&db, BORIS).await.is_empty());

    // The audit log says who and when, not whom.
    let (status, audit) = app.api_get("/api/v1/audit?action=customer.erase").await;
    assert_eq!(status, 200, "{audit}");
    let records = audit["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 2, "tenant B's no-op and ours: {audit}");
    assert_eq!(records[0]["actor"], "tester");
    assert_eq!(records[0]["target"], format!("tenant:{tenant}"));
    assert!(records[0]["at"].as_i64().is_some());
    assert!(!audit.to_string().contains("11-22-33") && !audit.to_string().contains(ALICE));

    // Erasing again is a no-op success.
    let (status, again) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": ALICE}),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    for k in ["chats", "messages", "files", "inbox_items", "jobs"] {
        assert_eq!(again[k], 0, "{k}: {again}");
    }

    // She writes again: relayed, and kept.
    let before = app.texts_in_bitrix(ALICE).len();
    assert_eq!(
        app.customer_writes(&n, ALICE, "wamid.A9", "alpha is back")
            .await,
        200
    );
    wait_until(20, "her new message in Open Lines", || {
        app.texts_in_bitrix(ALICE).len() > before
    })
    .await;
    assert_eq!(
        app.texts_in_bitrix(ALICE).last().map(String::as_str),
        Some("alpha is back")
    );
    let (status, page) = app.api_get(&format!("/api/v1/messages?q={ALICE}")).await;
    assert_eq!(status, 200);
    let texts: Vec<&str> = page["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["text"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(texts, ["alpha is back"], "{page}");
    // And the operator can answer her in the new conversation.
    let sent = app.graph.sent_messages().len();
    let op = app
        .b24
        .operator_write(&n.line, &chat_key(ALICE, &n), "welcome back")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(20, "the answer in WhatsApp", || {
        graph.sent_messages()[sent..]
            .iter()
            .any(|m| m.to == ALICE && m.text.ends_with("welcome back"))
    })
    .await;
}

async fn an_export_holds_the_relayed_conversation_and_its_links_expire(backend: Backend) {
    let app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.media_url_ttl_secs = 4;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "555000182").await;
    assert_eq!(
        app.customer_writes(&n, ALICE, "wamid.E1", "where is my order?")
            .await,
        200
    );
    sends_image(&app, &n, ALICE, "wamid.E2", ALICE_JPEG, "this one").await;
    sends_voice(&app, &n, ALICE, "wamid.E3", b"OggS voice bytes").await;
    assert_eq!(
        app.customer_writes(&n, BORIS, "wamid.EB", "not alice")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(20, "four messages in Open Lines", || {
        b24.customer_messages().len() >= 4
    })
    .await;
    let op = app
        .b24
        .operator_write(&n.line, &chat_key(ALICE, &n), "it ships today")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(20, "the reply in WhatsApp", || {
        graph.sent_messages().iter().any(|m| m.to == ALICE)
    })
    .await;
    delivered_to(&app, ALICE).await;
    // Transcription needs the speech model (tests/voice.rs); here the voice note's transcript
    // is stored as the transcriber would store it.
    let db = db(&app).await;
    {
        use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
        let voice = entity::messages::Entity::find()
            .filter(entity::messages::Column::Wamid.eq("wamid.E3"))
            .one(&db)
            .await
            .expect("query")
            .expect("the voice message");
        db.execute_unprepared(&format!(
            "UPDATE messages SET transcript = 'call me back please' WHERE id = {}",
            voice.id
        ))
        .await
        .expect("transcript");
    }
    let tenant = tenant_of_portal(&app).await;

    let (status, export) = app
        .api_get(&format!(
            "/api/v1/tenants/{tenant}/customers/export?customer={ALICE}"
        ))
        .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["customer"], ALICE);
    let messages = export["messages"].as_array().cloned().unwrap_or_default();
    let row = |m: &Value| {
        (
            m["direction"].as_str().unwrap_or("").to_string(),
            m["kind"].as_str().unwrap_or("").to_string(),
            m["text"].as_str().unwrap_or("").to_string(),
        )
    };
    let rows: Vec<(String, String, String)> = messages.iter().map(row).collect();
    let relayed_in: Vec<String> = app.texts_in_bitrix(ALICE);
    let sent_out: Vec<String> = app
        .graph
        .sent_messages()
        .into_iter()
        .filter(|m| m.to == ALICE)
        .map(|m| m.text)
        .collect();
    let expect: Vec<(String, String, String)> = vec![
        ("in".into(), "text".into(), relayed_in[0].clone()),
        ("in".into(), "image".into(), relayed_in[1].clone()),
        ("in".into(), "voice".into(), relayed_in[2].clone()),
        ("out".into(), "text".into(), sent_out[0].clone()),
    ];
    assert_eq!(rows, expect, "{export}");
    assert_eq!(relayed_in[0], "where is my order?");
    assert!(sent_out[0].ends_with("it ships today"), "{sent_out:?}");
    assert_eq!(messages[2]["transcript"], "call me back please");
    assert!(messages
        .iter()
        .all(|m| m["time"].as_str().is_some_and(|t| t.ends_with('Z'))));
    assert!(messages
        .iter()
        .all(|m| m["status"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(
        !export.to_string().contains("not alice"),
        "only her conversation"
    );

    // Her photo's link works without a token, then expires.
    let url = messages[1]["file"]["url"]
        .as_str()
        .expect("the photo's link")
        .to_string();
    assert!(url.starts_with(&format!("{}/media/", app.url)), "{url}");
    let r = reqwest::get(&url).await.expect("GET the export link");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), ALICE_JPEG);

    // The same as CSV, one row per message after the header.
    let r = app
        .http
        .get(format!(
            "{}/api/v1/tenants/{tenant}/customers/export?customer={ALICE}&format=csv",
            app.url
        ))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("csv export");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/csv")));
    let csv = r.text().await.expect("csv");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("\"time\",\"direction\",\"kind\",\"text\",\"transcript\""));
    assert!(
        lines[1].contains("\"in\",\"text\",\"where is my order?\""),
        "{csv}"
    );
    assert!(lines[3].contains("\"call me back please\""), "{csv}");
    assert!(
        lines[4].contains(&format!("\"out\",\"text\",\"{}\"", sent_out[0])),
        "{csv}"
    );
    assert!(lines[2].contains("/media/"), "the photo's link: {csv}");

    let (status, bad) = app
        .api_get(&format!(
            "/api/v1/tenants/{tenant}/customers/export?customer={ALICE}&format=xml"
        ))
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_field"))
    );

    // After the links' lifetime: 410.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(4_500)).await;
    let r = reqwest::get(&url).await.expect("GET the expired link");
    assert_eq!(r.status().as_u16(), 410);
    // So has the link Bitrix24 got when the photo was relayed; a new export makes new links
    // that work again.
    let relayed = app.b24.customer_messages();
    let bitrix_url = relayed
        .iter()
        .find(|m| m.message_id == "wamid.E2")
        .and_then(|m| m.files.first())
        .and_then(|f| f["url"].as_str())
        .expect("the photo's link in Bitrix24")
        .to_string();
    let r = reqwest::get(&bitrix_url)
        .await
        .expect("GET the relayed link");
    assert_eq!(r.status().as_u16(), 410);
    let (status, again) = app
        .api_get(&format!(
            "/api/v1/tenants/{tenant}/customers/export?customer={ALICE}"
        ))
        .await;
    assert_eq!(status, 200);
    let url = again["messages"][1]["file"]["url"]
        .as_str()
        .expect("a new link")
        .to_string();
    let r = reqwest::get(&url).await.expect("GET the new export link");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), ALICE_JPEG);
    // An erase takes the export's links with the file.
    let (status, _) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": ALICE}),
        )
        .await;
    assert_eq!(status, 200);
    let r = reqwest::get(&url).await.expect("GET an erased file's link");
    assert_eq!(r.status().as_u16(), 404);
}

async fn an_erase_while_the_customer_keeps_writing_leaves_a_consistent_chat(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "555000183").await;
    for i in 0..3 {
        let wamid = format!("wamid.P{i}");
        let text = format!("before {i}");
        assert_eq!(app.customer_writes(&n, ALICE, &wamid, &text).await, 200);
    }
    wait_until(20, "three messages in Open Lines", || {
        app.texts_in_bitrix(ALICE).len() == 3
    })
    .await;
    let tenant = tenant_of_portal(&app).await;
    // She keeps writing while the erase runs.
    let graph = app.graph.clone();
    let (pnid, display) = (n.phone_number_id.clone(), n.display_phone.clone());
    let writer = actix_web::rt::spawn(async move {
        for i in 0..12 {
            let body = sim::GraphSim::inbound_text_body(
                &pnid,
                &display,
                ALICE,
                "Alice Smith",
                &format!("wamid.D{i}"),
                &format!("during {i}"),
                sim::unix_now(),
            );
            assert_eq!(graph.post_signed(&pnid, body).await, 200);
            actix_web::rt::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    });
    actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, erased) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/customers/erase"),
            json!({"customer": ALICE}),
        )
        .await;
    assert_eq!(status, 200, "{erased}");
    assert!(erased["messages"].as_u64() >= Some(3), "{erased}");
    writer.await.expect("the writer");
    assert_eq!(
        app.customer_writes(&n, ALICE, "wamid.Z", "after the erase")
            .await,
        200
    );
    wait_until(30, "her message after the erase in Open Lines", || {
        app.texts_in_bitrix(ALICE)
            .iter()
            .any(|t| t == "after the erase")
    })
    .await;
    // Every message she sent reached Open Lines, in order, erase or not.
    let mut want: Vec<String> = (0..3).map(|i| format!("before {i}")).collect();
    want.extend((0..12).map(|i| format!("during {i}")));
    want.push("after the erase".into());
    wait_until(30, "every message in Open Lines", || {
        app.texts_in_bitrix(ALICE).len() >= want.len()
    })
    .await;
    assert_eq!(
        app.texts_in_bitrix(ALICE),
        want,
        "all relayed once, in order"
    );

    // What is stored of her: no message of before the erase, the message after it, and every
    // kept message in a chat that exists (nothing erased came back, nothing is orphaned).
    let db = db(&app).await;
    let chats = entity::chats::Entity::find().all(&db).await.expect("chats");
    let kept: Vec<entity::messages::Model> = entity::messages::Entity::find()
        .all(&db)
        .await
        .expect("messages");
    for m in &kept {
        assert!(
            chats
                .iter()
                .any(|c| c.id == m.chat_id && c.customer_wa_id == ALICE),
            "message {} ({:?}) is in chat {}, which is not hers or gone",
            m.id,
            m.text,
            m.chat_id
        );
        assert!(
            !m.text.starts_with("before"),
            "an erased message is back: {m:?}"
        );
    }
    assert!(kept.iter().any(|m| m.text == "after the erase"));
    assert_eq!(
        chats.iter().filter(|c| c.customer_wa_id == ALICE).count(),
        1,
        "one chat of hers: {chats:?}"
    );
    let hops = entity::message_hops::Entity::find()
        .all(&db)
        .await
        .expect("hops");
    let orphans: Vec<_> = hops
        .iter()
        .filter(|h| !kept.iter().any(|m| m.id == h.message_id))
        .collect();
    assert!(orphans.is_empty(), "hops of erased messages: {orphans:#?}");
    assert!(rows_with(&db, "before 1").await.is_empty());
}
