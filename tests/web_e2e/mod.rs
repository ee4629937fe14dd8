//! The admin app's browser tests' harness (tests/admin_web.rs, tests/admin_web_ru.rs): what they
//! need (Node.js, admin-web/node_modules and dist, Chromium) or a panic that says how to get it,
//! the service with the real build, a scenario of admin-web/e2e/admin.mjs run to its verdict, and
//! the API look-ups the tests share. Each test crate uses only some of it.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant, SystemTime},
};

use b24wa::http::api::{
    auth::Role,
    users::{create_user, NewUserSpec},
};
use secrecy::SecretString;
use serde_json::Value;

use crate::common::{spawn_app_with, Backend, TestApp};
use crate::sim::BitrixSimConfig;

pub const PASSWORD: &str = "Correct-Horse-Battery-42";

pub fn web_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("admin-web")
}

/// What the browser tests need, or a panic that says how to get it.
pub struct Browser {
    pub node: String,
    pub chromium: String,
}

fn newest_mtime(path: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_file() {
            return meta.modified().unwrap_or(newest);
        }
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            newest = newest.max(newest_mtime(&e.path()));
        }
    }
    newest
}

pub fn browser() -> Browser {
    let web = web_root();
    let node = std::env::var("B24WA_NODE").unwrap_or_else(|_| "node".into());
    let version = Command::new(&node).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "Node.js (`{node}`) is needed for the admin web e2e tests: install Node.js 20+"
    );
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "admin-web/node_modules is missing: run `make web` (npm ci in admin-web/)"
    );
    let chromium = std::env::var("B24WA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install -y chromium` (.ci/run does), or set B24WA_CHROMIUM"
    );
    let index = web.join("dist/index.html");
    assert!(
        index.is_file(),
        "admin-web/dist is missing: run `make web` (npm ci + vite build)"
    );
    // A build older than its sources would test yesterday's app.
    let built = newest_mtime(&index);
    let sources = ["src", "index.html", "vite.config.ts", "package-lock.json"]
        .iter()
        .map(|p| newest_mtime(&web.join(p)))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    assert!(
        built >= sources,
        "admin-web/dist is older than admin-web/src: run `make web` again"
    );
    Browser { node, chromium }
}

pub fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// The service with the real build, as the browser tests use it.
pub async fn app_with_web(tweak: impl FnOnce(&mut b24wa::config::Settings)) -> TestApp {
    let dist = web_root().join("dist");
    spawn_app_with(Backend::Sqlite, BitrixSimConfig::default(), move |s| {
        s.admin_web_dir = dist;
        tweak(s);
    })
    .await
}

/// Runs one scenario of admin-web/e2e/admin.mjs; `meanwhile` is called every 100 ms while it
/// runs (to play the phone's part). Panics with the script's verdict if it fails.
pub async fn run_e2e<F, Fut>(b: &Browser, config: Value, mut meanwhile: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let scenario = config["scenario"].as_str().unwrap_or("?").to_string();
    let mut child = Command::new(&b.node)
        .arg("e2e/admin.mjs")
        .current_dir(web_root())
        .env("B24WA_E2E", config.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node e2e/admin.mjs");
    // The service runs on this test's runtime: wait without blocking it.
    let deadline = Instant::now() + Duration::from_secs(150);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("e2e scenario {scenario} took over 150 s");
        }
        meanwhile().await;
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "e2e scenario {scenario} failed ({status}); see its output above and target/screenshots/{scenario}-FAILED.png"
    );
}

pub fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The tenant the install created (id, name).
pub async fn install_tenant(app: &TestApp) -> (i64, String) {
    let (s, v) = app.api_get("/api/v1/tenants").await;
    assert_eq!(s, 200, "{v}");
    let t = &items(&v)[0];
    (
        t["id"].as_i64().expect("tenant id"),
        t["name"].as_str().expect("tenant name").to_string(),
    )
}

/// A support or billing user, as `b24wa user create` makes them.
pub async fn global_user(app: &TestApp, email: &str, role: Role) {
    let db = sea_orm::Database::connect(app.settings.database_url())
        .await
        .expect("connect to the test database");
    create_user(
        &db,
        "e2e",
        NewUserSpec {
            email: email.into(),
            password: SecretString::from(PASSWORD.to_string()),
            role,
            tenant_id: None,
        },
    )
    .await
    .expect("create user");
    db.close().await.expect("close");
}

/// Polls the API until `f` holds for the answer to `path`.
pub async fn wait_api(app: &TestApp, path: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, v) = app.api_get(path).await;
        if f(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}
