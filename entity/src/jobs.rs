//! Outbound work queue with retry bookkeeping.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub owner: String,
    #[sea_orm(column_type = "Text")]
    pub queue_key: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// JSON text.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The trace id of the message that caused it.
    #[sea_orm(column_type = "Text")]
    pub trace_id: Option<String>,
    /// When that message entered (its inbox item was stored), epoch ms: relay latency.
    pub origin_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
