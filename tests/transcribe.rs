//! The transcriber pool end to end: real speech made by `scripts/speech/say.sh` (espeak-ng for
//! English, festival for Russian, encoded as OGG/Opus like a WhatsApp voice note) through
//! `start_pool` and `Transcribe` messages, on the real model.
//!
//! Needs `models/ggml-base-q8_0.bin` (`make model`); without it these tests fail on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use actix::Addr;
use b24wa::actors::transcriber::{start_pool, InjectPanic, Transcribe, TranscribeWorker};
use b24wa::transcribe::{Outcome, TranscribeError, TranscribeSettings};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model_path() -> PathBuf {
    let path = root().join("models/ggml-base-q8_0.bin");
    assert!(
        path.is_file(),
        "the speech model {} is missing: run `make model` first",
        path.display()
    );
    path
}

fn settings(language: &str, workers: usize) -> TranscribeSettings {
    TranscribeSettings {
        model_path: Some(model_path()),
        language: language.into(),
        follow_portal: false,
        threads: 2,
        workers,
        max_seconds: 30.0,
    }
}

/// Runs `scripts/speech/say.sh ARGS…` into a fresh file and returns the note's bytes.
fn say(args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("note.ogg");
    let script = root().join("scripts/speech/say.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(args[0]).arg(args[1]).arg(&out);
    cmd.args(&args[2..]);
    let result = cmd.output().expect("running say.sh");
    assert!(
        result.status.success(),
        "say.sh {args:?} failed (needs espeak-ng, festival + festvox-ru, sox, opus-tools): {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(&out).expect("reading the note")
}

async fn pool(language: &str, workers: usize) -> Addr<TranscribeWorker> {
    start_pool(&settings(language, workers))
        .expect("the pool starts")
        .expect("a model is configured")
}

async fn transcribe(pool: &Addr<TranscribeWorker>, audio: Vec<u8>) -> Outcome {
    transcribe_in(pool, audio, None).await
}

/// With the note's own language (as the portal's language will give it).
async fn transcribe_in(
    pool: &Addr<TranscribeWorker>,
    audio: Vec<u8>,
    language: Option<&str>,
) -> Outcome {
    pool.send(Transcribe {
        audio,
        language: language.map(str::to_string),
    })
    .await
    .expect("the pool answers")
    .expect("transcription works")
}

fn text_of(outcome: &Outcome) -> (String, String) {
    match outcome {
        Outcome::Text { text, language } => (text.to_lowercase(), language.clone()),
        other => panic!("expected a transcript, got {other:?}"),
    }
}

fn assert_words(text: &str, words: &[&str]) {
    let missing: Vec<&&str> = words.iter().filter(|w| !text.contains(**w)).collect();
    assert!(missing.is_empty(), "{missing:?} not in {text:?}");
}

#[actix_rt::test]
async fn english_note_is_transcribed_and_its_language_detected() {
    let pool = pool("auto", 1).await;
    let note = say(&[
        "en",
        "Hello, this is a test of the voice message transcription. Please call me back tomorrow morning.",
    ]);
    let outcome = transcribe(&pool, note).await;
    let (text, language) = text_of(&outcome);
    assert_eq!(language, "en", "{text}");
    assert_words(
        &text,
        &[
            "hello", "test", "voice", "message", "call", "tomorrow", "morning",
        ],
    );
}

#[actix_rt::test]
async fn a_long_note_is_transcribed_in_pieces() {
    // ~29 s of speech: cut in pauses and decoded on two lanes in parallel.
    let pool = pool("en", 1).await;
    let note = say(&[
        "en",
        "Good morning, this is Michael from the logistics department. I am calling about your \
         order number four hundred and twelve. The delivery was planned for Tuesday, but the truck \
         broke down on the way, so we need to move it to Thursday afternoon. If that does not \
         work for you, please call me back or reply to this message, and we will find another \
         time that suits you. The driver will also bring the spare parts you asked about last \
         week. Thank you.",
    ]);
    let outcome = transcribe(&pool, note).await;
    let (text, language) = text_of(&outcome);
    assert_eq!(language, "en");
    assert_words(
        &text,
        &[
            "good morning",
            "michael",
            "order number",
            "delivery",
            "tuesday",
            "thursday afternoon",
            "reply to this message",
            "driver",
            "spare parts",
            "last week",
            "thank you",
        ],
    );
}

#[actix_rt::test]
async fn russian_note_is_transcribed_with_the_language_fixed() {
    let pool = pool("ru", 1).await;
    let note = say(&[
        "ru",
        "Здравствуйте, это проверка голосового сообщения. Перезвоните мне завтра утром, пожалуйста.",
    ]);
    let outcome = transcribe(&pool, note).await;
    let (text, language) = text_of(&outcome);
    assert_eq!(language, "ru");
    assert_words(
        &text,
        &[
            "здравствуйте",
            "проверка",
            "голосового",
            "сообщения",
            "завтра",
        ],
    );
}

#[actix_rt::test]
async fn russian_is_detected_when_the_language_is_auto() {
    let pool = pool("auto", 1).await;
    let note = say(&[
        "ru",
        "Добрый день. Мне нужна консультация по вашему заказу.",
    ]);
    let outcome = transcribe(&pool, note).await;
    let (text, language) = text_of(&outcome);
    assert_eq!(language, "ru", "{text}");
    assert_words(&text, &["добрый", "день", "заказ"]);
}

#[actix_rt::test]
async fn a_notes_own_language_overrides_the_configured_one() {
    // Configured for English; the request says Russian (a Russian portal's note).
    let pool = pool("en", 1).await;
    let note = say(&[
        "ru",
        "Добрый день. Мне нужна консультация по вашему заказу.",
    ]);
    let (text, language) = text_of(&transcribe_in(&pool, note.clone(), Some("ru")).await);
    assert_eq!(language, "ru", "{text}");
    assert_words(&text, &["добрый", "день", "заказ"]);
    // "auto" in the request: detected.
    let (text, language) = text_of(&transcribe_in(&pool, note.clone(), Some("auto")).await);
    assert_eq!(language, "ru", "{text}");
    // A code whisper does not know, and no code: the configured English.
    for hint in [Some("xx"), None] {
        let (text, language) = text_of(&transcribe_in(&pool, note.clone(), hint).await);
        assert_eq!(language, "en", "{hint:?}: {text}");
        assert!(!text.contains("заказ"), "{hint:?}: {text}");
    }
    // And the other way round: a pool configured for Russian given an English note.
    let pool = self::pool("ru", 1).await;
    let note = say(&["en", "Please send me the invoice today."]);
    let (text, language) = text_of(&transcribe_in(&pool, note, Some("en")).await);
    assert_eq!(language, "en", "{text}");
    assert_words(&text, &["invoice", "today"]);
}

#[actix_rt::test]
async fn with_language_auto_each_note_gets_its_own_language() {
    // One worker: its helper lane starts each note in the language detected last, so this
    // walks both a right and a wrong guess, for a one-piece and a several-piece note.
    let pool = pool("auto", 1).await;
    let ru = say(&[
        "ru",
        "Добрый день. Мне нужна консультация по вашему заказу.",
    ]);
    let en_long = say(&[
        "en",
        "Good morning, this is Michael from the logistics department. The delivery was planned \
         for Tuesday, but the truck broke down on the way, so we need to move it to Thursday \
         afternoon. Please call me back or reply to this message. Thank you.",
    ]);
    let en = say(&["en", "Please send me the invoice today."]);
    let notes: [(&Vec<u8>, &str, &[&str]); 4] = [
        (&ru, "ru", &["добрый", "заказ"]),
        (
            &en_long,
            "en",
            &["michael", "tuesday", "thursday", "thank you"],
        ),
        (&en, "en", &["invoice", "today"]),
        (&ru, "ru", &["добрый", "заказ"]),
    ];
    for (audio, expected, words) in notes {
        let outcome = transcribe(&pool, audio.clone()).await;
        let (text, language) = text_of(&outcome);
        assert_eq!(language, expected, "{text}");
        assert_words(&text, words);
    }
}

#[actix_rt::test]
async fn a_long_note_is_too_long_without_being_transcribed() {
    let pool = pool("auto", 1).await;
    // A short sentence padded with silence to 45 s.
    let note = say(&["en", "Please call me back tomorrow.", "45"]);
    let started = Instant::now();
    let outcome = transcribe(&pool, note).await;
    match outcome {
        Outcome::TooLong { seconds } => assert!((seconds - 45.0).abs() < 0.5, "{seconds}"),
        other => panic!("expected TooLong, got {other:?}"),
    }
    // Read from the container's last page: no decode, no whisper.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn a_silent_note_is_silence() {
    let pool = pool("auto", 1).await;
    let outcome = transcribe(&pool, say(&["silence", "4"])).await;
    assert_eq!(outcome, Outcome::Silence);
}

#[actix_rt::test]
async fn a_note_of_noise_is_silence() {
    // Pink noise (sox, fixed seed), quiet and loud: no words to find.
    let pool = pool("auto", 1).await;
    for volume in ["0.01", "0.1"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let wav = dir.path().join("noise.wav");
        let ogg = dir.path().join("noise.ogg");
        let status = Command::new("sox")
            .args(["-R", "-n", "-r", "16000", "-c", "1", "-b", "16"])
            .arg(&wav)
            .args(["synth", "4", "pinknoise", "vol", volume])
            .status()
            .expect("running sox");
        assert!(status.success(), "sox failed");
        let status = Command::new("opusenc")
            .args(["--quiet", "--bitrate", "24"])
            .arg(&wav)
            .arg(&ogg)
            .status()
            .expect("running opusenc");
        assert!(status.success(), "opusenc failed");
        let outcome = transcribe(&pool, std::fs::read(&ogg).expect("read")).await;
        assert_eq!(outcome, Outcome::Silence, "noise at volume {volume}");
    }
}

#[actix_rt::test]
async fn bad_audio_is_undecodable() {
    let pool = pool("auto", 1).await;
    let real = say(&["en", "Call me back."]);
    let mut x: u32 = 0x2545_f491;
    let random: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("random bytes", random),
        ("truncated note", real[..real.len() * 2 / 3].to_vec()),
        ("a text file", b"this is not audio at all\n".to_vec()),
    ];
    for (name, audio) in cases {
        match transcribe(&pool, audio).await {
            Outcome::Undecodable { reason } => assert!(!reason.is_empty(), "{name}"),
            other => panic!("{name}: expected Undecodable, got {other:?}"),
        }
    }
}

#[actix_rt::test]
async fn the_pool_survives_a_panicking_worker_and_serves_in_parallel() {
    let pool = pool("en", 2).await;
    match pool.send(InjectPanic).await.expect("the pool answers") {
        Err(TranscribeError::Crashed(message)) => assert!(message.contains("injected")),
        other => panic!("expected Crashed, got {other:?}"),
    }
    let notes = [
        ("Please send me the invoice today.", ["invoice", "today"]),
        (
            "The delivery arrived this morning.",
            ["delivery", "morning"],
        ),
        ("I would like to order two pizzas.", ["order", "pizza"]),
    ];
    let replies = futures::future::join_all(notes.iter().map(|(sentence, _)| {
        let note = say(&["en", sentence]);
        pool.send(Transcribe {
            audio: note,
            language: None,
        })
    }))
    .await;
    for (reply, (sentence, words)) in replies.into_iter().zip(notes.iter()) {
        let outcome = reply.expect("answered").expect("transcribed");
        let (text, _) = text_of(&outcome);
        assert_words(&text, words);
        assert!(!text.is_empty(), "{sentence}");
    }
}

#[actix_rt::test]
async fn no_model_means_no_pool_and_a_missing_model_is_an_error() {
    let off = TranscribeSettings {
        model_path: None,
        ..TranscribeSettings::default()
    };
    assert!(start_pool(&off).expect("not an error").is_none());
    let missing = TranscribeSettings {
        model_path: Some(root().join("models/does-not-exist.bin")),
        ..TranscribeSettings::default()
    };
    match start_pool(&missing) {
        Err(TranscribeError::ModelMissing { .. }) => {}
        other => panic!(
            "expected ModelMissing, got {:?}",
            other.map(|p| p.is_some())
        ),
    }
    let garbage = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(garbage.path(), b"not a model").expect("write");
    let unloadable = TranscribeSettings {
        model_path: Some(garbage.path().to_path_buf()),
        ..TranscribeSettings::default()
    };
    match start_pool(&unloadable) {
        Err(TranscribeError::ModelUnloadable { .. }) => {}
        other => panic!(
            "expected ModelUnloadable, got {:?}",
            other.map(|p| p.is_some())
        ),
    }
}

#[actix_rt::test]
async fn an_unknown_language_is_rejected_at_start() {
    match start_pool(&settings("xx", 1)) {
        Err(TranscribeError::Config(_)) => {}
        other => panic!("expected Config, got {:?}", other.map(|p| p.is_some())),
    }
}
