//! What a customer's side does to a chat: a new message (with its file, quotes and quota
//! notes) goes to Open Lines, a voice note's transcript updates it, a receipt moves an
//! operator's message forward, an edit or delete is mirrored.

use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::Value;

use super::{
    apply::{chat_row, queue, queue_kick},
    ChatInfo,
};
use crate::{
    actors::{media, messages::Owner, Ctx},
    billing::Transcription,
    bitrix24::messageservice::{self, SmsStatus},
    relay::{
        jobs::Job,
        states::{self, ReceiptEffect},
        to_bitrix24 as to_b24, window,
    },
    store::{
        chats, jobs, ledger, media as media_rows,
        messages::{self, Content},
    },
    whatsapp::errors::{explain, no_detail},
};

/// A customer's new message as the chat applies it.
pub(super) struct NewMessage<'a> {
    pub(super) name: &'a str,
    pub(super) wamid: &'a str,
    pub(super) timestamp: i64,
    pub(super) text: &'a str,
    /// (kind, stored file) of a media message.
    pub(super) file: Option<(&'a str, &'a entity::media::Model)>,
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

pub(super) async fn customer_message(
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
            let lang = info.lang(txn).await?;
            let note = to_b24::file_not_relayed(lang, kind, m.note.as_deref());
            text = to_b24::append_line(&text, &note);
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
    if stored.is_some() {
        // A file that reached us is relayed with the message; one we could not keep is not.
        ledger::record(txn, ledger::Kind::MediaIn, message_id, 1.0).await?;
    }
    // Quotas never hold a message back: over the plan it is relayed all the same, and the
    // operators are told once a month (in this chat).
    let over_notice = match services.billing.message(txn, info.portal_id).await? {
        Some(limit) => Some(to_b24::over_messages_notice(info.lang(txn).await?, limit)),
        None => None,
    };
    let mut transcribe = services.transcription;
    if let (true, Some(("voice", _)), Some(_)) = (transcribe, file, stored) {
        if let Transcription::UsedUp(minutes) =
            services.billing.transcription(txn, info.portal_id).await?
        {
            transcribe = false;
            let used_up = to_b24::transcription_used_up(info.lang(txn).await?, minutes);
            text = to_b24::append_line(&text, &used_up);
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
    // A Web gateway customer's avatar, as last asked (at most daily, before the batch).
    let picture = match info.transport.as_str() {
        crate::store::numbers::TRANSPORT_GATEWAY => {
            chats::get(txn, chat_id).await?.and_then(|c| c.avatar_url)
        }
        _ => None,
    };
    let item = to_b24::new_message(
        info.customer(),
        name,
        wamid,
        timestamp,
        &text,
        files,
        picture.as_deref(),
    );
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
/// `seconds`: the note's length, billed when there is a transcript.
#[allow(clippy::too_many_arguments)]
pub(super) async fn transcript_ready(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    message_id: i64,
    text: Option<&str>,
    note: Option<&str>,
    reason: Option<to_b24::TranscriptNote>,
    seconds: Option<f32>,
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
    let lang = info.lang(txn).await?;
    // Why there is none, in the portal's language (a note from an earlier version is English).
    let note = reason.map(|r| r.text(lang)).or(note.map(str::to_string));
    let line = to_b24::transcript_line(lang, text, note.as_deref());
    messages::set_transcript(txn, msg.id, text.or(note.as_deref()).unwrap_or("")).await?;
    // Only a transcript costs minutes, its note's own seconds, billed as it is stored; a note
    // saying why there is none (too long, silent, undecodable, failed) costs nothing.
    if text.is_some() {
        let seconds = f64::from(seconds.unwrap_or(0.0));
        if ledger::record(txn, ledger::Kind::Transcription, msg.id, seconds).await? {
            services
                .billing
                .transcribed(txn, info.portal_id, seconds)
                .await?;
        }
    }
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
    queue_kick(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await
}

/// Moves an outbound message's state forward only and reports each new step to Bitrix24 once.
/// `None` when the wamid is not known (yet).
pub(super) async fn receipt(
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
    if msg.kind == super::crm::KIND {
        return crm_receipt(txn, info, &msg, target, report_delivered)
            .await
            .map(Some);
    }
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
    let lang = info.lang(txn).await?;
    let why = error.map_or_else(|| no_detail(lang), str::to_string);
    messages::fail(txn, &[msg.id], &why).await?;
    if msg.kind == super::crm::KIND {
        // WhatsApp took it and could not deliver it.
        if let Some(id) = &msg.b24_message_id {
            let code = messageservice::provider_code(info.number_id);
            let job = super::crm::status_job(&code, id, SmsStatus::Undelivered);
            queue(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await?;
        }
    }
    if error_code == Some(window::REENGAGEMENT_CODE) {
        // WhatsApp's word on the window is final: closed until the customer writes again.
        chats::close_window(txn, msg.chat_id, crate::store::now_ms()).await?;
    }
    let Some(im_chat_id) = &msg.b24_chat_id else {
        return Ok(Vec::new());
    };
    let notice = Job::B24Notice {
        im_chat_id: im_chat_id.clone(),
        text: explain(lang, error_code, &why),
    };
    queue_kick(txn, Owner::Portal(info.portal_id), msg.chat_id, &notice).await
}

/// The customer deleted (`new_text: None`) or edited an earlier message: the Open Lines copy is
/// deleted or updated in place (same ids as sent), not posted as new text.
pub(super) async fn customer_changed(
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
    queue_kick(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await
}

/// A receipt for a message sent from the CRM, as the message service's statuses: sent, then
/// delivered (a read counts as delivered there, reported once; we keep `read` ourselves).
async fn crm_receipt(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    msg: &entity::messages::Model,
    target: &str,
    report_delivered: bool,
) -> Result<Vec<Owner>, DbErr> {
    let status = match target {
        states::SENT => Some(SmsStatus::Sent),
        states::DELIVERED | states::READ if report_delivered => Some(SmsStatus::Delivered),
        _ => None,
    };
    let (Some(status), Some(id)) = (status, &msg.b24_message_id) else {
        return Ok(Vec::new());
    };
    let code = messageservice::provider_code(info.number_id);
    let job = super::crm::status_job(&code, id, status);
    queue_kick(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await
}

/// A message typed on the linked phone itself (outside b24wa): a notice in the chat, so the
/// Open Lines history matches the phone. A chat Bitrix24 has not opened yet has nowhere to show
/// it (nothing the customer wrote is waiting there): it is left out.
pub(super) async fn phone_message(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    text: &str,
) -> Result<Vec<Owner>, DbErr> {
    let chat_id = chat_row(txn, info, cache, "").await?;
    // A chat the customer never wrote in has no Open Lines chat to show it in. One whose first
    // message is still on its way there gets the notice after it (the id is read when it goes).
    let opened = chats::get(txn, chat_id)
        .await?
        .is_some_and(|c| c.b24_chat_id.is_some() || c.last_inbound_at.is_some());
    if !opened {
        return Ok(Vec::new());
    }
    let lang = info.lang(txn).await?;
    let notice = Job::B24ChatNotice {
        chat_id,
        text: crate::tr!(lang, "phone-message", text = text),
    };
    queue_kick(txn, Owner::Portal(info.portal_id), chat_id, &notice).await
}
