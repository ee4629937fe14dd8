//! The template picker in the Open Lines chat (IM_TEXTAREA placement): bound on install, opened
//! by Bitrix24 with the chat's dialog, it lists the approved templates of the chat's Cloud API
//! number with the chat's window, refuses a POST not from the portal, and tells a gateway chat
//! that it needs none. The browser side (values, preview, the command) is in tests/admin_web.rs.

mod common;
mod sim;

use common::{spawn_app, wait_until, Backend, Number, TestApp};
use serde_json::{json, Value};
use sim::{GatewaySim, GatewaySimConfig, GraphSim};

on_both_databases!(
    an_app_without_the_placement_scope_installs_all_the_same,
    installing_binds_the_picker_in_open_lines_chats,
    the_picker_lists_the_approved_templates_and_the_window,
    a_forged_picker_post_is_refused,
    a_gateway_chat_needs_no_templates,
    a_russian_operator_reads_the_picker_in_russian,
);

const CUSTOMER: &str = "4917600000099";

fn templates() -> Vec<Value> {
    let order = |language: &str| {
        json!({
            "name": "order_update", "language": language, "status": "APPROVED", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
                 "example": {"header_text": ["A-1042"]}},
                {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way.",
                 "example": {"body_text": [["Maria", "A-1042"]]}}
            ]
        })
    };
    vec![
        order("en_US"),
        order("ru"),
        json!({"name": "promo_pending", "language": "en_US", "status": "PENDING",
               "category": "MARKETING", "components": [{"type": "BODY", "text": "Hi"}]}),
        json!({"name": "old_offer", "language": "en_US", "status": "REJECTED",
               "category": "MARKETING", "components": [{"type": "BODY", "text": "Bye"}]}),
        json!({"name": "spring_flyer", "language": "en_US", "status": "APPROVED",
               "category": "MARKETING", "components": [
                   {"type": "HEADER", "format": "IMAGE"},
                   {"type": "BODY", "text": "Spring sale!"}]}),
    ]
}

fn picker_url(app: &TestApp) -> String {
    format!("{}/bitrix24/placement/templates", app.url)
}

/// The Open Lines chat id Bitrix24 gave the customer's conversation.
async fn open_lines_chat(app: &TestApp, wa_id: &str) -> String {
    let b24 = app.b24.clone();
    let wa = wa_id.to_string();
    wait_until(10, "the customer's Open Lines chat", move || {
        b24.conversations().iter().any(|c| c.user_id == wa)
    })
    .await;
    app.b24
        .conversations()
        .into_iter()
        .find(|c| c.user_id == wa_id)
        .map(|c| c.b24_chat_id)
        .unwrap_or_default()
}

/// The picker for `b24_chat`, once our side knows the chat's Open Lines id (recorded right
/// after Bitrix24 answered the customer's message).
async fn open_picker(app: &TestApp, b24_chat: &str) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..100 {
        last = app
            .b24
            .open_chat_textarea_page(&picker_url(app), b24_chat)
            .await;
        if !last.1.contains("data-testid=\"not-ours\"") {
            return last;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

/// A Cloud API number with the templates synced and a customer who wrote `ago` seconds ago.
async fn cloud_chat(backend: Backend, ago: i64) -> (TestApp, Number, String) {
    cloud_chat_in(backend, ago, "en").await
}

/// `cloud_chat` on a portal whose users' Bitrix24 speaks `language` (the pages' `LANG`).
async fn cloud_chat_in(backend: Backend, ago: i64, language: &str) -> (TestApp, Number, String) {
    let cfg = sim::BitrixSimConfig {
        language: language.into(),
        ..Default::default()
    };
    let app = common::spawn_app_with(backend, cfg, |_| {}).await;
    app.install().await;
    for t in templates() {
        app.graph.add_template(t);
    }
    let n = app.connect("1", "4201").await;
    let (status, body) = app
        .api_post(
            &format!("/api/v1/numbers/{}/templates/sync", n.id),
            json!({"waba_id": app.graph.waba_id()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let inbound = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga",
        "wamid.PICK1",
        "Hello",
        sim::unix_now() - ago,
    );
    assert_eq!(
        app.graph.post_signed(&n.phone_number_id, inbound).await,
        200
    );
    let chat = open_lines_chat(&app, CUSTOMER).await;
    (app, n, chat)
}

async fn installing_binds_the_picker_in_open_lines_chats(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let b24 = app.b24.clone();
    wait_until(10, "the picker bound", move || !b24.placements().is_empty()).await;
    let bound = app.b24.placements();
    assert_eq!(bound.len(), 1, "{bound:?}");
    let p = &bound[0];
    assert_eq!(p["PLACEMENT"], "IM_TEXTAREA");
    assert_eq!(p["HANDLER"], picker_url(&app).as_str());
    assert_eq!(p["OPTIONS"]["context"], "LINES");
    assert!(p["TITLE"].as_str().is_some_and(|t| !t.is_empty()));
    // A reinstall finds it bound already ("Handler already binded"): setup still succeeds.
    let calls = app.b24.calls_of("placement.bind").len();
    assert_eq!(
        app.b24
            .install_via_event(&format!("{}/bitrix24/install", app.url))
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the picker bound again", move || {
        b24.calls_of("placement.bind").len() > calls
    })
    .await;
    let n = app.connect("1", "4200").await;
    assert_eq!(
        app.customer_writes(&n, CUSTOMER, "wamid.R1", "still here")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "messages flow after the reinstall", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.text == "still here")
    })
    .await;
    assert_eq!(app.b24.placements().len(), 1);
}

async fn the_picker_lists_the_approved_templates_and_the_window(backend: Backend) {
    // The customer wrote 30 hours ago: the window closed 6 hours ago.
    let (app, n, chat) = cloud_chat(backend, 30 * 3600).await;
    let (status, html) = open_picker(&app, &chat).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains(&format!("+{}", n.display_phone)), "{html}");
    assert!(html.contains("data-state=\"closed\""), "{html}");
    assert!(
        html.contains("The 24-hour window is closed since"),
        "{html}"
    );
    let listed: Vec<&str> = html
        .split("data-testid=\"template\" data-name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(
        listed,
        ["order_update", "order_update", "spring_flyer"],
        "only approved ones"
    );
    assert!(!html.contains("promo_pending") && !html.contains("old_offer"));
    assert!(html.contains("data-language=\"ru\""));
    assert!(
        html.contains("be sent from the chat: its header is a picture"),
        "{html}"
    );
    assert!(html.contains("Insert into message"));
    assert!(html.contains("//api.bitrix24.com/api/v1/"));
    // The customer writes again: the window is open until 24 h from now.
    assert_eq!(
        app.customer_writes(&n, CUSTOMER, "wamid.PICK2", "Me again")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "the new message in Bitrix24", move || {
        b24.customer_messages().iter().any(|m| m.text == "Me again")
    })
    .await;
    let (_, html) = open_picker(&app, &chat).await;
    assert!(html.contains("data-state=\"open\""), "{html}");
    assert!(html.contains("The 24-hour window is open until"), "{html}");
    // A chat that is not ours.
    let (status, html) = app
        .b24
        .open_chat_textarea_page(&picker_url(&app), "999999")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("not a WhatsApp chat of b24wa"), "{html}");
}

async fn a_forged_picker_post_is_refused(backend: Backend) {
    let (app, _n, chat) = cloud_chat(backend, 60).await;
    let options = json!({"dialogId": format!("chat{chat}")}).to_string();
    for (member, token) in [
        (app.b24.member_id(), "forged".to_string()),
        ("someone-else".to_string(), app.b24.application_token()),
    ] {
        let r = app
            .http
            .post(picker_url(&app))
            .form(&[
                ("member_id", member.as_str()),
                ("APPLICATION_TOKEN", token.as_str()),
                ("PLACEMENT", "IM_TEXTAREA"),
                ("PLACEMENT_OPTIONS", options.as_str()),
            ])
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status().as_u16(), 401);
        let html = r.text().await.unwrap_or_default();
        assert!(
            html.contains("Open this page from an Open Lines chat"),
            "{html}"
        );
        assert!(!html.contains("order_update"), "{html}");
    }
    // The real portal, without a dialog: said in words.
    let (status, html) = app.b24.open_chat_textarea_page(&picker_url(&app), "").await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("did not say which chat"), "{html}");
}

async fn a_gateway_chat_needs_no_templates(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(1101000088, "gw-token", "79990000088");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": "1101000088", "api_token_instance": "gw-token",
                   "display_phone": "79990000088"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(gw.scan_qr(1101000088).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "the connector active", move || {
        b24.connector_active("1")
    })
    .await;
    gw.customer_text(1101000088, "79001110099", "Vera", "hi")
        .await;
    let chat = open_lines_chat(&app, "79001110099").await;
    let (status, html) = open_picker(&app, &chat).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("No templates needed here"), "{html}");
    assert!(html.contains("+79990000088"), "{html}");
    assert!(!html.contains("Insert into message"));
}

/// The picker is a convenience: an app registered without the `placement` scope still installs,
/// relays, and sends templates by the typed command.
async fn an_app_without_the_placement_scope_installs_all_the_same(backend: Backend) {
    let cfg = sim::BitrixSimConfig {
        scope: "imconnector,imopenlines,im,crm".into(),
        ..Default::default()
    };
    let app = common::spawn_app_with(backend, cfg, |_| {}).await;
    app.install().await;
    let n = app.connect("1", "4201").await;
    assert_eq!(
        app.customer_writes(&n, CUSTOMER, "wamid.S1", "hello").await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(10, "messages flow", move || {
        b24.customer_messages().iter().any(|m| m.text == "hello")
    })
    .await;
    assert!(
        !app.b24.calls_of("placement.bind").is_empty(),
        "the bind was tried"
    );
    assert!(app.b24.placements().is_empty(), "and refused");
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

/// An operator whose Bitrix24 speaks Russian (LANG=ru) reads the picker in Russian: the window
/// with its date, the list, the reasons, the buttons and the script's own words.
async fn a_russian_operator_reads_the_picker_in_russian(backend: Backend) {
    let (app, n, chat) = cloud_chat_in(backend, 30 * 3600, "ru").await;
    let (status, html) = open_picker(&app, &chat).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"ru\">"), "{html}");
    assert!(html.contains("<title>Шаблоны WhatsApp</title>"), "{html}");
    assert!(
        html.contains(&format!(
            "Отправить шаблон <span class=\"muted\">с номера +{}",
            n.display_phone
        )),
        "{html}"
    );
    assert!(html.contains("Окно 24 часа закрыто с <time"), "{html}");
    assert!(
        html.contains("сейчас до клиента дойдёт только шаблон."),
        "{html}"
    );
    // The date in Russian: "7 декабря 2026 г., 14:05 UTC".
    let time = html
        .split("<time data-ms=\"")
        .nth(1)
        .and_then(|s| s.split("</time>").next())
        .unwrap_or_default();
    let ms: i64 = time.split('"').next().unwrap_or("").parse().unwrap_or(0);
    assert!(ms > 0, "{time}");
    assert!(
        time.ends_with(&b24wa::i18n::date_time(b24wa::i18n::Lang::ru(), ms)),
        "{time}"
    );
    assert!(time.contains(" г., ") && time.ends_with(" UTC"), "{time}");
    for words in [
        "Нельзя отправить из чата: в его заголовке картинка, видео или документ.",
        "<span class=\"badge cat\">сервисный</span>",
        "<span class=\"badge cat\">маркетинг</span>",
        "Предпросмотр",
        "Вставить в сообщение",
        // The script's words.
        "Заполните все значения.",
        "Скопируйте это в поле сообщения и нажмите «Отправить»:",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("Insert into message"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
    // Not from the portal, and a chat that is not ours: in Russian too.
    let r = app
        .http
        .post(format!("{}?LANG=ru", picker_url(&app)))
        .form(&[
            ("member_id", app.b24.member_id().as_str()),
            ("APPLICATION_TOKEN", "forged"),
            ("PLACEMENT", "IM_TEXTAREA"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 401);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("Откройте эту страницу из чата Открытых линий"),
        "{html}"
    );
    let (status, html) = app
        .b24
        .open_chat_textarea_page(&picker_url(&app), "999999")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Это не чат WhatsApp от b24wa"), "{html}");
    assert_eq!(catalogue_ids_in(&html), Vec::<String>::new());
}
