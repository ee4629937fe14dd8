//! What an operator's side does to a chat: a message becomes WhatsApp sends (and marks the
//! customer's messages read), counts against the plan, and an edit or delete is applied in
//! WhatsApp or explained to the operator.

use sea_orm::{DatabaseTransaction, DbErr};

use super::{
    apply::{chat_row, queue, queue_kick},
    ChatInfo,
};
use crate::{
    actors::{messages::Owner, Ctx},
    relay::{
        inbox::OperatorFile,
        jobs::Job,
        templates, to_bitrix24 as to_b24, to_whatsapp as to_wa,
        window::{self, Window},
    },
    store::{
        chats,
        messages::{self, Content},
    },
};

pub(super) async fn operator_message(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    im_chat_id: &str,
    im_message_id: &str,
    text: &str,
    files: &[OperatorFile],
) -> Result<Vec<Owner>, DbErr> {
    let plain = crate::bitrix24::bbcode::to_whatsapp(text);
    if let (Some(args), true) = (templates::command(&plain), files.is_empty()) {
        return super::template::operator_template(
            txn,
            info,
            cache,
            im_chat_id,
            im_message_id,
            &plain,
            args,
        )
        .await;
    }
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
    // Free text into a closed Cloud API window would only fail later: it is recorded as not
    // sent and the operator told now.
    let window = closed_window(txn, info, chat_id).await?;
    let lang = match window {
        Some(_) => info.lang(txn).await?,
        None => crate::i18n::Lang::en(),
    };
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
        let message_id = messages::insert_outbound(
            txn,
            chat_id,
            Some(im_chat_id),
            im_message_id,
            shown,
            content,
        )
        .await?;
        if window.is_some() {
            messages::fail(txn, &[message_id], WINDOW_CLOSED).await?;
            continue;
        }
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
    if let Some(since) = window {
        let notice = Job::B24Notice {
            im_chat_id: im_chat_id.to_string(),
            text: to_b24::window_closed_notice(lang, since),
        };
        queue(txn, Owner::Portal(info.portal_id), chat_id, &notice).await?;
        return Ok(vec![
            Owner::Number(info.number_id),
            Owner::Portal(info.portal_id),
        ]);
    }
    Ok(vec![Owner::Number(info.number_id)])
}

/// Why a message into a closed window was not sent (stored as the message's error).
const WINDOW_CLOSED: &str = "not sent: the WhatsApp 24-hour window is closed";

/// `Some(since)` when the chat is on a Cloud API number and its window is closed now (`since`:
/// when it closed, `None` if the customer never wrote); `None` when free text may go.
async fn closed_window(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    chat_id: i64,
) -> Result<Option<Option<i64>>, DbErr> {
    // Web gateway numbers are a linked phone: no window.
    if info.transport != crate::store::numbers::TRANSPORT_CLOUD {
        return Ok(None);
    }
    let Some(chat) = chats::get(txn, chat_id).await? else {
        return Ok(None);
    };
    let now = crate::store::now_ms();
    Ok(
        match window::at(chat.last_inbound_at, chat.window_closed_at, now) {
            Window::Open { .. } => None,
            Window::Closed { since } => Some(since),
        },
    )
}

/// Counts an operator's message against the plan; the first time in a month the account is
/// over, the operators are told in this chat (the message is sent all the same).
pub(super) async fn operator_quota(
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
        text: to_b24::over_messages_notice(info.lang(txn).await?, limit),
    };
    queue_kick(txn, Owner::Portal(info.portal_id), chat_id, &notice).await
}

/// The operator edited (`new_text`) or deleted a message already sent to WhatsApp. The Web
/// gateway can apply both (a delete within 72 h); the Cloud API can do neither, so the operator
/// is told plainly that the customer still sees the original.
pub(super) async fn operator_changed(
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
    let lang = info.lang(txn).await?;
    let job = match to_wa::operator_change(lang, gateway, age, new_text) {
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
                text: notice,
            };
            return queue_kick(txn, Owner::Portal(info.portal_id), msg.chat_id, &job).await;
        }
    };
    queue_kick(txn, Owner::Number(info.number_id), msg.chat_id, &job).await
}
