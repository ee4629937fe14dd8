//! Every tenant's health at a glance (support, billing), and a tenant's use of its plan this
//! month (in its usage report).

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::ListRequest;
use super::openapi::{BadPaging, StaffOnly};
use super::page::{Page, PageParams, Paging};
use crate::{
    billing::{self, QuotaUse},
    http::{ApiError, AppState},
    store::{
        self,
        health::{self, Health},
        search, tenants, usage,
    },
    tr,
};

/// Tenants' health
///
/// Every tenant with its health at a glance, for support and billing.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/health",
    params(PageParams),
    responses(
        (status = 200, description = "One page of tenants with their health", body = Page<Health>),
        BadPaging,
        StaffOnly,
    ),
)]
pub async fn tenants_health(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require_global(|l| tr!(l, "error-health-for-staff"))?;
    let paging = Paging::of(&q)?;
    let (rows, total) =
        store::page(&state.ctx.db, &tenants::All, paging.page, paging.per_page).await?;
    let (month, _, _) = billing::this_month();
    let mut items = Vec::with_capacity(rows.len());
    for t in &rows {
        items.push(health::of_tenant(&state.ctx.db, t, &month).await?);
    }
    Ok(paging.answer(items, total))
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
    let r = usage::report(&state.ctx.db, tenant.id, &ids, from, to).await?;
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
