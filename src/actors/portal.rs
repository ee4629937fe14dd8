//! PortalActor: one per installed portal. Owns the OAuth tokens (single-flight refresh), the
//! portal's REST rate limit, and the ordered outbox of REST calls with retries. It also routes
//! operator messages line → number.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix::prelude::*;
use futures::future::join_all;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::{
    guarded,
    queue::{low_water, Overflow, Page},
    registry::{Dispatch, Kick, Owner, Registry, Route},
    Ctx, Fault,
};
use crate::{
    bitrix24::{client::messages_params, rate::LeakyBucket, B24Error},
    store::{
        self, chats, inbox,
        inbox::InboxItem,
        jobs::{self, Job},
        messages, numbers, portals, StoreError,
    },
};
use sea_orm::TransactionTrait;
use tracing::Instrument;

use crate::metrics::Settled;

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
const SETUP_QUEUE: &str = "setup";

/// At most this many items per imconnector call (Bitrix24 batches are ≤ 50).
const BATCH: usize = 50;

struct Tokens {
    access: SecretString,
    refresh: SecretString,
    /// The OAuth server's REST base (it comes with the tokens, from the install).
    server_endpoint: String,
    /// Bumped whenever the pair in hand changes (a refresh, or newer stored tokens taken).
    generation: u64,
    /// Bumped whenever newer stored tokens were taken (reinstall, app update, another node).
    syncs: u64,
    /// Why no call can be made with these tokens; cleared when new ones are stored (reinstall).
    blocked: Option<Blocked>,
    /// When this session got the pair in hand from the OAuth server (`None`: from the store).
    refreshed_at: Option<Instant>,
}

#[derive(Clone)]
enum Blocked {
    /// The app was uninstalled: no tokens.
    Uninstalled,
    /// The OAuth server refused the refresh (its error): the portal needs re-authorisation.
    Reauth(String),
}

impl Blocked {
    fn error(&self) -> B24Error {
        match self {
            Blocked::Uninstalled => B24Error::NotInstalled,
            Blocked::Reauth(why) => B24Error::NeedsReauth(why.clone()),
        }
    }
}

/// A pair this young that the portal rejects with a code other than `expired_token` is not
/// refreshed again: a new one would not fare better, and refreshing per call gets an app
/// blocked by the OAuth server (bitrix24-crm §5).
const FRESH_PAIR: Duration = Duration::from_secs(60);

/// What comparing the tokens in hand with the stored ones found.
enum Synced {
    /// The same pair.
    Same,
    /// Newer stored tokens (a reinstall, an app update, a refresh on another node): taken.
    Replaced,
    /// The portal is uninstalled (or gone): nothing can be called.
    Uninstalled,
}

/// How an auth failure was answered.
#[derive(PartialEq)]
enum Renewal {
    /// Another caller's refresh put a new pair in hand: try again.
    Replaced,
    /// Refreshed through the OAuth server: try again, once.
    Refreshed,
    /// Nothing worth doing: the call's error stands.
    GiveUp,
}

/// Renewing an idle portal's tokens failed (the next sweep tries again).
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("reading the portal failed: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Refresh(#[from] B24Error),
}

/// A portal's live session: endpoints, tokens and rate limiter. One per actor, for its whole
/// life: a reload (install, reinstall, uninstall, app update) replaces the tokens inside it, so
/// a job runner already under way uses the new ones from its next call.
pub struct PortalSession {
    ctx: Ctx,
    portal_id: i64,
    client_endpoint: Mutex<String>,
    tokens: tokio::sync::Mutex<Tokens>,
    bucket: Mutex<LeakyBucket>,
}

impl PortalSession {
    fn load(ctx: &Ctx, m: &entity::portals::Model) -> Result<Self, StoreError> {
        let s = portals::secrets(&ctx.secrets, m)?;
        Ok(Self {
            ctx: ctx.clone(),
            portal_id: m.id,
            client_endpoint: Mutex::new(s.client_endpoint),
            tokens: tokio::sync::Mutex::new(Tokens {
                access: s.access_token,
                refresh: s.refresh_token,
                server_endpoint: s.server_endpoint,
                generation: 0,
                syncs: 0,
                blocked: (!m.installed).then_some(Blocked::Uninstalled),
                refreshed_at: None,
            }),
            bucket: Mutex::new(LeakyBucket::new(
                ctx.settings.b24_rate_burst,
                ctx.settings.b24_rate_per_sec,
            )),
        })
    }

    async fn acquire(&self, cost: f64) {
        loop {
            let wait = match self.bucket.lock() {
                Ok(mut b) => match b.try_take(cost, Instant::now()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                },
                Err(_) => return,
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn endpoint(&self) -> String {
        self.client_endpoint
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// Why nothing can be called now (uninstalled, or waiting for a re-authorisation).
    async fn blocked(&self) -> Option<Blocked> {
        self.tokens.lock().await.blocked.clone()
    }

    /// One REST call, rate-limited. When the portal does not accept the access token (401):
    /// first the stored tokens, if they are newer than ours (a reinstall or another node's
    /// refresh replaced them); then at most one refresh, after which the call is repeated.
    /// A refused refresh blocks the session until new tokens are stored (`NeedsReauth`).
    pub async fn call(&self, method: &str, params: &Value) -> Result<Value, B24Error> {
        let mut renewals = 0;
        let mut refreshed = false;
        loop {
            self.acquire(1.0).await;
            let (token, seen) = {
                let t = self.tokens.lock().await;
                if let Some(b) = &t.blocked {
                    return Err(b.error());
                }
                (t.access.clone(), (t.generation, t.syncs))
            };
            let res = self
                .ctx
                .b24
                .call(&self.endpoint(), &token, method, params)
                .await;
            let res = match res {
                Ok((v, Some(moved))) => {
                    self.moved_to(&moved).await;
                    Ok(v)
                }
                Ok((v, None)) => Ok(v),
                Err(e) => Err(e),
            };
            match res {
                Err(e) if e.is_auth() && !refreshed && renewals < 2 => {
                    renewals += 1;
                    match self.renew(seen, &e).await? {
                        Renewal::Replaced => {}
                        Renewal::Refreshed => refreshed = true,
                        Renewal::GiveUp => return Err(e),
                    }
                }
                Err(B24Error::RateLimited(d)) => {
                    if let Ok(mut b) = self.bucket.lock() {
                        b.fill();
                    }
                    return Err(B24Error::RateLimited(d));
                }
                other => return other,
            }
        }
    }

    /// The portal moved to a new address (302): use it from now on and store it.
    async fn moved_to(&self, endpoint: &str) {
        if let Ok(mut e) = self.client_endpoint.lock() {
            if e.as_str() == endpoint {
                return;
            }
            *e = endpoint.to_string();
        }
        tracing::info!(portal = self.portal_id, endpoint = %endpoint, "portal moved; new REST base stored");
        if let Err(e) = portals::set_client_endpoint(&self.ctx.db, self.portal_id, endpoint).await {
            tracing::warn!(portal = self.portal_id, error = %e, "storing the portal's new address failed");
        }
    }

    /// The portal rejected the pair of `seen_generation` with `error`. Single flight: whoever
    /// holds the token lock renews; callers that saw the same generation then use its result.
    /// Stored tokens newer than the rejected pair (a reinstall, say) send the job back to its
    /// queue (`TokensReplaced`) rather than repeating the call at once: after a reinstall the
    /// setup must run first.
    async fn renew(&self, seen: (u64, u64), error: &B24Error) -> Result<Renewal, B24Error> {
        let (seen_generation, seen_syncs) = seen;
        let mut t = self.tokens.lock().await;
        if let Some(b) = &t.blocked {
            // Another caller's refresh was just refused, or the app is gone: no second try.
            return Err(b.error());
        }
        if t.syncs != seen_syncs {
            return Err(B24Error::TokensReplaced);
        }
        if t.generation != seen_generation {
            return Ok(Renewal::Replaced);
        }
        match self.sync_locked(&mut t).await {
            Ok(Synced::Replaced) => return Err(B24Error::TokensReplaced),
            Ok(Synced::Uninstalled) => return Err(B24Error::NotInstalled),
            Ok(Synced::Same) => {}
            // Cannot tell whether the store has newer tokens: try again later.
            Err(e) => return Err(B24Error::Network(format!("database: {e}"))),
        }
        if !matches!(error, B24Error::ExpiredToken)
            && t.refreshed_at.is_some_and(|at| at.elapsed() < FRESH_PAIR)
        {
            return Ok(Renewal::GiveUp);
        }
        tracing::info!(
            portal = self.portal_id,
            code = error.code(),
            "the portal rejected the access token; refreshing"
        );
        self.refresh_locked(&mut t).await?;
        Ok(Renewal::Refreshed)
    }

    /// Takes the stored tokens (the caller holds the token lock, so no refresh runs meanwhile)
    /// when they are not the pair in hand: an install, reinstall or app update stored new ones,
    /// or another node refreshed. Uninstalled: blocks the session.
    async fn sync_locked(&self, t: &mut Tokens) -> Result<Synced, sea_orm::DbErr> {
        use secrecy::ExposeSecret;
        let m = portals::get(&self.ctx.db, self.portal_id).await?;
        let Some(m) = m.filter(|m| m.installed) else {
            t.blocked = Some(Blocked::Uninstalled);
            return Ok(Synced::Uninstalled);
        };
        let s = match portals::secrets(&self.ctx.secrets, &m) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(portal = self.portal_id, error = %e, "portal secrets unreadable");
                t.blocked = Some(Blocked::Reauth(format!("stored tokens unreadable: {e}")));
                return Ok(Synced::Uninstalled);
            }
        };
        let same = s.access_token.expose_secret() == t.access.expose_secret()
            && s.refresh_token.expose_secret() == t.refresh.expose_secret();
        if same {
            if matches!(t.blocked, Some(Blocked::Uninstalled)) {
                t.blocked = None;
            }
            return Ok(Synced::Same);
        }
        if let Ok(mut e) = self.client_endpoint.lock() {
            *e = s.client_endpoint;
        }
        t.access = s.access_token;
        t.refresh = s.refresh_token;
        t.server_endpoint = s.server_endpoint;
        t.generation += 1;
        t.syncs += 1;
        t.blocked = None;
        t.refreshed_at = None;
        tracing::info!(portal = self.portal_id, "stored tokens taken");
        Ok(Synced::Replaced)
    }

    /// The stored tokens changed (install, reinstall, uninstall, app update): takes them, under
    /// the token lock. Returns whether calls can be made.
    async fn reload(&self) -> Result<bool, sea_orm::DbErr> {
        let mut t = self.tokens.lock().await;
        let synced = self.sync_locked(&mut t).await?;
        Ok(!matches!(synced, Synced::Uninstalled) && t.blocked.is_none())
    }

    /// Idle portals keep their refresh token (it lives 180 days): refreshes once the last
    /// refresh is `after_ms` old, never sooner. The time is the stored one (every refresh and
    /// install stores it, on whichever node); the refresh itself is the same single flight as
    /// a call's. Returns whether it refreshed.
    pub async fn renew_if_idle(&self, after_ms: i64) -> Result<bool, RenewError> {
        let seen = self.tokens.lock().await.generation;
        // Read without holding the token lock: nothing waits on the database while holding it.
        let Some(m) = portals::get(&self.ctx.db, self.portal_id).await? else {
            return Ok(false);
        };
        if !m.installed
            || m.refreshed_at
                .is_some_and(|at| store::now_ms().saturating_sub(at) < after_ms)
        {
            return Ok(false);
        }
        let mut t = self.tokens.lock().await;
        if t.generation != seen || t.blocked.is_some() {
            // A call refreshed meanwhile (after the read), or the portal waits for a reinstall.
            return Ok(false);
        }
        self.refresh_locked(&mut t).await?;
        Ok(true)
    }

    /// The refresh itself; the caller holds the token lock. A refusal by the OAuth server
    /// (`invalid_grant`, `invalid_client`, `PAYMENT_REQUIRED`, ...) blocks the session: the
    /// portal needs re-authorisation, and its jobs wait for it (`NeedsReauth`) instead of
    /// asking the OAuth server again and again.
    async fn refresh_locked(&self, t: &mut Tokens) -> Result<(), B24Error> {
        let pair = match self.ctx.b24.refresh(&t.server_endpoint, &t.refresh).await {
            Ok(pair) => pair,
            Err(e @ B24Error::OAuth { .. }) => {
                tracing::error!(
                    portal = self.portal_id,
                    code = e.code(),
                    error = %e,
                    "the OAuth server refused the portal's refresh: it needs re-authorisation (install the app again); its jobs wait"
                );
                let why = e.to_string();
                t.blocked = Some(Blocked::Reauth(why.clone()));
                return Err(B24Error::NeedsReauth(why));
            }
            Err(e) => return Err(e),
        };
        // The old refresh token is dead now: persist the new pair before using it.
        let mut attempt = 0;
        loop {
            match portals::update_tokens(
                &self.ctx.db,
                &self.ctx.secrets,
                self.portal_id,
                &pair.access_token,
                &pair.refresh_token,
                pair.expires_in,
                pair.client_endpoint.as_deref(),
            )
            .await
            {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(portal = self.portal_id, error = %e, "storing refreshed tokens failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    tracing::error!(portal = self.portal_id, error = %e, "refreshed tokens could not be stored");
                    break;
                }
            }
        }
        if let Some(ep) = &pair.client_endpoint {
            if let Ok(mut e) = self.client_endpoint.lock() {
                *e = ep.clone();
            }
        }
        t.access = pair.access_token;
        t.refresh = pair.refresh_token;
        t.generation += 1;
        t.refreshed_at = Some(Instant::now());
        tracing::info!(portal = self.portal_id, "access token refreshed");
        Ok(())
    }
}

pub struct PortalActor {
    ctx: Ctx,
    id: i64,
    registry: Addr<Registry>,
    session: Option<Arc<PortalSession>>,
    draining: bool,
    again: bool,
    fault: Option<Fault>,
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
    pub fn new(ctx: Ctx, id: i64, registry: Addr<Registry>) -> Self {
        Self {
            ctx,
            id,
            registry,
            session: None,
            draining: false,
            again: false,
            fault: None,
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
        let fut = async move { inbox::unprocessed_after(&services.db, &owner, after, page).await };
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
            Ok(Some(m)) => match PortalSession::load(&act.ctx, &m) {
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
        // Cluster mode: only the lease holder runs this owner's jobs.
        if !self.ctx.holds(&self.owner()) {
            return;
        }
        if self.draining {
            self.again = true;
            return;
        }
        let Some(session) = self.session.clone() else {
            return;
        };
        self.draining = true;
        self.again = false;
        let services = self.ctx.clone();
        let owner = self.owner();
        let fault = self.fault.take();
        let fut = guarded(async move {
            if fault == Some(Fault::PanicOnNextWork) {
                panic!("injected fault: portal actor panics in its job runner");
            }
            drain(services, session, owner).await
        });
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.draining = false;
            match res {
                Err(panic) => {
                    tracing::error!(portal = act.id, panic = %panic, "portal actor panicked; restarting");
                    ctx.stop();
                }
                Ok(Err(e)) => {
                    tracing::warn!(portal = act.id, error = %e, "job runner failed; retrying");
                    ctx.run_later(Duration::from_millis(500), |act, ctx| act.kick(ctx));
                }
                Ok(Ok(next)) => {
                    if act.again {
                        act.kick(ctx);
                    } else if let Some(delay) = next {
                        ctx.run_later(delay, |act, ctx| act.kick(ctx));
                    }
                }
            }
        }));
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
        let after_ms = i64::try_from(
            self.ctx
                .settings
                .token_refresh_after_secs
                .saturating_mul(1000),
        )
        .unwrap_or(i64::MAX);
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
        let fut = async move { inbox::unprocessed(&services.db, &owner, before, 500).await };
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
        let fut = async move { route_items(services, portal_id, items).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.routing = false;
            match res {
                Ok(routes) => {
                    for (number_id, batch) in routes {
                        act.registry.do_send(Dispatch {
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
        crate::metrics::queue_items(crate::metrics::QUEUE_ROUTE, -(self.queued as i64));
        self.queued = 0;
    }
}

impl Supervised for PortalActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        // Rebuilt from the database in `started`; jobs and inbox items are still stored.
        self.session = None;
        self.draining = false;
        self.again = false;
        self.fault = None;
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

#[derive(Message)]
#[rtype(result = "()")]
pub struct PortalFault(pub Fault);

impl Handler<PortalFault> for PortalActor {
    type Result = ();
    fn handle(&mut self, msg: PortalFault, ctx: &mut Self::Context) {
        self.fault = Some(msg.0);
        // Make sure the runner starts so the fault fires even when idle.
        if !self.draining {
            self.kick(ctx);
        }
    }
}

/// The latest a portal actor's first idle-token check comes after its start.
const IDLE_TOKEN_FIRST_CHECK: Duration = Duration::from_secs(600);

/// The idle-token sweep's period (`token_sweep_secs`, at least a second).
pub fn idle_token_period(settings: &crate::config::Settings) -> Duration {
    Duration::from_secs(settings.token_sweep_secs.max(1))
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    use rand::Rng;
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::thread_rng().gen_range(0..ms))
}

/// Splits chat id `"<wa_id>@<phone_number_id>"` (the id we give Bitrix24 per conversation).
pub fn parse_chat_key(key: &str) -> Option<(&str, &str)> {
    let (wa, pnid) = key.split_once('@')?;
    (!wa.is_empty() && !pnid.is_empty()).then_some((wa, pnid))
}

pub fn chat_key(wa_id: &str, phone_number_id: &str) -> String {
    format!("{wa_id}@{phone_number_id}")
}

async fn route_items(
    services: Ctx,
    portal_id: i64,
    items: Vec<(i64, InboxItem)>,
) -> Result<Vec<(i64, Vec<(i64, InboxItem)>)>, sea_orm::DbErr> {
    let mut routes: Vec<(i64, Vec<(i64, InboxItem)>)> = Vec::new();
    for (inbox_id, item) in items {
        let Some((line, chat_id, im_chat_id)) = item.b24_route() else {
            continue;
        };
        let bound = numbers::active_on_line(&services.db, portal_id, line).await?;
        let target = parse_chat_key(chat_id)
            .and_then(|(_, pnid)| bound.iter().find(|n| n.phone_number_id == pnid));
        match target {
            Some(n) => match routes.iter_mut().find(|(id, _)| *id == n.id) {
                Some((_, v)) => v.push((inbox_id, item)),
                None => routes.push((n.id, vec![(inbox_id, item)])),
            },
            None => {
                // Nothing can deliver it: tell the operator plainly instead of dropping silently.
                tracing::warn!(portal = portal_id, line = %line, "operator message on a line with no connected WhatsApp number");
                let notice = Job::B24Notice {
                    im_chat_id: im_chat_id.to_string(),
                    text: "This message was not sent: no WhatsApp number is connected to this Open Line for this chat.".into(),
                };
                let txn = services.db.begin().await?;
                jobs::enqueue(
                    &txn,
                    &jobs::portal_owner(portal_id),
                    &format!("notice:{im_chat_id}"),
                    &notice,
                )
                .await?;
                inbox::mark_processed(&txn, &[inbox_id]).await?;
                txn.commit().await?;
            }
        }
    }
    Ok(routes)
}

/// One call's worth of jobs.
struct Batch<'a> {
    jobs: Vec<(&'a entity::jobs::Model, Job)>,
}

impl Batch<'_> {
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.jobs.iter().map(|(m, _)| m.queue_key.as_str())
    }
}

/// Runs due jobs until none is left; returns when the next one falls due.
async fn drain(
    services: Ctx,
    session: Arc<PortalSession>,
    owner: String,
) -> Result<Option<Duration>, sea_orm::DbErr> {
    loop {
        let Some(_guard) = services.lifecycle.enter() else {
            return Ok(None);
        };
        // Uninstalled, or waiting for a re-authorisation: the jobs wait (a reload kicks again).
        if session.blocked().await.is_some() {
            return Ok(None);
        }
        let mut pending = jobs::pending(&services.db, &owner, 1000).await?;
        // An install's setup (register, bind, activate the lines: `install_portal`) goes first:
        // until it is done, nothing else can succeed (after a reinstall a send that was under
        // way, or came in meanwhile, would be refused with NOT_ACTIVE_LINE and fail for good).
        if pending.iter().any(|m| m.queue_key == SETUP_QUEUE) {
            pending.retain(|m| m.queue_key == SETUP_QUEUE);
        }
        let now = store::now_ms();
        let runnable = jobs::runnable(&pending, now + jobs::COALESCE_MS);
        if runnable.is_empty() {
            return Ok(jobs::next_wake(&pending, now));
        }
        let batches = make_batches(&runnable);
        tracing::debug!(
            pending = pending.len(),
            runnable = runnable.len(),
            batches = batches.len(),
            "portal job runner wave"
        );
        // Batches with disjoint queues run together; the first overlap ends the wave, so a
        // chat's jobs always run in order.
        let mut wave: Vec<&Batch> = Vec::new();
        let mut keys = std::collections::HashSet::new();
        for b in &batches {
            if b.keys().any(|k| keys.contains(k)) || wave.len() >= 8 {
                break;
            }
            keys.extend(b.keys());
            wave.push(b);
        }
        let running: Vec<_> = wave
            .iter()
            .flat_map(|b| b.jobs.iter())
            .map(|(m, _)| crate::metrics::Running::start(&m.kind))
            .collect();
        let results = join_all(wave.iter().map(|b| {
            let span = crate::metrics::job_span(b.jobs.iter().map(|(m, _)| *m));
            run_batch(&services, &session, b).instrument(span)
        }))
        .await;
        drop(running);
        for (b, res) in wave.iter().zip(results) {
            let span = crate::metrics::job_span(b.jobs.iter().map(|(m, _)| *m));
            settle_retrying(&services, b, &res).instrument(span).await?;
        }
    }
}

fn make_batches<'a>(runnable: &[&'a entity::jobs::Model]) -> Vec<Batch<'a>> {
    let mut batches: Vec<Batch<'a>> = Vec::new();
    // (batch index, group key) of open groups that can take more items.
    let mut open: Vec<(usize, String)> = Vec::new();
    // The batch of each order key's latest job: a job may not join a batch before it, or it
    // would overtake a job it must follow. For a chat's sends, updates and deletes that is the
    // chat's queue; a status only has to follow the earlier status of its own message ("read"
    // after "delivered"), so the statuses of many messages still share two calls.
    let mut last_of: HashMap<String, usize> = HashMap::new();
    for &m in runnable {
        let job = match jobs::decode(m) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(job = m.id, error = %e, "undecodable job skipped");
                continue;
            }
        };
        let order_key = match &job {
            Job::B24Status { message_id, .. } => format!("status-of:{message_id}"),
            _ => m.queue_key.clone(),
        };
        let floor = last_of.get(&order_key).copied().unwrap_or(0);
        let group = match &job {
            Job::B24SendMessage { line, .. } => Some(format!("send:{line}")),
            Job::B24Status { line, reading, .. } => Some(format!("status:{line}:{reading}")),
            Job::B24UpdateMessage { line, .. } => Some(format!("update:{line}")),
            Job::B24DeleteMessage { line, .. } => Some(format!("delete:{line}")),
            _ => None,
        };
        if let Some(g) = &group {
            if let Some((idx, _)) = open
                .iter()
                .find(|(i, k)| *i >= floor && k == g && batches[*i].jobs.len() < BATCH)
            {
                let idx = *idx;
                batches[idx].jobs.push((m, job));
                last_of.insert(order_key, idx);
                continue;
            }
            open.push((batches.len(), g.clone()));
        }
        last_of.insert(order_key, batches.len());
        batches.push(Batch {
            jobs: vec![(m, job)],
        });
    }
    batches
}

/// The outcome of one batch: per job, done (with the call's result) or failed.
type BatchResult = Result<Value, B24Error>;

async fn run_batch(services: &Ctx, session: &PortalSession, b: &Batch<'_>) -> BatchResult {
    let connector = &services.settings.connector_id;
    let Some((_, first)) = b.jobs.first() else {
        return Ok(Value::Null);
    };
    match first {
        Job::B24SendMessage { line, .. } => {
            let items = b
                .jobs
                .iter()
                .filter_map(|(_, j)| match j {
                    Job::B24SendMessage { item, .. } => Some(item.clone()),
                    _ => None,
                })
                .collect();
            session
                .call(
                    "imconnector.send.messages",
                    &messages_params(connector, line, items),
                )
                .await
        }
        Job::B24Status { line, reading, .. } => {
            let items = b
                .jobs
                .iter()
                .filter_map(|(_, j)| match j {
                    Job::B24Status { item, .. } => Some(item.clone()),
                    _ => None,
                })
                .collect();
            let method = if *reading {
                "imconnector.send.status.reading"
            } else {
                "imconnector.send.status.delivery"
            };
            session
                .call(method, &messages_params(connector, line, items))
                .await
        }
        Job::B24UpdateMessage { line, .. } | Job::B24DeleteMessage { line, .. } => {
            let delete = matches!(first, Job::B24DeleteMessage { .. });
            let items = b
                .jobs
                .iter()
                .filter_map(|(_, j)| match j {
                    Job::B24UpdateMessage { item, .. } if !delete => Some(item.clone()),
                    Job::B24DeleteMessage { item, .. } if delete => Some(item.clone()),
                    _ => None,
                })
                .collect();
            let method = if delete {
                "imconnector.delete.messages"
            } else {
                "imconnector.update.messages"
            };
            session
                .call(method, &messages_params(connector, line, items))
                .await
        }
        Job::B24Setup => setup(services, session).await,
        Job::B24Activate {
            number_id,
            line,
            active,
        } => activate(services, session, *number_id, line, *active).await,
        Job::B24Notice { im_chat_id, text } => session
            .call(
                "im.message.add",
                &json!({"DIALOG_ID": format!("chat{im_chat_id}"), "MESSAGE": text, "SYSTEM": "Y"}),
            )
            .await,
        Job::WaSendText { .. }
        | Job::WaSendMedia { .. }
        | Job::WaMarkRead { .. }
        | Job::WaDelete { .. }
        | Job::WaEdit { .. }
        | Job::Transcribe { .. } => Err(B24Error::Decode("not a portal job".into())),
    }
}

async fn setup(services: &Ctx, session: &PortalSession) -> BatchResult {
    let s = &services.settings;
    let handler = format!("{}/bitrix24/placement", services.public_url);
    let icon = "data:image/svg+xml;charset=US-ASCII,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%20viewBox%3D%220%200%2070%2071%22%3E%3Cpath%20fill%3D%22%23FFF%22%20d%3D%22M35%208a27%2027%200%200%200-23%2041l-4%2014%2015-4a27%2027%200%201%200%2012-51z%22%2F%3E%3C%2Fsvg%3E";
    let reg = session
        .call(
            "imconnector.register",
            &json!({
                "ID": s.connector_id,
                "NAME": s.connector_name,
                "ICON": {"DATA_IMAGE": icon, "COLOR": "#25D366", "SIZE": "90%", "POSITION": "center"},
                "PLACEMENT_HANDLER": handler,
                "CHAT_GROUP": false,
                "DEL_EXTERNAL_MESSAGES": true,
                "EDIT_INTERNAL_MESSAGES": true,
                "DEL_INTERNAL_MESSAGES": true,
                "NEED_SYSTEM_MESSAGES": false,
                "NEED_SIGNATURE": true,
            }),
        )
        .await?;
    if reg.get("result") != Some(&Value::Bool(true)) {
        return Err(B24Error::Api {
            status: 200,
            code: "REGISTER_FAILED".into(),
            description: reg.to_string(),
        });
    }
    let events_url = format!("{}/bitrix24/events", services.public_url);
    for event in BOUND_EVENTS {
        match session
            .call(
                "event.bind",
                &json!({"event": event, "handler": events_url}),
            )
            .await
        {
            Ok(_) => {}
            // Reinstall: the binding exists already, which is what we want.
            Err(B24Error::Api {
                code, description, ..
            }) if code.contains("ALREADY") || description.to_lowercase().contains("already") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Value::Bool(true))
}

async fn activate(
    services: &Ctx,
    session: &PortalSession,
    number_id: i64,
    line: &str,
    active: bool,
) -> BatchResult {
    let connector = &services.settings.connector_id;
    session
        .call(
            "imconnector.activate",
            &json!({"CONNECTOR": connector, "LINE": line, "ACTIVE": if active { 1 } else { 0 }}),
        )
        .await?;
    if !active {
        return Ok(Value::Bool(true));
    }
    let n = numbers::get(&services.db, number_id)
        .await
        .map_err(|e| B24Error::Network(format!("database: {e}")))?
        .ok_or_else(|| B24Error::Decode(format!("number {number_id} is gone")))?;
    let digits: String = n
        .display_phone
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    session
        .call(
            "imconnector.connector.data.set",
            &json!({
                "CONNECTOR": connector,
                "LINE": line,
                "DATA": {
                    "ID": format!("wa_{}", n.phone_number_id),
                    "URL": format!("https://wa.me/{digits}"),
                    "URL_IM": format!("https://wa.me/{digits}"),
                    "NAME": format!("WhatsApp +{digits}"),
                },
            }),
        )
        .await
}

/// Stores a batch's outcome in one transaction.
/// `settle`, tried again on a database error: Bitrix24 has already acted on the call, so
/// giving up here would send it again (a pooled connection can die under us, e.g. one opened
/// on an HTTP worker whose runtime is stopping).
async fn settle_retrying(
    services: &Ctx,
    b: &Batch<'_>,
    res: &BatchResult,
) -> Result<(), sea_orm::DbErr> {
    let mut attempt = 0u64;
    loop {
        match settle(services, b, res).await {
            Err(e) if attempt < 4 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "recording a Bitrix24 answer failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

async fn settle(services: &Ctx, b: &Batch<'_>, res: &BatchResult) -> Result<(), sea_orm::DbErr> {
    let ids: Vec<i64> = b.jobs.iter().map(|(m, _)| m.id).collect();
    // Jobs that did not end done (counted once the outcome is committed).
    let mut not_done: Vec<(i64, Settled)> = Vec::new();
    let txn = services.db.begin().await?;
    match res {
        Ok(result) => {
            let per_item = result.pointer("/DATA/RESULT").and_then(Value::as_array);
            let mut done = Vec::new();
            let mut forwarded = Vec::new();
            let mut failed: Vec<(i64, i64, String)> = Vec::new();
            let mut last_chat_ids: Vec<(i64, String, String)> = Vec::new();
            for (i, (m, job)) in b.jobs.iter().enumerate() {
                match job {
                    Job::B24SendMessage {
                        message_id,
                        chat_id,
                        ..
                    } => {
                        let item = per_item.and_then(|a| a.get(i));
                        let ok = item
                            .and_then(|it| it.get("SUCCESS"))
                            .map(|s| s == &Value::Bool(true) || s == "true" || s == "Y")
                            .unwrap_or(false);
                        if ok {
                            done.push(m.id);
                            forwarded.push(*message_id);
                            let session = item.and_then(|it| it.get("session"));
                            let b24_chat = session.and_then(|s| s.get("CHAT_ID")).map(scalar);
                            let b24_session = session.and_then(|s| s.get("ID")).map(scalar);
                            if let (Some(c), Some(s)) = (b24_chat, b24_session) {
                                last_chat_ids.retain(|(id, _, _)| id != chat_id);
                                last_chat_ids.push((*chat_id, c, s));
                            }
                        } else {
                            let why = item
                                .and_then(|it| it.get("ERRORS"))
                                .map(|e| e.to_string())
                                .unwrap_or_else(|| format!("not accepted: {result}"));
                            failed.push((m.id, *message_id, why));
                        }
                    }
                    _ => done.push(m.id),
                }
            }
            jobs::mark_done(&txn, &done).await?;
            messages::set_status_many(&txn, &forwarded, messages::FORWARDED).await?;
            // Usually unchanged after a chat's first message: one read instead of a write each.
            let ids: Vec<i64> = last_chat_ids.iter().map(|(id, _, _)| *id).collect();
            let known = chats::b24_ids_of(&txn, &ids).await?;
            for (chat_id, c, s) in last_chat_ids {
                if known.get(&chat_id) != Some(&(Some(c.clone()), Some(s.clone()))) {
                    chats::set_b24_ids(&txn, chat_id, &c, &s).await?;
                }
            }
            for (job_id, message_id, why) in failed {
                tracing::warn!(job = job_id, reason = %why, "Bitrix24 refused a message");
                not_done.push((job_id, Settled::Dead));
                jobs::mark_dead(&txn, &[job_id], &why).await?;
                messages::fail(&txn, &[message_id], &why).await?;
            }
        }
        Err(e) if e.is_held() => {
            // Not tried (no usable tokens): the jobs wait for a reinstall, attempts untouched.
            let attempts = b.jobs.iter().map(|(m, _)| m.attempts).max().unwrap_or(0);
            let s = &services.settings;
            let delay = match e {
                // Due again at once, behind whatever the new tokens brought (a setup).
                B24Error::TokensReplaced => 0,
                _ => jobs::backoff_ms(attempts, s.retry_base_ms, s.retry_max_ms),
            };
            tracing::warn!(jobs = ?ids, code = e.code(), error = %e, "Bitrix24 call held");
            not_done.extend(ids.iter().map(|id| (*id, Settled::Retry)));
            hold(&txn, &ids, store::now_ms() + delay, &e.to_string()).await?;
        }
        Err(e) => {
            let attempts = b.jobs.iter().map(|(m, _)| m.attempts).max().unwrap_or(0);
            let permanent =
                !e.is_transient() && !matches!(e, B24Error::ExpiredToken | B24Error::OAuth { .. });
            if permanent || attempts + 1 >= services.settings.max_attempts {
                tracing::warn!(jobs = ?ids, code = e.code(), error = %e, "Bitrix24 call failed for good");
                not_done.extend(ids.iter().map(|id| (*id, Settled::Dead)));
                jobs::mark_dead(&txn, &ids, &e.to_string()).await?;
                let msg_ids: Vec<i64> = b
                    .jobs
                    .iter()
                    .filter_map(|(_, j)| match j {
                        Job::B24SendMessage { message_id, .. } => Some(*message_id),
                        _ => None,
                    })
                    .collect();
                messages::fail(&txn, &msg_ids, &e.to_string()).await?;
            } else {
                let s = &services.settings;
                let delay = jobs::backoff_ms(attempts, s.retry_base_ms, s.retry_max_ms);
                tracing::info!(
                    jobs = ids.len(),
                    code = e.code(),
                    retry_in_ms = delay,
                    "Bitrix24 call failed; will retry"
                );
                not_done.extend(ids.iter().map(|id| (*id, Settled::Retry)));
                jobs::retry_later(&txn, &ids, store::now_ms() + delay, &e.to_string()).await?;
            }
        }
    }
    txn.commit().await?;
    for (m, _) in &b.jobs {
        let how = not_done
            .iter()
            .find(|(id, _)| *id == m.id)
            .map_or(Settled::Done, |(_, how)| *how);
        crate::metrics::settled(m, how);
    }
    Ok(())
}

/// Puts jobs back to wait without counting an attempt: they could not be tried at all (their
/// portal is uninstalled or needs re-authorisation), so waiting must not use them up.
async fn hold<C: sea_orm::ConnectionTrait>(
    c: &C,
    ids: &[i64],
    next_attempt_at: i64,
    error: &str,
) -> Result<(), sea_orm::DbErr> {
    use entity::jobs::{Column, Entity};
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(Column::LastError, Expr::value(error.to_string()))
        .col_expr(Column::UpdatedAt, Expr::value(store::now_ms()))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Handler<super::registry::Retire> for PortalActor {
    type Result = ();
    /// Another node holds this owner's lease now: stop (stored work stays for it).
    fn handle(&mut self, _: super::registry::Retire, ctx: &mut Self::Context) {
        self.session = None;
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, queue: &str, j: &Job) -> entity::jobs::Model {
        entity::jobs::Model {
            id,
            owner: "portal:1".into(),
            queue_key: queue.into(),
            kind: j.kind().into(),
            payload: serde_json::to_string(j).unwrap_or_default(),
            status: jobs::PENDING.into(),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            trace_id: None,
            origin_at: None,
        }
    }

    fn status(message_id: i64, reading: bool) -> Job {
        Job::B24Status {
            message_id,
            line: "1".into(),
            reading,
            item: serde_json::json!({}),
        }
    }

    /// The order in which jobs would reach Bitrix24: batch by batch.
    fn sent_order(rows: &[entity::jobs::Model]) -> Vec<i64> {
        let refs: Vec<&entity::jobs::Model> = rows.iter().collect();
        make_batches(&refs)
            .iter()
            .flat_map(|b| b.jobs.iter().map(|(m, _)| m.id))
            .collect()
    }

    #[test]
    fn a_read_never_goes_ahead_of_its_delivered() {
        // chat 1: read of m0, then delivered and read of m1 (read came first from WhatsApp).
        let rows = [
            job(1, "chat:1", &status(10, true)),
            job(2, "chat:1", &status(11, false)),
            job(3, "chat:1", &status(11, true)),
        ];
        assert_eq!(sent_order(&rows), [1, 2, 3]);
        // Many messages' statuses still take two calls.
        let rows: Vec<_> = (0..10)
            .flat_map(|i| {
                [
                    job(2 * i, "chat:1", &status(i, false)),
                    job(2 * i + 1, "chat:1", &status(i, true)),
                ]
            })
            .collect();
        let refs: Vec<&entity::jobs::Model> = rows.iter().collect();
        assert_eq!(make_batches(&refs).len(), 2);
    }

    #[test]
    fn a_chats_sends_and_updates_keep_their_order() {
        let send = |id| Job::B24SendMessage {
            message_id: id,
            chat_id: 1,
            line: "1".into(),
            item: serde_json::json!({}),
        };
        let update = Job::B24UpdateMessage {
            line: "1".into(),
            item: serde_json::json!({}),
        };
        let rows = [
            job(1, "chat:1", &send(10)),
            job(2, "chat:1", &update),
            job(3, "chat:1", &send(11)),
        ];
        assert_eq!(sent_order(&rows), [1, 2, 3]);
    }

    #[test]
    fn other_queues_still_share_batches() {
        let rows = [
            job(1, "chat:1", &status(10, true)),
            job(2, "chat:1", &status(11, false)),
            job(3, "chat:2", &status(20, true)),
        ];
        let refs: Vec<&entity::jobs::Model> = rows.iter().collect();
        let batches = make_batches(&refs);
        assert_eq!(batches.len(), 2, "chat 2's read rides with chat 1's");
        assert_eq!(
            batches[0]
                .jobs
                .iter()
                .map(|(m, _)| m.id)
                .collect::<Vec<_>>(),
            [1, 3]
        );
    }
}
