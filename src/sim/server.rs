//! The one start-up every simulator shares: a listener on 127.0.0.1:<random port>, an actix-web
//! server with one worker, no signal handling and no grace period, spawned on the caller's actix
//! System; and the small HTTP pieces they all answer with.

use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};

use actix_web::{dev::ServerHandle, http::StatusCode, web, App, HttpServer};

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
pub(crate) struct Loopback {
    listener: TcpListener,
    /// "127.0.0.1:PORT"
    pub(crate) host: String,
    /// "http://127.0.0.1:PORT"
    pub(crate) base: String,
}

impl Loopback {
    /// Bind 127.0.0.1:<random port>.
    pub(crate) fn bind() -> std::io::Result<Self> {
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
    pub(crate) fn serve<F>(self, payload_limit: usize, routes: F) -> std::io::Result<Served>
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

/// A simulator's state, also after a handler panicked while holding it (the test that caused the
/// panic reports it; the other calls go on).
pub(crate) fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a simulator's `start` does with `try_start`'s answer: tests want a panic that says why.
pub(crate) fn or_panic<T>(sim: &str, started: std::io::Result<T>) -> T {
    match started {
        Ok(sim) => sim,
        Err(e) => panic!("{sim} sim: cannot listen on 127.0.0.1: {e}"),
    }
}

/// `status` as an HTTP status code (500 when it is not one).
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
