//! The number's outbox: each WhatsApp job performed over the number's transport (Cloud API or
//! Web gateway) and settled: the message gets its WhatsApp id, a job is retried with backoff,
//! waits for the session, or fails for good with a notice to the operator in words.

use actix::prelude::*;
use futures::future::join_all;
use sea_orm::TransactionTrait;
use tracing::Instrument;

use super::{
    perform::{perform, SendFailure},
    Transport,
};
use crate::{
    actors::chat::crm,
    actors::{
        messages::{KickOwner, Owner},
        outbox::Drain,
        Ctx,
    },
    bitrix24::messageservice,
    i18n::Lang,
    metrics::Settled,
    relay::jobs::Job,
    store::{self, chats, jobs, ledger, messages, numbers, portals},
    tr,
    whatsapp::{errors::explain, gateway},
};

/// Jobs of different chats sent in parallel per round (Cloud API allows 80 msg/s per number).
const PARALLEL_SENDS: usize = 16;

/// The number's outbox: due jobs go out one per chat per round (keeps order), chats in parallel.
pub(super) struct Sender {
    pub services: Ctx,
    /// Where the number reports up (the registry).
    pub up: Recipient<KickOwner>,
    pub number: entity::numbers::Model,
    pub transport: Transport,
}

impl Drain for Sender {
    /// A dead token, an unlinked phone or an uninstalled portal stops all sending until the
    /// session is back (a reconnect, a state webhook or a reinstall kicks us).
    async fn ready(&self) -> Result<bool, sea_orm::DbErr> {
        Ok(numbers::get(&self.services.db, self.number.id)
            .await?
            // A number whose portal uninstalled the app sends nothing until a reinstall.
            .is_some_and(|n| numbers::can_send(&n) && !n.suspended))
    }

    async fn wave(&self, runnable: Vec<&entity::jobs::Model>) -> Result<bool, sea_orm::DbErr> {
        let (services, number, transport) = (&self.services, &self.number, &self.transport);
        let mut seen = std::collections::HashSet::new();
        let round: Vec<_> = runnable
            .into_iter()
            .filter(|j| seen.insert(j.queue_key.clone()))
            .take(PARALLEL_SENDS)
            .collect();
        let number_id = number.id;
        let sends = round.iter().map(|m| async move {
            let _running = crate::metrics::Running::start(&m.kind);
            let job = jobs::decode(m);
            let span = crate::metrics::job_span(std::iter::once(*m));
            let res = match &job {
                Ok(j) => {
                    perform(services, number_id, transport, m.id, j)
                        .instrument(span)
                        .await
                }
                Err(e) => Err(SendFailure::Permanent {
                    code: None,
                    message: e.to_string(),
                }),
            };
            (*m, job.ok(), res)
        });
        let results = join_all(sends).await;
        let mut session_lost = false;
        for (m, job, res) in results {
            session_lost |= matches!(
                &res,
                Err(SendFailure::Auth(_)) | Err(SendFailure::NotAuthorized(_))
            );
            let span = crate::metrics::job_span(std::iter::once(m));
            if settle(services, number, m, job, res)
                .instrument(span)
                .await?
            {
                // A notice for the operator was queued in the portal's outbox.
                self.up.do_send(KickOwner(Owner::Portal(number.portal_id)));
            }
        }
        Ok(!session_lost)
    }
}

async fn settle(
    services: &Ctx,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    job: Option<Job>,
    res: Result<String, SendFailure>,
) -> Result<bool, sea_orm::DbErr> {
    let txn = services.db.begin().await?;
    let mut notify_portal = false;
    let gateway = number.transport == numbers::TRANSPORT_GATEWAY;
    let how = match &res {
        Ok(_) => Settled::Done,
        Err(SendFailure::Auth(_)) | Err(SendFailure::NotAuthorized(_)) => Settled::Retry,
        Err(SendFailure::Transient(_)) if m.attempts + 1 < services.settings.max_attempts => {
            Settled::Retry
        }
        Err(_) => Settled::Dead,
    };
    match res {
        Ok(provider_id) => {
            match &job {
                // Relayed: WhatsApp took the message (billed once, with its WhatsApp id; one
                // held by a closed window or refused was never relayed and costs nothing).
                Some(Job::WaSendText { message_id, .. })
                | Some(Job::WaSendTemplate { message_id, .. }) => {
                    messages::set_wamid(&txn, *message_id, &provider_id).await?;
                    ledger::record(&txn, ledger::Kind::Outbound, *message_id, 1.0).await?;
                }
                Some(Job::WaSendMedia { message_id, .. }) => {
                    messages::set_wamid(&txn, *message_id, &provider_id).await?;
                    ledger::record(&txn, ledger::Kind::Outbound, *message_id, 1.0).await?;
                    ledger::record(&txn, ledger::Kind::MediaOut, *message_id, 1.0).await?;
                }
                Some(Job::WaDelete { message_id, .. }) => {
                    messages::set_status_many(&txn, &[*message_id], messages::DELETED).await?;
                }
                Some(Job::WaEdit {
                    message_id, text, ..
                }) => {
                    messages::set_text(&txn, *message_id, text).await?;
                }
                _ => {}
            }
            jobs::mark_done(&txn, &[m.id]).await?;
        }
        Err(SendFailure::Auth(why)) => {
            // The job waits until the number is reconnected; the operator and the tenant hear
            // of it once.
            jobs::retry_later(&txn, &[m.id], store::now_ms(), &why).await?;
            if numbers::set_session_state_since(
                &txn,
                number.id,
                numbers::SESSION_TOKEN_INVALID,
                Some(&number.access_token_enc),
            )
            .await?
            {
                tracing::error!(
                    number = number.id,
                    "WhatsApp credentials rejected: sending stopped until the number is reconnected"
                );
                let lang = portals::language_of(&txn, number.portal_id).await?;
                let text = if gateway {
                    tr!(lang, "gateway-credentials")
                } else {
                    explain(lang, Some(190), "")
                };
                notify_portal = notice(&txn, number, m, job_message(&job), &text).await?;
            }
        }
        Err(SendFailure::NotAuthorized(why)) => {
            jobs::retry_later(&txn, &[m.id], store::now_ms(), &why).await?;
            // The gateway's word on its session is current whatever credentials were used.
            if numbers::set_session_state(&txn, number.id, gateway::NOT_AUTHORIZED).await? {
                tracing::warn!(
                    number = number.id,
                    "gateway instance not authorized: sending paused"
                );
                let lang = portals::language_of(&txn, number.portal_id).await?;
                let text = session_lost_notice(lang, None);
                notify_portal = notice(&txn, number, m, job_message(&job), &text).await?;
            }
        }
        Err(SendFailure::Transient(why)) => {
            let s = &services.settings;
            if m.attempts + 1 >= s.max_attempts {
                notify_portal = fail(&txn, number, m, &job, None, &why, None).await?;
            } else {
                let delay = jobs::backoff_ms(m.attempts, s.retry_base_ms, s.retry_max_ms);
                jobs::retry_later(&txn, &[m.id], store::now_ms() + delay, &why).await?;
            }
        }
        Err(f @ SendFailure::Permanent { .. }) => {
            let code = match &f {
                SendFailure::Permanent { code, .. } => *code,
                _ => None,
            };
            notify_portal = fail(&txn, number, m, &job, code, f.message(), None).await?;
        }
        Err(SendFailure::File(f)) => {
            // Stored in English (the admin app), told in the portal's language.
            let lang = portals::language_of(&txn, number.portal_id).await?;
            let why = f.text(Lang::en());
            let told = f.text(lang);
            notify_portal = fail(&txn, number, m, &job, None, &why, Some(told)).await?;
        }
    }
    txn.commit().await?;
    crate::metrics::settled(m, how);
    Ok(notify_portal)
}

/// Told to the operator when a gateway number's phone is unlinked (with the gateway's `state`
/// when it names one).
pub fn session_lost_notice(lang: Lang, state: Option<&str>) -> String {
    match state {
        Some(state) => tr!(
            lang,
            "session-lost-state",
            state = crate::bitrix24::bbcode::escape(state)
        ),
        None => tr!(lang, "session-lost"),
    }
}

fn job_message(job: &Option<Job>) -> Option<i64> {
    match job {
        Some(Job::WaSendText { message_id, .. })
        | Some(Job::WaSendMedia { message_id, .. })
        | Some(Job::WaSendTemplate { message_id, .. })
        | Some(Job::WaDelete { message_id, .. })
        | Some(Job::WaEdit { message_id, .. }) => Some(*message_id),
        _ => None,
    }
}

/// A job that cannot succeed: a send fails (and the message with it), a delete or an edit is
/// reported as not done; the operator is told why, in words (`told`: our own words already, in
/// the portal's language). Returns whether a notice was queued.
async fn fail(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    job: &Option<Job>,
    code: Option<i64>,
    why: &str,
    told: Option<String>,
) -> Result<bool, sea_orm::DbErr> {
    tracing::warn!(job = m.id, reason = %why, "WhatsApp job failed for good");
    jobs::mark_dead(txn, &[m.id], why).await?;
    if let (Some(crate::relay::window::REENGAGEMENT_CODE), Some(id)) = (code, job_message(job)) {
        // The synchronous form of 131047: the window is closed until the customer writes.
        if let Some(msg) = messages::get(txn, id).await? {
            chats::close_window(txn, msg.chat_id, store::now_ms()).await?;
        }
    }
    crm_failed(txn, number, job).await?;
    let lang = portals::language_of(txn, number.portal_id).await?;
    let text = match job {
        Some(Job::WaSendText { message_id, .. })
        | Some(Job::WaSendTemplate { message_id, .. })
        | Some(Job::WaSendMedia { message_id, .. }) => {
            messages::fail(txn, &[*message_id], why).await?;
            // Our own reasons (size, a vanished attachment) are already in words.
            told.unwrap_or_else(|| explain(lang, code, why))
        }
        Some(Job::WaDelete { .. }) => tr!(lang, "delete-failed", why = why),
        Some(Job::WaEdit { .. }) => tr!(lang, "edit-failed", why = why),
        // A mark-as-read that failed is not worth an operator's attention.
        _ => return Ok(false),
    };
    notice(txn, number, m, job_message(job), &text).await
}

/// Queues a system notice in the Open Lines chat of the job's message (or of its chat, for a
/// job without one, such as a mark-as-read).
async fn notice(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    m: &entity::jobs::Model,
    message_id: Option<i64>,
    text: &str,
) -> Result<bool, sea_orm::DbErr> {
    let mut target = match message_id {
        Some(id) => messages::get(txn, id).await?.and_then(|m| m.b24_chat_id),
        None => None,
    };
    if target.is_none() {
        if let Some(chat_id) = jobs::parse_chat_queue(&m.queue_key) {
            target = chats::get(txn, chat_id).await?.and_then(|c| c.b24_chat_id);
        }
    }
    let Some(im_chat_id) = target else {
        return Ok(false);
    };
    let notice = Job::B24Notice {
        im_chat_id: im_chat_id.clone(),
        text: text.to_string(),
    };
    jobs::enqueue(
        txn,
        &jobs::portal_owner(number.portal_id),
        &format!("notice:{im_chat_id}"),
        &notice,
    )
    .await?;
    Ok(true)
}

/// A message sent from the CRM that failed before WhatsApp took it: Bitrix24's message service
/// is told `failed`.
async fn crm_failed(
    txn: &sea_orm::DatabaseTransaction,
    number: &entity::numbers::Model,
    job: &Option<Job>,
) -> Result<(), sea_orm::DbErr> {
    let Some(id) = job_message(job) else {
        return Ok(());
    };
    let Some(msg) = messages::get(txn, id).await? else {
        return Ok(());
    };
    let (true, Some(b24_id)) = (msg.kind == crm::KIND, &msg.b24_message_id) else {
        return Ok(());
    };
    let code = messageservice::provider_code(number.id);
    let status = crm::status_job(&code, b24_id, messageservice::SmsStatus::Failed);
    let owner = jobs::portal_owner(number.portal_id);
    jobs::enqueue(txn, &owner, &jobs::chat_queue(msg.chat_id), &status).await?;
    Ok(())
}
