//! Tenants: list, create, read (with their portals), change.
//!
//! Support staff see and manage every tenant (each change is audited in the same transaction);
//! billing reads every tenant and changes nothing; a tenant admin sees its own tenant only.

use actix_web::{web, FromRequest, HttpResponse};
use entity::tenants as tenant_rows;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{from_parts, ById, JsonRequest, ListRequest, SupportChange};
use super::not_found;
use super::{
    audit,
    auth::Caller,
    openapi::{BadPaging, BadTenant, NoSuchTenant, SupportOnly, TenantId, TenantNotFound},
    page::{invalid_field, Page, PageParams, Paging},
    portals::PortalView,
};
use crate::{
    http::{error::ErrorBody, ApiError, AppState},
    store::tenants,
    tr,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub created_at: i64,
}

impl From<&tenant_rows::Model> for TenantView {
    fn from(t: &tenant_rows::Model) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            plan: t.plan.clone(),
            created_at: t.created_at,
        }
    }
}

/// List tenants
///
/// Every tenant, by id, for support and billing.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    params(PageParams),
    responses(
        (status = 200, description = "One page of tenants", body = Page<TenantView>),
        BadPaging,
        (status = 403, description = "`forbidden`: a tenant admin (use `GET /api/v1/tenants/{id}`)", body = ErrorBody),
    ),
)]
pub async fn list_tenants(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require_global(|l| tr!(l, "error-tenants-own-only"))?;
    Paging::of(&q)?
        .rows::<TenantView, _>(&state.ctx.db, &tenants::All)
        .await
}

#[derive(Deserialize, ToSchema)]
pub struct NewTenant {
    /// 1 to 200 characters.
    pub name: String,
    /// 1 to 64 of `[a-z0-9_-]`; `free` when left out.
    #[serde(default)]
    pub plan: Option<String>,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid_field(|l| tr!(l, "error-tenant-name-length")));
    }
    Ok(name.to_string())
}

fn check_plan(plan: &str) -> Result<String, ApiError> {
    let plan = plan.trim();
    if plan.is_empty()
        || plan.len() > 64
        || !plan
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(invalid_field(|l| tr!(l, "error-plan-name")));
    }
    Ok(plan.to_string())
}

/// Create a tenant
///
/// `{name, plan?}` (support; audited).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created", body = TenantView),
        BadTenant,
        SupportOnly,
    ),
)]
pub async fn create_tenant(
    JsonRequest {
        state,
        caller,
        body,
    }: JsonRequest<NewTenant>,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let name = check_name(&body.name)?;
    let plan = match &body.plan {
        Some(p) => check_plan(p)?,
        None => tenants::DEFAULT_PLAN.to_string(),
    };
    let txn = state.ctx.db.begin().await?;
    let tenant = tenants::create(&txn, &name, &plan).await?;
    let view = TenantView::from(&tenant);
    audit::commit_change(txn, &caller, "create", None, &view).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The tenant of the `{id}` in the path, for a caller who may read its data (another tenant's
/// is `404 not_found`, as a missing one).
pub struct ReadableTenant {
    pub state: web::Data<AppState>,
    pub tenant: tenant_rows::Model,
}

from_parts! {
    impl for ReadableTenant;
    ById as ById { state, caller, id } => {
        caller.require_tenant_access(id)?;
        let tenant = tenants::get(&state.ctx.db, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(not_found::tenant)?;
        Ok(Self { state, tenant })
    }
}

/// The tenant of the `{id}` in the path for a caller who may change its data, with what the route
/// reads besides (`E`: its body or query, read first, so that a malformed one is `400` for
/// anyone). Another tenant's is `404 not_found`, as a missing one; billing is `403`.
pub struct WritableTenant<E> {
    pub state: web::Data<AppState>,
    pub caller: Caller,
    pub id: i64,
    pub input: E,
}

from_parts! {
    impl [E: FromRequest + 'static] for WritableTenant<E>;
    (ById, E) as (ById { state, caller, id }, input) => {
        caller.require_tenant_access(id)?;
        tenants::get(&state.ctx.db, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(not_found::tenant)?;
        caller.require_write(id)?;
        Ok(Self { state, caller, id, input })
    }
}

/// A tenant and its portals.
#[derive(Serialize, ToSchema)]
pub struct TenantDetailView {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub portals: Vec<PortalView>,
}

/// A tenant
///
/// The tenant and its portals (a tenant admin: its own only, others 404).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    params(TenantId),
    responses(
        (status = 200, description = "The tenant", body = TenantDetailView),
        TenantNotFound,
    ),
)]
pub async fn get_tenant(
    ReadableTenant { state, tenant }: ReadableTenant,
) -> Result<HttpResponse, ApiError> {
    let portals: Vec<PortalView> = tenants::portals_of(&state.ctx.db, tenant.id)
        .await?
        .iter()
        .map(PortalView::from)
        .collect();
    Ok(HttpResponse::Ok().json(TenantDetailView {
        tenant: TenantView::from(&tenant),
        portals,
    }))
}

/// What to change; what is left out stays.
#[derive(Deserialize, ToSchema)]
pub struct TenantChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
}

/// Change a tenant
///
/// `{name?, plan?}` (support; audited with before and after).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    params(TenantId),
    request_body = TenantChange,
    responses(
        (status = 200, description = "The tenant after the change", body = TenantView),
        BadTenant,
        SupportOnly,
        NoSuchTenant,
    ),
)]
pub async fn update_tenant(
    SupportChange {
        state,
        caller,
        id,
        body,
    }: SupportChange<TenantChange>,
) -> Result<HttpResponse, ApiError> {
    let name = body.name.as_deref().map(check_name).transpose()?;
    let plan = body.plan.as_deref().map(check_plan).transpose()?;
    let txn = state.ctx.db.begin().await?;
    let found = tenants::update(&txn, id, name.as_deref(), plan.as_deref()).await?;
    audit::commit_found::<TenantView, _>(txn, &caller, "update", found, not_found::tenant).await
}
