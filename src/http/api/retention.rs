//! `/api/v1/tenants/{id}/retention`: how long a tenant's messages and media files are kept.
//! Support and the tenant's own admin change it, within the tenant's plan; the retention sweep
//! (`actors::retention`) deletes what is older.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::not_found;
use super::{
    audit,
    extract::ById,
    openapi::{TenantId, TenantNotFound, TenantWriteRefused},
    tenants::ReadableTenant,
};
use crate::{
    actors::retention::Policy,
    billing::{plans, Plan},
    config::Settings,
    http::{error::ErrorBody, ApiError, ErrorCode},
    store::tenants,
    tr,
};

/// A tenant's retention, in days (`0`: kept for ever).
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    /// The tenant's id.
    pub id: i64,
    /// The tenant's own choice for messages (with their transcripts and traces); `null`: the
    /// service's default.
    pub messages_days: Option<u32>,
    /// The tenant's own choice for media files; `null`: the service's default.
    pub media_days: Option<u32>,
    /// What applies now to messages: the choice or the default, within the plan.
    pub effective_messages_days: u32,
    /// What applies now to media files.
    pub effective_media_days: u32,
    /// The service's defaults.
    pub default_messages_days: u32,
    pub default_media_days: u32,
    /// The longest the plan allows; `null`: any, including `0` (for ever).
    pub max_messages_days: Option<u32>,
    pub max_media_days: Option<u32>,
}

impl RetentionView {
    fn of(settings: &Settings, plan: Option<&Plan>, t: &entity::tenants::Model) -> Self {
        let policy = Policy::of(settings, plan, Some(t));
        let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
        Self {
            id: t.id,
            messages_days: days(t.retention_messages_days),
            media_days: days(t.retention_media_days),
            effective_messages_days: policy.messages_days,
            effective_media_days: policy.media_days,
            default_messages_days: settings.retention_messages_days,
            default_media_days: settings.retention_media_days,
            max_messages_days: plan.and_then(|p| p.max_retention_messages_days),
            max_media_days: plan.and_then(|p| p.max_retention_media_days),
        }
    }
}

/// A tenant's retention
///
/// Its own choices, the defaults, the plan's maximum and what applies (the tenant's own admin,
/// support and billing).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/retention",
    params(TenantId),
    responses(
        (status = 200, description = "The tenant's retention", body = RetentionView),
        TenantNotFound,
    ),
)]
pub async fn get_retention(
    ReadableTenant { state, tenant }: ReadableTenant,
) -> Result<HttpResponse, ApiError> {
    let plan = state.ctx.billing.plan(&tenant.plan);
    Ok(HttpResponse::Ok().json(RetentionView::of(&state.ctx.settings, plan, &tenant)))
}

/// What `PUT /tenants/{id}/retention` carries: both values, each days or `null` (the default).
#[derive(Deserialize, ToSchema)]
pub struct RetentionChange {
    /// Days messages are kept: `1` to the plan's maximum, `0` (for ever) when the plan has
    /// none, or `null` for the service's default.
    pub messages_days: Option<u32>,
    /// Days media files are kept, likewise.
    pub media_days: Option<u32>,
}

/// Refuses `days` over the plan's `max` (or for ever under a plan with a maximum).
fn check(days: Option<u32>, max: Option<u32>, field: &'static str) -> Result<(), ApiError> {
    match days {
        Some(d) if !plans::retention_allowed(d, max) => {
            let limit = max.unwrap_or(plans::MAX_RETENTION_DAYS);
            Err(ApiError::bad_request(
                ErrorCode::RetentionOutOfPlan,
                move |l| tr!(l, "error-retention-out-of-plan", field = field, max = limit),
            ))
        }
        _ => Ok(()),
    }
}

/// Set a tenant's retention
///
/// `{messages_days, media_days}` (support, or the tenant's own admin; audited). Data older than
/// the new values is deleted by the next retention sweep.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{id}/retention",
    params(TenantId),
    request_body = RetentionChange,
    responses(
        (status = 200, description = "The retention after the change", body = RetentionView),
        (status = 400, description = "`retention_out_of_plan`: over the plan's maximum (or `0` under a plan with one); `invalid_json`", body = ErrorBody),
        TenantWriteRefused,
    ),
)]
pub async fn set_retention(
    ById { state, caller, id }: ById,
    body: web::Json<RetentionChange>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write(id)?;
    let txn = state.ctx.db.begin().await?;
    let tenant = tenants::get(&txn, id)
        .await?
        .ok_or_else(not_found::tenant)?;
    let plan = state.ctx.billing.plan(&tenant.plan);
    check(
        body.messages_days,
        plan.and_then(|p| p.max_retention_messages_days),
        "messages_days",
    )?;
    check(
        body.media_days,
        plan.and_then(|p| p.max_retention_media_days),
        "media_days",
    )?;
    let as_db = |d: Option<u32>| d.map(|d| i32::try_from(d).unwrap_or(i32::MAX));
    let Some((before, after)) =
        tenants::set_retention(&txn, id, as_db(body.messages_days), as_db(body.media_days)).await?
    else {
        return Err(not_found::tenant());
    };
    let settings = &state.ctx.settings;
    let [before, after] = [&before, &after].map(|t| RetentionView::of(settings, plan, t));
    audit::commit_change(txn, &caller, "update", Some(&before), &after).await?;
    Ok(HttpResponse::Ok().json(after))
}
