//! The connector's settings page inside Bitrix24, as a portal admin uses it: Bitrix24 opens it
//! (SETTING_CONNECTOR placement POST) for a line; the admin connects a Cloud API number
//! (checked with Meta first) or a Web gateway instance (QR until the phone is linked), messages
//! then reach that line, and the admin can disconnect.

mod common;
mod sim;

use common::{spawn_app, wait_until, Backend, TestApp};
use sim::{GatewaySim, GatewaySimConfig};

on_both_databases!(
    cloud_number_is_checked_then_connected_from_the_settings_page,
    gateway_number_is_linked_by_qr_from_the_settings_page,
    the_page_refuses_strangers_and_expired_sessions,
    a_russian_admin_reads_the_settings_page_in_russian,
    the_page_follows_the_lang_bitrix24_sends_and_the_portal_keeps_it,
    the_install_page_speaks_the_admins_language,
);

/// Opens the settings page for `line` as Bitrix24 does; (status, HTML, session).
async fn open_page(app: &TestApp, line: &str) -> (u16, String, String) {
    let (status, html) = app
        .b24
        .open_connector_settings_page(
            &format!("{}/bitrix24/placement", app.url),
            "b24wa_whatsapp",
            line,
        )
        .await;
    let session = html
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .replace("&amp;", "&")
        .to_string();
    (status, html, session)
}

/// The page as Bitrix24 opens it for an admin whose interface language is `lang` (a POST with
/// the portal's own member_id and application token, `LANG` in the query).
async fn open_page_in(app: &TestApp, line: &str, lang: &str) -> (u16, String) {
    let options = format!("{{\"CONNECTOR\":\"b24wa_whatsapp\",\"LINE\":\"{line}\"}}");
    let r = app
        .http
        .post(format!(
            "{}/bitrix24/placement?DOMAIN={}&PROTOCOL=0&LANG={lang}&APP_SID=x",
            app.url,
            app.b24.domain()
        ))
        .form(&[
            ("member_id", app.b24.member_id().as_str()),
            ("APPLICATION_TOKEN", app.b24.application_token().as_str()),
            ("PLACEMENT", "SETTING_CONNECTOR"),
            ("PLACEMENT_OPTIONS", options.as_str()),
        ])
        .send()
        .await
        .expect("POST placement");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// Catalogue message ids (of the pages and the errors) that show in `html`: a text that was
/// never looked up, or one missing from the catalogue, shows as its id.
fn catalogue_ids_in(html: &str) -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/i18n/locales/en");
    ["pages.ftl", "errors.ftl"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("{dir}/{f}")).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_string()))
                .filter(|id| !id.is_empty() && !id.starts_with('#') && !id.contains(' '))
                .collect::<Vec<_>>()
        })
        .filter(|id| html.contains(id.as_str()))
        .collect()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .http
        .post(format!("{}{path}", app.url))
        .form(form)
        .send()
        .await
        .expect("POST form");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    html.split(start)
        .nth(1)
        .and_then(|s| s.split(end).next())
        .unwrap_or_default()
}

async fn cloud_number_is_checked_then_connected_from_the_settings_page(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    app.graph
        .add_number("1029384756", "meta-token-1", "meta-secret-1", "15551230000");
    let (status, html, session) = open_page(&app, "3").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("WhatsApp on Open Line 3"));
    assert!(html.contains("No WhatsApp number is connected"));
    assert!(!session.is_empty());
    // A wrong token: Meta refuses, nothing is saved, the admin reads why.
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/cloud",
        &[
            ("session", &session),
            ("phone_number_id", "1029384756"),
            ("access_token", "wrong"),
            ("app_secret", "meta-secret-1"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Meta refused these credentials"), "{html}");
    assert_eq!(
        app.api_get("/api/v1/numbers").await.1["total"].as_u64(),
        Some(0)
    );
    // The right ones: saved, activated on line 3, webhook URL and verify token shown.
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/cloud",
        &[
            ("session", &session),
            ("phone_number_id", "1029384756"),
            ("access_token", "meta-token-1"),
            ("app_secret", "meta-secret-1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("The connector is active on this line"),
        "{html}"
    );
    let webhook = between(&html, "<code id=\"webhook\">", "</code>").to_string();
    let verify = between(&html, "<code id=\"verify\">", "</code>").to_string();
    assert_eq!(
        webhook,
        format!("{}/webhooks/whatsapp/cloud/1029384756", app.url)
    );
    assert_eq!(verify.len(), 32);
    assert!(app.b24.connector_active("3"));
    // What the admin pastes into Meta works: the verification handshake answers the challenge.
    let (code, body) = sim::GraphSim::verify_webhook(&webhook, &verify, "challenge-42").await;
    assert_eq!((code, body.as_str()), (200, "challenge-42"));
    // A customer's message now reaches line 3.
    app.graph.set_webhook_url(&webhook);
    let body = sim::GraphSim::inbound_text_body(
        "1029384756",
        "15551230000",
        "79007770011",
        "Oleg",
        "wamid.PL1",
        "hello line 3",
        sim::unix_now(),
    );
    assert_eq!(app.graph.post_signed("1029384756", body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "the message on line 3", || {
        b24.customer_messages()
            .iter()
            .any(|m| m.line == "3" && m.text == "hello line 3")
    })
    .await;
    // The page now lists the number; disconnecting switches the connector off there.
    let (_, html, session) = open_page(&app, "3").await;
    assert!(html.contains("+15551230000"), "{html}");
    let id = between(&html, "name=\"number\" value=\"", "\"").to_string();
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/disconnect",
        &[("session", &session), ("number", &id)],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("is disconnected from this line"), "{html}");
    let b24 = app.b24.clone();
    wait_until(10, "connector off on line 3", || !b24.connector_active("3")).await;
    let (_, list) = app.api_get("/api/v1/numbers").await;
    assert_eq!(list["items"][0]["active"], false, "{list}");
}

async fn gateway_number_is_linked_by_qr_from_the_settings_page(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(1101000077, "gw-token-77", "79990000077");
    let (_, _, session) = open_page(&app, "2").await;
    // A wrong instance token is told in words.
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/gateway",
        &[
            ("session", &session),
            ("api_url", &gw.base_url()),
            ("id_instance", "1101000077"),
            ("api_token_instance", "nope"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("rejected this instance id or token"),
        "{html}"
    );
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/gateway",
        &[
            ("session", &session),
            ("api_url", &gw.base_url()),
            ("id_instance", "1101000077"),
            ("api_token_instance", "gw-token-77"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Link the phone"), "{html}");
    // The page polls this URL for the QR until the phone is linked.
    let qr_url = serde_json::from_str::<String>(between(&html, "const url = ", ";"))
        .expect("QR poll URL in the page");
    let poll = || async {
        app.http
            .get(&qr_url)
            .send()
            .await
            .expect("GET qr")
            .json::<serde_json::Value>()
            .await
            .expect("qr json")
    };
    let first = poll().await;
    assert_eq!(first["state"], "notAuthorized", "{first}");
    assert!(first["qr"]
        .as_str()
        .is_some_and(|q| q.starts_with("data:image/png;base64,")));
    assert_eq!(gw.scan_qr(1101000077).await, 200);
    let mut linked = serde_json::Value::Null;
    for _ in 0..100 {
        linked = poll().await;
        if linked["state"] == "authorized" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(linked["state"], "authorized", "{linked}");
    assert!(app.b24.connector_active("2"));
    gw.customer_text(1101000077, "79001110022", "Vera", "hi via gateway")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the message on line 2", || {
        b24.customer_messages()
            .iter()
            .any(|m| m.line == "2" && m.text == "hi via gateway")
    })
    .await;
}

async fn the_page_refuses_strangers_and_expired_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    // Not from an installed portal (wrong application token).
    let r = app
        .http
        .post(format!("{}/bitrix24/placement", app.url))
        .form(&[
            ("member_id", app.b24.member_id().as_str()),
            ("APPLICATION_TOKEN", "forged"),
            ("PLACEMENT", "SETTING_CONNECTOR"),
            ("PLACEMENT_OPTIONS", "{\"LINE\":\"1\"}"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 401);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("Open this page from your Bitrix24"));
    // A made-up or altered session cannot act on any line.
    let (_, _, session) = open_page(&app, "1").await;
    let mut altered = session.clone();
    altered.pop();
    altered.push(if session.ends_with('A') { 'B' } else { 'A' });
    for s in ["v1:AAAA", altered.as_str(), ""] {
        let (status, html) = post_form(
            &app,
            "/bitrix24/placement/cloud",
            &[
                ("session", s),
                ("phone_number_id", "1"),
                ("access_token", "x"),
                ("app_secret", "y"),
            ],
        )
        .await;
        assert_eq!(status, 401, "{s}: {html}");
        assert!(html.contains("This page has expired"));
    }
    // The page may be framed by Bitrix24.
    let r = app
        .http
        .post(format!("{}/bitrix24/placement", app.url))
        .send()
        .await
        .expect("POST");
    assert!(r.headers().get("x-frame-options").is_none());
}

/// A portal whose admin works in Russian (Bitrix24 sends LANG=ru): the whole page, its forms'
/// answers and its refusals are in Russian.
async fn a_russian_admin_reads_the_settings_page_in_russian(backend: Backend) {
    let cfg = sim::BitrixSimConfig {
        language: "ru".into(),
        ..Default::default()
    };
    let app = common::spawn_app_with(backend, cfg, |_| {}).await;
    app.install().await;
    app.graph
        .add_number("1029384757", "meta-token-2", "meta-secret-2", "15551230001");
    let (status, html, session) = open_page(&app, "3").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    for words in [
        "WhatsApp на открытой линии 3",
        "Сейчас подключено",
        "К этой линии пока не подключён ни один номер WhatsApp.",
        "Проверить и подключить",
        "Веб-шлюз WhatsApp",
        "Подключить и показать QR-код",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("Connected now"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
    // The page's own forms carry the language on.
    assert!(html.contains("/bitrix24/placement/cloud?LANG=ru"), "{html}");
    let cloud = |token: &'static str| {
        let session = session.clone();
        let app = &app;
        async move {
            post_form(
                app,
                "/bitrix24/placement/cloud?LANG=ru",
                &[
                    ("session", &session),
                    ("phone_number_id", "1029384757"),
                    ("access_token", token),
                    ("app_secret", "meta-secret-2"),
                ],
            )
            .await
        }
    };
    let (status, html) = cloud("wrong").await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Meta не приняла эти данные"), "{html}");
    let (status, html) = cloud("meta-token-2").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Коннектор подключён к этой линии."), "{html}");
    assert!(html.contains("Маркер подтверждения показывается только сейчас."));
    assert!(html.contains("<code id=\"verify\">"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
    // An expired session and a request not from the portal, said in Russian too.
    let (status, html) = post_form(
        &app,
        "/bitrix24/placement/cloud?LANG=ru",
        &[
            ("session", "v1:AAAA"),
            ("phone_number_id", "1"),
            ("access_token", "x"),
            ("app_secret", "y"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{html}");
    assert!(html.contains("Срок действия страницы истёк"), "{html}");
    let r = app
        .http
        .post(format!("{}/bitrix24/placement?LANG=ru", app.url))
        .form(&[
            ("member_id", app.b24.member_id().as_str()),
            ("APPLICATION_TOKEN", "forged"),
            ("PLACEMENT_OPTIONS", "{\"LINE\":\"1\"}"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 401);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("Откройте эту страницу из Контакт-центра"),
        "{html}"
    );
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
}

/// The page is in the language of each `LANG` (English by default, a Russian-speaking portal's
/// Kazakh in Russian), and an admin's `LANG` becomes the portal's language.
async fn the_page_follows_the_lang_bitrix24_sends_and_the_portal_keeps_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let (status, html, _) = open_page(&app, "2").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("WhatsApp on Open Line 2"), "{html}");
    assert!(html.contains("/bitrix24/placement/cloud?LANG=en"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
    let (_, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(portals["items"][0]["language"], "en", "{portals}");
    // The same portal opened by an admin whose Bitrix24 speaks Russian.
    let (status, html) = open_page_in(&app, "2", "ru").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    assert!(html.contains("WhatsApp на открытой линии 2"), "{html}");
    let (_, portals) = app.api_get("/api/v1/portals").await;
    assert_eq!(
        portals["items"][0]["language_from_bitrix24"], "ru",
        "{portals}"
    );
    assert_eq!(portals["items"][0]["language"], "ru", "{portals}");
    // Kazakh has no catalogue: Russian, by the fallback rule. Ukrainian: English.
    let (_, html) = open_page_in(&app, "2", "kz").await;
    assert!(html.contains("WhatsApp на открытой линии 2"), "{html}");
    let (_, html) = open_page_in(&app, "2", "ua").await;
    assert!(html.contains("WhatsApp on Open Line 2"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
}

/// The install page (an app with UI) in the installing admin's language, and a refused install
/// said as a page in that language, with its code.
async fn the_install_page_speaks_the_admins_language(backend: Backend) {
    let cfg = sim::BitrixSimConfig {
        language: "ru".into(),
        ..Default::default()
    };
    let app = common::spawn_app_with(backend, cfg, |_| {}).await;
    let (status, html) = app
        .b24
        .install_via_page_full(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    assert!(html.contains("Коннектор WhatsApp установлен."), "{html}");
    assert!(html.contains("откройте Контакт-центр"), "{html}");
    assert!(html.contains("BX24.installFinish()"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
    // A request that is not an install: refused as a page, in Russian, with the code.
    let r = app
        .http
        .post(format!(
            "{}/bitrix24/install?DOMAIN=x.bitrix24.ru&LANG=ru",
            app.url
        ))
        .form(&[("AUTH_ID", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html")));
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("Запрос установки не удалось прочитать"),
        "{html}"
    );
    assert!(html.contains("<code>invalid_install</code>"), "{html}");
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
}
