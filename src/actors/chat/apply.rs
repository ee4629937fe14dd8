//! A chat's items applied in order, in one transaction: each becomes stored rows and queued jobs
//! (the translations are `relay::to_bitrix24` / `to_whatsapp`), and the items are marked done.

use std::{collections::HashMap, sync::Arc};

use sea_orm::{DatabaseTransaction, DbErr};
use tracing::Instrument;

use super::{
    customer::{customer_changed, customer_message, receipt, transcript_ready, NewMessage},
    operator::{operator_changed, operator_message, operator_quota},
    ChatInfo,
};
use crate::{
    actors::{messages::Owner, Ctx},
    relay::{
        inbox::{CustomerAction, InboxItem},
        jobs::Job,
        to_bitrix24 as to_b24,
    },
    store::{chats, inbox, jobs, messages},
    trace,
};

/// How long a receipt waits for the send it names before it is taken for one that is not ours.
const ORPHAN_RECEIPT_MS: i64 = 3600 * 1000;

/// What `process` gives back: the inbox ids done with, the owners to kick, the chat row cache.
type Processed = (Vec<i64>, Vec<Owner>, Option<(i64, String)>);

/// Applies items in order in one transaction; returns the inbox ids that are done with (applied,
/// already applied, or a receipt that must wait for its send) and the owners whose outbox got
/// new jobs. The transaction may be shared with other chats' (group commit, `store::txn_group`);
/// it is committed when this returns. Takes its inputs whole: the group's runner holds them.
pub(super) async fn process(
    services: Ctx,
    info: ChatInfo,
    items: Vec<(i64, InboxItem)>,
    files: HashMap<String, entity::media::Model>,
    panic_now: bool,
    chat: Option<(i64, String)>,
) -> Result<Processed, DbErr> {
    let txns = services.txns.clone();
    let args = Arc::new((services, info, items, files, chat));
    txns.run(move |txn| {
        let args = args.clone();
        Box::pin(async move {
            let (services, info, items, files, chat) = &*args;
            apply_all(txn, services, info, items, files, panic_now, chat.clone()).await
        })
    })
    .await
}

/// `process` inside its transaction (which may run a second time, alone, if another chat's work
/// in the same transaction failed: the claim makes that harmless).
async fn apply_all(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    items: &[(i64, InboxItem)],
    files: &HashMap<String, entity::media::Model>,
    panic_now: bool,
    mut chat: Option<(i64, String)>,
) -> Result<Processed, DbErr> {
    let ids: Vec<i64> = items.iter().map(|(id, _)| *id).collect();
    // A sweep and a live dispatch can both deliver an item: apply only what is still open,
    // claimed (marked processed) in this transaction.
    let open = inbox::claim(txn, &ids).await?;
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
                    shown,
                    ..
                } => match action {
                    CustomerAction::New => {
                        // Our words in it (a tap, a location, …) in the portal's language.
                        let ours = match shown {
                            Some(s) => Some(s.text(info.lang(txn).await?)),
                            None => None,
                        };
                        let text = ours.as_ref().unwrap_or(text);
                        // A reply shows the operator what it answers.
                        let quoted = match reply_to {
                            Some(q) => messages::find_by_wamid(txn, q).await?.map(|m| m.text),
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
                        customer_message(txn, services, info, &mut chat, new).await?
                    }
                    CustomerAction::Revoke { original } => {
                        customer_changed(txn, info, original, None).await?
                    }
                    CustomerAction::Edit { original, text } => {
                        customer_changed(txn, info, original, Some(text)).await?
                    }
                    CustomerAction::Reaction { target, emoji } => {
                        let quoted = messages::find_by_wamid(txn, target).await?;
                        let lang = info.lang(txn).await?;
                        let quoted = quoted.as_ref().map(|m| m.text.as_str());
                        let note = to_b24::reaction_note(lang, emoji, quoted);
                        let new = NewMessage {
                            name,
                            wamid,
                            timestamp: *timestamp,
                            text: &note,
                            file: None,
                        };
                        customer_message(txn, services, info, &mut chat, new).await?
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
                    txn,
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
                    // An hour on, no send of ours will claim it: a receipt for a message typed
                    // or a file sent on a gateway's phone itself. Done with, rather than brought
                    // back by every sweep for good.
                    None if crate::store::now_ms() - *stored_at > ORPHAN_RECEIPT_MS => {
                        tracing::debug!(wamid = %wamid, "receipt for no message of ours dropped");
                        Vec::new()
                    }
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
                        txn,
                        info,
                        &mut chat,
                        im_chat_id,
                        im_message_id,
                        text,
                        files,
                    )
                    .await?;
                    k.extend(operator_quota(txn, services, info, &mut chat, im_chat_id).await?);
                    k
                }
                InboxItem::Transcript {
                    message_id,
                    text,
                    note,
                    reason,
                    seconds,
                    ..
                } => {
                    transcript_ready(
                        txn,
                        services,
                        info,
                        *message_id,
                        text.as_deref(),
                        note.as_deref(),
                        *reason,
                        *seconds,
                    )
                    .await?
                }
                InboxItem::B24OperatorEdit { ids, text, .. } => {
                    operator_changed(txn, info, ids.first().map(String::as_str), Some(text)).await?
                }
                InboxItem::B24OperatorDelete { id, .. } => {
                    operator_changed(txn, info, Some(id.as_str()), None).await?
                }
                InboxItem::B24CrmMessage {
                    code,
                    message_id,
                    text,
                    user_id,
                    ..
                } => {
                    super::crm::crm_message(
                        txn,
                        services,
                        info,
                        &mut chat,
                        code,
                        message_id,
                        text,
                        user_id.as_deref(),
                    )
                    .await?
                }
                InboxItem::WaPhoneMessage { text, .. } => {
                    super::customer::phone_message(txn, info, &mut chat, text).await?
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
    crate::actors::fault_point!(panic_now, "chat actor panics while processing an item");
    // A receipt whose send is not stored yet stays open for the sweep.
    let waiting: Vec<i64> = open
        .keys()
        .copied()
        .filter(|id| !applied.contains(id))
        .collect();
    inbox::unclaim(txn, &waiting).await?;
    Ok((done, kicks, chat))
}

/// Queues `job` in this chat's ordered queue of `owner` (the portal: to Bitrix24; the number:
/// to WhatsApp), so it never overtakes what the chat queued before.
pub(super) async fn queue(
    txn: &DatabaseTransaction,
    owner: Owner,
    chat_id: i64,
    job: &Job,
) -> Result<(), DbErr> {
    jobs::enqueue(txn, &owner.key(), &jobs::chat_queue(chat_id), job).await?;
    Ok(())
}

/// Queues `job` for `owner` (see `queue`); `owner` is then the actor to kick.
pub(super) async fn queue_kick(
    txn: &DatabaseTransaction,
    owner: Owner,
    chat_id: i64,
    job: &Job,
) -> Result<Vec<Owner>, DbErr> {
    queue(txn, owner, chat_id, job).await?;
    Ok(vec![owner])
}

/// The chat row's id, from the actor's cache or the database (created on first use); keeps
/// the customer's name current.
pub(super) async fn chat_row(
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
