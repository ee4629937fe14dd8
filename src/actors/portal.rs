//! PortalActor: one per installed portal. Owns the OAuth tokens (single-flight refresh), the
//! portal's REST rate limit, and the ordered outbox of REST calls with retries. It also routes
//! operator messages line → number.

mod batches;
mod calls;
mod route;
mod settle;

use std::{sync::Arc, time::Duration};

use actix::prelude::*;

pub use crate::bitrix24::session::{PortalSession, RenewError};

use super::{
    messages::{Dispatch, Kick, Owner, Retire, Route},
    outbox::{self, Outbox},
    queue::{low_water, Overflow, Page},
    Ctx,
};
use crate::{
    relay::inbox::InboxItem,
    store::{
        self,
        inbox::{self, Unprocessed},
        jobs, portals,
    },
};

/// Events we bind on every install (and re-bind after an app update).
pub const BOUND_EVENTS: [&str; 7] = [
    "OnImConnectorMessageAdd",
    "OnImConnectorMessageUpdate",
    "OnImConnectorMessageDelete",
    "OnImConnectorStatusDelete",
    "OnImConnectorLineDelete",
    "OnAppUninstall",
    "OnAppUpdate",
];

/// The queue of an install's setup jobs (`http::bitrix24::install::install_portal`).
pub(crate) const SETUP_QUEUE: &str = "setup";

pub struct PortalActor {
    ctx: Ctx,
    id: i64,
    /// The registry, which started this portal: routed operator items go up to it.
    up: Recipient<Dispatch>,
    session: Option<Arc<PortalSession>>,
    runner: outbox::Runner,
    /// Operator items are routed one batch at a time, in arrival order, and only after the
    /// stored backlog (read a page at a time at start) has been routed.
    route_queue: std::collections::VecDeque<Vec<(i64, InboxItem)>>,
    /// Items in `route_queue`, at most `route_queue_cap`.
    queued: usize,
    routing: bool,
    /// Catching up with the stored backlog, or over the cap: live items wait in the inbox.
    overflow: Overflow,
}

impl PortalActor {
    pub fn new(ctx: Ctx, id: i64, up: Recipient<Dispatch>) -> Self {
        Self {
            ctx: ctx.clone(),
            id,
            up,
            session: None,
            runner: outbox::Runner::new(ctx.clone(), "portal", id, jobs::portal_owner(id)),
            route_queue: Default::default(),
            queued: 0,
            routing: false,
            overflow: Overflow::catching_up(),
        }
    }

    fn owner(&self) -> String {
        jobs::portal_owner(self.id)
    }

    /// Queued items changed by `delta` (the gauge follows).
    fn count(&mut self, delta: i64) {
        self.queued = (self.queued as i64 + delta).max(0) as usize;
        crate::metrics::queue_items(crate::metrics::QUEUE_ROUTE, delta);
    }

    /// Routes what was stored for this portal but not handed on (e.g. cut off by a restart,
    /// or left in the inbox over the cap) before anything that arrives later: a page at a
    /// time by id, whenever the queue has drained to its low-water mark.
    fn route_backlog(&mut self, ctx: &mut Context<Self>) {
        let cap = self.ctx.settings.route_queue_cap.max(1);
        if !self.overflow.wants_read(self.queued, low_water(cap))
            || self.ctx.lifecycle.is_stopping()
        {
            return;
        }
        let after = self.overflow.read_started();
        let services = self.ctx.clone();
        let owner = self.owner();
        // Never more than the queue has room for.
        let page = self
            .ctx
            .settings
            .inbox_page
            .clamp(1, cap.saturating_sub(self.queued).max(1) as u64);
        let fut = async move {
            inbox::unprocessed(&services.db, &owner, Unprocessed::After(after), page).await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(rows) => {
                let last = rows.last().map(|r| r.id);
                let at_end = (rows.len() as u64) < page;
                let items: Vec<(i64, InboxItem)> = rows
                    .iter()
                    .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                    .collect();
                act.overflow.read_done(Page { last, at_end });
                if !items.is_empty() {
                    act.count(items.len() as i64);
                    act.route_queue.push_back(items);
                }
                act.next_route(ctx);
                act.route_backlog(ctx);
            }
            Err(e) => {
                act.overflow.read_failed();
                tracing::warn!(portal = act.id, error = %e, "reading the inbox failed; retrying");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.route_backlog(ctx));
            }
        }));
    }

    fn load(&mut self, ctx: &mut Context<Self>) {
        // A session exists: the new tokens go into it, where a runner under way sees them too.
        if let Some(session) = self.session.clone() {
            let fut = async move { session.reload().await };
            ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
                Ok(true) => act.kick(ctx),
                Ok(false) => tracing::info!(
                    portal = act.id,
                    "portal uninstalled; its actor waits for a reinstall"
                ),
                Err(e) => {
                    tracing::warn!(portal = act.id, error = %e, "reloading portal failed; retrying");
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
                }
            }));
            return;
        }
        let services = self.ctx.clone();
        let id = self.id;
        let fut = async move { portals::get(&services.db, id).await };
        // Not `ctx.wait`: that would pause a running job runner that may hold the (SQLite) connection.
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            // A reload that raced this load: it takes the stored tokens again.
            Ok(Some(_)) if act.session.is_some() => act.load(ctx),
            Ok(Some(m)) => match PortalSession::load(
                act.ctx.db.clone(),
                act.ctx.secrets.clone(),
                act.ctx.b24.clone(),
                &act.ctx.settings,
                &m,
            ) {
                Ok(s) => {
                    act.session = Some(Arc::new(s));
                    act.kick(ctx);
                }
                Err(e) => {
                    // Uninstalled (tokens dropped) or unreadable: no calls until a reinstall.
                    act.session = None;
                    if m.installed {
                        tracing::error!(portal = act.id, error = %e, "portal secrets unreadable");
                    } else {
                        tracing::info!(
                            portal = act.id,
                            "portal uninstalled; its actor waits for a reinstall"
                        );
                    }
                }
            },
            Ok(None) => {
                tracing::warn!(portal = act.id, "portal not found; actor stays idle")
            }
            Err(e) => {
                tracing::warn!(portal = act.id, error = %e, "loading portal failed; retrying");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
            }
        }));
    }

    fn kick(&mut self, ctx: &mut Context<Self>) {
        outbox::kick(self, ctx);
    }

    /// The idle-token check: refreshes this portal's tokens when their last refresh is older
    /// than `token_refresh_after_secs` (see `PortalSession::renew_if_idle`). Only the lease
    /// holder, only with a session (an uninstalled portal has no tokens).
    fn check_idle_tokens(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() || !self.ctx.holds(&self.owner()) {
            return;
        }
        let Some(session) = self.session.clone() else {
            return;
        };
        let after_ms = refresh_after_ms(&self.ctx.settings);
        let fut = async move { session.renew_if_idle(after_ms).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, _| match res {
            Ok(true) => tracing::info!(portal = act.id, "idle portal: tokens renewed"),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                portal = act.id,
                error = %e,
                "idle portal: renewing its tokens failed; the next sweep tries again"
            ),
        }));
    }

    /// Re-routes operator messages stored but not yet handed on (crash recovery).
    fn sweep(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() || !self.ctx.holds(&self.owner()) {
            return;
        }
        let services = self.ctx.clone();
        let owner = self.owner();
        // Live items reach their actor directly; the sweep is for items whose dispatch was lost or
        // that had to wait (a receipt before its send), so it looks only at older ones and does
        // not re-route a busy actor's whole backlog each period.
        let before = store::now_ms() - 4 * self.ctx.settings.sweep_ms as i64;
        let fut = async move {
            inbox::unprocessed(&services.db, &owner, Unprocessed::StoredBefore(before), 500).await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            // Catching up (or over the cap) reads everything in order anyway.
            Ok(_) if act.overflow.is_spilled() => {}
            Ok(rows) if !rows.is_empty() => {
                let items = rows
                    .iter()
                    .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                    .collect();
                act.route(items, ctx);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(portal = act.id, error = %e, "inbox sweep failed"),
        }));
    }

    /// Operator messages → the number bound to their line (by the chat id we gave Bitrix24).
    /// Queued up to the cap; the rest wait in the inbox (`route_backlog` reads them back).
    fn route(&mut self, items: Vec<(i64, InboxItem)>, ctx: &mut Context<Self>) {
        let cap = self.ctx.settings.route_queue_cap;
        let mut admitted = Vec::with_capacity(items.len());
        for (inbox_id, item) in items {
            if self
                .overflow
                .admit(inbox_id, self.queued + admitted.len(), cap)
            {
                admitted.push((inbox_id, item));
            } else {
                crate::metrics::queue_spilled(crate::metrics::QUEUE_ROUTE);
            }
        }
        if !admitted.is_empty() {
            self.count(admitted.len() as i64);
            self.route_queue.push_back(admitted);
        }
        self.next_route(ctx);
        self.route_backlog(ctx);
    }

    fn next_route(&mut self, ctx: &mut Context<Self>) {
        if self.routing {
            return;
        }
        let Some(items) = self.route_queue.pop_front() else {
            return;
        };
        self.count(-(items.len() as i64));
        self.routing = true;
        let services = self.ctx.clone();
        let portal_id = self.id;
        let fut = async move { route::route_items(services, portal_id, items).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.routing = false;
            match res {
                Ok(routes) => {
                    for (number_id, batch) in routes {
                        act.up.do_send(Dispatch {
                            owner: Owner::Number(number_id),
                            items: batch,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(portal = act.id, error = %e, "routing failed; the sweep retries")
                }
            }
            act.next_route(ctx);
            act.route_backlog(ctx);
        }));
        ctx.notify(Kick);
    }
}

impl Actor for PortalActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        crate::metrics::actor_started(crate::metrics::ACTOR_PORTAL);
        self.load(ctx);
        self.route_backlog(ctx);
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| {
            act.sweep(ctx);
            act.kick(ctx);
        });
        // Idle tokens: a first check soon after start (jittered, so that many portals started
        // together do not all ask the OAuth server at once), then one per sweep period.
        let every = idle_token_period(&self.ctx.settings);
        ctx.run_later(
            jitter(every.min(IDLE_TOKEN_FIRST_CHECK)),
            move |act, ctx| {
                act.check_idle_tokens(ctx);
                ctx.run_interval(every, |act, ctx| act.check_idle_tokens(ctx));
            },
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Balanced with `started` (a supervised restart calls both).
        crate::metrics::actor_stopped(crate::metrics::ACTOR_PORTAL);
        crate::metrics::queue_cleared(crate::metrics::QUEUE_ROUTE, &mut self.queued);
    }
}

impl Supervised for PortalActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        // Rebuilt from the database in `started`; jobs and inbox items are still stored.
        self.session = None;
        self.runner.reset();
        // `stopped` took the queued items off the gauge.
        self.route_queue.clear();
        self.queued = 0;
        self.routing = false;
        self.overflow = Overflow::catching_up();
    }
}

impl Handler<Kick> for PortalActor {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.kick(ctx);
    }
}

impl Handler<Route> for PortalActor {
    type Result = ();
    fn handle(&mut self, msg: Route, ctx: &mut Self::Context) {
        self.route(msg.items, ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadPortal;

impl Handler<ReloadPortal> for PortalActor {
    type Result = ();
    fn handle(&mut self, _: ReloadPortal, ctx: &mut Self::Context) {
        // The stored tokens changed (install, reinstall, uninstall, app update): the session
        // takes them in place (a runner under way uses them from its next call) and the
        // runner is kicked once they are in. Not dropped for a new one: a runner still holding
        // the old session would go on with the old tokens (dead after a reinstall).
        self.load(ctx);
    }
}

#[cfg(feature = "faults")]
impl Handler<super::messages::ArmFault> for PortalActor {
    type Result = ();
    fn handle(&mut self, msg: super::messages::ArmFault, ctx: &mut Self::Context) {
        outbox::arm(self, msg.0, ctx);
    }
}

/// The latest a portal actor's first idle-token check comes after its start.
const IDLE_TOKEN_FIRST_CHECK: Duration = Duration::from_secs(600);

/// The idle-token sweep's period (`token_sweep_secs`, at least a second).
pub fn idle_token_period(settings: &crate::config::Settings) -> Duration {
    Duration::from_secs(settings.token_sweep_secs.max(1))
}

/// How long after its last refresh an idle portal's tokens are refreshed
/// (`token_refresh_after_secs`), in ms.
pub fn refresh_after_ms(settings: &crate::config::Settings) -> i64 {
    i64::try_from(settings.token_refresh_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    use rand::Rng;
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::thread_rng().gen_range(0..ms))
}

impl Outbox for PortalActor {
    fn runner(&mut self) -> &mut outbox::Runner {
        &mut self.runner
    }

    fn pass(
        &mut self,
    ) -> Option<impl std::future::Future<Output = Result<Option<Duration>, sea_orm::DbErr>> + 'static>
    {
        let calls = calls::Calls {
            services: self.ctx.clone(),
            session: self.session.clone()?,
        };
        let owner = self.owner();
        Some(async move { outbox::drain(&calls.services.clone(), &owner, &calls).await })
    }
}

impl Handler<Retire> for PortalActor {
    type Result = ();
    /// Another node holds this owner's lease now: stop (stored work stays for it).
    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        self.session = None;
        ctx.stop();
    }
}
