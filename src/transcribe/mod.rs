//! Local speech-to-text for voice notes: decode (OGG/Opus or WAV → 16 kHz mono, in-process),
//! check length and loudness, then whisper.cpp (whisper-rs) on a model loaded once.
//!
//! The caller turns an [`Outcome`] into what the operator sees (a transcript, or a short note
//! saying why there is none). The actor pool around this lives in `actors::transcriber`.

pub mod audio;
pub mod numbers;
pub mod signal;
pub mod wer;
pub mod whisper;

use std::path::PathBuf;
use std::time::Instant;

pub use audio::{AudioError, Pcm};
pub use whisper::{Engine, Heard, Model, Tuning};

/// What became of one voice note.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The transcript, and the language it is in (ISO 639-1, detected or configured).
    Text { text: String, language: String },
    /// Longer than the limit: not transcribed.
    TooLong { seconds: f32 },
    /// Nothing but silence (or noise whisper found no words in).
    Silence,
    /// Not audio we can decode (corrupt, truncated, not OGG/Opus or WAV).
    Undecodable { reason: String },
}

/// The language whisper is told a note from a portal is spoken in: the portal's Bitrix24
/// language id (`ru`, `ua`, `kz`, … from bitrix24-crm.md §4) as ISO 639-1
/// ([`crate::i18n::iso_of_bitrix24`]: `ua` → `uk`, `kz` → `kk`, …); `None` for an id that is
/// no language code (the note's language is then detected).
pub fn speech_language(bitrix24_id: &str) -> Option<String> {
    let code = crate::i18n::iso_of_bitrix24(bitrix24_id);
    (code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())).then_some(code)
}

/// How transcription runs (from `config::Settings::transcribe`).
#[derive(Debug, Clone)]
pub struct TranscribeSettings {
    /// The ggml model file; `None` = transcription is off.
    pub model_path: Option<PathBuf>,
    /// "auto" (detect) or a fixed language code such as "ru": the language of a note whose
    /// request carries no hint (see [`Transcriber::transcribe`]).
    pub language: String,
    /// Each note is transcribed in its portal's language ([`speech_language`]) when that is
    /// known (`B24WA_TRANSCRIBE_LANGUAGE=portal`, the default); `language` otherwise.
    pub follow_portal: bool,
    /// Threads one note may use: each is a whisper lane (a thread with its own whisper state,
    /// ~90 MB for base); a note of 12 s or more is cut into pieces decoded on the lanes in
    /// parallel, one ggml thread each.
    pub threads: usize,
    /// Notes transcribed at once (each worker has `threads` lanes). Memory is about 110 MB
    /// (model and runtime) + 90 MB × workers × threads.
    pub workers: usize,
    /// Longer notes are not transcribed (30 by default; whisper works in 30 s windows).
    pub max_seconds: f32,
}

impl Default for TranscribeSettings {
    fn default() -> Self {
        Self {
            model_path: None,
            language: "auto".into(),
            follow_portal: false,
            threads: 2,
            workers: 1,
            max_seconds: 30.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("speech model {path} is missing: {reason}")]
    ModelMissing { path: PathBuf, reason: String },
    #[error("speech model {path} cannot be loaded: {reason}")]
    ModelUnloadable { path: PathBuf, reason: String },
    #[error("transcription is misconfigured: {0}")]
    Config(String),
    #[error("whisper failed: {0}")]
    Whisper(String),
    #[error("the transcriber crashed: {0}")]
    Crashed(String),
    #[error("no transcriber is available: {0}")]
    Unavailable(String),
}

/// One worker: decodes, checks, and runs its own whisper state over the shared model.
pub struct Transcriber {
    engine: Engine,
    max_seconds: f32,
}

impl Transcriber {
    pub fn new(model: &Model, settings: &TranscribeSettings) -> Result<Self, TranscribeError> {
        // Notes past 30 s are transcribed in 30 s windows; the service's default limit is 30.
        if settings.max_seconds.is_nan()
            || settings.max_seconds <= 0.0
            || settings.max_seconds > 600.0
        {
            return Err(TranscribeError::Config(format!(
                "max_seconds must be in (0, 600], not {}",
                settings.max_seconds
            )));
        }
        Ok(Self {
            engine: Engine::new(model, &settings.language, settings.threads)?,
            max_seconds: settings.max_seconds,
        })
    }

    /// The outcome for one voice note's bytes. `Err` only when whisper itself fails.
    ///
    /// `language`: the note's language when the caller knows it (an ISO 639-1 code such as
    /// "ru" or "en", e.g. the portal's language; "auto" = detect), `None` = the configured
    /// `language`. A code whisper does not know falls back to the configured one (logged).
    pub fn transcribe(
        &mut self,
        bytes: &[u8],
        language: Option<&str>,
    ) -> Result<Outcome, TranscribeError> {
        let started = Instant::now();
        let pcm = match audio::decode_voice_limited(bytes, self.max_seconds) {
            Ok(audio::Decoded::Audio(pcm)) => pcm,
            Ok(audio::Decoded::TooLong { seconds }) => return Ok(Outcome::TooLong { seconds }),
            Err(e) => {
                return Ok(Outcome::Undecodable {
                    reason: e.to_string(),
                })
            }
        };
        let decoded_ms = started.elapsed().as_millis() as u64;
        let voiced = audio::voiced_range(&pcm.samples, audio::SILENCE_RMS, 0.3);
        if voiced.is_empty() {
            tracing::debug!(seconds = pcm.seconds, "voice note is silent");
            return Ok(Outcome::Silence);
        }
        let heard = self
            .engine
            .transcribe(&pcm.samples[voiced.clone()], language)?;
        tracing::debug!(
            seconds = pcm.seconds,
            voiced_seconds = voiced.len() as f32 / audio::SAMPLE_RATE as f32,
            decoded_ms,
            total_ms = started.elapsed().as_millis() as u64,
            language = %heard.language,
            no_speech = heard.no_speech,
            "voice note transcribed"
        );
        if heard.text.is_empty() || heard.no_speech > whisper::NO_SPEECH_ABOVE {
            return Ok(Outcome::Silence);
        }
        Ok(Outcome::Text {
            text: heard.text,
            language: heard.language,
        })
    }
}

#[cfg(test)]
mod speech_language_tests {
    use super::speech_language;

    #[test]
    fn bitrix24_ids_become_whisper_codes() {
        for (id, code) in [
            ("ru", Some("ru")),
            ("EN", Some("en")),
            ("ua", Some("uk")),
            ("kz", Some("kk")),
            ("by", Some("be")),
            ("br", Some("pt")),
            ("la", Some("es")),
            ("tc", Some("zh")),
            ("", None),
            ("russian", None),
            ("r1", None),
        ] {
            assert_eq!(speech_language(id).as_deref(), code, "{id}");
        }
    }
}
