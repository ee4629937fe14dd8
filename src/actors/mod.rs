//! The actors: the only owners of mutable runtime state. All are started under actix
//! supervision; a panic inside a handler stops the actor, and its `Supervisor` restarts it from
//! the database (see `guarded`).

pub mod chat;
pub mod media;
pub mod messages;
pub mod number;
pub mod outbox;
pub mod portal;
pub mod queue;
pub mod registry;
pub mod retention;
pub mod templates;
pub mod transcriber;
pub mod transcripts;
pub mod transport;

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
};

use futures::FutureExt;
use sea_orm::DatabaseConnection;

use crate::{
    bitrix24::B24Client,
    config::Settings,
    store::crypto::SecretBox,
    whatsapp::{cloud::CloudClient, gateway::GatewayClient},
};

/// Shared, immutable services every actor and handler uses.
pub struct Services {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub secrets: SecretBox,
    pub b24: B24Client,
    pub graph: CloudClient,
    pub gateway: GatewayClient,
    pub evolution: crate::whatsapp::evolution::EvolutionClient,
    /// Where media files are kept.
    pub media: Arc<dyn crate::media::MediaStore>,
    /// For media downloads and uploads (a longer time limit than API calls).
    pub media_http: reqwest::Client,
    /// Whether voice notes are transcribed (a speech model is loaded).
    pub transcription: bool,
    /// Base URL at which portals and Meta reach us.
    pub public_url: String,
    pub lifecycle: Lifecycle,
    /// Plans and the per-tenant monthly meters their quotas are checked against.
    pub billing: crate::billing::Billing,
    /// Cluster mode (Redis leases); `None` on a single node.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Group commit for the chats' transactions.
    pub txns: crate::store::txn_group::TxnGroup,
}

impl Services {
    /// The Web gateways' clients, for [`transport::WebGateway`].
    pub fn web(&self) -> transport::WebClients<'_> {
        transport::WebClients {
            green: &self.gateway,
            evolution: &self.evolution,
        }
    }

    /// Whether this node may run `owner`'s work (`jobs.owner` key): always on a single node;
    /// in cluster mode only while it holds the owner's lease.
    pub fn holds(&self, owner: &str) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.holds(owner))
    }
}

pub type Ctx = Arc<Services>;

/// Graceful stop: no new work starts once stopping; `shutdown` waits for work in flight.
#[derive(Default)]
pub struct Lifecycle {
    stopping: AtomicBool,
    inflight: AtomicUsize,
    idle: tokio::sync::Notify,
}

pub struct WorkGuard<'a>(&'a Lifecycle);

impl Drop for WorkGuard<'_> {
    fn drop(&mut self) {
        if self.0.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Lifecycle {
    /// Registers a unit of work; `None` once shutdown has begun.
    pub fn enter(&self) -> Option<WorkGuard<'_>> {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let guard = WorkGuard(self);
        if self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        Some(guard)
    }

    /// Stops new work at once without waiting (for a synchronous caller, e.g. a drop).
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Stops new work and waits (at most `within`) until work in flight has finished.
    /// Anything cut off is still stored and resumes on the next start.
    pub async fn shutdown(&self, within: std::time::Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if tokio::time::Instant::now() > deadline {
                tracing::warn!(
                    inflight = self.inflight.load(Ordering::SeqCst),
                    "shutdown did not drain in time"
                );
                return;
            }
            let notified = self.idle.notified();
            if self.inflight.load(Ordering::SeqCst) == 0 {
                return;
            }
            let _ = tokio::time::timeout(std::time::Duration::from_millis(50), notified).await;
        }
    }
}

/// Runs an actor's async work so that a panic becomes `Err` instead of killing the arbiter
/// task; the caller then stops the actor and its Supervisor restarts it.
pub async fn guarded<F, T>(fut: F) -> Result<T, String>
where
    F: Future<Output = T>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Ok(v),
        Err(panic) => Err(panic_message(&*panic)),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// What a debug fault hook asks an actor to do (tests only: the `faults` feature, and
/// `debug_faults` must be on).
#[cfg(feature = "faults")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the handler of the next unit of real work.
    PanicOnNextWork,
}

/// An actor's armed test fault. Without the `faults` feature (every non-test build) it holds
/// nothing and is never armed, and [`fault_point!`] compiles to nothing.
#[derive(Debug, Default)]
pub struct FaultSwitch {
    #[cfg(feature = "faults")]
    armed: Option<Fault>,
}

impl FaultSwitch {
    /// Whether the next unit of work must panic (disarms).
    #[inline]
    pub fn take(&mut self) -> bool {
        #[cfg(feature = "faults")]
        {
            self.armed.take() == Some(Fault::PanicOnNextWork)
        }
        #[cfg(not(feature = "faults"))]
        {
            false
        }
    }

    /// Disarms (a restarted actor starts clean).
    #[inline]
    pub fn clear(&mut self) {
        #[cfg(feature = "faults")]
        {
            self.armed = None;
        }
    }

    #[cfg(feature = "faults")]
    pub fn arm(&mut self, fault: Fault) {
        self.armed = Some(fault);
    }
}

/// Panics with an "injected fault" when `$due` (tests only: with the `faults` feature; without
/// it nothing is compiled).
macro_rules! fault_point {
    ($due:expr, $what:literal) => {{
        #[cfg(feature = "faults")]
        if $due {
            panic!(concat!("injected fault: ", $what));
        }
        #[cfg(not(feature = "faults"))]
        let _ = $due;
    }};
}
pub(crate) use fault_point;
