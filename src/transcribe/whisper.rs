//! whisper.cpp through whisper-rs: one model shared by every worker (`Model`, loaded once),
//! one decoding state per worker (`Engine`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use super::audio::SAMPLE_RATE;
use super::TranscribeError;

/// Encoder positions per second of audio (1500 for 30 s).
const CTX_PER_SECOND: f32 = 50.0;

/// Knobs that trade speed for accuracy; the defaults are what the benchmark chose.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Shrink the encoder window to the note's length (plus `audio_ctx_margin` positions)
    /// instead of always encoding 30 s. Off: always 1500.
    pub audio_ctx: bool,
    /// Extra encoder positions beyond the audio (50 per second).
    pub audio_ctx_margin: i32,
    /// Smallest encoder window (very short notes transcribe badly on tiny windows).
    pub audio_ctx_min: i32,
    /// Flash attention in the encoder and decoder.
    pub flash_attn: bool,
    /// Retry at a higher temperature when greedy decoding fails (repetition, low confidence).
    pub temperature_fallback: bool,
    /// With language "auto": seconds from the start of the note used to detect it.
    pub detect_seconds: f32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            audio_ctx: true,
            audio_ctx_margin: 64,
            audio_ctx_min: 256,
            flash_attn: true,
            temperature_fallback: true,
            detect_seconds: 10.0,
        }
    }
}

/// A loaded whisper model, shared (cheaply cloned) by all workers.
#[derive(Clone)]
pub struct Model {
    ctx: Arc<WhisperContext>,
    path: PathBuf,
    multilingual: bool,
    tuning: Tuning,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("multilingual", &self.multilingual)
            .finish()
    }
}

static LOG_HOOKS: Once = Once::new();

/// whisper.cpp and ggml log through `tracing` (targets `whisper_rs::…`), not to stderr.
pub fn install_logging() {
    LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
}

impl Model {
    /// Loads the model file once; every worker then shares it.
    pub fn load(path: &Path) -> Result<Self, TranscribeError> {
        Self::load_tuned(path, Tuning::default())
    }

    pub fn load_tuned(path: &Path, tuning: Tuning) -> Result<Self, TranscribeError> {
        install_logging();
        let meta = std::fs::metadata(path).map_err(|e| TranscribeError::ModelMissing {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !meta.is_file() {
            return Err(TranscribeError::ModelMissing {
                path: path.to_path_buf(),
                reason: "not a file".into(),
            });
        }
        let started = Instant::now();
        let mut params = WhisperContextParameters::default();
        params.use_gpu(false).flash_attn(tuning.flash_attn);
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| {
            TranscribeError::ModelUnloadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        let multilingual = ctx.is_multilingual();
        tracing::info!(
            path = %path.display(),
            multilingual,
            ms = started.elapsed().as_millis() as u64,
            "speech model loaded"
        );
        Ok(Self {
            ctx: Arc::new(ctx),
            path: path.to_path_buf(),
            multilingual,
            tuning,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }
}

/// What whisper heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub text: String,
    /// ISO 639-1 code (detected, or the fixed one).
    pub language: String,
    /// whisper's probability that the window holds no speech.
    pub no_speech: f32,
}

/// One worker's decoding state over the shared model.
pub struct Engine {
    model: Model,
    state: whisper_rs::WhisperState,
    /// `None` = detect.
    language: Option<&'static str>,
    threads: i32,
    /// Decoding parameters per language, built once: whisper-rs leaks the language string of
    /// every `set_language`, so each language is set once per worker, not once per note.
    params: HashMap<&'static str, FullParams<'static, 'static>>,
}

impl Engine {
    /// `language`: "auto" or a code whisper knows ("ru", "en", …). An English-only model
    /// always transcribes English.
    pub fn new(model: &Model, language: &str, threads: usize) -> Result<Self, TranscribeError> {
        let language = resolve_language(model, language)?;
        let state = model
            .ctx
            .create_state()
            .map_err(|e| TranscribeError::Whisper(format!("creating a state: {e}")))?;
        Ok(Self {
            model: model.clone(),
            state,
            language,
            threads: threads.clamp(1, 64) as i32,
            params: HashMap::new(),
        })
    }

    /// Greedy decoding, one segment, no timestamps, nothing carried over between notes.
    fn params(&mut self, language: &'static str) -> FullParams<'static, 'static> {
        let threads = self.threads;
        let fallback = self.model.tuning.temperature_fallback;
        self.params
            .entry(language)
            .or_insert_with(|| {
                let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
                p.set_n_threads(threads);
                // Each note stands alone: no text from the previous one (another chat's).
                p.set_no_context(true);
                p.set_no_timestamps(true);
                p.set_single_segment(true);
                p.set_suppress_blank(true);
                p.set_suppress_nst(true);
                p.set_print_progress(false);
                p.set_print_realtime(false);
                p.set_print_special(false);
                p.set_print_timestamps(false);
                p.set_token_timestamps(false);
                if !fallback {
                    p.set_temperature_inc(0.0);
                }
                p.set_language(Some(language));
                p
            })
            .clone()
    }

    fn audio_ctx(&self, seconds: f32) -> i32 {
        if self.model.tuning.audio_ctx {
            audio_ctx_for(seconds, &self.model.tuning)
        } else {
            0
        }
    }

    /// Detects the language on the first `detect_seconds` of the note with an encoder window
    /// of that length. (whisper.cpp's own "auto" encodes with the window of the previous call,
    /// 30 s on the first one, before encoding again for the transcript.)
    fn detect_language(&mut self, samples: &[f32]) -> Result<&'static str, TranscribeError> {
        let limit = (self.model.tuning.detect_seconds * SAMPLE_RATE as f32) as usize;
        let piece = &samples[..samples.len().min(limit.max(SAMPLE_RATE as usize))];
        let seconds = piece.len() as f32 / SAMPLE_RATE as f32;
        // A full() over 100 ms computes the mel spectrogram and sets the encoder window for
        // this state without encoding or decoding anything (whisper.cpp 1.8: the window is
        // set before the main loop, which stops when under 100 ms are left).
        let mut prime = self.params("en");
        prime.set_audio_ctx(self.audio_ctx(seconds));
        prime.set_duration_ms(100);
        self.state
            .full(prime, piece)
            .map_err(|e| TranscribeError::Whisper(format!("preparing detection: {e}")))?;
        let (id, _probabilities) = self
            .state
            .lang_detect(0, self.threads as usize)
            .map_err(|e| TranscribeError::Whisper(format!("detecting the language: {e}")))?;
        whisper_rs::get_lang_str(id)
            .ok_or_else(|| TranscribeError::Whisper(format!("unknown language id {id}")))
    }

    /// Transcribes 16 kHz mono audio (beyond 30 s, in 30 s windows).
    pub fn transcribe(&mut self, samples: &[f32]) -> Result<Heard, TranscribeError> {
        // whisper.cpp ignores input under 100 ms; pad very short notes with silence.
        let min_len = SAMPLE_RATE as usize / 2;
        let padded;
        let samples = if samples.len() < min_len {
            padded = {
                let mut v = samples.to_vec();
                v.resize(min_len, 0.0);
                v
            };
            &padded[..]
        } else {
            samples
        };
        let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
        let language = match self.language {
            Some(code) => code,
            None => self.detect_language(samples)?,
        };
        let mut params = self.params(language);
        params.set_audio_ctx(self.audio_ctx(seconds));
        self.state
            .full(params, samples)
            .map_err(|e| TranscribeError::Whisper(e.to_string()))?;

        let mut text = String::new();
        let mut no_speech = 0.0f32;
        for segment in self.state.as_iter() {
            let piece = segment
                .to_str_lossy()
                .map_err(|e| TranscribeError::Whisper(e.to_string()))?;
            text.push_str(&piece);
            no_speech = no_speech.max(segment.no_speech_probability());
        }
        Ok(Heard {
            text: text.trim().to_string(),
            language: language.to_string(),
            no_speech,
        })
    }
}

/// Encoder window (positions, 50 per second) for a note of `seconds`.
pub fn audio_ctx_for(seconds: f32, tuning: &Tuning) -> i32 {
    let needed = (seconds * CTX_PER_SECOND).ceil() as i32 + tuning.audio_ctx_margin;
    // Multiples of 64 keep ggml's matrix shapes friendly.
    let rounded = (needed + 63) / 64 * 64;
    rounded.clamp(tuning.audio_ctx_min, 1500)
}

fn resolve_language(
    model: &Model,
    language: &str,
) -> Result<Option<&'static str>, TranscribeError> {
    let language = language.trim().to_ascii_lowercase();
    if !model.multilingual {
        return Ok(Some("en"));
    }
    if language.is_empty() || language == "auto" {
        return Ok(None);
    }
    if !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(TranscribeError::Config(format!(
            "unknown language {language:?}"
        )));
    }
    // A code whisper knows; map it to its own static string.
    let id = whisper_rs::get_lang_id(&language)
        .ok_or_else(|| TranscribeError::Config(format!("unknown language {language:?}")))?;
    whisper_rs::get_lang_str(id)
        .map(Some)
        .ok_or_else(|| TranscribeError::Config(format!("unknown language {language:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoder_window_follows_the_note() {
        let t = Tuning::default();
        // 50 positions a second, plus the margin, in multiples of 64, at least the minimum.
        assert_eq!(audio_ctx_for(0.3, &t), t.audio_ctx_min);
        assert_eq!(audio_ctx_for(5.0, &t), 320);
        assert_eq!(audio_ctx_for(10.0, &t), 576);
        assert_eq!(audio_ctx_for(29.0, &t), 1500);
        assert_eq!(audio_ctx_for(120.0, &t), 1500);
    }
}
