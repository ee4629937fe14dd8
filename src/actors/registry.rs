//! Registry: finds or starts the supervised actor of a portal or a number, forwards work to it,
//! and periodically starts actors that have stored work (recovery after a restart).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use actix::prelude::*;

mod leases;

use leases::Noted;

pub use super::messages::{Dispatch, Kick, KickOwner, Owner, Reload, Retire, Route};
#[cfg(feature = "faults")]
use super::{messages::ArmFault, Fault};
use super::{number::NumberActor, portal::PortalActor, transcripts::TranscriptRunner, Ctx};
use crate::{
    cluster::{self, Note},
    relay::inbox::InboxItem,
    store::{inbox, jobs},
};

pub struct Registry {
    ctx: Ctx,
    portals: HashMap<i64, Addr<PortalActor>>,
    numbers: HashMap<i64, Addr<NumberActor>>,
    /// Runs stored transcription jobs; `None` when transcription is off (no model).
    transcripts: Option<Addr<TranscriptRunner>>,
    /// Cluster mode: owners another node holds, and when we learnt it.
    remote: HashMap<Owner, (String, Instant)>,
    /// Cluster mode: work waiting while an owner's lease is asked for.
    waiting: HashMap<Owner, Vec<(Work, u8)>>,
    /// Cluster mode: loads of announced inbox items, per owner held here.
    loads: HashMap<Owner, Load>,
    /// Cluster mode: the unprocessed inbox ids a load has routed to each owner's actor here
    /// (the next load reads only the rows of newer ones).
    routed: HashMap<Owner, std::collections::BTreeSet<i64>>,
}

/// Announced inbox items of one owner, loaded from the store one query at a time.
#[derive(Default)]
struct Load {
    busy: bool,
    /// The newest id announced since the last load began.
    wanted: Option<i64>,
}

/// Work for an owner's actor, wherever it lives.
enum Work {
    Dispatch(Vec<(i64, InboxItem)>),
    /// Stored inbox items by id (announced by another node).
    Stored(Vec<i64>),
    Kick,
    Reload,
    #[cfg(feature = "faults")]
    Fault(FaultTarget, Fault),
}

impl Work {
    /// The note that asks the holding node for the same (the work itself is stored).
    fn note(&self, owner: Owner, hops: u8) -> Option<Note> {
        let work = match self {
            Work::Dispatch(items) => cluster::Work::Dispatch {
                ids: items.iter().map(|(id, _)| *id).collect(),
            },
            Work::Stored(ids) => cluster::Work::Dispatch { ids: ids.clone() },
            Work::Kick => cluster::Work::Kick,
            Work::Reload => cluster::Work::Reload,
            // Test hooks act on the node they are sent to.
            #[cfg(feature = "faults")]
            Work::Fault(..) => return None,
        };
        Some(Note {
            owner: owner.key(),
            work,
            hops,
        })
    }
}

/// How long another node is trusted as an owner's holder before Redis is asked again: short,
/// so work stops going to a node that died (its notes are lost; the work waits in the store).
const REMOTE_TTL: Duration = Duration::from_secs(1);

/// A note passed on more often than this is dropped (its work is stored; a sweep finds it).
const MAX_HOPS: u8 = 3;
/// Inbox items loaded at once for a dispatch in cluster mode.
const DISPATCH_PAGE: u64 = 1_000;

/// The actor of `id` in `actors`, started (supervised) by `new` on first use.
fn running<A, F>(actors: &mut HashMap<i64, Addr<A>>, id: i64, new: F) -> Addr<A>
where
    A: Actor<Context = Context<A>> + Supervised,
    F: FnOnce(&mut Context<A>) -> A + 'static,
{
    actors
        .entry(id)
        .or_insert_with(|| Supervisor::start(new))
        .clone()
}

impl Registry {
    pub fn new(ctx: Ctx, transcripts: Option<Addr<TranscriptRunner>>) -> Self {
        Self {
            ctx,
            portals: HashMap::new(),
            numbers: HashMap::new(),
            transcripts,
            remote: HashMap::new(),
            waiting: HashMap::new(),
            loads: HashMap::new(),
            routed: HashMap::new(),
        }
    }

    fn portal(&mut self, id: i64, me: Addr<Registry>) -> Addr<PortalActor> {
        let ctx = self.ctx.clone();
        running(&mut self.portals, id, move |_| {
            PortalActor::new(ctx, id, me.recipient())
        })
    }

    fn number(&mut self, id: i64, me: Addr<Registry>) -> Addr<NumberActor> {
        let ctx = self.ctx.clone();
        running(&mut self.numbers, id, move |_| {
            NumberActor::new(ctx, id, me.recipient())
        })
    }

    /// Work for `owner`: run here on a single node or when this node holds the lease; else
    /// handed to the holder, or the lease taken first if nobody holds it.
    fn deliver(&mut self, owner: Owner, work: Work, ctx: &mut Context<Self>) {
        let Some(cluster) = self.ctx.cluster.clone() else {
            return self.run_here(owner, work, ctx);
        };
        if owner == Owner::Transcriber && self.transcripts.is_none() {
            // Without a speech model this node cannot run them; one with a model will.
            return;
        }
        if cluster.holds(&owner.key()) {
            return self.run_here(owner, work, ctx);
        }
        if self.ctx.lifecycle.is_stopping() {
            // No new leases while stopping (ours are being handed back); the work is stored.
            return;
        }
        if let Some(node) = self.held_elsewhere(owner, &cluster) {
            return self.forward(&node, owner, work, 0);
        }
        self.wait_for_lease(owner, work, 0, ctx);
    }

    /// Starts `owner`'s actor here (it loads its stored work as it starts).
    fn start_here(&mut self, owner: Owner, ctx: &mut Context<Self>) {
        match owner {
            Owner::Portal(id) => {
                self.portal(id, ctx.address());
            }
            Owner::Number(id) => {
                self.number(id, ctx.address());
            }
            Owner::Transcriber => {
                if let Some(t) = &self.transcripts {
                    t.do_send(Kick);
                }
            }
        }
    }

    fn run_here(&mut self, owner: Owner, work: Work, ctx: &mut Context<Self>) {
        let me = ctx.address();
        match work {
            Work::Kick => match owner {
                Owner::Portal(id) => self.portal(id, me).do_send(Kick),
                Owner::Number(id) => self.number(id, me).do_send(Kick),
                Owner::Transcriber => {
                    if let Some(t) = &self.transcripts {
                        t.do_send(Kick);
                    }
                }
            },
            Work::Dispatch(items) if self.ctx.cluster.is_some() => {
                self.dispatch_stored(owner, items.iter().map(|(id, _)| *id).collect(), ctx)
            }
            Work::Stored(ids) => self.dispatch_stored(owner, ids, ctx),
            Work::Dispatch(items) => match owner {
                Owner::Portal(id) => self.portal(id, me).do_send(Route { items }),
                Owner::Number(id) => self.number(id, me).do_send(Route { items }),
                Owner::Transcriber => {}
            },
            Work::Reload => match owner {
                Owner::Portal(id) => self.portal(id, me).do_send(super::portal::ReloadPortal),
                Owner::Number(id) => self.number(id, me).do_send(super::number::ReloadNumber),
                Owner::Transcriber => {}
            },
            #[cfg(feature = "faults")]
            Work::Fault(target, fault) => match target {
                FaultTarget::Portal(id) => self.portal(id, me).do_send(ArmFault(fault)),
                FaultTarget::Number(id) => self.number(id, me).do_send(ArmFault(fault)),
                FaultTarget::Chat { number_id, wa_id } => self
                    .number(number_id, me)
                    .do_send(super::number::ChatFault { wa_id, fault }),
            },
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| act.recover(ctx));
        // Idle portals have no actor after a restart: the idle-token sweep starts the actors of
        // those whose tokens are due (their actor refreshes, on the lease holder), soon after
        // start (deploys may come more often than the period) and then once per period.
        let every = super::portal::idle_token_period(&self.ctx.settings);
        ctx.run_later(every.min(Duration::from_secs(60)), move |act, ctx| {
            act.idle_tokens(ctx);
            ctx.run_interval(every, |act, ctx| act.idle_tokens(ctx));
        });
        if let Some(cluster) = self.ctx.cluster.clone() {
            // Renewals, and a sweep for owners nobody holds (failover) as often.
            ctx.run_interval(cluster.renew_every(), |act, ctx| {
                act.renew(ctx);
                act.recover(ctx);
            });
            // Notes from other nodes for owners this node holds.
            let me = ctx.address();
            let listener = cluster.clone();
            let services = self.ctx.clone();
            actix::spawn(async move {
                let res = listener
                    .listen(
                        |note| me.do_send(Noted(note)),
                        || services.lifecycle.is_stopping() || !me.connected(),
                    )
                    .await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, "cluster: listener stopped");
                }
            });
        }
        self.recover(ctx);
    }
}

impl Registry {
    /// Starts (and kicks) every actor that owns pending jobs or unprocessed inbox items. In
    /// cluster mode: only owners this node holds or nobody holds (a dead node's, after its
    /// leases expired: the failover).
    fn recover(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() {
            return;
        }
        let services = self.ctx.clone();
        let fut = async move {
            let mut owners = jobs::owners_with_pending(&services.db).await?;
            owners.extend(inbox::owners_with_unprocessed(&services.db).await?);
            Ok::<_, sea_orm::DbErr>(owners)
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(owners) => {
                let mut seen = std::collections::HashSet::new();
                for owner in owners.iter().filter_map(|o| Owner::parse(o)) {
                    if !seen.insert(owner) {
                        continue;
                    }
                    if let Some(cluster) = &act.ctx.cluster {
                        if act.held_elsewhere(owner, cluster).is_some()
                            || act.waiting.contains_key(&owner)
                        {
                            continue;
                        }
                    }
                    act.deliver(owner, Work::Kick, ctx);
                }
            }
            Err(e) => tracing::warn!(error = %e, "recovery sweep failed"),
        }));
    }
}

impl Registry {
    /// Wakes the actor of every installed portal whose tokens were last refreshed longer ago
    /// than `token_refresh_after_secs`; each actor checks again and refreshes (see
    /// `PortalSession::renew_if_idle`).
    fn idle_tokens(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() {
            return;
        }
        let services = self.ctx.clone();
        let after_ms = super::portal::refresh_after_ms(&self.ctx.settings);
        let fut = async move {
            let before = crate::store::now_ms().saturating_sub(after_ms);
            crate::store::portals::refreshed_before(&services.db, before).await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(ids) => {
                if !ids.is_empty() {
                    tracing::info!(
                        portals = ids.len(),
                        "idle-token sweep: portals due a refresh"
                    );
                }
                for id in ids {
                    act.deliver(Owner::Portal(id), Work::Kick, ctx);
                }
            }
            Err(e) => tracing::warn!(error = %e, "idle-token sweep failed"),
        }));
    }
}

impl Supervised for Registry {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("registry restarting");
    }
}

impl Handler<KickOwner> for Registry {
    type Result = ();
    fn handle(&mut self, msg: KickOwner, ctx: &mut Self::Context) {
        self.deliver(msg.0, Work::Kick, ctx);
    }
}

impl Handler<Dispatch> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Dispatch, ctx: &mut Self::Context) {
        if msg.owner != Owner::Transcriber {
            self.deliver(msg.owner, Work::Dispatch(msg.items), ctx);
        }
    }
}

impl Handler<Reload> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Reload, ctx: &mut Self::Context) {
        if msg.0 != Owner::Transcriber {
            self.deliver(msg.0, Work::Reload, ctx);
        }
    }
}

/// Debug fault injection (tests only: the `faults` feature).
#[cfg(feature = "faults")]
#[derive(Message)]
#[rtype(result = "bool")]
pub struct InjectFault {
    pub target: FaultTarget,
    pub fault: Fault,
}

#[cfg(feature = "faults")]
#[derive(Debug, Clone)]
pub enum FaultTarget {
    Portal(i64),
    Number(i64),
    Chat { number_id: i64, wa_id: String },
}

#[cfg(feature = "faults")]
impl Handler<InjectFault> for Registry {
    type Result = bool;
    fn handle(&mut self, msg: InjectFault, ctx: &mut Self::Context) -> bool {
        let owner = match &msg.target {
            FaultTarget::Portal(id) => Owner::Portal(*id),
            FaultTarget::Number(id) | FaultTarget::Chat { number_id: id, .. } => Owner::Number(*id),
        };
        self.deliver(owner, Work::Fault(msg.target, msg.fault), ctx);
        true
    }
}
