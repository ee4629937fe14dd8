//! Receipts for messages that are not ours (typed or sent on the linked phone itself) wait for a
//! send of ours to claim them, then, an hour on, are done with instead of being brought back by
//! every inbox sweep.

mod common;
mod sim;

use std::time::Duration;

use common::{spawn_app, wait_until, Backend};
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use sim::{EvolutionCustomer, EvolutionSim, EvolutionSimConfig};

on_both_databases!(a_receipt_for_no_message_of_ours_is_dropped_after_an_hour);

const NAME: &str = "shop-orphans";

async fn open_receipts(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM inbox WHERE processed = false AND payload LIKE '%wa_status%'",
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<i64>("", "n").expect("count")
}

async fn a_receipt_for_no_message_of_ours_is_dropped_after_an_hour(backend: Backend) {
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
    let maria = EvolutionCustomer::phone("5511988887777", "Maria");
    evo.customer_text(NAME, &maria, "oi", None).await;
    let b24 = app.b24.clone();
    wait_until(10, "the message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    // A status for a message the phone sent itself (posted as Evolution would).
    let secret = evo.webhook(NAME).expect("webhook")["headers"]["x-b24wa-secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let body = json!({"event": "messages.update", "instance": NAME,
        "data": {"keyId": "3EB0FROMTHEPHONE", "remoteJid": "5511988887777@s.whatsapp.net",
                 "fromMe": true, "status": "DELIVERY_ACK", "instanceId": "sim"}});
    let r = app
        .http
        .post(format!("{}/webhooks/whatsapp/evolution/{id}", app.url))
        .header("x-b24wa-secret", secret)
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    let db = Database::connect(app.settings.database_url())
        .await
        .expect("db");
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    if open_receipts(&db).await != 1 {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT payload, processed FROM inbox",
            ))
            .await
            .expect("rows");
        for r in rows {
            eprintln!(
                "{:?} {:?}",
                r.try_get::<String>("", "payload"),
                r.try_get::<bool>("", "processed")
            );
        }
        panic!("waits for a send to claim it");
    }
    // An hour later (its stored time moved back), the next sweep is done with it.
    db.execute_unprepared(
        "UPDATE inbox SET created_at = created_at - 7200000 WHERE processed = false",
    )
    .await
    .expect("update");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while open_receipts(&db).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the orphan receipt stayed open"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await.expect("close");
}
