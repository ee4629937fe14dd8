//! whisper.cpp through whisper-rs: one model shared by every worker (`Model`, loaded once),
//! one decoding state per worker (`Engine`).

use std::collections::HashMap;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Once};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use super::audio::SAMPLE_RATE;
use super::TranscribeError;

/// Encoder positions per second of audio (1500 for 30 s).
const CTX_PER_SECOND: f32 = 50.0;

/// A transcript whisper itself rates at least this likely to hold no speech is taken as
/// silence (whisper invents words for noise).
pub const NO_SPEECH_ABOVE: f32 = 0.8;

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
    /// Flash attention in the encoder and decoder. Measured 4–10× slower (and erratic) on
    /// whisper.cpp 1.8.3's CPU backend for base on short notes, so off.
    pub flash_attn: bool,
    /// Retry at a higher temperature when greedy decoding fails (repetition, low confidence).
    pub temperature_fallback: bool,
    /// With language "auto": seconds from the start of the note used to detect it.
    pub detect_seconds: f32,
    /// Longer notes are transcribed in pieces of about this length, cut in pauses (0 = in
    /// 30 s windows).
    pub chunk_seconds: f32,
    /// With more than one thread: decode the pieces of a long note in parallel, one thread
    /// and one whisper state each, instead of one piece at a time on all threads.
    pub parallel_pieces: bool,
    /// Run every whisper pass on one ggml thread (parallelism only across lanes). ggml's
    /// threads meet at a spinning barrier after every operation: when another process (or
    /// another worker) holds a core, a two-thread pass waits out whole time slices there and
    /// runs 2-10× slower, while a one-thread pass just shares the core.
    pub single_thread_passes: bool,
    /// A note is spread over the lanes only if each piece gets at least this much audio.
    pub min_parallel_piece_seconds: f32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            audio_ctx: true,
            audio_ctx_margin: 64,
            audio_ctx_min: 256,
            flash_attn: false,
            temperature_fallback: true,
            detect_seconds: 10.0,
            chunk_seconds: 15.0,
            parallel_pieces: true,
            single_thread_passes: true,
            min_parallel_piece_seconds: 6.0,
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

/// One whisper decoding state and its parameters (one per thread that decodes).
struct Lane {
    model: Model,
    state: whisper_rs::WhisperState,
    /// Decoding parameters per language and thread count, built once: whisper-rs leaks the
    /// language string of every `set_language`, so it is set once per lane, not per note.
    params: HashMap<(&'static str, i32), FullParams<'static, 'static>>,
}

impl Lane {
    fn new(model: &Model) -> Result<Self, TranscribeError> {
        let state = model
            .ctx
            .create_state()
            .map_err(|e| TranscribeError::Whisper(format!("creating a state: {e}")))?;
        Ok(Self {
            model: model.clone(),
            state,
            params: HashMap::new(),
        })
    }

    /// Greedy decoding, one segment, no timestamps, nothing carried over between notes.
    fn params(&mut self, language: &'static str, threads: i32) -> FullParams<'static, 'static> {
        let fallback = self.model.tuning.temperature_fallback;
        self.params
            .entry((language, threads))
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
    fn detect_language(
        &mut self,
        samples: &[f32],
        threads: i32,
    ) -> Result<&'static str, TranscribeError> {
        let limit = (self.model.tuning.detect_seconds * SAMPLE_RATE as f32) as usize;
        let piece = &samples[..samples.len().min(limit.max(SAMPLE_RATE as usize))];
        let seconds = piece.len() as f32 / SAMPLE_RATE as f32;
        // A full() over 100 ms computes the mel spectrogram and sets the encoder window for
        // this state without encoding or decoding anything (whisper.cpp 1.8: the window is
        // set before the main loop, which stops when under 100 ms are left).
        let mut prime = self.params("en", threads);
        prime.set_audio_ctx(self.audio_ctx(seconds));
        prime.set_duration_ms(100);
        self.state
            .full(prime, piece)
            .map_err(|e| TranscribeError::Whisper(format!("preparing detection: {e}")))?;
        let (id, _probabilities) = self
            .state
            .lang_detect(0, threads as usize)
            .map_err(|e| TranscribeError::Whisper(format!("detecting the language: {e}")))?;
        whisper_rs::get_lang_str(id)
            .ok_or_else(|| TranscribeError::Whisper(format!("unknown language id {id}")))
    }

    /// One whisper pass over at most 30 s: the text and whisper's no-speech probability.
    fn run(
        &mut self,
        samples: &[f32],
        language: &'static str,
        threads: i32,
    ) -> Result<(String, f32), TranscribeError> {
        let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
        let mut params = self.params(language, threads);
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
        Ok((text.trim().to_string(), no_speech))
    }
}

type PieceResult = Result<(String, f32), TranscribeError>;

/// A piece of a note for a helper lane.
struct Job {
    index: usize,
    samples: Vec<f32>,
    language: &'static str,
    reply: mpsc::Sender<(usize, PieceResult)>,
}

/// A helper thread with a lane of its own: decodes pieces of long notes in parallel with the
/// worker's own lane, one thread each (no ggml barriers between them).
struct Helper {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Helper {
    fn spawn(model: &Model, n: usize) -> Result<Self, TranscribeError> {
        let mut lane = Lane::new(model)?;
        let model = model.clone();
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(format!("whisper-helper-{n}"))
            .spawn(move || {
                for job in rx {
                    let result =
                        catch_unwind(AssertUnwindSafe(|| lane.run(&job.samples, job.language, 1)))
                            .unwrap_or_else(|panic| {
                                // The state may be broken: start over with a fresh one.
                                if let Ok(fresh) = Lane::new(&model) {
                                    lane = fresh;
                                }
                                Err(TranscribeError::Crashed(panic_text(&*panic)))
                            });
                    // The worker may have given up on this note; nothing to do then.
                    let _ = job.reply.send((job.index, result));
                }
            })
            .map_err(|e| TranscribeError::Whisper(format!("starting a helper thread: {e}")))?;
        Ok(Self {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the piece it is on.
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits for the helpers' pieces.
fn collect(
    (replies, sent): (mpsc::Receiver<(usize, PieceResult)>, usize),
    slots: &mut Slots,
) -> Result<(), TranscribeError> {
    for _ in 0..sent {
        let (index, result) = replies
            .recv()
            .map_err(|_| TranscribeError::Crashed("a helper thread is gone".into()))?;
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(result);
        }
    }
    Ok(())
}

pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// One worker's transcription engine over the shared model: its own whisper state, plus
/// `threads - 1` helper lanes (threads with a state of their own).
pub struct Engine {
    lane: Lane,
    helpers: Vec<Helper>,
    /// The language of a note that comes without one; `None` = detect.
    language: Option<&'static str>,
    threads: i32,
    /// The language last detected: with "auto", helper lanes start decoding in it while the
    /// detection runs, and redo their pieces only when the detection disagrees.
    last_detected: Option<&'static str>,
}

/// Results of a note's pieces, by piece.
type Slots = Vec<Option<PieceResult>>;

impl Engine {
    /// `language`: "auto" or a code whisper knows ("ru", "en", …), for notes transcribed
    /// without a language of their own. An English-only model always transcribes English.
    /// `threads`: the cores one note may use.
    pub fn new(model: &Model, language: &str, threads: usize) -> Result<Self, TranscribeError> {
        let language = resolve_language(model, language)?;
        let threads = threads.clamp(1, 64);
        let lane = Lane::new(model)?;
        let helpers = if model.tuning.parallel_pieces {
            (1..threads)
                .map(|n| Helper::spawn(model, n))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            lane,
            helpers,
            language,
            threads: threads as i32,
            last_detected: None,
        })
    }

    /// Transcribes 16 kHz mono audio.
    ///
    /// A note longer than `chunk_seconds` is cut in pauses into pieces (as many as there are
    /// lanes, or a multiple), each encoded with a window of its own length: whisper's encoder
    /// costs more than linearly in its window. Pieces go round-robin to the lanes, one ggml
    /// thread each, so no time goes to ggml's barriers. With language "auto", the language
    /// is detected once per note on our lane while the helpers already decode their pieces
    /// in the language detected last (a one-piece note goes to a helper then); a helper's
    /// piece is redone only if the guess was wrong.
    ///
    /// `language`: this note's language ("ru", "en", "auto"), `None` = the engine's own; a
    /// code whisper does not know is logged and the engine's own used instead.
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        language: Option<&str>,
    ) -> Result<Heard, TranscribeError> {
        let fixed = self.language_of_note(language);
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
        let pieces = self.pieces(samples);
        let lanes = self.helpers.len() + 1;
        let mut slots: Slots = (0..pieces.len()).map(|_| None).collect();
        let language = match fixed {
            Some(code) => {
                let sent = self.dispatch(samples, &pieces, code, 0)?;
                self.run_own(samples, &pieces, code, 0, &mut slots, sent.1 > 0);
                collect(sent, &mut slots)?;
                code
            }
            None if lanes == 1 => {
                let detected = self.lane.detect_language(samples, self.pass_threads())?;
                self.run_own(samples, &pieces, detected, 0, &mut slots, false);
                detected
            }
            None => {
                let guess = self.last_detected.unwrap_or("en");
                // A lone piece goes to a helper, so that it decodes while we detect.
                let offset = usize::from(pieces.len() == 1);
                let sent = self.dispatch(samples, &pieces, guess, offset)?;
                let detected = self.lane.detect_language(samples, 1)?;
                self.last_detected = Some(detected);
                self.run_own(samples, &pieces, detected, offset, &mut slots, true);
                if detected == guess {
                    collect(sent, &mut slots)?;
                } else if pieces.len() == 1 {
                    // Our lane is free now: redo the piece here, the helper's is dropped.
                    slots[0] = Some(self.lane.run(samples, detected, 1));
                } else {
                    collect(sent, &mut slots)?;
                    let redo = self.dispatch(samples, &pieces, detected, offset)?;
                    collect(redo, &mut slots)?;
                }
                detected
            }
        };
        let several = slots.len() > 1;
        let mut text = String::new();
        let mut no_speech = 1.0f32;
        for slot in slots {
            let (piece, piece_no_speech) =
                slot.unwrap_or_else(|| Err(TranscribeError::Whisper("a piece was lost".into())))?;
            // A piece whisper rates as no speech is noise it would invent words for.
            if piece.is_empty() || (several && piece_no_speech > NO_SPEECH_ABOVE) {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&piece);
            no_speech = no_speech.min(piece_no_speech);
        }
        Ok(Heard {
            text,
            language: language.to_string(),
            no_speech,
        })
    }

    /// The fixed language for a note (`None` = detect): its own when it has a usable one.
    fn language_of_note(&self, hint: Option<&str>) -> Option<&'static str> {
        let Some(code) = hint else {
            return self.language;
        };
        match resolve_language(&self.lane.model, code) {
            Ok(language) => language,
            Err(e) => {
                tracing::warn!(language = code, error = %e, "note's language not usable; using the configured one");
                self.language
            }
        }
    }

    /// ggml threads for a pass that has the engine to itself (detection, a one-piece note).
    fn pass_threads(&self) -> i32 {
        if self.lane.model.tuning.single_thread_passes {
            1
        } else {
            self.threads
        }
    }

    /// The lane of piece `index`: 0 is ours, 1.. the helpers'.
    fn lane_of(&self, index: usize, offset: usize) -> usize {
        (index + offset) % (self.helpers.len() + 1)
    }

    /// Queues the helpers' pieces; returns where their results arrive and how many.
    fn dispatch(
        &self,
        samples: &[f32],
        pieces: &[Range<usize>],
        language: &'static str,
        offset: usize,
    ) -> Result<(mpsc::Receiver<(usize, PieceResult)>, usize), TranscribeError> {
        let (reply, replies) = mpsc::channel();
        let mut sent = 0;
        for (index, range) in pieces.iter().enumerate() {
            let lane = self.lane_of(index, offset);
            if lane == 0 {
                continue;
            }
            let job = Job {
                index,
                samples: samples[range.clone()].to_vec(),
                language,
                reply: reply.clone(),
            };
            let queued = self.helpers[lane - 1]
                .jobs
                .as_ref()
                .is_some_and(|q| q.send(job).is_ok());
            if !queued {
                return Err(TranscribeError::Crashed("a helper thread is gone".into()));
            }
            sent += 1;
        }
        Ok((replies, sent))
    }

    /// Decodes our lane's pieces (one ggml thread when helpers work alongside).
    fn run_own(
        &mut self,
        samples: &[f32],
        pieces: &[Range<usize>],
        language: &'static str,
        offset: usize,
        slots: &mut Slots,
        helpers_busy: bool,
    ) {
        let threads = if helpers_busy { 1 } else { self.pass_threads() };
        for (index, range) in pieces.iter().enumerate() {
            if self.lane_of(index, offset) == 0 {
                slots[index] = Some(self.lane.run(&samples[range.clone()], language, threads));
            }
        }
    }

    /// The pieces a note is transcribed in (see `transcribe`).
    fn pieces(&self, samples: &[f32]) -> Vec<Range<usize>> {
        let tuning = &self.lane.model.tuning;
        let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
        // At most 30 s per piece (whisper's window) in any case.
        let target = if tuning.chunk_seconds > 0.0 {
            tuning.chunk_seconds.min(30.0)
        } else {
            30.0
        };
        let mut parts = if seconds <= target * 1.25 {
            1
        } else {
            (seconds / target).ceil() as usize
        };
        let lanes = self.helpers.len() + 1;
        if lanes > 1 && seconds >= tuning.min_parallel_piece_seconds * lanes as f32 {
            // Keep every lane busy.
            parts = parts.div_ceil(lanes) * lanes;
        }
        if parts <= 1 {
            return std::iter::once(0..samples.len()).collect();
        }
        let search = (seconds / parts as f32 / 4.0).min(2.0);
        let mut cuts = super::audio::split_points(samples, parts, search);
        cuts.push(samples.len());
        let mut start = 0;
        cuts.into_iter()
            .filter_map(|end| {
                let range = start..end;
                start = end;
                (!range.is_empty()).then_some(range)
            })
            .collect()
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
