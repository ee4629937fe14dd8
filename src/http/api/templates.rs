//! A Cloud API number's message templates: the list as last synced from its WhatsApp Business
//! Account, and a sync on demand (optionally naming the account first).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::not_found;
use super::page::invalid_field;
use super::{
    extract::ById,
    numbers::number_for,
    openapi::{NumberId, NumberNotFound},
};
use crate::{
    actors::templates::{self, SyncError},
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    relay::templates as relay_templates,
    store, tr,
};

/// One template as the number's account lists it.
#[derive(Serialize, ToSchema)]
pub struct TemplateView {
    pub id: i64,
    /// Meta's template id.
    pub template_id: String,
    pub name: String,
    /// e.g. `en_US`, `ru`.
    pub language: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION` (older accounts: others).
    pub category: String,
    /// `APPROVED` (the only sendable one), `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// Why the status last changed, when Meta said.
    pub reason: Option<String>,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`).
    pub parameter_format: String,
    /// The template's components (HEADER, BODY, FOOTER, BUTTONS) as Meta lists them.
    #[schema(value_type = Vec<Object>)]
    pub components: serde_json::Value,
    pub synced_at: i64,
    pub updated_at: i64,
}

impl From<entity::templates::Model> for TemplateView {
    fn from(t: entity::templates::Model) -> Self {
        Self {
            id: t.id,
            template_id: t.template_id,
            name: t.name,
            language: t.language,
            category: t.category,
            status: t.status,
            reason: t.reason,
            parameter_format: t.parameter_format,
            components: serde_json::from_str(&t.components)
                .unwrap_or(serde_json::Value::Array(Vec::new())),
            synced_at: t.synced_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

#[derive(Serialize, ToSchema)]
pub struct TemplatesView {
    /// The number's WhatsApp Business Account, once named.
    pub waba_id: Option<String>,
    /// What a CRM or robot message is sent as when the customer's 24-hour window is closed (its
    /// one body variable takes the message's text); none: such a message is not sent.
    pub default_template: Option<TemplateRef>,
    /// By name, then language.
    pub templates: Vec<TemplateView>,
}

/// What `POST /numbers/{id}/templates/sync` may carry.
#[derive(Deserialize, ToSchema, Default)]
pub struct SyncRequest {
    /// The WhatsApp Business Account the number belongs to (WhatsApp Manager shows it); stored
    /// for the number before the sync. Needed once.
    #[schema(example = "102290129340398")]
    pub waba_id: Option<String>,
}

/// A WhatsApp Business Account id as given: digits only.
pub(super) fn account_id(waba_id: &str) -> Result<&str, ApiError> {
    if waba_id.is_empty() || waba_id.len() > 32 || !waba_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_field(|l| tr!(l, "error-waba-id")));
    }
    Ok(waba_id)
}

async fn view(state: &AppState, number_id: i64) -> Result<TemplatesView, ApiError> {
    let number = store::numbers::get(&state.ctx.db, number_id).await?;
    let list = store::templates::list(&state.ctx.db, number_id).await?;
    let default_template = number.as_ref().and_then(|n| {
        let name = n.default_template_name.clone()?;
        let language = n.default_template_language.clone()?;
        Some(TemplateRef { name, language })
    });
    Ok(TemplatesView {
        default_template,
        waba_id: number.and_then(|n| n.waba_id),
        templates: list.into_iter().map(TemplateView::from).collect(),
    })
}

/// A number's templates
///
/// The message templates of a Cloud API number's WhatsApp Business Account, as last synced.
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/templates",
    operation_id = "list_templates",
    params(NumberId),
    responses(
        (status = 200, description = "The number's templates", body = TemplatesView),
        NumberNotFound,
    ),
)]
pub async fn list(ById { state, caller, id }: ById) -> Result<HttpResponse, ApiError> {
    let (number, _) = number_for(&state, &caller, id, false).await?;
    Ok(HttpResponse::Ok().json(view(&state, number.id).await?))
}

/// Sync a number's templates
///
/// Lists the templates of the number's WhatsApp Business Account from Meta (every page) and
/// stores them, replacing what was stored. `waba_id`, when given, is stored for the number first.
#[utoipa::path(
    post,
    path = "/api/v1/numbers/{id}/templates/sync",
    operation_id = "sync_templates",
    params(NumberId),
    request_body(content = SyncRequest, description = "Optional: the account id"),
    responses(
        (status = 200, description = "The templates as now stored", body = TemplatesView),
        (status = 400, description = "`invalid_field`: `waba_id` is not an id", body = ErrorBody),
        NumberNotFound,
        (status = 409, description = "`not_cloud_number`, `no_business_account`", body = ErrorBody),
        (status = 502, description = "`whatsapp_refused`: Meta refused the listing or did not answer", body = ErrorBody),
    ),
)]
pub async fn sync(
    ById { state, caller, id }: ById,
    body: Option<web::Json<SyncRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (number, _) = number_for(&state, &caller, id, true).await?;
    if let Some(waba_id) = body.and_then(|b| b.into_inner().waba_id) {
        let waba_id = account_id(waba_id.trim())?;
        store::templates::set_account(&state.ctx.db, number.id, waba_id).await?;
    }
    match templates::sync(&state.ctx, number.id).await {
        Ok(_) => Ok(HttpResponse::Ok().json(view(&state, number.id).await?)),
        Err(e) => Err(sync_error(e)),
    }
}

fn sync_error(e: SyncError) -> ApiError {
    match e {
        SyncError::NoNumber => not_found::number(),
        SyncError::NotCloud => ApiError::conflict(ErrorCode::NotCloudNumber, |l| {
            tr!(l, "error-not-cloud-number")
        }),
        SyncError::NoAccount => ApiError::conflict(ErrorCode::NoBusinessAccount, |l| {
            tr!(l, "error-no-business-account")
        }),
        SyncError::Graph(g) => {
            // Meta's own words (its error message) inside ours.
            let detail = g.to_string();
            ApiError::bad_gateway(ErrorCode::WhatsappRefused, move |l| {
                tr!(l, "error-whatsapp-refused", detail = &detail)
            })
        }
        SyncError::Db(d) => d.into(),
        SyncError::Secret(s) => ApiError::Internal(format!("stored secret: {s}")),
    }
}

/// What `PUT /numbers/{id}/templates/default` carries.
#[derive(Deserialize, ToSchema)]
pub struct DefaultRequest {
    /// The template (one of the number's, approved, with exactly one variable, in its body);
    /// `null` clears it.
    pub template: Option<TemplateRef>,
}

/// Set the template for CRM messages
///
/// Names the template a message from a CRM card or a robot is sent as when the customer's
/// 24-hour window is closed: its one body variable takes the message's text.
#[utoipa::path(
    put,
    path = "/api/v1/numbers/{id}/templates/default",
    operation_id = "set_default_template",
    params(NumberId),
    request_body = DefaultRequest,
    responses(
        (status = 200, description = "The number's templates, with the default", body = TemplatesView),
        (status = 400, description = "`invalid_field`: not one of the number's templates, or one that cannot carry a text (the message says why)", body = ErrorBody),
        NumberNotFound,
        (status = 409, description = "`not_cloud_number`", body = ErrorBody),
    ),
)]
pub async fn set_default(
    ById { state, caller, id }: ById,
    body: web::Json<DefaultRequest>,
) -> Result<HttpResponse, ApiError> {
    let (number, _) = number_for(&state, &caller, id, true).await?;
    if number.transport != store::numbers::TRANSPORT_CLOUD {
        return Err(sync_error(SyncError::NotCloud));
    }
    let db = &state.ctx.db;
    let chosen = match body.into_inner().template {
        None => None,
        Some(t) => {
            let found = store::templates::find(db, number.id, &t.name, &t.language).await?;
            let Some(found) = found else {
                let (name, language) = (t.name.clone(), t.language.clone());
                return Err(invalid_field(move |l| {
                    tr!(
                        l,
                        "error-no-such-template",
                        name = &name,
                        language = &language
                    )
                }));
            };
            let def = store::templates::def(found);
            let outcome = relay_templates::with_text(&def, "text");
            if !matches!(outcome, relay_templates::Outcome::Send(_)) {
                return Err(invalid_field(move |l| {
                    let why = relay_templates::notice(l, &outcome, std::slice::from_ref(&def))
                        .unwrap_or_default();
                    tr!(l, "error-template-unusable", why = &why)
                }));
            }
            Some(t)
        }
    };
    let pair = chosen
        .as_ref()
        .map(|t| (t.name.as_str(), t.language.as_str()));
    store::templates::set_default(db, number.id, pair).await?;
    Ok(HttpResponse::Ok().json(view(&state, number.id).await?))
}
