//! A customer's avatar on an Evolution number: asked with `fetchProfilePictureUrl` when they
//! write (at most daily) and passed to Bitrix24 with their messages (`user.picture`).

mod common;
mod sim;

use common::{spawn_app, wait_until, Backend};
use serde_json::json;
use sim::{EvolutionCustomer, EvolutionSim, EvolutionSimConfig};

on_both_databases!(the_customers_avatar_reaches_bitrix24_asked_at_most_daily);

const NAME: &str = "shop-avatar";
const CUSTOMER: &str = "5511988887777";
const PICTURE: &str = "https://pps.whatsapp.net/v/t61.sim/maria.jpg";

async fn the_customers_avatar_reaches_bitrix24_asked_at_most_daily(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"provider": "evolution", "member_id": app.b24.member_id(), "line": "1",
                   "base_url": evo.base_url(), "instance": NAME,
                   "api_key": evo.global_key()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["number"]["id"].as_i64().expect("id");
    app.api_get(&format!("/api/v1/numbers/{id}/qr")).await;
    assert_eq!(evo.link(NAME, "5511900000001").await, 200);
    evo.set_profile_picture(CUSTOMER, PICTURE);
    let maria = EvolutionCustomer::phone(CUSTOMER, "Maria");
    for (i, text) in ["oi", "tudo bem?"].into_iter().enumerate() {
        evo.customer_text(NAME, &maria, text, None).await;
        let b24 = app.b24.clone();
        wait_until(10, "the message in Bitrix24", move || {
            b24.customer_messages().len() > i
        })
        .await;
    }
    let sent = app.b24.calls_of("imconnector.send.messages");
    let pictures: Vec<_> = sent
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
    assert_eq!(pictures, vec![json!(PICTURE), json!(PICTURE)], "{sent:?}");
    assert_eq!(evo.calls_of("fetchProfilePictureUrl").len(), 1);
}
