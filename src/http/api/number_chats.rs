//! A number's chat with one customer, and its messages with their state on both sides.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{auth::Caller, numbers::number_for, openapi::NumberId};
use crate::{
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    store::{chats, messages},
    tr,
};

/// A chat as `chat_messages` shows it.
#[derive(Serialize, ToSchema)]
pub struct ChatView {
    pub id: i64,
    /// The Open Lines chat, once Bitrix24 created it.
    pub b24_chat_id: Option<String>,
    pub customer_name: String,
}

/// One message with its state on both sides.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub chat_id: i64,
    /// `in` (customer to operator) or `out`.
    pub direction: String,
    /// `text`, `image`, `audio`, `document`, ...
    pub kind: String,
    /// WhatsApp's message id.
    pub wamid: Option<String>,
    pub b24_chat_id: Option<String>,
    pub b24_message_id: Option<String>,
    pub text: String,
    /// In: `received`, `forwarded`; out: `queued`, `sent`, `delivered`, `read`, `failed`; or
    /// `deleted`.
    pub status: String,
    pub error: Option<String>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub media_id: Option<i64>,
    /// A voice note's transcript, or why there is none.
    pub transcript: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<entity::messages::Model> for MessageView {
    fn from(m: entity::messages::Model) -> Self {
        Self {
            id: m.id,
            chat_id: m.chat_id,
            direction: m.direction,
            kind: m.kind,
            wamid: m.wamid,
            b24_chat_id: m.b24_chat_id,
            b24_message_id: m.b24_message_id,
            text: m.text,
            status: m.status,
            error: m.error,
            sent_at: m.sent_at,
            delivered_at: m.delivered_at,
            read_at: m.read_at,
            media_id: m.media_id,
            transcript: m.transcript,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChatMessagesView {
    pub chat: ChatView,
    /// Oldest first.
    pub messages: Vec<MessageView>,
}

/// A chat's messages
///
/// Messages of one chat with their state on each side (what operators' ticks are built from).
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/chats/{wa_id}/messages",
    params(
        NumberId,
        ("wa_id" = String, Path, description = "The customer's WhatsApp id"),
    ),
    responses(
        (status = 200, description = "The chat and its messages", body = ChatMessagesView),
        (status = 404, description = "`unknown_number` (or another tenant's), `unknown_chat`", body = ErrorBody),
    ),
)]
pub async fn chat_messages(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (number_id, wa_id) = path.into_inner();
    number_for(&state, &caller, number_id, false).await?;
    let chat = chats::find(&state.ctx.db, number_id, &wa_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::UnknownChat, |l| tr!(l, "error-unknown-chat"))
        })?;
    let list = messages::list_for_chat(&state.ctx.db, chat.id).await?;
    // Read again after the messages: what a message shows of Bitrix24 is then on the chat too
    // (both are written in one transaction; two separate reads could straddle it).
    let chat = chats::get(&state.ctx.db, chat.id).await?.unwrap_or(chat);
    Ok(HttpResponse::Ok().json(ChatMessagesView {
        chat: ChatView {
            id: chat.id,
            b24_chat_id: chat.b24_chat_id,
            customer_name: chat.customer_name,
        },
        messages: list.into_iter().map(MessageView::from).collect(),
    }))
}
