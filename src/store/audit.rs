//! The audit log of admin actions: who, what, which target, when, state before and after.
//! Call `record` with the same transaction as the change it describes.

use entity::audit_log;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder, Select,
};
use serde_json::Value;

use super::{now_ms, query::FilterIf};

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

/// Records newest first.
impl super::Selection for Filter {
    type Entity = audit_log::Entity;

    fn select(&self) -> Select<audit_log::Entity> {
        audit_log::Entity::find()
            .eq_if(audit_log::Column::Actor, self.actor.as_deref())
            .eq_if(audit_log::Column::Action, self.action.as_deref())
            .order_by_desc(audit_log::Column::Id)
    }
}
