//! The audit log of admin actions: who, what, which target, when, state before and after.
//! Call `record` with the same transaction as the change it describes.

use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde_json::Value;

use super::now_ms;

/// Writes one audit record. `before` / `after` are the target's state (no secrets in them).
pub async fn record<C: ConnectionTrait>(
    c: &C,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<audit_log::Model, DbErr> {
    audit_log::ActiveModel {
        actor: Set(actor.to_string()),
        action: Set(action.to_string()),
        target: Set(target.to_string()),
        before: Set(before.map(Value::to_string)),
        after: Set(after.map(Value::to_string)),
        at: Set(now_ms()),
        ..Default::default()
    }
    .insert(c)
    .await
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// One page (1-based) of records, newest first, and how many match in all.
pub async fn page<C: ConnectionTrait>(
    c: &C,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<audit_log::Model>, u64), DbErr> {
    let mut q = audit_log::Entity::find();
    if let Some(actor) = &filter.actor {
        q = q.filter(audit_log::Column::Actor.eq(actor.as_str()));
    }
    if let Some(action) = &filter.action {
        q = q.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    let q = q.order_by_desc(audit_log::Column::Id);
    super::query::paged(c, q, page, per_page).await
}
