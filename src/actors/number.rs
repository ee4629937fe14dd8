//! NumberActor: one per WhatsApp number. Owns the transport session (Cloud API credentials),
//! routes each inbox item to the chat actor of its customer, and sends the number's outbox.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use actix::prelude::*;
use futures::future::join_all;
use sea_orm::TransactionTrait;
use tracing::Instrument;

use crate::metrics::Settled;

use super::{
    chat::{ChatActor, ChatInfo, ChatWork},
    guarded,
    queue::{Overflow, Page},
    registry::{Kick, KickOwner, Owner, Registry, Route},
    Ctx, FaultSwitch,
};
use crate::{
    relay::{chat_key::parse_chat_key, inbox::InboxItem, jobs::Job},
    store::{
        self, chats, inbox, jobs, media as media_rows, messages,
        numbers::{self, CloudCredentials},
    },
    whatsapp::{
        cloud::GraphError,
        errors::explain,
        gateway::{self, GatewayError, Instance},
    },
};

/// Jobs of different chats sent in parallel per round (Cloud API allows 80 msg/s per number).
const PARALLEL_SENDS: usize = 16;

pub struct NumberActor {
    ctx: Ctx,
    id: i64,
    registry: Addr<Registry>,
    session: Option<(entity::numbers::Model, Transport)>,
    chats: HashMap<String, (Addr<ChatActor>, Instant)>,
    /// Catching up: until the stored backlog has been read (a page at a time, by id) after a
    /// start or a reload, live items are left in the inbox so that none overtakes an older one.
    overflow: Overflow,
    /// Bumped on a reload: a page read issued before it is ignored when it completes.
    epoch: u64,
    draining: bool,
    again: bool,
    fault: FaultSwitch,
    /// Gateway session states received and not yet stored, by inbox id (with the gateway's
    /// timestamp): stored one at a time in arrival order, so the newest one is the one that stays.
    states: BTreeMap<i64, (String, i64)>,
    /// A session state is being stored.
    storing_state: bool,
    /// The last session state stored: its inbox id and the gateway's timestamp.
    last_state: Option<(i64, i64)>,
}

impl NumberActor {
    pub fn new(ctx: Ctx, id: i64, registry: Addr<Registry>) -> Self {
        Self {
            ctx,
            id,
            registry,
            session: None,
            chats: HashMap::new(),
            overflow: Overflow::catching_up(),
            epoch: 0,
            draining: false,
            again: false,
            fault: FaultSwitch::default(),
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
        let registry = self.registry.clone();
        let me = ctx.address();
        let addr = Supervisor::start(move |_| ChatActor::new(services, info, registry, me));
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
        let fut = async move { inbox::unprocessed_after(&services.db, &owner, after, page).await };
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
            let Some(wa_id) = chat_of(&item) else {
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
        // Cluster mode: only the lease holder runs this owner's jobs.
        if !self.ctx.holds(&self.owner()) {
            return;
        }
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
            super::fault_point!(fault, "number actor panics in its job runner");
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

    /// Stores the oldest session state received, unless one is being stored (the next one waits
    /// for it: two stored at once could commit in either order and leave the older one).
    fn next_state(&mut self, ctx: &mut Context<Self>) {
        if self.storing_state {
            return;
        }
        let Some((inbox_id, (state, timestamp))) = self.states.pop_first() else {
            return;
        };
        // A state received before the last one stored (an item brought back by the sweep), or
        // stamped before it (the gateway retrying an old webhook) is out of date: only marked done.
        let stale = self
            .last_state
            .is_some_and(|(last_id, last_ts)| inbox_id <= last_id || timestamp < last_ts);
        self.storing_state = true;
        self.session_changed(inbox_id, state, timestamp, stale, ctx);
    }

    /// The gateway reported a new session state: store it (with its time); when it is lost,
    /// tell the operators of this number's recent chats; when it is back, send what waited.
    /// A `stale` one is only marked done.
    fn session_changed(
        &mut self,
        inbox_id: i64,
        state: String,
        timestamp: i64,
        stale: bool,
        ctx: &mut Context<Self>,
    ) {
        let services = self.ctx.clone();
        let id = self.id;
        let fut = async move {
            let txn = services.db.begin().await?;
            let changed = !stale && numbers::set_session_state(&txn, id, &state).await?;
            let mut notified = false;
            if changed && state != gateway::AUTHORIZED {
                let portal_id = numbers::get(&txn, id).await?.map(|n| n.portal_id);
                if let Some(portal_id) = portal_id {
                    for chat in chats::recent_with_b24(&txn, id, 20).await? {
                        if let Some(im_chat_id) = chat.b24_chat_id {
                            jobs::enqueue(
                                &txn,
                                &jobs::portal_owner(portal_id),
                                &format!("notice:{im_chat_id}"),
                                &Job::B24Notice {
                                    im_chat_id,
                                    text: format!(
                                        "{SESSION_LOST_NOTICE} (state: {})",
                                        crate::bitrix24::bbcode::escape(&state)
                                    ),
                                },
                            )
                            .await?;
                            notified = true;
                        }
                    }
                    if notified {
                        tracing::warn!(number = id, state = %state, "WhatsApp session lost; operators told");
                    }
                }
            }
            inbox::mark_processed(&txn, &[inbox_id]).await?;
            txn.commit().await?;
            Ok::<_, sea_orm::DbErr>((changed, notified, state))
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.storing_state = false;
            match res {
                Ok((changed, notified, state)) => {
                    if !stale {
                        act.last_state = Some((inbox_id, timestamp));
                    }
                    if notified {
                        if let Some((m, _)) = &act.session {
                            act.registry
                                .do_send(KickOwner(Owner::Portal(m.portal_id)));
                        }
                    }
                    if changed && state == gateway::AUTHORIZED {
                        act.kick(ctx);
                    }
                }
                Err(e) => tracing::warn!(number = act.id, error = %e, "storing a session state failed; the sweep retries"),
            }
            act.next_state(ctx);
        }));
    }

    /// Gateway numbers: ask the instance for its state now and then, in case a state webhook
    /// was lost.
    fn poll_state(&mut self, ctx: &mut Context<Self>) {
        let Some((m, Transport::Gateway(inst))) = self.session.clone() else {
            return;
        };
        if self.ctx.lifecycle.is_stopping() {
            return;
        }
        let services = self.ctx.clone();
        let fut = async move {
            match services.gateway.state(&inst).await {
                Ok(state) => numbers::set_session_state(&services.db, m.id, &state)
                    .await
                    .map(|changed| (changed, state))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((true, state)) if state == gateway::AUTHORIZED => act.kick(ctx),
            Ok(_) => {}
            Err(e) => tracing::warn!(number = act.id, error = %e, "gateway state poll failed"),
        }));
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
        let fut = async move { inbox::unprocessed(&services.db, &owner, before, 1000).await };
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
        self.draining = false;
        self.again = false;
        self.fault.clear();
        // What was received is read again from the inbox by the catch-up.
        self.states.clear();
        self.storing_state = false;
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
#[derive(Message)]
#[rtype(result = "()")]
pub struct NumberFault(pub super::Fault);

#[cfg(feature = "faults")]
impl Handler<NumberFault> for NumberActor {
    type Result = ();
    fn handle(&mut self, msg: NumberFault, ctx: &mut Self::Context) {
        self.fault.arm(msg.0);
        if !self.draining {
            self.kick(ctx);
        }
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
            addr.do_send(super::chat::ChatFaultMsg(msg.fault));
        }
    }
}

/// The customer (`wa_id`) whose chat an item belongs to; `None` for the number's own items
/// (session states) and for what cannot be routed.
pub fn chat_of(item: &InboxItem) -> Option<&str> {
    match item {
        InboxItem::WaMessage { from, .. } => Some(from),
        InboxItem::WaStatus { recipient_id, .. } => Some(recipient_id),
        InboxItem::Transcript { wa_id, .. } => Some(wa_id),
        InboxItem::WaSessionState { .. } => None,
        b24 => b24
            .b24_route()
            .and_then(|(_, chat_id, _)| parse_chat_key(chat_id))
            .map(|(wa, _)| wa),
    }
}

/// How this number reaches WhatsApp, with its decrypted credentials.
#[derive(Clone)]
pub enum Transport {
    Cloud(CloudCredentials),
    Gateway(Instance),
}

impl Transport {
    pub fn load(
        secrets: &crate::store::crypto::SecretBox,
        m: &entity::numbers::Model,
    ) -> Result<Self, crate::store::StoreError> {
        if m.transport == numbers::TRANSPORT_GATEWAY {
            Ok(Transport::Gateway(Instance {
                api_url: m.gateway_api_url.clone().unwrap_or_default(),
                id: m.gateway_instance_id.clone().unwrap_or_default(),
                token: secrets.decrypt(&m.access_token_enc)?,
            }))
        } else {
            Ok(Transport::Cloud(numbers::credentials(secrets, m)?))
        }
    }
}

/// Why a job did not go out, in the terms the outbox acts on.
#[derive(Debug)]
enum SendFailure {
    /// Retry with backoff (rate limits, 5xx, timeouts).
    Transient(String),
    /// The credentials are dead (Cloud 190, gateway 401/403): wait for a reconnect.
    Auth(String),
    /// The gateway's phone is not linked (or starting): wait for the session.
    NotAuthorized(String),
    /// This job cannot succeed.
    Permanent { code: Option<i64>, message: String },
}

impl From<GraphError> for SendFailure {
    fn from(e: GraphError) -> Self {
        if e.is_auth() {
            SendFailure::Auth(e.to_string())
        } else if e.is_transient() {
            SendFailure::Transient(e.to_string())
        } else {
            SendFailure::Permanent {
                code: e.api_code(),
                message: e.to_string(),
            }
        }
    }
}

impl From<GatewayError> for SendFailure {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::NotAuthorized(_) => SendFailure::NotAuthorized(e.to_string()),
            GatewayError::Credentials(_) => SendFailure::Auth(e.to_string()),
            e if e.is_transient() => SendFailure::Transient(e.to_string()),
            e => SendFailure::Permanent {
                code: None,
                message: e.to_string(),
            },
        }
    }
}

impl SendFailure {
    fn message(&self) -> &str {
        match self {
            SendFailure::Transient(m) | SendFailure::Auth(m) | SendFailure::NotAuthorized(m) => m,
            SendFailure::Permanent { message, .. } => message,
        }
    }
}

/// Performs one WhatsApp job; the provider's message id for a send.
async fn perform(
    services: &Ctx,
    number_id: i64,
    t: &Transport,
    job_id: i64,
    job: &Job,
) -> Result<String, SendFailure> {
    let invalid = |what: &str| SendFailure::Permanent {
        code: None,
        message: format!("{what} is not possible over this transport"),
    };
    match (t, job) {
        (Transport::Cloud(c), Job::WaSendText { to, text, .. }) => Ok(services
            .graph
            .send_text(&c.phone_number_id, &c.access_token, to, text)
            .await?),
        (Transport::Cloud(c), Job::WaMarkRead { wamid, .. }) => {
            services
                .graph
                .mark_read(&c.phone_number_id, &c.access_token, wamid)
                .await?;
            Ok(String::new())
        }
        (Transport::Gateway(i), Job::WaSendText { to, text, .. }) => Ok(services
            .gateway
            .send_message(i, &gateway::chat_id(to), text, None)
            .await?),
        (Transport::Gateway(i), Job::WaMarkRead { wamid, to }) => {
            let to = to.as_deref().unwrap_or_default();
            services
                .gateway
                .read_chat(i, &gateway::chat_id(to), wamid)
                .await?;
            Ok(String::new())
        }
        (Transport::Gateway(i), Job::WaDelete { to, wamid, .. }) => {
            services
                .gateway
                .delete_message(i, &gateway::chat_id(to), wamid)
                .await?;
            Ok(String::new())
        }
        (
            Transport::Gateway(i),
            Job::WaEdit {
                to, wamid, text, ..
            },
        ) => {
            services
                .gateway
                .edit_message(i, &gateway::chat_id(to), wamid, text)
                .await?;
            Ok(String::new())
        }
        (
            _,
            Job::WaSendMedia {
                message_id,
                to,
                link,
                name,
                mime,
                caption,
            },
        ) => {
            send_media(
                services,
                number_id,
                t,
                job_id,
                *message_id,
                MediaSend {
                    to,
                    link,
                    name,
                    mime,
                    caption,
                },
            )
            .await
        }
        (_, Job::WaDelete { .. }) => Err(invalid("deleting a sent message")),
        (_, Job::WaEdit { .. }) => Err(invalid("editing a sent message")),
        (_, other) => Err(SendFailure::Permanent {
            code: None,
            message: format!("unexpected job {} in a number's outbox", other.kind()),
        }),
    }
}

/// An operator's attachment as the job describes it.
struct MediaSend<'a> {
    to: &'a str,
    link: &'a str,
    name: &'a str,
    mime: &'a str,
    caption: &'a str,
}

/// Fetches an operator's attachment from the portal (once: a retry reuses the stored file) and
/// sends it: the Cloud API gets an upload and a typed message; the gateway fetches our link.
async fn send_media(
    services: &Ctx,
    number_id: i64,
    t: &Transport,
    job_id: i64,
    message_id: i64,
    f: MediaSend<'_>,
) -> Result<String, SendFailure> {
    let stored = super::media::operator_file(services, job_id, number_id, f.link, f.name, f.mime)
        .await
        .map_err(|e| SendFailure::Transient(e.to_string()))?;
    if stored.state != media_rows::STORED {
        return Err(SendFailure::Permanent {
            code: None,
            message: format!(
                "The file “{}” was not sent: {}.",
                f.name,
                stored.note.as_deref().unwrap_or("it could not be fetched")
            ),
        });
    }
    messages::set_media(&services.db, message_id, stored.id)
        .await
        .map_err(|e| SendFailure::Transient(e.to_string()))?;
    match t {
        Transport::Cloud(c) => {
            let kind = crate::media::cloud_kind(&stored.mime);
            let max = crate::media::max_bytes(kind);
            if stored.size as u64 > max {
                return Err(SendFailure::Permanent {
                    code: None,
                    message: format!(
                        "The file “{}” was not sent: it is {}, and WhatsApp accepts a {} of at most {}.",
                        f.name,
                        crate::media::human_size(stored.size as u64),
                        if kind == "document" { "file" } else { kind },
                        crate::media::human_size(max)
                    ),
                });
            }
            let bytes = services
                .media
                .get(&stored.storage_key)
                .await
                .map_err(|e| SendFailure::Transient(format!("media storage: {e}")))?;
            let media_id = services
                .graph
                .upload(
                    &c.phone_number_id,
                    &c.access_token,
                    bytes,
                    &stored.mime,
                    &stored.file_name,
                )
                .await?;
            Ok(services
                .graph
                .send_media(
                    &c.phone_number_id,
                    &c.access_token,
                    f.to,
                    kind,
                    &media_id,
                    f.caption,
                    &stored.file_name,
                )
                .await?)
        }
        Transport::Gateway(i) => Ok(services
            .gateway
            .send_file_by_url(
                i,
                &gateway::chat_id(f.to),
                &super::media::public_url(services, &stored),
                f.name,
                f.caption,
            )
            .await?),
    }
}

/// Sends due jobs: one job per chat per round (keeps order), chats in parallel.
async fn drain(
    services: Ctx,
    registry: Addr<Registry>,
    number: entity::numbers::Model,
    transport: Transport,
    owner: String,
) -> Result<Option<Duration>, sea_orm::DbErr> {
    loop {
        let Some(_guard) = services.lifecycle.enter() else {
            return Ok(None);
        };
        // A dead token or an unlinked phone stops all sending until the session is back
        // (a reconnect or a state webhook kicks us).
        match numbers::get(&services.db, number.id).await? {
            Some(n) if numbers::can_send(&n) => {}
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
        let number_id = number.id;
        let sends = round.iter().map(|m| {
            let services = &services;
            let transport = &transport;
            async move {
                let _running = crate::metrics::Running::start(&m.kind);
                let job = jobs::decode(m);
                let span = crate::metrics::job_span(std::iter::once(*m));
                let res = match &job {
                    Ok(j) => {
                        perform(services, number_id, transport, m.id, j)
                            .instrument(span)
                            .await
                    }
                    Err(e) => Err(SendFailure::Permanent {
                        code: None,
                        message: e.to_string(),
                    }),
                };
                (*m, job.ok(), res)
            }
        });
        let results = join_all(sends).await;
        let mut session_lost = false;
        for (m, job, res) in results {
            session_lost |= matches!(
                &res,
                Err(SendFailure::Auth(_)) | Err(SendFailure::NotAuthorized(_))
            );
            let span = crate::metrics::job_span(std::iter::once(m));
            if settle(&services, &number, m, job, res)
                .instrument(span)
                .await?
            {
                // A notice for the operator was queued in the portal's outbox.
                registry.do_send(KickOwner(Owner::Portal(number.portal_id)));
            }
        }
        if session_lost {
            return Ok(None);
        }
    }
}

async fn settle(
    services: &Ctx,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    job: Option<Job>,
    res: Result<String, SendFailure>,
) -> Result<bool, sea_orm::DbErr> {
    let txn = services.db.begin().await?;
    let mut notify_portal = false;
    let gateway = number.transport == numbers::TRANSPORT_GATEWAY;
    let how = match &res {
        Ok(_) => Settled::Done,
        Err(SendFailure::Auth(_)) | Err(SendFailure::NotAuthorized(_)) => Settled::Retry,
        Err(SendFailure::Transient(_)) if m.attempts + 1 < services.settings.max_attempts => {
            Settled::Retry
        }
        Err(_) => Settled::Dead,
    };
    match res {
        Ok(provider_id) => {
            match &job {
                Some(Job::WaSendText { message_id, .. })
                | Some(Job::WaSendMedia { message_id, .. }) => {
                    messages::set_wamid(&txn, *message_id, &provider_id).await?;
                }
                Some(Job::WaDelete { message_id, .. }) => {
                    messages::set_status_many(&txn, &[*message_id], messages::DELETED).await?;
                }
                Some(Job::WaEdit {
                    message_id, text, ..
                }) => {
                    messages::set_text(&txn, *message_id, text).await?;
                }
                _ => {}
            }
            jobs::mark_done(&txn, &[m.id]).await?;
        }
        Err(SendFailure::Auth(why)) => {
            // The job waits until the number is reconnected; the operator and the tenant hear
            // of it once.
            jobs::retry_later(&txn, &[m.id], store::now_ms(), &why).await?;
            if numbers::set_session_state_since(
                &txn,
                number.id,
                numbers::SESSION_TOKEN_INVALID,
                Some(&number.access_token_enc),
            )
            .await?
            {
                tracing::error!(
                    number = number.id,
                    "WhatsApp credentials rejected: sending stopped until the number is reconnected"
                );
                let text = if gateway {
                    "Not sent: the WhatsApp gateway rejected this number's instance credentials. \
                     Messages wait until an administrator reconnects the number."
                        .to_string()
                } else {
                    explain(Some(190), "")
                };
                notify_portal = notice(&txn, number, m, job_message(&job), &text).await?;
            }
        }
        Err(SendFailure::NotAuthorized(why)) => {
            jobs::retry_later(&txn, &[m.id], store::now_ms(), &why).await?;
            // The gateway's word on its session is current whatever credentials were used.
            if numbers::set_session_state(&txn, number.id, gateway::NOT_AUTHORIZED).await? {
                tracing::warn!(
                    number = number.id,
                    "gateway instance not authorized: sending paused"
                );
                notify_portal =
                    notice(&txn, number, m, job_message(&job), SESSION_LOST_NOTICE).await?;
            }
        }
        Err(SendFailure::Transient(why)) => {
            let s = &services.settings;
            if m.attempts + 1 >= s.max_attempts {
                notify_portal = fail(&txn, number, m, &job, None, &why).await?;
            } else {
                let delay = jobs::backoff_ms(m.attempts, s.retry_base_ms, s.retry_max_ms);
                jobs::retry_later(&txn, &[m.id], store::now_ms() + delay, &why).await?;
            }
        }
        Err(f @ SendFailure::Permanent { .. }) => {
            let code = match &f {
                SendFailure::Permanent { code, .. } => *code,
                _ => None,
            };
            notify_portal = fail(&txn, number, m, &job, code, f.message()).await?;
        }
    }
    txn.commit().await?;
    crate::metrics::settled(m, how);
    Ok(notify_portal)
}

/// Told to the operator when a gateway number's phone is unlinked.
pub const SESSION_LOST_NOTICE: &str = "WhatsApp is not linked for this number right now (the \
    phone logged out or the session ended). Messages wait and go out in order once an \
    administrator links the phone again by scanning the QR code.";

fn job_message(job: &Option<Job>) -> Option<i64> {
    match job {
        Some(Job::WaSendText { message_id, .. })
        | Some(Job::WaSendMedia { message_id, .. })
        | Some(Job::WaDelete { message_id, .. })
        | Some(Job::WaEdit { message_id, .. }) => Some(*message_id),
        _ => None,
    }
}

/// A job that cannot succeed: a send fails (and the message with it), a delete or an edit is
/// reported as not done; the operator is told why, in words. Returns whether a notice was queued.
async fn fail(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    job: &Option<Job>,
    code: Option<i64>,
    why: &str,
) -> Result<bool, sea_orm::DbErr> {
    tracing::warn!(job = m.id, reason = %why, "WhatsApp job failed for good");
    jobs::mark_dead(txn, &[m.id], why).await?;
    let text = match job {
        Some(Job::WaSendText { message_id, .. }) => {
            messages::fail(txn, &[*message_id], why).await?;
            explain(code, why)
        }
        Some(Job::WaSendMedia { message_id, .. }) => {
            messages::fail(txn, &[*message_id], why).await?;
            // Our own reasons (size, a vanished attachment) are already in words.
            if code.is_none() && why.starts_with("The file") {
                why.to_string()
            } else {
                explain(code, why)
            }
        }
        Some(Job::WaDelete { .. }) => format!(
            "Could not delete this message in WhatsApp ({why}); the customer still sees it."
        ),
        Some(Job::WaEdit { .. }) => format!(
            "Could not edit this message in WhatsApp ({why}); the customer still sees the original text."
        ),
        // A mark-as-read that failed is not worth an operator's attention.
        _ => return Ok(false),
    };
    notice(txn, number, m, job_message(job), &text).await
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

impl Handler<super::registry::Retire> for NumberActor {
    type Result = ();
    /// Another node holds this owner's lease now: stop (stored work stays for it).
    fn handle(&mut self, _: super::registry::Retire, ctx: &mut Self::Context) {
        // Dropping the chats' addresses stops them; they hold ours, so this comes first.
        self.chats.clear();
        self.session = None;
        ctx.stop();
    }
}
