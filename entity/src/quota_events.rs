//! A tenant went over one of its plan's quotas in a month (recorded once per tenant, quota and
//! month).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "quota_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    /// `messages` or `transcription_minutes`.
    #[sea_orm(column_type = "Text")]
    pub quota: String,
    /// `YYYY-MM` (UTC).
    #[sea_orm(column_type = "Text")]
    pub month: String,
    /// The count when it was crossed, and the plan's limit then.
    pub used: i64,
    pub limit: i64,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
