//! WhatsApp business numbers attached to a portal's Open Line.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "numbers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub portal_id: i64,
    #[sea_orm(column_type = "Text")]
    pub line_id: String,
    #[sea_orm(column_type = "Text")]
    pub transport: String,
    #[sea_orm(unique, column_type = "Text")]
    pub phone_number_id: String,
    #[sea_orm(column_type = "Text")]
    pub display_phone: String,
    #[sea_orm(column_type = "Text")]
    pub access_token_enc: String,
    #[sea_orm(column_type = "Text")]
    pub app_secret_enc: String,
    #[sea_orm(column_type = "Text")]
    pub verify_token_enc: String,
    pub active: bool,
    /// Transport session: Cloud `ok` / `token_invalid` (190: needs re-authorisation); gateway:
    /// the instance state (`authorized`, `notAuthorized`, `blocked`, `starting`, `yellowCard`).
    #[sea_orm(column_type = "Text")]
    pub session_state: String,
    pub session_changed_at: Option<i64>,
    /// Web gateway only: the instance's API base URL and id (its token is `access_token_enc`,
    /// the token its webhooks must carry is `app_secret_enc`).
    #[sea_orm(column_type = "Text", nullable)]
    pub gateway_api_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub gateway_instance_id: Option<String>,
    /// Web gateway only: which gateway (`green-api`, `evolution`). An Evolution number keeps
    /// its server URL and instance name in the two columns above, its API key and webhook
    /// secret where a GREEN-API number keeps its token and webhook token.
    #[sea_orm(column_type = "Text")]
    pub gateway_kind: String,
    /// Cloud API only: the WhatsApp Business Account the number belongs to (its templates are
    /// listed per account); `None` until an administrator names it.
    #[sea_orm(column_type = "Text", nullable)]
    pub waba_id: Option<String>,
    /// Cloud API only: the template (name, language) a CRM or robot message is sent as when the
    /// customer's window is closed; its one body variable takes the message's text.
    #[sea_orm(column_type = "Text", nullable)]
    pub default_template_name: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub default_template_language: Option<String>,
    /// Switched off because the portal uninstalled the app; a reinstall switches it back on.
    pub suspended: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::portals::Entity",
        from = "Column::PortalId",
        to = "super::portals::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    Portals,
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
}

impl Related<super::portals::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Portals.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
