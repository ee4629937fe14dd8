//! App install: the `ONAPPINSTALL` event (apps without UI) or the install page POST (apps with
//! UI). Both store the portal by member_id and queue the connector setup as a job.

use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::TransactionTrait;

use crate::{
    actors::registry::{KickOwner, Owner, Reload},
    bitrix24::{
        events::{decode_event, decode_install_page, EventKind, InstallAuth},
        form,
    },
    http::{ApiError, AppState},
    store::{jobs, numbers, portals},
};

/// Stores the portal and queues `imconnector.register` + `event.bind` (idempotent on reinstall).
pub async fn install_portal(state: &AppState, auth: InstallAuth) -> Result<i64, ApiError> {
    let data = auth;
    if !data.client_endpoint.starts_with("http://") && !data.client_endpoint.starts_with("https://")
    {
        return Err(ApiError::bad_request(
            "invalid_endpoint",
            "client_endpoint must be an http(s) URL",
        ));
    }
    confirm_with_portal(state, &data).await?;
    let txn = state.ctx.db.begin().await?;
    let id = portals::upsert_install(&txn, &state.ctx.secrets, &data).await?;
    jobs::enqueue(&txn, &jobs::portal_owner(id), "setup", &jobs::Job::B24Setup).await?;
    // A reinstall after an uninstall: the numbers it suspended come back, their connector is
    // activated on their lines again once the setup (register, bind) is done (same queue).
    let resumed = numbers::resume_portal(&txn, id).await?;
    for n in &resumed {
        let job = jobs::Job::B24Activate {
            number_id: n.id,
            line: n.line_id.clone(),
            active: true,
        };
        jobs::enqueue(&txn, &jobs::portal_owner(id), "setup", &job).await?;
    }
    txn.commit().await?;
    for n in &resumed {
        state.numbers.forget(&n.phone_number_id);
        state.registry.do_send(Reload(Owner::Number(n.id)));
    }
    tracing::info!(portal = id, domain = %data.domain, "portal installed");
    state.registry.do_send(Reload(Owner::Portal(id)));
    state.registry.do_send(KickOwner(Owner::Portal(id)));
    Ok(id)
}

/// Asks the portal itself (`app.info` with the tokens we were handed) whether the install is
/// real and ours, so that a forged DOMAIN / endpoint cannot create a portal here.
async fn confirm_with_portal(
    state: &AppState,
    data: &portals::InstallData,
) -> Result<(), ApiError> {
    let answer = state
        .outbound
        .b24
        .call(
            &data.client_endpoint,
            &data.access_token,
            "app.info",
            &serde_json::json!({}),
        )
        .await;
    match answer {
        Ok((info, _)) => {
            let code = info.get("CODE").and_then(|c| c.as_str()).unwrap_or("");
            if code != state.ctx.settings.app_client_id {
                tracing::warn!(domain = %data.domain, app = %code, "install refused: the tokens belong to another application");
                return Err(ApiError::forbidden(
                    "install_not_confirmed",
                    "the portal says these tokens belong to another application",
                ));
            }
            Ok(())
        }
        Err(e) if e.is_transient() => Err(ApiError::bad_gateway(
            "portal_unreachable",
            format!("the portal could not confirm the install: {e}"),
        )),
        Err(e) => {
            tracing::warn!(domain = %data.domain, code = e.code(), "install refused: the portal did not accept its tokens");
            Err(ApiError::forbidden(
                "install_not_confirmed",
                "the portal did not accept the tokens of this install",
            ))
        }
    }
}

pub async fn install(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = form::parse(&body);
    if form::str_at(&fields, &["event"]).is_some() {
        let ev = decode_event(&fields)
            .map_err(|e| ApiError::bad_request("invalid_event", e.to_string()))?;
        let EventKind::Install(auth) = ev.kind else {
            return Err(ApiError::bad_request(
                "unexpected_event",
                format!("{} is not an install event", ev.name),
            ));
        };
        let id = install_portal(&state, auth).await?;
        return Ok(HttpResponse::Ok().json(serde_json::json!({"installed": true, "portal_id": id})));
    }
    let query = form::parse(req.query_string().as_bytes());
    let auth = decode_install_page(&query, &fields)
        .map_err(|e| ApiError::bad_request("invalid_install", e.to_string()))?;
    install_portal(&state, auth).await?;
    // An app with UI is installed only once the page calls installFinish in the browser.
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INSTALL_PAGE))
}

const INSTALL_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>b24wa installed</title>
<script src="//api.bitrix24.com/api/v1/"></script></head>
<body><p>WhatsApp connector installed. Open Contact Center to connect a number.</p>
<script>if (window.BX24) { BX24.init(function () { BX24.installFinish(); }); }</script>
</body></html>"#;
