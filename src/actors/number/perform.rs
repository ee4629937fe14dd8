//! One WhatsApp job performed over the number's transport (Cloud API or Web gateway), and why
//! it did not go out when it did not, in the terms the outbox acts on.

use super::Transport;
use crate::{
    actors::transport::{web::FileToSend, WebError},
    actors::Ctx,
    i18n::Lang,
    relay::jobs::Job,
    store::{media as media_rows, messages},
    tr,
    whatsapp::{cloud::GraphError, gateway::MessageOp},
};

/// Why a job did not go out, in the terms the outbox acts on.
#[derive(Debug)]
pub(super) enum SendFailure {
    /// Retry with backoff (rate limits, 5xx, timeouts).
    Transient(String),
    /// The credentials are dead (Cloud 190, gateway 401/403): wait for a reconnect.
    Auth(String),
    /// The gateway's phone is not linked (or starting): wait for the session.
    NotAuthorized(String),
    /// This job cannot succeed.
    Permanent { code: Option<i64>, message: String },
    /// An operator's file cannot be sent (told to the operator in the portal's language).
    File(FileNotSent),
}

/// Why an operator's attachment was not sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FileNotSent {
    /// It could not be fetched from the portal (`why`: the stored reason, if any).
    Unavailable { name: String, why: Option<String> },
    /// Larger than WhatsApp accepts for its `kind` (image, video, audio, document).
    TooLarge {
        name: String,
        size: u64,
        kind: &'static str,
        max: u64,
    },
}

impl FileNotSent {
    /// What the operator reads.
    pub(super) fn text(&self, lang: Lang) -> String {
        match self {
            FileNotSent::Unavailable { name, why } => {
                let why = why.clone().unwrap_or_else(|| tr!(lang, "file-not-fetched"));
                tr!(lang, "file-not-sent", name = name, why = why)
            }
            FileNotSent::TooLarge {
                name,
                size,
                kind,
                max,
            } => tr!(
                lang,
                "file-too-large",
                name = name,
                size = crate::media::human_size(*size),
                kind = *kind,
                max = crate::media::human_size(*max)
            ),
        }
    }
}

impl From<GraphError> for SendFailure {
    fn from(e: GraphError) -> Self {
        if e.is_auth() {
            SendFailure::Auth(e.to_string())
        } else if e.is_transient() {
            SendFailure::Transient(e.to_string())
        } else {
            SendFailure::Permanent {
                code: e.api_code(),
                message: e.to_string(),
            }
        }
    }
}

impl From<WebError> for SendFailure {
    fn from(e: WebError) -> Self {
        match e {
            WebError::NotAuthorized(m) => SendFailure::NotAuthorized(m),
            WebError::Credentials(m) => SendFailure::Auth(m),
            WebError::Transient(m) => SendFailure::Transient(m),
            WebError::Rejected(message) => SendFailure::Permanent {
                code: None,
                message,
            },
        }
    }
}

impl SendFailure {
    pub(super) fn message(&self) -> &str {
        match self {
            SendFailure::Transient(m) | SendFailure::Auth(m) | SendFailure::NotAuthorized(m) => m,
            SendFailure::Permanent { message, .. } => message,
            SendFailure::File(f) => match f {
                FileNotSent::Unavailable { .. } => "the operator's file could not be fetched",
                FileNotSent::TooLarge { .. } => "the operator's file is too large for WhatsApp",
            },
        }
    }
}

/// Performs one WhatsApp job; the provider's message id for a send.
pub(super) async fn perform(
    services: &Ctx,
    number_id: i64,
    t: &Transport,
    job_id: i64,
    job: &Job,
) -> Result<String, SendFailure> {
    let invalid = |what: &str| SendFailure::Permanent {
        code: None,
        message: format!("{what} is not possible over this transport"),
    };
    match (t, job) {
        (Transport::Cloud(c), Job::WaSendText { to, text, .. }) => Ok(services
            .graph
            .send_text(&c.phone_number_id, &c.access_token, to, text)
            .await?),
        (
            Transport::Cloud(c),
            Job::WaSendTemplate {
                to,
                name,
                language,
                components,
                ..
            },
        ) => Ok(services
            .graph
            .send_template(
                &c.phone_number_id,
                &c.access_token,
                to,
                name,
                language,
                components,
            )
            .await?),
        (Transport::Cloud(c), Job::WaMarkRead { wamid, .. }) => {
            services
                .graph
                .mark_read(&c.phone_number_id, &c.access_token, wamid)
                .await?;
            Ok(String::new())
        }
        (Transport::Web(w), Job::WaSendText { to, text, .. }) => {
            Ok(w.send_text(services.web(), to, text).await?)
        }
        (Transport::Web(w), Job::WaMarkRead { wamid, to }) => {
            let to = to.as_deref().unwrap_or_default();
            w.on_message(services.web(), to, wamid, MessageOp::Read)
                .await?;
            Ok(String::new())
        }
        (Transport::Web(w), Job::WaDelete { to, wamid, .. }) => {
            w.on_message(services.web(), to, wamid, MessageOp::Delete)
                .await?;
            Ok(String::new())
        }
        (
            Transport::Web(w),
            Job::WaEdit {
                to, wamid, text, ..
            },
        ) => {
            w.on_message(services.web(), to, wamid, MessageOp::Edit(text))
                .await?;
            Ok(String::new())
        }
        (
            _,
            Job::WaSendMedia {
                message_id,
                to,
                link,
                name,
                mime,
                caption,
            },
        ) => {
            send_media(
                services,
                number_id,
                t,
                job_id,
                *message_id,
                MediaSend {
                    to,
                    link,
                    name,
                    mime,
                    caption,
                },
            )
            .await
        }
        (_, Job::WaDelete { .. }) => Err(invalid("deleting a sent message")),
        (_, Job::WaEdit { .. }) => Err(invalid("editing a sent message")),
        (_, other) => Err(SendFailure::Permanent {
            code: None,
            message: format!("unexpected job {} in a number's outbox", other.kind()),
        }),
    }
}

/// An operator's attachment as the job describes it.
struct MediaSend<'a> {
    to: &'a str,
    link: &'a str,
    name: &'a str,
    mime: &'a str,
    caption: &'a str,
}

/// Fetches an operator's attachment from the portal (once: a retry reuses the stored file) and
/// sends it: the Cloud API gets an upload and a typed message; a Web gateway fetches our link.
async fn send_media(
    services: &Ctx,
    number_id: i64,
    t: &Transport,
    job_id: i64,
    message_id: i64,
    f: MediaSend<'_>,
) -> Result<String, SendFailure> {
    let stored =
        crate::actors::media::operator_file(services, job_id, number_id, f.link, f.name, f.mime)
            .await
            .map_err(|e| SendFailure::Transient(e.to_string()))?;
    if stored.state != media_rows::STORED {
        return Err(SendFailure::File(FileNotSent::Unavailable {
            name: f.name.to_string(),
            why: stored.note.clone(),
        }));
    }
    messages::set_media(&services.db, message_id, stored.id)
        .await
        .map_err(|e| SendFailure::Transient(e.to_string()))?;
    match t {
        Transport::Cloud(c) => {
            let kind = crate::media::cloud_kind(&stored.mime);
            let max = crate::media::max_bytes(kind);
            if stored.size as u64 > max {
                return Err(SendFailure::File(FileNotSent::TooLarge {
                    name: f.name.to_string(),
                    size: stored.size as u64,
                    kind,
                    max,
                }));
            }
            let bytes = services
                .media
                .get(&stored.storage_key)
                .await
                .map_err(|e| SendFailure::Transient(format!("media storage: {e}")))?;
            let media_id = services
                .graph
                .upload(
                    &c.phone_number_id,
                    &c.access_token,
                    bytes,
                    &stored.mime,
                    &stored.file_name,
                )
                .await?;
            Ok(services
                .graph
                .send_media(
                    &c.phone_number_id,
                    &c.access_token,
                    f.to,
                    kind,
                    &media_id,
                    f.caption,
                    &stored.file_name,
                )
                .await?)
        }
        Transport::Web(w) => Ok(w
            .send_file(
                services.web(),
                f.to,
                &crate::actors::media::public_url(services, &stored),
                &FileToSend {
                    name: f.name,
                    mime: &stored.mime,
                    caption: f.caption,
                },
            )
            .await?),
    }
}
