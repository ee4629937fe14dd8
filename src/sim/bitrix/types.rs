//! The Bitrix24 simulator's public vocabulary: its configuration, faults, and what it records
//! (calls, customers' messages, conversations, CRM contacts, operator messages, notices, events).

use std::time::Duration;

use serde_json::Value;

use crate::sim::random_hex;

#[derive(Clone, Debug)]
pub struct BitrixSimConfig {
    /// Stable portal id (`auth[member_id]`).
    pub member_id: String,
    /// `auth[application_token]` sent with every event.
    pub application_token: String,
    pub client_id: String,
    pub client_secret: String,
    /// Leaky bucket per portal: (burst, drained per second). `None` = unlimited.
    pub rate_limit: Option<(f64, f64)>,
    /// Open lines "1" ..= "lines" exist at start.
    pub lines: usize,
    pub scope: String,
    /// The operator (`message[user_id]`) and the name used for signatures when the connector was
    /// registered with `NEED_SIGNATURE: true` (text becomes `[b]Name:[/b][br]text`).
    pub operator_user_id: String,
    pub operator_name: String,
    /// Delay before the OAuth server answers a refresh (widens races between parallel refreshes).
    pub refresh_delay: Duration,
    /// Delay before every REST answer (a slow portal; makes concurrent calls overlap).
    pub latency: Duration,
    pub language: String,
    /// What `app.info` answers as `CODE`: `None` = `client_id` (a local app); a Marketplace
    /// app answers its catalogue code, e.g. `vendor.app` (its client_id then looks like
    /// `app.573ad8a0346747.09223434`).
    pub app_code: Option<String>,
    /// The licence letter of `app.info` `STATUS` and of `auth[status]`: `L` local, `F` free,
    /// `D` demo, `T` trial, `P` paid.
    pub app_status: String,
}

impl Default for BitrixSimConfig {
    fn default() -> Self {
        Self {
            member_id: random_hex(16),
            application_token: random_hex(16),
            client_id: "app.b24wa.test".into(),
            client_secret: "sim-secret".into(),
            rate_limit: Some((50.0, 2.0)),
            lines: 3,
            scope: "imconnector,imopenlines,im,crm,placement".into(),
            operator_user_id: "27".into(),
            operator_name: "Sim Operator".into(),
            refresh_delay: Duration::ZERO,
            latency: Duration::ZERO,
            language: "en".into(),
            app_code: None,
            app_status: "L".into(),
        }
    }
}

/// One recorded call. REST calls use the method name (lower-case, no `.json`); sub-calls of a
/// `batch` are recorded too (with `via_batch: true`, before the batch itself); OAuth refreshes are
/// recorded as method `oauth.token`.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub status: u16,
    pub via_batch: bool,
    /// When it was answered, Unix ms.
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BitrixFault {
    /// 500 INTERNAL_SERVER_ERROR, no effect.
    ServerError,
    /// Sleep, then answer normally (with effect).
    Timeout(Duration),
    /// 503 QUERY_LIMIT_EXCEEDED, no effect.
    QueryLimit,
    /// 401 expired_token whatever the token, no effect.
    ExpiredToken,
}

#[derive(Clone, Debug)]
pub struct CustomerMsg {
    pub connector: String,
    pub line: String,
    /// Our chat id (`chat.id`).
    pub chat_id: String,
    /// Our user id (`user.id`).
    pub user_id: String,
    pub user_name: String,
    pub user_last_name: String,
    /// The chat's title (`chat.name`).
    pub chat_name: String,
    pub phone: String,
    pub text: String,
    pub files: Vec<Value>,
    /// Our message id (`message.id`, the wamid).
    pub message_id: String,
    pub date: String,
    /// Bitrix24 chat id (`session.CHAT_ID`) and session id.
    pub b24_chat_id: String,
    pub session_id: String,
    pub edited: bool,
    pub deleted: bool,
    /// Position in the portal's timeline of chat messages and notices (shared by customer
    /// messages, operator messages and notices: a chat is shown in this order).
    pub order: u64,
}

#[derive(Clone, Debug)]
pub struct Conversation {
    /// `connector|line|chat.id|user.id`
    pub key: String,
    pub connector: String,
    pub line: String,
    pub chat_id: String,
    pub user_id: String,
    pub session_id: String,
    pub b24_chat_id: String,
    pub b24_user_id: String,
    pub contact_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct CrmContact {
    pub id: String,
    pub phone: String,
    pub name: String,
    pub last_name: String,
}

/// A message an operator wrote in Bitrix24.
#[derive(Clone, Debug)]
pub struct OperatorMessage {
    pub connector: String,
    pub line: String,
    pub our_chat_id: String,
    pub im_chat_id: String,
    pub im_message_id: String,
    /// Text as sent in the event (with the signature when the connector asked for one).
    pub text: String,
    /// "sending" → "delivered" → "read" (never backwards).
    pub state: String,
    /// Every state it went through, in order, starting with "sending".
    pub history: Vec<String>,
    /// Our ids recorded by send.status.delivery / reading.
    pub external_ids: Vec<String>,
    pub deleted: bool,
    /// Position in the portal's timeline (see [`CustomerMsg::order`]).
    pub order: u64,
}

/// Returned by the operator hooks. `http_status` is what our app answered to the event (0 = the
/// event was not delivered: no handler bound, app not installed, or connection error).
#[derive(Clone, Debug)]
pub struct OperatorMsg {
    pub im_chat_id: String,
    pub im_message_id: String,
    pub http_status: u16,
}

#[derive(Clone, Debug)]
pub struct SystemNotice {
    pub dialog_id: String,
    /// Bitrix24 chat id (DIALOG_ID without the `chat` prefix).
    pub chat_id: String,
    pub message: String,
    pub system: bool,
    /// Position in the portal's timeline (see [`CustomerMsg::order`]).
    pub order: u64,
}

/// One event POST the sim made to our app.
#[derive(Clone, Debug)]
pub struct EventDelivery {
    pub event: String,
    pub url: String,
    pub form: Vec<(String, String)>,
    pub status: u16,
    /// When our app answered it, Unix ms.
    pub at_ms: i64,
}
