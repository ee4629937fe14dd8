//! A GREEN-API number: what someone types on the linked phone itself (`outgoingMessageReceived`)
//! shows in the chat as the company's words, as on Evolution (tests/evolution_e2e.rs).

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app, wait_until, Backend};
use serde_json::json;
use sim::{GatewaySim, GatewaySimConfig};

on_both_databases!(words_typed_on_the_phone_show_as_the_companys);

const INSTANCE: u64 = 1101000077;
const CUSTOMER: &str = "79001234567";

async fn words_typed_on_the_phone_show_as_the_companys(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(INSTANCE, "gw-token-77", "79990000077");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": INSTANCE.to_string(), "api_token_instance": "gw-token-77"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(gw.settings(INSTANCE)["outgoingMessageWebhook"], "yes");
    let id = body["number"]["id"].as_i64().expect("id");
    let (status, _) = app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(status, 200);
    assert_eq!(gw.scan_qr(INSTANCE).await, 200);
    gw.customer_text(INSTANCE, CUSTOMER, "Ivan", "hi").await;
    let b24 = app.b24.clone();
    wait_until(10, "the chat opened", move || {
        !b24.calls_of("imconnector.send.messages").is_empty()
    })
    .await;
    gw.phone_text(INSTANCE, CUSTOMER, "answered from the phone")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the phone's words in the chat", move || {
        b24.system_notices().iter().any(|n| {
            n.message.contains("answered from the phone") && n.message.contains("linked phone")
        })
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.b24.customer_messages().len(), 1);
    assert!(gw.sent().is_empty(), "nothing sent back");
}
