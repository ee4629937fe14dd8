//! Helpers the end-to-end tests share (each tests/*.rs includes `mod common;` and uses
//! `common::…`):
//! - `app`: `spawn_app()`, the service in this process on port 0 with a fresh database (SQLite file
//!   or a new PostgreSQL database), wired to fresh Bitrix24 and Cloud API simulators;
//! - `process`: `spawn_process()`, the same, but the real `b24wa serve` binary as a child process
//!   configured by environment variables only, so a test can SIGKILL it and start it again;
//! - `cluster`: `spawn_cluster()`, several such processes on one database and Redis behind a
//!   round-robin balancer;
//! - `peers`: what every harness shares (the simulators, an admin API client, `install`,
//!   `connect`, `customer_writes`, …) and the settings they start from;
//! - `db`: fresh test databases and their clean-up;
//! - `delivery`: accounting of what the simulators received (crash and soak tests).
#![allow(dead_code)]

mod app;
mod cluster;
mod db;
pub mod delivery;
mod peers;
mod process;

// Each test crate uses only some of the harnesses.
#[allow(unused_imports)]
pub use app::*;
#[allow(unused_imports)]
pub use cluster::*;
#[allow(unused_imports)]
pub use db::*;
#[allow(unused_imports)]
pub use peers::*;
#[allow(unused_imports)]
pub use process::*;

use std::time::{Duration, Instant};

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
