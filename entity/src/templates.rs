//! A Cloud API number's message templates, as last listed from its WhatsApp Business Account
//! (or updated by a `message_template_status_update` webhook). One row per (number, name, language).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub number_id: i64,
    /// Meta's template id (a string of digits).
    #[sea_orm(column_type = "Text")]
    pub template_id: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// e.g. `en_US`, `ru`: a send must name it exactly.
    #[sea_orm(column_type = "Text")]
    pub language: String,
    #[sea_orm(column_type = "Text")]
    pub category: String,
    /// `APPROVED` (the only sendable one), `PENDING`, `REJECTED`, `PAUSED`, …
    #[sea_orm(column_type = "Text")]
    pub status: String,
    /// `POSITIONAL` or `NAMED`.
    #[sea_orm(column_type = "Text")]
    pub parameter_format: String,
    /// The template's `components` array as Meta lists it (JSON).
    #[sea_orm(column_type = "Text")]
    pub components: String,
    /// Why its status last changed (a status webhook's `reason`), when given.
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub synced_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::numbers::Entity",
        from = "Column::NumberId",
        to = "super::numbers::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Numbers,
}

impl Related<super::numbers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Numbers.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
