//! A message a CRM user or a robot sent through the number's message-service provider: sent as
//! text while WhatsApp lets free text through (always on a Web gateway number; within the
//! 24-hour window on a Cloud API number), otherwise recorded as not sent and reported
//! `undelivered` to Bitrix24. Its statuses go back with `messageservice.message.status.update`;
//! the Open Lines chat, when there is one, shows it as context.

use sea_orm::{DatabaseTransaction, DbErr};

use super::{
    apply::{chat_row, queue},
    ChatInfo,
};
use crate::{
    actors::{messages::Owner, Ctx},
    bitrix24::messageservice::SmsStatus,
    relay::{
        jobs::Job,
        templates::{self, Outcome, TemplateSend},
        to_bitrix24,
        window::{self, Window},
    },
    store::{
        self, chats,
        messages::{self, Content},
        numbers::TRANSPORT_CLOUD,
    },
};

/// Stored as the message's error when the window is closed.
const WINDOW_CLOSED: &str = "not sent: the WhatsApp 24-hour window is closed, and the number has \
    no default template to send a CRM message as (set one on its Templates page)";

/// A CRM message's kind: its receipts are reported to the message service, not to Open Lines.
pub const KIND: &str = "crm";

#[allow(clippy::too_many_arguments)]
pub(super) async fn crm_message(
    txn: &DatabaseTransaction,
    services: &Ctx,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    code: &str,
    message_id: &str,
    text: &str,
    user_id: Option<&str>,
) -> Result<Vec<Owner>, DbErr> {
    let chat_id = chat_row(txn, info, cache, "").await?;
    let content = Content {
        kind: KIND,
        media_id: None,
    };
    // No Open Lines chat: its b24 message id is Bitrix24's message-service id.
    let row = messages::insert_outbound(txn, chat_id, None, message_id, text, content).await?;
    // CRM sends count as messages, like every other.
    let _ = services.billing.message(txn, info.portal_id).await?;
    let portal = Owner::Portal(info.portal_id);
    let mut kicks = vec![portal];
    let chat = chats::get(txn, chat_id).await?;
    let open = info.transport != TRANSPORT_CLOUD
        || chat.as_ref().is_some_and(|c| {
            let now = crate::store::now_ms();
            matches!(
                window::at(c.last_inbound_at, c.window_closed_at, now),
                Window::Open { .. }
            )
        });
    let job = if open {
        Some(Job::WaSendText {
            message_id: row,
            to: info.wa_id.clone(),
            text: text.to_string(),
        })
    } else {
        // Closed: the number's default template carries the text, when it has one that can.
        match default_template(txn, info.number_id, text).await? {
            Ok(send) => Some(Job::WaSendTemplate {
                message_id: row,
                to: info.wa_id.clone(),
                name: send.name,
                language: send.language,
                components: send.components,
            }),
            Err(why) => {
                messages::fail(txn, &[row], &why).await?;
                let status = status_job(code, message_id, SmsStatus::Undelivered);
                queue(txn, portal, chat_id, &status).await?;
                None
            }
        }
    };
    let sent = job.is_some();
    if let Some(job) = job {
        queue(txn, Owner::Number(info.number_id), chat_id, &job).await?;
        kicks.push(Owner::Number(info.number_id));
    }
    // The operators of the customer's Open Lines chat see what the CRM sent. A chat whose first
    // message is still on its way to Open Lines has no Open Lines chat id yet: the notice, queued
    // after that message, reads it when it goes.
    if let Some(chat) = chat.filter(|c| c.b24_chat_id.is_some() || c.last_inbound_at.is_some()) {
        let note = to_bitrix24::crm_note(info.lang(txn).await?, open, sent);
        let notice = Job::B24CrmNotice {
            im_chat_id: chat.b24_chat_id.unwrap_or_default(),
            chat_id: Some(chat_id),
            user_id: user_id.map(str::to_string),
            note,
            text: text.to_string(),
        };
        queue(txn, portal, chat_id, &notice).await?;
    }
    Ok(kicks)
}

/// The number's default template filled with `text`, or why it cannot carry it.
async fn default_template(
    txn: &DatabaseTransaction,
    number_id: i64,
    text: &str,
) -> Result<Result<TemplateSend, String>, DbErr> {
    let number = store::numbers::get(txn, number_id).await?;
    let named = number.and_then(|n| n.default_template_name.zip(n.default_template_language));
    let Some((name, language)) = named else {
        return Ok(Err(WINDOW_CLOSED.to_string()));
    };
    let Some(t) = store::templates::find(txn, number_id, &name, &language).await? else {
        return Ok(Err(format!(
            "not sent: the 24-hour window is closed and the default template \"{name}\" \
             ({language}) is no longer among the number's templates"
        )));
    };
    let def = store::templates::def(t);
    Ok(match templates::with_text(&def, text) {
        Outcome::Send(send) => Ok(send),
        // Stored as the message's error (the admin app shows it): English.
        other => Err(templates::notice(crate::i18n::Lang::en(), &other, &[def])
            .unwrap_or_else(|| WINDOW_CLOSED.into())),
    })
}

/// The job that reports a CRM message's status to Bitrix24.
pub(crate) fn status_job(code: &str, message_id: &str, status: SmsStatus) -> Job {
    Job::B24SmsStatus {
        code: code.to_string(),
        message_id: message_id.to_string(),
        status: status.as_str().to_string(),
    }
}
