//! Connecting WhatsApp numbers to a portal's Open Line, and looking at them.

use std::{collections::HashMap, time::Duration};

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::page::{self, paged, paging, Page, PageParams};
use crate::{
    actors::registry::{KickOwner, Owner, Reload},
    billing::QuotaError,
    http::{error::ErrorBody, ApiError, AppState},
    store::{chats, jobs, messages, numbers, portals},
    whatsapp::gateway::{GatewayError, Instance},
};

/// A Cloud API number to connect to an Open Line of an installed portal.
#[derive(Deserialize, ToSchema)]
pub struct ConnectCloudNumber {
    /// The portal's `member_id`.
    pub member_id: String,
    /// The Open Line id (digits).
    pub line: String,
    pub phone_number_id: String,
    #[serde(default)]
    pub display_phone: String,
    #[schema(value_type = String, format = Password)]
    pub access_token: SecretString,
    #[schema(value_type = String, format = Password)]
    pub app_secret: SecretString,
    #[schema(value_type = String, format = Password)]
    pub verify_token: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct NumberView {
    pub id: i64,
    pub portal_id: i64,
    pub line: String,
    /// `cloud` or `gateway`.
    pub transport: String,
    /// The Cloud API's phone_number_id (`gw<instance id>` for a gateway number).
    pub phone_number_id: String,
    pub display_phone: String,
    pub active: bool,
    /// Cloud: `ok`, or `token_invalid` when WhatsApp rejected the token (reconnect the
    /// number); gateway: the instance state (`authorized`, `notAuthorized`, `blocked`, ...).
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

/// `sees` for a whole list, as a store filter: `Some(None)` every portal (support, billing),
/// `Some(Some(t))` tenant `t`'s only, `None` nothing (a tenant admin without a tenant, which
/// token verification already refuses).
fn visible_tenant(caller: &Caller) -> Option<Option<i64>> {
    if caller.role().is_global() {
        Some(None)
    } else {
        caller.tenant().map(Some)
    }
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

/// Refuses a number beyond the plan of `portal`'s tenant (409 `quota_exceeded`), before
/// anything is stored or called. `key`: the phone_number_id it will have (a rebind is free).
async fn check_number_quota(
    state: &AppState,
    portal: &entity::portals::Model,
    key: &str,
) -> Result<(), ApiError> {
    let Some(tenant_id) = portal.tenant_id else {
        return Ok(());
    };
    match state
        .ctx
        .billing
        .check_numbers(&state.ctx.db, tenant_id, key)
        .await
    {
        Ok(()) => Ok(()),
        Err(e @ QuotaError::Numbers { .. }) => {
            Err(ApiError::conflict("quota_exceeded", e.to_string()))
        }
        Err(QuotaError::Db(e)) => Err(e.into()),
    }
}

/// A number just connected, and how the activation on its line went.
#[derive(Serialize, ToSchema)]
pub struct ConnectedView {
    pub number: NumberView,
    /// `active`, `failed` or `pending` (still trying after 10 s).
    #[schema(example = "active")]
    pub activation: String,
    /// Why the activation failed or is still pending, if known.
    pub activation_error: Option<String>,
    /// Where the provider must send this number's webhooks.
    pub webhook_url: String,
}

impl From<Connected> for ConnectedView {
    fn from(c: Connected) -> Self {
        Self {
            number: NumberView::from(&c.number),
            activation: c.activation.to_string(),
            activation_error: c.activation_error,
            webhook_url: c.webhook_url,
        }
    }
}

/// Connect a Cloud API number to a line
///
/// Stores the number and activates our connector on the line (a stored job); answers once the
/// activation finished or after 10 s with its current state. Connecting a known
/// phone_number_id again rebinds and updates it.
#[utoipa::path(
    post,
    path = "/api/v1/numbers",
    operation_id = "connect_number",
    tag = "numbers",
    request_body = ConnectCloudNumber,
    responses(
        (status = 201, description = "Stored; `activation` tells how the line took it", body = ConnectedView),
        (status = 400, description = "`invalid_field` (line not digits, empty id), `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: billing is read-only", body = ErrorBody),
        (status = 404, description = "`unknown_portal`: no installed portal with this member_id (or another tenant's)", body = ErrorBody),
        (status = 409, description = "`quota_exceeded`: the tenant's plan allows no further number", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn connect(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ConnectCloudNumber>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    non_empty("member_id", &b.member_id)?;
    let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
    let c = connect_cloud_number(&state, &portal, b).await?;
    Ok(HttpResponse::Created().json(ConnectedView::from(c)))
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
    check_number_quota(state, portal, &b.phone_number_id).await?;
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

/// How a number reaches WhatsApp (for the document; stored as text).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Transport {
    Cloud,
    Gateway,
}

/// The filters of `GET /api/v1/numbers` (with `page`, `per_page`), for the document: the
/// handler reads them with the `page` parsers so that a bad value is `invalid_field`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NumberQuery {
    /// Only the numbers of this portal.
    #[param(minimum = 1)]
    pub portal_id: Option<i64>,
    #[param(inline)]
    pub transport: Option<Transport>,
    /// The session state, exactly (`ok`, `token_invalid`, `authorized`, `notAuthorized`, ...).
    #[param(pattern = "^[A-Za-z0-9_]{1,64}$")]
    pub state: Option<String>,
    /// Only the numbers relaying (`true`) or switched off (`false`).
    pub active: Option<bool>,
    /// Part of the display phone or of the phone_number_id (any case).
    #[param(max_length = 100)]
    pub q: Option<String>,
}

/// The longest search term taken (`max_length` in `NumberQuery` and `PortalQuery` says it too).
const MAX_SEARCH: usize = 100;

/// List numbers
///
/// The numbers the caller sees (a tenant admin: its own tenant's), by id, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/numbers",
    operation_id = "list_numbers",
    tag = "numbers",
    params(PageParams, NumberQuery),
    responses(
        (status = 200, description = "One page of numbers", body = Page<NumberView>),
        (status = 400, description = "`invalid_field`: a paging or filter value out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page) = paging(&q)?;
    let session_state = page::param(&q, "state")
        .map(|s| {
            // States are identifiers; anything else is a typo, not a state nobody has.
            if s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Ok(s.to_string())
            } else {
                Err(page::invalid_field(
                    "state must be a session state such as ok, token_invalid or authorized",
                ))
            }
        })
        .transpose()?;
    let mut filter = numbers::Filter {
        tenant: None,
        portal_id: page::id(&q, "portal_id")?,
        transport: page::one_of(
            &q,
            "transport",
            &[numbers::TRANSPORT_CLOUD, numbers::TRANSPORT_GATEWAY],
        )?
        .map(str::to_string),
        session_state,
        active: page::flag(&q, "active")?,
        text: page::search(&q, "q", MAX_SEARCH)?,
    };
    let Some(tenant) = visible_tenant(&caller) else {
        return Ok(paged(Vec::<NumberView>::new(), page, per_page, 0));
    };
    filter.tenant = tenant;
    let (items, total) = numbers::page(&state.ctx.db, &filter, page, per_page).await?;
    let items: Vec<NumberView> = items.iter().map(NumberView::from).collect();
    Ok(paged(items, page, per_page, total))
}

#[derive(Serialize, ToSchema)]
pub struct PortalView {
    pub id: i64,
    pub member_id: String,
    pub domain: String,
    /// `false` once the app was uninstalled (its numbers are suspended).
    pub installed: bool,
}

impl From<&entity::portals::Model> for PortalView {
    fn from(p: &entity::portals::Model) -> Self {
        Self {
            id: p.id,
            member_id: p.member_id.clone(),
            domain: p.domain.clone(),
            installed: p.installed,
        }
    }
}

/// The filters of `GET /api/v1/portals` (with `page`, `per_page`), for the document.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortalQuery {
    /// Part of the domain (any case).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only portals with the app installed (`true`) or uninstalled (`false`).
    pub installed: Option<bool>,
}

/// List portals
///
/// The Bitrix24 portals the caller sees (a tenant admin: its own tenant's), by id.
#[utoipa::path(
    get,
    path = "/api/v1/portals",
    tag = "portals",
    params(PageParams, PortalQuery),
    responses(
        (status = 200, description = "One page of portals", body = Page<PortalView>),
        (status = 400, description = "`invalid_field`: a paging or filter value out of range", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_portals(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page) = paging(&q)?;
    let mut filter = portals::Filter {
        tenant: None,
        domain: page::search(&q, "q", MAX_SEARCH)?,
        installed: page::flag(&q, "installed")?,
    };
    let Some(tenant) = visible_tenant(&caller) else {
        return Ok(paged(Vec::<PortalView>::new(), page, per_page, 0));
    };
    filter.tenant = tenant;
    let (items, total) = portals::page(&state.ctx.db, &filter, page, per_page).await?;
    let items: Vec<PortalView> = items.iter().map(PortalView::from).collect();
    Ok(paged(items, page, per_page, total))
}

/// A chat as `chat_messages` shows it.
#[derive(Serialize, ToSchema)]
pub struct ChatView {
    pub id: i64,
    /// The Open Lines chat, once Bitrix24 created it.
    pub b24_chat_id: Option<String>,
    pub customer_name: String,
}

/// One message with its state on both sides.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub chat_id: i64,
    /// `in` (customer to operator) or `out`.
    pub direction: String,
    /// `text`, `image`, `audio`, `document`, ...
    pub kind: String,
    /// WhatsApp's message id.
    pub wamid: Option<String>,
    pub b24_chat_id: Option<String>,
    pub b24_message_id: Option<String>,
    pub text: String,
    /// In: `received`, `forwarded`; out: `queued`, `sent`, `delivered`, `read`, `failed`; or
    /// `deleted`.
    pub status: String,
    pub error: Option<String>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub media_id: Option<i64>,
    /// A voice note's transcript, or why there is none.
    pub transcript: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<entity::messages::Model> for MessageView {
    fn from(m: entity::messages::Model) -> Self {
        Self {
            id: m.id,
            chat_id: m.chat_id,
            direction: m.direction,
            kind: m.kind,
            wamid: m.wamid,
            b24_chat_id: m.b24_chat_id,
            b24_message_id: m.b24_message_id,
            text: m.text,
            status: m.status,
            error: m.error,
            sent_at: m.sent_at,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
            media_id: m.media_id,
            transcript: m.transcript,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessagesView {
    pub chat: ChatView,
    /// Oldest first.
    pub messages: Vec<MessageView>,
}

/// A chat's messages
///
/// Messages of one chat with their state on each side (what operators' ticks are built from).
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/chats/{wa_id}/messages",
    tag = "numbers",
    params(
        ("id" = i64, Path, description = "The number's id"),
        ("wa_id" = String, Path, description = "The customer's WhatsApp id"),
    ),
    responses(
        (status = 200, description = "The chat and its messages", body = ChatMessagesView),
        (status = 404, description = "`unknown_number` (or another tenant's), `unknown_chat`", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
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
    Ok(HttpResponse::Ok().json(ChatMessagesView {
        chat: ChatView {
            id: chat.id,
            b24_chat_id: chat.b24_chat_id,
            customer_name: chat.customer_name,
        },
        messages: list.into_iter().map(MessageView::from).collect(),
    }))
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

/// A Web gateway instance to connect to an Open Line of an installed portal.
#[derive(Deserialize, ToSchema)]
pub struct ConnectGatewayNumber {
    /// The portal's `member_id`.
    pub member_id: String,
    /// The Open Line id (digits).
    pub line: String,
    /// The instance's API base (`apiUrl`), http(s).
    pub api_url: String,
    /// Digits.
    pub id_instance: String,
    #[schema(value_type = String, format = Password)]
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

/// Connect a Web gateway instance to a line
///
/// The credentials are checked against the gateway (`getStateInstance`), its webhooks are
/// pointed at us with a fresh per-number token (`setSettings`), and the connector is activated
/// on the line.
#[utoipa::path(
    post,
    path = "/api/v1/numbers/gateway",
    tag = "numbers",
    request_body = ConnectGatewayNumber,
    responses(
        (status = 201, description = "Stored; `activation` tells how the line took it", body = ConnectedView),
        (status = 400, description = "`invalid_field` (line, api_url, id_instance), `invalid_json`", body = ErrorBody),
        (status = 403, description = "`forbidden`: billing is read-only", body = ErrorBody),
        (status = 404, description = "`unknown_portal`: no installed portal with this member_id (or another tenant's)", body = ErrorBody),
        (status = 409, description = "`quota_exceeded`: the tenant's plan allows no further number", body = ErrorBody),
        (status = 422, description = "`gateway_credentials_invalid`: the gateway rejected the instance id or token", body = ErrorBody),
        (status = 502, description = "`gateway_unavailable`: the gateway did not answer as expected", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn connect_gateway(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ConnectGatewayNumber>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    non_empty("member_id", &b.member_id)?;
    let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
    let c = connect_gateway_instance(&state, &portal, b).await?;
    Ok(HttpResponse::Created().json(ConnectedView::from(c)))
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
    check_number_quota(state, portal, &numbers::gateway_key(&b.id_instance)).await?;
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

/// A gateway number's QR, or its state once the phone is linked.
#[derive(Serialize, ToSchema)]
pub struct QrView {
    /// The instance state (`authorized` once linked).
    pub state: String,
    /// `data:image/png;base64,...` while the phone is not linked; `null` otherwise.
    pub qr: Option<String>,
    /// What the gateway said instead of a QR, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A gateway number's QR
///
/// The gateway's current QR (a PNG data URL) while the phone is not linked, or the state once
/// it is.
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/qr",
    tag = "numbers",
    params(("id" = i64, Path, description = "The number's id")),
    responses(
        (status = 200, description = "The QR to scan, or the linked state", body = QrView),
        (status = 404, description = "`unknown_number`: no gateway number with this id (or another tenant's)", body = ErrorBody),
        (status = 422, description = "`gateway_credentials_invalid`: the gateway rejected the stored credentials", body = ErrorBody),
        (status = 502, description = "`gateway_unavailable`: the gateway did not answer as expected", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
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
) -> Result<QrView, ApiError> {
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
        "qrCode" => QrView {
            state: n.session_state.clone(),
            qr: Some(format!("data:image/png;base64,{message}")),
            message: None,
        },
        "alreadyLogged" => QrView {
            state: "authorized".into(),
            qr: None,
            message: None,
        },
        _ => QrView {
            state: n.session_state.clone(),
            qr: None,
            message: Some(message),
        },
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

#[derive(Serialize, ToSchema)]
pub struct DisconnectedView {
    /// The number, now inactive.
    pub number: NumberView,
}

/// Disconnect a number
///
/// Stops the number relaying on its line and switches our connector off there (a stored job).
/// History is kept; connecting it again resumes.
#[utoipa::path(
    post,
    path = "/api/v1/numbers/{id}/disconnect",
    tag = "numbers",
    params(("id" = i64, Path, description = "The number's id")),
    responses(
        (status = 200, description = "Disconnected", body = DisconnectedView),
        (status = 403, description = "`forbidden`: billing is read-only", body = ErrorBody),
        (status = 404, description = "`unknown_number` (or another tenant's)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn disconnect(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (n, _) = number_for(&state, &caller, path.into_inner(), true).await?;
    disconnect_number(&state, &n).await?;
    let n = numbers::get(&state.ctx.db, n.id).await?.unwrap_or(n);
    Ok(HttpResponse::Ok().json(DisconnectedView {
        number: NumberView::from(&n),
    }))
}
