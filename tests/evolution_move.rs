//! A number moved from GREEN-API to Evolution API keeps its chats: the Evolution connect names
//! the GREEN-API number it `replaces`; the customer's next message lands in the same Open Lines
//! chat, and answers go out through Evolution.

mod common;
mod sim;

use common::{spawn_app, wait_until, Backend};
use serde_json::json;
use sim::{EvolutionCustomer, EvolutionSim, EvolutionSimConfig, GatewaySim, GatewaySimConfig};

on_both_databases!(a_number_moved_from_green_api_to_evolution_keeps_its_chats);

const INSTANCE: u64 = 1101000088;
const NAME: &str = "moved-1";
const CUSTOMER: &str = "79001234567";

async fn a_number_moved_from_green_api_to_evolution_keeps_its_chats(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(INSTANCE, "gw-token-88", "79990000088");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": INSTANCE.to_string(), "api_token_instance": "gw-token-88"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["number"]["id"].as_i64().expect("id");
    let key = body["number"]["phone_number_id"]
        .as_str()
        .expect("key")
        .to_string();
    app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(gw.scan_qr(INSTANCE).await, 200);
    gw.customer_text(INSTANCE, CUSTOMER, "Ivan", "on green")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the first message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let chat = app.b24.customer_messages()[0].chat_id.clone();
    assert_eq!(chat, format!("{CUSTOMER}@{key}"));

    // Moved: the same number, its key kept, now an Evolution instance.
    let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
    let connect = |replaces: i64| {
        json!({"provider": "evolution", "member_id": app.b24.member_id(), "line": "1",
               "base_url": evo.base_url(), "instance": NAME, "api_key": evo.global_key(),
               "replaces": replaces})
    };
    let (status, body) = app
        .api_post("/api/v1/numbers/gateway", connect(id + 1000))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.api_post("/api/v1/numbers/gateway", connect(id)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["number"]["id"].as_i64(), Some(id));
    assert_eq!(
        body["number"]["phone_number_id"].as_str(),
        Some(key.as_str())
    );
    app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(evo.link(NAME, "79990000088").await, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, list) = app.api_get("/api/v1/numbers").await;
        let state = list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|n| n["id"].as_i64() == Some(id)).cloned())
            .map(|n| n["session_state"].clone());
        if state == Some(json!("authorized")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never linked: {state:?}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ivan = EvolutionCustomer::phone(CUSTOMER, "Ivan");
    evo.customer_text(NAME, &ivan, "on evolution", None).await;
    let b24 = app.b24.clone();
    wait_until(10, "the second message", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    assert_eq!(app.b24.customer_messages()[1].chat_id, chat);
    let before = gw.sent().len();
    let op = app.b24.operator_write("1", &chat, "answered").await;
    assert_eq!(op.http_status, 200);
    let e = evo.clone();
    wait_until(10, "sent through Evolution", move || !e.sent().is_empty()).await;
    assert_eq!(
        evo.sent()[0].remote_jid,
        format!("{CUSTOMER}@s.whatsapp.net")
    );
    assert_eq!(
        gw.sent().len(),
        before,
        "nothing through GREEN-API any more"
    );
}
