//! `b24wa sandbox` end to end through its own HTTP endpoints (`/sandbox/api/…`), started the way
//! the subcommand starts it (`Sandbox::start`, on port 0): a customer's message reaches the
//! operator's chat, the operator's reply reaches the phone with its ticks going to read on both
//! sides, an operator's delete takes it off the phone, and a voice note gets its transcript. On
//! the Cloud API number the window closes when the customer's last message is made 25 hours old:
//! free text is held back with a notice, a template goes, and a tap on its button reopens it.
//! `b24wa serve` has none of `/sandbox/api/…`. The Web number's tests run twice, with the same
//! assertions: on GREEN-API (the default) and on Evolution API (`--gateway evolution`). The voice
//! tests need `make model`.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use b24wa::{
    config::Settings,
    sandbox::{Sandbox, SandboxOptions, WebGateway},
};
use serde_json::{json, Value};

async fn start(model: Option<PathBuf>) -> (Sandbox, tempfile::TempDir) {
    start_on(model, WebGateway::GreenApi).await
}

async fn start_on(model: Option<PathBuf>, gateway: WebGateway) -> (Sandbox, tempfile::TempDir) {
    b24wa::telemetry::init("warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::defaults().expect("defaults");
    settings.http_workers = 2;
    settings.transcribe_workers = 1;
    let opts = SandboxOptions {
        host: "127.0.0.1".into(),
        port: 0,
        data_dir: dir.path().join("sandbox"),
        transcribe_model: model,
        receipt_delay: Duration::from_millis(150),
        gateway,
    };
    let sandbox = Sandbox::start(settings, opts)
        .await
        .expect("the sandbox starts");
    (sandbox, dir)
}

struct Client {
    url: String,
    http: reqwest::Client,
}

impl Client {
    fn new(sandbox: &Sandbox) -> Self {
        Self {
            url: format!("{}/sandbox/api", sandbox.url()),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("sandbox API answers");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn state(&self) -> Value {
        self.state_of("gateway").await
    }

    async fn state_of(&self, number: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/state?number={number}", self.url))
            .send()
            .await
            .expect("sandbox API answers");
        assert_eq!(r.status(), 200);
        r.json().await.expect("state is JSON")
    }

    /// Polls `/state` until `f` finds what it wants (returned) or `secs` pass.
    async fn until<T>(&self, secs: u64, what: &str, f: impl Fn(&Value) -> Option<T>) -> T {
        self.until_on("gateway", secs, what, f).await
    }

    /// `until` on `number`'s state.
    async fn until_on<T>(
        &self,
        number: &str,
        secs: u64,
        what: &str,
        f: impl Fn(&Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let state = self.state_of(number).await;
            if let Some(found) = f(&state) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last state: {state:#}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn messages<'a>(state: &'a Value, side: &str) -> &'a [Value] {
    state[side]["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn find<'a>(state: &'a Value, side: &str, from: &str, text: &str) -> Option<&'a Value> {
    messages(state, side).iter().find(|m| {
        // On the phone an operator's reply is signed: "*Maria (operator):*\n<text>".
        m["from"] == from
            && m["text"]
                .as_str()
                .is_some_and(|t| t == text || t.ends_with(&format!("\n{text}")))
    })
}

#[actix_web::test]
async fn messages_travel_both_ways_ticks_go_to_read_and_a_delete_propagates_green_api() {
    messages_travel_both_ways_ticks_go_to_read_and_a_delete_propagates(WebGateway::GreenApi).await;
}

#[actix_web::test]
async fn messages_travel_both_ways_ticks_go_to_read_and_a_delete_propagates_evolution() {
    messages_travel_both_ways_ticks_go_to_read_and_a_delete_propagates(WebGateway::Evolution).await;
}

async fn messages_travel_both_ways_ticks_go_to_read_and_a_delete_propagates(gateway: WebGateway) {
    let (sandbox, _dir) = start_on(None, gateway).await;
    let api = Client::new(&sandbox);
    let state = api.state().await;
    let label = match gateway {
        WebGateway::GreenApi => ("green-api", "Web gateway"),
        WebGateway::Evolution => ("evolution", "Web gateway (Evolution API)"),
    };
    assert_eq!(state["setup"]["gateway"], label.0);
    assert_eq!(state["numbers"][0]["transport"], label.1);

    // The operator cannot write first: Open Lines has no chat yet.
    let (status, body) = api
        .post("/console/messages", json!({"text": "Hello?"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "no_conversation");
    // Typed errors on input.
    let (status, body) = api.post("/phone/messages", json!({"text": "  "})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_field"))
    );
    let (status, _) = api.post("/phone/messages", json!({"txt": "x"})).await;
    assert_eq!(status, 400);

    // The customer writes: it reaches the operator's chat, and the phone shows two ticks.
    let (status, body) = api
        .post("/phone/messages", json!({"text": "Is my order ready?"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let customer_id = body["id"].as_str().expect("id").to_string();
    api.until(10, "the customer's message in the operator's chat", |s| {
        find(s, "console", "customer", "Is my order ready?").map(|_| ())
    })
    .await;
    let state = api.state().await;
    let on_phone = find(&state, "phone", "customer", "Is my order ready?").expect("on the phone");
    assert_eq!(on_phone["id"], customer_id.as_str());
    assert_eq!(on_phone["ticks"], "delivered");

    // The operator answers: on the phone, and read on both sides (the phone reads it; answering
    // marks the customer's message read).
    let (status, body) = api
        .post("/console/messages", json!({"text": "Yes, it ships today."}))
        .await;
    assert_eq!(status, 201, "{body}");
    let reply_id = body["id"].as_str().expect("id").to_string();
    let state = api
        .until(15, "the reply read on both sides", |s| {
            let phone = find(s, "phone", "business", "Yes, it ships today.")?;
            let console = find(s, "console", "operator", "Yes, it ships today.")?;
            let mine = find(s, "phone", "customer", "Is my order ready?")?;
            (phone["ticks"] == "read" && console["state"] == "read" && mine["ticks"] == "read")
                .then(|| s.clone())
        })
        .await;
    assert_eq!(
        find(&state, "console", "operator", "Yes, it ships today.").expect("reply")["id"],
        reply_id.as_str()
    );
    // The trace shows each hop of that trip.
    let hops: Vec<&str> = state["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .filter_map(|t| t["hop"].as_str())
        .collect();
    for hop in [
        "whatsapp→b24wa",
        "b24wa→bitrix24",
        "bitrix24→b24wa",
        "b24wa→whatsapp",
    ] {
        assert!(hops.contains(&hop), "{hop} missing from {hops:?}");
    }

    // The operator deletes the reply: it is deleted for everyone on the phone.
    let (status, body) = api
        .post(&format!("/console/messages/{reply_id}/delete"), json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    api.until(10, "the reply deleted on the phone", |s| {
        let m = find(s, "phone", "business", "Yes, it ships today.")?;
        (m["deleted"] == true).then_some(())
    })
    .await;
    let state = api.state().await;
    assert_eq!(
        find(&state, "console", "operator", "Yes, it ships today.").expect("still listed")
            ["deleted"],
        true
    );
    let (status, body) = api
        .post(&format!("/console/messages/{reply_id}/delete"), json!({}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("already_deleted"))
    );
    let (status, _) = api.post("/console/messages/424242/delete", json!({})).await;
    assert_eq!(status, 404);

    // An edit of a second reply reaches the phone.
    let (_, body) = api
        .post("/console/messages", json!({"text": "Tomorow at 9"}))
        .await;
    let second = body["id"].as_str().expect("id").to_string();
    api.until(10, "the second reply sent", |s| {
        let m = find(s, "console", "operator", "Tomorow at 9")?;
        (m["state"] != "sending").then_some(())
    })
    .await;
    let (status, body) = api
        .post(
            &format!("/console/messages/{second}/edit"),
            json!({"text": "Tomorrow at 9"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api.until(10, "the edit on the phone", |s| {
        let m = find(s, "phone", "business", "Tomorrow at 9")?;
        (m["edited"] == true).then_some(())
    })
    .await;

    // The customer deletes their own message: mirrored into the operator's chat.
    let (status, body) = api
        .post(&format!("/phone/messages/{customer_id}/delete"), json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    api.until(10, "the customer's delete in the operator's chat", |s| {
        let m = find(s, "console", "customer", "Is my order ready?")?;
        (m["deleted"] == true).then_some(())
    })
    .await;
    sandbox.stopper().stop().await;
}

#[actix_web::test]
async fn a_voice_note_reaches_the_operator_and_gets_its_transcript_green_api() {
    a_voice_note_reaches_the_operator_and_gets_its_transcript(WebGateway::GreenApi).await;
}

#[actix_web::test]
async fn a_voice_note_reaches_the_operator_and_gets_its_transcript_evolution() {
    a_voice_note_reaches_the_operator_and_gets_its_transcript(WebGateway::Evolution).await;
}

async fn a_voice_note_reaches_the_operator_and_gets_its_transcript(gateway: WebGateway) {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    assert!(
        model.exists(),
        "{} is missing: run `make model` first",
        model.display()
    );
    let (sandbox, _dir) = start_on(Some(model), gateway).await;
    let api = Client::new(&sandbox);
    assert_eq!(api.state().await["setup"]["transcription"], true);
    let (status, body) = api.post("/phone/voice", json!({})).await;
    assert_eq!(status, 201, "{body}");
    let transcript = api
        .until(60, "the voice note's transcript", |s| {
            messages(s, "console")
                .iter()
                .find(|m| m["from"] == "customer")
                .and_then(|m| m["transcript"].as_str().map(str::to_string))
        })
        .await
        .to_lowercase();
    assert!(
        transcript.contains("baker street"),
        "transcript: {transcript}"
    );
    let state = api.state().await;
    let note = messages(&state, "console")
        .iter()
        .find(|m| m["from"] == "customer")
        .expect("the note");
    let file = &note["files"][0];
    assert_eq!(file["kind"], "audio");
    // The page plays it from the service's own origin.
    let url = file["url"].as_str().expect("url");
    assert!(url.starts_with("/media/"), "{url}");
    let r = reqwest::get(format!("{}{url}", sandbox.url()))
        .await
        .expect("media");
    assert_eq!(r.status(), 200);
    let phone = messages(&state, "phone");
    assert_eq!(phone[0]["kind"], "voice");
    sandbox.stopper().stop().await;
}

#[actix_web::test]
async fn on_the_cloud_api_number_a_closed_window_holds_free_text_and_a_template_reopens_it() {
    let (sandbox, _dir) = start(None).await;
    let api = Client::new(&sandbox);
    let state = api.state_of("cloud").await;
    assert_eq!(state["number"], "cloud");
    assert_eq!(state["numbers"].as_array().map(Vec::len), Some(2));
    assert_eq!(state["window"]["state"], "none");
    // The account's templates were synced when the number was connected.
    let names: Vec<&str> = state["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["feedback_request", "order_update", "spring_sale"]);
    let (status, _) = api
        .http
        .get(format!("{}/state?number=x", api.url))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("answers");
    assert_eq!(status, 400);
    // Nothing to age before the customer wrote.
    let (status, body) = api.post("/cloud/window/age", json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("no_conversation"))
    );

    // The customer writes: the window opens for 24 hours.
    let (status, body) = api
        .post(
            "/cloud/phone/messages",
            json!({"text": "Where is my order A-42?"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let state = api
        .until_on("cloud", 10, "the customer's message in Open Line 2", |s| {
            find(s, "console", "customer", "Where is my order A-42?")?;
            (s["window"]["state"] == "open").then(|| s.clone())
        })
        .await;
    assert_eq!(state["console"]["line"], "2");
    let until = state["window"]["open_until"].as_i64().expect("open_until");
    let now = chrono::Utc::now().timestamp_millis();
    assert!((until - now - 24 * 3_600_000).abs() < 60_000, "{until}");
    // The gateway number's chat is another one.
    assert!(find(
        &api.state().await,
        "console",
        "customer",
        "Where is my order A-42?"
    )
    .is_none());

    // 25 hours later: the window is closed, and the phone shows the message that old.
    let (status, body) = api.post("/cloud/window/age", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let state = api.state_of("cloud").await;
    assert_eq!(state["window"]["state"], "closed", "{state:#}");
    let mine = find(&state, "phone", "customer", "Where is my order A-42?").expect("on the phone");
    let age = now - mine["at_ms"].as_i64().expect("at_ms");
    assert!((age - 25 * 3_600_000).abs() < 60_000, "{age}");

    // Free text is held back: the operator is told why at once, and nothing reaches the phone.
    let (status, body) = api
        .post("/cloud/console/messages", json!({"text": "Let me check."}))
        .await;
    assert_eq!(status, 201, "{body}");
    api.until_on(
        "cloud",
        10,
        "the window notice and the message not sent",
        |s| {
            let notice = messages(s, "console").iter().any(|m| {
                m["from"] == "system"
                    && m["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("24-hour window"))
            });
            let held = find(s, "console", "operator", "Let me check.")?;
            (notice && held["state"] == "failed").then_some(())
        },
    )
    .await;
    assert!(
        sandbox.state().graph.sent_messages().is_empty(),
        "nothing sent into the closed window"
    );

    // A template goes: on the phone filled in, with its ticks and quick-reply buttons.
    let (status, body) = api
        .post(
            "/cloud/console/messages",
            json!({"text": "/template order_update Maria | A-42"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let template = api
        .until_on("cloud", 15, "the template read on the phone", |s| {
            let m = find(
                s,
                "phone",
                "business",
                "Hello Maria, your order A-42 is on its way.",
            )
            .or_else(|| {
                messages(s, "phone").iter().find(|m| {
                    m["kind"] == "template"
                        && m["text"]
                            .as_str()
                            .is_some_and(|t| t.contains("Hello Maria, your order A-42"))
                })
            })?;
            (m["ticks"] == "read").then(|| m.clone())
        })
        .await;
    assert_eq!(
        template["buttons"],
        json!(["Thanks!", "Change the address"])
    );
    let state = api.state_of("cloud").await;
    assert!(
        messages(&state, "console")
            .iter()
            .any(|m| m["from"] == "system"
                && m["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Template \"order_update\""))),
        "{state:#}"
    );
    assert_eq!(
        state["window"]["state"], "closed",
        "a template does not open it"
    );

    // The customer taps a button: it arrives as a tap and the window opens again.
    let id = template["id"].as_str().expect("id");
    let (status, _) = api
        .post(
            &format!("/cloud/phone/messages/{id}/tap"),
            json!({"button": "Nope"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .post(
            &format!("/cloud/phone/messages/{id}/tap"),
            json!({"button": "Thanks!"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api.until_on(
        "cloud",
        10,
        "the tap in Open Lines and the window open",
        |s| {
            let tap = messages(s, "console").iter().any(|m| {
                m["from"] == "customer"
                    && m["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("Tapped the button") && t.contains("Thanks!"))
            });
            (tap && s["window"]["state"] == "open").then_some(())
        },
    )
    .await;
    let (status, body) = api
        .post(
            "/cloud/console/messages",
            json!({"text": "You are welcome!"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    api.until_on("cloud", 15, "free text on the phone again", |s| {
        let m = find(s, "phone", "business", "You are welcome!")?;
        (m["ticks"] == "read").then_some(())
    })
    .await;
    sandbox.stopper().stop().await;
}

#[actix_web::test]
async fn serve_has_no_sandbox_api() {
    b24wa::telemetry::init("warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::defaults().expect("defaults");
    settings.host = "127.0.0.1".into();
    settings.port = 0;
    settings.data_dir = dir.path().to_path_buf();
    settings.database_url = Some(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("b24wa.db").display()
    ));
    settings.transcribe_model = None;
    settings.http_workers = 1;
    let app = b24wa::startup::Application::build(settings)
        .await
        .expect("app builds");
    let url = app.public_url().to_string();
    let stopper = app.stopper();
    actix_web::rt::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/sandbox/api/state"),
        ("POST", "/sandbox/api/phone/messages"),
        ("POST", "/sandbox/api/console/messages"),
    ] {
        let r = http
            .request(method.parse().expect("method"), format!("{url}{path}"))
            .json(&json!({"text": "hi"}))
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    // The same service answers its own routes.
    let r = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    stopper.stop().await;
}
