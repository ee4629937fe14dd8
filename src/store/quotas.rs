//! Billing's queries: a tenant's plan, its connected numbers, a portal's tenancy, and the
//! recorded quota crossings (`quota_events`). The plans and meters are in `billing/`.

use entity::{numbers, portals, quota_events, tenants};
use sea_orm::{
    sea_query::OnConflict, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
};

use super::{now_ms, search};

/// A tenant's plan name (`None`: no such tenant).
pub async fn tenant_plan<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
) -> Result<Option<String>, DbErr> {
    Ok(tenants::Entity::find_by_id(tenant_id)
        .one(c)
        .await?
        .map(|t| t.plan))
}

/// The tenant's active numbers other than the one with `phone_number_id` `except`.
pub async fn active_numbers_except<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    except: &str,
) -> Result<u64, DbErr> {
    let ids = search::tenant_numbers(c, tenant_id).await?;
    numbers::Entity::find()
        .filter(numbers::Column::Id.is_in(ids))
        .filter(numbers::Column::Active.eq(true))
        .filter(numbers::Column::PhoneNumberId.ne(except))
        .count(c)
        .await
}

/// A portal's tenant and that tenant's plan name (`None`: a portal without a tenant).
pub async fn portal_tenancy<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
) -> Result<Option<(i64, String)>, DbErr> {
    let tenant_id = portals::Entity::find_by_id(portal_id)
        .one(c)
        .await?
        .and_then(|p| p.tenant_id);
    Ok(match tenant_id {
        Some(id) => tenants::Entity::find_by_id(id)
            .one(c)
            .await?
            .map(|t| (t.id, t.plan)),
        None => None,
    })
}

/// Records that the tenant went over `quota` in `month`; true when this inserted the record
/// (false: it was there before).
pub async fn record_crossing<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    quota: &str,
    month: &str,
    used: i64,
    limit: i64,
) -> Result<bool, DbErr> {
    let row = quota_events::ActiveModel {
        tenant_id: Set(tenant_id),
        quota: Set(quota.to_string()),
        month: Set(month.to_string()),
        used: Set(used),
        limit: Set(limit),
        at: Set(now_ms()),
        ..Default::default()
    };
    let inserted = quota_events::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                quota_events::Column::TenantId,
                quota_events::Column::Quota,
                quota_events::Column::Month,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(inserted > 0)
}

/// The quotas a tenant went over in `month` (`YYYY-MM`), from the recorded events.
pub async fn events_in<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
    month: &str,
) -> Result<Vec<quota_events::Model>, DbErr> {
    quota_events::Entity::find()
        .filter(quota_events::Column::TenantId.eq(tenant_id))
        .filter(quota_events::Column::Month.eq(month))
        .all(c)
        .await
}
