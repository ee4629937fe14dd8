//! Deduplicated inbound webhook events awaiting processing.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "inbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub source: String,
    #[sea_orm(column_type = "Text")]
    pub external_id: String,
    #[sea_orm(column_type = "Text")]
    pub owner: String,
    /// JSON text.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub processed: bool,
    pub created_at: i64,
    /// The trace id of the request that brought it (logs follow the message by it).
    #[sea_orm(column_type = "Text")]
    pub trace_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
