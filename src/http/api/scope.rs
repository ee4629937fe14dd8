//! What a caller sees: support and billing every tenant, a tenant admin its own. The filters
//! the list handlers pass to the store, and the checks on one portal or number.

use actix_web::HttpResponse;
use sea_orm::EntityTrait;
use serde::Serialize;

use super::{auth::Caller, page::Paging};
use crate::{
    http::{ApiError, AppState},
    store::{
        jobs,
        search::{self, Scope},
        tenants, Selection,
    },
};

/// The tenant a portal belongs to (portals from before tenants existed have one from the
/// migration; `-1` never matches a tenant admin).
pub(super) fn tenant_of(p: &entity::portals::Model) -> i64 {
    p.tenant_id.unwrap_or(-1)
}

/// Whether the caller may see `p`'s data.
pub(super) fn sees(caller: &Caller, p: &entity::portals::Model) -> bool {
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

/// This page of what `filter` selects, each row shown as a `V`, within what the caller sees:
/// `within` puts the caller's tenant (`None`: every tenant) into the filter; a caller who sees
/// no tenant gets an empty page.
pub(super) async fn visible_rows<V, F>(
    state: &AppState,
    caller: &Caller,
    paging: Paging,
    mut filter: F,
    within: impl FnOnce(&mut F, Option<i64>),
) -> Result<HttpResponse, ApiError>
where
    F: Selection,
    <F::Entity as EntityTrait>::Model: Sync,
    V: for<'a> From<&'a <F::Entity as EntityTrait>::Model> + Serialize,
{
    let Some(tenant) = visible_tenant(caller) else {
        return Ok(paging.answer(Vec::<V>::new(), 0));
    };
    within(&mut filter, tenant);
    paging.rows::<V, F>(&state.ctx.db, &filter).await
}

/// The numbers a caller may see: every number for support and billing, its tenant's for a
/// tenant admin.
pub(super) async fn visible_numbers(state: &AppState, caller: &Caller) -> Result<Scope, ApiError> {
    if caller.role().is_global() {
        return Ok(None);
    }
    let tenant = caller.tenant().unwrap_or(-1);
    Ok(Some(search::tenant_numbers(&state.ctx.db, tenant).await?))
}

pub(super) fn in_scope(scope: &Scope, number_id: i64) -> bool {
    scope.as_ref().is_none_or(|ids| ids.contains(&number_id))
}

/// The job owners of a tenant admin's tenant (its portals and numbers).
pub(super) async fn tenant_job_owners(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<String>, ApiError> {
    let tenant = caller.tenant().unwrap_or(-1);
    let numbers = search::tenant_numbers(&state.ctx.db, tenant).await?;
    let portals: Vec<i64> = tenants::portals_of(&state.ctx.db, tenant)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    Ok(portals
        .into_iter()
        .map(jobs::portal_owner)
        .chain(numbers.into_iter().map(jobs::number_owner))
        .collect())
}
