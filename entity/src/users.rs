//! Admin API users: tenant admins (one tenant), support staff and billing (all tenants).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lower-cased.
    #[sea_orm(unique, column_type = "Text")]
    pub email: String,
    /// Argon2 PHC string (never serialised to API output).
    #[sea_orm(column_type = "Text")]
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// `tenant_admin`, `support` or `billing`.
    #[sea_orm(column_type = "Text")]
    pub role: String,
    /// Set for tenant admins only.
    #[sea_orm(indexed)]
    pub tenant_id: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id"
    )]
    Tenant,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
