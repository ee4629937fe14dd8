//! Secrets never reach the logs: the real binary runs a full relay at `debug` level (install,
//! connect, both directions, a token refresh) and its whole log is searched for every secret.

mod common;
mod sim;

use common::{chat_key, spawn_process_logging, wait_until, Backend};
use secrecy::ExposeSecret;
use serde_json::json;
use sim::{GatewaySim, GatewaySimConfig};

on_both_databases!(no_secret_reaches_the_logs);

async fn no_secret_reaches_the_logs(backend: Backend) {
    let app = spawn_process_logging(backend, "debug").await;
    app.install().await;
    let (first_access, first_refresh) = app.b24.tokens();
    let n = app.connect("1", "5151").await;
    assert_eq!(
        app.customer_writes(&n, "4917000000009", "wamid.S1", "hello")
            .await,
        200
    );
    let b24 = app.b24.clone();
    wait_until(15, "customer message", move || {
        !b24.customer_messages().is_empty()
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("4917000000009", &n), "hi there")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    wait_until(15, "reply sent", move || !graph.sent_messages().is_empty()).await;
    // Force a refresh so new tokens pass through too.
    app.b24.expire_access_token();
    app.customer_writes(&n, "4917000000009", "wamid.S2", "again")
        .await;
    let b24 = app.b24.clone();
    wait_until(15, "second message after a refresh", move || {
        b24.customer_messages().len() >= 2
    })
    .await;
    // A gateway number too: its token travels in request URLs, the riskiest place.
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    let gw_token = "gw-secret-instance-token-0123456789";
    gw.add_instance(7100000001, gw_token, "79990000001");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "2", "api_url": gw.base_url(),
                   "id_instance": "7100000001", "api_token_instance": gw_token}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let webhook_token = gw.settings(7100000001)["webhookUrlToken"]
        .as_str()
        .expect("webhook token set")
        .to_string();
    assert_eq!(gw.scan_qr(7100000001).await, 200);
    gw.customer_text(7100000001, "79001110000", "Ivan", "privet")
        .await;
    let b24 = app.b24.clone();
    wait_until(15, "gateway message", move || {
        b24.customer_messages().len() >= 3
    })
    .await;
    let op = app
        .b24
        .operator_write("2", "79001110000@gw7100000001", "zdravstvuyte")
        .await;
    assert_eq!(op.http_status, 200);
    let g = gw.clone();
    wait_until(15, "gateway reply", move || !g.sent().is_empty()).await;
    let (access, refresh) = app.b24.tokens();
    assert_ne!(access, first_access, "a refresh happened");

    let log = app.log();
    assert!(
        log.lines().count() > 20 && log.contains("DEBUG"),
        "the child logged at debug level ({} lines)",
        log.lines().count()
    );
    let s = &app.settings;
    let mut secrets = vec![
        ("portal access token", first_access),
        ("portal refresh token", first_refresh),
        ("refreshed access token", access),
        ("refreshed refresh token", refresh),
        ("application token", app.b24.application_token()),
        ("number access token", n.access_token.clone()),
        ("number app secret", n.app_secret.clone()),
        ("gateway instance token", gw_token.to_string()),
        ("gateway webhook token", webhook_token),
        (
            "app client secret",
            s.app_client_secret.expose_secret().to_string(),
        ),
    ];
    if let Some(k) = &s.encryption_key {
        secrets.push(("encryption key", k.expose_secret().to_string()));
    }
    if let Some(k) = &s.jwt_secret {
        secrets.push(("JWT secret", k.expose_secret().to_string()));
    }
    for (what, secret) in secrets {
        assert!(secret.len() >= 8, "{what} is a real secret");
        assert!(!log.contains(&secret), "the {what} appears in the log");
    }
}
