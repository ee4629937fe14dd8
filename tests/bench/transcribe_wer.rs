//! Accuracy half of `make bench-transcribe`: word error rate of every available model on
//! Russian and English voice notes, with the language fixed (as a portal's language fixes it)
//! and detected, and the wall time of a ~30 s note.
//!
//! Corpus: `tests/fixtures/voice/wer/{ru,en}.txt` (everyday customer sentences, one per line)
//! and `{ru,en}-notes.txt` (three 27-29 s notes each), spoken by Festival's Russian voice and
//! espeak-ng's English (`scripts/speech/say.sh lines`, OGG/Opus at 16 kbit/s like a WhatsApp
//! note; made once into target/bench-transcribe/wer/ and kept while the texts are unchanged).
//! The reference is the text that was spoken. Every note goes through the service's whole path
//! (`Transcriber`: decode, silence check, whisper on 2 threads) with the language hint "ru"/"en"
//! (fixed) or none on a transcriber configured "auto" (detected).
//!
//! Reported WER (`bench transcribe_wer_<lang>_<model>[_detect]`) is the corpus's word errors
//! over its reference words with numbers in digits spelled out (`wer::Normalization::
//! SpelledNumbers`); `transcribe_wer_raw_…` without that. Transcripts go to
//! target/bench-transcribe/wer/<model>-<lang>-<mode>.tsv (reference, transcript, errors).
//!
//! Environment: B24WA_BENCH_WER (1; 0 skips this half), B24WA_BENCH_WER_MODELS (a comma list of
//! label=path, default every model `make model`/`make model-tiny` makes, missing files skipped
//! with a note), B24WA_BENCH_THREADS (2), B24WA_BENCH_WER_RUNS (3: timed runs of the 30 s note).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{env_or, median};
use b24wa::transcribe::numbers::NumberLanguage;
use b24wa::transcribe::wer::{self, Normalization, Score};
use b24wa::transcribe::{Model, Outcome, TranscribeSettings, Transcriber};

/// The rule for the service's default model: the most accurate (Russian WER, language fixed)
/// whose 30 s note stays under this many seconds on 2 threads.
pub const DEFAULT_RULE_MAX_SECONDS: f64 = 3.0;

/// WERs closer than this (percentage points) are a tie: about three words of the Russian
/// corpus, less than one sentence, which it cannot tell apart. A tie goes to English WER
/// (same margin), then to the smaller model file (less memory per worker).
pub const DEFAULT_RULE_TIE_PP: f64 = 1.0;

/// The models measured unless B24WA_BENCH_WER_MODELS says otherwise (label, path, note when
/// missing). Whisper small is listed so its absence is reported: PyPI has no complete copy.
const MODELS: [(&str, &str, &str); 6] = [
    ("base_f16", "models/ggml-base.bin", "make model"),
    ("base_q8_0", "models/ggml-base-q8_0.bin", "make model"),
    (
        "small_q8_0",
        "models/ggml-small-q8_0.bin",
        "make model MODEL=small",
    ),
    (
        "small_f16",
        "models/ggml-small.bin",
        "make model MODEL=small",
    ),
    ("tiny_en_f16", "models/ggml-tiny.en.bin", "make model-tiny"),
    (
        "tiny_en_q8_0",
        "models/ggml-tiny.en-q8_0.bin",
        "make model-tiny",
    ),
];

const LANGS: [&str; 2] = ["ru", "en"];

struct Clip {
    /// "sentence 03", "note 2".
    name: String,
    reference: String,
    bytes: Vec<u8>,
    seconds: f64,
    note: bool,
}

/// What one model did on one language in one mode.
struct Pass {
    spelled: Score,
    plain: Score,
    /// Spelled-out WER of the sentences and of the long notes apart.
    sentences: Score,
    notes: Score,
    wrong_language: usize,
    clips: usize,
    /// Wall time of each long note.
    note_walls: Vec<f64>,
    seconds: f64,
}

struct ModelResult {
    label: String,
    multilingual: bool,
    /// (lang, detect) → pass.
    passes: Vec<(&'static str, bool, Pass)>,
    /// lang → median wall time of the longest note (language fixed), its CPU time (all
    /// threads) and its length.
    walls_30s: Vec<(&'static str, f64, f64, f64)>,
    /// The model file's size in bytes.
    bytes: u64,
}

impl ModelResult {
    fn pass(&self, lang: &str, detect: bool) -> Option<&Pass> {
        self.passes
            .iter()
            .find(|(l, d, _)| *l == lang && *d == detect)
            .map(|(_, _, p)| p)
    }

    fn wall_30s(&self, lang: &str) -> Option<f64> {
        self.walls_30s
            .iter()
            .find(|(l, _, _, _)| *l == lang)
            .map(|(_, w, _, _)| *w)
    }
}

fn lines_of(path: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Speaks every line of `texts` into `dir` (say.sh lines) and reads the notes back.
fn speak(
    root: &Path,
    lang: &str,
    texts: &Path,
    dir: &Path,
    note: bool,
) -> Result<Vec<Clip>, String> {
    let references = lines_of(texts)?;
    let out = Command::new("bash")
        .arg(root.join("scripts/speech/say.sh"))
        .args(["--bitrate", "16", "lines", lang])
        .arg(texts)
        .arg(dir)
        .output()
        .map_err(|e| format!("running say.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "say.sh lines {lang} failed (needs espeak-ng, festival + festvox-ru, sox, opus-tools): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // "DIR/NN.ogg <seconds>" per line, in order.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let made: Vec<(PathBuf, f64)> = stdout
        .lines()
        .filter_map(|l| {
            let (path, secs) = l.rsplit_once(' ')?;
            Some((PathBuf::from(path), secs.parse().ok()?))
        })
        .collect();
    if made.len() != references.len() {
        return Err(format!(
            "say.sh made {} notes for {} lines of {}",
            made.len(),
            references.len(),
            texts.display()
        ));
    }
    references
        .into_iter()
        .zip(made)
        .enumerate()
        .map(|(i, (reference, (path, seconds)))| {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Clip {
                name: if note {
                    format!("note {}", i + 1)
                } else {
                    format!("sentence {:02}", i + 1)
                },
                reference,
                bytes,
                seconds,
                note,
            })
        })
        .collect()
}

fn corpus(root: &Path, lang: &str) -> Result<Vec<Clip>, String> {
    let fixtures = root.join("tests/fixtures/voice/wer");
    let dir = root.join("target/bench-transcribe/wer").join(lang);
    let mut clips = speak(
        root,
        lang,
        &fixtures.join(format!("{lang}.txt")),
        &dir.join("sentences"),
        false,
    )?;
    clips.extend(speak(
        root,
        lang,
        &fixtures.join(format!("{lang}-notes.txt")),
        &dir.join("notes"),
        true,
    )?);
    Ok(clips)
}

fn run_pass(
    t: &mut Transcriber,
    clips: &[Clip],
    lang: &'static str,
    detect: bool,
    log: &Path,
) -> Result<Pass, String> {
    let numbers = NumberLanguage::from_code(lang).ok_or("no number words for the language")?;
    let mut pass = Pass {
        spelled: Score::default(),
        plain: Score::default(),
        sentences: Score::default(),
        notes: Score::default(),
        wrong_language: 0,
        clips: clips.len(),
        note_walls: Vec::new(),
        seconds: 0.0,
    };
    let mut tsv = String::from("clip\treference\ttranscript\tlanguage\terrors\twords\tseconds\n");
    let started = Instant::now();
    for clip in clips {
        let hint = if detect { None } else { Some(lang) };
        let t0 = Instant::now();
        let outcome = t.transcribe(&clip.bytes, hint).map_err(|e| e.to_string())?;
        let wall = t0.elapsed().as_secs_f64();
        let (text, language) = match outcome {
            Outcome::Text { text, language } => (text, language),
            // Scored as an empty transcript: every word missed.
            other => (String::new(), format!("{other:?}")),
        };
        if language != lang {
            pass.wrong_language += 1;
        }
        let spelled = wer::score(
            &clip.reference,
            &text,
            Normalization::SpelledNumbers(numbers),
        );
        pass.spelled.add(spelled);
        pass.plain
            .add(wer::score(&clip.reference, &text, Normalization::Plain));
        if clip.note {
            pass.notes.add(spelled);
            pass.note_walls.push(wall);
        } else {
            pass.sentences.add(spelled);
        }
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}\t{}\t{:.2}",
            clip.name,
            clip.reference,
            text.replace(['\t', '\n'], " "),
            language,
            spelled.errors,
            spelled.words,
            wall
        );
    }
    pass.seconds = started.elapsed().as_secs_f64();
    std::fs::write(log, tsv).map_err(|e| format!("{}: {e}", log.display()))?;
    Ok(pass)
}

fn measure(
    root: &Path,
    label: &str,
    path: &Path,
    corpora: &[(&'static str, Vec<Clip>)],
    threads: usize,
    runs: usize,
) -> Result<ModelResult, String> {
    let model = Model::load(path).map_err(|e| e.to_string())?;
    let multilingual = model.is_multilingual();
    let settings = TranscribeSettings {
        model_path: Some(path.to_path_buf()),
        // No hint = detect; the fixed passes send the language with each note.
        language: "auto".into(),
        follow_portal: false,
        threads,
        workers: 1,
        max_seconds: 30.0,
    };
    let mut t = Transcriber::new(&model, &settings).map_err(|e| e.to_string())?;
    let mut result = ModelResult {
        label: label.to_string(),
        multilingual,
        passes: Vec::new(),
        walls_30s: Vec::new(),
        bytes: std::fs::metadata(path).map_or(u64::MAX, |m| m.len()),
    };
    let logs = root.join("target/bench-transcribe/wer");
    for (lang, clips) in corpora {
        // An English-only model has nothing to say about Russian, and nothing to detect.
        if !multilingual && *lang != "en" {
            continue;
        }
        let modes: &[bool] = if multilingual {
            &[false, true]
        } else {
            &[false]
        };
        for &detect in modes {
            let mode = if detect { "detect" } else { "fixed" };
            eprintln!(
                "bench-transcribe: {label} {lang} {mode} ({} notes)",
                clips.len()
            );
            let log = logs.join(format!("{label}-{lang}-{mode}.tsv"));
            let pass = run_pass(&mut t, clips, lang, detect, &log)?;
            result.passes.push((lang, detect, pass));
        }
        // The longest note, language fixed, after the passes above warmed everything up.
        let longest = clips
            .iter()
            .filter(|c| c.note)
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .ok_or("no long note")?;
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        for _ in 0..runs {
            let (t0, c0) = (Instant::now(), cpu_seconds());
            t.transcribe(&longest.bytes, Some(lang))
                .map_err(|e| e.to_string())?;
            walls.push(t0.elapsed().as_secs_f64());
            cpus.push(cpu_seconds() - c0);
        }
        result
            .walls_30s
            .push((lang, median(walls), median(cpus), longest.seconds));
    }
    Ok(result)
}

/// CPU time of this process so far (user + system, all threads), from /proc/self/stat: on a
/// busy machine it shows what a note costs when the wall time is stretched by others.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// The 1-minute load average, as /proc/loadavg has it ("?" elsewhere).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn pct(s: &Score) -> f64 {
    s.rate() * 100.0
}

/// Runs the accuracy benchmark and prints its table and `bench` lines.
pub fn run(root: &Path) -> Result<(), String> {
    if env_or("B24WA_BENCH_WER", 1u8) == 0 {
        return Ok(());
    }
    let threads: usize = env_or("B24WA_BENCH_THREADS", 2usize).max(1);
    let runs: usize = env_or("B24WA_BENCH_WER_RUNS", 3usize).max(1);
    let wanted: Vec<(String, PathBuf, String)> = match std::env::var("B24WA_BENCH_WER_MODELS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .filter_map(|item| {
                let (label, path) = item.trim().split_once('=')?;
                Some((label.to_string(), root.join(path), String::new()))
            })
            .collect(),
        _ => MODELS
            .iter()
            .map(|(l, p, how)| (l.to_string(), root.join(p), how.to_string()))
            .collect(),
    };
    let mut missing = Vec::new();
    let models: Vec<(String, PathBuf)> = wanted
        .into_iter()
        .filter_map(|(label, path, how)| {
            if path.is_file() {
                Some((label, path))
            } else {
                missing.push(format!("{label} ({}: {how})", path.display()));
                None
            }
        })
        .collect();

    let load_before = load_average();
    let mut corpora = Vec::new();
    for lang in LANGS {
        corpora.push((lang, corpus(root, lang)?));
    }
    let mut results = Vec::new();
    for (label, path) in &models {
        results.push(measure(root, label, path, &corpora, threads, runs)?);
    }

    let load_after = load_average();
    println!();
    println!(
        "word error rate, {threads} threads, numbers spelled out (raw: as written); \
         Festival ru / espeak-ng en, OGG/Opus 16 kbit/s"
    );
    // Wall times mean little when other processes hold the cores.
    println!(
        "  machine load (1 min average) before / after: {load_before} / {load_after}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (lang, clips) in &corpora {
        let words: usize = clips
            .iter()
            .map(|c| wer::words(&c.reference, Normalization::Plain).len())
            .sum();
        let notes: Vec<String> = clips
            .iter()
            .filter(|c| c.note)
            .map(|c| format!("{:.1}", c.seconds))
            .collect();
        println!(
            "  {lang}: {} sentences + notes of {} s, {words} reference words",
            clips.iter().filter(|c| !c.note).count(),
            notes.join(", ")
        );
    }
    println!(
        "{:<14} {:<4} {:<7} {:>7} {:>7} {:>10} {:>7} {:>10} {:>9} {:>7}  30 s note CPU",
        "model",
        "lang",
        "mode",
        "WER",
        "raw",
        "sentences",
        "notes",
        "wrong lang",
        "30 s note",
        "pass",
    );
    for r in &results {
        for (lang, detect, p) in &r.passes {
            let wall = if *detect {
                median(p.note_walls.clone())
            } else {
                r.wall_30s(lang).unwrap_or(f64::NAN)
            };
            // CPU time (all threads) of the timed note, language fixed.
            let cpu = r
                .walls_30s
                .iter()
                .find(|(l, _, _, _)| l == lang && !*detect)
                .map_or(String::new(), |(_, _, c, secs)| {
                    format!("{c:.2}s for {secs:.1}s")
                });
            println!(
                "{:<14} {:<4} {:<7} {:>6.1}% {:>6.1}% {:>9.1}% {:>6.1}% {:>10} {:>8.2}s {:>6.0}s  {}",
                r.label,
                lang,
                if *detect { "detect" } else { "fixed" },
                pct(&p.spelled),
                pct(&p.plain),
                pct(&p.sentences),
                pct(&p.notes),
                format!("{}/{}", p.wrong_language, p.clips),
                wall,
                p.seconds,
                cpu
            );
        }
    }
    for m in &missing {
        println!("not measured, model missing: {m}");
    }

    // The rule for the default model.
    let eligible: Vec<&ModelResult> = results
        .iter()
        .filter(|r| r.multilingual)
        .filter(|r| {
            LANGS
                .iter()
                .all(|l| r.wall_30s(l).is_some_and(|w| w < DEFAULT_RULE_MAX_SECONDS))
        })
        .collect();
    let wer = |r: &ModelResult, lang: &str| {
        r.pass(lang, false)
            .map(|p| p.spelled.rate() * 100.0)
            .unwrap_or(f64::MAX)
    };
    // Lower WER wins only by more than the tie margin.
    let by_wer = |a: f64, b: f64| {
        if (a - b).abs() < DEFAULT_RULE_TIE_PP {
            std::cmp::Ordering::Equal
        } else {
            a.total_cmp(&b)
        }
    };
    let best = eligible.iter().min_by(|a, b| {
        by_wer(wer(a, "ru"), wer(b, "ru"))
            .then_with(|| by_wer(wer(a, "en"), wer(b, "en")))
            .then_with(|| a.bytes.cmp(&b.bytes))
    });
    match best {
        Some(r) => println!(
            "default by the rule (lowest Russian WER with the language fixed among multilingual \
             models whose 30 s note takes under {DEFAULT_RULE_MAX_SECONDS} s; closer than \
             {DEFAULT_RULE_TIE_PP} point is a tie, then English WER, then the smaller file): {}",
            r.label
        ),
        None => {
            // Nothing fast enough at this load: the rule's fallback is the fastest multilingual
            // model (its CPU time over the threads bounds what an idle machine would take).
            let fastest = results
                .iter()
                .filter(|r| r.multilingual)
                .filter_map(|r| r.walls_30s.iter().find(|w| w.0 == "ru").map(|w| (r, w)))
                .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1));
            match fastest {
                Some((r, (_, wall, cpu, _))) => println!(
                    "default by the rule: no multilingual model took under \
                     {DEFAULT_RULE_MAX_SECONDS} s for a 30 s note at this load; the fastest is {} \
                     ({wall:.2} s, {cpu:.2} s of CPU over {threads} threads)",
                    r.label
                ),
                None => println!("default by the rule: no multilingual model was measured"),
            }
        }
    }
    println!();

    for r in &results {
        for (lang, detect, p) in &r.passes {
            let suffix = if *detect { "_detect" } else { "" };
            println!(
                "bench transcribe_wer_{lang}_{}{suffix} {:.1} %",
                r.label,
                pct(&p.spelled)
            );
            println!(
                "bench transcribe_wer_raw_{lang}_{}{suffix} {:.1} %",
                r.label,
                pct(&p.plain)
            );
            if *detect {
                println!(
                    "bench transcribe_wrong_language_{lang}_{} {} notes",
                    r.label, p.wrong_language
                );
                println!(
                    "bench transcribe_30s_{}_{lang}_detect {:.3} s",
                    r.label,
                    median(p.note_walls.clone())
                );
            }
        }
        for (lang, wall, cpu, _) in &r.walls_30s {
            println!("bench transcribe_30s_{}_{lang} {wall:.3} s", r.label);
            println!("bench transcribe_30s_cpu_{}_{lang} {cpu:.2} s", r.label);
        }
    }
    Ok(())
}
