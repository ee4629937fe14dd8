//! App install: the `ONAPPINSTALL` event (apps without UI) or the install page POST (apps with
//! UI). Both store the portal by member_id and queue the connector setup as a job.

use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::TransactionTrait;

use super::page::{escape, layout, Page};

use crate::{
    actors::registry::{KickOwner, Owner, Reload},
    bitrix24::{
        events::{decode_event, decode_install_page, EventKind, InstallAuth},
        form,
    },
    http::{ApiError, AppState, ErrorCode},
    i18n::Lang,
    store::{jobs, numbers, portals},
    tr,
};

/// How an install's tokens reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallVia {
    /// `ONAPPINSTALL` / `ONAPPUPDATE`: sent once the install is complete.
    Event,
    /// The install page of an app with UI: the install is finished only when that page calls
    /// `BX24.installFinish()`, after our answer, so `app.info` still says `INSTALLED: false`.
    Page,
}

/// Stores the portal and queues `imconnector.register` + `event.bind` (idempotent on reinstall).
pub async fn install_portal(
    state: &AppState,
    auth: InstallAuth,
    via: InstallVia,
) -> Result<i64, ApiError> {
    let mut data = auth;
    check_endpoint(&data.client_endpoint)?;
    // Before anything is called: our client_id and secret go only to an OAuth server we know.
    check_oauth_server(state, &data)?;
    let (status, language) = confirm_with_portal(state, &data, via).await?;
    // The portal's language: the install event's own, else what `app.info` says (the portal's,
    // rather than the installing admin's `LANG` an install page carries).
    if via == InstallVia::Page || data.language.is_none() {
        data.language = language.or(data.language);
    }
    // (3) The first refresh, with our client_id/secret: only tokens issued to our app refresh.
    // The posted refresh token dies with it, so the new pair is what we store, with the REST base
    // the OAuth server names.
    let pair = first_refresh(state, &data).await?;
    if let Some(endpoint) = pair.client_endpoint.clone().filter(|e| !e.is_empty()) {
        data.client_endpoint = endpoint;
    }
    data.access_token = pair.access_token;
    data.refresh_token = pair.refresh_token;
    data.expires_in = pair.expires_in;
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
        let provider = jobs::Job::B24Provider {
            number_id: n.id,
            registered: true,
        };
        jobs::enqueue(&txn, &jobs::portal_owner(id), "setup", &provider).await?;
    }
    txn.commit().await?;
    for n in &resumed {
        state.numbers.forget(&n.phone_number_id);
        state.registry.do_send(Reload(Owner::Number(n.id)));
    }
    tracing::info!(portal = id, domain = %data.domain, licence = %status, "portal installed");
    state.registry.do_send(Reload(Owner::Portal(id)));
    state.registry.do_send(KickOwner(Owner::Portal(id)));
    Ok(id)
}

/// (1) The portal's REST base must be an http(s) URL with a host (and no credentials in it).
fn check_endpoint(client_endpoint: &str) -> Result<(), ApiError> {
    let ok = url::Url::parse(client_endpoint).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none()
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(ErrorCode::InvalidEndpoint, |l| {
            tr!(l, "error-invalid-endpoint")
        }))
    }
}

/// The install's `server_endpoint` must be an OAuth server we are willing to send our client_id
/// and secret to (`B24WA_B24_OAUTH_HOSTS`): otherwise whoever runs a fake portal and a fake OAuth
/// server could pass the checks below, for any member_id (and collect our secret).
fn check_oauth_server(state: &AppState, data: &portals::InstallData) -> Result<(), ApiError> {
    if state
        .ctx
        .settings
        .oauth_server_allowed(&data.server_endpoint)
    {
        return Ok(());
    }
    let host = url::Url::parse(&data.server_endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    tracing::warn!(domain = %data.domain, oauth_host = %host, "install refused: its OAuth server is not one we know (B24WA_B24_OAUTH_HOSTS)");
    Err(ApiError::forbidden(
        ErrorCode::OauthServerNotAllowed,
        move |l| tr!(l, "error-oauth-server-not-allowed", host = &host),
    ))
}

/// (2) Asks the portal itself (`app.info` with the tokens we were handed) whether the install
/// is real and ours, so that a forged DOMAIN / endpoint cannot create a portal here. Tokens
/// are bound to the app they were issued to, and `app.info` names it by `CODE`: a local app's
/// client_id, or a Marketplace app's catalogue code `vendor.app` (never its `app.…` client_id),
/// so CODE must be one of ours (`Settings::accepted_app_codes`), whatever the licence `STATUS`
/// (`L` local, `F` free, `D` demo, `T` trial, `P` paid). Returns that STATUS letter, and the
/// portal's `LANGUAGE_ID` when it names one.
async fn confirm_with_portal(
    state: &AppState,
    data: &portals::InstallData,
    via: InstallVia,
) -> Result<(String, Option<String>), ApiError> {
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
    let info = match answer {
        Ok((info, _)) => info,
        Err(e) if e.is_transient() => {
            let detail = e.to_string();
            return Err(ApiError::bad_gateway(
                ErrorCode::PortalUnreachable,
                move |l| tr!(l, "error-portal-unreachable", detail = &detail),
            ));
        }
        Err(e) => {
            tracing::warn!(domain = %data.domain, code = e.code(), "install refused: the portal did not accept its tokens");
            return Err(ApiError::forbidden(ErrorCode::InstallNotConfirmed, |l| {
                tr!(l, "error-install-tokens-refused")
            }));
        }
    };
    let code = info.get("CODE").and_then(|c| c.as_str()).unwrap_or("");
    let status = info
        .get("STATUS")
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_string();
    if !state.ctx.settings.accepted_app_codes().contains(&code) {
        tracing::warn!(domain = %data.domain, app = %code, status = %status, "install refused: the tokens belong to another application (a Marketplace install needs B24WA_APP_MARKETPLACE_CODE)");
        let code = code.to_string();
        return Err(ApiError::forbidden(
            ErrorCode::InstallNotConfirmed,
            move |l| tr!(l, "error-install-other-app", code = &code),
        ));
    }
    // `INSTALLED` is a boolean in the docs; accept the portal's usual "Y" too.
    let installed = match info.get("INSTALLED") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => matches!(s.as_str(), "Y" | "true" | "1"),
        _ => false,
    };
    if !installed && via == InstallVia::Event {
        tracing::warn!(domain = %data.domain, app = %code, "install refused: the portal says the install is not finished");
        return Err(ApiError::conflict(ErrorCode::InstallNotFinished, |l| {
            tr!(l, "error-install-not-finished")
        }));
    }
    let language = info
        .get("LANGUAGE_ID")
        .and_then(|l| l.as_str())
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    Ok((status, language))
}

/// (3) of the contract: the first refresh through the posted `server_endpoint` with our
/// client_id and secret. `invalid_client` / `invalid_grant` mean the tokens are not our app's
/// (or not for this portal).
async fn first_refresh(
    state: &AppState,
    data: &portals::InstallData,
) -> Result<crate::bitrix24::TokenPair, ApiError> {
    match state
        .outbound
        .b24
        .refresh(&data.server_endpoint, &data.refresh_token)
        .await
    {
        Ok(pair) => {
            // The OAuth server (one we know) names the portal the tokens are for: its member_id
            // and REST base (`client_endpoint`); the posted member_id and domain must be that
            // portal's. (Its `domain` field is the OAuth server's own host, fixture 11.)
            let member = pair.member_id.as_deref().unwrap_or("");
            let portal_host = pair
                .client_endpoint
                .as_deref()
                .filter(|e| !e.is_empty())
                .unwrap_or(&data.client_endpoint);
            let domain_matches = url::Url::parse(portal_host).is_ok_and(|u| {
                let host = u.host_str().unwrap_or("");
                let authority = match u.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host.to_string(),
                };
                authority.eq_ignore_ascii_case(&data.domain)
            });
            if member.is_empty() || member != data.member_id || !domain_matches {
                tracing::warn!(
                    domain = %data.domain,
                    "install refused: the OAuth server issued the tokens for another portal"
                );
                return Err(ApiError::forbidden(ErrorCode::InstallNotConfirmed, |l| {
                    tr!(l, "error-install-other-portal")
                }));
            }
            Ok(pair)
        }
        Err(e) if e.is_transient() => {
            let detail = e.to_string();
            Err(ApiError::bad_gateway(
                ErrorCode::PortalUnreachable,
                move |l| tr!(l, "error-oauth-unreachable", detail = &detail),
            ))
        }
        Err(e) => {
            tracing::warn!(domain = %data.domain, code = e.code(), "install refused: the first refresh with our credentials failed");
            let code = e.code().to_string();
            Err(ApiError::forbidden(
                ErrorCode::InstallNotConfirmed,
                move |l| tr!(l, "error-install-refresh-refused", code = &code),
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
        let ev = decode_event(&fields).map_err(super::events::invalid_event)?;
        let EventKind::Install(auth) = ev.kind else {
            let name = ev.name;
            return Err(ApiError::bad_request(
                ErrorCode::UnexpectedEvent,
                move |l| tr!(l, "error-not-an-install-event", name = &name),
            ));
        };
        let id = install_portal(&state, auth, InstallVia::Event).await?;
        return Ok(HttpResponse::Ok().json(serde_json::json!({"installed": true, "portal_id": id})));
    }
    let query = form::parse(req.query_string().as_bytes());
    // The installing admin reads the page in their Bitrix24 language.
    let lang = Lang::from_bitrix24(form::str_at(&query, &["LANG"]).unwrap_or(""));
    let installed = async {
        let auth = decode_install_page(&query, &fields).map_err(|e| {
            let detail = e.to_string();
            ApiError::bad_request(ErrorCode::InvalidInstall, move |l| {
                tr!(l, "error-invalid-install", detail = &detail)
            })
        })?;
        install_portal(&state, auth, InstallVia::Page).await
    }
    .await;
    Ok(match installed {
        // An app with UI is installed only once the page calls installFinish in the browser.
        Ok(_) => Page::ok(layout(
            lang,
            &tr!(lang, "install-title"),
            r#"<script src="//api.bitrix24.com/api/v1/"></script>"#,
            &format!(
                "<div class=\"card\"><h1>{}</h1><p>{}</p></div>\
                 <script>if (window.BX24) {{ BX24.init(function () {{ BX24.installFinish(); }}); }}</script>",
                escape(&tr!(lang, "install-done")),
                escape(&tr!(lang, "install-next")),
            ),
        )),
        // Refused: said in words on the page, the error kept on the answer (metrics, logs).
        Err(e) => return Ok(Page::refusal(lang, e)),
    }
    .respond())
}
