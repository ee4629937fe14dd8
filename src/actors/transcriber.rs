//! TranscriberPool: `workers` synchronous actors (actix `SyncArbiter`, one OS thread each)
//! sharing one whisper model loaded once; each worker keeps its own whisper state.
//!
//! Send a [`Transcribe`] to the pool's address; whichever worker is free takes it. A panic
//! inside a worker is caught, answered with `TranscribeError::Crashed`, and the worker's state
//! is rebuilt for the next note: the pool keeps serving.

use std::panic::{catch_unwind, AssertUnwindSafe};

use actix::prelude::*;

use crate::transcribe::{Model, Outcome, TranscribeError, TranscribeSettings, Transcriber};

/// Transcribe one voice note (OGG/Opus or WAV bytes).
#[derive(Message)]
#[rtype(result = "Result<Outcome, TranscribeError>")]
pub struct Transcribe {
    pub audio: Vec<u8>,
    /// The note's language when known (ISO 639-1, "ru", "en": the portal's language), so
    /// whisper neither guesses it nor spends time detecting it; `None` = the configured
    /// default (`B24WA_TRANSCRIBE_LANGUAGE`, "auto" = detect).
    pub language: Option<String>,
}

/// Tests only (the `faults` feature): makes the worker that takes it panic inside its handler.
#[cfg(feature = "faults")]
#[doc(hidden)]
#[derive(Message)]
#[rtype(result = "Result<Outcome, TranscribeError>")]
pub struct InjectPanic;

pub struct TranscribeWorker {
    model: Model,
    settings: TranscribeSettings,
    /// Built on start (or on the first note, if that failed), dropped after a panic.
    transcriber: Option<Transcriber>,
}

impl TranscribeWorker {
    pub fn new(model: Model, settings: TranscribeSettings) -> Self {
        Self {
            model,
            settings,
            transcriber: None,
        }
    }

    fn transcriber(&mut self) -> Result<&mut Transcriber, TranscribeError> {
        if self.transcriber.is_none() {
            self.transcriber = Some(Transcriber::new(&self.model, &self.settings)?);
        }
        self.transcriber
            .as_mut()
            .ok_or_else(|| TranscribeError::Unavailable("no whisper state".into()))
    }

    /// Runs `work` so that a panic becomes `Err(Crashed)` and the (possibly broken) whisper
    /// state is dropped; the next note gets a fresh one.
    fn guarded<F>(&mut self, work: F) -> Result<Outcome, TranscribeError>
    where
        F: FnOnce(&mut Self) -> Result<Outcome, TranscribeError>,
    {
        match catch_unwind(AssertUnwindSafe(|| work(self))) {
            Ok(Err(TranscribeError::Crashed(message))) => {
                // A helper thread of the engine died: rebuild the engine.
                self.transcriber = None;
                Err(TranscribeError::Crashed(message))
            }
            Ok(result) => result,
            Err(panic) => {
                let message = crate::transcribe::whisper::panic_text(&*panic);
                tracing::error!(panic = %message, "transcriber worker panicked; state rebuilt");
                self.transcriber = None;
                Err(TranscribeError::Crashed(message))
            }
        }
    }
}

impl Actor for TranscribeWorker {
    type Context = SyncContext<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        crate::metrics::actor_started(crate::metrics::ACTOR_TRANSCRIBER);
        // Allocate the whisper state now so the first note does not pay for it.
        if let Err(e) = self.guarded(|w| w.transcriber().map(|_| Outcome::Silence)) {
            tracing::warn!(error = %e, "transcriber worker could not prepare its state");
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Balanced with `started` (a supervised restart calls both).
        crate::metrics::actor_stopped(crate::metrics::ACTOR_TRANSCRIBER);
    }
}

impl Handler<Transcribe> for TranscribeWorker {
    type Result = Result<Outcome, TranscribeError>;

    fn handle(&mut self, msg: Transcribe, _ctx: &mut Self::Context) -> Self::Result {
        self.guarded(|w| {
            w.transcriber()?
                .transcribe(&msg.audio, msg.language.as_deref())
        })
    }
}

#[cfg(feature = "faults")]
impl Handler<InjectPanic> for TranscribeWorker {
    type Result = Result<Outcome, TranscribeError>;

    fn handle(&mut self, _msg: InjectPanic, _ctx: &mut Self::Context) -> Self::Result {
        self.guarded(|_| panic!("injected panic"))
    }
}

/// Loads the model once and starts `workers` transcriber threads sharing it. `Ok(None)` when
/// no model is configured: the service then runs without transcription (logged once here).
/// Must be called inside a running actix `System`.
pub fn start_pool(
    s: &TranscribeSettings,
) -> Result<Option<Addr<TranscribeWorker>>, TranscribeError> {
    let Some(path) = s.model_path.as_ref().filter(|p| !p.as_os_str().is_empty()) else {
        tracing::info!("voice notes are not transcribed: no speech model is configured (B24WA_TRANSCRIBE_MODEL)");
        return Ok(None);
    };
    let model = Model::load(path)?;
    // Reject a bad language or limit now rather than on every note.
    drop(Transcriber::new(&model, s)?);
    let workers = s.workers.max(1);
    let settings = s.clone();
    tracing::info!(
        model = %path.display(),
        workers,
        threads = s.threads,
        language = %s.language,
        max_seconds = s.max_seconds,
        "transcriber pool started"
    );
    Ok(Some(SyncArbiter::start(workers, move || {
        TranscribeWorker::new(model.clone(), settings.clone())
    })))
}
