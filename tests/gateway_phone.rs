//! What someone types on the linked phone itself (GREEN-API `outgoingMessageReceived`,
//! Evolution `messages.upsert` with `fromMe:true`) shows in the chat as the company's words,
//! on both Web gateways (tests/web_gateways) and both databases.

mod common;
mod sim;
mod web_gateways;

use std::time::Duration;

use common::{wait_until, Backend};
use web_gateways::{connect, Kind};

on_both_gateways!(
    words_typed_on_the_phone_show_as_the_companys,
    words_typed_before_the_chat_reached_open_lines_follow_the_first_message,
);

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

/// The phone answers while the customer's first message is still on its way to Open Lines (the
/// portal slow to answer `imconnector.send.messages`): the Open Lines chat id is not known yet,
/// and the phone's words must still appear there, after that message.
async fn words_typed_before_the_chat_reached_open_lines_follow_the_first_message(
    kind: Kind,
    backend: Backend,
) {
    let g = connect(kind, backend).await;
    g.link().await;
    g.app.b24.inject(
        Some("imconnector.send.messages"),
        sim::bitrix::BitrixFault::Timeout(Duration::from_millis(1500)),
        1,
    );
    g.customer_text("hi").await;
    let b24 = g.app.b24.clone();
    // The fault is taken when the call arrives: the first message is in flight from here.
    wait_until(10, "the first message on its way", move || {
        b24.pending_faults() == 0
    })
    .await;
    assert!(g.app.b24.customer_messages().is_empty(), "still in flight");
    g.phone_text("answered before the chat opened").await;
    let b24 = g.app.b24.clone();
    wait_until(15, "the phone's words in the chat", move || {
        b24.system_notices()
            .iter()
            .any(|n| n.message.contains("answered before the chat opened"))
    })
    .await;
    assert_eq!(g.app.b24.customer_messages().len(), 1);
    let notice = g
        .app
        .b24
        .system_notices()
        .into_iter()
        .find(|n| n.message.contains("answered before the chat opened"))
        .expect("seen above");
    let chat = &g.app.b24.customer_messages()[0];
    assert_eq!(
        notice.chat_id, chat.b24_chat_id,
        "in the customer's Open Lines chat"
    );
    assert!(notice.order > chat.order, "after the first message");
    assert!(g.sent().is_empty(), "nothing sent back");
}
