//! The one start-up every simulator shares: a listener on 127.0.0.1:<random port>, an actix-web
//! server with one worker, no signal handling and no grace period, spawned on the caller's actix
//! System ([`Sim::start`] over a [`Simulated`] state, which each simulator declares in one line
//! with `simulated!`); and the small HTTP pieces they all answer with.

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};

use actix_web::{dev::ServerHandle, http::StatusCode, web, App, HttpRequest, HttpServer};

/// A simulator's running server: its base URL and the handle that stops it.
#[derive(Clone)]
pub(crate) struct Served {
    /// "http://127.0.0.1:PORT"
    pub(crate) base: String,
    handle: ServerHandle,
}

impl Served {
    pub(crate) async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// A simulator's listener, bound but not serving yet (the simulator's state wants its address).
struct Loopback {
    listener: TcpListener,
    /// "127.0.0.1:PORT"
    host: String,
    /// "http://127.0.0.1:PORT"
    base: String,
}

impl Loopback {
    /// Bind 127.0.0.1:<random port>.
    fn bind() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let host = format!("127.0.0.1:{port}");
        let base = format!("http://{host}");
        Ok(Self {
            listener,
            host,
            base,
        })
    }

    /// Serve `routes` (called once per worker: per-worker clients belong there), accepting bodies
    /// up to `payload_limit` bytes. Must run inside an actix System.
    fn serve<F>(self, payload_limit: usize, routes: F) -> std::io::Result<Served>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::PayloadConfig::new(payload_limit))
                .configure(routes.clone())
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(self.listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Ok(Served {
            base: self.base,
            handle,
        })
    }
}

/// What a simulator's state brings to the start-up they share ([`Sim::start`]).
pub trait Simulated: Send + Sized + 'static {
    type Config;
    /// Names the simulator when it cannot listen.
    const NAME: &'static str;
    /// The largest request body it accepts, in bytes.
    const PAYLOAD_LIMIT: usize;
    /// The state of a simulator listening at `base` ("http://127.0.0.1:PORT"), whose host is
    /// `host` ("127.0.0.1:PORT").
    fn new(cfg: Self::Config, base: String, host: String) -> Self;
    /// What the simulator calls our app with (webhooks, events).
    fn client() -> reqwest::Client;
    /// Its routes (called once per worker: per-worker clients belong there); the state is app
    /// data already.
    fn routes(app: &mut web::ServiceConfig);
}

/// [`Simulated`] for a simulator's state, from one line in its module:
/// `State(Config): "name", largest body, client, routes`, and `new = f` when the state needs
/// more than `Self { cfg, base, ..Self::default() }` (`f` takes the configuration, the base URL
/// and the host).
macro_rules! simulated {
    ($state:ident($config:ty): $name:literal, $limit:expr, $client:path, $routes:path) => {
        $crate::sim::server::simulated!($state($config): $name, $limit, $client, $routes,
            new = |cfg, base, _host| $state { cfg, base, ..$state::default() });
    };
    ($state:ident($config:ty): $name:literal, $limit:expr, $client:path, $routes:path,
     new = $new:expr) => {
        impl $crate::sim::Simulated for $state {
            type Config = $config;
            const NAME: &'static str = $name;
            const PAYLOAD_LIMIT: usize = $limit;
            fn new(cfg: $config, base: String, host: String) -> Self {
                let new: fn($config, String, String) -> Self = $new;
                new(cfg, base, host)
            }
            fn client() -> reqwest::Client {
                $client()
            }
            fn routes(app: &mut actix_web::web::ServiceConfig) {
                $routes(app)
            }
        }
    };
}
pub(crate) use simulated;

/// A client that follows no redirect (the Web gateways' webhooks and file fetches).
pub(crate) fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// A running simulator: [`BitrixSim`](super::BitrixSim), [`GatewaySim`](super::GatewaySim),
/// [`GraphSim`](super::GraphSim) and [`EvolutionSim`](super::EvolutionSim) are this over their
/// own state. Clones share the state and the server.
pub struct Sim<S> {
    /// The state, shared with the server's handlers (they take it as `web::Data<Mutex<S>>`).
    pub(super) data: web::Data<Mutex<S>>,
    pub(super) server: Served,
    /// What the simulator calls our app with (webhooks, events).
    pub(super) client: reqwest::Client,
}

// Not derived: that would want `S: Clone`, and only the shared handles are cloned.
impl<S> Clone for Sim<S> {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
            server: self.server.clone(),
            client: self.client.clone(),
        }
    }
}

impl<S: Simulated> Sim<S> {
    /// Start on 127.0.0.1:<random port>. Must run inside an actix System. Panics when it cannot
    /// listen (tests); [`Sim::try_start`] reports that instead.
    pub async fn start(cfg: S::Config) -> Self {
        match Self::try_start(cfg).await {
            Ok(sim) => sim,
            Err(e) => panic!("{} sim: cannot listen on 127.0.0.1: {e}", S::NAME),
        }
    }

    /// Start on 127.0.0.1:<random port>. Must run inside an actix System.
    pub async fn try_start(cfg: S::Config) -> std::io::Result<Self> {
        let listener = Loopback::bind()?;
        let state = S::new(cfg, listener.base.clone(), listener.host.clone());
        let data = web::Data::new(Mutex::new(state));
        let shared = data.clone();
        let server = listener.serve(S::PAYLOAD_LIMIT, move |app| {
            app.app_data(shared.clone());
            S::routes(app);
        })?;
        Ok(Self {
            data,
            server,
            client: S::client(),
        })
    }
}

impl<S> Sim<S> {
    pub async fn stop(&self) {
        self.server.stop().await;
    }

    /// "http://127.0.0.1:PORT": the portal's base, the gateway instances' `apiUrl`, the Graph base
    /// (requests go to `{base}/{version}/...`).
    pub fn base_url(&self) -> String {
        self.server.base.clone()
    }

    /// Polls `f` every 10 ms until true or `timeout`; returns the last result.
    pub async fn wait_for(&self, timeout: std::time::Duration, f: impl Fn(&Self) -> bool) -> bool {
        super::poll_until(timeout, || f(self)).await
    }

    pub(super) fn st(&self) -> MutexGuard<'_, S> {
        lock(&self.data)
    }
}

/// A simulator's state, also after a handler panicked while holding it (the test that caused the
/// panic reports it; the other calls go on).
pub(crate) fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request's `Content-Type` ("" when it has none, or none in text).
pub(crate) fn content_type(req: &HttpRequest) -> &str {
    req.headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
}

/// `status` as an HTTP status code (500 when it is not one).
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
