//! What someone types on the linked phone itself (GREEN-API `outgoingMessageReceived`,
//! Evolution `messages.upsert` with `fromMe:true`) shows in the chat as the company's words,
//! on both Web gateways (tests/web_gateways) and both databases.

mod common;
mod sim;
mod web_gateways;

use std::time::Duration;

use common::{wait_until, Backend};
use web_gateways::{connect, Kind};

on_both_gateways!(words_typed_on_the_phone_show_as_the_companys);

async fn words_typed_on_the_phone_show_as_the_companys(kind: Kind, backend: Backend) {
    let g = connect(kind, backend).await;
    // GREEN-API posts what the phone sends only with this webhook on (Evolution posts every
    // message of the instance).
    if kind == Kind::GreenApi {
        assert_eq!(
            g.green_api().settings(web_gateways::INSTANCE)["outgoingMessageWebhook"],
            "yes"
        );
    }
    g.link().await;
    g.customer_text("hi").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "the chat opened", move || {
        !b24.calls_of("imconnector.send.messages").is_empty()
    })
    .await;
    g.phone_text("answered from the phone").await;
    let b24 = g.app.b24.clone();
    wait_until(10, "the phone's words in the chat", move || {
        b24.system_notices().iter().any(|n| {
            n.message.contains("answered from the phone") && n.message.contains("linked phone")
        })
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(g.app.b24.customer_messages().len(), 1);
    assert!(g.sent().is_empty(), "nothing sent back");
}
