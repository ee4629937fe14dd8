//! Rotating the at-rest encryption key: secrets written under key A (one of them in the format
//! from before key ids) keep working once B is current and A only a previous key; `b24wa rekey`
//! moves every value to B (and a second run finds nothing to do), after which B alone suffices
//! and nothing in the database is under A any more.

mod common;
mod sim;

use std::process::{Command, Output};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    ChaCha20Poly1305,
};
use common::{chat_key, spawn_app_with, wait_until, Backend, Number, TestApp};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use sim::BitrixSimConfig;

on_both_databases!(rekey_moves_every_secret_to_the_new_key);

/// Base64 of 32 bytes each: `A` the key in use at first, `B` the one rotated to.
const KEY_A: &str = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
const KEY_B: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
const CUSTOMER: &str = "79001239999";

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn kid(key: &str) -> String {
    b24wa::store::crypto::key_id(&B64.decode(key).expect("base64 key"))
}

/// `plain` as an older release stored it: `v1:` + base64(nonce + ciphertext), no key id.
fn legacy_v1(key: &str, plain: &str) -> String {
    let cipher = ChaCha20Poly1305::new_from_slice(&B64.decode(key).expect("key")).expect("key");
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(&nonce, plain.as_bytes()).expect("seal"));
    format!("v1:{}", B64.encode(out))
}

/// `b24wa rekey` against the app's database with the keys given (only those: nothing inherited).
fn rekey(app: &TestApp, current: &str, previous: &[&str]) -> (Output, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_b24wa"))
        .arg("rekey")
        .env_clear()
        .env("DATABASE_URL", app.settings.database_url())
        .env("B24WA_DATA_DIR", dir.path())
        .env("B24WA_LOG", "warn")
        .env("B24WA_TRANSCRIBE_MODEL", "off")
        .env("B24WA_ENCRYPTION_KEY", current)
        .env("B24WA_ENCRYPTION_PREVIOUS_KEYS", previous.join(","))
        .current_dir(dir.path())
        .output()
        .expect("run b24wa rekey");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// Every secret column's stored value, labelled (empty values, wiped tokens, left out).
async fn stored_secrets(app: &TestApp) -> Vec<(String, String)> {
    use entity::{numbers, portals};
    let db = b24wa::store::connect(&app.settings.database_url())
        .await
        .expect("connect");
    let mut out = Vec::new();
    for p in portals::Entity::find().all(&db).await.expect("portals") {
        for (col, v) in [
            ("access_token_enc", p.access_token_enc),
            ("refresh_token_enc", p.refresh_token_enc),
            ("application_token_enc", p.application_token_enc),
        ] {
            out.push((format!("portals {} {col}", p.id), v));
        }
    }
    for n in numbers::Entity::find().all(&db).await.expect("numbers") {
        for (col, v) in [
            ("access_token_enc", n.access_token_enc),
            ("app_secret_enc", n.app_secret_enc),
            ("verify_token_enc", n.verify_token_enc),
        ] {
            out.push((format!("numbers {} {col}", n.id), v));
        }
    }
    db.close().await.expect("close");
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// A customer's message reaches the open line (the number's app secret checks its signature,
/// the portal's token posts it) and an operator's answer reaches WhatsApp (the portal's
/// application token checks the event, the number's access token sends it).
async fn relays(app: &TestApp, n: &Number, round: u32) {
    let text = format!("question {round}");
    let status = app
        .customer_writes(n, CUSTOMER, &format!("wamid.RK{round}"), &text)
        .await;
    assert_eq!(status, 200, "round {round}: inbound answered {status}");
    let b24 = app.b24.clone();
    let t = text.clone();
    wait_until(15, "the customer's message in Bitrix24", move || {
        b24.customer_messages().iter().any(|m| m.text == t)
    })
    .await;
    let answer = format!("answer {round}");
    let op = app
        .b24
        .operator_write(&n.line, &chat_key(CUSTOMER, n), &answer)
        .await;
    assert_eq!(op.http_status, 200, "round {round}: operator event refused");
    let graph = app.graph.clone();
    wait_until(15, "the operator's answer in WhatsApp", move || {
        graph
            .sent_messages()
            .iter()
            .any(|s| s.text.ends_with(&answer))
    })
    .await;
}

/// `(rewritten, already current)` from the line `<table>: N rewritten, M already under key K`.
fn counts(stdout: &str, table: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{table}: ")))
        .unwrap_or_else(|| panic!("no line for {table} in: {stdout}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

async fn rekey_moves_every_secret_to_the_new_key(backend: Backend) {
    let (kid_a, kid_b) = (kid(KEY_A), kid(KEY_B));
    let mut app = spawn_app_with(backend, BitrixSimConfig::default(), |s| {
        s.encryption_key = Some(secret(KEY_A));
    })
    .await;
    app.install().await;
    let n = app.connect("1", "700100200").await;
    relays(&app, &n, 1).await;
    let stored = stored_secrets(&app).await;
    assert_eq!(stored.len(), 6, "{stored:?}");
    for (what, v) in &stored {
        assert!(v.starts_with(&format!("v2:{kid_a}:")), "{what}: {v}");
    }

    // One value as an older release wrote it (no key id), to be carried over too.
    app.stop().await;
    {
        use entity::numbers;
        let db = b24wa::store::connect(&app.settings.database_url())
            .await
            .expect("connect");
        numbers::Entity::update_many()
            .col_expr(
                numbers::Column::AppSecretEnc,
                Expr::value(legacy_v1(KEY_A, &n.app_secret)),
            )
            .filter(numbers::Column::Id.eq(n.id))
            .exec(&db)
            .await
            .expect("store a v1 value");
        db.close().await.expect("close");
    }

    // B current, A previous: everything written under A still works.
    app.settings.encryption_key = Some(secret(KEY_B));
    app.settings.encryption_previous_keys = vec![secret(KEY_A)];
    app.restart().await;
    relays(&app, &n, 2).await;

    // Without A, rekey cannot read A's values: it says which key is missing (by id, never the
    // key itself), changes nothing it cannot read, and fails.
    let (out, stdout, stderr) = rekey(&app, KEY_B, &[]);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("key {kid_a}")), "{stderr}");
    assert!(
        stderr.contains("numbers") && stderr.contains("portals"),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY_A) && !stdout.contains(KEY_A));
    assert!(!stderr.contains(KEY_B) && !stdout.contains(KEY_B));

    // With A listed, every value is moved to B, while the service runs.
    let (out, stdout, stderr) = rekey(&app, KEY_B, &[KEY_A]);
    assert!(out.status.success(), "{stdout}{stderr}");
    let (portals_rewritten, portals_current) = counts(&stdout, "portals");
    assert_eq!(portals_rewritten + portals_current, 3, "{stdout}");
    assert!(portals_rewritten >= 1, "{stdout}");
    assert_eq!(counts(&stdout, "numbers"), (3, 0), "{stdout}");
    assert!(stdout.contains(&kid_b), "{stdout}");
    // Idempotent: a second run finds every value under B already.
    let (out, stdout, stderr) = rekey(&app, KEY_B, &[KEY_A]);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(counts(&stdout, "portals"), (0, 3), "{stdout}");
    assert_eq!(counts(&stdout, "numbers"), (0, 3), "{stdout}");

    let stored = stored_secrets(&app).await;
    assert_eq!(stored.len(), 6, "{stored:?}");
    for (what, v) in &stored {
        assert!(v.starts_with(&format!("v2:{kid_b}:")), "{what}: {v}");
        assert!(!v.starts_with("v1:") && !v.contains(&kid_a), "{what}: {v}");
    }
    let (status, audit) = app.api_get("/api/v1/audit?action=secrets.rekey").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        audit["items"][0]["target"],
        format!("key:{kid_b}"),
        "{audit}"
    );

    // A leaves the configuration: B alone reads everything.
    app.stop().await;
    app.settings.encryption_previous_keys.clear();
    app.restart().await;
    relays(&app, &n, 3).await;
}
