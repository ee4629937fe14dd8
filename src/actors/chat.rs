//! ChatActor: one per (number, customer). Processes that chat's items strictly in order
//! (`AtomicResponse`), owns each message's state and the wamid ↔ Bitrix24 id map, and queues
//! outbound jobs for the portal (to Bitrix24) or the number (to WhatsApp).

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use actix::prelude::*;
use sea_orm::DbErr;

mod apply;
mod avatar;
pub(crate) mod crm;
mod customer;
mod operator;
mod template;

use apply::process;

use super::{
    guarded, media,
    messages::{KickOwner, Owner},
    queue::{low_water, Overflow, Page},
    Ctx, FaultSwitch,
};
use crate::{
    relay::inbox::{CustomerAction, InboxItem},
    store::{
        inbox::{self, Unprocessed},
        jobs,
    },
};

#[derive(Debug, Clone)]
pub struct ChatInfo {
    pub number_id: i64,
    /// `cloud` or `gateway`: what the transport can do with sent messages.
    pub transport: String,
    pub portal_id: i64,
    pub line: String,
    pub phone_number_id: String,
    pub wa_id: String,
}

impl ChatInfo {
    /// The language the portal's operators read, as stored now (a change applies to the next
    /// text rendered, with no restart).
    pub(crate) async fn lang<C: sea_orm::ConnectionTrait>(
        &self,
        c: &C,
    ) -> Result<crate::i18n::Lang, DbErr> {
        crate::store::portals::language_of(c, self.portal_id).await
    }
}

/// Items applied per transaction.
const BATCH: usize = 64;

pub struct ChatActor {
    ctx: Ctx,
    info: ChatInfo,
    /// The number, which started this chat: jobs queued for an owner are reported to it (and
    /// held, the number outlives its chats' in-flight work).
    number: Recipient<KickOwner>,
    /// Items not yet applied, in arrival (inbox id) order. Kept across a restart, so the item
    /// that was being processed when the actor died is retried before anything after it.
    /// At most `chat_queue_cap` items: beyond it the chat spills (`overflow`).
    backlog: BTreeMap<i64, InboxItem>,
    /// Whether live items are queued, or left in the inbox and read back in order later.
    overflow: Overflow,
    /// The backlog length last added to the queue-items gauge.
    counted: usize,
    /// The chat row's (id, customer name) once known: saves a lookup per message.
    chat: Option<(i64, String)>,
    busy: bool,
    /// Consecutive failed attempts to fetch the file at the head of the backlog.
    fetch_failures: u32,
    fault: FaultSwitch,
}

/// What one run over the backlog did.
struct Ran {
    /// Inbox ids done with.
    done: Vec<i64>,
    /// Owners whose outbox got new jobs.
    kicks: Vec<Owner>,
    chat: Option<(i64, String)>,
    /// The batch failed and rolled back.
    failure: Option<DbErr>,
    /// A customer's file could not be fetched now: the backlog waits at that message.
    fetch_error: Option<String>,
}

impl ChatActor {
    /// Brings the queue-items gauge in line with the backlog.
    fn sync_gauge(&mut self) {
        let len = self.backlog.len();
        crate::metrics::queue_items(crate::metrics::QUEUE_CHAT, len as i64 - self.counted as i64);
        self.counted = len;
    }

    /// Queues a live (or swept) item, or leaves it in the inbox when over the cap.
    fn admit(&mut self, inbox_id: i64, item: InboxItem, ctx: &mut Context<Self>) {
        // A sweep re-sends items that may be queued already: no second copy, and no spill.
        if self.backlog.contains_key(&inbox_id) {
            return;
        }
        let cap = self.ctx.settings.chat_queue_cap;
        let was_spilled = self.overflow.is_spilled();
        if self.overflow.admit(inbox_id, self.backlog.len(), cap) {
            self.backlog.insert(inbox_id, item);
            self.sync_gauge();
            self.run(ctx);
            return;
        }
        crate::metrics::queue_spilled(crate::metrics::QUEUE_CHAT);
        if !was_spilled {
            tracing::info!(
                number = self.info.number_id,
                cap,
                "chat backlog at its cap; further items wait in the inbox"
            );
        }
        self.refill(ctx);
    }

    /// Spilled and drained to the low-water mark: reads the next page of the number's
    /// unprocessed inbox items (by id) and queues this chat's, up to the cap.
    fn refill(&mut self, ctx: &mut Context<Self>) {
        let cap = self.ctx.settings.chat_queue_cap.max(1);
        if !self.overflow.wants_read(self.backlog.len(), low_water(cap))
            || self.ctx.lifecycle.is_stopping()
        {
            return;
        }
        let after = self.overflow.read_started();
        let services = self.ctx.clone();
        let owner = jobs::number_owner(self.info.number_id);
        let page = self.ctx.settings.inbox_page.max(1);
        let fut = async move {
            inbox::unprocessed(&services.db, &owner, Unprocessed::After(after), page).await
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(rows) => {
                let mut last = None;
                let mut consumed_all = true;
                for row in &rows {
                    match inbox::decode(row) {
                        Ok(item) if item.customer() == Some(act.info.wa_id.as_str()) => {
                            if act.backlog.len() >= cap {
                                consumed_all = false;
                                break;
                            }
                            act.backlog.insert(row.id, item);
                        }
                        // Another chat's item, or one nobody can decode (skipped everywhere).
                        _ => {}
                    }
                    last = Some(row.id);
                }
                let at_end = consumed_all && (rows.len() as u64) < page;
                act.overflow.read_done(Page { last, at_end });
                if !act.overflow.is_spilled() {
                    tracing::info!(number = act.info.number_id, "chat caught up with its inbox");
                }
                act.sync_gauge();
                act.run(ctx);
                act.refill(ctx);
            }
            Err(e) => {
                act.overflow.read_failed();
                tracing::warn!(number = act.info.number_id, error = %e, "reading the chat's inbox failed; retrying");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.refill(ctx));
            }
        }));
    }

    pub fn new(ctx: Ctx, info: ChatInfo, number: Recipient<KickOwner>) -> Self {
        Self {
            ctx,
            info,
            number,
            backlog: BTreeMap::new(),
            overflow: Overflow::open(),
            counted: 0,
            chat: None,
            busy: false,
            fetch_failures: 0,
            fault: FaultSwitch::default(),
        }
    }

    /// Applies the backlog in order, up to `BATCH` items per transaction (one commit instead of
    /// one per message); a failure rolls the batch back and retries it, so nothing overtakes it.
    fn run(&mut self, ctx: &mut Context<Self>) {
        // While stopping, nothing new starts: the items stay unprocessed in the inbox and the
        // next start picks them up. (Re-running here would spin without ever yielding.)
        if self.busy || self.backlog.is_empty() || self.ctx.lifecycle.is_stopping() {
            return;
        }
        self.busy = true;
        let items: Vec<(i64, InboxItem)> = self
            .backlog
            .iter()
            .take(BATCH)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let services = self.ctx.clone();
        let info = self.info.clone();
        let panic_now = self.fault.take();
        let cached = self.chat.clone();
        let give_up = self.fetch_failures >= self.ctx.settings.max_attempts.max(1) as u32;
        let fut = guarded(async move {
            let mut ran = Ran {
                done: Vec::new(),
                kicks: Vec::new(),
                chat: None,
                failure: None,
                fetch_error: None,
            };
            let Some(_guard) = services.lifecycle.enter() else {
                return ran;
            };
            avatar::refresh(&services, &info, &items).await;
            // Files first, outside the transaction: a message goes out with its file, and what
            // follows it waits until it has.
            let (files, upto, fetch_error) = prefetch(&services, &info, &items, give_up).await;
            ran.fetch_error = fetch_error;
            ran.chat = cached.clone();
            if upto == 0 {
                return ran;
            }
            let mut items = items;
            items.truncate(upto);
            match process(services.clone(), info, items, files, panic_now, cached).await {
                Ok((done, kicks, chat)) => {
                    ran.done = done;
                    ran.kicks = kicks;
                    ran.chat = chat;
                }
                Err(e) => {
                    ran.chat = None;
                    ran.failure = Some(e);
                }
            }
            ran
        });
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            act.busy = false;
            match res {
                Ok(ran) => {
                    // A failed batch rolled back: a row it created may not exist.
                    act.chat = ran.chat;
                    for id in ran.done {
                        act.backlog.remove(&id);
                    }
                    act.sync_gauge();
                    act.refill(ctx);
                    let kicks: std::collections::HashSet<Owner> = ran.kicks.into_iter().collect();
                    for owner in kicks {
                        act.number.do_send(KickOwner(owner));
                    }
                    if let Some(e) = ran.failure {
                        tracing::warn!(number = act.info.number_id, error = %e, "chat item failed; retrying");
                        ctx.run_later(Duration::from_millis(500), |act, ctx| act.run(ctx));
                    } else if let Some(why) = ran.fetch_error {
                        act.fetch_failures += 1;
                        let s = &act.ctx.settings;
                        let delay = jobs::backoff_ms(
                            act.fetch_failures as i32 - 1,
                            s.retry_base_ms,
                            s.retry_max_ms,
                        );
                        tracing::warn!(number = act.info.number_id, error = %why, attempt = act.fetch_failures, "customer file not fetched; retrying");
                        ctx.run_later(Duration::from_millis(delay as u64), |act, ctx| act.run(ctx));
                    } else {
                        act.fetch_failures = 0;
                        act.run(ctx);
                    }
                }
                Err(panic) => {
                    tracing::error!(number = act.info.number_id, panic = %panic, "chat actor panicked; restarting");
                    ctx.stop();
                }
            }
        }));
    }
}

/// Fetches the files of the batch's new customer messages, in order. Stops at the first one
/// that cannot be fetched now (returned with how many items may be applied before it); with
/// `give_up` (it failed too often) that file is recorded as not relayed instead, with the
/// reason, and the message goes on without it.
async fn prefetch(
    services: &Ctx,
    info: &ChatInfo,
    items: &[(i64, InboxItem)],
    give_up: bool,
) -> (HashMap<String, entity::media::Model>, usize, Option<String>) {
    let mut files = HashMap::new();
    for (i, (_, item)) in items.iter().enumerate() {
        let InboxItem::WaMessage {
            wamid,
            media: Some(mref),
            action: CustomerAction::New,
            ..
        } = item
        else {
            continue;
        };
        let (number_id, wa_id) = (info.number_id, &info.wa_id);
        match media::customer_file(services, number_id, wa_id, wamid, mref, give_up).await {
            Ok(m) => {
                files.insert(wamid.clone(), m);
            }
            Err(e) => return (files, i, Some(e.to_string())),
        }
    }
    (files, items.len(), None)
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        crate::metrics::actor_started(crate::metrics::ACTOR_CHAT);
        self.sync_gauge();
        self.run(ctx);
        self.refill(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Balanced with `started` (a supervised restart calls both).
        crate::metrics::actor_stopped(crate::metrics::ACTOR_CHAT);
        crate::metrics::queue_cleared(crate::metrics::QUEUE_CHAT, &mut self.counted);
    }
}

impl Supervised for ChatActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        // State is in the database and the backlog; `started` resumes the backlog in order.
        self.busy = false;
        self.fault.clear();
        // A page read cut off by the restart is issued again (the spawned read is gone).
        self.overflow.read_failed();
        tracing::info!(number = self.info.number_id, "chat actor restarted");
    }
}

/// One stored inbox item for this chat.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatWork {
    pub inbox_id: i64,
    pub item: InboxItem,
}

#[cfg(feature = "faults")]
impl Handler<super::messages::ArmFault> for ChatActor {
    type Result = ();
    fn handle(&mut self, msg: super::messages::ArmFault, _: &mut Self::Context) {
        self.fault.arm(msg.0);
    }
}

impl Handler<ChatWork> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: ChatWork, ctx: &mut Self::Context) {
        self.admit(msg.inbox_id, msg.item, ctx);
    }
}
