//! Plans (anyone signed in reads them) and every tenant's health at a glance (support, billing).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::page::{paged, paging, Page, PageParams};
use crate::{
    billing::{self, QuotaUse},
    http::{error::ErrorBody, ApiError, AppState},
    store::{health, search, tenants, usage},
};

/// One plan and its quotas (`null`: unlimited).
#[derive(Serialize, ToSchema)]
pub struct PlanView {
    pub name: String,
    /// Numbers connected at once.
    pub numbers: Option<u64>,
    /// Messages relayed per calendar month (UTC), both ways.
    pub messages_per_month: Option<u64>,
    /// Minutes of voice notes transcribed per calendar month (UTC).
    pub transcription_minutes: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct PlansView {
    pub items: Vec<PlanView>,
    /// What happens to a tenant whose plan is not listed.
    pub unknown_plan: String,
}

/// List plans
///
/// The plans and their quotas, as configured. Over a quota nothing is dropped: a further
/// number is refused, messages still flow (operators and the tenant are told), voice notes
/// arrive without a transcript.
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "usage",
    responses((status = 200, description = "Every plan", body = PlansView)),
    security(("bearer" = []))
)]
pub async fn plans(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let items = state
        .ctx
        .billing
        .plans()
        .iter()
        .map(|(name, p)| PlanView {
            name: name.clone(),
            numbers: p.numbers,
            messages_per_month: p.messages_per_month,
            transcription_minutes: p.transcription_minutes,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PlansView {
        items,
        unknown_plan: "A tenant on a plan not listed here has no limits.".into(),
    }))
}

/// A tenant's health and this month's use of its plan.
#[derive(Serialize, ToSchema)]
pub struct TenantHealthView {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub plan: String,
    /// `error` (numbers not authorized, dead jobs or token errors), `warning` (queued jobs,
    /// an uninstalled portal) or `ok`.
    pub status: String,
    /// Connected numbers.
    pub numbers: i64,
    /// Connected numbers that cannot relay: gateway phone not linked, Cloud token invalid.
    pub numbers_not_authorized: i64,
    /// Jobs failed for good, waiting for a re-drive.
    pub dead_jobs: i64,
    /// Jobs queued or retrying (queue depth).
    pub pending_jobs: i64,
    /// Portals whose jobs fail on the access token.
    pub portals_token_errors: i64,
    /// Portals that uninstalled the app.
    pub portals_uninstalled: i64,
    /// The newest message either way (unix ms).
    pub last_message_at: Option<i64>,
    /// Quotas the tenant went over this month (`messages`, `transcription_minutes`).
    pub over_quota: Vec<String>,
}

/// Tenants' health
///
/// Every tenant with its health at a glance, for support and billing.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/health",
    tag = "tenants",
    params(PageParams),
    responses(
        (status = 200, description = "One page of tenants with their health", body = Page<TenantHealthView>),
        (status = 400, description = "`invalid_field`: a paging value out of range", body = ErrorBody),
        (status = 403, description = "`forbidden`: support and billing only", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn tenants_health(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    caller.require_global("tenants' health is for support and billing")?;
    let (page, per_page) = paging(&q)?;
    let (rows, total) = tenants::page(&state.ctx.db, page, per_page).await?;
    let (month, _, _) = billing::this_month();
    let mut items = Vec::with_capacity(rows.len());
    for t in &rows {
        let h = health::of_tenant(&state.ctx.db, t.id).await?;
        let over_quota = billing::events_in(&state.ctx.db, t.id, &month)
            .await?
            .into_iter()
            .map(|e| e.quota)
            .collect();
        items.push(TenantHealthView {
            tenant_id: t.id,
            tenant_name: t.name.clone(),
            plan: t.plan.clone(),
            status: h.status().to_string(),
            numbers: h.numbers,
            numbers_not_authorized: h.numbers_not_authorized,
            dead_jobs: h.dead_jobs,
            pending_jobs: h.pending_jobs,
            portals_token_errors: h.portals_token_errors,
            portals_uninstalled: h.portals_uninstalled,
            last_message_at: h.last_message_at,
            over_quota,
        });
    }
    Ok(paged(items, page, per_page, total))
}

/// A tenant's plan against this month's figures (whatever period a report covers).
#[derive(Serialize, ToSchema)]
pub struct PlanUseView {
    /// The month the figures are for, `YYYY-MM` (UTC).
    pub month: String,
    /// Whether the plan is in the table (`false`: no limits).
    pub known_plan: bool,
    pub quotas: Vec<QuotaUse>,
    /// Quotas recorded as gone over this month (they stay over until the month ends).
    pub over_quota: Vec<String>,
}

pub async fn plan_use(
    state: &AppState,
    tenant: &entity::tenants::Model,
) -> Result<PlanUseView, ApiError> {
    let (month, from, to) = billing::this_month();
    let ids = search::tenant_numbers(&state.ctx.db, tenant.id).await?;
    let r = usage::report(&state.ctx.db, &ids, from, to).await?;
    let plan = state.ctx.billing.plan(&tenant.plan);
    let quotas = billing::usage_against(
        plan,
        r.connected_numbers,
        r.totals.inbound + r.totals.outbound,
        r.totals.transcribed_seconds,
    );
    let mut over_quota: Vec<String> = billing::events_in(&state.ctx.db, tenant.id, &month)
        .await?
        .into_iter()
        .map(|e| e.quota)
        .collect();
    for q in &quotas {
        if q.over && q.quota != "numbers" && !over_quota.contains(&q.quota) {
            over_quota.push(q.quota.clone());
        }
    }
    Ok(PlanUseView {
        month,
        known_plan: plan.is_some(),
        quotas,
        over_quota,
    })
}
