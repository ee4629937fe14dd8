//! Evolution API webhooks, one URL per number: `POST /webhooks/whatsapp/evolution/{number_id}`.
//! Evolution signs nothing: the per-number secret b24wa configured is presented in the
//! `x-b24wa-secret` header (compared in constant time) and the body's `instance` must be the
//! number's (why this option: `whatsapp::evolution`). Stored in the inbox as the GREEN-API route
//! stores its events (deduplicated by message id; statuses by id and status, applied forward
//! only by the chat), and only then acknowledged.

use actix_web::{web, HttpRequest, HttpResponse};

use super::web_number::{self, Found};
use crate::{
    actors::{
        registry::{Dispatch, Owner},
        transport::web::evolution_state,
    },
    http::{ApiError, AppState, ErrorCode},
    relay::inbox::{InboxItem, MediaRef, MediaSource},
    store::{inbox, inbox_writer, jobs, numbers},
    tr,
    whatsapp::evolution::{
        webhook::{self, Author, EvoEvent, EvoMedia},
        ConnState, SECRET_HEADER,
    },
};

fn refused() -> ApiError {
    ApiError::unauthorized(ErrorCode::WebhookTokenInvalid, |l| {
        tr!(l, "error-evolution-webhook-secret")
    })
}

fn media_ref(m: EvoMedia) -> MediaRef {
    MediaRef {
        kind: m.kind,
        source: MediaSource::Evolution {
            message_id: m.message_id,
        },
        mime: m.mime,
        file_name: m.file_name,
        sha256: m.sha256,
    }
}

fn now_secs() -> i64 {
    crate::store::now_ms() / 1000
}

pub async fn receive(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let given = req
        .headers()
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok());
    let n = match web_number::authenticated(
        &state,
        path.into_inner(),
        numbers::GATEWAY_EVOLUTION,
        given,
        refused,
    )
    .await?
    {
        Found::Number(n) => *n,
        Found::Answer(answer) => return Ok(answer),
    };
    let hook = webhook::parse(&body).map_err(|e| {
        let detail = e.to_string();
        ApiError::bad_request(ErrorCode::InvalidWebhook, move |l| {
            tr!(l, "error-invalid-webhook", detail = &detail)
        })
    })?;
    // The right secret for another instance's events: a server misconfigured, never relayed.
    if n.gateway_instance_id.as_deref() != Some(hook.instance.as_str()) {
        return Err(refused());
    }
    if let Some(answer) = web_number::admitted(&state, &n).await? {
        return Ok(answer);
    }
    let ignored = |what: String| {
        tracing::debug!(number = n.id, what = %what, "evolution webhook not relayed");
        Ok(HttpResponse::Ok().body("ignored"))
    };
    let (external_id, item) = match hook.data {
        EvoEvent::Message(m) => {
            let m = *m;
            let from = m.peer.key();
            // Echoes of our own sends (`send.message`) are known by the id the send returned.
            if m.author == Author::Api || from.is_empty() {
                return ignored(format!("{:?} message {}", m.author, m.id));
            }
            // Typed on the linked phone itself: new words are shown as the company's; its
            // edits, deletes and reactions are not (nothing in Open Lines stands for them).
            if m.author == Author::Phone {
                if m.action != crate::whatsapp::Action::New || m.text.is_empty() {
                    return ignored(format!("phone action on {}", m.id));
                }
                let item = InboxItem::WaPhoneMessage {
                    phone_number_id: n.phone_number_id.clone(),
                    to: from,
                    wamid: m.id.clone(),
                    timestamp: m.timestamp,
                    text: m.text,
                };
                return store(&state, &n, m.id, item).await;
            }
            (
                m.id.clone(),
                InboxItem::WaMessage {
                    phone_number_id: n.phone_number_id.clone(),
                    from,
                    name: m.name,
                    wamid: m.id,
                    timestamp: m.timestamp,
                    text: m.text,
                    reply_to: m.reply_to,
                    action: m.action.into(),
                    media: m.media.map(media_ref),
                    shown: m.shown.map(|s| Box::new(s.into())),
                },
            )
        }
        EvoEvent::Status {
            id,
            peer,
            status,
            error,
        } => (
            format!("{id}:{status}"),
            InboxItem::WaStatus {
                phone_number_id: n.phone_number_id.clone(),
                wamid: id,
                status,
                // Evolution's `date_time` is not UTC: our receipt time stands in.
                timestamp: now_secs(),
                recipient_id: peer.key(),
                error,
                error_code: None,
            },
        ),
        // `connecting` comes and goes with every silent reconnect and while the QR shows: not
        // stored (it would tell operators the session is lost); the state poll sees a stuck one.
        EvoEvent::State {
            state: ConnState::Connecting,
            ..
        } => return ignored("connecting".into()),
        EvoEvent::State { state: s, .. } => {
            let s = evolution_state(&s);
            let ts = now_secs();
            (
                format!("state:{ts}:{s}:{}", hex::encode(rand::random::<[u8; 8]>())),
                InboxItem::WaSessionState {
                    state: s,
                    timestamp: ts,
                },
            )
        }
        EvoEvent::Qr(_) | EvoEvent::QrLimit(_) | EvoEvent::Contacts(_) => {
            return ignored(hook.event)
        }
        EvoEvent::Ignored(what) => return ignored(what),
    };
    store(&state, &n, external_id, item).await
}

/// Stores an event in the number's inbox (once per `external_id`) and hands it to the number.
async fn store(
    state: &AppState,
    n: &entity::numbers::Model,
    external_id: String,
    item: InboxItem,
) -> Result<HttpResponse, ApiError> {
    let owner = jobs::number_owner(n.id);
    // Back-pressure, before storing: Evolution keeps the event and retries it.
    state.limits.inbox.check(&state.ctx.db, &owner).await?;
    let source = format!("{}:{}", inbox::SOURCE_WA_GATEWAY, n.id);
    let row = inbox_writer::NewRow {
        source,
        external_id,
        owner,
        item,
    };
    let ids = state
        .inbox_writer
        .insert(std::slice::from_ref(&row))
        .await?;
    if let Some(id) = ids.into_iter().flatten().next() {
        state.registry.do_send(Dispatch {
            owner: Owner::Number(n.id),
            items: vec![(id, row.item)],
        });
    }
    Ok(HttpResponse::Ok().body("ok"))
}
