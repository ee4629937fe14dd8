//! `b24wa sandbox`: the service with a simulated Bitrix24 portal and two simulated WhatsApp
//! numbers (the simulators of `crate::sim`, which the tests use), so the relay can be tried
//! without any account. It installs the app on the portal, connects a Web gateway number to Open
//! Line 1 and links it (on GREEN-API, or on Evolution API with `--gateway evolution`: see [`web_number`]), connects a Cloud API number with its account's templates to Open Line 2
//! (see [`cloud`]), and mounts `/sandbox/api/…` (see [`api`]) for the admin web app's page
//! `/admin/sandbox`: a customer's phone on one side, the operator's Open Lines chat on the other.
//!
//! Nothing here is mounted by `b24wa serve`.

pub mod api;
pub mod cloud;
pub mod console;
pub mod evolution;
pub mod green_api;
pub mod view;
pub mod web_number;

pub use web_number::{WebGateway, WebSim};

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use actix_web::web;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
    sim::{
        random_hex, BitrixSim, BitrixSimConfig, EvolutionSimConfig, GatewaySimConfig, GraphSim,
        GraphSimConfig, Sim, Simulated,
    },
    startup::{self, Application, Stopper},
};

/// The simulated customer.
pub const CUSTOMER_PHONE: &str = "79001234567";
pub const CUSTOMER_NAME: &str = "Anna Kowalska";
/// The business's WhatsApp number (the gateway instance's phone).
pub const BUSINESS_PHONE: &str = "79990000000";
/// The Open Line the number is connected to.
pub const LINE: &str = "1";
const INSTANCE: u64 = 7_105_000_001;
/// The Evolution instance's name (`--gateway evolution`).
const EVOLUTION_INSTANCE: &str = "sandbox";
const OPERATOR_NAME: &str = "Maria (operator)";
/// A voice note (OGG/Opus, about 6 s of English speech made by `scripts/speech/say.sh`).
pub const VOICE_SAMPLE: &[u8] = include_bytes!("voice-sample.ogg");
pub const VOICE_SAMPLE_TEXT: &str =
    "Hello! Could you deliver my order to twelve Baker Street tomorrow morning, please?";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("simulator: {0}")]
    Sim(std::io::Error),
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error("admin API token: {0}")]
    Token(String),
    #[error("setting up the sandbox: {0}")]
    Setup(String),
}

/// How the sandbox is set up.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    pub host: String,
    /// 0 = any free port.
    pub port: u16,
    /// Its database, keys and media (a fresh SQLite database `sandbox.db`).
    pub data_dir: PathBuf,
    /// The speech model; `None` = voice notes arrive without a transcript.
    pub transcribe_model: Option<PathBuf>,
    /// Pause before each automatic receipt (sent, delivered, read) of a message sent to the
    /// phone, so the ticks can be watched changing.
    pub receipt_delay: Duration,
    /// Which gateway the Web number on line 1 speaks.
    pub gateway: WebGateway,
}

/// What the sandbox API works on: the two simulators and who is who.
pub struct SandboxState {
    pub b24: BitrixSim,
    /// The Web number's gateway simulator (GREEN-API or Evolution API).
    pub web: WebSim,
    /// Our chat id in Open Lines for the customer (`chat.id` of `imconnector.send.messages`).
    pub chat_id: String,
    pub transcription: bool,
    /// The simulated Cloud API, with the second number ([`cloud::PNID`]).
    pub graph: GraphSim,
    /// The Cloud API number's id in b24wa (set once it is connected).
    pub cloud_number_id: OnceLock<i64>,
    /// Our chat id in Open Lines for the customer on the Cloud API number.
    pub cloud_chat_id: String,
    /// Each "25 hours later" pressed, oldest first.
    pub time_skips: Mutex<Vec<cloud::TimeSkip>>,
}

impl SandboxState {
    pub fn time_skips(&self) -> Vec<cloud::TimeSkip> {
        self.time_skips
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

/// The running sandbox: the service, its simulators and its URL.
pub struct Sandbox {
    url: String,
    state: web::Data<SandboxState>,
    stopper: Stopper,
    server: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl Sandbox {
    /// Starts the simulators and the service (inside the caller's actix System), installs the
    /// app on the portal, connects and links the number. `settings` supplies everything the sandbox
    /// does not set itself (timeouts, log, admin web folder, …).
    pub async fn start(mut settings: Settings, opts: SandboxOptions) -> Result<Self, SandboxError> {
        let b24_cfg = BitrixSimConfig {
            operator_name: OPERATOR_NAME.into(),
            lines: 2,
            ..BitrixSimConfig::default()
        };
        let b24: BitrixSim = started(b24_cfg.clone()).await?;
        let web = start_web_sim(opts.gateway, opts.receipt_delay).await?;
        let graph: GraphSim = started(GraphSimConfig {
            status_delay: opts.receipt_delay,
            auto_statuses: vec!["sent", "delivered", "read"],
            ..GraphSimConfig::default()
        })
        .await?;
        let cloud_token = format!("EAAG{}", random_hex(16));
        let cloud_secret = random_hex(16);
        graph.add_number(cloud::PNID, &cloud_token, &cloud_secret, cloud::PHONE);
        for t in cloud::templates() {
            graph.add_template(t);
        }

        std::fs::create_dir_all(&opts.data_dir)
            .map_err(|e| SandboxError::Setup(format!("{}: {e}", opts.data_dir.display())))?;
        settings.host = opts.host.clone();
        settings.port = opts.port;
        settings.public_url = None;
        settings.data_dir = opts.data_dir.clone();
        settings.media_dir = None;
        settings.database_url = Some(format!(
            "sqlite://{}?mode=rwc",
            opts.data_dir.join("sandbox.db").display()
        ));
        settings.encryption_key = Some(SecretString::from(base64_32()));
        settings.encryption_previous_keys = Vec::new();
        let jwt_secret = SecretString::from(random_hex(32));
        settings.jwt_secret = Some(jwt_secret.clone());
        settings.app_client_id = b24_cfg.client_id.clone();
        settings.app_client_secret = SecretString::from(b24_cfg.client_secret.clone());
        // The simulator is the portal's OAuth server.
        settings.b24_oauth_hosts = url::Url::parse(&b24.server_endpoint())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .into_iter()
            .collect();
        settings.transcribe_model = opts.transcribe_model.clone();
        settings.graph_base_url = graph.base_url();
        // One process on a throwaway SQLite database: never cluster mode.
        settings.redis_url = None;
        // Snappy retries: the simulators answer at once.
        settings.retry_base_ms = 100;
        settings.retry_max_ms = 2_000;
        settings.sweep_ms = 500;
        // No quotas in the sandbox.
        settings
            .plans
            .insert("free".into(), crate::billing::Plan::default());
        let transcription = settings.transcribe().model_path.is_some();

        let chat_id = match &web {
            WebSim::GreenApi { instance, .. } => format!("{CUSTOMER_PHONE}@gw{instance}"),
            WebSim::Evolution { sim, instance } => format!(
                "{CUSTOMER_PHONE}@{}",
                crate::store::numbers::evolution_key(&sim.base_url(), instance)
            ),
        };
        let state = web::Data::new(SandboxState {
            b24: b24.clone(),
            web,
            chat_id,
            transcription,
            graph: graph.clone(),
            cloud_number_id: OnceLock::new(),
            cloud_chat_id: crate::relay::chat_key::chat_key(CUSTOMER_PHONE, cloud::PNID),
            time_skips: Mutex::new(Vec::new()),
        });
        let routes_state = state.clone();
        let routes: startup::ExtraRoutes =
            Arc::new(move |cfg: &mut web::ServiceConfig| api::routes(cfg, routes_state.clone()));
        let jwt = JwtKeys::from_settings(&settings, jwt_secret);
        let app = Application::build_with_routes(settings, Some(routes)).await?;
        let url = app.public_url().to_string();
        let stopper = app.stopper();
        let server = actix_web::rt::spawn(app.run_until_stopped());
        let sandbox = Sandbox {
            url: url.clone(),
            state,
            stopper,
            server,
        };
        let token = jwt
            .issue("sandbox", Role::Support, None, 3600)
            .map_err(|e| SandboxError::Token(e.to_string()))?;
        sandbox.install(&b24).await?;
        sandbox.connect_number(&b24, &token).await?;
        sandbox
            .connect_cloud_number(&graph, &b24, &token, &cloud_token, &cloud_secret)
            .await?;
        Ok(sandbox)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The page to open: `URL/admin/sandbox`.
    pub fn page_url(&self) -> String {
        format!("{}/admin/sandbox", self.url)
    }

    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Runs until the service stops (SIGINT / SIGTERM, or a [`Stopper`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.server.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }

    async fn install(&self, b24: &BitrixSim) -> Result<(), SandboxError> {
        let status = b24
            .install_via_event(&format!("{}/bitrix24/install", self.url))
            .await;
        if status != 200 {
            return Err(SandboxError::Setup(format!(
                "installing the app on the simulated portal answered {status}"
            )));
        }
        let ok = wait(Duration::from_secs(20), || {
            let b24 = b24.clone();
            async move { !b24.registered_connectors().is_empty() && b24.bindings().len() >= 7 }
        })
        .await;
        in_time(
            ok,
            "the connector was not registered on the simulated portal",
        )
    }

    /// Connects the Web number to Open Line 1 through the admin API, as a user would, and
    /// links it: the phone scans the QR.
    async fn connect_number(&self, b24: &BitrixSim, token: &str) -> Result<(), SandboxError> {
        let number_id = match &self.state.web {
            WebSim::GreenApi { sim, instance } => {
                let api_token = random_hex(16);
                sim.add_instance(*instance, &api_token, BUSINESS_PHONE);
                let body = json!({
                    "member_id": b24.member_id(),
                    "line": LINE,
                    "api_url": sim.base_url(),
                    "id_instance": instance.to_string(),
                    "api_token_instance": api_token,
                    "display_phone": BUSINESS_PHONE,
                });
                let number_id = self
                    .connect_via_api(token, "/api/v1/numbers/gateway", body)
                    .await?;
                // The phone scans the QR: the gateway tells us the session is authorized.
                sim.scan_qr(*instance).await;
                number_id
            }
            WebSim::Evolution { sim, instance } => {
                // b24wa creates the instance with the server's global key, as a tenant would.
                let body = json!({
                    "provider": "evolution",
                    "member_id": b24.member_id(),
                    "line": LINE,
                    "base_url": sim.base_url(),
                    "instance": instance,
                    "api_key": sim.global_key(),
                    "display_phone": BUSINESS_PHONE,
                });
                let number_id = self
                    .connect_via_api(token, "/api/v1/numbers/gateway", body)
                    .await?;
                // As the admin app's QR page does: asking for the QR makes Evolution show one.
                let path = format!("/api/v1/numbers/{number_id}/qr");
                let qr = self
                    .api_until(token, &path, |body| body["qr"].is_string())
                    .await;
                in_time(qr, "the Evolution number's QR was not shown")?;
                let showing_qr = sim
                    .wait_for(Duration::from_secs(20), |s| {
                        s.has_instance(instance) && s.state(instance) == "connecting"
                    })
                    .await;
                in_time(showing_qr, "the Evolution instance did not show a QR")?;
                sim.link(instance, BUSINESS_PHONE).await;
                number_id
            }
        };
        let linked = self
            .api_until(token, "/api/v1/numbers", |list| {
                list["items"].as_array().is_some_and(|items| {
                    items.iter().any(|n| {
                        n["id"].as_i64() == Some(number_id) && n["session_state"] == "authorized"
                    })
                })
            })
            .await;
        in_time(linked, "the simulated phone was not linked")
    }
}

/// The Web number's simulator, started: receipts of replies come after `receipt_delay` each.
async fn start_web_sim(
    gateway: WebGateway,
    receipt_delay: Duration,
) -> Result<WebSim, SandboxError> {
    Ok(match gateway {
        WebGateway::GreenApi => {
            let cfg = GatewaySimConfig {
                status_delay: receipt_delay,
                ..GatewaySimConfig::default()
            };
            WebSim::GreenApi {
                sim: started(cfg).await?,
                instance: INSTANCE,
            }
        }
        WebGateway::Evolution => {
            let cfg = EvolutionSimConfig {
                status_delay: receipt_delay,
                ..EvolutionSimConfig::default()
            };
            WebSim::Evolution {
                sim: started(cfg).await?,
                instance: EVOLUTION_INSTANCE.to_string(),
            }
        }
    })
}

/// A simulator started for the sandbox.
async fn started<S: Simulated>(cfg: S::Config) -> Result<Sim<S>, SandboxError> {
    Sim::try_start(cfg).await.map_err(SandboxError::Sim)
}

impl Sandbox {
    /// Connects the Cloud API number to Open Line 2 with its account, points the simulated
    /// WhatsApp's webhooks at it, and waits for the templates to be synced.
    async fn connect_cloud_number(
        &self,
        graph: &GraphSim,
        b24: &BitrixSim,
        token: &str,
        access_token: &str,
        app_secret: &str,
    ) -> Result<(), SandboxError> {
        let body = json!({
            "member_id": b24.member_id(),
            "line": cloud::LINE,
            "phone_number_id": cloud::PNID,
            "display_phone": cloud::PHONE,
            "access_token": access_token,
            "app_secret": app_secret,
            "verify_token": random_hex(8),
            "waba_id": graph.waba_id(),
        });
        let number_id = self.connect_via_api(token, "/api/v1/numbers", body).await?;
        let _ = self.state.cloud_number_id.set(number_id);
        graph.set_webhook_url(&format!(
            "{}/webhooks/whatsapp/cloud/{}",
            self.url,
            cloud::PNID
        ));
        let want = cloud::templates().len();
        let path = format!("/api/v1/numbers/{number_id}/templates");
        let synced = self
            .api_until(token, &path, |body| {
                body["templates"].as_array().map(Vec::len) == Some(want)
            })
            .await;
        in_time(synced, "the Cloud API number's templates were not synced")
    }
}

impl Sandbox {
    /// Connects a number through the admin API (`path`, as a user would): its id.
    async fn connect_via_api(
        &self,
        token: &str,
        path: &str,
        body: Value,
    ) -> Result<i64, SandboxError> {
        let r = crate::sim::test_client()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        body["number"]["id"]
            .as_i64()
            .filter(|_| status == 201)
            .ok_or_else(|| {
                SandboxError::Setup(format!(
                    "POST {path} for a simulated number answered {status}: {body}"
                ))
            })
    }

    /// Reads `path` of the admin API every 50 ms until `done` says so (`true`), for at most 20 s
    /// (`false`).
    async fn api_until(&self, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> bool {
        let http = crate::sim::test_client();
        let url = format!("{}{path}", self.url);
        let done = &done;
        wait(Duration::from_secs(20), || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let Ok(r) = http.get(url).bearer_auth(token).send().await else {
                    return false;
                };
                done(&r.json().await.unwrap_or(Value::Null))
            }
        })
        .await
    }
}

/// A setup step's outcome: `done`, or the error that says `what` did not happen in time (the
/// polls' 20 s).
fn in_time(done: bool, what: &str) -> Result<(), SandboxError> {
    if done {
        Ok(())
    } else {
        Err(SandboxError::Setup(format!("{what} within 20 s")))
    }
}

/// Polls `f` every 50 ms until it is true (`true`) or `within` has passed (`false`).
async fn wait<F, Fut>(within: Duration, f: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh random 32-byte key, base64 (the encryption key of the sandbox's throwaway data).
fn base64_32() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}
