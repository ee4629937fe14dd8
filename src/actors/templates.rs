//! Syncing a Cloud API number's templates from its WhatsApp Business Account: on connect, on
//! demand from the admin app, and (by the webhook, one at a time) on status changes.

use super::Ctx;
use crate::{
    store::{self, numbers, templates::TemplateRecord},
    whatsapp::cloud::{templates::Template, GraphError},
};

/// Why a sync did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no such number")]
    NoNumber,
    #[error("templates belong to Cloud API numbers; this one is a Web gateway number")]
    NotCloud,
    #[error("the number's WhatsApp Business Account id (waba_id) is not set")]
    NoAccount,
    #[error("WhatsApp: {0}")]
    Graph(#[from] GraphError),
    #[error("stored secret: {0}")]
    Secret(#[from] store::StoreError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
}

fn record(t: Template) -> TemplateRecord {
    TemplateRecord {
        template_id: t.id,
        name: t.name,
        language: t.language,
        category: t.category,
        status: t.status,
        parameter_format: t.parameter_format,
        components: t.components.to_string(),
    }
}

/// Lists the number's account's templates and stores them (replacing what was stored): how many
/// it has.
pub async fn sync(services: &Ctx, number_id: i64) -> Result<usize, SyncError> {
    let number = numbers::get(&services.db, number_id)
        .await?
        .ok_or(SyncError::NoNumber)?;
    if number.transport != numbers::TRANSPORT_CLOUD {
        return Err(SyncError::NotCloud);
    }
    let waba_id = number
        .waba_id
        .clone()
        .filter(|w| !w.is_empty())
        .ok_or(SyncError::NoAccount)?;
    let creds = numbers::credentials(&services.secrets, &number)?;
    let listed = services
        .graph
        .list_templates(&waba_id, &creds.access_token)
        .await?;
    let records: Vec<TemplateRecord> = listed.into_iter().map(record).collect();
    let count = store::templates::replace(&services.db, number_id, &records).await?;
    tracing::info!(number = number_id, templates = count, "templates synced");
    Ok(count)
}
