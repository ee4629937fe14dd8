//! Registry: finds or starts the supervised actor of a portal or a number, forwards work to it,
//! and periodically starts actors that have stored work (recovery after a restart).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use actix::prelude::*;

pub use super::messages::{Dispatch, Kick, KickOwner, Owner, Reload, Retire, Route};
#[cfg(feature = "faults")]
use super::Fault;
use super::{number::NumberActor, portal::PortalActor, transcripts::TranscriptRunner, Ctx};
use crate::{
    cluster::{self, Claim, Note},
    metrics,
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
        }
    }

    fn portal(&mut self, id: i64, me: Addr<Registry>) -> Addr<PortalActor> {
        let ctx = self.ctx.clone();
        self.portals
            .entry(id)
            .or_insert_with(|| {
                Supervisor::start(move |_| PortalActor::new(ctx, id, me.recipient()))
            })
            .clone()
    }

    fn number(&mut self, id: i64, me: Addr<Registry>) -> Addr<NumberActor> {
        let ctx = self.ctx.clone();
        self.numbers
            .entry(id)
            .or_insert_with(|| {
                Supervisor::start(move |_| NumberActor::new(ctx, id, me.recipient()))
            })
            .clone()
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

    /// The node known (recently enough) to hold `owner`'s lease, if another one does.
    fn held_elsewhere(&self, owner: Owner, cluster: &cluster::Cluster) -> Option<String> {
        let ttl = cluster.renew_every().min(REMOTE_TTL);
        self.remote
            .get(&owner)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(node, _)| node.clone())
    }

    fn wait_for_lease(&mut self, owner: Owner, work: Work, hops: u8, ctx: &mut Context<Self>) {
        let first = !self.waiting.contains_key(&owner);
        self.waiting.entry(owner).or_default().push((work, hops));
        if first {
            self.resolve(owner, ctx);
        }
    }

    /// Asks Redis for `owner`'s lease, then runs or forwards the work waiting for it.
    fn resolve(&mut self, owner: Owner, ctx: &mut Context<Self>) {
        let Some(cluster) = self.ctx.cluster.clone() else {
            return;
        };
        let key = owner.key();
        let fut = async move { cluster.acquire(&key).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            let waiting = act.waiting.remove(&owner).unwrap_or_default();
            match res {
                Ok(Claim::Mine { moved_from }) => {
                    act.remote.remove(&owner);
                    if let Some(from) = moved_from {
                        metrics::lease_moved();
                        tracing::info!(owner = %owner.key(), from = %from, "cluster: lease taken over");
                    }
                    // Its stored work is replayed by the actor as it starts.
                    act.start_here(owner, ctx);
                    for (work, _) in waiting {
                        act.run_here(owner, work, ctx);
                    }
                }
                Ok(Claim::Other(node)) => {
                    act.retire(owner);
                    act.remote.insert(owner, (node.clone(), Instant::now()));
                    for (work, hops) in waiting {
                        act.forward(&node, owner, work, hops);
                    }
                }
                Err(e) => {
                    // Stored work is found again by the next sweep.
                    tracing::warn!(owner = %owner.key(), error = %e, "cluster: lease unavailable");
                }
            }
        }));
    }

    fn forward(&mut self, node: &str, owner: Owner, work: Work, hops: u8) {
        let (Some(cluster), Some(note)) = (self.ctx.cluster.clone(), work.note(owner, hops)) else {
            return;
        };
        let node = node.to_string();
        actix::spawn(async move {
            if let Err(e) = cluster.send(&node, &note).await {
                tracing::warn!(node = %node, error = %e, "cluster: note not sent; the holder's sweep finds the work");
            }
        });
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
                FaultTarget::Portal(id) => self
                    .portal(id, me)
                    .do_send(super::portal::PortalFault(fault)),
                FaultTarget::Number(id) => self
                    .number(id, me)
                    .do_send(super::number::NumberFault(fault)),
                FaultTarget::Chat { number_id, wa_id } => self
                    .number(number_id, me)
                    .do_send(super::number::ChatFault { wa_id, fault }),
            },
        }
    }

    /// Cluster mode: routes every stored, unprocessed item of `owner` up to the newest of `ids`,
    /// in id order: an item stored on another node may be announced after a later one stored
    /// here, and each chat must still see them in arrival order. (All of them, not only those
    /// newer than the last load: an operator's message is moved from its portal to its number
    /// with the id it was stored under.) One load per owner at a time; ids announced meanwhile
    /// are served by one more load once it is done.
    fn dispatch_stored(&mut self, owner: Owner, ids: Vec<i64>, ctx: &mut Context<Self>) {
        let Some(max_id) = ids.into_iter().max() else {
            return;
        };
        let load = self.loads.entry(owner).or_default();
        load.wanted = load.wanted.max(Some(max_id));
        if !load.busy {
            self.next_load(owner, ctx);
        }
    }

    fn next_load(&mut self, owner: Owner, ctx: &mut Context<Self>) {
        let Some(load) = self.loads.get_mut(&owner) else {
            return;
        };
        let Some(max_id) = load.wanted.take() else {
            self.loads.remove(&owner);
            return;
        };
        load.busy = true;
        let services = self.ctx.clone();
        let key = owner.key();
        let fut =
            async move { inbox::unprocessed_upto(&services.db, &key, max_id, DISPATCH_PAGE).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok(rows) => {
                    let items: Vec<(i64, InboxItem)> = rows
                        .iter()
                        .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                        .collect();
                    if !items.is_empty() {
                        let me = ctx.address();
                        match owner {
                            Owner::Portal(id) => act.portal(id, me).do_send(Route { items }),
                            Owner::Number(id) => act.number(id, me).do_send(Route { items }),
                            Owner::Transcriber => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(owner = %owner.key(), error = %e, "loading stored items failed; the sweep routes them");
                }
            }
            act.next_load(owner, ctx);
        }));
    }

    /// Stops this node's actor of `owner` (its lease is elsewhere now); stored work stays.
    fn retire(&mut self, owner: Owner) {
        if let Some(c) = &self.ctx.cluster {
            c.forget(&owner.key());
        }
        match owner {
            Owner::Portal(id) => {
                if let Some(a) = self.portals.remove(&id) {
                    a.do_send(Retire);
                }
            }
            Owner::Number(id) => {
                if let Some(a) = self.numbers.remove(&id) {
                    a.do_send(Retire);
                }
            }
            // The runner checks the lease before each job.
            Owner::Transcriber => {}
        }
    }

    /// Cluster mode: renews this node's leases; an owner whose lease was lost stops here.
    fn renew(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = self.ctx.cluster.clone() else {
            return;
        };
        // Renewed while stopping too: work in flight finishes under its lease, which is
        // released once it has (startup::release_leases).
        let fut = async move { cluster.renew().await };
        ctx.spawn(fut.into_actor(self).map(|lost, act, _| {
            for key in lost {
                if let Some(owner) = Owner::parse(&key) {
                    tracing::warn!(owner = %key, "cluster: lease lost; its actor stops here");
                    act.retire(owner);
                }
            }
        }));
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

/// A note from another node (cluster mode).
#[derive(Message)]
#[rtype(result = "()")]
struct Noted(Note);

impl Handler<Noted> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Noted, ctx: &mut Self::Context) {
        let Noted(note) = msg;
        if let cluster::Work::Left { node } = &note.work {
            // Its owners are free now: the next work for them takes their leases here.
            self.remote.retain(|_, (holder, _)| holder != node);
            return;
        }
        let Some(owner) = Owner::parse(&note.owner) else {
            return;
        };
        let work = match note.work {
            // Loaded from the store by id when run (dispatch_stored): only ids travel.
            cluster::Work::Dispatch { ids } => Work::Stored(ids),
            cluster::Work::Kick => Work::Kick,
            cluster::Work::Reload => Work::Reload,
            cluster::Work::Left { .. } => return,
        };
        let holds = self
            .ctx
            .cluster
            .as_ref()
            .is_some_and(|c| c.holds(&owner.key()));
        if holds {
            self.run_here(owner, work, ctx);
        } else if note.hops < MAX_HOPS {
            // The lease moved meanwhile: the next holder gets it (or this node takes it).
            self.remote.remove(&owner);
            self.wait_for_lease(owner, work, note.hops + 1, ctx);
        }
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
