//! Tenants: paying customers that own portals (and through them numbers) and users.

use entity::{portals, tenants};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder, Select,
};

use super::{now_ms, query::edit_by_id};

/// The plan a new tenant starts on.
pub const DEFAULT_PLAN: &str = "free";

pub async fn create<C: ConnectionTrait>(
    c: &C,
    name: &str,
    plan: &str,
) -> Result<tenants::Model, DbErr> {
    tenants::ActiveModel {
        name: Set(name.to_string()),
        plan: Set(plan.to_string()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(c)
    .await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<tenants::Model>, DbErr> {
    tenants::Entity::find_by_id(id).one(c).await
}

/// Every tenant, by id (a list without filters).
#[derive(Debug, Default, Clone, Copy)]
pub struct All;

impl super::Selection for All {
    type Entity = tenants::Entity;

    fn select(&self) -> Select<tenants::Entity> {
        tenants::Entity::find().order_by_asc(tenants::Column::Id)
    }
}

/// Changes name and/or plan; returns the tenant before and after, or `None` if there is none.
pub async fn update<C: ConnectionTrait>(
    c: &C,
    id: i64,
    name: Option<&str>,
    plan: Option<&str>,
) -> Result<Option<(tenants::Model, tenants::Model)>, DbErr> {
    edit_by_id::<tenants::Entity, _>(c, id, |am| {
        if let Some(name) = name {
            am.name = Set(name.to_string());
        }
        if let Some(plan) = plan {
            am.plan = Set(plan.to_string());
        }
    })
    .await
}

/// The portals a tenant owns.
pub async fn portals_of<C: ConnectionTrait>(
    c: &C,
    tenant_id: i64,
) -> Result<Vec<portals::Model>, DbErr> {
    super::query::all_by(c, portals::Column::TenantId, tenant_id).await
}

/// Sets a tenant's own retention (days; `None`: the configured default); returns the tenant
/// before and after, or `None` if there is none.
pub async fn set_retention<C: ConnectionTrait>(
    c: &C,
    id: i64,
    messages_days: Option<i32>,
    media_days: Option<i32>,
) -> Result<Option<(tenants::Model, tenants::Model)>, DbErr> {
    edit_by_id::<tenants::Entity, _>(c, id, |am| {
        am.retention_messages_days = Set(messages_days);
        am.retention_media_days = Set(media_days);
    })
    .await
}
