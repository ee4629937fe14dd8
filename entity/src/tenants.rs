//! Tenants: paying customers; each owns portals (and, through them, numbers) and has users.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub plan: String,
    /// Days messages (with their transcripts and hops) are kept; `None`: the configured
    /// default; `0`: for ever. Bounded by the plan.
    pub retention_messages_days: Option<i32>,
    /// Days media files are kept on disk; `None`: the configured default; `0`: for ever.
    pub retention_media_days: Option<i32>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::users::Entity")]
    Users,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
