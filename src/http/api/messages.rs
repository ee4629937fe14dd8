//! Conversations and messages across numbers: find a message by any id, phone or text, and
//! read its trace (every hop with its time) and the jobs that carried it.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ById, ListRequest};
use super::openapi::BadFilter;
use super::page::{self, Page, PageParams, Paging};
use super::scope::{in_scope, visible_numbers};
use crate::{
    http::{error::ErrorBody, ApiError, ErrorCode},
    relay::window::{self, Window},
    store::{
        chats, hops, jobs, messages, numbers, portals,
        search::{self, ChatFilter, MessageFilter},
    },
    tr,
};

#[derive(Serialize, ToSchema)]
pub struct ChatView {
    pub id: i64,
    pub number_id: i64,
    /// The customer's WhatsApp id (their phone number, digits).
    pub customer_wa_id: String,
    pub customer_name: String,
    /// The Open Lines chat, once Bitrix24 has opened it.
    pub b24_chat_id: Option<String>,
    pub messages: i64,
    pub last_message_at: Option<i64>,
    pub created_at: i64,
    /// The Cloud API's 24-hour window for free messages; absent on Web gateway numbers (a linked
    /// phone has none).
    pub window: Option<WindowView>,
}

/// A chat's customer-service window now (whatsapp-templates.md §1).
#[derive(Serialize, ToSchema)]
pub struct WindowView {
    /// `open` (free text goes) or `closed` (only a template does).
    #[schema(example = "open")]
    pub state: &'static str,
    /// When an open window closes (Unix ms): 24 h after the customer's last message.
    pub open_until: Option<i64>,
    /// When a closed window closed (Unix ms); absent when the customer never wrote.
    pub closed_since: Option<i64>,
}

impl WindowView {
    fn of(chat: &entity::chats::Model, now: i64) -> Self {
        match window::at(chat.last_inbound_at, chat.window_closed_at, now) {
            Window::Open { until } => Self {
                state: "open",
                open_until: Some(until),
                closed_since: None,
            },
            Window::Closed { since } => Self {
                state: "closed",
                open_until: None,
                closed_since: since,
            },
        }
    }
}

impl From<search::ChatRow> for ChatView {
    fn from(r: search::ChatRow) -> Self {
        let window = (r.transport == numbers::TRANSPORT_CLOUD)
            .then(|| WindowView::of(&r.chat, crate::store::now_ms()));
        Self {
            window,
            id: r.chat.id,
            number_id: r.chat.number_id,
            customer_wa_id: r.chat.customer_wa_id,
            customer_name: r.chat.customer_name,
            b24_chat_id: r.chat.b24_chat_id,
            messages: r.messages,
            last_message_at: r.last_message_at,
            created_at: r.chat.created_at,
        }
    }
}

/// Filters of `GET /chats`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatQuery {
    /// Only this number's chats.
    pub number_id: Option<i64>,
    /// A phone number (any formatting) or a fragment of the customer's name.
    pub q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/chats",
    params(PageParams, ChatQuery),
    responses(
        (status = 200, description = "Chats, most recently active first", body = Page<ChatView>),
        BadFilter,
    ),
)]
pub async fn list_chats(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::of(&q)?;
    let filter = ChatFilter {
        number_id: page::id(&q, "number_id")?,
        q: page::search(&q, "q", 100)?,
    };
    let scope = visible_numbers(&state, &caller).await?;
    let rows = search::chats_page(&state.ctx.db, &scope, &filter, paging.page, paging.per_page);
    Ok(paging.views(rows.await?, ChatView::from))
}

#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub chat_id: i64,
    pub number_id: i64,
    pub customer_wa_id: String,
    /// `in` (customer → operator) or `out` (operator → customer).
    pub direction: String,
    /// `text`, `image`, `voice`, …
    pub kind: String,
    pub text: String,
    /// in: `received`, `forwarded`, `failed`, `deleted`; out: `queued`, `sent`, `delivered`,
    /// `read`, `failed`, `deleted`.
    pub status: String,
    pub error: Option<String>,
    /// The WhatsApp message id.
    pub wamid: Option<String>,
    pub b24_chat_id: Option<String>,
    /// The Open Lines message id.
    pub b24_message_id: Option<String>,
    pub transcript: Option<String>,
    pub media_id: Option<i64>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub created_at: i64,
}

impl MessageView {
    fn new(m: entity::messages::Model, chat: &entity::chats::Model) -> Self {
        Self {
            id: m.id,
            chat_id: m.chat_id,
            number_id: chat.number_id,
            customer_wa_id: chat.customer_wa_id.clone(),
            direction: m.direction,
            kind: m.kind,
            text: m.text,
            status: m.status,
            error: m.error,
            wamid: m.wamid,
            b24_chat_id: m.b24_chat_id.or_else(|| chat.b24_chat_id.clone()),
            b24_message_id: m.b24_message_id,
            transcript: m.transcript,
            media_id: m.media_id,
            sent_at: m.sent_at,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
            created_at: m.created_at,
        }
    }
}

/// Filters of `GET /messages`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Any id (ours, the WhatsApp message id, the Open Lines message id), a phone number, or a
    /// fragment of the text.
    pub q: Option<String>,
    pub number_id: Option<i64>,
    pub chat_id: Option<i64>,
    /// `in` or `out`.
    pub direction: Option<String>,
    pub status: Option<String>,
    /// From this date (`YYYY-MM-DD`, UTC) or time (RFC 3339).
    pub from: Option<String>,
    /// Up to this date (inclusive) or time (exclusive).
    pub to: Option<String>,
}

const STATUSES: &[&str] = &[
    messages::RECEIVED,
    messages::FORWARDED,
    messages::QUEUED,
    messages::SENT,
    messages::DELIVERED,
    messages::READ,
    messages::FAILED,
    messages::DELETED,
];

#[utoipa::path(
    get,
    path = "/api/v1/messages",
    params(PageParams, MessageQuery),
    responses(
        (status = 200, description = "Matching messages, newest first", body = Page<MessageView>),
        BadFilter,
    ),
)]
pub async fn search_messages(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::of(&q)?;
    let filter = MessageFilter {
        number_id: page::id(&q, "number_id")?,
        chat_id: page::id(&q, "chat_id")?,
        direction: page::one_of(&q, "direction", &[messages::IN, messages::OUT])?
            .map(str::to_string),
        status: page::one_of(&q, "status", STATUSES)?.map(str::to_string),
        q: page::search(&q, "q", 200)?,
        from_ms: page::time(&q, "from", false)?,
        to_ms: page::time(&q, "to", true)?,
    };
    let scope = visible_numbers(&state, &caller).await?;
    let rows = search::messages_page(&state.ctx.db, &scope, &filter, paging.page, paging.per_page);
    Ok(paging.views(rows.await?, |(m, c)| MessageView::new(m, &c)))
}

#[derive(Serialize, ToSchema)]
pub struct HopView {
    /// `customer_sent`, `received`, `to_bitrix24`, `from_operator`, `to_whatsapp`, `sent`,
    /// `delivered`, `read`, `read_by_operator`, `failed`, `deleted`, `edited`, `transcript`,
    /// `redriven`.
    pub hop: String,
    pub at: i64,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TraceNumber {
    pub id: i64,
    pub portal_id: i64,
    pub display_phone: String,
    pub transport: String,
    pub line: String,
}

#[derive(Serialize, ToSchema)]
pub struct TraceView {
    pub message: MessageView,
    pub number: TraceNumber,
    pub customer_name: String,
    /// Oldest first.
    pub hops: Vec<HopView>,
    /// The outbound jobs that carried it (a failed one can be re-driven by support).
    pub jobs: Vec<super::jobs::JobView>,
}

#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    params(("id" = i64, Path, description = "Our message id")),
    responses(
        (status = 200, description = "The message with its hops and jobs", body = TraceView),
        (status = 404, description = "`unknown_message` (or another tenant's)", body = ErrorBody),
    ),
)]
pub async fn trace(ById { state, caller, id }: ById) -> Result<HttpResponse, ApiError> {
    let missing = || {
        ApiError::not_found(ErrorCode::UnknownMessage, |l| {
            tr!(l, "error-unknown-message")
        })
    };
    let db = &state.ctx.db;
    let m = messages::get(db, id).await?.ok_or_else(missing)?;
    let chat = chats::get(db, m.chat_id).await?.ok_or_else(missing)?;
    let number = numbers::get(db, chat.number_id)
        .await?
        .ok_or_else(missing)?;
    let scope = visible_numbers(&state, &caller).await?;
    if !in_scope(&scope, number.id) {
        return Err(missing());
    }
    // A portal row exists for every number; its absence would be a broken database.
    portals::get(db, number.portal_id)
        .await?
        .ok_or_else(missing)?;
    let hops = hops::of(db, m.id)
        .await?
        .into_iter()
        .map(|h| HopView {
            hop: h.hop,
            at: h.at,
            detail: h.detail,
        })
        .collect();
    let job_rows = jobs::for_message(db, chat.id, m.id).await?;
    Ok(HttpResponse::Ok().json(TraceView {
        message: MessageView::new(m, &chat),
        number: TraceNumber {
            id: number.id,
            portal_id: number.portal_id,
            display_phone: number.display_phone,
            transport: number.transport,
            line: number.line_id,
        },
        customer_name: chat.customer_name,
        hops,
        jobs: job_rows.iter().map(super::jobs::JobView::from).collect(),
    }))
}
