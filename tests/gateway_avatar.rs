//! A customer's avatar on a Web gateway number (GREEN-API `getAvatar`, Evolution
//! `fetchProfilePictureUrl`): asked when they write, at most daily, and passed to Bitrix24 with
//! their messages (`user.picture`); on both gateways (tests/web_gateways) and both databases.

mod common;
mod sim;
mod web_gateways;

use common::{wait_until, Backend};
use serde_json::json;
use web_gateways::{connect, Kind};

on_both_gateways!(the_customers_avatar_reaches_bitrix24_asked_at_most_daily);

const PICTURE: &str = "https://pps.whatsapp.net/v/t61.sim/ivan.jpg";

async fn the_customers_avatar_reaches_bitrix24_asked_at_most_daily(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.set_avatar(PICTURE);
    for (i, text) in ["hi", "are you there?"].into_iter().enumerate() {
        g.customer_text(text).await;
        let b24 = g.app.b24.clone();
        wait_until(10, "the message in Bitrix24", move || {
            b24.customer_messages().len() > i
        })
        .await;
    }
    let sent = g.app.b24.calls_of("imconnector.send.messages");
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
    assert_eq!(g.avatar_asks(), 1);
}
