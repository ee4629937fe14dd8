//! A tenant's customers (the people who write to its numbers) as data subjects: erasing
//! everything stored about one (`POST …/customers/erase`) and exporting their conversation
//! (`GET …/customers/export`) for a data-access request.

use actix_web::{http::header, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page::invalid_field;
use super::{
    openapi::{TenantId, TenantWriteRefused},
    tenants::WritableTenant,
};
use crate::{
    actors::registry::{Owner, Reload},
    bitrix24::bbcode,
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    relay::phone::customer_key,
    relay::states::OUT,
    store::{self, audit, erase, export},
    tr,
};

/// The audit action of an erase. Its target is the tenant: the record says who erased and
/// when, never whom.
pub const ERASE_ACTION: &str = "customer.erase";

/// Whom to erase.
#[derive(Deserialize, ToSchema)]
pub struct EraseRequest {
    /// The customer's phone as typed (`+7 900 111-22-33`), WhatsApp id (`79001112233`) or LID
    /// (`123456789@lid`: a customer WhatsApp shows without a phone).
    #[schema(example = "+7 900 111-22-33")]
    pub customer: String,
}

/// What an erase removed (all zero when there was nothing left: erasing again is harmless).
#[derive(Serialize, ToSchema)]
pub struct ErasedView {
    /// The chat key the customer was found by (digits, or `<lid>@lid`).
    pub customer: String,
    pub chats: u64,
    pub messages: u64,
    pub files: u64,
    pub inbox_items: u64,
    pub jobs: u64,
}

fn customer_of(typed: &str) -> Result<String, ApiError> {
    customer_key(typed).ok_or_else(|| invalid_field(|l| tr!(l, "error-customer-invalid")))
}

/// The numbers on which the tenant has a chat with the customer: their actors drop what they
/// hold of those chats, so nothing cached brings an erased row back.
async fn forget_chats(state: &AppState, tenant: i64, wa_id: &str) -> Result<(), ApiError> {
    let chats = erase::customer_chats(&state.ctx.db, tenant, wa_id).await?;
    let mut numbers: Vec<i64> = chats.iter().map(|c| c.number_id).collect();
    numbers.sort_unstable();
    numbers.dedup();
    for n in numbers {
        state.registry.do_send(Reload(Owner::Number(n)));
    }
    Ok(())
}

/// Erase a customer
///
/// Deletes everything the tenant's numbers stored about one customer before this request:
/// messages both ways with their transcripts and traces, files (on disk too), inbox items,
/// queued jobs, and the chats left empty. Messages the customer sends afterwards are a new
/// conversation and are kept. Usage totals are not changed. Audited as `customer.erase` with
/// who and when, not whom. Erasing again, or a customer never seen, answers 200 with zeros.
/// Conversations already in Bitrix24 Open Lines are the portal's own and stay there.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/customers/erase",
    params(TenantId),
    request_body = EraseRequest,
    responses(
        (status = 200, description = "Erased (or nothing was left to erase)", body = ErasedView),
        (status = 400, description = "`invalid_json`, or `invalid_field`: `customer` is not a phone, WhatsApp id or LID", body = ErrorBody),
        TenantWriteRefused,
    ),
)]
pub async fn erase_customer(
    WritableTenant {
        state,
        caller,
        id: tenant,
        input: body,
    }: WritableTenant<web::Json<EraseRequest>>,
) -> Result<HttpResponse, ApiError> {
    let wa_id = customer_of(&body.customer)?;
    forget_chats(&state, tenant, &wa_id).await?;
    // Rows stored from here on are the customer's new messages: they stay.
    let cutoff = store::now_ms();
    let txn = sea_orm::TransactionTrait::begin(&state.ctx.db).await?;
    let erased = erase::customer(&txn, tenant, &wa_id, cutoff).await?;
    audit::record(
        &txn,
        caller.actor(),
        ERASE_ACTION,
        &format!("tenant:{tenant}"),
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    // The bytes go after the rows: a failed delete leaves an unreachable file, never a row
    // without its file. (Storage keys are random tokens, nothing of the customer.)
    for key in &erased.storage_keys {
        if let Err(e) = state.ctx.media.delete(key).await {
            tracing::warn!(key = %key, error = %e, "erase: a media file could not be deleted");
        }
    }
    // Again, for an actor that cached a chat between the first reload and the commit.
    forget_chats(&state, tenant, &wa_id).await?;
    tracing::info!(tenant, messages = erased.messages, "customer erased");
    Ok(HttpResponse::Ok().json(ErasedView {
        customer: wa_id,
        chats: erased.chats,
        messages: erased.messages,
        files: erased.files,
        inbox_items: erased.inbox_items,
        jobs: erased.jobs,
    }))
}

/// Whose conversation, and in which format.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The customer's phone, WhatsApp id or LID (as for erase).
    pub customer: String,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// A file of an exported message.
#[derive(Serialize, ToSchema)]
pub struct ExportedFile {
    pub name: String,
    pub mime: String,
    pub size: i64,
    /// A link that works without a token until `expires_at`, then answers `410`.
    pub url: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// One message of an export.
#[derive(Serialize, ToSchema)]
pub struct ExportedMessage {
    /// When it was stored (unix ms) and the same as RFC 3339 (UTC).
    pub at: i64,
    pub time: String,
    /// `in` (customer to operator) or `out` (operator to customer).
    pub direction: String,
    /// `text`, `image`, `voice`, `document`, ...
    pub kind: String,
    /// What the customer wrote, or the operator's words as WhatsApp showed them to the customer.
    pub text: String,
    /// A voice note's transcript, or why there is none.
    pub transcript: Option<String>,
    /// In: `received`, `forwarded`; out: `queued`, `sent`, `delivered`, `read`, `failed`; or
    /// `deleted`.
    pub status: String,
    pub error: Option<String>,
    /// The business number it went through.
    pub number: String,
    pub file: Option<ExportedFile>,
}

/// A customer's conversation.
#[derive(Serialize, ToSchema)]
pub struct ConversationExport {
    pub tenant_id: i64,
    /// The chat key the customer was found by (digits, or `<lid>@lid`).
    pub customer: String,
    /// The name WhatsApp gave, as last seen.
    pub customer_name: String,
    /// Unix ms.
    pub exported_at: i64,
    pub messages: Vec<ExportedMessage>,
}

/// Export a customer's conversation
///
/// Every message between the tenant's numbers and one customer, both ways, oldest first, with
/// time, direction, text, transcript, status, and a link to each file that expires (after
/// `B24WA_MEDIA_URL_TTL_SECS`, 7 days by default). `format=csv` answers the same as CSV (one
/// row per message). For a data-access request; billing cannot read conversations.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/customers/export",
    params(TenantId, ExportQuery),
    responses(
        (status = 200, description = "The conversation: JSON, or `text/csv` with `format=csv`", body = ConversationExport),
        (status = 400, description = "`invalid_field`: `customer` is not a phone, WhatsApp id or LID, or `format` is not `json` or `csv`", body = ErrorBody),
        (status = 403, description = "`forbidden`: billing cannot read conversations", body = ErrorBody),
        (status = 404, description = "`not_found`: no such tenant (or another tenant's); `unknown_chat`: the tenant has no conversation with this customer", body = ErrorBody),
    ),
)]
pub async fn export_conversation(
    WritableTenant {
        state,
        id: tenant,
        input: q,
        ..
    }: WritableTenant<web::Query<ExportQuery>>,
) -> Result<HttpResponse, ApiError> {
    let wa_id = customer_of(&q.customer)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(invalid_field(|l| tr!(l, "error-export-format"))),
    };
    let now = store::now_ms();
    let expires_at = now + state.ctx.settings.media_url_ttl_secs as i64 * 1000;
    let txn = sea_orm::TransactionTrait::begin(&state.ctx.db).await?;
    let rows = export::conversation(&txn, tenant, &wa_id, expires_at)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::UnknownChat, |l| tr!(l, "error-customer-unknown"))
        })?;
    txn.commit().await?;
    let customer_name = rows
        .last()
        .map(|r| r.chat.customer_name.clone())
        .unwrap_or_default();
    let messages: Vec<ExportedMessage> = rows
        .into_iter()
        .map(|r| ExportedMessage {
            at: r.message.created_at,
            time: rfc3339(r.message.created_at),
            direction: r.message.direction.clone(),
            kind: r.message.kind,
            // What the customer wrote, or what they got: an operator's words are stored as
            // Bitrix24 BBCode and went to WhatsApp in its own markup.
            text: if r.message.direction == OUT {
                bbcode::to_whatsapp(&r.message.text)
            } else {
                r.message.text.clone()
            },
            transcript: r.message.transcript,
            status: r.message.status,
            error: r.message.error,
            number: r.number_phone,
            file: r.file.map(|(m, token)| ExportedFile {
                url: link(&state, &token, &m.file_name),
                name: m.file_name,
                mime: m.mime,
                size: m.size,
                expires_at,
            }),
        })
        .collect();
    let export = ConversationExport {
        tenant_id: tenant,
        customer: wa_id,
        customer_name,
        exported_at: now,
        messages,
    };
    let stem = format!(
        "conversation-{}",
        export
            .customer
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    if csv {
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header(attachment(&format!("{stem}.csv")))
            .body(to_csv(&export.messages)))
    } else {
        Ok(HttpResponse::Ok()
            .insert_header(attachment(&format!("{stem}.json")))
            .json(export))
    }
}

fn attachment(name: &str) -> header::ContentDisposition {
    header::ContentDisposition {
        disposition: header::DispositionType::Attachment,
        parameters: vec![header::DispositionParam::Filename(name.to_string())],
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An export link: the service's media route with the link's own token.
fn link(state: &AppState, token: &str, name: &str) -> String {
    let base = state.ctx.public_url.trim_end_matches('/');
    match url::Url::parse(&format!("{base}/media/")) {
        Ok(mut u) => {
            if let Ok(mut path) = u.path_segments_mut() {
                path.pop_if_empty().push(token).push(name);
            }
            u.to_string()
        }
        Err(_) => format!("{base}/media/{token}/file"),
    }
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 10] = [
    "time",
    "direction",
    "kind",
    "text",
    "transcript",
    "status",
    "error",
    "number",
    "file_name",
    "file_url",
];

/// RFC 4180 CSV (CRLF rows, quoted fields), each message one row. A cell a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`: customers write the text.
fn to_csv(messages: &[ExportedMessage]) -> String {
    let mut out = String::new();
    let mut row = |cells: &[&str]| {
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    };
    row(&CSV_HEADER);
    for m in messages {
        let (name, url) = m
            .file
            .as_ref()
            .map_or(("", ""), |f| (f.name.as_str(), f.url.as_str()));
        row(&[
            &m.time,
            &m.direction,
            &m.kind,
            &m.text,
            m.transcript.as_deref().unwrap_or(""),
            &m.status,
            m.error.as_deref().unwrap_or(""),
            &m.number,
            name,
            url,
        ]);
    }
    out
}

fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("a \"b\", c\nd"), "\"a \"\"b\"\", c\nd\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell(""), "\"\"");
        let csv = to_csv(&[ExportedMessage {
            at: 0,
            time: rfc3339(0),
            direction: "in".into(),
            kind: "text".into(),
            text: "Привет, мир".into(),
            transcript: None,
            status: "forwarded".into(),
            error: None,
            number: "15550001111".into(),
            file: None,
        }]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "header, one row, end: {csv:?}");
        assert!(lines[0].starts_with("\"time\",\"direction\""));
        assert!(
            lines[1].starts_with("\"1970-01-01T00:00:00.000Z\",\"in\",\"text\",\"Привет, мир\"")
        );
    }
}
