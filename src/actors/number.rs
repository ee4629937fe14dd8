//! NumberActor: one per WhatsApp number. Owns the transport session (Cloud API credentials),
//! routes each inbox item to the chat actor of its customer, and sends the number's outbox.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use actix::prelude::*;
use futures::future::join_all;
use sea_orm::TransactionTrait;

use super::{
    chat::{ChatActor, ChatInfo, ChatWork},
    guarded,
    portal::parse_chat_key,
    registry::{Kick, KickOwner, Owner, Registry},
    Ctx, Fault,
};
use crate::{
    store::{
        self, chats, inbox,
        inbox::InboxItem,
        jobs::{self, Job},
        messages,
        numbers::{self, CloudCredentials},
    },
    whatsapp::{cloud::GraphError, errors::explain},
};

/// Jobs of different chats sent in parallel per round (Cloud API allows 80 msg/s per number).
const PARALLEL_SENDS: usize = 16;

pub struct NumberActor {
    ctx: Ctx,
    id: i64,
    registry: Addr<Registry>,
    session: Option<(entity::numbers::Model, CloudCredentials)>,
    chats: HashMap<String, (Addr<ChatActor>, Instant)>,
    /// Items that arrived before the number was loaded.
    held: Vec<(i64, InboxItem)>,
    draining: bool,
    again: bool,
    fault: Option<Fault>,
}

impl NumberActor {
    pub fn new(ctx: Ctx, id: i64, registry: Addr<Registry>) -> Self {
        Self {
            ctx,
            id,
            registry,
            session: None,
            chats: HashMap::new(),
            held: Vec::new(),
            draining: false,
            again: false,
            fault: None,
        }
    }

    fn owner(&self) -> String {
        jobs::number_owner(self.id)
    }

    /// Loads the number; items arriving meanwhile are held and routed once it is loaded.
    /// (Not `ctx.wait`: that would pause a running send runner that may hold the connection.)
    fn load(&mut self, ctx: &mut Context<Self>) {
        let services = self.ctx.clone();
        let id = self.id;
        let owner = self.owner();
        let fut = async move {
            let number = numbers::get(&services.db, id).await?;
            // Everything stored but not yet applied (e.g. cut off by a restart) is routed before
            // anything that arrives now, so each chat keeps its order across restarts.
            let backlog = inbox::unprocessed(&services.db, &owner, i64::MAX, 100_000).await?;
            Ok::<_, sea_orm::DbErr>((number, backlog))
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((Some(m), backlog)) => match numbers::credentials(&act.ctx.secrets, &m) {
                Ok(c) => {
                    act.session = Some((m, c));
                    let mut items: Vec<(i64, InboxItem)> = backlog
                        .iter()
                        .filter_map(|r| inbox::decode(r).ok().map(|i| (r.id, i)))
                        .collect();
                    items.append(&mut act.held);
                    items.sort_by_key(|(id, _)| *id);
                    items.dedup_by_key(|(id, _)| *id);
                    act.route(items, ctx);
                    act.kick(ctx);
                }
                Err(e) => {
                    tracing::error!(number = act.id, error = %e, "number credentials unreadable")
                }
            },
            Ok((None, _)) => tracing::warn!(number = act.id, "number not found; actor stays idle"),
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
            portal_id: m.portal_id,
            line: m.line_id.clone(),
            phone_number_id: m.phone_number_id.clone(),
            wa_id: wa_id.to_string(),
        };
        let services = self.ctx.clone();
        let registry = self.registry.clone();
        let me = ctx.address();
        let addr = Supervisor::start(move |_| ChatActor::new(services, info, registry, me));
        self.chats.insert(wa_id.to_string(), (addr.clone(), now));
        Some(addr)
    }

    fn route(&mut self, items: Vec<(i64, InboxItem)>, ctx: &mut Context<Self>) {
        if self.session.is_none() {
            self.held.extend(items);
            return;
        }
        for (inbox_id, item) in items {
            let wa_id = match &item {
                InboxItem::WaMessage { from, .. } => from.clone(),
                InboxItem::WaStatus { recipient_id, .. } => recipient_id.clone(),
                b24 => match b24
                    .b24_route()
                    .and_then(|(_, chat_id, _)| parse_chat_key(chat_id))
                {
                    Some((wa, _)) => wa.to_string(),
                    None => continue,
                },
            };
            match self.chat(&wa_id, ctx) {
                Some(addr) => addr.do_send(ChatWork { inbox_id, item }),
                None => self.held.push((inbox_id, item)),
            }
        }
    }

    fn kick(&mut self, ctx: &mut Context<Self>) {
        if self.draining {
            self.again = true;
            return;
        }
        let Some((m, creds)) = self.session.clone() else {
            return;
        };
        self.draining = true;
        self.again = false;
        let services = self.ctx.clone();
        let owner = self.owner();
        let fault = self.fault.take();
        let registry = self.registry.clone();
        let fut = guarded(async move {
            if fault == Some(Fault::PanicOnNextWork) {
                panic!("injected fault: number actor panics in its job runner");
            }
            drain(services, registry, m, creds, owner).await
        });
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.draining = false;
            match res {
                Err(panic) => {
                    tracing::error!(number = act.id, panic = %panic, "number actor panicked; restarting");
                    ctx.stop();
                }
                Ok(Err(e)) => {
                    tracing::warn!(number = act.id, error = %e, "send runner failed; retrying");
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

    fn sweep(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() {
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
        let fut = async move { inbox::unprocessed(&services.db, &owner, before, 1000).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
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

impl Actor for NumberActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.load(ctx);
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| {
            act.sweep(ctx);
            act.kick(ctx);
        });
    }
}

impl Supervised for NumberActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.session = None;
        self.chats.clear();
        self.draining = false;
        self.again = false;
        self.fault = None;
    }
}

impl Handler<Kick> for NumberActor {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.kick(ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Route {
    pub items: Vec<(i64, InboxItem)>,
}

impl Handler<Route> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: Route, ctx: &mut Self::Context) {
        self.route(msg.items, ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReloadNumber;

impl Handler<ReloadNumber> for NumberActor {
    type Result = ();
    fn handle(&mut self, _: ReloadNumber, ctx: &mut Self::Context) {
        self.chats.clear();
        self.load(ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct NumberFault(pub Fault);

impl Handler<NumberFault> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: NumberFault, ctx: &mut Self::Context) {
        self.fault = Some(msg.0);
        if !self.draining {
            self.kick(ctx);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatFault {
    pub wa_id: String,
    pub fault: Fault,
}

impl Handler<ChatFault> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: ChatFault, ctx: &mut Self::Context) {
        if let Some(addr) = self.chat(&msg.wa_id, ctx) {
            addr.do_send(super::chat::ChatFaultMsg(msg.fault));
        }
    }
}

/// Sends due texts: one job per chat per round (keeps order), chats in parallel.
async fn drain(
    services: Ctx,
    registry: Addr<Registry>,
    number: entity::numbers::Model,
    creds: CloudCredentials,
    owner: String,
) -> Result<Option<Duration>, sea_orm::DbErr> {
    loop {
        let Some(_guard) = services.lifecycle.enter() else {
            return Ok(None);
        };
        // A dead token stops all sending until the number is reconnected (which kicks us).
        match numbers::get(&services.db, number.id).await? {
            Some(n) if n.session_state == numbers::SESSION_OK => {}
            _ => return Ok(None),
        }
        let pending = jobs::pending(&services.db, &owner, 1000).await?;
        let now = store::now_ms();
        let runnable = jobs::runnable(&pending, now + jobs::COALESCE_MS);
        if runnable.is_empty() {
            return Ok(jobs::next_wake(&pending, now));
        }
        let mut seen = std::collections::HashSet::new();
        let round: Vec<_> = runnable
            .into_iter()
            .filter(|j| seen.insert(j.queue_key.clone()))
            .take(PARALLEL_SENDS)
            .collect();
        let sends = round.iter().map(|m| {
            let services = &services;
            let creds = &creds;
            async move {
                let job = jobs::decode(m);
                let res = match &job {
                    Ok(Job::WaSendText { to, text, .. }) => services
                        .graph
                        .send_text(&creds.phone_number_id, &creds.access_token, to, text)
                        .await
                        .map_err(SendError::Graph),
                    Ok(Job::WaMarkRead { wamid }) => services
                        .graph
                        .mark_read(&creds.phone_number_id, &creds.access_token, wamid)
                        .await
                        .map(|()| String::new())
                        .map_err(SendError::Graph),
                    Ok(other) => Err(SendError::Invalid(format!(
                        "unexpected job {}",
                        other.kind()
                    ))),
                    Err(e) => Err(SendError::Invalid(e.to_string())),
                };
                (*m, job.ok(), res)
            }
        });
        let results = join_all(sends).await;
        let mut token_dead = false;
        for (m, job, res) in results {
            token_dead |= matches!(&res, Err(SendError::Graph(e)) if e.is_auth());
            if settle(&services, &number, m, job, res).await? {
                // A notice for the operator was queued in the portal's outbox.
                registry.do_send(KickOwner(Owner::Portal(number.portal_id)));
            }
        }
        if token_dead {
            return Ok(None);
        }
    }
}

enum SendError {
    Graph(GraphError),
    Invalid(String),
}

async fn settle(
    services: &Ctx,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    job: Option<Job>,
    res: Result<String, SendError>,
) -> Result<bool, sea_orm::DbErr> {
    let message_id = match job {
        Some(Job::WaSendText { message_id, .. }) => Some(message_id),
        _ => None,
    };
    let txn = services.db.begin().await?;
    let mut notify_portal = false;
    match res {
        Ok(wamid) => {
            if let Some(id) = message_id {
                messages::set_wamid(&txn, id, &wamid).await?;
            }
            jobs::mark_done(&txn, &[m.id]).await?;
        }
        Err(SendError::Graph(e)) if e.is_auth() => {
            // The job waits until the number is reconnected; the operator and the tenant hear
            // of it once.
            jobs::retry_later(&txn, &[m.id], store::now_ms(), &e.to_string()).await?;
            if numbers::set_session_state(&txn, number.id, numbers::SESSION_TOKEN_INVALID).await? {
                tracing::error!(
                    number = number.id,
                    "WhatsApp access token rejected (190): sending stopped until the number is reconnected"
                );
                notify_portal =
                    notice(&txn, number, m, message_id, &explain(Some(190), "")).await?;
            }
        }
        Err(SendError::Graph(e)) if e.is_transient() => {
            let s = &services.settings;
            if m.attempts + 1 >= s.max_attempts {
                notify_portal =
                    fail(&txn, number, m, message_id, e.api_code(), &e.to_string()).await?;
            } else {
                let delay = jobs::backoff_ms(m.attempts, s.retry_base_ms, s.retry_max_ms);
                jobs::retry_later(&txn, &[m.id], store::now_ms() + delay, &e.to_string()).await?;
            }
        }
        Err(SendError::Graph(e)) => {
            notify_portal = fail(&txn, number, m, message_id, e.api_code(), &e.to_string()).await?;
        }
        Err(SendError::Invalid(why)) => {
            fail(&txn, number, m, message_id, None, &why).await?;
        }
    }
    txn.commit().await?;
    Ok(notify_portal)
}

/// A send that cannot succeed: the message fails and the operator is told why, in words.
/// Returns whether a notice was queued for the portal.
async fn fail(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    message_id: Option<i64>,
    code: Option<i64>,
    why: &str,
) -> Result<bool, sea_orm::DbErr> {
    tracing::warn!(job = m.id, reason = %why, "WhatsApp send failed for good");
    jobs::mark_dead(txn, &[m.id], why).await?;
    let Some(id) = message_id else {
        return Ok(false);
    };
    messages::fail(txn, &[id], why).await?;
    notice(txn, number, m, Some(id), &explain(code, why)).await
}

/// Queues a system notice in the Open Lines chat of the job's message (or of its chat, for a
/// job without one, such as a mark-as-read).
async fn notice(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    message_id: Option<i64>,
    text: &str,
) -> Result<bool, sea_orm::DbErr> {
    let mut target = match message_id {
        Some(id) => messages::get(txn, id).await?.and_then(|m| m.b24_chat_id),
        None => None,
    };
    if target.is_none() {
        if let Some(chat_id) = jobs::parse_chat_queue(&m.queue_key) {
            target = chats::get(txn, chat_id).await?.and_then(|c| c.b24_chat_id);
        }
    }
    let Some(im_chat_id) = target else {
        return Ok(false);
    };
    let notice = Job::B24Notice {
        im_chat_id: im_chat_id.clone(),
        text: text.to_string(),
    };
    jobs::enqueue(
        txn,
        &jobs::portal_owner(number.portal_id),
        &format!("notice:{im_chat_id}"),
        &notice,
    )
    .await?;
    Ok(true)
}
