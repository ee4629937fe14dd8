//! Builds the actor system and the HTTP server. Binds port 0 in tests.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix::{Addr, Supervisor};
use actix_web::{dev::Server, web, App, HttpServer};
use futures::FutureExt;
use secrecy::SecretString;

use crate::{
    actors::{
        registry::Registry,
        transcripts::{SetRegistry, TranscriptRunner},
        Lifecycle, Services,
    },
    auth::JwtKeys,
    bitrix24::B24Client,
    config::Settings,
    http::{self, ApiError, AppState, ErrorCode, Outbound},
    store::{self, crypto},
    whatsapp::cloud::CloudClient,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("media directory: {0}")]
    Media(std::io::Error),
    #[error("speech model: {0}")]
    Transcribe(String),
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// The at-rest encryption keys (current, and previous ones that still decrypt) and the admin JWT
/// secret: configured, or kept in key files under the data directory (created on first start,
/// which the log says).
pub fn load_keys(settings: &Settings) -> Result<(crypto::SecretBox, SecretString), StartupError> {
    let enc = configured_or_file(
        settings,
        &settings.encryption_key,
        "encryption.key",
        "created a new encryption key for secrets at rest; back it up (set B24WA_ENCRYPTION_KEY to share it between nodes)",
    )?;
    let jwt = configured_or_file(
        settings,
        &settings.jwt_secret,
        "jwt.key",
        "created a new admin API token secret",
    )?;
    Ok((
        crypto::SecretBox::with_previous(&enc, &settings.encryption_previous_keys)?,
        jwt,
    ))
}

/// A key as configured, else the one in `file` under the data directory, created (and the log
/// told `created_note`) on first start.
fn configured_or_file(
    settings: &Settings,
    configured: &Option<SecretString>,
    file: &str,
    created_note: &str,
) -> Result<SecretString, StartupError> {
    if let Some(k) = configured {
        return Ok(k.clone());
    }
    let path = settings.data_dir().join(file);
    let (key, created) = crypto::load_or_create_key(&path)?;
    if created {
        tracing::warn!(path = %path.display(), "{created_note}");
    }
    Ok(key)
}

/// Routes mounted before the service's own: the sandbox's (`b24wa sandbox`), never in `serve`.
pub type ExtraRoutes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_routes(settings, None).await
    }

    /// [`Application::build`] with `extra` routes mounted next to the service's.
    pub async fn build_with_routes(
        settings: Settings,
        extra: Option<ExtraRoutes>,
    ) -> Result<Self, StartupError> {
        // Before any actor starts: their gauges count from here.
        crate::metrics::install();
        let mut db = store::connect(&settings.database_url()).await?;
        // Every statement sent, counted: the relay benchmark's statements per message.
        db.set_metric_callback(|info| crate::metrics::db_statement(info.failed));
        store::migrate(&db).await?;
        let (secrets, jwt_secret) = load_keys(&settings)?;
        // Key ids only: they say which keys are in use (rotation) without revealing them.
        tracing::info!(
            kid = secrets.kid(),
            previous = ?secrets.previous_kids(),
            "encryption key for secrets at rest"
        );
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
        let port = listener.local_addr()?.port();
        let public_url = settings
            .public_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("http://{}:{}", settings.host, port))
            .trim_end_matches('/')
            .to_string();
        // Two sets of clients, so actors and handlers never share a pooled connection.
        let Outbound {
            b24,
            graph,
            gateway,
            evolution,
        } = outbound_clients(&settings)?;
        let handler_clients = Arc::new(outbound_clients(&settings)?);
        let media =
            crate::media::LocalStore::new(settings.media_dir()).map_err(StartupError::Media)?;
        let media_http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.media_timeout_secs))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StartupError::Client(e.to_string()))?;
        // The speech model is loaded once, here; without one, voice notes go out untranscribed.
        let transcribe = settings.transcribe();
        let pool = crate::actors::transcriber::start_pool(&transcribe)
            .map_err(|e| StartupError::Transcribe(e.to_string()))?;
        match &pool {
            Some(_) => tracing::info!(
                workers = transcribe.workers,
                language = %transcribe.language,
                "voice transcription on"
            ),
            None => tracing::warn!(
                "voice transcription off: no speech model (run `make model`, or set B24WA_TRANSCRIBE_MODEL)"
            ),
        }
        let settings_shutdown = settings.shutdown_secs;
        let workers = if settings.http_workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            settings.http_workers
        };
        let billing = crate::billing::Billing::new(&settings.plans, settings.quota_cache_secs);
        let cluster = crate::cluster::Cluster::connect(&settings)
            .await?
            .map(Arc::new);
        if let Some(c) = &cluster {
            tracing::info!(
                node = c.node(),
                lease_ms = c.lease().as_millis() as u64,
                "cluster mode: actors are leased through Redis"
            );
        }
        // Group commit, for the chats' transactions and the webhooks' inbox rows: PostgreSQL takes
        // a second group while one commits; SQLite has one connection.
        let runners = match sea_orm::ConnectionTrait::get_database_backend(&db) {
            sea_orm::DbBackend::Postgres => 2,
            _ => 1,
        };
        let txns = store::txn_group::TxnGroup::start(db.clone(), runners);
        let ctx = Arc::new(Services {
            txns,
            db,
            billing,
            settings,
            secrets,
            b24,
            graph,
            gateway,
            evolution,
            media: Arc::new(media),
            media_http,
            transcription: pool.is_some(),
            public_url,
            lifecycle: Lifecycle::default(),
            cluster,
        });
        let runner = pool.map(|pool| {
            let ctx = ctx.clone();
            let width = transcribe.workers;
            Supervisor::start(move |_| TranscriptRunner::new(ctx, pool.recipient(), width))
        });
        let registry_ctx = ctx.clone();
        let registry_runner = runner.clone();
        let registry: Addr<Registry> =
            Supervisor::start(move |_| Registry::new(registry_ctx, registry_runner));
        if let Some(r) = &runner {
            r.do_send(SetRegistry(registry.clone().recipient()));
        }
        crate::actors::retention::start(ctx.clone());
        let limits = Arc::new(http::limits::PublicLimits::from_settings(&ctx.settings));
        let inbox_writer = store::inbox_writer::InboxWriter::start(ctx.db.clone(), runners);
        let state = AppState {
            jwt: JwtKeys::from_settings(&ctx.settings, jwt_secret),
            inbox_writer,
            ctx,
            registry,
            numbers: Default::default(),
            outbound: handler_clients,
            limits,
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(http::access_log::log))
                // Outermost: an error's message in the caller's language (Accept-Language).
                .wrap(actix_web::middleware::from_fn(http::error::localize))
                .app_data(data.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(1 << 20)
                        .error_handler(|err, _| {
                            // serde's own words, inside a sentence of ours.
                            let detail = err.to_string();
                            ApiError::bad_request(ErrorCode::InvalidJson, move |l| {
                                crate::tr!(l, "error-invalid-json", detail = &detail)
                            })
                            .into()
                        }),
                )
                .app_data(web::PayloadConfig::default().limit(4 << 20))
                // The other extractors' refusals are JSON errors too, in the caller's language.
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    let detail = err.to_string();
                    ApiError::not_found(ErrorCode::NotFound, move |l| {
                        crate::tr!(l, "error-bad-path", detail = &detail)
                    })
                    .into()
                }))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    let detail = err.to_string();
                    ApiError::bad_request(ErrorCode::InvalidField, move |l| {
                        crate::tr!(l, "error-bad-query", detail = &detail)
                    })
                    .into()
                }))
                .app_data(web::FormConfig::default().error_handler(|err, _| {
                    let detail = err.to_string();
                    ApiError::bad_request(ErrorCode::InvalidField, move |l| {
                        crate::tr!(l, "error-bad-form", detail = &detail)
                    })
                    .into()
                }))
                .configure(|cfg| {
                    if let Some(extra) = &extra {
                        extra(cfg)
                    }
                })
                .configure(http::routes)
        })
        .workers(workers)
        // Requests in flight get half of the stop deadline; the actors' work the other half.
        .shutdown_timeout(http_drain_secs(settings_shutdown))
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether nobody can log in to the admin app yet (a first start).
    pub async fn has_no_users(&self) -> Result<bool, sea_orm::DbErr> {
        Ok(store::users::count(&self.state.ctx.db).await? == 0)
    }

    pub fn public_url(&self) -> &str {
        &self.state.ctx.public_url
    }

    /// A handle to stop the service gracefully (tests stop and restart it).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let res = self.server.await;
        tracing::info!("HTTP stopped; finishing work in flight");
        state.ctx.lifecycle.shutdown(work_drain(&state)).await;
        release_leases(&state).await;
        tracing::info!("b24wa stopped");
        res
    }
}

#[derive(Clone)]
pub struct Stopper {
    server: actix_web::dev::ServerHandle,
    state: AppState,
}

impl Stopper {
    /// Stops accepting requests, then lets work in flight finish; nothing new starts.
    pub async fn stop(&self) {
        self.server.stop(true).await;
        self.state
            .ctx
            .lifecycle
            .shutdown(work_drain(&self.state))
            .await;
        release_leases(&self.state).await;
    }

    /// Stops new work at once, without waiting (tests call this when an app is dropped).
    pub fn halt(&self) {
        self.state.ctx.lifecycle.begin_stop();
        self.server.stop(false).now_or_never();
    }
}

/// Cluster mode: hands this node's leases back once its work has stopped, so other nodes take
/// its actors over at once instead of after the leases expire.
async fn release_leases(state: &AppState) {
    if let Some(c) = &state.ctx.cluster {
        match c.release_all().await {
            Ok(n) => tracing::info!(leases = n, "cluster: leases released"),
            Err(e) => tracing::warn!(error = %e, "cluster: leases not released; they expire"),
        }
        if let Err(e) = c.announce_leaving().await {
            tracing::warn!(error = %e, "cluster: other nodes not told we left");
        }
    }
}

fn outbound_clients(settings: &Settings) -> Result<Outbound, StartupError> {
    let timeout = Duration::from_millis(settings.http_timeout_ms);
    Ok(Outbound {
        b24: B24Client::new(
            timeout,
            settings.app_client_id.clone(),
            settings.app_client_secret.clone(),
        )
        .map_err(client_error)?,
        graph: CloudClient::new(&settings.graph_base_url, &settings.graph_version, timeout)
            .map_err(client_error)?,
        gateway: crate::whatsapp::gateway::GatewayClient::new(timeout).map_err(client_error)?,
        evolution: crate::whatsapp::evolution::EvolutionClient::new(timeout)
            .map_err(client_error)?,
    })
}

fn client_error(e: impl std::fmt::Display) -> StartupError {
    StartupError::Client(e.to_string())
}

fn http_drain_secs(shutdown_secs: u64) -> u64 {
    (shutdown_secs / 2).max(1)
}

/// What is left of the stop deadline for the actors once HTTP has drained.
fn work_drain(state: &AppState) -> Duration {
    let total = state.ctx.settings.shutdown_secs;
    Duration::from_secs(total.saturating_sub(http_drain_secs(total)).max(1))
}
