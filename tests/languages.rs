//! What operators read in Bitrix24, in their portal's language (issue 17): a Russian portal
//! (installed with `LANGUAGE_ID=ru`) and an English one, on both databases. The language is
//! stored from the install and shown by the admin API; the connector is registered with its name
//! in that language, the message-service provider and the template picker carry every language;
//! a Cloud API delete, a failed message's reason and a 45 s voice note's note read in it; and
//! `PUT /api/v1/portals/{id}/language` changes the next notice and the connector's name with no
//! restart, audited, and `null` follows Bitrix24 again.
//!
//! The voice note needs `make model` (the speech model) and sox + opus-tools, as tests/voice.rs.

mod common;
mod sim;

use std::{path::PathBuf, process::Command};

use common::{chat_key, spawn_app_with, wait_until, Backend, Number, TestApp};
use serde_json::{json, Value};
use sim::{BitrixSimConfig, GraphSim};

on_both_databases!(russian_portal, english_portal);

const CUSTOMER: &str = "79005550001";

/// What each language must say.
struct Expected {
    lang: &'static str,
    connector: &'static str,
    deleted: &'static str,
    undeliverable: &'static str,
    too_long: &'static str,
}

const RU: Expected = Expected {
    lang: "ru",
    connector: "WhatsApp через b24wa",
    deleted: "Удалено только здесь: WhatsApp (Cloud API) не умеет удалять",
    undeliverable: "Не доставлено: на этот номер нельзя отправлять сообщения WhatsApp",
    too_long: "Голосовое сообщение длиной 45 секунд не расшифровано: расшифровываются сообщения до 30 секунд.",
};

const EN: Expected = Expected {
    lang: "en",
    connector: "WhatsApp (b24wa)",
    deleted: "Deleted here only: WhatsApp (Cloud API) cannot delete",
    undeliverable: "Not delivered: this phone number cannot receive WhatsApp messages",
    too_long: "Voice message of 45 seconds: not transcribed (only notes up to 30 seconds are).",
};

async fn russian_portal(backend: Backend) {
    operators_read_the_portals_language(backend, &RU, &EN).await;
}

async fn english_portal(backend: Backend) {
    operators_read_the_portals_language(backend, &EN, &RU).await;
}

fn model() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(p.exists(), "{} is missing: run `make model`", p.display());
    p
}

/// `seconds` of silence as a WhatsApp voice note (OGG/Opus), by scripts/speech/say.sh.
fn silent_note(seconds: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("note.ogg");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/speech/say.sh");
    let res = Command::new("bash")
        .arg(&script)
        .args(["silence", &seconds.to_string()])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        res.status.success(),
        "say.sh failed (sox and opus-tools installed?): {}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read(&out).expect("voice note written")
}

async fn api_put(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .put(format!("{}{path}", app.url))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .expect("api call");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The operator's message `text` once WhatsApp took it (and reported it delivered when
/// `delivered`): (im message id, wamid).
async fn operator_sends(
    app: &TestApp,
    n: &Number,
    text: &str,
    delivered: bool,
) -> (String, String) {
    let before = app.graph.sent_messages().len();
    let op = app
        .b24
        .operator_write(&n.line, &chat_key(CUSTOMER, n), text)
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(10, "the reply sent", move || {
        graph.sent_messages().len() > before
    })
    .await;
    let wamid = app.graph.sent_messages()[before].wamid.clone();
    if !delivered {
        return (op.im_message_id, wamid);
    }
    // Delivered: Bitrix24 then knows our id for it (what a later delete names).
    assert_eq!(app.graph.push_status(&wamid, "delivered").await, 200);
    let b24 = app.b24.clone();
    let im = op.im_message_id.clone();
    wait_until(10, "delivered", move || {
        b24.operator_message_state(&im).as_deref() == Some("delivered")
    })
    .await;
    (op.im_message_id, wamid)
}

/// Waits for a system notice starting with `start` after the first `before` ones.
async fn notice_after(app: &TestApp, before: usize, start: &str) -> String {
    let b24 = app.b24.clone();
    let want = start.to_string();
    wait_until(10, &format!("a notice {start:?}"), move || {
        b24.system_notices()[before..]
            .iter()
            .any(|s| s.message.starts_with(&want))
    })
    .await;
    app.b24.system_notices()[before..]
        .iter()
        .find(|s| s.message.starts_with(start))
        .map(|s| s.message.clone())
        .unwrap_or_default()
}

fn connector_name(app: &TestApp) -> String {
    let id = &app.settings.connector_id;
    app.b24
        .connector_registration(id)
        .and_then(|r| r["NAME"].as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn operators_read_the_portals_language(backend: Backend, want: &Expected, other: &Expected) {
    let model = model();
    let cfg = BitrixSimConfig {
        language: want.lang.into(),
        ..BitrixSimConfig::default()
    };
    let app = spawn_app_with(backend, cfg, move |s| s.transcribe_model = Some(model)).await;
    app.install().await;

    // Stored from the install, shown by the API.
    let (status, page) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200, "{page}");
    let portal = &page["items"][0];
    assert_eq!(portal["language"], want.lang, "{portal}");
    assert_eq!(portal["language_from_bitrix24"], want.lang, "{portal}");
    assert_eq!(portal["language_override"], Value::Null, "{portal}");
    let portal_id = portal["id"].as_i64().expect("portal id");

    // The names Bitrix24 shows.
    assert_eq!(connector_name(&app), want.connector);
    let b24 = app.b24.clone();
    wait_until(10, "the template picker bound", move || {
        b24.placements()
            .iter()
            .any(|p| p["PLACEMENT"] == "IM_TEXTAREA")
    })
    .await;
    let picker = app
        .b24
        .placements()
        .into_iter()
        .find(|p| p["PLACEMENT"] == "IM_TEXTAREA")
        .expect("the template picker bound");
    assert_eq!(picker["LANG_ALL"]["ru"]["TITLE"], "Шаблон WhatsApp");
    assert_eq!(picker["LANG_ALL"]["en"]["TITLE"], "WhatsApp template");
    let n = app.connect("1", "777000111").await;
    let b24 = app.b24.clone();
    wait_until(10, "the number's message-service provider", move || {
        !b24.providers().is_empty()
    })
    .await;
    let (_, provider) = app.b24.providers().remove(0);
    assert_eq!(
        provider["DESCRIPTION"]["ru"], "Сообщения в WhatsApp с номера +15550001111 через b24wa",
        "{provider}"
    );
    assert_eq!(
        provider["DESCRIPTION"]["en"],
        "WhatsApp messages from +15550001111 through b24wa"
    );
    assert_eq!(provider["NAME"]["ru"], "WhatsApp +15550001111");

    // A customer writes; the operator answers twice.
    app.graph.set_auto_statuses(Vec::new());
    assert_eq!(
        app.customer_writes(&n, CUSTOMER, "wamid.HI", "Hello").await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the customer's message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let (first_im, _) = operator_sends(&app, &n, "Price is 10", true).await;
    let (_, second) = operator_sends(&app, &n, "See you", false).await;

    // A Cloud API delete: deleted here only, said in the portal's language.
    let before = app.b24.system_notices().len();
    assert_eq!(app.b24.operator_delete(&first_im).await, 200);
    notice_after(&app, before, want.deleted).await;

    // A failed message's reason.
    let mut failed: Value = serde_json::from_slice(&GraphSim::status_body(
        &n.phone_number_id,
        &n.display_phone,
        &second,
        "failed",
        CUSTOMER,
        sim::unix_now(),
    ))
    .expect("status body");
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
        "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
    }]);
    let before = app.b24.system_notices().len();
    let body = serde_json::to_vec(&failed).expect("json");
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    notice_after(&app, before, want.undeliverable).await;

    // A 45 s voice note: delivered, and its note says why there is no transcript, with the
    // plural of seconds.
    let media = app
        .graph
        .add_media("audio/ogg; codecs=opus", silent_note(45));
    let voice = GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Maria",
        json!({"from": CUSTOMER, "id": "wamid.VOICE", "timestamp": sim::unix_now().to_string(),
               "type": "audio", "audio": {"id": media, "mime_type": "audio/ogg; codecs=opus",
               "sha256": "x", "voice": true}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, voice).await, 200);
    let b24 = app.b24.clone();
    wait_until(60, "the voice note's note", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.message_id == "wamid.VOICE" && m.edited)
    })
    .await;
    let note = app
        .b24
        .customer_messages()
        .into_iter()
        .find(|m| m.message_id == "wamid.VOICE" && m.edited)
        .map(|m| m.text)
        .unwrap_or_default();
    assert!(note.contains(want.too_long), "{note}");

    // The tenant's admin sets the other language: the next notice and the connector follow.
    let path = format!("/api/v1/portals/{portal_id}/language");
    let (status, view) = api_put(&app, &path, json!({"language": other.lang})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["language"], other.lang);
    assert_eq!(view["language_override"], other.lang);
    assert_eq!(view["language_from_bitrix24"], want.lang);
    let b24 = app.b24.clone();
    let connector = app.settings.connector_id.clone();
    let renamed = other.connector.to_string();
    wait_until(10, "the connector registered again", move || {
        b24.connector_registration(&connector)
            .is_some_and(|r| r["NAME"] == renamed.as_str())
    })
    .await;
    assert_eq!(app.b24.registered_connectors().len(), 1, "the same ID");
    let (third_im, _) = operator_sends(&app, &n, "One more", true).await;
    let before = app.b24.system_notices().len();
    assert_eq!(app.b24.operator_delete(&third_im).await, 200);
    notice_after(&app, before, other.deleted).await;

    // Audited.
    let (_, audit) = app.api_get("/api/v1/audit").await;
    let entry = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["action"] == "portal.language")
        .unwrap_or_else(|| panic!("no portal.language entry: {audit}"));
    assert_eq!(entry["target"], format!("portal:{portal_id}"));
    assert_eq!(entry["before"]["language"], want.lang);
    assert_eq!(entry["after"]["language"], other.lang);

    // A language the catalogues do not hold is refused; null follows Bitrix24 again.
    let (status, _) = api_put(&app, &path, json!({"language": "de"})).await;
    assert_eq!(status, 400);
    let (status, view) = api_put(&app, &path, json!({"language": null})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["language"], want.lang);
    assert_eq!(view["language_override"], Value::Null);
    let (status, _) = api_put(
        &app,
        "/api/v1/portals/999999/language",
        json!({"language": "ru"}),
    )
    .await;
    assert_eq!(status, 404);
}
