//! Tenant isolation: every admin API route, walked with a tenant admin's token of tenant B
//! against tenant A's resources, answers 403 or 404 and never A's data; A's own admin sees and
//! acts on them; billing reads everything and changes nothing.

mod common;
mod sim;

use b24wa::http::api::auth::{JwtKeys, Role};
use common::{spawn_app, wait_until, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(a_tenant_never_sees_or_changes_another_tenants_data);

fn token(app: &TestApp, role: Role, tenant: Option<i64>) -> String {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("isolation", role, tenant, 600)
        .expect("sign")
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn a_tenant_never_sees_or_changes_another_tenants_data(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let n = app.connect("1", "700100200").await;
    app.customer_writes(&n, "79004440011", "wamid.ISO1", "secret order details")
        .await;
    let b24 = app.b24.clone();
    wait_until(10, "the message", || b24.customer_messages().len() == 1).await;
    // Tenant A owns the portal (install created it); tenant B is another customer.
    let (_, tenants) = call(&app, &app.token, Method::GET, "/api/v1/tenants", None).await;
    let tenants: Value = serde_json::from_str(&tenants).expect("json");
    let list = tenants["items"]
        .as_array()
        .or(tenants.as_array())
        .cloned()
        .unwrap_or_default();
    let tenant_a = list[0]["id"].as_i64().expect("tenant A");
    let (status, b) = call(
        &app,
        &app.token,
        Method::POST,
        "/api/v1/tenants",
        Some(json!({"name": "Other Co"})),
    )
    .await;
    assert_eq!(status, 201, "{b}");
    let tenant_b = serde_json::from_str::<Value>(&b).expect("json")["id"]
        .as_i64()
        .expect("id");

    let a = token(&app, Role::TenantAdmin, Some(tenant_a));
    let b = token(&app, Role::TenantAdmin, Some(tenant_b));
    let billing = token(&app, Role::Billing, None);
    let member = app.b24.member_id();
    let secret_bits = [
        "secret order details",
        "700100200",
        member.as_str(),
        "79004440011",
    ];

    // Tenant A's message and a job of its portal, found as support.
    let (_, found) = call(
        &app,
        &app.token,
        Method::GET,
        "/api/v1/messages?q=wamid.ISO1",
        None,
    )
    .await;
    let found: Value = serde_json::from_str(&found).expect("json");
    let message_a = found["items"][0]["id"].as_i64().expect("A's message");
    let (_, jobs) = call(&app, &app.token, Method::GET, "/api/v1/jobs", None).await;
    let jobs: Value = serde_json::from_str(&jobs).expect("json");
    let job_a = jobs["items"][0]["id"].as_i64().expect("A's job");

    // Every route, as tenant B, on tenant A's things.
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/chats".into(), None),
        (Method::GET, "/api/v1/messages?q=79004440011".into(), None),
        (Method::GET, "/api/v1/jobs".into(), None),
        (Method::GET, format!("/api/v1/messages/{message_a}"), None),
        (
            Method::POST,
            format!("/api/v1/jobs/{job_a}/redrive"),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{tenant_a}/usage"),
            None,
        ),
        (Method::GET, "/api/v1/usage".into(), None),
        (Method::GET, "/api/v1/portals".into(), None),
        (Method::GET, "/api/v1/numbers".into(), None),
        (Method::GET, format!("/api/v1/numbers/{}/qr", n.id), None),
        (
            Method::GET,
            format!("/api/v1/numbers/{}/chats/79004440011/messages", n.id),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/numbers/{}/disconnect", n.id),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/numbers".into(),
            Some(json!({"member_id": member, "line": "2",
            "phone_number_id": "1", "access_token": "x", "app_secret": "y", "verify_token": "z"})),
        ),
        (
            Method::POST,
            "/api/v1/numbers/gateway".into(),
            Some(json!({"member_id": member, "line": "2",
            "api_url": "http://127.0.0.1:1", "id_instance": "1", "api_token_instance": "x"})),
        ),
        (Method::GET, format!("/api/v1/tenants/{tenant_a}"), None),
        (
            Method::POST,
            format!("/api/v1/tenants/{tenant_a}/customers/erase"),
            Some(json!({"customer": "79004440011"})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{tenant_a}/customers/export?customer=79004440011"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{tenant_a}/users"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/{tenant_a}/users"),
            Some(json!({"email": "x@b.example", "password": "a-long-password-1"})),
        ),
        (Method::GET, "/api/v1/tenants".into(), None),
        (Method::GET, "/api/v1/tenants/health".into(), None),
        (Method::GET, "/api/v1/plans".into(), None),
        (Method::GET, "/api/v1/audit".into(), None),
        (
            Method::POST,
            "/api/v1/debug/faults".into(),
            Some(json!({"actor": "number", "number_id": n.id})),
        ),
    ];
    for (method, path, body) in &routes {
        let (status, text) = call(&app, &b, method.clone(), path, body.clone()).await;
        let lists = [
            "/api/v1/portals",
            "/api/v1/numbers",
            "/api/v1/chats",
            "/api/v1/messages",
            "/api/v1/jobs",
        ];
        let listing = status == 200 && lists.contains(&path.split('?').next().unwrap_or(""));
        // The plan table is the same for everyone.
        let shared = status == 200 && path == "/api/v1/plans";
        if shared {
            assert!(text.contains("\"free\""), "{text}");
        } else if listing {
            // Lists answer, with nothing of tenant A in them.
            let page: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(
                (
                    page["items"].as_array().map(Vec::len),
                    page["total"].as_u64()
                ),
                (Some(0), Some(0)),
                "{method} {path} as tenant B: {text}"
            );
        } else {
            assert!(
                status == 403 || status == 404,
                "{method} {path} as tenant B answered {status}: {text}"
            );
        }
        for bit in secret_bits {
            assert!(!text.contains(bit), "{method} {path} leaked {bit}: {text}");
        }
    }
    // Tenant A's own admin sees its portal, number and chat.
    let (status, text) = call(&app, &a, Method::GET, "/api/v1/numbers", None).await;
    assert_eq!(status, 200);
    assert!(text.contains("700100200"), "{text}");
    let (status, text) = call(
        &app,
        &a,
        Method::GET,
        &format!("/api/v1/numbers/{}/chats/79004440011/messages", n.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("secret order details"));
    // Billing reads every tenant's numbers but changes nothing.
    let (status, text) = call(&app, &billing, Method::GET, "/api/v1/numbers", None).await;
    assert_eq!(status, 200);
    assert!(text.contains("700100200"));
    let (status, _) = call(
        &app,
        &billing,
        Method::POST,
        &format!("/api/v1/numbers/{}/disconnect", n.id),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403);
    // And tenant A's admin may disconnect its own number.
    let (status, text) = call(
        &app,
        &a,
        Method::POST,
        &format!("/api/v1/numbers/{}/disconnect", n.id),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
}
