//! One conversation between a WhatsApp customer and a business number.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub number_id: i64,
    #[sea_orm(column_type = "Text")]
    pub customer_wa_id: String,
    #[sea_orm(column_type = "Text")]
    pub customer_name: String,
    #[sea_orm(column_type = "Text")]
    pub b24_chat_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub b24_session_id: Option<String>,
    /// The customer's last message, by its own timestamp: the Cloud API window runs 24 h from it.
    pub last_inbound_at: Option<i64>,
    /// When a 131047 failure said the window is closed (until the customer writes again).
    pub window_closed_at: Option<i64>,
    /// Web gateway chats: the customer's avatar as the gateway gave it, and when it was last
    /// asked (at most daily).
    #[sea_orm(column_type = "Text", nullable)]
    pub avatar_url: Option<String>,
    pub avatar_checked_at: Option<i64>,
    pub created_at: i64,
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
    #[sea_orm(has_many = "super::messages::Entity")]
    Messages,
}

impl Related<super::numbers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Numbers.def()
    }
}

impl Related<super::messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Messages.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
