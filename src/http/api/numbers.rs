//! Connecting WhatsApp numbers to a portal's Open Line, and looking at them.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::Caller;
use crate::{
    actors::registry::{KickOwner, Owner, Reload},
    http::{ApiError, AppState},
    store::{chats, jobs, messages, numbers, portals},
    whatsapp::gateway::{GatewayError, Instance},
};

#[derive(Deserialize)]
pub struct ConnectCloudNumber {
    pub member_id: String,
    pub line: String,
    pub phone_number_id: String,
    #[serde(default)]
    pub display_phone: String,
    pub access_token: SecretString,
    pub app_secret: SecretString,
    pub verify_token: SecretString,
}

#[derive(Serialize)]
pub struct NumberView {
    pub id: i64,
    pub portal_id: i64,
    pub line: String,
    pub transport: String,
    pub phone_number_id: String,
    pub display_phone: String,
    pub active: bool,
    /// `ok`, or `token_invalid` when WhatsApp rejected the token (reconnect the number).
    pub session_state: String,
    pub session_changed_at: Option<i64>,
}

impl From<&entity::numbers::Model> for NumberView {
    fn from(n: &entity::numbers::Model) -> Self {
        Self {
            id: n.id,
            portal_id: n.portal_id,
            line: n.line_id.clone(),
            transport: n.transport.clone(),
            phone_number_id: n.phone_number_id.clone(),
            display_phone: n.display_phone.clone(),
            active: n.active,
            session_state: n.session_state.clone(),
            session_changed_at: n.session_changed_at,
        }
    }
}

fn non_empty(name: &'static str, v: &str) -> Result<(), ApiError> {
    if v.trim().is_empty() {
        Err(ApiError::bad_request(
            "invalid_field",
            format!("{name} must not be empty"),
        ))
    } else {
        Ok(())
    }
}

/// The tenant a portal belongs to (portals from before tenants existed have one from the
/// migration; `-1` never matches a tenant admin).
fn tenant_of(p: &entity::portals::Model) -> i64 {
    p.tenant_id.unwrap_or(-1)
}

/// Whether the caller may see `p`'s data.
fn sees(caller: &Caller, p: &entity::portals::Model) -> bool {
    caller.require_tenant_access(tenant_of(p)).is_ok()
}

/// A number the caller may see (another tenant's is `404`, as if it did not exist), with its
/// portal; with `write`, one the caller may also change.
async fn number_for(
    state: &AppState,
    caller: &Caller,
    id: i64,
    write: bool,
) -> Result<(entity::numbers::Model, entity::portals::Model), ApiError> {
    let missing = || ApiError::not_found("unknown_number", "no number with this id");
    let n = numbers::get(&state.ctx.db, id).await?.ok_or_else(missing)?;
    let p = portals::get(&state.ctx.db, n.portal_id)
        .await?
        .ok_or_else(missing)?;
    if !sees(caller, &p) {
        return Err(missing());
    }
    if write {
        caller.require_write(tenant_of(&p))?;
    }
    Ok((n, p))
}

/// Checks the line id and finds the installed portal it belongs to.
pub(crate) async fn line_of_installed_portal(
    state: &AppState,
    member_id: &str,
    line: &str,
) -> Result<entity::portals::Model, ApiError> {
    if line.is_empty() || !line.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "line must be an Open Line id (digits)",
        ));
    }
    portals::find_by_member(&state.ctx.db, member_id)
        .await?
        .filter(|p| p.installed)
        .ok_or_else(|| {
            ApiError::not_found("unknown_portal", "no installed portal with this member_id")
        })
}

/// The installed portal of `member_id` if the caller may change it (another tenant's is
/// `404 unknown_portal`, billing gets `403`).
async fn visible_portal(
    state: &AppState,
    caller: &Caller,
    member_id: &str,
    line: &str,
) -> Result<entity::portals::Model, ApiError> {
    let portal = line_of_installed_portal(state, member_id, line).await?;
    if !sees(caller, &portal) {
        return Err(ApiError::not_found(
            "unknown_portal",
            "no installed portal with this member_id",
        ));
    }
    caller.require_write(tenant_of(&portal))?;
    Ok(portal)
}

/// `POST /api/v1/numbers`: stores the number and activates our connector on the line (a stored
/// job); answers once the activation finished or after 10 s with its current state.
pub async fn connect(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ConnectCloudNumber>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    non_empty("member_id", &b.member_id)?;
    let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
    let c = connect_cloud_number(&state, &portal, b).await?;
    Ok(HttpResponse::Created().json(json!({
        "number": NumberView::from(&c.number),
        "activation": c.activation,
        "activation_error": c.activation_error,
        "webhook_url": c.webhook_url,
    })))
}

/// A number stored and its connector activation tried (the API and the settings page).
pub(crate) struct Connected {
    pub number: entity::numbers::Model,
    /// `active`, `failed` or `pending`.
    pub activation: &'static str,
    pub activation_error: Option<String>,
    pub webhook_url: String,
}

/// Stores a Cloud API number on `portal`'s line and activates our connector there.
pub(crate) async fn connect_cloud_number(
    state: &AppState,
    portal: &entity::portals::Model,
    b: ConnectCloudNumber,
) -> Result<Connected, ApiError> {
    non_empty("phone_number_id", &b.phone_number_id)?;
    let new = numbers::NewCloudNumber {
        portal_id: portal.id,
        line_id: b.line.clone(),
        phone_number_id: b.phone_number_id.clone(),
        display_phone: b.display_phone.clone(),
        access_token: b.access_token,
        app_secret: b.app_secret,
        verify_token: b.verify_token,
    };
    let number = numbers::upsert_cloud(&state.ctx.db, &state.ctx.secrets, &new).await?;
    state.numbers.forget(&number.phone_number_id);
    let (activation, activation_error) = activate(state, portal.id, &number).await?;
    let webhook_url = format!(
        "{}/webhooks/whatsapp/cloud/{}",
        state.ctx.public_url, number.phone_number_id
    );
    Ok(Connected {
        number,
        activation,
        activation_error,
        webhook_url,
    })
}

pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let visible: std::collections::HashSet<i64> = portals::list(&state.ctx.db)
        .await?
        .iter()
        .filter(|p| sees(&caller, p))
        .map(|p| p.id)
        .collect();
    let all = numbers::list(&state.ctx.db).await?;
    let views: Vec<NumberView> = all
        .iter()
        .filter(|n| visible.contains(&n.portal_id))
        .map(NumberView::from)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

pub async fn list_portals(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let all = portals::list(&state.ctx.db).await?;
    let views: Vec<_> = all
        .iter()
        .filter(|p| sees(&caller, p))
        .map(|p| json!({"id": p.id, "member_id": p.member_id, "domain": p.domain, "installed": p.installed}))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Messages of one chat with their state on each side (what operators' ticks are built from).
pub async fn chat_messages(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (number_id, wa_id) = path.into_inner();
    number_for(&state, &caller, number_id, false).await?;
    let chat = chats::find(&state.ctx.db, number_id, &wa_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found("unknown_chat", "no chat with this customer on this number")
        })?;
    let list = messages::list_for_chat(&state.ctx.db, chat.id).await?;
    // Read again after the messages: what a message shows of Bitrix24 is then on the chat too
    // (both are written in one transaction; two separate reads could straddle it).
    let chat = chats::get(&state.ctx.db, chat.id).await?.unwrap_or(chat);
    Ok(HttpResponse::Ok().json(json!({
        "chat": {"id": chat.id, "b24_chat_id": chat.b24_chat_id, "customer_name": chat.customer_name},
        "messages": list,
    })))
}

/// Activates our connector on the number's line (a stored job) and waits up to 10 s for it.
async fn activate(
    state: &AppState,
    portal_id: i64,
    number: &entity::numbers::Model,
) -> Result<(&'static str, Option<String>), ApiError> {
    let job = jobs::Job::B24Activate {
        number_id: number.id,
        line: number.line_id.clone(),
        active: true,
    };
    let job_id = jobs::enqueue(
        &state.ctx.db,
        &jobs::portal_owner(portal_id),
        &format!("line:{}", number.line_id),
        &job,
    )
    .await?;
    state.registry.do_send(Reload(Owner::Number(number.id)));
    state.registry.do_send(KickOwner(Owner::Portal(portal_id)));
    let mut error = None;
    for _ in 0..200 {
        if let Some(j) = jobs::get(&state.ctx.db, job_id).await? {
            match j.status.as_str() {
                jobs::DONE => return Ok(("active", None)),
                jobs::DEAD => return Ok(("failed", j.last_error)),
                _ => error = j.last_error,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(("pending", error))
}

#[derive(Deserialize)]
pub struct ConnectGatewayNumber {
    pub member_id: String,
    pub line: String,
    /// The instance's API base (`apiUrl`).
    pub api_url: String,
    pub id_instance: String,
    pub api_token_instance: SecretString,
    #[serde(default)]
    pub display_phone: String,
}

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Credentials(_) => ApiError::unprocessable(
            "gateway_credentials_invalid",
            "the gateway rejected this instance id or token",
        ),
        e => ApiError::bad_gateway(
            "gateway_unavailable",
            format!("the gateway did not answer as expected: {e}"),
        ),
    }
}

/// `POST /api/v1/numbers/gateway`: connects a Web gateway instance. The credentials are checked
/// against the gateway (`getStateInstance`), its webhooks are pointed at us with a fresh
/// per-number token (`setSettings`), and the connector is activated on the line.
pub async fn connect_gateway(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ConnectGatewayNumber>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    non_empty("member_id", &b.member_id)?;
    let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
    let c = connect_gateway_instance(&state, &portal, b).await?;
    Ok(HttpResponse::Created().json(json!({
        "number": NumberView::from(&c.number),
        "activation": c.activation,
        "activation_error": c.activation_error,
        "webhook_url": c.webhook_url,
    })))
}

/// Connects a gateway instance on `portal`'s line: credentials checked against the gateway,
/// its webhooks pointed at us with a fresh token, the connector activated.
pub(crate) async fn connect_gateway_instance(
    state: &AppState,
    portal: &entity::portals::Model,
    b: ConnectGatewayNumber,
) -> Result<Connected, ApiError> {
    use secrecy::ExposeSecret;
    non_empty("id_instance", &b.id_instance)?;
    non_empty("api_token_instance", b.api_token_instance.expose_secret())?;
    if !(b.api_url.starts_with("http://") || b.api_url.starts_with("https://")) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "api_url must be an http(s) URL",
        ));
    }
    if !b.id_instance.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "id_instance must be digits",
        ));
    }
    let inst = Instance {
        api_url: b.api_url.trim_end_matches('/').to_string(),
        id: b.id_instance.clone(),
        token: b.api_token_instance.clone(),
    };
    let session = state
        .outbound
        .gateway
        .state(&inst)
        .await
        .map_err(gateway_error)?;
    let webhook_token = SecretString::from(crate::store::crypto::random_token());
    let new = numbers::NewGatewayNumber {
        portal_id: portal.id,
        line_id: b.line.clone(),
        api_url: inst.api_url.clone(),
        instance_id: b.id_instance.clone(),
        display_phone: b.display_phone.clone(),
        api_token: b.api_token_instance,
        webhook_token: webhook_token.clone(),
        state: session,
    };
    let number = numbers::upsert_gateway(&state.ctx.db, &state.ctx.secrets, &new).await?;
    let webhook_url = format!(
        "{}/webhooks/whatsapp/gateway/{}",
        state.ctx.public_url, number.id
    );
    if let Err(e) = state
        .outbound
        .gateway
        .set_settings(&inst, &webhook_url, &webhook_token)
        .await
    {
        numbers::deactivate_one(&state.ctx.db, number.id).await?;
        return Err(gateway_error(e));
    }
    let (activation, activation_error) = activate(state, portal.id, &number).await?;
    Ok(Connected {
        number,
        activation,
        activation_error,
        webhook_url,
    })
}

/// `GET /api/v1/numbers/{id}/qr`: the gateway's current QR (a PNG data URL) while the phone is
/// not linked, or the state once it is.
pub async fn qr(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (n, _) = number_for(&state, &caller, path.into_inner(), false).await?;
    let n = Some(n)
        .filter(|n| n.transport == numbers::TRANSPORT_GATEWAY)
        .ok_or_else(|| ApiError::not_found("unknown_number", "no gateway number with this id"))?;
    Ok(HttpResponse::Ok().json(gateway_qr(&state, &n).await?))
}

/// A gateway number's QR (PNG data URL) while its phone is not linked; the state once it is.
pub(crate) async fn gateway_qr(
    state: &AppState,
    n: &entity::numbers::Model,
) -> Result<serde_json::Value, ApiError> {
    let inst = match crate::actors::number::Transport::load(&state.ctx.secrets, n)? {
        crate::actors::number::Transport::Gateway(i) => i,
        crate::actors::number::Transport::Cloud(_) => {
            return Err(ApiError::not_found(
                "unknown_number",
                "no gateway number with this id",
            ))
        }
    };
    let (kind, message) = state
        .outbound
        .gateway
        .qr(&inst)
        .await
        .map_err(gateway_error)?;
    Ok(match kind.as_str() {
        "qrCode" => {
            json!({"state": n.session_state, "qr": format!("data:image/png;base64,{message}")})
        }
        "alreadyLogged" => json!({"state": "authorized", "qr": null}),
        _ => json!({"state": n.session_state, "qr": null, "message": message}),
    })
}

/// Stops a number relaying on its line and switches our connector off there
/// (`imconnector.activate` ACTIVE=0, a stored job). History is kept.
pub(crate) async fn disconnect_number(
    state: &AppState,
    n: &entity::numbers::Model,
) -> Result<(), ApiError> {
    let txn = state.ctx.db.begin().await?;
    numbers::deactivate_one(&txn, n.id).await?;
    jobs::enqueue(
        &txn,
        &jobs::portal_owner(n.portal_id),
        &format!("line:{}", n.line_id),
        &jobs::Job::B24Activate {
            number_id: n.id,
            line: n.line_id.clone(),
            active: false,
        },
    )
    .await?;
    txn.commit().await?;
    state.numbers.forget(&n.phone_number_id);
    state.registry.do_send(Reload(Owner::Number(n.id)));
    state
        .registry
        .do_send(KickOwner(Owner::Portal(n.portal_id)));
    Ok(())
}

/// `POST /api/v1/numbers/{id}/disconnect`.
pub async fn disconnect(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (n, _) = number_for(&state, &caller, path.into_inner(), true).await?;
    disconnect_number(&state, &n).await?;
    let n = numbers::get(&state.ctx.db, n.id).await?.unwrap_or(n);
    Ok(HttpResponse::Ok().json(json!({"number": NumberView::from(&n)})))
}
