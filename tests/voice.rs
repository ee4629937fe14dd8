//! Voice notes end to end with real speech: espeak-ng (English) and festival (Russian) speak a
//! sentence, opusenc makes it an OGG/Opus voice note as WhatsApp sends it, the Cloud API
//! simulator serves it, and Bitrix24 first gets the voice file, then an update of that same
//! message with the transcript (whisper, locally). Long, silent and corrupt notes get a note,
//! and the voice itself is always delivered. A hard kill during transcription re-runs it.
//!
//! Needs `make model` (the speech model) and the speech tools `.ci/run` installs.

mod common;
mod sim;

use std::{path::PathBuf, process::Command};

use common::{spawn_app_with, spawn_process_with, wait_until, Backend, Number, TestApp};
use serde_json::json;
use sim::{BitrixSimConfig, CustomerMsg};

on_both_databases!(voice_notes_get_transcripts_or_notes_in_order);

#[actix_web::test]
async fn a_kill_during_transcription_reruns_it_after_restart() {
    let model = model();
    let app = spawn_process_with(Backend::Sqlite, move |s| {
        s.transcribe_model = Some(model);
        s.transcribe_workers = 1;
    })
    .await;
    app.install().await;
    let n = app.connect("1", "777000002").await;
    let voice = speech(
        "en",
        "Please call me back tomorrow morning about the invoice",
        None,
    );
    post_voice(&app, &n, "wamid.K1", voice).await;
    let b24 = app.b24.clone();
    wait_until(30, "the voice message", || {
        !b24.customer_messages().is_empty()
    })
    .await;
    // Transcribing takes a while on two cores; the voice is out before it starts.
    let before = app.b24.customer_messages()[0].clone();
    assert!(!before.edited, "killed before the transcript: {before:?}");
    app.kill();
    app.restart().await;
    let b24 = app.b24.clone();
    wait_until(120, "the transcript after the restart", || {
        b24.customer_messages().first().is_some_and(|m| m.edited)
    })
    .await;
    let m = &app.b24.customer_messages()[0];
    let text = m.text.to_lowercase();
    assert!(
        text.contains("invoice") && text.contains("tomorrow"),
        "{}",
        m.text
    );
    // Exactly one update: the re-run did not add a second transcript.
    let updates = app.b24.calls_of("imconnector.update.messages").len();
    assert_eq!(
        updates,
        1,
        "{:?}",
        app.b24.calls_of("imconnector.update.messages")
    );
}

fn model() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(
        p.exists(),
        "{} is missing: run `make model` first (it fetches and converts the speech model)",
        p.display()
    );
    p
}

/// A voice note (OGG/Opus) saying `text` in `lang` (`en`, `ru`), or silence when `lang` is
/// `silence` (then `text` is the length in seconds); padded with silence to `pad` seconds.
fn speech(lang: &str, text: &str, pad: Option<u32>) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("note.ogg");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/speech/say.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(lang).arg(text).arg(&out);
    if let Some(p) = pad {
        cmd.arg(p.to_string());
    }
    let res = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        res.status.success(),
        "say.sh failed (are espeak-ng, festival, opus-tools and sox installed? see .ci/run): {}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read(&out).expect("voice note written")
}

async fn post_voice(app: &common::Peers, n: &Number, wamid: &str, ogg: Vec<u8>) {
    let id = app.graph.add_media("audio/ogg; codecs=opus", ogg);
    let body = sim::GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        "79005550001",
        "Maria",
        json!({"from": "79005550001", "id": wamid, "timestamp": sim::unix_now().to_string(),
               "type": "audio", "audio": {"id": id, "mime_type": "audio/ogg; codecs=opus",
               "sha256": "x", "voice": true}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
}

fn edited(app: &TestApp, wamid: &str) -> Option<CustomerMsg> {
    app.b24
        .customer_messages()
        .into_iter()
        .find(|m| m.message_id == wamid && m.edited)
}

async fn voice_notes_get_transcripts_or_notes_in_order(backend: Backend) {
    let model = model();
    let app = spawn_app_with(backend, BitrixSimConfig::default(), move |s| {
        s.transcribe_model = Some(model);
    })
    .await;
    app.install().await;
    let n = app.connect("1", "777000001").await;
    let en = speech(
        "en",
        "The delivery will arrive on Tuesday at five o'clock",
        None,
    );
    let ru = speech(
        "ru",
        "Здравствуйте, я хочу заказать доставку на завтра",
        None,
    );
    let long = speech(
        "en",
        "This note is far too long to be transcribed",
        Some(45),
    );
    let silent = speech("silence", "5", None);
    let notes = [
        ("wamid.V1", en.clone()),
        ("wamid.V2", ru),
        ("wamid.V3", long),
        ("wamid.V4", silent),
        (
            "wamid.V5",
            b"OggS\0garbage that is not opus at all".to_vec(),
        ),
    ];
    for (wamid, ogg) in &notes {
        post_voice(&app, &n, wamid, ogg.clone()).await;
    }
    app.customer_writes(&n, "79005550001", "wamid.T6", "did you hear me?")
        .await;
    let b24 = app.b24.clone();
    wait_until(30, "six messages", || b24.customer_messages().len() >= 6).await;
    let got = app.b24.customer_messages();
    let ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        ids,
        ["wamid.V1", "wamid.V2", "wamid.V3", "wamid.V4", "wamid.V5", "wamid.T6"],
        "voices go out at once and in order, before their transcripts"
    );
    // Every voice note itself reaches the operator, playable from our link.
    for m in &got[..5] {
        assert_eq!(m.files.len(), 1, "{m:?}");
    }
    let url = got[0].files[0]["url"].as_str().expect("url");
    let body = reqwest::get(url)
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.to_vec(), en);
    // Then each gets its transcript or its note, on the same message, with the file kept.
    let b24 = app.b24.clone();
    wait_until(180, "five updated voice messages", || {
        b24.customer_messages().iter().filter(|m| m.edited).count() >= 5
    })
    .await;
    let text = |w: &str| {
        let m = edited(&app, w).unwrap_or_else(|| panic!("{w} not updated"));
        assert_eq!(m.files.len(), 1, "{w}: file kept: {m:?}");
        m.text.to_lowercase()
    };
    let v1 = text("wamid.V1");
    assert!(v1.contains("transcript"), "{v1}");
    for word in ["delivery", "tuesday", "o'clock"] {
        assert!(v1.contains(word), "English: {word} missing in {v1}");
    }
    // Whisper writes numbers either way.
    assert!(v1.contains("five") || v1.contains('5'), "{v1}");
    let v2 = text("wamid.V2");
    for word in ["доставк", "завтра"] {
        assert!(v2.contains(word), "Russian: {word} missing in {v2}");
    }
    let v3 = text("wamid.V3");
    assert!(
        v3.contains("not transcribed") && v3.contains("45 s"),
        "{v3}"
    );
    let v4 = text("wamid.V4");
    assert!(v4.contains("no speech"), "{v4}");
    let v5 = text("wamid.V5");
    assert!(v5.contains("could not be decoded"), "{v5}");
    // The text after the voices was not held back by their transcription.
    assert!(!got[5].edited);
}
