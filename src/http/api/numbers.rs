//! WhatsApp numbers on Open Lines: the list, connecting a Cloud API number, disconnecting.
//! (Web gateway numbers connect in `gateway_numbers.rs`; a number's chats in `number_chats.rs`.)

use std::time::Duration;

use actix_web::HttpResponse;
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ById, JsonRequest, ListRequest};
use super::not_found;
use super::{
    auth::Caller,
    openapi::{BadFilter, BillingReadOnly, ConnectRefused, NumberId},
    page::{self, invalid_field, Page, PageParams, Paging, MAX_SEARCH},
    portals::visible_portal,
    scope::{sees, tenant_of, visible_rows},
};
use crate::{
    actors::registry::{KickOwner, Owner, Reload},
    billing::QuotaError,
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    i18n::text::Text,
    store::{jobs, numbers, portals},
    tr,
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
    /// The WhatsApp Business Account the number belongs to (digits, WhatsApp Manager shows it):
    /// its message templates are synced right after connecting. Optional; can be named later
    /// with `POST /numbers/{id}/templates/sync`.
    #[serde(default)]
    pub waba_id: Option<String>,
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

/// Refuses an empty (or blank) field `name`.
pub(super) fn non_empty(name: &'static str, v: &str) -> Result<(), ApiError> {
    if v.trim().is_empty() {
        Err(invalid_field(move |l| {
            tr!(l, "error-field-empty", name = name)
        }))
    } else {
        Ok(())
    }
}

/// Refuses a provider's address that is not an http(s) URL, saying `message`.
pub(super) fn http_url(url: &str, message: impl Into<Text>) -> Result<(), ApiError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid_field(message))
    }
}

/// A number the caller may see (another tenant's is `404`, as if it did not exist), with its
/// portal; with `write`, one the caller may also change.
pub(super) async fn number_for(
    state: &AppState,
    caller: &Caller,
    id: i64,
    write: bool,
) -> Result<(entity::numbers::Model, entity::portals::Model), ApiError> {
    let n = numbers::get(&state.ctx.db, id)
        .await?
        .ok_or_else(not_found::number)?;
    let p = portals::get(&state.ctx.db, n.portal_id)
        .await?
        .ok_or_else(not_found::number)?;
    if !sees(caller, &p) {
        return Err(not_found::number());
    }
    if write {
        caller.require_write(tenant_of(&p))?;
    }
    Ok((n, p))
}

/// Refuses a number beyond the plan of `portal`'s tenant (409 `quota_exceeded`), before
/// anything is stored or called. `key`: the phone_number_id it will have (a rebind is free).
pub(super) async fn check_number_quota(
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
        Err(QuotaError::Numbers { plan, limit, used }) => {
            Err(ApiError::conflict(ErrorCode::QuotaExceeded, move |l| {
                tr!(
                    l,
                    "error-quota-numbers",
                    plan = &plan,
                    limit = limit,
                    used = used
                )
            }))
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
    request_body = ConnectCloudNumber,
    responses(
        (status = 201, description = "Stored; `activation` tells how the line took it", body = ConnectedView),
        (status = 400, description = "`invalid_field` (line not digits, empty id), `invalid_json`", body = ErrorBody),
        ConnectRefused,
    ),
)]
pub async fn connect(
    JsonRequest {
        state,
        caller,
        body: b,
    }: JsonRequest<ConnectCloudNumber>,
) -> Result<HttpResponse, ApiError> {
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

impl Connected {
    /// `number`, stored, with our connector activated on its line ([`activate`]).
    pub(super) async fn activating(
        state: &AppState,
        portal_id: i64,
        number: entity::numbers::Model,
        webhook_url: String,
    ) -> Result<Self, ApiError> {
        let (activation, activation_error) = activate(state, portal_id, &number).await?;
        Ok(Self {
            number,
            activation,
            activation_error,
            webhook_url,
        })
    }
}

/// Stores a Cloud API number on `portal`'s line and activates our connector there.
pub(crate) async fn connect_cloud_number(
    state: &AppState,
    portal: &entity::portals::Model,
    b: ConnectCloudNumber,
) -> Result<Connected, ApiError> {
    non_empty("phone_number_id", &b.phone_number_id)?;
    let waba_id = b
        .waba_id
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(super::templates::account_id)
        .transpose()?;
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
    if let Some(waba_id) = waba_id {
        crate::store::templates::set_account(&state.ctx.db, number.id, waba_id).await?;
        // In the background: a listing can take several pages, and the number works without it.
        let (ctx, id) = (state.ctx.clone(), number.id);
        actix_web::rt::spawn(async move {
            if let Err(e) = crate::actors::templates::sync(&ctx, id).await {
                tracing::warn!(number = id, error = %e, "templates not synced after connecting");
            }
        });
    }
    let webhook_url = format!(
        "{}/webhooks/whatsapp/cloud/{}",
        state.ctx.public_url, number.phone_number_id
    );
    Connected::activating(state, portal.id, number, webhook_url).await
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

/// List numbers
///
/// The numbers the caller sees (a tenant admin: its own tenant's), by id, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/numbers",
    operation_id = "list_numbers",
    params(PageParams, NumberQuery),
    responses(
        (status = 200, description = "One page of numbers", body = Page<NumberView>),
        BadFilter,
    ),
)]
pub async fn list(ListRequest { state, caller, q }: ListRequest) -> Result<HttpResponse, ApiError> {
    let paging = Paging::of(&q)?;
    let session_state = page::param(&q, "state")
        .map(|s| {
            // States are identifiers; anything else is a typo, not a state nobody has.
            if s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Ok(s.to_string())
            } else {
                Err(invalid_field(|l| tr!(l, "error-session-state")))
            }
        })
        .transpose()?;
    let filter = numbers::Filter {
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
    visible_rows::<NumberView, _>(&state, &caller, paging, filter, |f, t| f.tenant = t).await
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
    // The number as a sender in CRM cards and robots (its own queue: the activation does not
    // wait for it).
    let provider = jobs::Job::B24Provider {
        number_id: number.id,
        registered: true,
    };
    let queue = format!("provider:{}", number.id);
    jobs::enqueue(
        &state.ctx.db,
        &jobs::portal_owner(portal_id),
        &queue,
        &provider,
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
    let provider = jobs::Job::B24Provider {
        number_id: n.id,
        registered: false,
    };
    let queue = format!("provider:{}", n.id);
    jobs::enqueue(&txn, &jobs::portal_owner(n.portal_id), &queue, &provider).await?;
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
    params(NumberId),
    responses(
        (status = 200, description = "Disconnected", body = DisconnectedView),
        BillingReadOnly,
        (status = 404, description = "`unknown_number` (or another tenant's)", body = ErrorBody),
    ),
)]
pub async fn disconnect(ById { state, caller, id }: ById) -> Result<HttpResponse, ApiError> {
    let (n, _) = number_for(&state, &caller, id, true).await?;
    disconnect_number(&state, &n).await?;
    let n = numbers::get(&state.ctx.db, n.id).await?.unwrap_or(n);
    Ok(HttpResponse::Ok().json(DisconnectedView {
        number: NumberView::from(&n),
    }))
}
