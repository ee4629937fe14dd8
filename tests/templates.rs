//! A Cloud API number's message templates, end to end over HTTP
//! (../shared/contracts/whatsapp-templates.md §2): synced from the account on connect (every
//! page), on demand, and one at a time by the signed status webhook.

mod common;
mod sim;

use common::{chat_key, spawn_app, wait_until, Backend, Number, TestApp};
use serde_json::{json, Value};
use sim::GraphSim;

on_both_databases!(
    an_operator_sends_a_template_by_command_outside_the_window,
    template_mistakes_and_refusals_reach_the_operator,
    connecting_with_an_account_syncs_every_page_of_templates,
    a_sync_on_demand_names_the_account_and_follows_changes,
    a_status_webhook_changes_one_template_and_a_forged_one_nothing,
);

fn template(i: usize) -> Value {
    let status = if i % 10 == 3 { "REJECTED" } else { "APPROVED" };
    json!({
        "name": format!("order_update_{i:03}"),
        "language": if i.is_multiple_of(2) { "en_US" } else { "ru" },
        "status": status,
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
            {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way.",
             "example": {"body_text": [["Maria", "A-42"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
        ]
    })
}

/// Connects a Cloud API number with (or without) its account id, as `POST /numbers` does.
async fn connect(app: &TestApp, pnid: &str, waba_id: Option<&str>) -> Number {
    let n = Number {
        id: 0,
        phone_number_id: pnid.into(),
        line: "1".into(),
        access_token: format!("EAAG-{}", sim::random_hex(8)),
        app_secret: sim::random_hex(16),
        display_phone: "15550001111".into(),
    };
    app.graph
        .add_number(pnid, &n.access_token, &n.app_secret, &n.display_phone);
    let mut body = json!({
        "member_id": app.b24.member_id(), "line": "1", "phone_number_id": pnid,
        "display_phone": n.display_phone, "access_token": n.access_token,
        "app_secret": n.app_secret, "verify_token": "verify-me",
    });
    if let Some(w) = waba_id {
        body["waba_id"] = json!(w);
    }
    let (status, body) = app.api_post("/api/v1/numbers", body).await;
    assert_eq!(status, 201, "{body}");
    Number {
        id: body["number"]["id"].as_i64().expect("id"),
        ..n
    }
}

async fn templates_of(app: &TestApp, n: &Number) -> Value {
    let (status, body) = app
        .api_get(&format!("/api/v1/numbers/{}/templates", n.id))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn listing_calls(app: &TestApp) -> usize {
    app.graph
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/message_templates"))
        .count()
}

async fn connecting_with_an_account_syncs_every_page_of_templates(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    // 230 templates: three pages of 100.
    for i in 0..230 {
        app.graph.add_template(template(i));
    }
    let waba = app.graph.waba_id();
    let n = connect(&app, "4101", Some(&waba)).await;
    let mut body = Value::Null;
    for _ in 0..100 {
        body = templates_of(&app, &n).await;
        if body["templates"].as_array().map_or(0, Vec::len) == 230 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let list = body["templates"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 230, "every page synced");
    assert_eq!(body["waba_id"], waba.as_str());
    assert_eq!(listing_calls(&app), 3, "three pages, each asked once");
    let t = list
        .iter()
        .find(|t| t["name"] == "order_update_003")
        .expect("listed");
    assert_eq!(
        (&t["language"], &t["status"], &t["category"]),
        (&json!("ru"), &json!("REJECTED"), &json!("UTILITY"))
    );
    assert_eq!(t["parameter_format"], "POSITIONAL");
    assert_eq!(t["components"][1]["type"], "BODY");
    assert!(t["template_id"].as_str().is_some_and(|id| !id.is_empty()));
}

async fn a_sync_on_demand_names_the_account_and_follows_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    for i in 0..3 {
        app.graph.add_template(template(i));
    }
    let n = connect(&app, "4102", None).await;
    let sync = format!("/api/v1/numbers/{}/templates/sync", n.id);
    // No account named yet: a plain answer, nothing called.
    let (status, body) = app.api_post(&sync, json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "no_business_account");
    let (status, body) = app.api_post(&sync, json!({"waba_id": "12ab"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    assert_eq!(listing_calls(&app), 0);
    // An account Meta does not know for this token: Meta's refusal, in words.
    let (status, body) = app.api_post(&sync, json!({"waba_id": "999"})).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "whatsapp_refused");
    // The right one.
    let (status, body) = app
        .api_post(&sync, json!({"waba_id": app.graph.waba_id()}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["templates"].as_array().map(Vec::len), Some(3));
    // Meta's side changes: one more, one paused; the next sync shows both.
    app.graph.add_template(template(3));
    app.graph
        .set_template_status("order_update_000", "en_US", "PAUSED");
    let (status, body) = app.api_post(&sync, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let list = body["templates"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 4);
    let paused = list.iter().find(|t| t["name"] == "order_update_000");
    assert_eq!(paused.map(|t| t["status"].clone()), Some(json!("PAUSED")));
    // Another tenant's caller cannot see or sync them (404 like an unknown number).
    let (status, _) = app.api_get("/api/v1/numbers/999999/templates").await;
    assert_eq!(status, 404);
}

async fn a_status_webhook_changes_one_template_and_a_forged_one_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    app.graph.add_template(template(0));
    app.graph.add_template(template(1));
    let n = connect(&app, "4103", None).await;
    let sync = format!("/api/v1/numbers/{}/templates/sync", n.id);
    let (status, _) = app
        .api_post(&sync, json!({"waba_id": app.graph.waba_id()}))
        .await;
    assert_eq!(status, 200);
    let status_of = |body: &Value, name: &str| {
        body["templates"]
            .as_array()
            .and_then(|l| l.iter().find(|t| t["name"] == name).cloned())
            .map(|t| (t["status"].clone(), t["reason"].clone()))
    };
    // Signed with the account's app secret: stored.
    let code = app
        .graph
        .push_template_status(
            &n.phone_number_id,
            "order_update_001",
            "ru",
            "PAUSED",
            "LOW_QUALITY",
        )
        .await;
    assert_eq!(code, 200);
    let body = templates_of(&app, &n).await;
    assert_eq!(
        status_of(&body, "order_update_001"),
        Some((json!("PAUSED"), json!("LOW_QUALITY")))
    );
    assert_eq!(
        status_of(&body, "order_update_000").map(|s| s.0),
        Some(json!("APPROVED"))
    );
    // A forged one (another secret): acknowledged, nothing stored.
    let forged = json!({"object": "whatsapp_business_account", "entry": [{"id": app.graph.waba_id(),
        "time": 1, "changes": [{"field": "message_template_status_update", "value": {
        "event": "DISABLED", "message_template_id": 1, "message_template_name": "order_update_000",
        "message_template_language": "en_US", "reason": "NONE"}}]}]});
    let bytes = serde_json::to_vec(&forged).expect("json");
    let url = format!("{}/webhooks/whatsapp/cloud", app.url);
    let (code, _) = GraphSim::post_raw(
        &url,
        bytes.clone(),
        Some(GraphSim::sign("not-the-secret", &bytes)),
    )
    .await;
    assert_eq!(code, 200);
    let body = templates_of(&app, &n).await;
    assert_eq!(
        status_of(&body, "order_update_000").map(|s| s.0),
        Some(json!("APPROVED"))
    );
    // "NONE" is no reason.
    let code = app
        .graph
        .push_template_status(
            &n.phone_number_id,
            "order_update_001",
            "ru",
            "APPROVED",
            "NONE",
        )
        .await;
    assert_eq!(code, 200);
    let body = templates_of(&app, &n).await;
    assert_eq!(
        status_of(&body, "order_update_001"),
        Some((json!("APPROVED"), Value::Null))
    );
}

const CUSTOMER: &str = "4917600000088";

/// A Cloud API number with its account's templates synced, and a customer who last wrote
/// `ago` seconds ago (the window is closed past 24 h).
async fn with_templates(backend: Backend, pnid: &str, ago: i64) -> (TestApp, Number) {
    let app = spawn_app(backend).await;
    app.install().await;
    for i in 0..3 {
        app.graph.add_template(template(i));
    }
    let n = connect(&app, pnid, None).await;
    let sync = format!("/api/v1/numbers/{}/templates/sync", n.id);
    let (status, body) = app
        .api_post(&sync, json!({"waba_id": app.graph.waba_id()}))
        .await;
    assert_eq!(status, 200, "{body}");
    let body = GraphSim::inbound_text_body(
        pnid,
        &n.display_phone,
        CUSTOMER,
        "Olga",
        "wamid.FIRST",
        "Hello",
        sim::unix_now() - ago,
    );
    assert_eq!(app.graph.post_signed(pnid, body).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "customer message in Bitrix24", move || {
        b24.customer_message_count() > 0
    })
    .await;
    (app, n)
}

fn template_sends(app: &TestApp) -> Vec<sim::SentMsg> {
    app.graph
        .sent_messages()
        .into_iter()
        .filter(|m| m.kind == "template")
        .collect()
}

async fn an_operator_sends_a_template_by_command_outside_the_window(backend: Backend) {
    let (app, n) = with_templates(backend, "4104", 30 * 3600).await;
    let notice = app
        .operator_writes_expecting(
            &n,
            CUSTOMER,
            "/template order_update_000 A-42 | Maria | A-42",
            "to the customer",
        )
        .await;
    assert!(
        notice.contains("Hello Maria, your order A-42 is on its way."),
        "the chat shows it filled in: {notice}"
    );
    let graph = app.graph.clone();
    wait_until(10, "the template sent", move || {
        graph.sent_messages().iter().any(|m| m.kind == "template")
    })
    .await;
    let sent = template_sends(&app);
    assert_eq!(sent.len(), 1);
    let t = &sent[0].json["template"];
    assert_eq!(t["name"], "order_update_000");
    assert_eq!(t["language"]["code"], "en_US");
    assert_eq!(
        t["components"],
        json!([
            {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "A-42"}]}
        ])
    );
    assert!(!sent[0].outside_window, "templates go outside the window");
    // Ticks as usual: the operator's message is delivered.
    let im = app
        .b24
        .operator_messages()
        .last()
        .map(|m| m.im_message_id.clone())
        .unwrap_or_default();
    let b24 = app.b24.clone();
    wait_until(10, "the template delivered", move || {
        b24.operator_message_state(&im).as_deref() == Some("delivered")
    })
    .await;
    // Free text is still held back: only the customer reopens the window.
    app.operator_writes_expecting(&n, CUSTOMER, "Any questions?", "24-hour window")
        .await;
    // The customer taps the template's button: it arrives marked as a tap and reopens it.
    let tap = GraphSim::inbound_body(
        &n.phone_number_id,
        &n.display_phone,
        CUSTOMER,
        "Olga",
        json!({"context": {"from": n.display_phone, "id": sent[0].wamid}, "from": CUSTOMER,
               "id": "wamid.TAP", "timestamp": sim::unix_now().to_string(), "type": "button",
               "button": {"payload": "Thanks", "text": "Thanks"}}),
    );
    assert_eq!(app.graph.post_signed(&n.phone_number_id, tap).await, 200);
    let b24 = app.b24.clone();
    wait_until(10, "the tap in Bitrix24", move || {
        b24.customer_messages()
            .iter()
            .any(|m| m.text.contains("Tapped the button") && m.text.contains("Thanks"))
    })
    .await;
    let before = app.graph.sent_messages().len();
    let op = app
        .b24
        .operator_write("1", &chat_key(CUSTOMER, &n), "Glad to help")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(10, "free text sent again", move || {
        graph.sent_messages()[before..]
            .iter()
            .any(|m| m.kind == "text" && !m.outside_window)
    })
    .await;
}

async fn template_mistakes_and_refusals_reach_the_operator(backend: Backend) {
    let (app, n) = with_templates(backend, "4105", 3600).await;
    // A name that does not exist: the approved ones are listed (not the rejected one).
    let list = app
        .operator_writes_expecting(
            &n,
            CUSTOMER,
            "/template order_updat Maria",
            "no template named",
        )
        .await;
    assert!(list.contains("order_update_000 (en_US): 3"), "{list}");
    assert!(!list.contains("order_update_003"), "{list}");
    // Too few values: named with the variables.
    let few = app
        .operator_writes_expecting(
            &n,
            CUSTOMER,
            "/template order_update_000 Maria",
            "needs 3 value(s)",
        )
        .await;
    assert!(few.contains("1 given"), "{few}");
    assert!(
        template_sends(&app).is_empty(),
        "nothing sent for a mistake"
    );
    // WhatsApp paused it since the last sync: 132015 in words.
    app.graph
        .set_template_status("order_update_000", "en_US", "PAUSED");
    app.operator_writes_expecting(
        &n,
        CUSTOMER,
        "/template order_update_000 A | B | C",
        "paused",
    )
    .await;
    // Edited in WhatsApp Manager (four body values now): 132000 in words.
    app.graph.set_template_components(
        "order_update_001",
        "ru",
        json!([{"type": "BODY", "text": "{{1}} {{2}} {{3}} {{4}}"}]),
    );
    app.operator_writes_expecting(
        &n,
        CUSTOMER,
        "/template order_update_001 A | B | C",
        "do not match",
    )
    .await;
    // Deleted in WhatsApp Manager: 132001 in words.
    app.graph
        .set_template_status("order_update_002", "en_US", "DELETED");
    app.operator_writes_expecting(
        &n,
        CUSTOMER,
        "/template order_update_002 A | B | C",
        "does not know this template",
    )
    .await;
    // Disabled by WhatsApp since the last sync: 132016 in words.
    app.graph
        .set_template_status("order_update_000", "en_US", "DISABLED");
    app.operator_writes_expecting(
        &n,
        CUSTOMER,
        "/template order_update_000 A | B | C",
        "was disabled by WhatsApp",
    )
    .await;
    // Its header became a picture in WhatsApp Manager: the text value we send does not fit it
    // (132012 in words).
    app.graph.set_template_components(
        "order_update_001",
        "ru",
        json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "{{1}} {{2}}"}]),
    );
    app.operator_writes_expecting(
        &n,
        CUSTOMER,
        "/template order_update_001 A | B | C",
        "does not have the format",
    )
    .await;
    // Each refused send is recorded as failed.
    let (status, body) = app
        .api_get(&format!(
            "/api/v1/numbers/{}/chats/{CUSTOMER}/messages",
            n.id
        ))
        .await;
    assert_eq!(status, 200);
    let failed = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["kind"] == "template" && m["status"] == "failed")
        .count();
    assert_eq!(failed, 7, "{body}");
}
