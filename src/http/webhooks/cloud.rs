//! Cloud API webhooks: verify (GET) and deliveries (POST). A delivery is authenticated over its
//! raw bytes, stored in the inbox in one transaction, and only then acknowledged.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::{
    actors::registry::{Dispatch, Owner},
    http::{ApiError, AppState, ErrorCode},
    relay::inbox::InboxItem,
    store::{inbox, inbox_writer, numbers, templates},
    tr,
    whatsapp::cloud::webhook::{self, Event, WebhookError},
};

#[derive(Deserialize)]
pub struct VerifyQuery {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Connected Cloud numbers by phone_number_id, kept a few seconds: every webhook needs its
/// number's app secret, and numbers change rarely (a reconnect applies within the TTL).
#[derive(Default)]
pub struct NumberCache {
    entries: std::sync::Mutex<HashMap<String, (std::time::Instant, Option<CachedNumber>)>>,
}

type CachedNumber = (entity::numbers::Model, numbers::CloudCredentials);

impl NumberCache {
    /// A number was (re)connected here: the next webhook reads it fresh.
    pub fn forget(&self, phone_number_id: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(phone_number_id);
        }
    }
}

const NUMBER_TTL: std::time::Duration = std::time::Duration::from_secs(5);

async fn cloud_number(state: &AppState, pnid: &str) -> Result<Option<CachedNumber>, ApiError> {
    if let Ok(map) = state.numbers.entries.lock() {
        if let Some((at, hit)) = map.get(pnid) {
            if at.elapsed() < NUMBER_TTL {
                return Ok(hit.clone());
            }
        }
    }
    let found = match numbers::find_by_phone_number_id(&state.ctx.db, pnid)
        .await?
        .filter(|n| n.transport == numbers::TRANSPORT_CLOUD)
    {
        Some(n) => {
            let creds = numbers::credentials(&state.ctx.secrets, &n)?;
            Some((n, creds))
        }
        None => None,
    };
    if let Ok(mut map) = state.numbers.entries.lock() {
        // Bounded: unknown ids from a flood must not grow the map without end.
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(pnid.to_string(), (std::time::Instant::now(), found.clone()));
    }
    Ok(found)
}

fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn verify_with(
    state: &AppState,
    q: &VerifyQuery,
    only: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let (Some("subscribe"), Some(token), Some(challenge)) = (
        q.mode.as_deref(),
        q.token.as_deref(),
        q.challenge.as_deref(),
    ) else {
        return Err(ApiError::forbidden(ErrorCode::VerifyRejected, |l| {
            tr!(l, "error-verify-request")
        }));
    };
    for n in numbers::list(&state.ctx.db).await? {
        if only.is_some_and(|p| p != n.phone_number_id) || n.transport != numbers::TRANSPORT_CLOUD {
            continue;
        }
        let creds = numbers::credentials(&state.ctx.secrets, &n)?;
        if ct_eq(creds.verify_token.expose_secret(), token) {
            return Ok(HttpResponse::Ok()
                .content_type("text/plain")
                .body(challenge.to_string()));
        }
    }
    Err(ApiError::forbidden(ErrorCode::VerifyRejected, |l| {
        tr!(l, "error-verify-token")
    }))
}

pub async fn verify(
    state: web::Data<AppState>,
    q: web::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    verify_with(&state, &q, None).await
}

pub async fn verify_for(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<VerifyQuery>,
) -> Result<HttpResponse, ApiError> {
    verify_with(&state, &q, Some(path.as_str())).await
}

fn signature(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok())
}

fn map_err(e: WebhookError) -> ApiError {
    match e {
        WebhookError::MissingSignature => {
            ApiError::unauthorized(ErrorCode::SignatureMissing, |l| {
                tr!(l, "error-signature-missing")
            })
        }
        WebhookError::BadSignature => ApiError::unauthorized(ErrorCode::SignatureInvalid, |l| {
            tr!(l, "error-signature-invalid")
        }),
        WebhookError::Json(detail) => ApiError::bad_request(ErrorCode::InvalidJson, move |l| {
            tr!(l, "error-webhook-json", detail = &detail)
        }),
        WebhookError::WrongObject(object) => {
            ApiError::bad_request(ErrorCode::UnsupportedObject, move |l| {
                tr!(l, "error-unsupported-object", object = &object)
            })
        }
    }
}

/// What a webhook's `phone_number_id` is to us.
enum Addressee {
    /// A connected number (its id), the body signed with its app secret.
    Relayed(i64),
    /// A number an admin disconnected: acknowledged and dropped.
    Disconnected,
    /// Not a Cloud number here (removed, never connected, another app's number on a shared
    /// callback): acknowledged and dropped, counted and logged (`super::ignored_unknown`).
    /// Its signature cannot be checked, since the app secret is the number's, and is not: a
    /// forger gains nothing from an answer that stores nothing, while any refusal would have
    /// Meta retry a genuine webhook of another app for days.
    Unknown,
}

/// The number `pnid`, once the body proves to be signed with its app secret.
async fn signed_by(
    state: &AppState,
    pnid: &str,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Addressee, ApiError> {
    let Some((n, creds)) = cloud_number(state, pnid).await? else {
        return Ok(Addressee::Unknown);
    };
    webhook::verify_signature(
        creds.app_secret.expose_secret().as_bytes(),
        body,
        signature(req),
    )
    .map_err(map_err)?;
    super::refuse_if_suspended(&n)?;
    // After the signature: a forger cannot spend a tenant's budget.
    state
        .limits
        .check_portal(&state.ctx.db, n.portal_id)
        .await?;
    Ok(if super::relayed(&n) {
        Addressee::Relayed(n.id)
    } else {
        Addressee::Disconnected
    })
}

/// The app-wide callback: numbers are found by `metadata.phone_number_id`, and every number the
/// body addresses must sign it with its own app secret.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let payload = webhook::parse(&body).map_err(map_err)?;
    let mut known = HashMap::new();
    let mut disconnected = false;
    let mut unknown = Vec::new();
    for pnid in webhook::phone_number_ids(&payload) {
        match signed_by(&state, &pnid, &req, &body).await? {
            Addressee::Relayed(id) => {
                known.insert(pnid, id);
            }
            Addressee::Disconnected => disconnected = true,
            Addressee::Unknown => unknown.push(pnid),
        }
    }
    if known.is_empty() {
        // A template's status changed: addressed to the account, not to a number.
        if let Some(answer) = template_updates(&state, &req, &body).await? {
            return Ok(answer);
        }
        // Nothing addressed to a number (e.g. another field), or only to disconnected or unknown
        // ones: no side effects.
        if let Some((first, rest)) = unknown.split_first() {
            for pnid in rest {
                super::unknown_seen(crate::metrics::SOURCE_CLOUD, pnid);
            }
            return Ok(super::ignored_unknown(crate::metrics::SOURCE_CLOUD, first));
        }
        if disconnected {
            return Ok(super::ignored_disconnected());
        }
        return Ok(HttpResponse::Ok().body("ignored"));
    }
    // Events for unknown numbers in a body that also carries ours are left out (`store` keeps
    // only those of `known`).
    for pnid in &unknown {
        super::unknown_seen(crate::metrics::SOURCE_CLOUD, pnid);
    }
    store(&state, webhook::events(&payload), &known).await
}

/// A per-number callback (Meta's callback override): signature first, then the body.
pub async fn receive_for(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let pnid = path.into_inner();
    let id = match signed_by(&state, &pnid, &req, &body).await? {
        Addressee::Relayed(id) => id,
        Addressee::Disconnected => return Ok(super::ignored_disconnected()),
        Addressee::Unknown => {
            return Ok(super::ignored_unknown(crate::metrics::SOURCE_CLOUD, &pnid))
        }
    };
    let payload = webhook::parse(&body).map_err(map_err)?;
    let mut known = HashMap::new();
    known.insert(pnid, id);
    let events = webhook::events(&payload)
        .into_iter()
        .filter(|e| match e {
            Event::Message(m) => known.contains_key(&m.phone_number_id),
            Event::Status(s) => known.contains_key(&s.phone_number_id),
        })
        .collect();
    store(&state, events, &known).await
}

async fn store(
    state: &AppState,
    events: Vec<Event>,
    known: &HashMap<String, i64>,
) -> Result<HttpResponse, ApiError> {
    // Back-pressure, before anything is stored: a 503 leaves the whole body to Meta's retry.
    let mut addressed: Vec<i64> = known.values().copied().collect();
    addressed.sort_unstable();
    addressed.dedup();
    for number_id in addressed {
        state
            .limits
            .inbox
            .check(&state.ctx.db, &crate::store::jobs::number_owner(number_id))
            .await?;
    }
    // The body's events are stored together (the 200 covers all of them or none), joined with
    // other webhooks' rows in one statement (group commit).
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    for ev in events {
        let (pnid, external_id, item) = match ev {
            Event::Message(m) => (
                m.phone_number_id.clone(),
                m.message.wamid.clone(),
                InboxItem::wa_message(m.phone_number_id, m.message),
            ),
            Event::Status(s) => (
                s.phone_number_id.clone(),
                format!("{}:{}", s.wamid, s.status),
                InboxItem::WaStatus {
                    phone_number_id: s.phone_number_id,
                    wamid: s.wamid,
                    status: s.status,
                    timestamp: s.timestamp,
                    recipient_id: s.recipient_id,
                    error: s.error,
                    error_code: s.error_code,
                },
            ),
        };
        let Some(&number_id) = known.get(&pnid) else {
            continue;
        };
        rows.push(inbox_writer::NewRow {
            source: inbox::SOURCE_WA_CLOUD.to_string(),
            external_id,
            owner: crate::store::jobs::number_owner(number_id),
            item,
        });
        numbers.push(number_id);
    }
    let ids = state.inbox_writer.insert(&rows).await?;
    let mut by_number: HashMap<i64, Vec<(i64, InboxItem)>> = HashMap::new();
    for ((row, number_id), id) in rows.into_iter().zip(numbers).zip(ids) {
        if let Some(id) = id {
            by_number.entry(number_id).or_default().push((id, row.item));
        }
    }
    for (number_id, items) in by_number {
        state.registry.do_send(Dispatch {
            owner: Owner::Number(number_id),
            items,
        });
    }
    Ok(HttpResponse::Ok().body("ok"))
}

/// `message_template_status_update` webhooks (whatsapp-templates.md §2): they name the account
/// (`entry[].id`), not a number, so the body must be signed with the app secret of one of that
/// account's numbers; each template's new status is stored for every number of the account.
/// `None` when the body carries no such change.
async fn template_updates(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Option<HttpResponse>, ApiError> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(None);
    };
    let updates = crate::whatsapp::cloud::templates::status_updates(&value);
    if updates.is_empty() {
        return Ok(None);
    }
    let db = &state.ctx.db;
    let mut applied = 0;
    for u in &updates {
        let mut signed = false;
        for n in templates::numbers_of_account(db, &u.waba_id).await? {
            let Ok(creds) = numbers::credentials(&state.ctx.secrets, &n) else {
                continue;
            };
            let secret = creds.app_secret.expose_secret().as_bytes();
            if webhook::verify_signature(secret, body, signature(req)).is_ok() {
                signed = true;
                break;
            }
        }
        if !signed {
            // An account we do not know, or a forgery: acknowledged, nothing stored (as for a
            // number we do not know).
            super::unknown_seen(crate::metrics::SOURCE_CLOUD, &u.waba_id);
            continue;
        }
        let reason = u.reason.as_deref();
        let (id, name, lang, status) = (&u.template_id, &u.name, &u.language, &u.status);
        templates::set_status(db, &u.waba_id, id, name, lang, status, reason).await?;
        applied += 1;
    }
    tracing::info!(applied, "template status updates");
    Ok(Some(HttpResponse::Ok().body("ok")))
}
