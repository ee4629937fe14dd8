//! ChatActor: one per (number, customer). Processes that chat's items strictly in order
//! (`AtomicResponse`), owns each message's state and the wamid ↔ Bitrix24 id map, and queues
//! outbound jobs for the portal (to Bitrix24) or the number (to WhatsApp).

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use actix::prelude::*;
use sea_orm::{DatabaseTransaction, DbErr, TransactionTrait};
use serde_json::Value;
use tracing::Instrument;

use super::{
    guarded,
    media::{self, MediaFailure},
    number::{chat_of, NumberActor},
    queue::{low_water, Overflow, Page},
    registry::{KickOwner, Owner, Registry},
    Ctx, FaultSwitch,
};
use crate::{
    billing::Transcription,
    relay::{
        inbox::{CustomerAction, InboxItem, OperatorFile},
        jobs::Job,
        states::{self, ReceiptEffect},
        to_bitrix24 as to_b24, to_whatsapp as to_wa,
    },
    store::{
        chats, inbox, jobs, media as media_rows,
        messages::{self, Content},
    },
    trace,
    whatsapp::errors::explain,
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

/// Items applied per transaction.
const BATCH: usize = 64;

pub struct ChatActor {
    ctx: Ctx,
    info: ChatInfo,
    registry: Addr<Registry>,
    // Held so the number actor outlives its chats' in-flight work.
    _number: Addr<NumberActor>,
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
        let fut = async move { inbox::unprocessed_after(&services.db, &owner, after, page).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(rows) => {
                let mut last = None;
                let mut consumed_all = true;
                for row in &rows {
                    match inbox::decode(row) {
                        Ok(item) if chat_of(&item) == Some(act.info.wa_id.as_str()) => {
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

    pub fn new(
        ctx: Ctx,
        info: ChatInfo,
        registry: Addr<Registry>,
        number: Addr<NumberActor>,
    ) -> Self {
        Self {
            ctx,
            info,
            registry,
            _number: number,
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
            // Files first, outside the transaction: a message goes out with its file, and what
            // follows it waits until it has.
            let (files, upto, fetch_error) = prefetch(&services, &info, &items, give_up).await;
            ran.fetch_error = fetch_error;
            ran.chat = cached.clone();
            if upto == 0 {
                return ran;
            }
            match process(&services, &info, &items[..upto], &files, panic_now, cached).await {
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
                        act.registry.do_send(KickOwner(owner));
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
        let got =
            match media::customer_file(services, info.number_id, &info.wa_id, wamid, mref).await {
                Err(MediaFailure::Transient(why)) if give_up => {
                    media::give_up(services, info.number_id, wamid, mref, &why).await
                }
                other => other,
            };
        match got {
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
        crate::metrics::queue_items(crate::metrics::QUEUE_CHAT, -(self.counted as i64));
        self.counted = 0;
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
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatFaultMsg(pub super::Fault);

#[cfg(feature = "faults")]
impl Handler<ChatFaultMsg> for ChatActor {
    type Result = ();
    fn handle(&mut self, msg: ChatFaultMsg, _: &mut Self::Context) {
        self.fault.arm(msg.0);
    }
}

impl Handler<ChatWork> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: ChatWork, ctx: &mut Self::Context) {
        self.admit(msg.inbox_id, msg.item, ctx);
    }
}

/// Applies items in order in one transaction; returns the inbox ids that are done with (applied,
/// already applied, or a receipt that must wait for its send) and the owners whose outbox got
/// new jobs.
async fn process(
    services: &Ctx,
    info: &ChatInfo,
    items: &[(i64, InboxItem)],
    files: &HashMap<String, entity::media::Model>,
    panic_now: bool,
    mut chat: Option<(i64, String)>,
) -> Result<(Vec<i64>, Vec<Owner>, Option<(i64, String)>), DbErr> {
    let txn = services.db.begin().await?;
    let ids: Vec<i64> = items.iter().map(|(id, _)| *id).collect();
    // A sweep and a live dispatch can both deliver an item: apply only what is still open.
    let open = inbox::unprocessed_among(&txn, &ids).await?;
    let mut done = Vec::with_capacity(items.len());
    let mut applied = Vec::with_capacity(items.len());
    let mut kicks = Vec::new();
    for (inbox_id, item) in items {
        done.push(*inbox_id);
        let Some((trace_id, stored_at)) = open.get(inbox_id) else {
            continue;
        };
        // The item's trace context: the jobs it queues carry its trace id and entry time, and
        // what is logged while applying it carries the trace id.
        let trace_id = trace_id
            .clone()
            .unwrap_or_else(|| format!("inbox-{inbox_id}"));
        let span = tracing::info_span!("chat", trace_id = %trace_id, number = info.number_id, inbox = inbox_id);
        let ctx = trace::TraceCtx::new(trace_id, Some(*stored_at));
        let apply = async {
            let k = match item {
                InboxItem::WaMessage {
                    name,
                    wamid,
                    timestamp,
                    text,
                    action,
                    reply_to,
                    media: mref,
                    ..
                } => match action {
                    CustomerAction::New => {
                        // A reply shows the operator what it answers.
                        let quoted = match reply_to {
                            Some(q) => messages::find_by_wamid(&txn, q).await?.map(|m| m.text),
                            None => None,
                        };
                        let text = match quoted {
                            Some(q) => to_b24::with_quote(&q, text),
                            None => text.clone(),
                        };
                        let file = match mref {
                            Some(r) => files.get(wamid).map(|m| (r.kind.as_str(), m)),
                            None => None,
                        };
                        let new = NewMessage {
                            name,
                            wamid,
                            timestamp: *timestamp,
                            text: &text,
                            file,
                        };
                        customer_message(&txn, services, info, &mut chat, new).await?
                    }
                    CustomerAction::Revoke { original } => {
                        customer_changed(&txn, info, original, None).await?
                    }
                    CustomerAction::Edit { original, text } => {
                        customer_changed(&txn, info, original, Some(text)).await?
                    }
                    CustomerAction::Reaction { target, emoji } => {
                        let quoted = messages::find_by_wamid(&txn, target).await?;
                        let note =
                            to_b24::reaction_note(emoji, quoted.as_ref().map(|m| m.text.as_str()));
                        let new = NewMessage {
                            name,
                            wamid,
                            timestamp: *timestamp,
                            text: &note,
                            file: None,
                        };
                        customer_message(&txn, services, info, &mut chat, new).await?
                    }
                },
                InboxItem::WaStatus {
                    wamid,
                    status,
                    timestamp,
                    error,
                    error_code,
                    ..
                } => match receipt(
                    &txn,
                    info,
                    wamid,
                    status,
                    *timestamp,
                    error.as_deref(),
                    *error_code,
                )
                .await?
                {
                    Some(kicks) => kicks,
                    // The send that produced this wamid is not stored yet: the item stays open in
                    // the inbox and the sweep brings it back (receipt() wrote nothing).
                    None => return Ok(None),
                },
                InboxItem::B24OperatorMessage {
                    im_chat_id,
                    im_message_id,
                    text,
                    files,
                    ..
                } => {
                    let mut k = operator_message(
                        &txn,
                        info,
                        &mut chat,
                        im_chat_id,
                        im_message_id,
                        text,
                        files,
                    )
                    .await?;
                    k.extend(operator_quota(&txn, services, info, &mut chat, im_chat_id).await?);
                    k
                }
                InboxItem::Transcript {
                    message_id,
                    text,
                    note,
                    ..
                } => {
                    transcript_ready(
                        &txn,
                        services,
                        info,
                        *message_id,
                        text.as_deref(),
                        note.as_deref(),
                    )
                    .await?
                }
                InboxItem::B24OperatorEdit { ids, text, .. } => {
                    operator_changed(&txn, info, ids.first().map(String::as_str), Some(text))
                        .await?
                }
                InboxItem::B24OperatorDelete { id, .. } => {
                    operator_changed(&txn, info, Some(id.as_str()), None).await?
                }
                // Handled by the number actor; never routed to a chat.
                InboxItem::WaSessionState { .. } => Vec::new(),
            };
            tracing::debug!(jobs_for = ?k, "chat applied an item");
            Ok::<_, DbErr>(Some(k))
        };
        let Some(k) = trace::scope(ctx, apply.instrument(span)).await? else {
            continue;
        };
        applied.push(*inbox_id);
        kicks.extend(k);
    }
    // Fault injection: dies after writing, before commit, the worst moment.
    super::fault_point!(panic_now, "chat actor panics while processing an item");
    inbox::mark_processed(&txn, &applied).await?;
    txn.commit().await?;
    Ok((done, kicks, chat))
}

/// Queues `job` in this chat's ordered queue of `owner` (the portal: to Bitrix24; the number:
/// to WhatsApp), so it never overtakes what the chat queued before.
async fn queue(
    txn: &DatabaseTransaction,
    owner: Owner,
    chat_id: i64,
    job: &Job,
) -> Result<(), DbErr> {
    jobs::enqueue(txn, &owner.key(), &jobs::chat_queue(chat_id), job).await?;
    Ok(())
}

/// The chat row's id, from the actor's cache or the database (created on first use); keeps
/// the customer's name current.
async fn chat_row(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    name: &str,
) -> Result<i64, DbErr> {
    let (id, stored) = match cache.take() {
        Some(c) => c,
        None => {
            let m = chats::get_or_create(txn, info.number_id, &info.wa_id, name).await?;
            (m.id, m.customer_name)
        }
    };
    let current = if !name.is_empty() && stored != name {
        chats::set_name(txn, id, name).await?;
        name.to_string()
    } else {
        stored
    };
    *cache = Some((id, current));
    Ok(id)
}

/// A customer's new message as the chat applies it.
struct NewMessage<'a> {
    name: &'a str,
    wamid: &'a str,
    timestamp: i64,
    text: &'a str,
    /// (kind, stored file) of a media message.
    file: Option<(&'a str, &'a entity::media::Model)>,
}

/// The Bitrix24 `files` entry of a stored file (the portal downloads it from us).
fn b24_file(services: &Ctx, m: &entity::media::Model) -> Value {
    to_b24::file_entry(&media::public_url(services, m), &m.file_name)
}

impl ChatInfo {
    fn customer(&self) -> to_b24::Customer<'_> {
        to_b24::Customer {
            wa_id: &self.wa_id,
            phone_number_id: &self.phone_number_id,
        }
    }
}

async fn customer_message(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    new: NewMessage<'_>,
) -> Result<Vec<Owner>, DbErr> {
    let NewMessage {
        name,
        wamid,
        timestamp,
        text,
        file,
    } = new;
    let chat_id = chat_row(txn, info, cache, name).await?;
    let mut text = text.to_string();
    let mut files = Vec::new();
    let mut stored = None;
    if let Some((kind, m)) = file {
        if m.state == media_rows::STORED {
            files.push(b24_file(services, m));
            stored = Some(m);
        } else {
            // Never a silent drop: the operator learns a file came and why it is not here.
            text = to_b24::append_line(&text, &to_b24::file_not_relayed(kind, m.note.as_deref()));
        }
    }
    let content = Content {
        kind: file.map(|(k, _)| k).unwrap_or("text"),
        media_id: file.map(|(_, m)| m.id),
    };
    let Some(message_id) =
        messages::insert_inbound(txn, chat_id, wamid, &text, timestamp * 1000, content).await?
    else {
        // Seen before (a redelivery under another inbox id): already relayed.
        return Ok(Vec::new());
    };
    // Quotas never hold a message back: over the plan it is relayed all the same, and the
    // operators are told once a month (in this chat).
    let over_notice = services
        .billing
        .message(txn, info.portal_id)
        .await?
        .map(to_b24::over_messages_notice);
    let mut transcribe = services.transcription;
    if let (true, Some(("voice", _)), Some(m)) = (transcribe, file, stored) {
        let seconds = f64::from(m.seconds.unwrap_or(0.0));
        if let Transcription::UsedUp(minutes) = services
            .billing
            .transcription(txn, info.portal_id, seconds)
            .await?
        {
            transcribe = false;
            text = to_b24::append_line(&text, &to_b24::transcription_used_up(minutes));
        }
    }
    let mut kicks = vec![Owner::Portal(info.portal_id)];
    let mut after_send = None;
    if let Some(notice) = over_notice {
        match chats::get(txn, chat_id).await?.and_then(|c| c.b24_chat_id) {
            // A system notice after the message, in the same ordered queue.
            Some(im_chat_id) => {
                after_send = Some(Job::B24Notice {
                    im_chat_id,
                    text: notice,
                })
            }
            // A chat Bitrix24 has not opened yet has no id to post to: the notice rides along
            // with the message itself.
            None if text.is_empty() => text = format!("[i]{notice}[/i]"),
            None => text = format!("{text}[br][i]{notice}[/i]"),
        }
    }
    let item = to_b24::new_message(info.customer(), name, wamid, timestamp, &text, files);
    let job = Job::B24SendMessage {
        message_id,
        chat_id,
        line: info.line.clone(),
        item,
    };
    queue(txn, Owner::Portal(info.portal_id), chat_id, &job).await?;
    if let Some(notice) = after_send {
        queue(txn, Owner::Portal(info.portal_id), chat_id, &notice).await?;
    }
    // A voice note goes out at once; its transcript follows as an update of that message.
    if let (Some(("voice", _)), Some(m)) = (file, stored) {
        if transcribe {
            let job = Job::Transcribe {
                message_id,
                number_id: info.number_id,
                wa_id: info.wa_id.clone(),
                media_id: m.id,
            };
            jobs::enqueue(
                txn,
                jobs::TRANSCRIBER_OWNER,
                &format!("voice:{chat_id}"),
                &job,
            )
            .await?;
            kicks.push(Owner::Transcriber);
        }
    }
    Ok(kicks)
}

/// A voice note's transcript (or why there is none) is attached to the message already in
/// Open Lines: the same message is updated, keeping its file, so the text shows next to it.
async fn transcript_ready(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    message_id: i64,
    text: Option<&str>,
    note: Option<&str>,
) -> Result<Vec<Owner>, DbErr> {
    let Some(msg) = messages::get(txn, message_id).await? else {
        return Ok(Vec::new());
    };
    let Some(wamid) = msg.wamid.clone() else {
        return Ok(Vec::new());
    };
    if msg.status == messages::DELETED || msg.transcript.is_some() {
        return Ok(Vec::new());
    }
    let line = to_b24::transcript_line(text, note);
    messages::set_transcript(txn, msg.id, text.or(note).unwrap_or("")).await?;
    let full = to_b24::append_line(&msg.text, &line);
    let file = match msg.media_id {
        Some(media_id) => media_rows::get(txn, media_id)
            .await?
            .filter(|m| m.state == media_rows::STORED)
            .map(|m| b24_file(services, &m)),
        None => None,
    };
    let item = to_b24::updated_message(info.customer(), &wamid, &full, file);
    let job = Job::B24UpdateMessage {
        line: info.line.clone(),
        item,
    };
    // Same queue as the voice message's send: the update never overtakes it.
    queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await?;
    Ok(vec![Owner::Portal(info.portal_id)])
}

/// Moves an outbound message's state forward only and reports each new step to Bitrix24 once.
/// `None` when the wamid is not known (yet).
async fn receipt(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    wamid: &str,
    status: &str,
    timestamp: i64,
    error: Option<&str>,
    error_code: Option<i64>,
) -> Result<Option<Vec<Owner>>, DbErr> {
    let Some(msg) = messages::find_by_wamid(txn, wamid).await? else {
        return Ok(None);
    };
    if msg.direction != messages::OUT {
        return Ok(Some(Vec::new()));
    }
    let at = timestamp * 1000;
    let (target, report_delivered, report_read) = match states::on_receipt(&msg.status, status) {
        ReceiptEffect::Ignore => return Ok(Some(Vec::new())),
        ReceiptEffect::Advance {
            to,
            report_delivered,
            report_read,
        } => (to, report_delivered, report_read),
        ReceiptEffect::Fail => {
            return failed(txn, info, &msg, error, error_code).await.map(Some);
        }
    };
    messages::advance(txn, msg.id, target, at).await?;
    let (Some(im_chat), Some(im_msg)) = (&msg.b24_chat_id, &msg.b24_message_id) else {
        return Ok(Some(Vec::new()));
    };
    // delivered → the operator's "delivered"; read → "read" (and "delivered" first if skipped).
    let steps = [(report_delivered, false), (report_read, true)];
    for (_, reading) in steps.into_iter().filter(|(due, _)| *due) {
        let item = to_b24::status(info.customer(), im_chat, im_msg, wamid, reading, timestamp);
        let job = Job::B24Status {
            message_id: msg.id,
            line: info.line.clone(),
            reading,
            item,
        };
        queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await?;
    }
    Ok(Some(vec![Owner::Portal(info.portal_id)]))
}

/// An outbound message failed before it was delivered: marked failed, and the operator is told
/// why in words.
async fn failed(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    msg: &entity::messages::Model,
    error: Option<&str>,
    error_code: Option<i64>,
) -> Result<Vec<Owner>, DbErr> {
    let why = error.unwrap_or("WhatsApp reported the message as failed");
    messages::fail(txn, &[msg.id], why).await?;
    let Some(im_chat_id) = &msg.b24_chat_id else {
        return Ok(Vec::new());
    };
    let notice = Job::B24Notice {
        im_chat_id: im_chat_id.clone(),
        text: explain(error_code, why),
    };
    queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &notice).await?;
    Ok(vec![Owner::Portal(info.portal_id)])
}

async fn operator_message(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    im_chat_id: &str,
    im_message_id: &str,
    text: &str,
    files: &[OperatorFile],
) -> Result<Vec<Owner>, DbErr> {
    let chat_id = chat_row(txn, info, cache, "").await?;
    // The operator answered: the customer's messages so far show as read on their phone.
    if let Some(last) = messages::latest_unread_inbound(txn, chat_id).await? {
        if let Some(wamid) = &last.wamid {
            queue(
                txn,
                Owner::Number(info.number_id),
                chat_id,
                &Job::WaMarkRead {
                    wamid: wamid.clone(),
                    to: Some(info.wa_id.clone()),
                },
            )
            .await?;
            messages::set_read_at(txn, last.id, crate::store::now_ms()).await?;
        }
    }
    // One file: the text rides along as its caption; several files or a long text: the text
    // goes first on its own, then each file.
    for send in to_wa::operator_sends(text, files) {
        let (shown, content) = match &send {
            to_wa::Send::Text { .. } => (text, Content::TEXT),
            to_wa::Send::File { kind, shown, .. } => (
                *shown,
                Content {
                    kind,
                    media_id: None,
                },
            ),
        };
        let message_id =
            messages::insert_outbound(txn, chat_id, im_chat_id, im_message_id, shown, content)
                .await?;
        let to = info.wa_id.clone();
        let job = match send {
            to_wa::Send::Text { text } => Job::WaSendText {
                message_id,
                to,
                text,
            },
            to_wa::Send::File {
                file,
                mime,
                caption,
                ..
            } => Job::WaSendMedia {
                message_id,
                to,
                link: file.link.clone(),
                name: file.name.clone(),
                mime,
                caption,
            },
        };
        queue(txn, Owner::Number(info.number_id), chat_id, &job).await?;
    }
    Ok(vec![Owner::Number(info.number_id)])
}

/// Counts an operator's message against the plan; the first time in a month the account is
/// over, the operators are told in this chat (the message is sent all the same).
async fn operator_quota(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    im_chat_id: &str,
) -> Result<Vec<Owner>, DbErr> {
    let Some(limit) = services.billing.message(txn, info.portal_id).await? else {
        return Ok(Vec::new());
    };
    let chat_id = chat_row(txn, info, cache, "").await?;
    let notice = Job::B24Notice {
        im_chat_id: im_chat_id.to_string(),
        text: to_b24::over_messages_notice(limit),
    };
    queue(txn, Owner::Portal(info.portal_id), chat_id, &notice).await?;
    Ok(vec![Owner::Portal(info.portal_id)])
}

/// The customer deleted (`new_text: None`) or edited an earlier message: the Open Lines copy is
/// deleted or updated in place (same ids as sent), not posted as new text.
async fn customer_changed(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    original: &str,
    new_text: Option<&str>,
) -> Result<Vec<Owner>, DbErr> {
    let Some(msg) = messages::find_by_wamid(txn, original).await? else {
        tracing::info!(
            number = info.number_id,
            "customer changed a message we never relayed"
        );
        return Ok(Vec::new());
    };
    if msg.direction != messages::IN || msg.status == messages::DELETED {
        return Ok(Vec::new());
    }
    let item = to_b24::changed_message(info.customer(), original, new_text);
    let job = match new_text {
        Some(text) => {
            messages::set_text(txn, msg.id, text).await?;
            Job::B24UpdateMessage {
                line: info.line.clone(),
                item,
            }
        }
        None => {
            messages::set_status_many(txn, &[msg.id], messages::DELETED).await?;
            Job::B24DeleteMessage {
                line: info.line.clone(),
                item,
            }
        }
    };
    // Same queue as the original send, so a delete never overtakes the message it deletes.
    queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await?;
    Ok(vec![Owner::Portal(info.portal_id)])
}

/// The operator edited (`new_text`) or deleted a message already sent to WhatsApp. The Web
/// gateway can apply both (a delete within 72 h); the Cloud API can do neither, so the operator
/// is told plainly that the customer still sees the original.
async fn operator_changed(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    wamid: Option<&str>,
    new_text: Option<&str>,
) -> Result<Vec<Owner>, DbErr> {
    let found = match wamid {
        Some(w) => messages::find_by_wamid(txn, w).await?,
        None => None,
    };
    let Some(msg) = found else {
        return Ok(Vec::new());
    };
    let (Some(im_chat_id), Some(wamid)) = (msg.b24_chat_id.clone(), msg.wamid.clone()) else {
        return Ok(Vec::new());
    };
    if msg.status == messages::DELETED {
        return Ok(Vec::new());
    }
    let gateway = info.transport == crate::store::numbers::TRANSPORT_GATEWAY;
    let sent_at = msg.sent_at.unwrap_or(msg.created_at);
    let age = crate::store::now_ms() - sent_at;
    let (message_id, to) = (msg.id, info.wa_id.clone());
    let job = match to_wa::operator_change(gateway, age, new_text) {
        to_wa::OperatorChange::Delete => Job::WaDelete {
            message_id,
            to,
            wamid,
        },
        to_wa::OperatorChange::Edit(text) => Job::WaEdit {
            message_id,
            to,
            wamid,
            text,
        },
        to_wa::OperatorChange::Notice {
            notice,
            deleted_here,
        } => {
            if deleted_here {
                messages::set_status_many(txn, &[msg.id], messages::DELETED).await?;
            }
            let job = Job::B24Notice {
                im_chat_id,
                text: notice.to_string(),
            };
            queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await?;
            return Ok(vec![Owner::Portal(info.portal_id)]);
        }
    };
    queue(txn, Owner::Number(info.number_id), msg.chat_id, &job).await?;
    Ok(vec![Owner::Number(info.number_id)])
}
