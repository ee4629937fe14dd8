//! The admin app in Russian, end to end in headless Chromium (admin-web/e2e/i18n.mjs, through
//! the harness of tests/web_e2e): a browser whose language is Russian gets sign-in, numbers,
//! usage, conversations, portals and the sandbox in Russian, with no catalogue key and no English
//! catalogue text on screen; the service's own error message comes in Russian (the app sends
//! Accept-Language) with its code in English; a language chosen in the switcher outlives a
//! reload; the portal's language for operators is chosen on the Portals page (once the service
//! has it). Screenshots: `target/screenshots/ru-admin-*.png`, `ru-sandbox-*.png`. English stays
//! the default for an English browser (tests/admin_web.rs).

mod common;
mod sim;
mod web_e2e;

use std::time::Duration;

use serde_json::json;
use web_e2e::{
    app_with_web, browser, install_tenant, items, run_e2e, screenshots, wait_api, web_root,
    PASSWORD,
};

#[actix_web::test]
async fn e2e_admin_app_in_russian_with_the_language_remembered() {
    let b = browser();
    let app = app_with_web(|_| {}).await;
    app.install().await;
    let n = app.connect("1", "310200407").await;
    assert_eq!(
        app.customer_writes(
            &n,
            "79161234567",
            "wamid.E2E.RU1",
            "Здравствуйте, где мой заказ?"
        )
        .await,
        200
    );
    let path = format!("/api/v1/numbers/{}/chats/79161234567/messages", n.id);
    wait_api(&app, &path, "the message stored", |v| {
        v["messages"].as_array().is_some_and(|m| m.len() == 1)
    })
    .await;
    let (tenant, _) = install_tenant(&app).await;
    let email = "admin@acme.test";
    let (s, v) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/users"),
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // The portal's language for operators is on the Portals page once the service reports it.
    let (_, portals) = app.api_get("/api/v1/portals").await;
    let portal = items(&portals).first().cloned().unwrap_or_default();
    let portal_language = portal.get("language").is_some();

    run_e2e(
        &b,
        json!({
            "url": app.url,
            "scenario": "ru-admin",
            "locale": "ru-RU",
            "email": email,
            "password": PASSWORD,
            "chromium": b.chromium,
            "screenshots": screenshots(),
            "portal_language": portal_language,
            "expect": {"display_phone": n.display_phone, "customer_name": "Anna Kowalska",
                       "inbound_total": 1},
        }),
        || async {},
    )
    .await;
    for shot in ["ru-admin-01-login.png", "ru-admin-02-numbers.png"] {
        assert!(screenshots().join(shot).is_file(), "{shot} was written");
    }
    if portal_language {
        // What the page chose is the portal's now.
        let (_, portals) = app.api_get("/api/v1/portals").await;
        let p = &items(&portals)[0];
        assert_eq!(p["language_override"], "en", "{p}");
        assert_eq!(p["language"], "en", "{p}");
    }
    common::settle().await;
}

#[actix_web::test]
async fn e2e_sandbox_in_russian() {
    let b = browser();
    b24wa::telemetry::init("warn");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = b24wa::config::Settings::defaults().expect("defaults");
    settings.admin_web_dir = web_root().join("dist");
    settings.http_workers = 2;
    let sandbox = b24wa::sandbox::Sandbox::start(
        settings,
        b24wa::sandbox::SandboxOptions {
            host: "127.0.0.1".into(),
            port: 0,
            data_dir: dir.path().join("sandbox"),
            transcribe_model: None,
            receipt_delay: Duration::from_millis(300),
            gateway: b24wa::sandbox::WebGateway::GreenApi,
        },
    )
    .await
    .expect("the sandbox starts");
    run_e2e(
        &b,
        json!({
            "url": sandbox.url(),
            "scenario": "ru-sandbox",
            "locale": "ru-RU",
            "chromium": b.chromium,
            "screenshots": screenshots(),
        }),
        || async {},
    )
    .await;
    assert!(screenshots()
        .join("ru-sandbox-02-conversation.png")
        .is_file());
    // The operator's answer reached the phone.
    let sent = sandbox
        .state()
        .web
        .green_api()
        .expect("the GREEN-API sandbox")
        .sent();
    assert!(
        sent.iter().any(|m| m.text.contains("отправим сегодня")),
        "{sent:?}"
    );
    sandbox.stopper().stop().await;
}
