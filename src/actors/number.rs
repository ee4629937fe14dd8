//! NumberActor: one per WhatsApp number. Owns the transport session (Cloud API credentials),
//! routes each inbox item to the chat actor of its customer, and sends the number's outbox.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use actix::prelude::*;

mod perform;
mod sends;
mod session;

pub use super::transport::Transport;
pub use sends::session_lost_notice;

use super::{
    chat::{ChatActor, ChatInfo, ChatWork},
    messages::{Kick, KickOwner, Retire, Route},
    outbox::{self, Outbox},
    queue::{Overflow, Page},
    Ctx,
};
use crate::{
    relay::inbox::InboxItem,
    store::{
        self,
        inbox::{self, Unprocessed},
        jobs, numbers,
    },
};

pub struct NumberActor {
    ctx: Ctx,
    id: i64,
    /// The registry, which started this number (kicks for other owners go up to it).
    up: Recipient<KickOwner>,
    session: Option<(entity::numbers::Model, Transport)>,
    chats: HashMap<String, (Addr<ChatActor>, Instant)>,
    /// Catching up: until the stored backlog has been read (a page at a time, by id) after a
    /// start or a reload, live items are left in the inbox so that none overtakes an older one.
    overflow: Overflow,
    /// Bumped on a reload: a page read issued before it is ignored when it completes.
    epoch: u64,
    runner: outbox::Runner,
    /// Gateway session states received and not yet stored, by inbox id (with the gateway's
    /// timestamp): stored one at a time in arrival order, so the newest one is the one that stays.
    states: BTreeMap<i64, (String, i64)>,
    /// A session state is being stored.
    storing_state: bool,
    /// The last session state stored: its inbox id and the gateway's timestamp.
    last_state: Option<(i64, i64)>,
}

impl NumberActor {
    pub fn new(ctx: Ctx, id: i64, up: Recipient<KickOwner>) -> Self {
        Self {
            ctx: ctx.clone(),
            id,
            up,
            session: None,
            chats: HashMap::new(),
            overflow: Overflow::catching_up(),
            epoch: 0,
            runner: outbox::Runner::new(ctx.clone(), "number", id, jobs::number_owner(id)),
            states: BTreeMap::new(),
            storing_state: false,
            last_state: None,
        }
    }

    fn owner(&self) -> String {
        jobs::number_owner(self.id)
    }

    /// Loads the number, then catches up with its stored backlog; items arriving meanwhile
    /// stay in the inbox and are read in their turn.
    /// (Not `ctx.wait`: that would pause a running send runner that may hold the connection.)
    fn load(&mut self, ctx: &mut Context<Self>) {
        let services = self.ctx.clone();
        let id = self.id;
        let fut = async move { numbers::get(&services.db, id).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(Some(m)) => match Transport::load(&act.ctx.secrets, &m) {
                Ok(c) => {
                    act.session = Some((m, c));
                    act.catch_up(ctx);
                    act.kick(ctx);
                }
                Err(e) => {
                    tracing::error!(number = act.id, error = %e, "number credentials unreadable")
                }
            },
            Ok(None) => tracing::warn!(number = act.id, "number not found; actor stays idle"),
            Err(e) => {
                tracing::warn!(number = act.id, error = %e, "loading number failed; retrying");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
            }
        }));
    }

    fn chat(&mut self, wa_id: &str, ctx: &mut Context<Self>) -> Option<Addr<ChatActor>> {
        let (m, _) = self.session.as_ref()?;
        let now = Instant::now();
        if let Some((addr, used)) = self.chats.get_mut(wa_id) {
            *used = now;
            return Some(addr.clone());
        }
        let info = ChatInfo {
            number_id: m.id,
            transport: m.transport.clone(),
            portal_id: m.portal_id,
            line: m.line_id.clone(),
            phone_number_id: m.phone_number_id.clone(),
            wa_id: wa_id.to_string(),
        };
        let services = self.ctx.clone();
        let me = ctx.address().recipient();
        let addr = Supervisor::start(move |_| ChatActor::new(services, info, me));
        self.chats.insert(wa_id.to_string(), (addr.clone(), now));
        Some(addr)
    }

    /// Everything stored but not yet applied (e.g. cut off by a restart) is routed, a page at
    /// a time in id order, before anything that arrives later, so each chat keeps its order
    /// across restarts without the whole backlog in memory (each chat caps its own queue).
    fn catch_up(&mut self, ctx: &mut Context<Self>) {
        if self.session.is_none() || !self.overflow.wants_read(0, 0) {
            return;
        }
        let after = self.overflow.read_started();
        let epoch = self.epoch;
        let services = self.ctx.clone();
        let owner = self.owner();
        let page = self.ctx.settings.inbox_page.max(1);
        let fut = async move {
            inbox::unprocessed(&services.db, &owner, Unprocessed::After(after), page).await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            if act.epoch != epoch {
                return;
            }
            match res {
                Ok(rows) => {
                    let last = rows.last().map(|r| r.id);
                    let at_end = (rows.len() as u64) < page;
                    let items = rows
                        .iter()
                        .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                        .collect();
                    act.route(items, ctx);
                    act.overflow.read_done(Page { last, at_end });
                    act.catch_up(ctx);
                }
                Err(e) => {
                    act.overflow.read_failed();
                    tracing::warn!(number = act.id, error = %e, "reading the inbox failed; retrying");
                    ctx.run_later(Duration::from_secs(1), |act, ctx| act.catch_up(ctx));
                }
            }
        }));
    }

    /// Live items: routed, unless the number is still catching up (then they wait in the
    /// inbox and the catch-up reads them in their turn).
    fn route_live(&mut self, items: Vec<(i64, InboxItem)>, ctx: &mut Context<Self>) {
        let mut admitted = Vec::with_capacity(items.len());
        for (inbox_id, item) in items {
            if self.overflow.admit(inbox_id, 0, usize::MAX) {
                admitted.push((inbox_id, item));
            } else {
                crate::metrics::queue_spilled(crate::metrics::QUEUE_NUMBER);
            }
        }
        self.route(admitted, ctx);
        self.catch_up(ctx);
    }

    fn route(&mut self, items: Vec<(i64, InboxItem)>, ctx: &mut Context<Self>) {
        for (inbox_id, item) in items {
            if let InboxItem::WaSessionState { state, timestamp } = item {
                self.states.insert(inbox_id, (state, timestamp));
                self.next_state(ctx);
                continue;
            }
            let Some(wa_id) = item.customer() else {
                continue;
            };
            match self.chat(wa_id, ctx) {
                Some(addr) => addr.do_send(ChatWork { inbox_id, item }),
                // Not loaded (a reload is under way): it stays in the inbox, and the catch-up
                // that follows the load reads it.
                None => tracing::debug!(
                    number = self.id,
                    inbox = inbox_id,
                    "item left for the catch-up"
                ),
            }
        }
    }

    fn kick(&mut self, ctx: &mut Context<Self>) {
        outbox::kick(self, ctx);
    }

    fn sweep(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() || !self.ctx.holds(&self.owner()) {
            return;
        }
        // Idle chat actors: dropping the last address stops them (their state is stored).
        let idle = Duration::from_secs(self.ctx.settings.chat_idle_secs);
        self.chats.retain(|_, (_, used)| used.elapsed() < idle);
        let services = self.ctx.clone();
        let owner = self.owner();
        // Live items reach their actor directly; the sweep is for items whose dispatch was lost or
        // that had to wait (a receipt before its send), so it looks only at older ones and does
        // not re-route a busy actor's whole backlog each period.
        let before = store::now_ms() - 4 * self.ctx.settings.sweep_ms as i64;
        let fut = async move {
            inbox::unprocessed(
                &services.db,
                &owner,
                Unprocessed::StoredBefore(before),
                1000,
            )
            .await
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            // Catching up reads everything in order anyway.
            Ok(_) if act.overflow.is_spilled() => {}
            Ok(rows) => {
                let items = rows
                    .iter()
                    .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                    .collect();
                act.route(items, ctx);
            }
            Err(e) => tracing::warn!(number = act.id, error = %e, "inbox sweep failed"),
        }));
    }
}

impl Outbox for NumberActor {
    fn runner(&mut self) -> &mut outbox::Runner {
        &mut self.runner
    }

    fn pass(
        &mut self,
    ) -> Option<impl std::future::Future<Output = Result<Option<Duration>, sea_orm::DbErr>> + 'static>
    {
        let (number, transport) = self.session.clone()?;
        let owner = self.owner();
        let sender = sends::Sender {
            services: self.ctx.clone(),
            up: self.up.clone(),
            number,
            transport,
        };
        Some(async move { outbox::drain(&sender.services.clone(), &owner, &sender).await })
    }
}

impl Actor for NumberActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        crate::metrics::actor_started(crate::metrics::ACTOR_NUMBER);
        self.load(ctx);
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| {
            act.sweep(ctx);
            act.kick(ctx);
        });
        let poll = Duration::from_secs(self.ctx.settings.gateway_poll_secs.max(1));
        ctx.run_interval(poll, |act, ctx| act.poll_state(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Balanced with `started` (a supervised restart calls both).
        crate::metrics::actor_stopped(crate::metrics::ACTOR_NUMBER);
    }
}

impl Supervised for NumberActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.session = None;
        self.chats.clear();
        self.overflow = Overflow::catching_up();
        self.epoch += 1;
        self.runner.reset();
        // What was received is read again from the inbox by the catch-up.
        self.states.clear();
        self.storing_state = false;
    }
}

/// A chat queued jobs for an owner: passed up to the registry, which finds that owner's actor
/// (here, or on the node that holds it).
impl Handler<KickOwner> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: KickOwner, _: &mut Self::Context) {
        self.up.do_send(msg);
    }
}

impl Handler<Kick> for NumberActor {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.kick(ctx);
    }
}

impl Handler<Route> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: Route, ctx: &mut Self::Context) {
        self.route_live(msg.items, ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadNumber;

impl Handler<ReloadNumber> for NumberActor {
    type Result = ();
    fn handle(&mut self, _: ReloadNumber, ctx: &mut Self::Context) {
        self.chats.clear();
        // Nothing is sent with the old credentials while the new ones load; the new chats
        // start from the stored backlog again.
        self.session = None;
        self.overflow = Overflow::catching_up();
        self.epoch += 1;
        self.load(ctx);
    }
}

#[cfg(feature = "faults")]
impl Handler<super::messages::ArmFault> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: super::messages::ArmFault, ctx: &mut Self::Context) {
        outbox::arm(self, msg.0, ctx);
    }
}

#[cfg(feature = "faults")]
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatFault {
    pub wa_id: String,
    pub fault: super::Fault,
}

#[cfg(feature = "faults")]
impl Handler<ChatFault> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: ChatFault, ctx: &mut Self::Context) {
        if let Some(addr) = self.chat(&msg.wa_id, ctx) {
            addr.do_send(super::messages::ArmFault(msg.fault));
        }
    }
}

impl Handler<Retire> for NumberActor {
    type Result = ();
    /// Another node holds this owner's lease now: stop (stored work stays for it).
    fn handle(&mut self, _: Retire, ctx: &mut Self::Context) {
        // Dropping the chats' addresses stops them; they hold ours, so this comes first.
        self.chats.clear();
        self.session = None;
        ctx.stop();
    }
}
