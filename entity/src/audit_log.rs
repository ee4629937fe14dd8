//! The audit log: who did what to which target, when, with the state before and after.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The user's email, or the token subject for tokens not tied to a user (`b24wa token`).
    #[sea_orm(column_type = "Text")]
    pub actor: String,
    /// e.g. `tenant.create`, `user.create`.
    #[sea_orm(column_type = "Text")]
    pub action: String,
    /// e.g. `tenant:3`, `user:7`.
    #[sea_orm(column_type = "Text")]
    pub target: String,
    /// JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub before: Option<String>,
    /// JSON text.
    #[sea_orm(column_type = "Text", nullable)]
    pub after: Option<String>,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
