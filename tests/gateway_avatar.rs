//! A customer's avatar on a GREEN-API number: asked with `getAvatar` when they write (at most
//! daily) and passed to Bitrix24 with their messages (`user.picture`), as on Evolution
//! (tests/evolution_avatar.rs).

mod common;
mod sim;

use common::{spawn_app, wait_until, Backend};
use serde_json::json;
use sim::{GatewaySim, GatewaySimConfig};

on_both_databases!(the_customers_avatar_reaches_bitrix24_asked_at_most_daily);

const INSTANCE: u64 = 1101000099;
const CUSTOMER: &str = "79001234567";
const PICTURE: &str = "https://pps.whatsapp.net/v/t61.sim/ivan.jpg";

async fn the_customers_avatar_reaches_bitrix24_asked_at_most_daily(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(INSTANCE, "gw-token-99", "79990000099");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "1", "api_url": gw.base_url(),
                   "id_instance": INSTANCE.to_string(), "api_token_instance": "gw-token-99"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["number"]["id"].as_i64().expect("id");
    app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(gw.scan_qr(INSTANCE).await, 200);
    gw.set_avatar(CUSTOMER, PICTURE);
    for (i, text) in ["hi", "are you there?"].into_iter().enumerate() {
        gw.customer_text(INSTANCE, CUSTOMER, "Ivan", text).await;
        let b24 = app.b24.clone();
        wait_until(10, "the message in Bitrix24", move || {
            b24.customer_messages().len() > i
        })
        .await;
    }
    let pictures: Vec<_> = app
        .b24
        .calls_of("imconnector.send.messages")
        .iter()
        .flat_map(|c| {
            c.body["MESSAGES"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|m| m["user"]["picture"]["url"].clone())
        })
        .collect();
    assert_eq!(pictures, vec![json!(PICTURE), json!(PICTURE)]);
    let asked = gw
        .calls()
        .iter()
        .filter(|c| c.method == "getAvatar")
        .count();
    assert_eq!(asked, 1);
}
