//! TranscriptRunner: runs the stored transcription jobs on the transcriber pool, a few at a
//! time, and hands each result to its chat through the inbox (the chat attaches it to the
//! voice message). A job stays pending until its result is stored, so a crash in the middle
//! re-runs it after the restart.

use std::{collections::HashSet, time::Duration};
use tracing::Instrument;

use actix::prelude::*;
use sea_orm::TransactionTrait;

use super::{
    messages::{Dispatch, Kick, Owner},
    Ctx,
};
use crate::{
    relay::{inbox::InboxItem, jobs::Job, to_bitrix24::TranscriptNote},
    store::{self, inbox, jobs, media, portals},
    transcribe::Outcome,
};

/// What the pool is asked: the audio bytes of one voice note, transcribed.
pub type Pool = Recipient<crate::actors::transcriber::Transcribe>;

pub struct TranscriptRunner {
    ctx: Ctx,
    pool: Pool,
    /// How many jobs may run at once (the pool's size).
    width: usize,
    /// The registry (set at start): a transcript's item goes up to it for its number.
    registry: Option<Recipient<Dispatch>>,
    running: HashSet<i64>,
}

impl TranscriptRunner {
    pub fn new(ctx: Ctx, pool: Pool, width: usize) -> Self {
        Self {
            ctx,
            pool,
            width: width.max(1),
            registry: None,
            running: HashSet::new(),
        }
    }

    fn kick(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() || self.running.len() >= self.width {
            return;
        }
        // Cluster mode: one node at a time runs the stored transcription jobs (its lease).
        if !self.ctx.holds(jobs::TRANSCRIBER_OWNER) {
            return;
        }
        let services = self.ctx.clone();
        let fut = async move { jobs::pending(&services.db, jobs::TRANSCRIBER_OWNER, 200).await };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| {
            let pending = match res {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "loading transcription jobs failed");
                    return;
                }
            };
            let now = store::now_ms();
            for row in pending {
                if act.running.len() >= act.width {
                    break;
                }
                if row.next_attempt_at > now || act.running.contains(&row.id) {
                    continue;
                }
                act.running.insert(row.id);
                act.start(row, ctx);
            }
        }));
    }

    fn start(&mut self, row: entity::jobs::Model, ctx: &mut Context<Self>) {
        let services = self.ctx.clone();
        let pool = self.pool.clone();
        let id = row.id;
        let fut = async move {
            let Some(_guard) = services.lifecycle.enter() else {
                return Ok(None);
            };
            let _running = crate::metrics::Running::start(&row.kind);
            // The voice note's trace: the transcript's inbox item carries it on to the chat.
            let trace_id = row.trace_id.clone().unwrap_or_else(|| format!("job-{id}"));
            let span = crate::metrics::job_span(std::iter::once(&row));
            let ctx = crate::trace::TraceCtx::new(trace_id, row.origin_at);
            let res = crate::trace::scope(ctx, run(&services, &pool, &row).instrument(span)).await;
            let how = match &res {
                Ok(_) => crate::metrics::Settled::Done,
                Err(_) => crate::metrics::Settled::Retry,
            };
            crate::metrics::settled(&row, how);
            res
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.running.remove(&id);
            match res {
                Ok(Some((number_id, item))) => {
                    if let Some(r) = &act.registry {
                        r.do_send(Dispatch {
                            owner: Owner::Number(number_id),
                            items: vec![item],
                        });
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = id, error = %e, "transcription job failed; retrying later")
                }
            }
            act.kick(ctx);
        }));
    }
}

/// Runs one job: the stored file through the pool, then (in one transaction) the result into
/// the inbox of the chat's number and the job done. A failure of the pool itself is retried
/// with backoff, and after the last attempt reported to the operator as a note.
async fn run(
    services: &Ctx,
    pool: &Pool,
    row: &entity::jobs::Model,
) -> Result<Option<(i64, (i64, InboxItem))>, String> {
    let Ok(Job::Transcribe {
        message_id,
        number_id,
        wa_id,
        media_id,
    }) = jobs::decode(row)
    else {
        jobs::mark_dead(&services.db, &[row.id], "not a transcription job")
            .await
            .map_err(|e| e.to_string())?;
        return Ok(None);
    };
    let file = media::get(&services.db, media_id)
        .await
        .map_err(|e| e.to_string())?;
    let (text, note, seconds) = match file {
        Some(f) if f.state == media::STORED => {
            let audio = services
                .media
                .get(&f.storage_key)
                .await
                .map_err(|e| format!("reading the voice note: {e}"))?;
            let language = if services.settings.transcribe_follows_portal() {
                portals::bitrix24_language_of_number(&services.db, number_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .as_deref()
                    .and_then(crate::transcribe::speech_language)
            } else {
                None
            };
            // The note's length, for its minutes if it is transcribed (the container says it;
            // a note that does not say costs none).
            let seconds = crate::transcribe::audio::probe_seconds(&audio)
                .ok()
                .flatten()
                .filter(|s| s.is_finite() && *s > 0.0);
            let started = std::time::Instant::now();
            let result = pool
                .send(crate::actors::transcriber::Transcribe { audio, language })
                .await;
            match result {
                Ok(Ok(outcome)) => {
                    crate::metrics::transcription(started.elapsed());
                    tracing::info!(
                        message = message_id,
                        ms = started.elapsed().as_millis() as u64,
                        outcome = outcome_name(&outcome),
                        "voice note transcribed"
                    );
                    let (text, note) = words(outcome, services.settings.transcribe_max_seconds);
                    let seconds = text.as_ref().and(seconds);
                    (text, note, seconds)
                }
                Ok(Err(e)) => return retry(services, row, &e.to_string()).await,
                Err(e) => return retry(services, row, &format!("transcriber pool: {e}")).await,
            }
        }
        _ => (None, Some(TranscriptNote::NoFile), None),
    };
    let result = Transcribed {
        text,
        reason: note,
        seconds,
    };
    deliver(services, row.id, number_id, wa_id, message_id, result).await
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Text { .. } => "text",
        Outcome::TooLong { .. } => "too_long",
        Outcome::Silence => "silence",
        Outcome::Undecodable { .. } => "undecodable",
    }
}

/// The transcript, or why there is none (the chat renders it in the portal's language).
fn words(o: Outcome, limit: f32) -> (Option<String>, Option<TranscriptNote>) {
    match o {
        Outcome::Text { text, .. } if !text.trim().is_empty() => {
            (Some(text.trim().to_string()), None)
        }
        Outcome::Text { .. } | Outcome::Silence => (None, Some(TranscriptNote::Silence)),
        Outcome::TooLong { seconds } => (
            None,
            Some(TranscriptNote::TooLong {
                seconds: seconds.round() as i64,
                limit: limit.round() as i64,
            }),
        ),
        Outcome::Undecodable { .. } => (None, Some(TranscriptNote::Undecodable)),
    }
}

async fn retry(
    services: &Ctx,
    row: &entity::jobs::Model,
    why: &str,
) -> Result<Option<(i64, (i64, InboxItem))>, String> {
    let s = &services.settings;
    if row.attempts + 1 >= s.max_attempts {
        if let Ok(Job::Transcribe {
            message_id,
            number_id,
            wa_id,
            ..
        }) = jobs::decode(row)
        {
            let failed = Transcribed {
                text: None,
                reason: Some(TranscriptNote::Failed),
                seconds: None,
            };
            return deliver(services, row.id, number_id, wa_id, message_id, failed).await;
        }
    }
    let delay = jobs::backoff_ms(row.attempts, s.retry_base_ms, s.retry_max_ms);
    jobs::retry_later(&services.db, &[row.id], store::now_ms() + delay, why)
        .await
        .map_err(|e| e.to_string())?;
    Err(why.to_string())
}

/// A job's result: the transcript and its note's seconds, or why there is none.
struct Transcribed {
    text: Option<String>,
    reason: Option<TranscriptNote>,
    seconds: Option<f32>,
}

async fn deliver(
    services: &Ctx,
    job_id: i64,
    number_id: i64,
    wa_id: String,
    message_id: i64,
    result: Transcribed,
) -> Result<Option<(i64, (i64, InboxItem))>, String> {
    let item = InboxItem::Transcript {
        wa_id,
        message_id,
        text: result.text,
        note: None,
        reason: result.reason,
        seconds: result.seconds,
    };
    let fut = async {
        let txn = services.db.begin().await?;
        let id = inbox::insert(
            &txn,
            inbox::SOURCE_TRANSCRIPT,
            &message_id.to_string(),
            &jobs::number_owner(number_id),
            &item,
        )
        .await?;
        jobs::mark_done(&txn, &[job_id]).await?;
        txn.commit().await?;
        Ok::<_, sea_orm::DbErr>(id)
    };
    match fut.await.map_err(|e| e.to_string())? {
        Some(id) => Ok(Some((number_id, (id, item)))),
        // Stored by an earlier run that died before marking the job done.
        None => Ok(None),
    }
}

impl Actor for TranscriptRunner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| act.kick(ctx));
        self.kick(ctx);
    }
}

impl Supervised for TranscriptRunner {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.running.clear();
    }
}

impl Handler<Kick> for TranscriptRunner {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.kick(ctx);
    }
}

/// Gives the runner the registry (they are created in turn at start).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRegistry(pub Recipient<Dispatch>);

impl Handler<SetRegistry> for TranscriptRunner {
    type Result = ();
    fn handle(&mut self, msg: SetRegistry, ctx: &mut Self::Context) {
        self.registry = Some(msg.0);
        self.kick(ctx);
    }
}
