//! The admin API's OpenAPI document: served without a token, a well-formed OpenAPI 3 document,
//! and it covers every `/api/v1` route `src/http/api/mod.rs` registers (read from the source,
//! so a new route without documentation fails here), with the bearer scheme on exactly the
//! routes that refuse a call without a token. Plus paging and filters of `/numbers` and
//! `/portals`, and their tenant scoping.

mod common;
mod sim;

use std::collections::{BTreeSet, HashSet};

use b24wa::http::api::auth::{JwtKeys, Role};
use common::{spawn_app, wait_until, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use sim::{BitrixSim, BitrixSimConfig, GatewaySim, GatewaySimConfig};

on_both_databases!(
    document_is_served_and_covers_every_route,
    numbers_page_and_filter_within_the_callers_tenant,
    portals_page_and_filter_within_the_callers_tenant,
);

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(method, path)` of every route `api::routes` registers: `.route("<path>", web::<method>()`,
/// `web::resource("<path>")…​.route(web::<method>()` and each `<method> "<path>" => <handler>,`
/// of a `route_table!(cfg; …)` table. Anything else that registers routes (a scope, `configure`, a
/// bare `service`) fails the test, so nothing slips past unparsed.
fn registered_routes() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/api/mod.rs");
    let src = std::fs::read_to_string(path).expect("read src/http/api/mod.rs");
    let body = src
        .split_once("pub fn routes(")
        .map(|(_, b)| b)
        .expect("api::routes in src/http/api/mod.rs");
    // Without comments and whitespace, rustfmt's line breaks do not matter.
    let code: String = body
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let quoted = |s: &str| -> (String, usize) {
        let end = s.find('"').expect("closing quote");
        (s[..end].to_string(), end + 1)
    };
    let method = |s: &str| -> String {
        let end = s.find('(').expect("web::<method>(");
        s[..end].to_string()
    };
    let mut routes = BTreeSet::new();
    let mut resource: Option<String> = None;
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        if let Some(r) = rest.strip_prefix(".route(\"") {
            let (path, used) = quoted(r);
            let after = r[used..]
                .strip_prefix(",web::")
                .unwrap_or_else(|| panic!("cannot read the route to {path}: {}", &r[used..]));
            routes.insert((method(after), path));
            resource = None;
            i += ".route(\"".len() + used;
        } else if let Some(table) = rest.strip_prefix("route_table!(cfg;") {
            // `<method>"<path>"=><handler>,` (whitespace gone) up to the closing `)`.
            let end = table.find(')').expect("the end of route_table!(cfg; …)");
            for entry in table[..end].split_terminator(',') {
                let (method, r) = entry
                    .split_once('"')
                    .unwrap_or_else(|| panic!("cannot read the table entry {entry}"));
                let (path, used) = quoted(r);
                assert!(
                    r[used..].starts_with("=>"),
                    "cannot read the table entry {entry}"
                );
                routes.insert((method.to_string(), path));
            }
            resource = None;
            i += "route_table!(cfg;".len() + end + 1;
        } else if let Some(r) = rest.strip_prefix("web::resource(\"") {
            let (path, used) = quoted(r);
            resource = Some(path);
            i += "web::resource(\"".len() + used;
        } else if let Some(r) = rest.strip_prefix(".route(web::") {
            let path = resource
                .clone()
                .unwrap_or_else(|| panic!("a .route(web::…) outside a resource: {rest}"));
            routes.insert((method(r), path));
            i += ".route(web::".len();
        } else if rest.starts_with("web::scope(")
            || rest.starts_with(".configure(")
            || (rest.starts_with(".service(") && !rest.starts_with(".service(web::resource("))
        {
            panic!("tests/openapi.rs does not read this registration yet; teach registered_routes: {rest}");
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    routes
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

fn declares_bearer(op: &Value) -> bool {
    op["security"]
        .as_array()
        .is_some_and(|reqs| reqs.iter().any(|r| r.get("bearer").is_some()))
}

async fn document_is_served_and_covers_every_route(backend: Backend) {
    let app = spawn_app(backend).await;
    // No token.
    let r = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .expect("get document");
    assert_eq!(r.status().as_u16(), 200);
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = r.json().await.expect("the document is JSON");

    // A well-formed OpenAPI 3 document: its version, info, paths; every $ref points at a
    // component that exists; operation ids are unique (checked below).
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "openapi {version}");
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let paths = doc["paths"].as_object().expect("paths");
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(!all_refs.is_empty());
    for r in &all_refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a $ref outside the schemas: {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "$ref {r} points at nothing"
        );
    }
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert!(error["properties"]["error"].is_object(), "{error}");

    // The documented operations against the registered routes, both ways.
    let mut documented = BTreeSet::new();
    let mut operation_ids = HashSet::new();
    for (path, item) in paths {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                documented.insert((m.to_string(), path.clone()));
                let id = op["operationId"].as_str().expect("operationId");
                assert!(
                    operation_ids.insert(id.to_string()),
                    "operationId {id} twice"
                );
            }
        }
    }
    let registered = registered_routes();
    assert!(
        registered.len() >= 20,
        "too few routes read: {registered:?}"
    );
    let expected: BTreeSet<(String, String)> = registered
        .iter()
        // Fault injection is for tests only (and off unless `debug_faults`).
        .filter(|(_, p)| !p.starts_with("/debug/"))
        .map(|(m, p)| (m.clone(), format!("/api/v1{p}")))
        .collect();
    let undocumented: Vec<_> = expected.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes registered in src/http/api/mod.rs but not in the OpenAPI document \
         (add #[utoipa::path] to the handler and list it in src/http/api/openapi.rs): \
         {undocumented:?}"
    );
    let stale: Vec<_> = documented.difference(&expected).collect();
    assert!(stale.is_empty(), "documented but not registered: {stale:?}");

    // Each operation: a success answer, errors as the one error body; and the bearer scheme
    // exactly where a call without a token is refused.
    for (m, path) in &documented {
        let op = &doc["paths"][path][m];
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{m} {path}: no success response"
        );
        for (status, resp) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    resp["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{m} {path} {status}: not the error body"
                );
                let description = resp["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains('`'),
                    "{m} {path} {status}: name the codes in the description: {description}"
                );
            }
        }
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(m.to_uppercase().as_bytes()).expect("method");
        let mut req = app.http.request(method, format!("{}{concrete}", app.url));
        if matches!(m.as_str(), "post" | "put" | "patch") {
            req = req.json(&json!({}));
        }
        let r = req.send().await.expect("call without a token");
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let refused = status == 401 && body["error"]["code"] == "token_missing";
        assert_eq!(
            declares_bearer(op),
            refused,
            "{m} {path}: answered {status} {body} without a token, but its security is {}",
            op["security"]
        );
        if refused {
            assert!(
                responses.contains_key("401"),
                "{m} {path}: 401 not documented"
            );
        }
    }
}

fn token(app: &TestApp, role: Role, tenant: Option<i64>) -> String {
    JwtKeys::new(app.settings.jwt_secret.clone().expect("jwt secret"))
        .issue("openapi-test", role, tenant, 600)
        .expect("sign")
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = app
        .http
        .get(format!("{}{path}", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("api call");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A second portal (another Bitrix24 account) with the app installed: a tenant of its own.
async fn install_second_portal(app: &TestApp) -> BitrixSim {
    let b24 = BitrixSim::start(BitrixSimConfig::default()).await;
    let status = b24
        .install_via_event(&format!("{}/bitrix24/install", app.url))
        .await;
    assert_eq!(status, 200);
    let sim = b24.clone();
    wait_until(10, "second portal's events bound", move || {
        sim.bindings().len() >= 7
    })
    .await;
    b24
}

/// The tenant install created for the portal at `domain` (tenants are named after it).
async fn tenant_of(app: &TestApp, domain: &str) -> i64 {
    let (status, page) = app.api_get("/api/v1/tenants?per_page=200").await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == domain))
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_else(|| panic!("no tenant named {domain}: {page}"))
}

/// `(total, ids of the items)` of a list answer.
fn listed(page: &Value) -> (u64, Vec<i64>) {
    let ids = page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|x| x["id"].as_i64().expect("id"))
        .collect();
    (page["total"].as_u64().expect("total"), ids)
}

async fn numbers_page_and_filter_within_the_callers_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    // Portal A: three Cloud numbers (the third disconnected) and a gateway instance.
    let a1 = app.connect("1", "710000001").await;
    let a2 = app.connect("2", "710000002").await;
    let a3 = app.connect("3", "710000003").await;
    let (status, body) = app
        .api_post(&format!("/api/v1/numbers/{}/disconnect", a3.id), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(1101000042, "gw-token-42", "79990000042");
    let (status, body) = app
        .api_post(
            "/api/v1/numbers/gateway",
            json!({"member_id": app.b24.member_id(), "line": "2", "api_url": gw.base_url(),
                   "id_instance": "1101000042", "api_token_instance": "gw-token-42",
                   "display_phone": "79990000042"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let g = body["number"]["id"].as_i64().expect("gateway number id");
    // Portal B, another tenant: one Cloud number.
    let b24b = install_second_portal(&app).await;
    let (status, body) = app
        .api_post(
            "/api/v1/numbers",
            json!({"member_id": b24b.member_id(), "line": "1", "phone_number_id": "720000001",
                   "display_phone": "15550009999", "access_token": "EAAG-b", "app_secret": "s",
                   "verify_token": "v"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let b1 = body["number"]["id"].as_i64().expect("B's number id");
    let (_, portals) = app.api_get("/api/v1/portals").await;
    let portal_id = |domain: String| {
        portals["items"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["domain"] == domain.as_str()))
            .and_then(|p| p["id"].as_i64())
            .expect("portal listed")
    };
    let (pa, pb) = (portal_id(app.b24.domain()), portal_id(b24b.domain()));

    // Support sees every number, by id, a page at a time.
    let all = vec![a1.id, a2.id, a3.id, g, b1];
    let (status, page) = app.api_get("/api/v1/numbers").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(listed(&page), (5, all.clone()));
    assert_eq!(
        (page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(1), Some(50))
    );
    assert!(
        !page.to_string().contains(&a1.access_token),
        "a secret leaked: {page}"
    );
    let (_, page) = app.api_get("/api/v1/numbers?per_page=2").await;
    assert_eq!(listed(&page), (5, all[..2].to_vec()));
    let (_, page) = app.api_get("/api/v1/numbers?per_page=2&page=3").await;
    assert_eq!(listed(&page), (5, vec![b1]));
    assert_eq!(
        (page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(3), Some(2))
    );
    let (_, page) = app.api_get("/api/v1/numbers?per_page=2&page=4").await;
    assert_eq!(listed(&page), (5, vec![]));

    // Each filter, and filters together.
    let cases: Vec<(String, u64, Vec<i64>)> = vec![
        (format!("portal_id={pa}"), 4, vec![a1.id, a2.id, a3.id, g]),
        (format!("portal_id={pb}"), 1, vec![b1]),
        ("portal_id=999999".into(), 0, vec![]),
        ("transport=gateway".into(), 1, vec![g]),
        ("transport=cloud".into(), 4, vec![a1.id, a2.id, a3.id, b1]),
        ("state=notAuthorized".into(), 1, vec![g]),
        ("state=ok".into(), 4, vec![a1.id, a2.id, a3.id, b1]),
        ("active=false".into(), 1, vec![a3.id]),
        ("active=true".into(), 4, vec![a1.id, a2.id, g, b1]),
        // Part of a display phone (line 2's is `15550002222`) or of a phone_number_id, any case.
        ("q=0002222".into(), 1, vec![a2.id]),
        ("q=71000000".into(), 3, vec![a1.id, a2.id, a3.id]),
        ("q=GW11010".into(), 1, vec![g]),
        ("q=9999".into(), 1, vec![b1]),
        // LIKE wildcards are taken literally.
        ("q=%25".into(), 0, vec![]),
        ("q=_".into(), 0, vec![]),
        (
            format!("portal_id={pa}&transport=cloud&active=true"),
            2,
            vec![a1.id, a2.id],
        ),
        ("transport=cloud&per_page=1&page=2".into(), 4, vec![a2.id]),
    ];
    for (query, total, ids) in &cases {
        let (status, page) = app.api_get(&format!("/api/v1/numbers?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(listed(&page), (*total, ids.clone()), "{query}: {page}");
    }

    // Bad values: 400 invalid_field, naming the parameter.
    let long = "9".repeat(101);
    for query in [
        "page=0",
        "page=x",
        "per_page=201",
        "per_page=0",
        "portal_id=abc",
        "portal_id=0",
        "transport=fax",
        "active=yes",
        "state=not%20a%20state",
        &format!("q={long}"),
    ] {
        let (status, body) = app.api_get(&format!("/api/v1/numbers?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{query}: {body}");
        let name = query.split('=').next().unwrap_or_default();
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(name)),
            "{query}: {body}"
        );
    }

    // Tenant scoping: each tenant admin sees its own numbers only, whatever the filters say.
    let (ta, tb) = (
        tenant_of(&app, &app.b24.domain()).await,
        tenant_of(&app, &b24b.domain()).await,
    );
    let admin_a = token(&app, Role::TenantAdmin, Some(ta));
    let admin_b = token(&app, Role::TenantAdmin, Some(tb));
    let (status, page) = get(&app, &admin_a, "/api/v1/numbers").await;
    assert_eq!(status, 200);
    assert_eq!(listed(&page), (4, vec![a1.id, a2.id, a3.id, g]));
    let (_, page) = get(&app, &admin_a, &format!("/api/v1/numbers?portal_id={pb}")).await;
    assert_eq!(listed(&page), (0, vec![]));
    let (_, page) = get(&app, &admin_a, "/api/v1/numbers?q=720000001").await;
    assert_eq!(listed(&page), (0, vec![]));
    let (_, page) = get(&app, &admin_b, "/api/v1/numbers").await;
    assert_eq!(listed(&page), (1, vec![b1]));
    assert!(!page.to_string().contains("710000001"), "{page}");
    let (_, page) = get(&app, &admin_b, "/api/v1/numbers?transport=gateway").await;
    assert_eq!(listed(&page), (0, vec![]));
    // Billing sees everything.
    let billing = token(&app, Role::Billing, None);
    let (_, page) = get(&app, &billing, "/api/v1/numbers?per_page=10").await;
    assert_eq!(listed(&page), (5, all));
}

async fn portals_page_and_filter_within_the_callers_tenant(backend: Backend) {
    let app = spawn_app(backend).await;
    app.install().await;
    let b24b = install_second_portal(&app).await;
    assert_eq!(b24b.uninstall().await, 200);
    let (status, page) = app.api_get("/api/v1/portals").await;
    assert_eq!(status, 200, "{page}");
    let (total, ids) = listed(&page);
    assert_eq!((total, ids.len()), (2, 2), "{page}");
    let (pa, pb) = (ids[0], ids[1]);
    assert_eq!(page["items"][0]["domain"], app.b24.domain().as_str());
    assert_eq!(page["items"][0]["member_id"], app.b24.member_id().as_str());
    assert_eq!(page["items"][1]["installed"], false);
    assert!(
        !page.to_string().contains(&app.b24.tokens().0),
        "a token leaked: {page}"
    );

    let port_b = b24b.domain().rsplit(':').next().expect("port").to_string();
    let cases: Vec<(String, (u64, Vec<i64>))> = vec![
        ("per_page=1".into(), (2, vec![pa])),
        ("per_page=1&page=2".into(), (2, vec![pb])),
        ("per_page=1&page=3".into(), (2, vec![])),
        ("installed=true".into(), (1, vec![pa])),
        ("installed=false".into(), (1, vec![pb])),
        (format!("q={port_b}"), (1, vec![pb])),
        ("q=127.0.0".into(), (2, vec![pa, pb])),
        ("q=NO-SUCH-PORTAL".into(), (0, vec![])),
        ("q=%25".into(), (0, vec![])),
        (format!("q={port_b}&installed=true"), (0, vec![])),
    ];
    for (query, want) in &cases {
        let (status, page) = app.api_get(&format!("/api/v1/portals?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(&listed(&page), want, "{query}");
    }
    let long = "x".repeat(101);
    for query in [
        "installed=maybe",
        "page=-1",
        "per_page=1000",
        &format!("q={long}"),
    ] {
        let (status, body) = app.api_get(&format!("/api/v1/portals?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{query}: {body}");
    }

    // Tenant scoping.
    let (ta, tb) = (
        tenant_of(&app, &app.b24.domain()).await,
        tenant_of(&app, &b24b.domain()).await,
    );
    let admin_a = token(&app, Role::TenantAdmin, Some(ta));
    let admin_b = token(&app, Role::TenantAdmin, Some(tb));
    let (_, page) = get(&app, &admin_a, "/api/v1/portals").await;
    assert_eq!(listed(&page), (1, vec![pa]));
    assert!(!page.to_string().contains(&b24b.member_id()), "{page}");
    let (_, page) = get(&app, &admin_a, &format!("/api/v1/portals?q={port_b}")).await;
    assert_eq!(listed(&page), (0, vec![]));
    let (_, page) = get(&app, &admin_b, "/api/v1/portals?installed=false").await;
    assert_eq!(listed(&page), (1, vec![pb]));
    let (_, page) = get(&app, &admin_b, "/api/v1/portals?installed=true").await;
    assert_eq!(listed(&page), (0, vec![]));
    let (_, page) = get(&app, &token(&app, Role::Billing, None), "/api/v1/portals").await;
    assert_eq!(listed(&page), (2, vec![pa, pb]));
}
