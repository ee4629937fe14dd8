//! Data lifecycle (issue 19): the retention sweep deletes rows and files past a tenant's
//! retention and keeps new and unfinished work; a sweep cut off is finished by the next; an
//! uninstall with `CLEAN=1` purges the portal's data after the grace period, one without it
//! keeps it, a reinstall inside the grace period keeps everything; a tenant's retention is
//! bounded by its plan and only its own admin (or support) changes it.
//!
//! Time: the sweep runs "as of" a time the test gives (`Sweep::run(now, …)`), and rows meant to
//! be old are dated back in the database, so nothing waits for days.

mod common;
mod sim;

use std::collections::BTreeMap;

use b24wa::{
    actors::retention::{Report, Sweep},
    billing::{plans, Plan},
    http::api::auth::{JwtKeys, Role},
    media::LocalStore,
    store,
};
use common::{spawn_app_with, spawn_process_with, wait_until, Backend, Number, Peers, TestApp};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};
use sim::BitrixSimConfig;

on_both_databases!(
    the_sweep_deletes_old_rows_and_files_and_keeps_new_and_unfinished_work,
    a_sweep_cut_off_is_finished_by_the_next,
    an_uninstall_with_clean_purges_the_portal_after_the_grace_period,
    an_uninstall_without_clean_keeps_the_data,
    a_reinstall_inside_the_grace_period_keeps_everything,
    retention_changes_are_bounded_by_the_plan_and_the_tenant,
    an_uninstalled_portals_numbers_send_nothing_until_it_is_installed_again,
    a_killed_service_finishes_its_sweep_after_a_restart,
);

const DAY_MS: i64 = 24 * 3600 * 1000;
const CUSTOMER: &str = "79005550001";
const OTHER: &str = "79005550002";

async fn app(backend: Backend, tweak: impl FnOnce(&mut b24wa::config::Settings)) -> TestApp {
    spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        // The test runs each sweep itself.
        s.retention_sweep_secs = 0;
        tweak(s);
    })
    .await
}

async fn db(app: &TestApp) -> DatabaseConnection {
    store::connect(&app.settings.database_url())
        .await
        .expect("test's own connection")
}

/// Runs one sweep as of `now`, at most `batches` transactions.
async fn sweep(app: &TestApp, now: i64, batches: Option<usize>) -> Report {
    let db = db(app).await;
    let media = LocalStore::new(app.settings.media_dir()).expect("media store");
    let plans: BTreeMap<String, Plan> = plans::effective(&app.settings.plans);
    let never = || false;
    Sweep {
        db: &db,
        media: &media,
        settings: &app.settings,
        plans: &plans,
        stop: &never,
    }
    .run(now, batches)
    .await
    .expect("sweep")
}

async fn sql(db: &DatabaseConnection, q: &str) {
    db.execute_unprepared(q)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

async fn count(db: &DatabaseConnection, q: &str) -> i64 {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            q,
        ))
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

/// Dates everything stored so far back by `days` (as if it had happened then).
async fn age_everything(db: &DatabaseConnection, days: i64) {
    let ms = days * DAY_MS;
    for (table, col) in [
        ("messages", "created_at"),
        ("media", "created_at"),
        ("inbox", "created_at"),
        ("jobs", "updated_at"),
        ("message_hops", "at"),
    ] {
        sql(db, &format!("UPDATE {table} SET {col} = {col} - {ms}")).await;
    }
}

async fn customer_text(app: &Peers, n: &Number, wa_id: &str, wamid: &str, text: &str) {
    assert_eq!(app.customer_writes(n, wa_id, wamid, text).await, 200);
}

async fn customer_image(app: &Peers, n: &Number, wamid: &str, caption: &str) {
    let id = app
        .graph
        .add_media("image/jpeg", b"\xff\xd8\xff\xe0 jpeg bytes".to_vec());
    let message = json!({"from": CUSTOMER, "id": wamid, "timestamp": sim::unix_now().to_string(),
        "type": "image", "image": {"id": id, "mime_type": "image/jpeg", "sha256": "x", "caption": caption}});
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Ivan Petrov",
        message,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
}

async fn relayed(app: &Peers, n: usize) {
    let b24 = app.b24.clone();
    wait_until(20, &format!("{n} messages in Bitrix24"), move || {
        b24.customer_messages().len() >= n
    })
    .await;
}

/// Waits until no job is pending and every inbox item is processed (the relay is at rest).
async fn at_rest(db: &DatabaseConnection) {
    for _ in 0..400 {
        let pending = count(db, "SELECT COUNT(*) FROM jobs WHERE status = 'pending'").await;
        let open = count(db, "SELECT COUNT(*) FROM inbox WHERE processed = false").await;
        if pending == 0 && open == 0 {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the relay did not come to rest");
}

/// The files on disk of the media rows that match `filter`.
async fn files(app: &TestApp, db: &DatabaseConnection, filter: &str) -> Vec<std::path::PathBuf> {
    let rows = db
        .query_all(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT storage_key FROM media WHERE {filter} ORDER BY id"),
        ))
        .await
        .expect("media rows");
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("key"))
        .filter(|k| !k.is_empty())
        .map(|k| app.settings.media_dir().join(k))
        .collect()
}

async fn messages_with(db: &DatabaseConnection, text: &str) -> i64 {
    count(
        db,
        &format!("SELECT COUNT(*) FROM messages WHERE text LIKE '%{text}%'"),
    )
    .await
}

async fn installed_with_number(app: &TestApp, phone_number_id: &str) -> Number {
    app.install().await;
    app.connect("1", phone_number_id).await
}

async fn the_sweep_deletes_old_rows_and_files_and_keeps_new_and_unfinished_work(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let n = installed_with_number(&app, "700100001").await;
    let db = db(&app).await;
    // A year and more ago: a text and a photo; a photo 100 days ago (past the media retention,
    // not the messages').
    customer_text(&app, &n, CUSTOMER, "wamid.R1", "ancient text").await;
    customer_image(&app, &n, "wamid.R2", "ancient photo").await;
    customer_text(&app, &n, OTHER, "wamid.R3", "ancient but in flight").await;
    relayed(&app, 3).await;
    at_rest(&db).await;
    age_everything(&db, 300).await;
    customer_image(&app, &n, "wamid.R4", "older photo").await;
    relayed(&app, 4).await;
    at_rest(&db).await;
    age_everything(&db, 100).await;
    // Today.
    customer_text(&app, &n, CUSTOMER, "wamid.R5", "fresh text").await;
    customer_image(&app, &n, "wamid.R6", "fresh photo").await;
    relayed(&app, 6).await;
    at_rest(&db).await;
    // Unfinished work in the other customer's chat: a job not due for days.
    let far = store::now_ms() + 10 * DAY_MS;
    sql(
        &db,
        &format!(
            "INSERT INTO jobs (owner, queue_key, kind, payload, status, attempts, next_attempt_at, \
             created_at, updated_at) SELECT 'number:{}', 'chat:' || CAST(c.id AS TEXT), 'b24_notice', \
             '{{}}', 'pending', 0, {far}, 0, 0 FROM chats c WHERE c.customer_wa_id = '{OTHER}'",
            n.id
        ),
    )
    .await;
    let old_files = files(&app, &db, "state = 'stored'").await;
    assert_eq!(old_files.len(), 3, "three photos stored");
    assert!(old_files.iter().all(|f| f.is_file()), "{old_files:?}");
    let hops_before = count(&db, "SELECT COUNT(*) FROM message_hops").await;
    let inbox_before = count(&db, "SELECT COUNT(*) FROM inbox").await;

    let usage_before = app.usage_today().await["totals"].clone();
    let report = sweep(&app, store::now_ms(), None).await;
    assert!(report.finished, "{report:?}");
    // The usage ledger keeps what the purged messages counted.
    assert_eq!(app.usage_today().await["totals"], usage_before);
    assert!(
        usage_before["inbound"].as_i64() >= Some(6),
        "{usage_before}"
    );

    assert_eq!(messages_with(&db, "ancient text").await, 0, "past 365 days");
    assert_eq!(messages_with(&db, "ancient photo").await, 0);
    assert_eq!(
        messages_with(&db, "ancient but in flight").await,
        1,
        "its chat has a pending job"
    );
    assert_eq!(messages_with(&db, "older photo").await, 1, "100 days: kept");
    assert_eq!(messages_with(&db, "fresh").await, 2);
    // Files: the 400-day photo's row and file are gone; the 100-day photo's file is gone and
    // its row says so; today's is there.
    let left: Vec<(String, String)> = {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT state, storage_key FROM media ORDER BY id".to_string(),
            ))
            .await
            .expect("media");
        rows.iter()
            .map(|r| {
                (
                    r.try_get_by_index::<String>(0).expect("state"),
                    r.try_get_by_index::<String>(1).expect("key"),
                )
            })
            .collect()
    };
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(left[0].0, "purged", "{left:?}");
    assert_eq!(left[1].0, "stored", "{left:?}");
    assert!(
        !old_files[0].exists() && !old_files[1].exists(),
        "{old_files:?}"
    );
    assert!(old_files[2].is_file(), "today's photo kept");
    assert_eq!(report.files, 2, "{report:?}");
    assert_eq!(report.rows("messages"), 2, "{report:?}");
    assert_eq!(report.rows("media"), 1, "{report:?}");
    assert!(report.rows("message_hops") > 0, "{report:?}");
    assert!(
        count(&db, "SELECT COUNT(*) FROM message_hops").await < hops_before,
        "hops of deleted messages went"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_hops WHERE message_id NOT IN (SELECT id FROM messages)"
        )
        .await,
        0,
        "no hop outlives its message"
    );
    // Finished inbox items and jobs past 30 days went; today's and the pending job stayed.
    let inbox_after = count(&db, "SELECT COUNT(*) FROM inbox").await;
    assert!(
        inbox_after < inbox_before && inbox_after >= 2,
        "{inbox_before} → {inbox_after}"
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM inbox WHERE created_at < {}",
                store::now_ms() - 30 * DAY_MS
            )
        )
        .await,
        0
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM jobs WHERE status = 'pending'").await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM jobs WHERE updated_at < {}",
                store::now_ms() - 30 * DAY_MS
            )
        )
        .await,
        1,
        "only the pending one is old"
    );
    // A second sweep finds nothing more.
    let again = sweep(&app, store::now_ms(), None).await;
    assert_eq!(again.rows.values().sum::<u64>(), 0, "{again:?}");
    // The metrics say what went, and how much the media store holds.
    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "b24wa_retention_rows_purged_total{table=\"messages\"}",
        "b24wa_retention_files_purged_total",
        "b24wa_media_store_bytes",
    ] {
        assert!(metrics.contains(name), "{name} in {metrics}");
    }
}

async fn a_sweep_cut_off_is_finished_by_the_next(backend: Backend) {
    let app = app(backend, |s| s.retention_batch = 2).await;
    let n = installed_with_number(&app, "700100002").await;
    let db = db(&app).await;
    for i in 0..5 {
        customer_text(
            &app,
            &n,
            CUSTOMER,
            &format!("wamid.C{i}"),
            &format!("old {i}"),
        )
        .await;
    }
    customer_image(&app, &n, "wamid.C9", "old photo").await;
    relayed(&app, 6).await;
    at_rest(&db).await;
    age_everything(&db, 400).await;
    let photo = files(&app, &db, "state = 'stored'").await;
    assert_eq!(photo.len(), 1);

    // Cut off after its first transaction (as a kill would).
    let first = sweep(&app, store::now_ms(), Some(1)).await;
    assert!(!first.finished);
    assert_eq!(first.batches, 1);
    let left = messages_with(&db, "old").await;
    assert_eq!(left, 4, "one batch of two went");

    // A crash between marking a file's row and deleting the file: the row says purging, the
    // file is still there.
    let id = count(&db, "SELECT id FROM media").await;
    store::retention::mark_purging(&db, &[id])
        .await
        .expect("mark");
    assert!(photo[0].is_file());

    let rest = sweep(&app, store::now_ms(), None).await;
    assert!(rest.finished, "{rest:?}");
    assert_eq!(messages_with(&db, "old").await, 0);
    assert_eq!(messages_with(&db, "photo").await, 0);
    assert!(!photo[0].exists(), "the file left behind is deleted");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM media").await, 0);
    assert_eq!(rest.rows("messages") + first.rows("messages"), 6);
}

/// A portal with a chat, a photo and history; returns its number.
async fn portal_with_history(app: &TestApp, phone_number_id: &str) -> Number {
    let n = installed_with_number(app, phone_number_id).await;
    customer_text(app, &n, CUSTOMER, "wamid.U1", "hello").await;
    customer_image(app, &n, "wamid.U2", "photo").await;
    relayed(app, 2).await;
    at_rest(&db(app).await).await;
    n
}

async fn totals(db: &DatabaseConnection) -> [i64; 7] {
    let mut out = [0; 7];
    for (i, table) in [
        "messages",
        "chats",
        "media",
        "inbox",
        "jobs",
        "message_hops",
        "numbers",
    ]
    .iter()
    .enumerate()
    {
        out[i] = count(db, &format!("SELECT COUNT(*) FROM {table}")).await;
    }
    out
}

async fn portal(app: &TestApp) -> Value {
    let (status, body) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200, "{body}");
    body["items"][0].clone()
}

async fn an_uninstall_with_clean_purges_the_portal_after_the_grace_period(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let n = portal_with_history(&app, "700100003").await;
    let db = db(&app).await;
    let photo = files(&app, &db, "state = 'stored'").await;
    assert_eq!(photo.len(), 1);
    assert_eq!(app.b24.uninstall_with(true).await, 200);
    let p = portal(&app).await;
    assert_eq!(p["installed"], false, "{p}");
    let purge_after = p["purge_after"].as_i64().expect("a purge is planned");
    let now = store::now_ms();
    assert!(
        (purge_after - now - 7 * DAY_MS).abs() < 60_000,
        "seven days of grace: {p}"
    );
    // Relaying stopped at once: the customer's message is refused (WhatsApp retries it).
    assert_ne!(
        app.customer_writes(&n, CUSTOMER, "wamid.U3", "while away")
            .await,
        200
    );
    let before = totals(&db).await;
    assert!(before.iter().all(|c| *c > 0), "{before:?}");

    let inside = sweep(&app, now + 6 * DAY_MS, None).await;
    assert_eq!(inside.rows.values().sum::<u64>(), 0, "{inside:?}");
    assert_eq!(totals(&db).await, before, "kept during the grace period");

    let usage_before = app.usage_today().await["totals"].clone();
    let after = sweep(&app, now + 8 * DAY_MS, None).await;
    assert!(after.finished, "{after:?}");
    assert_eq!(totals(&db).await, [0; 7], "{after:?}");
    assert_eq!(
        app.usage_today().await["totals"],
        usage_before,
        "usage outlives the purge"
    );
    assert!(!photo[0].exists(), "the file is deleted");
    let p = portal(&app).await;
    assert!(p["purged_at"].as_i64().is_some(), "{p}");
}

async fn an_uninstall_without_clean_keeps_the_data(backend: Backend) {
    let app = app(backend, |_| {}).await;
    portal_with_history(&app, "700100004").await;
    let db = db(&app).await;
    assert_eq!(app.b24.uninstall_with(false).await, 200);
    let p = portal(&app).await;
    assert_eq!(p["installed"], false, "{p}");
    assert!(p["purge_after"].is_null(), "{p}");
    let before = totals(&db).await;
    let report = sweep(&app, store::now_ms() + 60 * DAY_MS, None).await;
    assert_eq!(
        report.rows("messages") + report.rows("chats") + report.rows("numbers"),
        0
    );
    let after = totals(&db).await;
    // Only finished inbox items and jobs (past 30 days) may go; messages, chats, files and
    // numbers stay under the tenant's retention.
    assert_eq!(
        [after[0], after[1], after[2], after[5], after[6]],
        [before[0], before[1], before[2], before[5], before[6]]
    );
    let kept = files(&app, &db, "state = 'stored'").await;
    assert_eq!(
        kept.len(),
        1,
        "60 days: the photo is within the 90 days of media retention"
    );
    assert!(kept[0].is_file());
}

async fn a_reinstall_inside_the_grace_period_keeps_everything(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let n = portal_with_history(&app, "700100005").await;
    let db = db(&app).await;
    assert_eq!(app.b24.uninstall_with(true).await, 200);
    app.install().await;
    let p = portal(&app).await;
    assert_eq!(p["installed"], true, "{p}");
    assert!(p["purge_after"].is_null(), "the purge is cancelled: {p}");
    at_rest(&db).await;
    let before = totals(&db).await;
    let report = sweep(&app, store::now_ms() + 8 * DAY_MS, None).await;
    assert_eq!(
        report.rows("messages") + report.rows("chats") + report.rows("numbers"),
        0,
        "{report:?}"
    );
    let after = totals(&db).await;
    assert_eq!(
        [after[0], after[1], after[2], after[6]],
        [before[0], before[1], before[2], before[6]]
    );
    // And the number relays again.
    customer_text(&app, &n, CUSTOMER, "wamid.U9", "back again").await;
    relayed(&app, 3).await;
}

fn token(app: &TestApp, role: Role, tenant: Option<i64>) -> String {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("retention-test", role, tenant, 600)
        .expect("sign")
}

async fn put(app: &TestApp, token: &str, tenant: i64, body: Value) -> (u16, Value) {
    let r = app
        .http
        .put(format!("{}/api/v1/tenants/{tenant}/retention", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("put");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, tenant: i64) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}/api/v1/tenants/{tenant}/retention", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn retention_changes_are_bounded_by_the_plan_and_the_tenant(backend: Backend) {
    let app = app(backend, |s| {
        s.plans.insert(
            "free".into(),
            Plan {
                max_retention_messages_days: Some(90),
                max_retention_media_days: Some(30),
                ..Plan::default()
            },
        );
        s.plans.insert("pro".into(), Plan::default());
    })
    .await;
    let n = portal_with_history(&app, "700100006").await;
    let db = db(&app).await;
    let a = count(&db, "SELECT tenant_id FROM portals").await;
    let (status, b) = app
        .api_post(
            "/api/v1/tenants",
            json!({"name": "Other Ltd", "plan": "pro"}),
        )
        .await;
    assert_eq!(status, 201, "{b}");
    let b = b["id"].as_i64().expect("tenant id");
    let admin_a = token(&app, Role::TenantAdmin, Some(a));

    // What applies before any choice: the defaults within the plan.
    let (status, view) = get(&app, &admin_a, a).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["effective_messages_days"], 90, "{view}");
    assert_eq!(view["effective_media_days"], 30, "{view}");
    assert_eq!(view["max_messages_days"], 90, "{view}");

    let (status, view) = put(
        &app,
        &admin_a,
        a,
        json!({"messages_days": 60, "media_days": 10}),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["messages_days"], 60);
    assert_eq!(view["effective_media_days"], 10);
    for over in [
        json!({"messages_days": 91, "media_days": null}),
        json!({"messages_days": 0, "media_days": null}),
        json!({"messages_days": null, "media_days": 31}),
    ] {
        let (status, body) = put(&app, &admin_a, a, over.clone()).await;
        assert_eq!(status, 400, "{over}: {body}");
        assert_eq!(body["error"]["code"], "retention_out_of_plan", "{body}");
    }
    let (_, view) = get(&app, &admin_a, a).await;
    assert_eq!(
        view["messages_days"], 60,
        "refused changes change nothing: {view}"
    );

    // Tenant A's admin cannot see or change tenant B; billing changes nothing; support can.
    assert_eq!(get(&app, &admin_a, b).await.0, 404);
    let (status, body) = put(
        &app,
        &admin_a,
        b,
        json!({"messages_days": 1, "media_days": 1}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let billing = token(&app, Role::Billing, None);
    assert_eq!(
        put(
            &app,
            &billing,
            a,
            json!({"messages_days": 5, "media_days": 5})
        )
        .await
        .0,
        403
    );
    let (status, view) = put(
        &app,
        &app.token,
        b,
        json!({"messages_days": 0, "media_days": 0}),
    )
    .await;
    assert_eq!(
        status, 200,
        "pro has no maximum: for ever is allowed: {view}"
    );
    assert_eq!(view["effective_messages_days"], 0);
    let (_, view) = get(&app, &admin_a, a).await;
    assert_eq!(view["messages_days"], 60, "tenant A untouched: {view}");
    // The change is audited.
    let (_, audit) = app.api_get("/api/v1/audit").await;
    assert!(audit.to_string().contains("retention.update"), "{audit}");

    // The sweep applies the tenant's 60 days.
    age_everything(&db, 61).await;
    customer_text(&app, &n, CUSTOMER, "wamid.B1", "recent").await;
    relayed(&app, 3).await;
    at_rest(&db).await;
    sweep(&app, store::now_ms(), None).await;
    assert_eq!(
        messages_with(&db, "hello").await,
        0,
        "past the tenant's 60 days"
    );
    assert_eq!(messages_with(&db, "recent").await, 1);
}

async fn an_uninstalled_portals_numbers_send_nothing_until_it_is_installed_again(backend: Backend) {
    let app = app(backend, |_| {}).await;
    let n = portal_with_history(&app, "700100007").await;
    let db = db(&app).await;
    assert_eq!(app.b24.uninstall_with(false).await, 200);
    // A send still queued when the app went away (an operator's reply).
    let chat = count(&db, "SELECT id FROM chats").await;
    let message = count(&db, "SELECT MIN(id) FROM messages").await;
    let job = store::jobs::Job::WaSendText {
        message_id: message,
        to: CUSTOMER.into(),
        text: "queued before the uninstall".into(),
    };
    store::jobs::enqueue(
        &db,
        &store::jobs::number_owner(n.id),
        &store::jobs::chat_queue(chat),
        &job,
    )
    .await
    .expect("enqueue");
    // The recovery sweep wakes the number (every 300 ms here) several times: nothing goes.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    let sent = |app: &TestApp| {
        app.graph
            .sent_messages()
            .iter()
            .filter(|m| m.text == "queued before the uninstall")
            .count()
    };
    assert_eq!(sent(&app), 0, "nothing is sent for an uninstalled portal");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE status = 'pending' AND kind = 'wa_send_text'"
        )
        .await,
        1,
        "the send waits"
    );
    app.install().await;
    let graph = app.graph.clone();
    wait_until(20, "the send after the reinstall", move || {
        graph
            .sent_messages()
            .iter()
            .any(|m| m.text == "queued before the uninstall")
    })
    .await;
}

async fn a_killed_service_finishes_its_sweep_after_a_restart(backend: Backend) {
    // The real binary, sweeping every second one row per transaction, killed (SIGKILL) as soon
    // as its sweep has begun deleting.
    let app = spawn_process_with(backend, |s| {
        s.retention_sweep_secs = 1;
        s.retention_batch = 1;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "700100008").await;
    let db = store::connect(&app.settings.database_url())
        .await
        .expect("test's own connection");
    const OLD: usize = 30;
    for i in 0..OLD {
        customer_text(
            &app,
            &n,
            CUSTOMER,
            &format!("wamid.K{i}"),
            &format!("old {i}"),
        )
        .await;
    }
    customer_image(&app, &n, "wamid.K99", "old photo").await;
    relayed(&app, OLD + 1).await;
    at_rest(&db).await;
    let key = {
        let row = db
            .query_one(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT storage_key FROM media".to_string(),
            ))
            .await
            .expect("media")
            .expect("a photo");
        row.try_get_by_index::<String>(0).expect("key")
    };
    let photo = app.settings.media_dir().join(key);
    assert!(photo.is_file());
    age_everything(&db, 400).await;
    let all = (OLD + 1) as i64;
    let mut left = all;
    for _ in 0..2000 {
        left = messages_with(&db, "old").await;
        if left < all {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    app.kill();
    assert!(left < all, "the sweep had begun");
    let after_kill = messages_with(&db, "old").await;
    eprintln!("retention kill test: {after_kill} of {all} old messages left at the kill");
    assert!(
        after_kill > 0,
        "killed in the middle of the sweep, not after it"
    );

    app.restart().await;
    customer_text(&app, &n, CUSTOMER, "wamid.K100", "fresh after restart").await;
    let watch = db.clone();
    let mut done = false;
    for _ in 0..400 {
        let old = messages_with(&watch, "old").await;
        let media = count(&watch, "SELECT COUNT(*) FROM media").await;
        if old == 0 && media == 0 {
            done = true;
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "the restarted service finished the sweep ({after_kill} old messages were left at the kill)");
    assert!(!photo.exists(), "the photo's file is deleted");
    relayed(&app, OLD + 2).await;
    // Two more sweeps: the new message stays.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(messages_with(&db, "fresh after restart").await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM message_hops WHERE message_id NOT IN (SELECT id FROM messages)"
        )
        .await,
        0
    );
}
