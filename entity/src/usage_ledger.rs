//! The usage ledger: one append-only row per billable thing, written when it happened; usage
//! reports and quotas are sums over it, so purging messages never changes a past total.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "usage_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The tenant it is billed to (`None`: the number's portal had no tenant then).
    pub tenant_id: Option<i64>,
    pub number_id: i64,
    /// `inbound`, `outbound`, `media_in`, `media_out` or `transcription`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// The message it is about; unique with `kind` (written once however often it is retried).
    pub message_id: i64,
    /// 1 for a message or a file; the seconds transcribed for `transcription`.
    #[sea_orm(column_type = "Double")]
    pub quantity: f64,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
