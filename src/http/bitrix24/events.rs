//! Portal events. Each is checked against the portal's `application_token`, stored, and only
//! then acknowledged (Bitrix24 does not retry events).

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;

use super::install::{install_portal, InstallVia};
use crate::{
    actors::registry::{Dispatch, Owner, Reload},
    bitrix24::{
        events::{decode_event, EventKind},
        form,
    },
    http::{ApiError, AppState, ErrorCode},
    relay::inbox::InboxItem,
    store::{inbox, numbers, portals},
    tr,
};

/// An event we could not read: the decoder's words inside ours.
pub(super) fn invalid_event(e: impl std::fmt::Display) -> ApiError {
    let detail = e.to_string();
    ApiError::bad_request(ErrorCode::InvalidEvent, move |l| {
        tr!(l, "error-invalid-event", detail = &detail)
    })
}

pub async fn receive(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = form::parse(&body);
    let ev = decode_event(&fields).map_err(invalid_event)?;
    if let EventKind::Install(auth) = ev.kind {
        install_portal(&state, auth, InstallVia::Event).await?;
        return Ok(HttpResponse::Ok().body("ok"));
    }
    let portal = portals::find_by_member(&state.ctx.db, &ev.member_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::UnknownPortal, |l| {
                tr!(l, "error-portal-not-installed")
            })
        })?;
    if !portals::application_token_matches(&state.ctx.secrets, &portal, &ev.application_token) {
        tracing::warn!(portal = portal.id, event = %ev.name, "event with a wrong application_token rejected");
        return Err(ApiError::unauthorized(
            ErrorCode::BadApplicationToken,
            |l| tr!(l, "error-bad-application-token"),
        ));
    }
    state.limits.check_tenant(portal.tenant_id)?;
    if let Some((access, expires_in)) = &ev.access {
        adopt_access_token(&state, portal.id, access, *expires_in).await;
    }
    let connector = &state.ctx.settings.connector_id;
    match ev.kind {
        EventKind::MessageAdd {
            connector: c,
            line,
            messages,
        } => {
            if &c != connector {
                return Ok(HttpResponse::Ok().body("not our connector"));
            }
            let items = messages
                .into_iter()
                .map(|m| {
                    let external = format!("{}:{}:add", portal.member_id, m.im_message_id);
                    let item = InboxItem::B24OperatorMessage {
                        line: line.clone(),
                        chat_id: m.chat_id,
                        im_chat_id: m.im_chat_id,
                        im_message_id: m.im_message_id,
                        text: m.text,
                        files: m.files.into_iter().map(Into::into).collect(),
                    };
                    (external, item)
                })
                .collect();
            store_items(&state, portal.id, items).await?;
        }
        EventKind::MessageChange {
            connector: c,
            line,
            delete,
            changes,
        } => {
            if &c != connector {
                return Ok(HttpResponse::Ok().body("not our connector"));
            }
            let verb = if delete { "delete" } else { "update" };
            let items = changes
                .into_iter()
                .map(|m| {
                    // An edit can happen more than once: its text is part of its identity.
                    let external = if delete {
                        format!("{}:{}:delete", portal.member_id, m.im_message_id)
                    } else {
                        format!(
                            "{}:{}:update:{}",
                            portal.member_id,
                            m.im_message_id,
                            crate::store::crypto::digest_hex(&m.text)
                        )
                    };
                    let item = if delete {
                        InboxItem::B24OperatorDelete {
                            line: line.clone(),
                            chat_id: m.chat_id,
                            im_chat_id: m.im_chat_id,
                            im_message_id: m.im_message_id,
                            id: m.ids.into_iter().next().unwrap_or_default(),
                        }
                    } else {
                        InboxItem::B24OperatorEdit {
                            line: line.clone(),
                            chat_id: m.chat_id,
                            im_chat_id: m.im_chat_id,
                            im_message_id: m.im_message_id,
                            ids: m.ids,
                            text: m.text,
                        }
                    };
                    (external, item)
                })
                .collect();
            store_items(&state, portal.id, items).await?;
            tracing::info!(portal = portal.id, "operator {verb} stored");
        }
        EventKind::StatusDelete { connector: c, line } => {
            if &c == connector {
                let n = numbers::deactivate(&state.ctx.db, portal.id, Some(&line)).await?;
                tracing::info!(portal = portal.id, line = %line, numbers = n, "connector switched off on a line");
            }
        }
        EventKind::LineDelete { line } => {
            let n = numbers::deactivate(&state.ctx.db, portal.id, Some(&line)).await?;
            tracing::info!(portal = portal.id, line = %line, numbers = n, "line deleted");
        }
        EventKind::Uninstall { clean } => {
            // Tokens go and the numbers stop at once (their webhooks are refused, so WhatsApp
            // keeps retrying; their sends wait) until a reinstall. The data stays under the
            // tenant's retention, or with CLEAN=1 the retention sweep purges it once the grace
            // period is over (a reinstall before then keeps everything).
            let grace = i64::from(state.ctx.settings.uninstall_grace_days) * 24 * 3600 * 1000;
            let purge_after = clean.then(|| crate::store::now_ms() + grace);
            let txn = state.ctx.db.begin().await?;
            portals::uninstall(&txn, portal.id, purge_after).await?;
            let suspended = numbers::suspend_portal(&txn, portal.id).await?;
            txn.commit().await?;
            for n in &suspended {
                state.numbers.forget(&n.phone_number_id);
                state.registry.do_send(Reload(Owner::Number(n.id)));
            }
            state.registry.do_send(Reload(Owner::Portal(portal.id)));
            tracing::info!(
                portal = portal.id,
                clean,
                numbers = suspended.len(),
                "app uninstalled"
            );
        }
        EventKind::AppUpdate(auth) => {
            // New application_token and tokens; handlers must be bound again.
            install_portal(&state, auth, InstallVia::Event).await?;
        }
        EventKind::Install(_) => {}
        EventKind::Other(name) => {
            tracing::info!(portal = portal.id, event = %name, "event not handled by this version");
        }
    }
    Ok(HttpResponse::Ok().body("ok"))
}

/// A portal whose refresh token was refused calls with the access token its events bring
/// until an admin opens the app again (bitrix24-crm.md §1). Best effort: the event itself is
/// stored whatever happens here.
async fn adopt_access_token(
    state: &AppState,
    portal_id: i64,
    access: &secrecy::SecretString,
    expires_in: i64,
) {
    match portals::adopt_event_access_token(
        &state.ctx.db,
        &state.ctx.secrets,
        portal_id,
        access,
        expires_in,
    )
    .await
    {
        Ok(true) => {
            tracing::warn!(
                portal = portal_id,
                "the portal has no refresh token; an event's access token is used until the app is opened again"
            );
            state.registry.do_send(Reload(Owner::Portal(portal_id)));
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(portal = portal_id, error = %e, "taking an event's access token failed")
        }
    }
}

/// Stores a portal's items in the inbox (one transaction, duplicates dropped), then hands the
/// new ones on. An item for a chat of a number bound to its line is owned by that number
/// directly, so it shares one ordered inbox with the customer's side of the chat; anything else
/// goes to the portal actor, which tells the operator it cannot be delivered.
async fn store_items(
    state: &AppState,
    portal_id: i64,
    items: Vec<(String, InboxItem)>,
) -> Result<(), ApiError> {
    let txn = state.ctx.db.begin().await?;
    let mut stored: Vec<(Owner, Vec<(i64, InboxItem)>)> = Vec::new();
    for (external, item) in items {
        let owner = match item.b24_route() {
            Some((line, chat_id, _)) => numbers::serving(&txn, portal_id, line, chat_id)
                .await?
                .map_or(Owner::Portal(portal_id), |n| Owner::Number(n.id)),
            None => Owner::Portal(portal_id),
        };
        let key = owner.key();
        if let Some(id) = inbox::insert(&txn, inbox::SOURCE_B24, &external, &key, &item).await? {
            match stored.iter_mut().find(|(o, _)| *o == owner) {
                Some((_, v)) => v.push((id, item)),
                None => stored.push((owner, vec![(id, item)])),
            }
        }
    }
    txn.commit().await?;
    for (owner, items) in stored {
        state.registry.do_send(Dispatch { owner, items });
    }
    Ok(())
}
