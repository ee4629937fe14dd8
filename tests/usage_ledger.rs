//! The usage ledger (issue 19): usage is counted when the billable thing happens and kept
//! apart from message history. Purging messages and files leaves every total as it was;
//! operators' attachments count as media; only voice notes actually transcribed cost minutes
//! (a note over the length limit or one that cannot be decoded costs none); the upgrade's
//! backfill gives the totals the reports gave before it.

mod common;
mod sim;

use std::{path::PathBuf, process::Command, time::Duration};

use b24wa::store::usage;
use common::{chat_key, fresh_database, spawn_app, spawn_app_with, Backend, Number, TestApp};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{json, Value};
use sim::BitrixSimConfig;

on_both_databases!(
    operator_attachments_count_as_media,
    totals_stay_after_messages_and_media_are_purged,
    only_voice_notes_actually_transcribed_cost_minutes,
    the_backfill_gives_the_totals_of_before,
);

const CUSTOMER: &str = "79001112299";

/// Polls today's report until `done` holds (the ledger row of a send is written when it settles).
async fn usage_when(app: &TestApp, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let v = app.usage_today().await;
        if done(&v) {
            return v;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {}", app.usage_today().await);
}

async fn db_of(app: &TestApp) -> DatabaseConnection {
    sea_orm::Database::connect(app.settings.database_url())
        .await
        .expect("db")
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

async fn customer_sends(app: &TestApp, n: &Number, message: Value) {
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Ivan",
        message,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
}

/// Two texts and a picture from the customer; a text and a picture with a caption from the
/// operator, both sent to WhatsApp.
async fn relay_some(app: &TestApp) -> Number {
    app.install().await;
    let n = app.connect("1", "555000901").await;
    app.customer_writes(&n, CUSTOMER, "wamid.L1", "hello").await;
    app.customer_writes(&n, CUSTOMER, "wamid.L2", "are you there?")
        .await;
    let id = app
        .graph
        .add_media("image/jpeg", b"\xff\xd8\xff\xe0 a photo".to_vec());
    customer_sends(
        app,
        &n,
        json!({"from": CUSTOMER, "id": "wamid.L3", "timestamp": sim::unix_now().to_string(),
               "type": "image", "image": {"id": id, "mime_type": "image/jpeg", "sha256": "x"}}),
    )
    .await;
    let b24 = app.b24.clone();
    common::wait_until(20, "three messages in Bitrix24", move || {
        b24.customer_messages().len() == 3
    })
    .await;
    assert_eq!(app.b24.customer_messages()[2].files.len(), 1);
    let key = chat_key(CUSTOMER, &n);
    let op = app.b24.operator_write("1", &key, "hi!").await;
    assert_eq!(op.http_status, 200);
    let op = app
        .b24
        .operator_write_file(
            "1",
            &key,
            "our shop",
            "shop.jpg",
            "image/jpeg",
            b"\xff\xd8\xff\xe0 the shop".to_vec(),
        )
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    common::wait_until(20, "two sends to WhatsApp", move || {
        graph.sent_messages().len() == 2
    })
    .await;
    assert_eq!(app.graph.sent_messages()[1].kind, "image");
    n
}

async fn operator_attachments_count_as_media(backend: Backend) {
    let app = spawn_app(backend).await;
    let n = relay_some(&app).await;
    // The customer's picture and the operator's, each once.
    let v = usage_when(&app, "the attachment counted", |v| {
        v["totals"]["media"] == 2
    })
    .await;
    assert_eq!(v["totals"]["inbound"], 3, "{v}");
    assert_eq!(v["totals"]["outbound"], 2, "{v}");
    assert_eq!(v["days"][0]["media"], 2, "{v}");
    // One row per kind and message: exactly one for the operator's attachment.
    let db = db_of(&app).await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM usage_ledger WHERE kind = 'media_out'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM usage_ledger WHERE kind = 'media_in'"
        )
        .await,
        1
    );
    // WhatsApp delivering a message again counts nothing: still 3 in, one row each.
    app.customer_writes(&n, CUSTOMER, "wamid.L1", "hello").await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let again = app.usage_today().await;
    assert_eq!(again["totals"], v["totals"], "{again}");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM usage_ledger WHERE kind = 'inbound'"
        )
        .await,
        3
    );
    db.close().await.ok();
}

async fn totals_stay_after_messages_and_media_are_purged(backend: Backend) {
    let app = spawn_app(backend).await;
    relay_some(&app).await;
    let before = usage_when(&app, "everything counted", |v| {
        v["totals"]["media"] == 2 && v["totals"]["outbound"] == 2
    })
    .await;
    assert_eq!(before["totals"]["inbound"], 3, "{before}");
    assert_eq!(before["active_numbers"], 1, "{before}");
    let messages_used = before["plan_use"]["quotas"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["quota"] == "messages"))
        .map(|q| q["used"].clone());
    assert_eq!(messages_used, Some(json!(5.0)), "{before}");
    // What retention or an erase would do: the history and the files are gone.
    let db = db_of(&app).await;
    for sql in [
        "DELETE FROM message_hops",
        "DELETE FROM messages",
        "DELETE FROM media",
    ] {
        db.execute_unprepared(sql).await.expect(sql);
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM media").await, 0);
    let after = app.usage_today().await;
    for field in ["totals", "days", "active_numbers", "connected_numbers"] {
        assert_eq!(after[field], before[field], "{field}: {after} vs {before}");
    }
    assert_eq!(
        after["plan_use"]["quotas"], before["plan_use"]["quotas"],
        "{after}"
    );
    // And the period listing billing reads says the same.
    let (s, all) = app
        .api_get(&format!(
            "/api/v1/usage?from={d}&to={d}",
            d = chrono::Utc::now().date_naive()
        ))
        .await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["items"][0]["totals"], before["totals"], "{all}");
    db.close().await.ok();
}

fn model() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(
        p.exists(),
        "{} is missing: run `make model` first",
        p.display()
    );
    p
}

/// An OGG/Opus voice note saying `text` in English, padded with silence to `pad` seconds.
fn speech(text: &str, pad: Option<u32>) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("note.ogg");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/speech/say.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg("en").arg(text).arg(&out);
    if let Some(p) = pad {
        cmd.arg(p.to_string());
    }
    let res = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        res.status.success(),
        "say.sh failed (espeak-ng, opus-tools and sox, see .ci/run): {}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read(&out).expect("voice note written")
}

async fn post_voice(app: &TestApp, n: &Number, wamid: &str, ogg: Vec<u8>) {
    let id = app.graph.add_media("audio/ogg; codecs=opus", ogg);
    customer_sends(
        app,
        n,
        json!({"from": CUSTOMER, "id": wamid, "timestamp": sim::unix_now().to_string(),
               "type": "audio", "audio": {"id": id, "mime_type": "audio/ogg; codecs=opus",
               "sha256": "x", "voice": true}}),
    )
    .await;
}

async fn only_voice_notes_actually_transcribed_cost_minutes(backend: Backend) {
    let model = model();
    let app = spawn_app_with(backend, BitrixSimConfig::default(), move |s| {
        s.transcribe_model = Some(model);
    })
    .await;
    app.install().await;
    let n = app.connect("1", "555000902").await;
    let short = speech("Please send the invoice to my office today", None);
    let seconds = b24wa::transcribe::audio::probe_seconds(&short)
        .expect("a voice note")
        .expect("its length") as f64;
    assert!(seconds > 1.0 && seconds < 30.0, "{seconds}");
    // Over the 30 s limit: not transcribed, so not charged.
    let long = speech("This note is far too long to be transcribed", Some(45));
    // Cannot be decoded: not charged either.
    let broken = b"OggS\0garbage that is not opus at all".to_vec();
    post_voice(&app, &n, "wamid.VL1", short).await;
    post_voice(&app, &n, "wamid.VL2", long).await;
    post_voice(&app, &n, "wamid.VL3", broken).await;
    let b24 = app.b24.clone();
    common::wait_until(180, "three transcripts or notes", move || {
        b24.customer_messages().iter().filter(|m| m.edited).count() >= 3
    })
    .await;
    let texts: Vec<String> = app
        .b24
        .customer_messages()
        .iter()
        .filter(|m| m.edited)
        .map(|m| m.text.to_lowercase())
        .collect();
    assert!(texts.iter().any(|t| t.contains("invoice")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("not transcribed")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("could not be decoded")),
        "{texts:?}"
    );
    let v = app.usage_today().await;
    assert_eq!(v["totals"]["transcribed"], 1, "{v}");
    let charged = v["totals"]["transcribed_seconds"]
        .as_f64()
        .expect("seconds");
    assert!(
        (charged - seconds).abs() <= 0.1,
        "charged {charged} s for a note of {seconds} s: {v}"
    );
    // The three voice notes are three messages and three files all the same.
    assert_eq!(v["totals"]["inbound"], 3, "{v}");
    assert_eq!(v["totals"]["media"], 3, "{v}");
    // The plan's minutes are the seconds transcribed, nothing up front for the others.
    let minutes = v["plan_use"]["quotas"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["quota"] == "transcription_minutes"))
        .and_then(|q| q["used"].as_f64());
    assert_eq!(minutes, Some((charged / 6.0).round() / 10.0), "{v}");
    let db = db_of(&app).await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM usage_ledger WHERE kind = 'transcription'"
        )
        .await,
        1
    );
    db.close().await.ok();
}

/// A message as stored before the ledger: (chat, direction, media, transcript, created at).
type HistoryMessage = (i64, &'static str, Option<i64>, Option<&'static str>, i64);

const DAY: i64 = usage::DAY_MS;
/// 2026-11-02T00:00:00Z.
const NOV_2: i64 = 1_793_577_600_000;

/// The totals as the report computed them from history before the ledger (its queries, as
/// SQL): (inbound, outbound, media, transcribed, transcribed seconds, active numbers).
async fn totals_from_history(
    db: &DatabaseConnection,
    numbers: &str,
    from: i64,
    to: i64,
) -> (i64, i64, i64, i64, f64, i64) {
    let chats = format!("SELECT id FROM chats WHERE number_id IN ({numbers})");
    let period = format!("created_at >= {from} AND created_at < {to}");
    let n = |sql: String| async move { count(db, &sql).await };
    let inbound = n(format!(
        "SELECT COUNT(*) FROM messages WHERE chat_id IN ({chats}) AND {period} AND direction = 'in'"
    ))
    .await;
    let outbound = n(format!(
        "SELECT COUNT(*) FROM messages WHERE chat_id IN ({chats}) AND {period} AND direction = 'out'"
    ))
    .await;
    let media = n(format!(
        "SELECT COUNT(*) FROM messages WHERE chat_id IN ({chats}) AND {period} \
         AND media_id IS NOT NULL"
    ))
    .await;
    let transcribed = n(format!(
        "SELECT COUNT(*) FROM messages WHERE chat_id IN ({chats}) AND {period} \
         AND transcript IS NOT NULL"
    ))
    .await;
    let active = n(format!(
        "SELECT COUNT(DISTINCT number_id) FROM chats WHERE number_id IN ({numbers}) AND id IN \
         (SELECT chat_id FROM messages WHERE {period})"
    ))
    .await;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT CAST(COALESCE(SUM(seconds), 0) AS DOUBLE PRECISION) FROM media \
                 WHERE number_id IN ({numbers}) AND kind = 'voice' AND {period} AND id IN \
                 (SELECT media_id FROM messages WHERE transcript IS NOT NULL \
                  AND media_id IS NOT NULL)"
            ),
        ))
        .await
        .expect("seconds")
        .expect("a row");
    let seconds: f64 = row.try_get_by_index(0).expect("seconds");
    (inbound, outbound, media, transcribed, seconds, active)
}

async fn the_backfill_gives_the_totals_of_before(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = fresh_database(backend, dir.path()).await;
    let db = b24wa::store::connect(&url).await.expect("connect");
    let before_16 = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_000016_usage_ledger")
        .expect("migration 16 is listed") as u32;
    Migrator::up(&db, Some(before_16)).await.expect("up to 15");
    // Two tenants with a portal and a number each (rows as the tables were before 16).
    let mut sql = Vec::new();
    for t in [1, 2] {
        sql.push(format!(
            "INSERT INTO tenants (id, name, plan, created_at) VALUES ({t}, 'T{t}', 'free', 0)"
        ));
        sql.push(format!(
            "INSERT INTO portals (id, member_id, domain, client_endpoint, server_endpoint, \
             access_token_enc, refresh_token_enc, token_expires_at, application_token_enc, \
             scope, installed, tenant_id, created_at, updated_at) VALUES ({t}, 'm{t}', \
             'p{t}.bitrix24.test', 'x', 'x', 'x', 'x', 0, 'x', 'x', true, {t}, 0, 0)"
        ));
        sql.push(format!(
            "INSERT INTO numbers (id, portal_id, line_id, transport, phone_number_id, \
             display_phone, access_token_enc, app_secret_enc, verify_token_enc, active, \
             session_state, suspended, created_at, updated_at) VALUES ({t}, {t}, '1', \
             'cloud', 'pn{t}', '+1 555 000{t}', 'x', 'x', 'x', true, 'ok', false, 0, 0)"
        ));
        sql.push(format!(
            "INSERT INTO chats (id, number_id, customer_wa_id, customer_name, created_at, \
             updated_at) VALUES ({t}, {t}, '7900000000{t}', '', 0, 0)"
        ));
    }
    // Voice notes: 7.5 s with a transcript, 40 s with a note why there is none (before the
    // ledger both counted), and a picture.
    let media = [
        (1, "voice", Some(7.5), NOV_2 + 1_000),
        (2, "voice", Some(40.0), NOV_2 + DAY + 1_000),
        (3, "image", None, NOV_2 + DAY + 2_000),
        (4, "voice", Some(5.0), NOV_2 + 3_000),
    ];
    for (id, kind, seconds, at) in media {
        let number = if id == 4 { 2 } else { 1 };
        let seconds = seconds.map_or("NULL".to_string(), |s: f64| s.to_string());
        sql.push(format!(
            "INSERT INTO media (id, source_key, token, number_id, kind, mime, file_name, size, \
             sha256, storage_key, state, seconds, created_at, expires_at) VALUES ({id}, \
             'in:{id}', 't{id}', {number}, '{kind}', 'x', 'f', 1, 'x', 'k{id}', 'stored', \
             {seconds}, {at}, 0)"
        ));
    }
    // (chat, direction, media, transcript, at): tenant 1 over two days of November and one
    // day of October (outside the period); tenant 2 on the first day.
    let messages: [HistoryMessage; 9] = [
        (1, "in", None, None, NOV_2 + 500),
        (1, "in", Some(1), Some("call me"), NOV_2 + 1_000),
        (1, "out", None, None, NOV_2 + 2_000),
        (
            1,
            "in",
            Some(2),
            Some("Voice message of 40 seconds: not transcribed"),
            NOV_2 + DAY + 1_000,
        ),
        (1, "in", Some(3), None, NOV_2 + DAY + 2_000),
        (1, "out", None, None, NOV_2 + DAY + 3_000),
        (1, "in", None, None, NOV_2 - 5 * DAY),
        (2, "in", Some(4), Some("hello"), NOV_2 + 3_000),
        (2, "out", None, None, NOV_2 + 4_000),
    ];
    for (i, (chat, dir, media, transcript, at)) in messages.into_iter().enumerate() {
        let media = media.map_or("NULL".to_string(), |m| m.to_string());
        let transcript = transcript.map_or("NULL".to_string(), |t| format!("'{t}'"));
        sql.push(format!(
            "INSERT INTO messages (chat_id, direction, kind, wamid, text, status, media_id, \
             transcript, created_at, updated_at) VALUES ({chat}, '{dir}', 'text', 'wamid.B{i}', \
             'x', 'received', {media}, {transcript}, {at}, {at})"
        ));
    }
    for s in &sql {
        db.execute_unprepared(s).await.expect(s);
    }
    let (from, to) = (NOV_2, NOV_2 + 2 * DAY);
    let history = totals_from_history(&db, "1", from, to).await;
    // The history's own figures, so the comparison below is not of two empty reports.
    assert_eq!(history, (4, 2, 3, 2, 47.5, 1));

    Migrator::up(&db, None).await.expect("migration 16");
    let r = usage::report(&db, 1, &[1], from, to).await.expect("report");
    let t = &r.totals;
    assert_eq!(
        (
            t.inbound,
            t.outbound,
            t.media,
            t.transcribed,
            t.transcribed_seconds,
            r.active_numbers
        ),
        history,
        "{r:?}"
    );
    // Per day as before: the first day's note and the second day's note and picture.
    let days: Vec<(i64, i64, i64, i64, f64)> = r
        .days
        .iter()
        .map(|d| {
            let f = &d.figures;
            (
                f.inbound,
                f.outbound,
                f.media,
                f.transcribed,
                f.transcribed_seconds,
            )
        })
        .collect();
    assert_eq!(days, [(2, 1, 1, 1, 7.5), (2, 1, 2, 1, 40.0)], "{r:?}");
    assert_eq!(r.days[0].date, "2026-11-02");
    // The other tenant's history is its own.
    let other = usage::report(&db, 2, &[2], from, to).await.expect("report");
    let other_history = totals_from_history(&db, "2", from, to).await;
    let o = &other.totals;
    assert_eq!(
        (
            o.inbound,
            o.outbound,
            o.media,
            o.transcribed,
            o.transcribed_seconds,
            other.active_numbers
        ),
        other_history
    );
    assert_eq!(other_history, (1, 1, 1, 1, 5.0, 1));
    // October's message is still there, on its own day.
    let october = usage::report(&db, 1, &[1], NOV_2 - 30 * DAY, NOV_2)
        .await
        .expect("report");
    assert_eq!(october.totals.inbound, 1);
    // Once in the ledger, purging the history changes nothing.
    for s in ["DELETE FROM messages", "DELETE FROM media"] {
        db.execute_unprepared(s).await.expect(s);
    }
    let again = usage::report(&db, 1, &[1], from, to).await.expect("report");
    assert_eq!(again, r);
    db.close().await.ok();
}
