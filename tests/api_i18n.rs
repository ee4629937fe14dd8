//! The JSON API's error messages in the caller's language: `Accept-Language` picks the message's
//! language (English without one, or for a language the catalogues do not hold), while the
//! `code` clients branch on stays the same English identifier. A middleware re-renders the
//! message, so every route and extractor answers the same way.

mod common;
mod sim;

use common::{spawn_app, spawn_app_with, Backend, TestApp};
use serde_json::Value;

on_both_databases!(
    api_errors_speak_the_callers_language,
    a_refusal_by_a_middleware_speaks_it_too,
);

/// `GET path` with `Accept-Language` (when given) and, with `auth`, the support token.
async fn get(app: &TestApp, path: &str, lang: Option<&str>, auth: bool) -> (u16, Value) {
    let mut r = app.http.get(format!("{}{path}", app.url));
    if let Some(l) = lang {
        r = r.header("Accept-Language", l);
    }
    if auth {
        r = r.bearer_auth(&app.token);
    }
    let r = r.send().await.expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn error(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["message"].as_str().unwrap_or(""),
    )
}

async fn api_errors_speak_the_callers_language(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;

    // No token: 401 token_missing, the message in each language.
    let english = "Authorization: Bearer <token> is required";
    for (lang, words) in [
        (None, english),
        (Some("en"), english),
        (Some("de-DE,de;q=0.9"), english),
        (Some("ru"), "нужен заголовок Authorization: Bearer <token>"),
        (
            Some("ru-RU,ru;q=0.9,en;q=0.8"),
            "нужен заголовок Authorization: Bearer <token>",
        ),
        // Kazakh has no catalogue: Russian, by the fallback rule.
        (
            Some("kk-KZ"),
            "нужен заголовок Authorization: Bearer <token>",
        ),
    ] {
        let (status, body) = get(&app, "/api/v1/numbers", lang, false).await;
        assert_eq!(status, 401, "{lang:?}: {body}");
        assert_eq!(error(&body), ("token_missing", words), "{lang:?}");
    }

    // An invalid field, named in the message in both languages.
    let (status, body) = get(&app, "/api/v1/numbers?per_page=0", None, true).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        error(&body),
        ("invalid_field", "per_page must be a number from 1 to 200")
    );
    let (status, body) = get(&app, "/api/v1/numbers?per_page=0", Some("ru"), true).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        error(&body),
        ("invalid_field", "per_page: нужно число от 1 до 200")
    );
    // A Russian plural in a message: "at most 100 characters".
    let long = "x".repeat(101);
    let (_, body) = get(&app, &format!("/api/v1/numbers?q={long}"), Some("ru"), true).await;
    assert_eq!(error(&body), ("invalid_field", "q: не более 100 символов"));

    // An unknown number.
    let (status, body) = get(&app, "/api/v1/numbers/424242/templates", Some("ru"), true).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(error(&body), ("unknown_number", "номера с таким id нет"));
    let (status, body) = get(
        &app,
        "/api/v1/numbers/424242/templates",
        Some("en-GB"),
        true,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(error(&body), ("unknown_number", "no number with this id"));

    // A path or a query the extractors cannot read: JSON errors too, in the caller's language.
    let (status, body) = get(&app, "/api/v1/numbers/abc/templates", Some("ru"), true).await;
    assert_eq!(status, 404, "{body}");
    let (code, message) = error(&body);
    assert_eq!(code, "not_found", "{body}");
    assert!(message.starts_with("здесь ничего нет: "), "{message}");
    let (status, body) = get(&app, "/bitrix24/placement/qr?number=x", None, false).await;
    assert_eq!(status, 400, "{body}");
    let (code, message) = error(&body);
    assert_eq!(code, "invalid_field", "{body}");
    assert!(
        message.starts_with("the query could not be read: "),
        "{message}"
    );

    // A body that is not JSON: serde's own words inside a sentence in the caller's language.
    let r = app
        .http
        .post(format!("{}/api/v1/numbers/gateway", app.url))
        .bearer_auth(&app.token)
        .header("Accept-Language", "ru")
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let (code, message) = error(&body);
    assert_eq!(code, "invalid_json", "{body}");
    assert!(
        message.starts_with("тело запроса — не тот JSON, который ожидает этот метод: "),
        "{message}"
    );
    assert!(message.len() > "тело запроса — не тот JSON, который ожидает этот метод: ".len());

    // A webhook refusal (a handler's error, before any portal is known) follows the header too.
    let r = app
        .http
        .post(format!("{}/webhooks/whatsapp/cloud", app.url))
        .header("Accept-Language", "ru")
        .header("Content-Type", "application/json")
        .body(r#"{"object":"page","entry":[]}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(
        error(&body),
        (
            "unsupported_object",
            "это не вебхук аккаунта WhatsApp Business (object = page)"
        )
    );
}

/// The per-IP limit refuses in a middleware, before any handler: the refusal is in the caller's
/// language too, with its status, code and `Retry-After` kept.
async fn a_refusal_by_a_middleware_speaks_it_too(backend: Backend) {
    let app = spawn_app_with(backend, sim::BitrixSimConfig::default(), |s| {
        s.public_rate_per_ip = 1;
        s.public_burst_per_ip = 1;
    })
    .await;
    let post = |lang: &'static str| {
        app.http
            .post(format!("{}/webhooks/whatsapp/cloud", app.url))
            .header("Accept-Language", lang)
            .header("Content-Type", "application/json")
            .body(r#"{"object":"page","entry":[]}"#)
            .send()
    };
    let mut refused = None;
    for lang in ["ru", "ru", "ru", "en"] {
        let r = post(lang).await.expect("POST");
        if r.status().as_u16() == 429 {
            let retry = r.headers().get("Retry-After").is_some();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            refused.get_or_insert((lang, retry, body));
        }
    }
    let (lang, retry, body) = refused.expect("the per-IP limit refused a request");
    assert_eq!(lang, "ru");
    assert!(retry, "{body}");
    assert_eq!(
        error(&body),
        (
            "rate_limited",
            "слишком много запросов с этого адреса; повторите позже"
        )
    );
}
