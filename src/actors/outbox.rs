//! The outbox loop the portal and number actors share. An owner's stored jobs are drained by
//! one runner at a time: each pass takes the due jobs (`store::jobs::runnable`), lets the owner
//! run one wave of them in the order its queues require (the portal batches REST calls, the
//! number sends one job per chat in parallel) and settle each (done, retried later with
//! backoff, or dead), until none is due; then it sleeps until the next one falls due. A kick
//! while a pass runs asks for another; a failed pass is tried again shortly; a panic stops the
//! actor and its supervisor restarts it from the database.

use std::{future::Future, time::Duration};

use actix::prelude::*;
use sea_orm::DbErr;

use super::{guarded, Ctx, FaultSwitch};
use crate::store::{self, jobs};

/// What an owner does with its due jobs.
pub trait Drain: Send + Sync + 'static {
    /// Whether jobs may run now; `false`: they wait for a kick (an uninstalled portal, a
    /// number whose session is gone).
    fn ready(&self) -> impl Future<Output = Result<bool, DbErr>> + Send;

    /// Narrows the pending jobs this pass may take (the portal: an install's setup first).
    fn select(&self, _pending: &mut Vec<entity::jobs::Model>) {}

    /// Runs one wave of due jobs and settles each; `false` ends the pass until the next kick.
    fn wave(
        &self,
        runnable: Vec<&entity::jobs::Model>,
    ) -> impl Future<Output = Result<bool, DbErr>> + Send;
}

/// Runs `owner`'s due jobs until none is left; answers when the next one falls due.
pub async fn drain<D: Drain>(
    services: &Ctx,
    owner: &str,
    d: &D,
) -> Result<Option<Duration>, DbErr> {
    loop {
        let Some(_guard) = services.lifecycle.enter() else {
            return Ok(None);
        };
        if !d.ready().await? {
            return Ok(None);
        }
        let mut pending = jobs::pending(&services.db, owner, 1000).await?;
        d.select(&mut pending);
        let now = store::now_ms();
        let runnable = jobs::runnable(&pending, now + jobs::COALESCE_MS);
        if runnable.is_empty() {
            return Ok(jobs::next_wake(&pending, now));
        }
        if !d.wave(runnable).await? {
            return Ok(None);
        }
    }
}

/// The runner's state in the actor that owns the outbox.
pub struct Runner {
    services: Ctx,
    /// How logs name the owner (`number`, `portal`), and its id.
    kind: &'static str,
    id: i64,
    /// The owner key of its jobs (`number:<id>`, `portal:<id>`).
    owner: String,
    draining: bool,
    again: bool,
    fault: FaultSwitch,
}

impl Runner {
    pub fn new(services: Ctx, kind: &'static str, id: i64, owner: String) -> Self {
        Self {
            services,
            kind,
            id,
            owner,
            draining: false,
            again: false,
            fault: FaultSwitch::default(),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// A restarted actor starts with no pass running.
    pub fn reset(&mut self) {
        self.draining = false;
        self.again = false;
        self.fault.clear();
    }
}

/// An actor that owns an outbox.
pub trait Outbox: Actor<Context = Context<Self>> {
    fn runner(&mut self) -> &mut Runner;
    /// A pass with what it needs now; `None` while there is nothing to run it with.
    fn pass(&mut self) -> Option<impl Future<Output = Result<Option<Duration>, DbErr>> + 'static>;
}

macro_rules! log_owner {
    ($lvl:ident, $kind:expr, $id:expr, $($rest:tt)*) => {
        if $kind == "number" {
            tracing::$lvl!(number = $id, $($rest)*)
        } else {
            tracing::$lvl!(portal = $id, $($rest)*)
        }
    };
}

/// Arms `fault` for the next pass, starting one when none runs so that it fires even when idle.
#[cfg(feature = "faults")]
pub fn arm<A: Outbox>(act: &mut A, fault: super::Fault, ctx: &mut Context<A>) {
    act.runner().fault.arm(fault);
    if !act.runner().draining {
        kick(act, ctx);
    }
}

/// Starts a pass over the actor's outbox, or asks the running one for another.
pub fn kick<A: Outbox>(act: &mut A, ctx: &mut Context<A>) {
    // Cluster mode: only the lease holder runs this owner's jobs.
    let r = act.runner();
    if !r.services.holds(&r.owner) {
        return;
    }
    if act.runner().draining {
        act.runner().again = true;
        return;
    }
    let Some(pass) = act.pass() else {
        return;
    };
    let runner = act.runner();
    runner.draining = true;
    runner.again = false;
    let fault = runner.fault.take();
    let fut = guarded(async move {
        super::fault_point!(fault, "an actor panics in its job runner");
        pass.await
    });
    ctx.spawn(fut.into_actor(act).map(|res, act, ctx| {
        let r = act.runner();
        r.draining = false;
        let (kind, id) = (r.kind, r.id);
        match res {
            Err(panic) => {
                log_owner!(error, kind, id, panic = %panic, "{kind} actor panicked; restarting");
                ctx.stop();
            }
            Ok(Err(e)) => {
                log_owner!(warn, kind, id, error = %e, "job runner failed; retrying");
                ctx.run_later(Duration::from_millis(500), |act, ctx| kick(act, ctx));
            }
            Ok(Ok(next)) => {
                if act.runner().again {
                    kick(act, ctx);
                } else if let Some(delay) = next {
                    ctx.run_later(delay, |act, ctx| kick(act, ctx));
                }
            }
        }
    }));
}
