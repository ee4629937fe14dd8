//! An operator's `/template …` typed in the Open Lines chat (relay/templates.rs has the syntax):
//! an approved template goes to the customer (also outside the 24-hour window) and the operator
//! sees it filled in; anything else is a notice saying why, and nothing is sent.

use sea_orm::{DatabaseTransaction, DbErr};

use super::{
    apply::{chat_row, queue},
    ChatInfo,
};
use crate::{
    actors::messages::Owner,
    relay::{
        jobs::Job,
        templates::{self, Outcome, TemplateDef},
    },
    store::{
        self,
        messages::{self, Content},
        numbers::TRANSPORT_CLOUD,
    },
};

#[allow(clippy::too_many_arguments)]
pub(super) async fn operator_template(
    txn: &DatabaseTransaction,
    info: &ChatInfo,
    cache: &mut Option<(i64, String)>,
    im_chat_id: &str,
    im_message_id: &str,
    typed: &str,
    args: &str,
) -> Result<Vec<Owner>, DbErr> {
    let chat_id = chat_row(txn, info, cache, "").await?;
    let lang = info.lang(txn).await?;
    let (outcome, notice) = if info.transport == TRANSPORT_CLOUD {
        let defs: Vec<TemplateDef> = store::templates::list(txn, info.number_id)
            .await?
            .into_iter()
            .map(store::templates::def)
            .collect();
        let outcome = templates::resolve(args, &defs);
        let notice = templates::notice(lang, &outcome, &defs);
        (Some(outcome), notice)
    } else {
        (None, Some(templates::not_on_gateway(lang)))
    };
    let portal = Owner::Portal(info.portal_id);
    let content = Content {
        kind: "template",
        media_id: None,
    };
    if let Some(Outcome::Send(send)) = outcome {
        let message_id = messages::insert_outbound(
            txn,
            chat_id,
            Some(im_chat_id),
            im_message_id,
            &send.rendered,
            content,
        )
        .await?;
        // The chat's history shows what the customer got, filled in.
        let shown = templates::shown(lang, &send);
        let job = Job::WaSendTemplate {
            message_id,
            to: info.wa_id.clone(),
            name: send.name.clone(),
            language: send.language.clone(),
            components: send.components,
        };
        queue(txn, Owner::Number(info.number_id), chat_id, &job).await?;
        let shown = Job::B24Notice {
            im_chat_id: im_chat_id.to_string(),
            text: shown,
        };
        queue(txn, portal, chat_id, &shown).await?;
        return Ok(vec![Owner::Number(info.number_id), portal]);
    }
    // Not sent: recorded with the reason, and the operator told at once.
    let why = notice.unwrap_or_default();
    let message_id = messages::insert_outbound(
        txn,
        chat_id,
        Some(im_chat_id),
        im_message_id,
        typed,
        content,
    )
    .await?;
    messages::fail(txn, &[message_id], &why).await?;
    let job = Job::B24Notice {
        im_chat_id: im_chat_id.to_string(),
        text: crate::bitrix24::bbcode::escape(&why),
    };
    queue(txn, portal, chat_id, &job).await?;
    Ok(vec![portal])
}
