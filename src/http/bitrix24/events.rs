//! Portal events. Each is checked against the portal's `application_token`, stored, and only
//! then acknowledged (Bitrix24 does not retry events).

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;

use super::install::install_portal;
use crate::{
    actors::registry::{Dispatch, Owner},
    bitrix24::{
        events::{decode_event, EventKind},
        form,
    },
    http::{ApiError, AppState},
    store::{inbox, inbox::InboxItem, jobs, numbers, portals},
};

pub async fn receive(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = form::parse(&body);
    let ev =
        decode_event(&fields).map_err(|e| ApiError::bad_request("invalid_event", e.to_string()))?;
    if let EventKind::Install(auth) = ev.kind {
        install_portal(&state, auth).await?;
        return Ok(HttpResponse::Ok().body("ok"));
    }
    let portal = portals::find_by_member(&state.ctx.db, &ev.member_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("unknown_portal", "this portal has not installed the app")
        })?;
    if !portals::application_token_matches(&state.ctx.secrets, &portal, &ev.application_token) {
        tracing::warn!(portal = portal.id, event = %ev.name, "event with a wrong application_token rejected");
        return Err(ApiError::unauthorized(
            "bad_application_token",
            "application_token does not match this portal",
        ));
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
            let owner = jobs::portal_owner(portal.id);
            let txn = state.ctx.db.begin().await?;
            let mut items = Vec::new();
            for m in messages {
                let external = format!("{}:{}:add", portal.member_id, m.im_message_id);
                let item = InboxItem::B24OperatorMessage {
                    line: line.clone(),
                    chat_id: m.chat_id,
                    im_chat_id: m.im_chat_id,
                    im_message_id: m.im_message_id,
                    text: m.text,
                };
                if let Some(id) =
                    inbox::insert(&txn, inbox::SOURCE_B24, &external, &owner, &item).await?
                {
                    items.push((id, item));
                }
            }
            txn.commit().await?;
            if !items.is_empty() {
                state.registry.do_send(Dispatch {
                    owner: Owner::Portal(portal.id),
                    items,
                });
            }
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
            portals::set_installed(&state.ctx.db, portal.id, false).await?;
            numbers::deactivate(&state.ctx.db, portal.id, None).await?;
            tracing::info!(portal = portal.id, clean, "app uninstalled");
        }
        EventKind::AppUpdate(auth) => {
            // New application_token and tokens; handlers must be bound again.
            install_portal(&state, auth).await?;
        }
        EventKind::Install(_) => {}
        EventKind::Other(name) => {
            tracing::info!(portal = portal.id, event = %name, "event not handled by this version");
        }
    }
    Ok(HttpResponse::Ok().body("ok"))
}
