//! Bitrix24 portals (one row per installation, keyed by `member_id`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "portals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique, column_type = "Text")]
    pub member_id: String,
    #[sea_orm(column_type = "Text")]
    pub domain: String,
    #[sea_orm(column_type = "Text")]
    pub client_endpoint: String,
    #[sea_orm(column_type = "Text")]
    pub server_endpoint: String,
    #[sea_orm(column_type = "Text")]
    pub access_token_enc: String,
    #[sea_orm(column_type = "Text")]
    pub refresh_token_enc: String,
    pub token_expires_at: i64,
    #[sea_orm(column_type = "Text")]
    pub application_token_enc: String,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    pub installed: bool,
    /// When the stored tokens were last refreshed or installed (epoch ms); `None`: not known
    /// (a portal from before this was recorded). The idle-token sweep renews old ones.
    pub refreshed_at: Option<i64>,
    /// The tenant that owns the portal (set by install; `None` only for rows older than tenants).
    #[sea_orm(indexed)]
    pub tenant_id: Option<i64>,
    /// The portal's Bitrix24 interface language id as last seen (`ru`, `en`, `ua`, …: install
    /// `data[LANGUAGE_ID]`, `app.info`, an admin's settings page); `None`: never seen.
    #[sea_orm(column_type = "Text", nullable)]
    pub language_b24: Option<String>,
    /// A language set in the admin app (`ru`, `en`), over the portal's own; `None`: follow it.
    #[sea_orm(column_type = "Text", nullable)]
    pub language_override: Option<String>,
    /// When the app was last uninstalled (epoch ms); `None` while installed.
    pub uninstalled_at: Option<i64>,
    /// An uninstall with `CLEAN=1`: the portal's data is purged by the retention sweep after
    /// this (epoch ms); a reinstall before it clears it and keeps everything.
    pub purge_after: Option<i64>,
    /// When that purge finished (the portal row itself stays, for billing).
    pub purged_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::numbers::Entity")]
    Numbers,
}

impl Related<super::numbers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Numbers.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
