//! The actors' media work: a customer's file is downloaded from WhatsApp once, before its
//! message is relayed (by the chat, so nothing behind it overtakes it); an operator's
//! attachment is fetched from the portal once, before it is sent (by the number). Both are
//! kept in the media store and served to the other side at an unguessable, expiring URL.

use sha2::Digest;

use super::{transport::Transport, Ctx};
use crate::{
    i18n::Lang,
    media::{self, FetchError},
    relay::inbox::{MediaRef, MediaSource},
    store::{self, crypto::random_token, media as rows, media::NewMedia, numbers, portals},
    tr,
    whatsapp::cloud::GraphError,
};

/// Why a file could not be fetched this time.
#[derive(Debug, thiserror::Error)]
pub enum MediaFailure {
    /// Worth trying again later (network, 5xx, rate limits, an unlinked gateway phone).
    #[error("{0}")]
    Transient(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// What a fetch ended with for good: the bytes, or a reason to tell the operator.
enum Outcome {
    Bytes { bytes: Vec<u8>, mime: String },
    Rejected(Rejection),
}

/// Why a file is not relayed, stored with it as a note in the portal's language (the operator
/// reads it next to the message, or in the notice of a file not sent).
enum Rejection {
    /// The Cloud API's media link is gone.
    Expired,
    /// Larger than we relay (`size` when known).
    TooLarge {
        kind: String,
        size: Option<u64>,
        max: u64,
    },
    /// A download failed for good (`detail`: the error, shown as is).
    Download(String),
    /// The gateway no longer has the file.
    GatewayGone(String),
    /// The file's source is not this number's transport.
    WrongTransport,
    /// An operator's attachment is gone from the portal (its HTTP status).
    AttachmentGone(u16),
}

impl Rejection {
    fn text(&self, lang: Lang) -> String {
        match self {
            Rejection::Expired => tr!(lang, "media-expired"),
            Rejection::TooLarge { kind, size, max } => tr!(
                lang,
                "media-too-large",
                kind = kind.as_str(),
                size = size.map_or_else(|| tr!(lang, "media-size-unknown"), media::human_size),
                max = media::human_size(*max)
            ),
            Rejection::Download(detail) => tr!(lang, "media-download-failed", detail = detail),
            Rejection::GatewayGone(detail) => tr!(lang, "media-gateway-gone", detail = detail),
            Rejection::WrongTransport => tr!(lang, "media-wrong-transport"),
            Rejection::AttachmentGone(status) => {
                tr!(lang, "media-attachment-gone", status = status.to_string())
            }
        }
    }
}

/// The public URL of a stored file (Bitrix24 and the gateway fetch it without our auth).
pub fn public_url(services: &Ctx, m: &entity::media::Model) -> String {
    let base = services.public_url.trim_end_matches('/');
    // The name as a percent-encoded path segment (`Счёт №1.pdf` stays readable once decoded).
    match url::Url::parse(&format!("{base}/media/")) {
        Ok(mut u) => {
            if let Ok(mut path) = u.path_segments_mut() {
                path.pop_if_empty().push(&m.token).push(&m.file_name);
            }
            u.to_string()
        }
        // A public URL that does not parse: the name is left out (the token alone finds the
        // file), rather than writing it unencoded.
        Err(_) => format!("{base}/media/{}/file", m.token),
    }
}

fn graph_failure(e: GraphError, what: &str) -> Result<Outcome, MediaFailure> {
    if e.is_transient() || e.is_auth() {
        // A dead token is fixed by a reconnect; until then the chat waits (bounded by the
        // caller's attempts) rather than losing the file.
        Err(MediaFailure::Transient(format!("{what}: {e}")))
    } else {
        Ok(Outcome::Rejected(Rejection::Expired))
    }
}

fn fetch_failure(e: FetchError, kind: &str) -> Result<Outcome, MediaFailure> {
    match e {
        FetchError::TooLarge { size, max } => Ok(Outcome::Rejected(Rejection::TooLarge {
            kind: kind.to_string(),
            size,
            max,
        })),
        e if e.is_transient() => Err(MediaFailure::Transient(e.to_string())),
        e => Ok(Outcome::Rejected(Rejection::Download(e.to_string()))),
    }
}

async fn download(
    services: &Ctx,
    number: &entity::numbers::Model,
    wa_id: &str,
    message_id: &str,
    mref: &MediaRef,
) -> Result<Outcome, MediaFailure> {
    let max = media::max_bytes(&mref.kind);
    let transport = Transport::load(&services.secrets, number)
        .map_err(|e| MediaFailure::Transient(format!("number credentials: {e}")))?;
    let got = match (&transport, &mref.source) {
        (Transport::Cloud(c), MediaSource::Cloud { media_id }) => {
            let (url, _mime, size) =
                match services.graph.media_info(&c.access_token, media_id).await {
                    Ok(info) => info,
                    Err(e) => return graph_failure(e, "media lookup"),
                };
            if let Some(size) = size.filter(|s| *s > max) {
                return fetch_failure(
                    FetchError::TooLarge {
                        size: Some(size),
                        max,
                    },
                    &mref.kind,
                );
            }
            media::fetch(&services.media_http, &url, Some(&c.access_token), max).await
        }
        (Transport::Web(w), source) => {
            use super::transport::WebMediaError as E;
            match w
                .download(
                    services.web(),
                    &services.media_http,
                    wa_id,
                    message_id,
                    source,
                    max,
                )
                .await
            {
                Ok(f) => Ok(f),
                Err(E::Fetch(e)) => Err(e),
                Err(E::Transient(why)) => return Err(MediaFailure::Transient(why)),
                Err(E::Gone(why)) => return Ok(Outcome::Rejected(Rejection::GatewayGone(why))),
                Err(E::WrongSource) => return Ok(Outcome::Rejected(Rejection::WrongTransport)),
            }
        }
        _ => return Ok(Outcome::Rejected(Rejection::WrongTransport)),
    };
    match got {
        Ok(f) => Ok(Outcome::Bytes {
            mime: if mref.mime.is_empty() {
                f.mime.unwrap_or_else(|| "application/octet-stream".into())
            } else {
                mref.mime.clone()
            },
            bytes: f.bytes,
        }),
        Err(e) => fetch_failure(e, &mref.kind),
    }
}

/// The language the operators of the number's portal read (English when it is gone).
async fn number_lang(services: &Ctx, number_id: i64) -> Result<Lang, MediaFailure> {
    Ok(match numbers::get(&services.db, number_id).await? {
        Some(n) => portals::language_of(&services.db, n.portal_id).await?,
        None => Lang::en(),
    })
}

/// Stores `bytes` (or a rejection) as the file of `source_key`; the row either way.
async fn keep(
    services: &Ctx,
    source_key: &str,
    number_id: i64,
    kind: &str,
    file_name: &str,
    outcome: Outcome,
) -> Result<entity::media::Model, MediaFailure> {
    let token = random_token();
    let expires_at = store::now_ms() + services.settings.media_url_ttl_secs as i64 * 1000;
    let (mime, size, sha, storage_key, state, note) = match outcome {
        Outcome::Bytes { bytes, mime } => {
            let storage_key = format!("{}/{}", &token[..2], token);
            services
                .media
                .put(&storage_key, &bytes)
                .await
                .map_err(|e| MediaFailure::Transient(format!("media storage: {e}")))?;
            let sha = hex::encode(sha2::Sha256::digest(&bytes));
            (
                mime,
                bytes.len() as i64,
                sha,
                storage_key,
                rows::STORED,
                None,
            )
        }
        Outcome::Rejected(why) => (
            String::new(),
            0,
            String::new(),
            String::new(),
            rows::REJECTED,
            Some(why.text(number_lang(services, number_id).await?)),
        ),
    };
    Ok(rows::insert(
        &services.db,
        NewMedia {
            source_key,
            token: &token,
            number_id,
            kind,
            mime: &mime,
            file_name: &media::safe_name(file_name),
            size,
            sha256: &sha,
            storage_key: &storage_key,
            state,
            note: note.as_deref(),
            expires_at,
        },
    )
    .await?)
}

/// The stored file of a customer's message, downloading it on first use. A permanent problem
/// (too large, gone) is stored as a rejected row with the reason, so it is not retried. With
/// `give_up` (after repeated transient failures) a transient one is stored so too, with the last
/// reason, so the message still reaches the operator with a note.
pub async fn customer_file(
    services: &Ctx,
    number_id: i64,
    wa_id: &str,
    message_id: &str,
    mref: &MediaRef,
    give_up: bool,
) -> Result<entity::media::Model, MediaFailure> {
    let key = rows::inbound_key(number_id, message_id);
    let got = async {
        if let Some(m) = rows::by_source(&services.db, &key).await? {
            return Ok(m);
        }
        let Some(number) = numbers::get(&services.db, number_id).await? else {
            return Err(MediaFailure::Transient("number not found".into()));
        };
        let name = mref
            .file_name
            .clone()
            .unwrap_or_else(|| media::default_name(&mref.kind, message_id, &mref.mime));
        let outcome = download(services, &number, wa_id, message_id, mref).await?;
        keep(services, &key, number_id, &mref.kind, &name, outcome).await
    }
    .await;
    match got {
        Err(MediaFailure::Transient(why)) if give_up => {
            let name = mref.file_name.clone().unwrap_or_default();
            let outcome = Outcome::Rejected(Rejection::Download(why));
            keep(services, &key, number_id, &mref.kind, &name, outcome).await
        }
        other => other,
    }
}

/// An operator's attachment, fetched from the portal's public link on first use.
pub async fn operator_file(
    services: &Ctx,
    job_id: i64,
    number_id: i64,
    link: &str,
    name: &str,
    mime: &str,
) -> Result<entity::media::Model, MediaFailure> {
    let key = rows::outbound_key(job_id);
    if let Some(m) = rows::by_source(&services.db, &key).await? {
        return Ok(m);
    }
    let kind = media::cloud_kind(mime);
    let outcome = match media::fetch(
        &services.media_http,
        link,
        None,
        media::max_bytes("document"),
    )
    .await
    {
        Ok(f) => Outcome::Bytes {
            bytes: f.bytes,
            mime: mime.to_string(),
        },
        Err(FetchError::Gone(s)) => Outcome::Rejected(Rejection::AttachmentGone(s)),
        Err(e) => match fetch_failure(e, "file")? {
            Outcome::Rejected(why) => Outcome::Rejected(why),
            b => b,
        },
    };
    keep(services, &key, number_id, kind, name, outcome).await
}
