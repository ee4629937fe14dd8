//! `spawn_app()`: the service on port 0 with a fresh database (SQLite file or a new PostgreSQL
//! database), wired to fresh Bitrix24 and Cloud API simulators.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use b24wa::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
    startup::{Application, Stopper},
};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::sim::{BitrixSim, BitrixSimConfig, GraphSim, GraphSimConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `<name>::sqlite` and `<name>::postgres` tests from `async fn <name>(Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
                $crate::common::settle().await;
            }
            #[actix_web::test]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
                $crate::common::settle().await;
            }
        }
    )*};
}

/// After a test: the dropped app has stopped taking new work (`TestApp`'s drop); let queries in
/// flight finish before the runtime goes away (a pooled connection dropped outside the runtime
/// panics).
pub async fn settle() {
    actix_web::rt::time::sleep(Duration::from_millis(150)).await;
}

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestApp {
    pub url: String,
    pub port: u16,
    pub settings: Settings,
    pub b24: BitrixSim,
    pub graph: GraphSim,
    pub token: String,
    pub http: reqwest::Client,
    stopper: Stopper,
    _dir: tempfile::TempDir,
}

pub struct Number {
    pub id: i64,
    pub phone_number_id: String,
    pub line: String,
    pub access_token: String,
    pub app_secret: String,
    pub display_phone: String,
}

async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = std::env::var("DATABASE_TEST_URL").unwrap_or_else(|_| PG_ADMIN_URL.into());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("PostgreSQL at 127.0.0.1:5432 must answer (see .ci/run)");
            let name = format!("b24wa_test_{}", crate::sim::random_hex(8));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin);
            format!("{base}/{name}")
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, BitrixSimConfig::default(), |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    b24_cfg: BitrixSimConfig,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    b24wa::telemetry::init("warn");
    let b24 = BitrixSim::start(b24_cfg.clone()).await;
    let graph = GraphSim::start(GraphSimConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Settings::defaults().expect("defaults");
    s.host = "127.0.0.1".into();
    s.port = 0;
    s.data_dir = dir.path().to_path_buf();
    s.database_url = Some(fresh_database(backend, dir.path()).await);
    s.encryption_key = Some(SecretString::from(
        "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".to_string(),
    ));
    s.jwt_secret = Some(SecretString::from("test-jwt-secret".to_string()));
    s.app_client_id = b24_cfg.client_id.clone();
    s.app_client_secret = SecretString::from(b24_cfg.client_secret.clone());
    s.graph_base_url = graph.base_url();
    s.graph_version = graph.version();
    s.retry_base_ms = 50;
    s.retry_max_ms = 400;
    s.sweep_ms = 300;
    s.http_timeout_ms = 2_000;
    s.debug_faults = true;
    s.http_workers = 2;
    tweak(&mut s);
    let app = Application::build(s.clone()).await.expect("app builds");
    let port = app.port();
    let url = app.public_url().to_string();
    let stopper = app.stopper();
    actix_web::rt::spawn(app.run_until_stopped());
    s.port = port;
    let token = JwtKeys::new(SecretString::from("test-jwt-secret".to_string()))
        .issue("tester", Role::Admin, 3600)
        .expect("token");
    graph.set_webhook_url(&format!("{url}/webhooks/whatsapp/cloud"));
    TestApp {
        url,
        port,
        settings: s,
        b24,
        graph,
        token,
        http: crate::sim::test_client(),
        stopper,
        _dir: dir,
    }
}

/// Polls `f` until it is true or `secs` pass.
pub async fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stopper.halt();
    }
}

impl TestApp {
    /// Stops the service gracefully (no new work; work in flight finishes).
    pub async fn stop(&self) {
        self.stopper.stop().await;
    }

    /// Starts the service again on the same database and port.
    pub async fn restart(&mut self) {
        let app = Application::build(self.settings.clone())
            .await
            .expect("app rebuilds");
        assert_eq!(app.port(), self.port);
        self.stopper = app.stopper();
        actix_web::rt::spawn(app.run_until_stopped());
    }

    /// Installs the app on the simulated portal and waits for connector + event bindings.
    pub async fn install(&self) {
        let status = self
            .b24
            .install_via_event(&format!("{}/bitrix24/install", self.url))
            .await;
        assert_eq!(status, 200, "install answered {status}");
        let b24 = self.b24.clone();
        wait_until(10, "connector registered and events bound", move || {
            !b24.registered_connectors().is_empty() && b24.bindings().len() >= 7
        })
        .await;
    }

    pub async fn connect(&self, line: &str, phone_number_id: &str) -> Number {
        let n = Number {
            id: 0,
            phone_number_id: phone_number_id.into(),
            line: line.into(),
            access_token: format!("EAAG-{}", crate::sim::random_hex(8)),
            app_secret: crate::sim::random_hex(16),
            display_phone: format!("1555000{line}{line}{line}{line}"),
        };
        self.graph.add_number(
            &n.phone_number_id,
            &n.access_token,
            &n.app_secret,
            &n.display_phone,
        );
        let (status, body) = self
            .api_post(
                "/api/v1/numbers",
                json!({
                    "member_id": self.b24.member_id(),
                    "line": line,
                    "phone_number_id": phone_number_id,
                    "display_phone": n.display_phone,
                    "access_token": n.access_token,
                    "app_secret": n.app_secret,
                    "verify_token": "verify-me",
                }),
            )
            .await;
        assert_eq!(status, 201, "connect answered {status}: {body}");
        Number {
            id: body["number"]["id"].as_i64().expect("number id"),
            ..n
        }
    }

    pub async fn api_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("api call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("api call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A customer writes `text` (signed like Meta, to the app-wide callback).
    pub async fn customer_writes(&self, n: &Number, wa_id: &str, wamid: &str, text: &str) -> u16 {
        let body = GraphSim::inbound_text_body(
            &n.phone_number_id,
            &n.display_phone,
            wa_id,
            "Anna Kowalska",
            wamid,
            text,
            crate::sim::unix_now(),
        );
        self.graph.post_signed(&n.phone_number_id, body).await
    }

    /// Texts that reached `imconnector.send.messages` for one customer, in arrival order.
    pub fn texts_in_bitrix(&self, wa_id: &str) -> Vec<String> {
        self.b24
            .customer_messages()
            .into_iter()
            .filter(|m| m.user_id == wa_id)
            .map(|m| m.text)
            .collect()
    }
}

pub fn chat_key(wa_id: &str, n: &Number) -> String {
    format!("{wa_id}@{}", n.phone_number_id)
}
