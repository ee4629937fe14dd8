//! Media rows: one per downloaded or fetched file, found by its source (so a retry reuses what
//! was stored) or by the token of its public URL.

use entity::media;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use super::now_ms;

pub const STORED: &str = "stored";
pub const REJECTED: &str = "rejected";

/// The source key of a customer's file (by provider message id).
pub fn inbound_key(number_id: i64, message_id: &str) -> String {
    format!("in:{number_id}:{message_id}")
}

/// The source key of an operator's attachment (by the job that sends it).
pub fn outbound_key(job_id: i64) -> String {
    format!("out:{job_id}")
}

/// What a new row holds.
pub struct NewMedia<'a> {
    pub source_key: &'a str,
    pub token: &'a str,
    pub number_id: i64,
    pub kind: &'a str,
    pub mime: &'a str,
    pub file_name: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub state: &'a str,
    pub note: Option<&'a str>,
    pub expires_at: i64,
}

pub async fn by_source<C: ConnectionTrait>(
    c: &C,
    source_key: &str,
) -> Result<Option<media::Model>, DbErr> {
    super::query::one_by(c, media::Column::SourceKey, source_key).await
}

pub async fn by_token<C: ConnectionTrait>(
    c: &C,
    token: &str,
) -> Result<Option<media::Model>, DbErr> {
    super::query::one_by(c, media::Column::Token, token).await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find_by_id(id).one(c).await
}

/// Inserts the row unless its source is already stored; returns the row for that source
/// either way (two racing fetches of one file end with one row).
pub async fn insert<C: ConnectionTrait>(c: &C, m: NewMedia<'_>) -> Result<media::Model, DbErr> {
    let am = media::ActiveModel {
        source_key: Set(m.source_key.to_string()),
        token: Set(m.token.to_string()),
        number_id: Set(m.number_id),
        kind: Set(m.kind.to_string()),
        mime: Set(m.mime.to_string()),
        file_name: Set(m.file_name.to_string()),
        size: Set(m.size),
        sha256: Set(m.sha256.to_string()),
        storage_key: Set(m.storage_key.to_string()),
        state: Set(m.state.to_string()),
        note: Set(m.note.map(str::to_string)),
        seconds: Set(None),
        created_at: Set(now_ms()),
        expires_at: Set(m.expires_at),
        ..Default::default()
    };
    super::query::insert_new(c, am, [media::Column::SourceKey]).await?;
    by_source(c, m.source_key)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("media {}", m.source_key)))
}
