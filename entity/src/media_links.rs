//! An extra, expiring link to a stored file (handed out by a conversation export).
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "media_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The unguessable part of the link's URL (`/media/{token}/{name}`).
    #[sea_orm(unique, column_type = "Text")]
    pub token: String,
    #[sea_orm(indexed)]
    pub media_id: i64,
    pub created_at: i64,
    /// The link stops working after this (unix ms).
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
