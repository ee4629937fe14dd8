//! Transcription benchmark (`make bench-transcribe`): our whisper.cpp engine against
//! faster-whisper on the same voice notes and the same Whisper base weights.
//!
//! Makes a 5 s and a 30 s English voice note (OGG/Opus, `scripts/speech/say.sh`), then measures
//! the model load time, the wall time of a transcription (the service's whole path: OGG/Opus
//! decode, silence check, whisper; median of `RUNS` after a warm-up), its real-time factor,
//! and the process's peak RSS; then runs `scripts/bench/faster_whisper.py` (CTranslate2, same
//! threads, greedy, language fixed, no VAD) on the same files and `models/ct2-base`.
//! Prints a table and `bench <name> <value> <unit>` lines.
//!
//! Then the accuracy half (`transcribe_wer.rs`): word error rate of each available model on
//! Russian and English notes, language fixed and detected, and a 30 s note's wall time.
//!
//! Environment: B24WA_BENCH_RUNS (5), B24WA_BENCH_THREADS (2), B24WA_BENCH_MODEL
//! (models/ggml-base-q8_0.bin), B24WA_BENCH_LANGUAGE (en), B24WA_BENCH_FW (1; 0 skips
//! faster-whisper), B24WA_BENCH_SPEED (1; 0 skips this first half); the accuracy half's own
//! are listed in transcribe_wer.rs.

mod transcribe_wer;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use b24wa::transcribe::{Model, Outcome, TranscribeSettings, Transcriber};

const CLIP_5S: &str = "Hi, this is Anna from sales. Please call me back when you get this.";
const CLIP_30S: &str = "Good morning, this is Michael from the logistics department. I am calling \
    about your order number four hundred and twelve. The delivery was planned for Tuesday, but the \
    truck broke down on the way, so we need to move it to Thursday afternoon. If that does not work \
    for you, please call me back or reply to this message, and we will find another time that \
    suits you. The driver will also bring the spare parts you asked about last week. Thank you.";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

struct Clip {
    name: &'static str,
    path: PathBuf,
    seconds: f64,
    keywords: &'static [&'static str],
}

fn make_clip(
    root: &Path,
    dir: &Path,
    name: &'static str,
    text: &str,
    pad: &str,
    keywords: &'static [&'static str],
) -> Result<Clip, String> {
    let path = dir.join(format!("{name}.ogg"));
    let out = Command::new("bash")
        .arg(root.join("scripts/speech/say.sh"))
        .arg("en")
        .arg(text)
        .arg(&path)
        .arg(pad)
        .output()
        .map_err(|e| format!("running say.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "say.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // "OUT.ogg <seconds>"
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seconds = stdout
        .split_whitespace()
        .last()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| format!("say.sh printed {stdout:?}"))?;
    Ok(Clip {
        name,
        path,
        seconds,
        keywords,
    })
}

struct Ours {
    wall: f64,
    text: String,
}

fn run_ours(t: &mut Transcriber, clip: &Clip, runs: usize) -> Result<Ours, String> {
    let bytes = std::fs::read(&clip.path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    let mut times = Vec::new();
    for i in 0..=runs {
        let started = Instant::now();
        let outcome = t.transcribe(&bytes, None).map_err(|e| e.to_string())?;
        let elapsed = started.elapsed().as_secs_f64();
        if i > 0 {
            times.push(elapsed); // the first run is the warm-up
        }
        text = match outcome {
            Outcome::Text { text, .. } => text,
            other => return Err(format!("{}: {other:?}", clip.name)),
        };
    }
    Ok(Ours {
        wall: median(times),
        text,
    })
}

struct Theirs {
    load: f64,
    walls: Vec<(String, f64, String)>,
}

fn run_faster_whisper(
    root: &Path,
    clips: &[&Clip],
    threads: usize,
    runs: usize,
    language: &str,
) -> Result<Theirs, String> {
    let python = root.join("target/fw-venv/bin/python");
    if !python.is_file() {
        return Err("target/fw-venv is missing: run `make fw-venv`".into());
    }
    let mut cmd = Command::new(python);
    cmd.arg(root.join("scripts/bench/faster_whisper.py"))
        .arg("--model")
        .arg(root.join("models/ct2-base"))
        .arg("--threads")
        .arg(threads.to_string())
        .arg("--language")
        .arg(language)
        .arg("--runs")
        .arg(runs.to_string())
        .arg("--json");
    for c in clips {
        cmd.arg(&c.path);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running faster_whisper.py: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "faster_whisper.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut theirs = Theirs {
        load: f64::NAN,
        walls: Vec::new(),
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let seconds = v["seconds"].as_f64().unwrap_or(f64::NAN);
        match v["kind"].as_str() {
            Some("load") => theirs.load = seconds,
            Some("file") => theirs.walls.push((
                v["file"].as_str().unwrap_or_default().to_string(),
                seconds,
                v["text"].as_str().unwrap_or_default().to_string(),
            )),
            _ => {}
        }
    }
    Ok(theirs)
}

fn check_words(engine: &str, clip: &Clip, text: &str) {
    let lower = text.to_lowercase();
    let missing: Vec<&str> = clip
        .keywords
        .iter()
        .copied()
        .filter(|w| !lower.contains(w))
        .collect();
    if !missing.is_empty() {
        println!(
            "WARNING: {engine} on {}: missing {missing:?} in {text:?}",
            clip.name
        );
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-transcribe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if env_or("B24WA_BENCH_SPEED", 1u8) != 0 {
        speed(root)?;
    }
    transcribe_wer::run(root)
}

/// Speed against faster-whisper on a 5 s and a 30 s English note.
fn speed(root: &Path) -> Result<(), String> {
    let runs: usize = env_or("B24WA_BENCH_RUNS", 5usize).max(1);
    let threads: usize = env_or("B24WA_BENCH_THREADS", 2usize).max(1);
    let language: String = env_or("B24WA_BENCH_LANGUAGE", "en".to_string());
    let with_fw: bool = env_or("B24WA_BENCH_FW", 1u8) != 0;
    let model_path = root.join(env_or(
        "B24WA_BENCH_MODEL",
        "models/ggml-base-q8_0.bin".to_string(),
    ));
    if !model_path.is_file() {
        return Err(format!(
            "{} is missing: run `make model`",
            model_path.display()
        ));
    }

    let dir = root.join("target/bench-transcribe");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let c5 = make_clip(
        root,
        &dir,
        "note-5s",
        CLIP_5S,
        "5",
        &["anna", "when you get this"],
    )?;
    let c30 = make_clip(
        root,
        &dir,
        "note-30s",
        CLIP_30S,
        "30",
        &[
            "michael",
            "delivery",
            "tuesday",
            "thursday",
            "driver",
            "spare parts",
        ],
    )?;

    // Load time: median of three loads (the first may read the file from disk).
    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..3 {
        drop(model.take()); // one model in memory at a time (peak RSS)
        let started = Instant::now();
        let m = Model::load(&model_path).map_err(|e| e.to_string())?;
        loads.push(started.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.ok_or("no model")?;
    let load = median(loads);

    let settings = TranscribeSettings {
        model_path: Some(model_path.clone()),
        language: language.clone(),
        follow_portal: false,
        threads,
        workers: 1,
        max_seconds: 30.0,
    };
    let mut t = Transcriber::new(&model, &settings).map_err(|e| e.to_string())?;
    let o5 = run_ours(&mut t, &c5, runs)?;
    let o30 = run_ours(&mut t, &c30, runs)?;
    check_words("ours", &c5, &o5.text);
    check_words("ours", &c30, &o30.text);
    // One worker's footprint: the model and one engine (its lanes' whisper states).
    let rss = peak_rss_mib().unwrap_or(f64::NAN);
    // The service's default: language detected per note.
    let auto30 = if language != "auto" {
        let mut auto = Transcriber::new(
            &model,
            &TranscribeSettings {
                language: "auto".into(),
                ..settings.clone()
            },
        )
        .map_err(|e| e.to_string())?;
        Some(run_ours(&mut auto, &c30, runs)?)
    } else {
        None
    };
    drop(t);

    let theirs = if with_fw {
        Some(run_faster_whisper(
            root,
            &[&c5, &c30],
            threads,
            runs,
            &language,
        )?)
    } else {
        None
    };
    let fw_wall = |clip: &Clip| -> Option<(f64, String)> {
        theirs.as_ref().and_then(|t| {
            t.walls
                .iter()
                .find(|(f, _, _)| Path::new(f) == clip.path)
                .map(|(_, s, text)| (*s, text.clone()))
        })
    };
    let f5 = fw_wall(&c5);
    let f30 = fw_wall(&c30);
    if let Some((_, text)) = &f5 {
        check_words("faster-whisper", &c5, text);
    }
    if let Some((_, text)) = &f30 {
        check_words("faster-whisper", &c30, text);
    }

    let model_name = model_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    println!();
    println!(
        "transcription, {threads} threads, language {language}, median of {runs} runs after a warm-up"
    );
    println!(
        "{:<26} {:>14} {:>14} {:>10}",
        "", "ours (whisper.cpp)", "faster-whisper", "ours/theirs"
    );
    println!("{:<26} {:>18} {:>14}", "model", model_name, "ct2-base f32");
    let row = |label: &str, ours: f64, theirs: Option<f64>| {
        match theirs {
            Some(t) => println!(
                "{label:<26} {:>17.3}s {:>13.3}s {:>10.2}",
                ours,
                t,
                ours / t
            ),
            None => println!("{label:<26} {:>17.3}s {:>14}", ours, "-"),
        };
    };
    row(
        &format!("{:.1} s note wall", c5.seconds),
        o5.wall,
        f5.as_ref().map(|f| f.0),
    );
    row(
        &format!("{:.1} s note wall", c30.seconds),
        o30.wall,
        f30.as_ref().map(|f| f.0),
    );
    println!(
        "{:<26} {:>18.3} {:>14}",
        "5 s real-time factor",
        o5.wall / c5.seconds,
        f5.as_ref()
            .map(|f| format!("{:.3}", f.0 / c5.seconds))
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "{:<26} {:>18.3} {:>14}",
        "30 s real-time factor",
        o30.wall / c30.seconds,
        f30.as_ref()
            .map(|f| format!("{:.3}", f.0 / c30.seconds))
            .unwrap_or_else(|| "-".into())
    );
    row(
        "model load",
        load,
        theirs.as_ref().map(|t| t.load).filter(|l| l.is_finite()),
    );
    println!("{:<26} {:>16.0}MiB", "peak RSS", rss);
    if let Some(a) = &auto30 {
        println!("{:<26} {:>17.3}s", "30 s note, language auto", a.wall);
    }
    println!();
    println!("ours 5 s:  {}", o5.text);
    if let Some((_, text)) = &f5 {
        println!("fw   5 s:  {text}");
    }
    println!("ours 30 s: {}", o30.text);
    if let Some((_, text)) = &f30 {
        println!("fw   30 s: {text}");
    }
    println!();

    println!("bench transcribe_5s_wall {:.3} s", o5.wall);
    println!("bench transcribe_30s_wall {:.3} s", o30.wall);
    println!("bench transcribe_5s_rtf {:.3} ratio", o5.wall / c5.seconds);
    println!(
        "bench transcribe_30s_rtf {:.3} ratio",
        o30.wall / c30.seconds
    );
    if let Some(a) = &auto30 {
        println!("bench transcribe_30s_auto_wall {:.3} s", a.wall);
    }
    println!("bench transcribe_model_load {load:.3} s");
    println!("bench transcribe_peak_rss {rss:.0} MiB");
    if let Some((w, _)) = &f5 {
        println!("bench faster_whisper_5s_wall {w:.3} s");
    }
    if let Some((w, _)) = &f30 {
        println!("bench faster_whisper_30s_wall {w:.3} s");
    }
    if let Some(t) = &theirs {
        println!("bench faster_whisper_model_load {:.3} s", t.load);
    }
    if let Some((w5, _)) = &f5 {
        println!(
            "bench transcribe_5s_vs_faster_whisper {:.2} ratio",
            o5.wall / w5
        );
    }
    if let Some((w, _)) = &f30 {
        println!(
            "bench transcribe_vs_faster_whisper {:.2} ratio",
            o30.wall / w
        );
    }
    Ok(())
}
