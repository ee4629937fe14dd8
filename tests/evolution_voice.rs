//! A voice note on an Evolution number: the customer records it, Evolution decrypts it
//! (`getBase64FromMediaMessage`), Bitrix24 gets the voice file at once, then the same message
//! with the transcript (whisper, locally). Needs `make model` and the speech tools (see
//! tests/voice.rs).

mod common;
mod sim;

use std::{path::PathBuf, process::Command};

use common::{spawn_app_with, wait_until, Backend};
use serde_json::json;
use sim::{BitrixSimConfig, EvolutionCustomer, EvolutionFile, EvolutionSim, EvolutionSimConfig};

on_both_databases!(a_voice_note_arrives_then_gets_its_transcript);

const NAME: &str = "shop-voice";

fn model() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(
        p.exists(),
        "{} is missing: run `make model` first (it fetches and converts the speech model)",
        p.display()
    );
    p
}

/// An OGG/Opus voice note saying `text` in English.
fn speech(text: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("note.ogg");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/speech/say.sh");
    let res = Command::new("bash")
        .arg(&script)
        .arg("en")
        .arg(text)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        res.status.success(),
        "say.sh failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    std::fs::read(&out).expect("voice note written")
}

async fn a_voice_note_arrives_then_gets_its_transcript(backend: Backend) {
    let model = model();
    let app = spawn_app_with(backend, BitrixSimConfig::default(), move |s| {
        s.transcribe_model = Some(model);
    })
    .await;
    app.install().await;
    let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"provider": "evolution", "member_id": app.b24.member_id(), "line": "1",
                   "base_url": evo.base_url(), "instance": NAME,
                   "api_key": evo.global_key()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["number"]["id"].as_i64().expect("id");
    let (status, _) = app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(status, 200);
    assert_eq!(evo.link(NAME, "5511900000009").await, 200);
    let voice = speech("The delivery will arrive on Tuesday at five o'clock");
    let who = EvolutionCustomer::phone("5511988880000", "Maria");
    let (wamid, _) = evo
        .customer_media(
            NAME,
            &who,
            EvolutionFile {
                kind: "voice".into(),
                mime: "audio/ogg; codecs=opus".into(),
                file_name: None,
                caption: None,
                bytes: voice.clone(),
            },
        )
        .await;
    let b24 = app.b24.clone();
    wait_until(30, "the voice message", || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let m = app.b24.customer_messages()[0].clone();
    assert_eq!(m.message_id, wamid);
    let url = m.files[0]["url"].as_str().expect("url");
    let body = reqwest::get(url)
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("body");
    assert_eq!(body.to_vec(), voice);
    let b24 = app.b24.clone();
    wait_until(180, "the transcript", || {
        b24.customer_messages().iter().any(|m| m.edited)
    })
    .await;
    let m = app
        .b24
        .customer_messages()
        .into_iter()
        .find(|m| m.edited)
        .expect("updated");
    assert_eq!(m.files.len(), 1, "file kept: {m:?}");
    let text = m.text.to_lowercase();
    assert!(text.contains("transcript"), "{text}");
    for word in ["delivery", "tuesday"] {
        assert!(text.contains(word), "{word} missing in {text}");
    }
}
