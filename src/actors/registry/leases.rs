//! The registry in cluster mode: which node holds an owner's lease, waiting for a lease or
//! forwarding work to its holder, loading announced inbox items by id, giving up owners whose
//! lease moved, renewing the leases held here, and notes from other nodes.

use std::time::Instant;

use actix::prelude::*;

use super::{Registry, Work, DISPATCH_PAGE, MAX_HOPS, REMOTE_TTL};
use crate::{
    actors::messages::{Owner, Retire, Route},
    cluster::{self, Claim, Note},
    metrics,
    relay::inbox::InboxItem,
    store::inbox,
};

impl Registry {
    /// The node known (recently enough) to hold `owner`'s lease, if another one does.
    pub(super) fn held_elsewhere(
        &self,
        owner: Owner,
        cluster: &cluster::Cluster,
    ) -> Option<String> {
        let ttl = cluster.renew_every().min(REMOTE_TTL);
        self.remote
            .get(&owner)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(node, _)| node.clone())
    }

    pub(super) fn wait_for_lease(
        &mut self,
        owner: Owner,
        work: Work,
        hops: u8,
        ctx: &mut Context<Self>,
    ) {
        let first = !self.waiting.contains_key(&owner);
        self.waiting.entry(owner).or_default().push((work, hops));
        if first {
            self.resolve(owner, ctx);
        }
    }

    /// Asks Redis for `owner`'s lease, then runs or forwards the work waiting for it.
    pub(super) fn resolve(&mut self, owner: Owner, ctx: &mut Context<Self>) {
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

    pub(super) fn forward(&mut self, node: &str, owner: Owner, work: Work, hops: u8) {
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

    /// Cluster mode: routes every stored, unprocessed item of `owner` up to the newest of `ids`,
    /// in id order: an item stored on another node may be announced after a later one stored
    /// here, and each chat must still see them in arrival order. (All of them, not only those
    /// newer than the last load: an operator's message is moved from its portal to its number
    /// with the id it was stored under.) One load per owner at a time; ids announced meanwhile
    /// are served by one more load once it is done.
    pub(super) fn dispatch_stored(&mut self, owner: Owner, ids: Vec<i64>, ctx: &mut Context<Self>) {
        let Some(max_id) = ids.into_iter().max() else {
            return;
        };
        let load = self.loads.entry(owner).or_default();
        load.wanted = load.wanted.max(Some(max_id));
        if !load.busy {
            self.next_load(owner, ctx);
        }
    }

    pub(super) fn next_load(&mut self, owner: Owner, ctx: &mut Context<Self>) {
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
        let routed = self.routed.get(&owner).cloned().unwrap_or_default();
        let fut = async move {
            inbox::unprocessed_unrouted(&services.db, &key, max_id, DISPATCH_PAGE, &routed).await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok((seen, rows)) => {
                    // Every unprocessed id seen is routed now (before, or below); one no longer
                    // seen was processed.
                    act.routed.insert(owner, seen.into_iter().collect());
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
    pub(super) fn retire(&mut self, owner: Owner) {
        self.routed.remove(&owner);
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
    pub(super) fn renew(&mut self, ctx: &mut Context<Self>) {
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

/// A note from another node (cluster mode).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Noted(pub(super) Note);

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
