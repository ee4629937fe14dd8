//! `spawn_app()`: the service on port 0 with a fresh database (SQLite file or a new PostgreSQL
//! database), wired to fresh Bitrix24 and Cloud API simulators.
//! `spawn_process()`: the same, but the real `b24wa serve` binary as a child process configured
//! by environment variables only, so a test can SIGKILL it and start it again.
#![allow(dead_code)]

pub mod delivery;

use std::{
    io::Write,
    ops::Deref,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use b24wa::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
    startup::{Application, Stopper},
};
use secrecy::{ExposeSecret, SecretString};
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
    drop_test_databases().await;
}

thread_local! {
    /// PostgreSQL databases this test (its thread) created; dropped when it ends well.
    static CREATED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Drops this test's PostgreSQL databases so repeated runs do not pile them up. A failed test
/// keeps its database for a look.
pub async fn drop_test_databases() {
    use sqlx::Connection;
    let names: Vec<String> = CREATED.with(|c| c.borrow_mut().drain(..).collect());
    if names.is_empty() {
        return;
    }
    let admin = std::env::var("DATABASE_TEST_URL").unwrap_or_else(|_| PG_ADMIN_URL.into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        return;
    };
    for name in names {
        // FORCE: the stopped app's pool may still hold idle connections.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What every harness shares: the service's URL, both simulators and an admin API client, with
/// the helpers that drive them (`install`, `connect`, `customer_writes`, ...).
pub struct Peers {
    pub url: String,
    pub b24: BitrixSim,
    pub graph: GraphSim,
    pub token: String,
    pub http: reqwest::Client,
}

/// The service in this process (stopped gracefully by `stop`).
pub struct TestApp {
    pub port: u16,
    pub settings: Settings,
    peers: Peers,
    stopper: Stopper,
    _dir: tempfile::TempDir,
}

impl Deref for TestApp {
    type Target = Peers;
    fn deref(&self) -> &Peers {
        &self.peers
    }
}

pub struct Number {
    pub id: i64,
    pub phone_number_id: String,
    pub line: String,
    pub access_token: String,
    pub app_secret: String,
    pub display_phone: String,
}

pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
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
            CREATED.with(|c| c.borrow_mut().push(name.clone()));
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
    let Fixture {
        b24,
        graph,
        dir,
        mut settings,
    } = Fixture::new(backend, b24_cfg).await;
    settings.port = 0;
    tweak(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let port = app.port();
    let url = app.public_url().to_string();
    let stopper = app.stopper();
    actix_web::rt::spawn(app.run_until_stopped());
    settings.port = port;
    TestApp {
        port,
        settings,
        peers: Peers::new(url, b24, graph),
        stopper,
        _dir: dir,
    }
}

/// Fresh simulators, a data directory, a fresh database and the settings every harness starts
/// from: fixed secrets, the simulators' endpoints, fast retries and sweeps.
struct Fixture {
    b24: BitrixSim,
    graph: GraphSim,
    dir: tempfile::TempDir,
    settings: Settings,
}

impl Fixture {
    async fn new(backend: Backend, b24_cfg: BitrixSimConfig) -> Self {
        let b24 = BitrixSim::start(b24_cfg.clone()).await;
        let graph = GraphSim::start(GraphSimConfig::default()).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Settings::defaults().expect("defaults");
        s.host = "127.0.0.1".into();
        s.data_dir = dir.path().to_path_buf();
        s.database_url = Some(fresh_database(backend, dir.path()).await);
        s.encryption_key = Some(SecretString::from(
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".to_string(),
        ));
        s.jwt_secret = Some(SecretString::from(JWT_SECRET.to_string()));
        s.app_client_id = b24_cfg.client_id.clone();
        s.app_client_secret = SecretString::from(b24_cfg.client_secret.clone());
        s.graph_base_url = graph.base_url();
        s.graph_version = graph.version();
        s.retry_base_ms = 50;
        s.retry_max_ms = 400;
        s.sweep_ms = 300;
        // Generous: a loaded CI machine must not turn a slow answer into a retry (a duplicate).
        s.http_timeout_ms = 5_000;
        s.debug_faults = true;
        s.http_workers = 2;
        // No speech model unless a test asks for one (loading it costs memory per app).
        s.transcribe_model = None;
        s.transcribe_workers = 1;
        // No quotas unless a test sets a plan (the built-in free plan allows one number).
        s.plans
            .insert("free".into(), b24wa::billing::Plan::default());
        Self {
            b24,
            graph,
            dir,
            settings: s,
        }
    }
}

const JWT_SECRET: &str = "test-jwt-secret";

impl Peers {
    /// An admin API client for the service at `url`; the Cloud API simulator's webhooks go there.
    fn new(url: String, b24: BitrixSim, graph: GraphSim) -> Self {
        let token = JwtKeys::new(SecretString::from(JWT_SECRET.to_string()))
            .issue("tester", Role::Support, None, 3600)
            .expect("token");
        graph.set_webhook_url(&format!("{url}/webhooks/whatsapp/cloud"));
        Self {
            url,
            b24,
            graph,
            token,
            http: crate::sim::test_client(),
        }
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
}

impl Peers {
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

/// The environment that configures `b24wa serve` exactly like `s` (README: `B24WA_<FIELD>` for
/// every setting, plus `DATABASE_URL`).
pub fn settings_env(s: &Settings) -> Vec<(String, String)> {
    let mut env = vec![
        ("B24WA_HOST", s.host.clone()),
        ("B24WA_PORT", s.port.to_string()),
        ("B24WA_DATA_DIR", s.data_dir.display().to_string()),
        ("B24WA_APP_CLIENT_ID", s.app_client_id.clone()),
        (
            "B24WA_APP_CLIENT_SECRET",
            s.app_client_secret.expose_secret().to_string(),
        ),
        ("B24WA_CONNECTOR_ID", s.connector_id.clone()),
        ("B24WA_CONNECTOR_NAME", s.connector_name.clone()),
        ("B24WA_GRAPH_BASE_URL", s.graph_base_url.clone()),
        ("B24WA_GRAPH_VERSION", s.graph_version.clone()),
        ("B24WA_B24_RATE_BURST", s.b24_rate_burst.to_string()),
        ("B24WA_B24_RATE_PER_SEC", s.b24_rate_per_sec.to_string()),
        ("B24WA_HTTP_TIMEOUT_MS", s.http_timeout_ms.to_string()),
        ("B24WA_RETRY_BASE_MS", s.retry_base_ms.to_string()),
        ("B24WA_RETRY_MAX_MS", s.retry_max_ms.to_string()),
        ("B24WA_MAX_ATTEMPTS", s.max_attempts.to_string()),
        ("B24WA_CHAT_IDLE_SECS", s.chat_idle_secs.to_string()),
        ("B24WA_SWEEP_MS", s.sweep_ms.to_string()),
        ("B24WA_GATEWAY_POLL_SECS", s.gateway_poll_secs.to_string()),
        ("B24WA_SHUTDOWN_SECS", s.shutdown_secs.to_string()),
        ("B24WA_DEBUG_FAULTS", s.debug_faults.to_string()),
        ("B24WA_HTTP_WORKERS", s.http_workers.to_string()),
        (
            "B24WA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
            s.login_max_failures_per_account.to_string(),
        ),
        (
            "B24WA_LOGIN_MAX_FAILURES_PER_IP",
            s.login_max_failures_per_ip.to_string(),
        ),
        ("B24WA_LOGIN_WINDOW_SECS", s.login_window_secs.to_string()),
        ("B24WA_LOG", s.log.clone()),
        ("B24WA_MEDIA_URL_TTL_SECS", s.media_url_ttl_secs.to_string()),
        ("B24WA_PUBLIC_RATE_PER_IP", s.public_rate_per_ip.to_string()),
        (
            "B24WA_PUBLIC_BURST_PER_IP",
            s.public_burst_per_ip.to_string(),
        ),
        (
            "B24WA_PUBLIC_RATE_PER_TENANT",
            s.public_rate_per_tenant.to_string(),
        ),
        (
            "B24WA_PUBLIC_BURST_PER_TENANT",
            s.public_burst_per_tenant.to_string(),
        ),
        (
            "B24WA_TRUST_FORWARDED_FOR",
            s.trust_forwarded_for.to_string(),
        ),
        (
            "B24WA_TRANSCRIBE_MODEL",
            s.transcribe_model
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "off".into()),
        ),
        ("B24WA_TRANSCRIBE_LANGUAGE", s.transcribe_language.clone()),
        ("B24WA_TRANSCRIBE_THREADS", s.transcribe_threads.to_string()),
        ("B24WA_TRANSCRIBE_WORKERS", s.transcribe_workers.to_string()),
        (
            "B24WA_TRANSCRIBE_MAX_SECONDS",
            s.transcribe_max_seconds.to_string(),
        ),
    ];
    let optional = [
        (
            "B24WA_PLANS",
            (!s.plans.is_empty()).then(|| serde_json::to_string(&s.plans).expect("plans as JSON")),
        ),
        ("DATABASE_URL", s.database_url.clone()),
        ("B24WA_PUBLIC_URL", s.public_url.clone()),
        (
            "B24WA_ENCRYPTION_KEY",
            s.encryption_key
                .as_ref()
                .map(|k| k.expose_secret().to_string()),
        ),
        (
            "B24WA_JWT_SECRET",
            s.jwt_secret.as_ref().map(|k| k.expose_secret().to_string()),
        ),
        (
            "REDIS_URL",
            s.redis_url.as_ref().map(|k| k.expose_secret().to_string()),
        ),
        ("B24WA_NODE_ID", s.node_id.clone()),
        (
            "B24WA_REDIS_PREFIX",
            s.redis_url.as_ref().map(|_| s.redis_prefix.clone()),
        ),
        (
            "B24WA_LEASE_MS",
            s.redis_url.as_ref().map(|_| s.lease_ms.to_string()),
        ),
    ];
    env.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The real binary (`b24wa serve`) as a child process, on a fixed port so that a restart keeps
/// the URL the simulators were given. Killed when dropped; its output (in the data directory)
/// is printed if the test panics.
pub struct ProcessApp {
    pub port: u16,
    pub settings: Settings,
    peers: Peers,
    env: Vec<(String, String)>,
    child: Mutex<Option<Child>>,
    starts: Mutex<u32>,
    log_path: PathBuf,
    dir: tempfile::TempDir,
    /// Runs pinned to this CPU (`taskset`): one core per node, as if each had its machine.
    cpu: Option<usize>,
}

impl Deref for ProcessApp {
    type Target = Peers;
    fn deref(&self) -> &Peers {
        &self.peers
    }
}

/// A port that is free now: bound on 127.0.0.1:0, then released for the child to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

pub async fn spawn_process(backend: Backend) -> ProcessApp {
    // The child logs warnings unless B24WA_TEST_CHILD_LOG asks for more (to debug a failure).
    let level = std::env::var("B24WA_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into());
    spawn_process_logging(backend, &level).await
}

/// `spawn_process` with the child's log filter (e.g. `debug`, to check what logs carry).
pub async fn spawn_process_logging(backend: Backend, level: &str) -> ProcessApp {
    let level = level.to_string();
    spawn_process_with(backend, move |s| s.log = level).await
}

/// `spawn_process` with settings changed by `tweak` (passed to the child as environment).
pub async fn spawn_process_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> ProcessApp {
    spawn_process_with_env(backend, tweak, &[]).await
}

/// `spawn_process_with` plus environment the settings do not cover (e.g. `B24WA_LOG_FORMAT`).
pub async fn spawn_process_with_env(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
    extra_env: &[(&str, &str)],
) -> ProcessApp {
    let Fixture {
        b24,
        graph,
        dir,
        mut settings,
    } = Fixture::new(backend, BitrixSimConfig::default()).await;
    settings.port = free_port();
    settings.debug_faults = false;
    settings.log = std::env::var("B24WA_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into());
    tweak(&mut settings);
    let url = format!("http://{}:{}", settings.host, settings.port);
    let env = settings_env(&settings)
        .into_iter()
        .chain(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .collect();
    ProcessApp::launch(settings, env, Peers::new(url, b24, graph), dir, None).await
}

impl ProcessApp {
    /// The binary configured by `env` (logging into `dir`), started and answering.
    async fn launch(
        settings: Settings,
        env: Vec<(String, String)>,
        peers: Peers,
        dir: tempfile::TempDir,
        cpu: Option<usize>,
    ) -> Self {
        let app = ProcessApp {
            port: settings.port,
            env,
            log_path: dir.path().join("b24wa.log"),
            settings,
            peers,
            child: Mutex::new(None),
            starts: Mutex::new(0),
            dir,
            cpu,
        };
        app.start().await;
        app
    }

    /// Starts the binary and waits until `/healthz` answers.
    async fn start(&self) {
        let n = {
            let mut starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
            *starts += 1;
            *starts
        };
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open the child's log file");
        writeln!(log, "----- b24wa serve, start {n} -----").expect("write the child's log");
        let stderr = log.try_clone().expect("clone the log file handle");
        let mut cmd = match self.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &cpu.to_string(), env!("CARGO_BIN_EXE_b24wa")]);
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_b24wa")),
        };
        let child = cmd
            .arg("serve")
            // Only what we set: no inherited B24WA_*/DATABASE_URL/RUST_LOG, no ./b24wa.toml.
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_BACKTRACE", "1")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn b24wa serve");
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        self.wait_healthy().await;
    }

    /// This process's own address (in a cluster, `url` is the balancer's).
    pub fn node_url(&self) -> String {
        format!("http://{}:{}", self.settings.host, self.port)
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/healthz", self.node_url()))
                .timeout(Duration::from_secs(1))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("b24wa serve exited during startup: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "b24wa serve did not answer /healthz within 20 s"
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown code runs. Returns once the
    /// process is reaped, so nothing it sent can still be on its way out of it.
    pub fn kill(&self) {
        self.try_kill().expect("SIGKILL and reap b24wa");
    }

    fn try_kill(&self) -> std::io::Result<()> {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM (a graceful stop, as an orchestrator sends it) and wait up to `within` for the
    /// process to exit; its exit status, or `None` if it is still running then.
    pub fn terminate(&self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let child = guard.as_mut()?;
        let pid = child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .ok()?;
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                guard.take();
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Starts the binary again on the same database, data directory and port.
    pub async fn restart(&self) {
        self.kill();
        self.start().await;
    }

    /// Everything the child printed so far (all starts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ProcessApp {
    fn drop(&mut self) {
        // Nothing here may panic (a panic while unwinding aborts, and could leave the child).
        let killed = self.try_kill();
        if std::thread::panicking() || killed.is_err() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "===== b24wa output ({}; kill: {killed:?}) =====\n{}===== end of b24wa output =====",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// Several `b24wa serve` processes on one PostgreSQL database and one Redis (under a key prefix
/// of their own), behind a round-robin balancer: the simulators and the tests use only the
/// balancer's URL, as Meta and Bitrix24 would use a load balancer's.
pub struct ProcessCluster {
    pub nodes: Vec<ProcessApp>,
    pub balancer: Balancer,
    pub redis_prefix: String,
    peers: Peers,
    _dir: tempfile::TempDir,
}

impl Deref for ProcessCluster {
    type Target = Peers;
    fn deref(&self) -> &Peers {
        &self.peers
    }
}

pub const REDIS_TEST_URL: &str = "redis://127.0.0.1:6379/";

/// `n` nodes (`node-0`, …) on PostgreSQL and the machine's Redis; `tweak` sees each node's
/// settings (and its index).
pub async fn spawn_cluster(
    n: usize,
    b24_cfg: BitrixSimConfig,
    tweak: impl Fn(usize, &mut Settings),
) -> ProcessCluster {
    spawn_cluster_pinned(n, b24_cfg, tweak, false).await
}

/// `spawn_cluster`; with `pin`, node `i` runs on CPU `i` (modulo the cores): the benchmark's
/// stand-in for one machine per node.
pub async fn spawn_cluster_pinned(
    n: usize,
    b24_cfg: BitrixSimConfig,
    tweak: impl Fn(usize, &mut Settings),
    pin: bool,
) -> ProcessCluster {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let Fixture {
        b24,
        graph,
        dir,
        settings: base,
    } = Fixture::new(Backend::Postgres, b24_cfg).await;
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let balancer = Balancer::start(
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    )
    .await;
    let redis_prefix = format!("b24wa-test-{}", crate::sim::random_hex(6));
    let redis_url = std::env::var("REDIS_TEST_URL").unwrap_or_else(|_| REDIS_TEST_URL.into());
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let mut s = base.clone();
        s.port = *port;
        s.debug_faults = false;
        s.log = std::env::var("B24WA_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into());
        s.public_url = Some(balancer.url.clone());
        s.redis_url = Some(SecretString::from(redis_url.clone()));
        s.redis_prefix = redis_prefix.clone();
        s.node_id = Some(format!("node-{i}"));
        tweak(i, &mut s);
        let node_dir = tempfile::tempdir().expect("tempdir");
        let env = settings_env(&s);
        let peers = Peers::new(balancer.url.clone(), b24.clone(), graph.clone());
        let cpu = pin.then_some(i % cores);
        nodes.push(ProcessApp::launch(s, env, peers, node_dir, cpu).await);
    }
    ProcessCluster {
        nodes,
        peers: Peers::new(balancer.url.clone(), b24, graph),
        balancer,
        redis_prefix,
        _dir: dir,
    }
}

impl ProcessCluster {
    /// `GET /api/v1/cluster` on one node (`None`: it did not answer).
    pub async fn state_on(&self, node: usize) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/api/v1/cluster", self.nodes[node].node_url()))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json().await.ok()
    }
}

/// A round-robin HTTP balancer on 127.0.0.1: each request goes to the next node; a node that
/// refuses the connection is skipped (what a balancer's health check achieves), any other
/// failure is a 502 for the caller to retry, as Meta and Bitrix24 do.
pub struct Balancer {
    pub url: String,
    handle: actix_web::dev::ServerHandle,
}

struct Upstreams {
    nodes: Vec<String>,
    next: std::sync::atomic::AtomicUsize,
    client: reqwest::Client,
}

impl Balancer {
    pub async fn start(nodes: Vec<String>) -> Self {
        use actix_web::{web, App, HttpServer};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the balancer");
        let port = listener.local_addr().expect("balancer address").port();
        let state = web::Data::new(Upstreams {
            nodes,
            next: Default::default(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("balancer client"),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(proxy))
        })
        .workers(2)
        .listen(listener)
        .expect("balancer listens")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            handle,
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        use futures::FutureExt;
        let _ = self.handle.stop(false).now_or_never();
    }
}

async fn proxy(
    req: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    up: actix_web::web::Data<Upstreams>,
) -> actix_web::HttpResponse {
    use actix_web::http::{header, StatusCode};
    let n = up.nodes.len();
    let first = up.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return actix_web::HttpResponse::MethodNotAllowed().finish();
    };
    for k in 0..n {
        let node = &up.nodes[(first + k) % n];
        let mut rb = up
            .client
            .request(method.clone(), format!("{node}{path}"))
            .body(body.clone());
        for (name, value) in req.headers() {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                rb = rb.header(name.as_str(), value.as_bytes());
            }
        }
        match rb.send().await {
            Ok(resp) => {
                let status =
                    StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut out = actix_web::HttpResponse::build(status);
                for (name, value) in resp.headers() {
                    if name.as_str().eq_ignore_ascii_case("transfer-encoding")
                        || name.as_str().eq_ignore_ascii_case("content-length")
                    {
                        continue;
                    }
                    if let (Ok(name), Ok(value)) = (
                        header::HeaderName::from_bytes(name.as_str().as_bytes()),
                        header::HeaderValue::from_bytes(value.as_bytes()),
                    ) {
                        out.append_header((name, value));
                    }
                }
                return match resp.bytes().await {
                    Ok(bytes) => out.body(bytes),
                    Err(_) => actix_web::HttpResponse::BadGateway().finish(),
                };
            }
            // Nothing reached that node: the next one may take it.
            Err(e) if e.is_connect() => continue,
            Err(_) => return actix_web::HttpResponse::BadGateway().finish(),
        }
    }
    actix_web::HttpResponse::BadGateway().finish()
}
