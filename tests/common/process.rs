//! The real binary: `b24wa serve` as a child process configured by environment variables only
//! (`settings_env`), so a test can SIGKILL it and start it again.

use std::{
    io::Write,
    ops::Deref,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use b24wa::config::Settings;
use secrecy::ExposeSecret;

use super::{Backend, Fixture, Peers};
use crate::sim::BitrixSimConfig;

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
        ("B24WA_B24_OAUTH_HOSTS", s.b24_oauth_hosts.join(",")),
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
        (
            "B24WA_RETENTION_MESSAGES_DAYS",
            s.retention_messages_days.to_string(),
        ),
        (
            "B24WA_RETENTION_MEDIA_DAYS",
            s.retention_media_days.to_string(),
        ),
        (
            "B24WA_RETENTION_WORK_DAYS",
            s.retention_work_days.to_string(),
        ),
        (
            "B24WA_RETENTION_SWEEP_SECS",
            s.retention_sweep_secs.to_string(),
        ),
        ("B24WA_RETENTION_BATCH", s.retention_batch.to_string()),
        (
            "B24WA_UNINSTALL_GRACE_DAYS",
            s.uninstall_grace_days.to_string(),
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
pub(super) fn free_port() -> u16 {
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
    spawn_process_config(backend, BitrixSimConfig::default(), tweak, extra_env).await
}

/// What the benchmarks measure with: no rate limit of ours in the way (the simulated portal has
/// none either; the public limits of tests/limits.rs would turn the load into 429s), a sweep
/// each second, two HTTP workers, errors only in the log.
pub fn unthrottled(s: &mut Settings) {
    s.b24_rate_burst = 100_000.0;
    s.b24_rate_per_sec = 100_000.0;
    s.public_rate_per_ip = 0;
    s.public_rate_per_tenant = 0;
    s.sweep_ms = 1_000;
    s.http_workers = 2;
    s.log = "error".into();
}

/// `spawn_process_with_env` with the Bitrix24 simulator configured by `b24_cfg` (the relay
/// benchmark: no rate limit).
pub async fn spawn_process_config(
    backend: Backend,
    b24_cfg: BitrixSimConfig,
    tweak: impl FnOnce(&mut Settings),
    extra_env: &[(&str, &str)],
) -> ProcessApp {
    let Fixture {
        b24,
        graph,
        dir,
        mut settings,
    } = Fixture::new(backend, b24_cfg).await;
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
    pub(super) async fn launch(
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

    /// The running child's process id (`/proc/<pid>` for the benchmark's CPU and memory).
    pub fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|c| c.id())
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
