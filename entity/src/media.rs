//! Stored media files and the tokens of their public `/media/…` URLs.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `in:<provider message id>` or `out:<job id>`.
    #[sea_orm(unique, column_type = "Text")]
    pub source_key: String,
    /// The unguessable part of the file's URL.
    #[sea_orm(unique, column_type = "Text")]
    pub token: String,
    pub number_id: i64,
    /// image, video, audio, voice, document, sticker.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub mime: String,
    #[sea_orm(column_type = "Text")]
    pub file_name: String,
    pub size: i64,
    #[sea_orm(column_type = "Text")]
    pub sha256: String,
    /// Where the bytes are in the media storage.
    #[sea_orm(column_type = "Text")]
    pub storage_key: String,
    /// `stored`, or `rejected` (too large, unsupported, gone at the provider: see `note`).
    #[sea_orm(column_type = "Text")]
    pub state: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    /// An audio file's length, when known.
    pub seconds: Option<f32>,
    pub created_at: i64,
    /// The URL stops working after this (unix ms).
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
