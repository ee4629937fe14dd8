//! The message-service provider's HANDLER (bitrix24-crm.md §1): Bitrix24 POSTs here once when a
//! user sends from a CRM card or a robot sends, and never again. The message is checked
//! (a known portal and its `application_token`; our provider CODE for one of its numbers),
//! stored, and only then answered; a post that fails a check is answered 200 and stores nothing
//! (the answer's body is ignored by Bitrix24).

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;

use crate::{
    actors::registry::{Dispatch, KickOwner, Owner},
    bitrix24::{
        form,
        messageservice::{self, SmsStatus},
    },
    http::{ApiError, AppState},
    relay::{inbox::InboxItem, jobs::Job, phone},
    store::{inbox, jobs, numbers, portals},
};

fn ignored(why: &str) -> HttpResponse {
    tracing::warn!(reason = why, "message-service post ignored");
    HttpResponse::Ok().body("ignored")
}

pub async fn receive(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Ok(m) = messageservice::decode(&form::parse(&body)) else {
        return Ok(ignored("not a message-service post"));
    };
    let db = &state.ctx.db;
    let Some(portal) = portals::find_by_member(db, &m.member_id).await? else {
        return Ok(ignored("unknown member_id"));
    };
    if !portals::application_token_matches(&state.ctx.secrets, &portal, &m.application_token) {
        return Ok(ignored("wrong application_token"));
    }
    let number = match messageservice::number_of(&m.code) {
        Some(id) => numbers::get(db, id).await?,
        None => None,
    };
    let number = number.filter(|n| n.portal_id == portal.id && n.active && !n.suspended);
    let to = phone::customer_id(&m.to);
    let txn = db.begin().await?;
    let (Some(number), Some(to)) = (number, to) else {
        // Nothing can be sent: Bitrix24 is told so (it would show the message as sent).
        let status = Job::B24SmsStatus {
            code: m.code.clone(),
            message_id: m.message_id.clone(),
            status: SmsStatus::Failed.as_str().into(),
        };
        let owner = jobs::portal_owner(portal.id);
        jobs::enqueue(&txn, &owner, &format!("sms:{}", m.message_id), &status).await?;
        txn.commit().await?;
        state.registry.do_send(KickOwner(Owner::Portal(portal.id)));
        return Ok(ignored(
            "no connected number for this provider, or no phone number",
        ));
    };
    let item = InboxItem::B24CrmMessage {
        code: m.code,
        message_id: m.message_id.clone(),
        to,
        text: m.text,
        user_id: m.user_id,
    };
    let owner = Owner::Number(number.id);
    let external = format!("{}:sms:{}", portal.member_id, m.message_id);
    let stored = inbox::insert(&txn, inbox::SOURCE_B24, &external, &owner.key(), &item).await?;
    txn.commit().await?;
    if let Some(id) = stored {
        state.registry.do_send(Dispatch {
            owner,
            items: vec![(id, item)],
        });
    }
    tracing::info!(portal = portal.id, number = number.id, module = %m.module, "CRM message stored");
    Ok(HttpResponse::Ok().body("ok"))
}
