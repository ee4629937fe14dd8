//! A Web gateway customer's avatar: asked from the gateway at most daily, before a batch that
//! holds a new message of theirs (outside the batch's transaction), and passed to Bitrix24 with
//! their messages (`user.picture`). A failure never holds the messages back.

use super::ChatInfo;
use crate::{
    actors::{
        transport::{Transport, WebError},
        Ctx,
    },
    relay::inbox::{CustomerAction, InboxItem},
    store::{chats, now_ms, numbers},
};

/// Refreshes the avatar when the batch has a new customer message and the last ask is a day old.
pub(super) async fn refresh(services: &Ctx, info: &ChatInfo, items: &[(i64, InboxItem)]) {
    if info.transport != numbers::TRANSPORT_GATEWAY {
        return;
    }
    let new_message = items.iter().any(|(_, i)| {
        matches!(
            i,
            InboxItem::WaMessage {
                action: CustomerAction::New,
                ..
            }
        )
    });
    if !new_message {
        return;
    }
    if let Err(e) = ask(services, info).await {
        tracing::warn!(number = info.number_id, error = %e, "customer avatar not refreshed; asked again with the next message");
    }
}

async fn ask(services: &Ctx, info: &ChatInfo) -> Result<(), String> {
    let now = now_ms();
    let db = &services.db;
    let chat = chats::find(db, info.number_id, &info.wa_id)
        .await
        .map_err(|e| e.to_string())?;
    if !chats::avatar_due(chat.as_ref(), now) {
        return Ok(());
    }
    let Some(n) = numbers::get(db, info.number_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let Transport::Web(web) = Transport::load(&services.secrets, &n).map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let url = match web.avatar(services.web(), &info.wa_id).await {
        Ok(url) => url,
        // Worth asking again with the next message.
        Err(e @ (WebError::Transient(_) | WebError::NotAuthorized(_))) => return Err(e.to_string()),
        // Refused for this customer: no avatar today.
        Err(e) => {
            tracing::debug!(number = info.number_id, error = %e, "customer avatar refused");
            None
        }
    };
    chats::set_avatar(db, info.number_id, &info.wa_id, url.as_deref(), now)
        .await
        .map_err(|e| e.to_string())
}
