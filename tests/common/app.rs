//! The service in this process: `spawn_app()` on port 0, stopped gracefully, restarted on the
//! same database and port.

use std::ops::Deref;

use b24wa::{
    config::Settings,
    startup::{Application, Stopper},
};

use super::{Backend, Fixture, Peers};
use crate::sim::BitrixSimConfig;

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

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, BitrixSimConfig::default(), |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    b24_cfg: BitrixSimConfig,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    b24wa::telemetry::init(&std::env::var("B24WA_TEST_LOG").unwrap_or_else(|_| "warn".into()));
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
