//! Sending from CRM cards and robots (../shared/contracts/bitrix24-crm.md §1), end to end over
//! HTTP: one message-service provider per connected number, the HANDLER's checks, sending on
//! both transports (a Cloud API number only inside the 24-hour window), and the statuses back.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app, spawn_process, wait_until, Backend, Number, Peers};
use serde_json::json;
use sim::{GatewaySim, GatewaySimConfig, GraphSim};

on_both_databases!(
    a_provider_follows_each_number,
    a_cloud_number_sends_inside_the_window_and_reports_each_status,
    a_cloud_number_with_the_window_closed_reports_undelivered,
    a_gateway_number_always_sends,
    a_forged_post_stores_nothing,
    a_closed_window_goes_as_the_default_template,
    a_restart_between_storing_and_sending_sends_once,
    a_crm_message_while_the_chat_is_on_its_way_to_open_lines_is_shown_there,
);

const PHONE_TYPED: &str = "8 (999) 123-45-67";
const CUSTOMER: &str = "79991234567";

fn code(n: &Number) -> String {
    format!("b24wa_{}", n.id)
}

async fn provider_for(app: &Peers, n: &Number) {
    let b24 = app.b24.clone();
    let want = code(n);
    wait_until(10, "the number's provider registered", move || {
        b24.providers().iter().any(|(c, _)| *c == want)
    })
    .await;
}

async fn sms_statuses(app: &Peers, message_id: &str, n: usize) -> Vec<String> {
    let b24 = app.b24.clone();
    let id = message_id.to_string();
    wait_until(10, "statuses reported", move || {
        b24.sms_messages()
            .iter()
            .any(|m| m.message_id == id && m.statuses.len() >= n)
    })
    .await;
    app.b24
        .sms_messages()
        .into_iter()
        .find(|m| m.message_id == message_id)
        .map(|m| m.statuses)
        .unwrap_or_default()
}

async fn customer_wrote(app: &Peers, n: &Number, ago: i64) {
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga",
        "wamid.EARLIER",
        "Hello",
        sim::unix_now() - ago,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        b24.customer_message_count() > 0
    })
    .await;
}

async fn a_provider_follows_each_number(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let first = app.connect("1", "5101").await;
    let second = app.connect("2", "5102").await;
    provider_for(&app, &first).await;
    provider_for(&app, &second).await;
    let providers = app.b24.providers();
    let (_, p) = providers
        .iter()
        .find(|(c, _)| *c == code(&first))
        .expect("registered");
    assert_eq!(
        p["HANDLER"].as_str(),
        Some(format!("{}/bitrix24/messageservice", app.url).as_str())
    );
    assert_eq!(
        p["NAME"]["ru"],
        format!("WhatsApp +{}", first.display_phone)
    );
    assert!(p["NAME"]["en"].is_string());
    // Connecting again (a rename) updates it; disconnecting removes it.
    let (status, _) = app
        .api_post(
            &format!("/api/v1/numbers/{}/disconnect", first.id),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let b24 = app.b24.clone();
    let gone = code(&first);
    wait_until(10, "the provider removed", move || {
        !b24.providers().iter().any(|(c, _)| *c == gone)
    })
    .await;
    assert!(app.b24.providers().iter().any(|(c, _)| *c == code(&second)));
}

async fn a_cloud_number_sends_inside_the_window_and_reports_each_status(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "5103").await;
    provider_for(&app, &n).await;
    customer_wrote(&app, &n, 3600).await;
    app.graph
        .set_auto_statuses(vec!["sent", "delivered", "read"]);
    let (status, message_id) = app
        .b24
        .send_from_crm(&code(&n), PHONE_TYPED, "Your invoice is ready")
        .await;
    assert_eq!(status, 200);
    let graph = app.graph.clone();
    wait_until(10, "the CRM message sent", move || {
        graph
            .sent_messages()
            .iter()
            .any(|m| m.text == "Your invoice is ready")
    })
    .await;
    let sent = app.graph.sent_messages();
    let m = sent
        .iter()
        .find(|m| m.text == "Your invoice is ready")
        .expect("sent");
    assert_eq!(m.to, CUSTOMER, "the CRM phone normalised");
    assert!(!m.outside_window);
    // sent, delivered; read is ours only (the message service has no read).
    assert_eq!(
        sms_statuses(&app, &message_id, 2).await,
        vec!["sent", "delivered"]
    );
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sms_statuses(&app, &message_id, 2).await,
        vec!["sent", "delivered"]
    );
    // The customer's Open Lines chat shows it as context.
    let b24 = app.b24.clone();
    wait_until(10, "the CRM message shown in Open Lines", move || {
        b24.system_notices().iter().any(|s| {
            s.message.contains("Sent from the CRM by Sim Operator") && s.message.contains("invoice")
        })
    })
    .await;
    // A robot's message goes the same way.
    let (status, robot_id) = app
        .b24
        .send_from_robot(&code(&n), PHONE_TYPED, "Reminder: invoice sent")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        sms_statuses(&app, &robot_id, 2).await,
        vec!["sent", "delivered"]
    );
    // Each counts as an outbound message in the usage.
    let (status, usage) = app.api_get("/api/v1/usage").await;
    assert_eq!(status, 200, "{usage}");
    let outbound: i64 = usage["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["totals"]["outbound"].as_i64())
        .sum();
    assert_eq!(outbound, 2, "{usage}");
}

async fn a_cloud_number_with_the_window_closed_reports_undelivered(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "5104").await;
    provider_for(&app, &n).await;
    // The customer never wrote to this number.
    let (status, message_id) = app
        .b24
        .send_from_crm(&code(&n), PHONE_TYPED, "Hello from sales")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        sms_statuses(&app, &message_id, 1).await,
        vec!["undelivered"]
    );
    assert!(
        app.graph.sent_messages().is_empty(),
        "nothing sent into a closed window"
    );
}

async fn a_gateway_number_always_sends(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(1101000077, "gw-token", "79990000000");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": "1101000077", "api_token_instance": "gw-token",
                   "display_phone": "79990000000"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["number"]["id"].as_i64().expect("id");
    assert_eq!(gw.scan_qr(1101000077).await, 200);
    let b24 = app.b24.clone();
    let want = format!("b24wa_{id}");
    wait_until(10, "the gateway number's provider", move || {
        b24.providers().iter().any(|(c, _)| *c == want)
    })
    .await;
    // No window on a linked phone: a first message from the CRM goes.
    let (status, message_id) = app
        .b24
        .send_from_crm(
            &format!("b24wa_{id}"),
            "+7 999 123-45-67",
            "Your order shipped",
        )
        .await;
    assert_eq!(status, 200);
    let g = gw.clone();
    wait_until(10, "sent through the gateway", move || {
        g.sent().iter().any(|m| m.text == "Your order shipped")
    })
    .await;
    let sent = gw.sent();
    let m = sent
        .iter()
        .find(|m| m.text == "Your order shipped")
        .expect("sent");
    assert_eq!(m.chat_id, format!("{CUSTOMER}@c.us"));
    assert_eq!(
        sms_statuses(&app, &message_id, 2).await,
        vec!["sent", "delivered"]
    );
}

async fn a_forged_post_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "5105").await;
    provider_for(&app, &n).await;
    customer_wrote(&app, &n, 60).await;
    let form = [
        ("type", "SMS".to_string()),
        ("code", code(&n)),
        ("message_id", "0123456789abcdef0123456789abcdef".into()),
        ("message_to", PHONE_TYPED.into()),
        ("message_body", "Send me your card number".into()),
        ("auth[member_id]", app.b24.member_id()),
        ("auth[application_token]", "not-the-token".into()),
    ];
    let r = reqwest::Client::new()
        .post(format!("{}/bitrix24/messageservice", app.url))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.status().as_u16(),
        200,
        "answered 200 (Bitrix24 ignores it)"
    );
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !app.graph
            .sent_messages()
            .iter()
            .any(|m| m.text.contains("card number")),
        "nothing sent"
    );
    let (_, body) = app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/{CUSTOMER}/messages",
            n.id
        ))
        .await;
    assert!(!body.to_string().contains("card number"), "nothing stored");
}

async fn a_closed_window_goes_as_the_default_template(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    app.graph.add_template(json!({"name": "crm_note", "language": "ru", "status": "APPROVED",
        "category": "UTILITY", "components": [{"type": "BODY", "text": "Сообщение от компании: {{1}}"}]}));
    app.graph.add_template(
        json!({"name": "order_update", "language": "ru", "status": "APPROVED",
        "category": "UTILITY", "components": [{"type": "BODY", "text": "{{1}}: {{2}}"}]}),
    );
    let n = app.connect("1", "5106").await;
    provider_for(&app, &n).await;
    let (status, _) = app
        .api_post(
            &format!("/api/v1/numbers/{}/templates/sync", n.id),
            json!({"waba_id": app.graph.waba_id()}),
        )
        .await;
    assert_eq!(status, 200);
    let default = format!("{}/api/v1/numbers/{}/templates/default", app.url, n.id);
    let put = |body: serde_json::Value| {
        let (url, token) = (default.clone(), app.token.clone());
        async move {
            let r = reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("put");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // Two variables: it could not carry one text.
    let (status, body) = put(json!({"template": {"name": "order_update", "language": "ru"}})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    let (status, body) = put(json!({"template": {"name": "crm_note", "language": "ru"}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["default_template"],
        json!({"name": "crm_note", "language": "ru"})
    );
    // The customer never wrote: the text goes in the default template.
    let (status, message_id) = app
        .b24
        .send_from_crm(&code(&n), PHONE_TYPED, "Счёт №42 готов")
        .await;
    assert_eq!(status, 200);
    let graph = app.graph.clone();
    wait_until(10, "the template sent", move || {
        graph.sent_messages().iter().any(|m| m.kind == "template")
    })
    .await;
    let sent = app.graph.sent_messages();
    let t = &sent
        .iter()
        .find(|m| m.kind == "template")
        .expect("sent")
        .json["template"];
    assert_eq!(t["name"], "crm_note");
    assert_eq!(
        t["components"],
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Счёт №42 готов"}]}])
    );
    assert_eq!(
        sms_statuses(&app, &message_id, 2).await,
        vec!["sent", "delivered"]
    );
    // Cleared: a closed window is undelivered again.
    let (status, body) = put(json!({"template": null})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["default_template"].is_null());
    let (_, second) = app.b24.send_from_crm(&code(&n), PHONE_TYPED, "Again").await;
    assert_eq!(sms_statuses(&app, &second, 1).await, vec!["undelivered"]);
}

/// Bitrix24 posts a CRM message once and never again: once answered, it must go out even if
/// the service dies before sending it, and only once.
async fn a_restart_between_storing_and_sending_sends_once(backend: Backend) {
    let app = spawn_process(backend).await;
    app.install().await;
    let n = app.connect("1", "5107").await;
    provider_for(&app, &n).await;
    customer_wrote(&app, &n, 60).await;
    // WhatsApp is unreachable: the message is stored and answered, not sent.
    app.graph.set_down(true);
    let (status, message_id) = app
        .b24
        .send_from_crm(&code(&n), PHONE_TYPED, "Stored before the crash")
        .await;
    assert_eq!(status, 200);
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    app.kill();
    app.graph.set_down(false);
    app.restart().await;
    let graph = app.graph.clone();
    wait_until(20, "sent after the restart", move || {
        graph
            .sent_messages()
            .iter()
            .any(|m| m.text == "Stored before the crash")
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    let copies = app
        .graph
        .sent_messages()
        .iter()
        .filter(|m| m.text == "Stored before the crash")
        .count();
    assert_eq!(copies, 1, "sent once");
    assert_eq!(
        sms_statuses(&app, &message_id, 2).await,
        vec!["sent", "delivered"]
    );
}

/// Bitrix24 is down when a customer's first message comes, so its Open Lines chat is not known
/// yet when the CRM sends: the notice waits behind that message and shows in its chat.
async fn a_crm_message_while_the_chat_is_on_its_way_to_open_lines_is_shown_there(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "5108").await;
    provider_for(&app, &n).await;
    app.b24.set_down(true);
    let body = GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga",
        "wamid.WHILE.DOWN",
        "Hello while you are down",
        sim::unix_now() - 60,
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, body).await, 200);
    let mut stored = 0;
    for _ in 0..200 {
        let (status, page) = app.api_get("/api/v1/messages?q=while%20you").await;
        assert_eq!(status, 200, "{page}");
        stored = page["total"].as_u64().unwrap_or(0);
        if stored > 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored, 1, "the customer's message is stored");
    assert_eq!(app.b24.customer_message_count(), 0, "not in Open Lines yet");
    let (status, _) = app
        .b24
        .send_from_crm(&code(&n), PHONE_TYPED, "Your invoice is ready")
        .await;
    assert_eq!(status, 200);
    app.b24.set_down(false);
    let b24 = app.b24.clone();
    wait_until(30, "the CRM message shown in Open Lines", move || {
        b24.system_notices()
            .iter()
            .any(|s| s.message.contains("invoice"))
    })
    .await;
    assert_eq!(app.b24.customer_message_count(), 1);
}
