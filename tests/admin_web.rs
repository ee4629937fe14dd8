//! The admin web app under `/admin/`: how the service serves it, and end-to-end scenarios in
//! headless Chromium (admin-web/e2e/admin.mjs, playwright-core driving Debian's chromium) against
//! the real service and the simulators:
//! - a tenant admin signs in, sees its number, links a gateway number through the QR screen, and
//!   sees a customer's message and the operator's answer with their ticks; its session expires;
//! - support finds a failed message by its WhatsApp id, reads the trace and re-drives the job;
//! - billing exports a usage CSV whose totals match the messages sent;
//! - a tenant admin reads a Cloud API number's templates (status badges, marked variables with
//!   their examples) and names another number's account to sync its own
//!   (`target/screenshots/templates.png`);
//! - an operator opens the template picker of an Open Lines chat (outside Bitrix24), fills a
//!   template's values and gets the command that sends it (`target/screenshots/template-picker.png`);
//! - the sandbox (`b24wa sandbox`, no login): the customer writes, the operator answers, ticks go
//!   to read, a voice note gets its transcript (with `make model`), a delete reaches the phone
//!   (`target/screenshots/sandbox.png`); on its Cloud API number the window closes, free text is
//!   held back, a template goes and a tap reopens it (`target/screenshots/sandbox-cloud.png`).
//!
//! Screenshots of each main screen land in `target/screenshots/`. The browser tests need
//! `make web` (admin-web/node_modules and admin-web/dist) and /usr/bin/chromium (`.ci/run`
//! installs it); without them they fail and say what is missing.

mod common;
mod sim;
mod web_e2e;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use b24wa::http::api::auth::Role;
use common::{chat_key, spawn_app_with, Backend, TestApp};
use serde_json::{json, Value};
use sim::{BitrixSimConfig, GatewaySim, GatewaySimConfig};
use web_e2e::{
    app_with_web, browser, global_user, install_tenant, items, run_e2e, screenshots, wait_api,
    web_root, PASSWORD,
};

// ---------------------------------------------------------------------------------------------
// Serving (no browser needed)
// ---------------------------------------------------------------------------------------------

async fn get(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut r = app.http.get(format!("{}{path}", app.url));
    if let Some(tag) = etag {
        r = r.header("If-None-Match", tag);
    }
    r.send().await.expect("request")
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[actix_web::test]
async fn without_a_build_admin_says_to_run_make_web() {
    let missing = tempfile::tempdir().expect("tempdir");
    let dir = missing.path().join("dist");
    let app = spawn_app_with(Backend::Sqlite, BitrixSimConfig::default(), |s| {
        s.admin_web_dir = dir;
    })
    .await;
    for path in ["/admin/", "/admin/numbers"] {
        let r = get(&app, path, None).await;
        assert_eq!(r.status().as_u16(), 503, "{path}");
        assert!(header(&r, "content-type").starts_with("text/html"));
        assert_eq!(header(&r, "cache-control"), "no-store");
        let body = r.text().await.expect("body");
        assert!(body.contains("make web"), "{body}");
    }
    // The API does not depend on it.
    let (s, _) = app.api_get("/api/v1/auth/me").await;
    assert_eq!(s, 200);
    common::settle().await;
}

#[actix_web::test]
async fn the_build_is_served_with_client_routes_types_and_caching() {
    let build = tempfile::tempdir().expect("tempdir");
    let root = build.path().to_path_buf();
    std::fs::create_dir_all(root.join("assets")).expect("mkdir");
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><script src=\"/admin/assets/index-AbC123.js\"></script>",
    )
    .expect("write");
    std::fs::write(root.join("assets/index-AbC123.js"), "console.log(1)").expect("write");
    std::fs::write(root.join("assets/index-AbC123.css"), "body{}").expect("write");
    std::fs::write(root.join("favicon.svg"), "<svg/>").expect("write");
    std::fs::write(build.path().join("secret.txt"), "TOP-SECRET").expect("write");
    let app = spawn_app_with(Backend::Sqlite, BitrixSimConfig::default(), |s| {
        s.admin_web_dir = root.clone();
    })
    .await;

    // The app's pages: index.html for the root and for every client route, revalidated.
    for path in [
        "/admin/",
        "/admin/numbers",
        "/admin/numbers/7/qr",
        "/admin/numbers/7/templates",
        "/admin/conversations/1/380991234567",
    ] {
        let r = get(&app, path, None).await;
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        assert!(header(&r, "content-security-policy").contains("default-src 'self'"));
        assert_eq!(header(&r, "x-frame-options"), "DENY");
        assert!(r.text().await.expect("body").contains("index-AbC123.js"));
    }
    // A reload with the validator costs a 304.
    let r = get(&app, "/admin/usage", None).await;
    let tag = header(&r, "etag");
    assert!(!tag.is_empty());
    let r = get(&app, "/admin/usage", Some(&tag)).await;
    assert_eq!(r.status().as_u16(), 304);
    // Hashed assets: their type, cached for good.
    let r = get(&app, "/admin/assets/index-AbC123.js", None).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(r.text().await.expect("body"), "console.log(1)");
    let r = get(&app, "/admin/assets/index-AbC123.css", None).await;
    assert_eq!(header(&r, "content-type"), "text/css; charset=utf-8");
    // Other files of the build: their type, revalidated.
    let r = get(&app, "/admin/favicon.svg", None).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(header(&r, "content-type"), "image/svg+xml; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    // A missing file is a 404, not the page; nothing outside the folder is reachable.
    for path in [
        "/admin/assets/index-Gone99.js",
        "/admin/../secret.txt",
        "/admin/%2e%2e/secret.txt",
        "/admin/assets/..%2F..%2Fsecret.txt",
        "/admin/.env",
    ] {
        let r = get(&app, path, None).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert!(
            status == 404 || (status == 200 && body.contains("index-AbC123")),
            "{path}: {status} {body}"
        );
        assert!(
            !body.contains("TOP-SECRET"),
            "{path} leaked a file outside the build"
        );
    }
    let r = get(&app, "/admin/assets/index-Gone99.js", None).await;
    assert_eq!(r.status().as_u16(), 404);
    // `/admin` → `/admin/`.
    let r = get(&app, "/admin", None).await;
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(header(&r, "location"), "/admin/");
    common::settle().await;
}

// ---------------------------------------------------------------------------------------------
// End to end in Chromium
// ---------------------------------------------------------------------------------------------

const GW_INSTANCE: u64 = 1101000042;
const GW_TOKEN: &str = "gw-e2e-token";

#[actix_web::test]
async fn e2e_tenant_admin_links_a_gateway_number_and_sees_a_message_with_ticks() {
    let b = browser();
    // Access tokens that live 8 s: the page must refresh them by itself while it is used.
    let app = app_with_web(|s| s.jwt_ttl_secs = 8).await;
    app.install().await;
    let n = app.connect("1", "310200400").await;
    app.graph
        .set_auto_statuses(vec!["sent", "delivered", "read"]);
    let customer = "380991234567";
    let inbound = "Hello, is my order 1042 on its way?";
    let outbound = "Yes, it left the warehouse this morning.";
    assert_eq!(
        app.customer_writes(&n, customer, "wamid.E2E.T1", inbound)
            .await,
        200
    );
    let b24 = app.b24.clone();
    common::wait_until(10, "the message in Bitrix24", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key(customer, &n), outbound)
        .await;
    assert_eq!(op.http_status, 200);
    // Ticks as the page will show them: the answer read, the customer's message read.
    let path = format!("/api/v1/numbers/{}/chats/{customer}/messages", n.id);
    wait_api(&app, &path, "both messages read", |v| {
        let m = v["messages"].as_array().cloned().unwrap_or_default();
        m.len() == 2 && m[0]["read_at"].is_i64() && m[1]["status"] == "read"
    })
    .await;
    // A third message WhatsApp refuses: the page shows it failed, with the reason.
    app.graph.set_auto_statuses(vec!["sent"]);
    let refused = "One more thing: the invoice is attached.";
    let op = app
        .b24
        .operator_write("1", &chat_key(customer, &n), refused)
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    common::wait_until(10, "the second answer sent", move || {
        graph.sent_messages().len() == 2
    })
    .await;
    let wamid = app.graph.sent_messages()[1].wamid.clone();
    assert_eq!(app.graph.push_status(&wamid, "failed").await, 200);
    wait_api(&app, &path, "the refused answer failed", |v| {
        v["messages"][2]["status"] == "failed"
    })
    .await;
    let (tenant, _) = install_tenant(&app).await;
    let email = "admin@acme.test";
    let (s, v) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/users"),
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(GW_INSTANCE, GW_TOKEN, "79990000042");

    let config = json!({
        "url": app.url,
        "scenario": "tenant",
        "email": email,
        "password": PASSWORD,
        "chromium": b.chromium,
        "screenshots": screenshots(),
        "gateway": {"line": "2", "api_url": gw.base_url(), "id_instance": GW_INSTANCE.to_string(),
                    "api_token_instance": GW_TOKEN, "display_phone": "79990000042"},
        "expect": {"display_phone": n.display_phone, "customer_name": "Anna Kowalska",
                   "inbound_text": inbound, "outbound_text": outbound, "failed_text": refused,
                   "inbound_total": 1, "customer_phone": customer},
    });
    // The phone scans the QR once the page has asked for it twice (a poll later: by then the
    // page has shown the relink banner naming the number).
    let scanned = std::cell::Cell::new(false);
    run_e2e(&b, config, || {
        let (gw, scanned) = (&gw, &scanned);
        async move {
            if !scanned.get()
                && gw.state(GW_INSTANCE) == "notAuthorized"
                && gw.calls_of("qr").len() >= 2
            {
                scanned.set(true);
                assert_eq!(gw.scan_qr(GW_INSTANCE).await, 200);
            }
        }
    })
    .await;
    assert!(scanned.get(), "the QR screen never asked for a QR");
    // The number the page connected is linked and relays on line 2.
    let (_, numbers) = app.api_get("/api/v1/numbers?transport=gateway").await;
    let linked = items(&numbers);
    assert_eq!(linked.len(), 1, "{numbers}");
    assert_eq!(linked[0]["session_state"], "authorized");
    assert_eq!(linked[0]["line"], "2");
    gw.stop().await;
    common::settle().await;
}

#[actix_web::test]
async fn e2e_support_finds_the_trace_of_a_failed_message_and_redrives_its_job() {
    let b = browser();
    let app = app_with_web(|s| s.max_attempts = 2).await;
    app.install().await;
    let n = app.connect("1", "310200401").await;
    // Another customer's message that went through: the search must pick the right one.
    assert_eq!(
        app.customer_writes(&n, "380670000043", "wamid.E2E.S0", "Thanks, all good")
            .await,
        200
    );
    let b24 = app.b24.clone();
    common::wait_until(10, "the first message in Bitrix24", move || {
        b24.customer_messages().len() == 1
    })
    .await;
    app.b24.set_down(true);
    let text = "Please call me back about the invoice";
    let wamid = "wamid.E2E.S1";
    assert_eq!(
        app.customer_writes(&n, "380670000042", wamid, text).await,
        200
    );
    let dead = wait_api(&app, "/api/v1/jobs?status=dead", "a dead job", |v| {
        v["total"] == 1
    })
    .await;
    let message_id = items(&dead)[0]["message_id"].as_i64().expect("message id");
    // Bitrix24 is back: the re-drive will go through.
    app.b24.set_down(false);
    let (_, tenant_name) = install_tenant(&app).await;
    let email = "support@b24wa.test";
    global_user(&app, email, Role::Support).await;

    let config = json!({
        "url": app.url,
        "scenario": "support",
        "email": email,
        "password": PASSWORD,
        "chromium": b.chromium,
        "screenshots": screenshots(),
        "expect": {"tenant_name": tenant_name, "wamid": wamid, "text": text, "message_id": message_id},
    });
    run_e2e(&b, config, || async {}).await;
    assert_eq!(app.texts_in_bitrix("380670000042"), [text]);
    let (_, audit) = app.api_get("/api/v1/audit?action=job.redrive").await;
    assert_eq!(items(&audit).len(), 1, "{audit}");
    assert_eq!(items(&audit)[0]["actor"], email);
    common::settle().await;
}

#[actix_web::test]
async fn e2e_billing_exports_a_usage_csv_matching_the_messages_sent() {
    let b = browser();
    let app = app_with_web(|_| {}).await;
    app.install().await;
    let n = app.connect("1", "310200402").await;
    for i in 0..3 {
        assert_eq!(
            app.customer_writes(&n, "380501112233", &format!("wamid.E2E.B{i}"), "hello")
                .await,
            200
        );
    }
    let b24 = app.b24.clone();
    common::wait_until(10, "3 in Bitrix24", move || {
        b24.customer_messages().len() == 3
    })
    .await;
    let op = app
        .b24
        .operator_write("1", &chat_key("380501112233", &n), "hi!")
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    common::wait_until(10, "the reply sent", move || {
        graph.sent_messages().len() == 1
    })
    .await;
    let (tenant, tenant_name) = install_tenant(&app).await;
    let today = chrono::Utc::now().date_naive().to_string();
    wait_api(
        &app,
        &format!("/api/v1/tenants/{tenant}/usage?from={today}&to={today}"),
        "usage 3 in, 1 out",
        |v| v["totals"]["inbound"] == 3 && v["totals"]["outbound"] == 1,
    )
    .await;
    let email = "billing@b24wa.test";
    global_user(&app, email, Role::Billing).await;

    let config = json!({
        "url": app.url,
        "scenario": "billing",
        "email": email,
        "password": PASSWORD,
        "chromium": b.chromium,
        "screenshots": screenshots(),
        "expect": {"tenant_name": tenant_name, "inbound": 3, "outbound": 1, "today": today},
    });
    run_e2e(&b, config, || async {}).await;
    common::settle().await;
}

/// Templates of the simulated account: approved with positional variables, header, footer and
/// buttons; in review with named variables; a media header one Meta refuses (with a reason).
fn e2e_templates() -> Vec<Value> {
    vec![
        json!({
            "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
            "parameter_format": "POSITIONAL",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
                 "example": {"header_text": ["A-1042"]}},
                {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way and arrives on {{3}}.",
                 "example": {"body_text": [["Maria", "A-1042", "Friday"]]}},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Track the parcel", "url": "https://shop.example/track/{{1}}"},
                    {"type": "QUICK_REPLY", "text": "Thanks"}
                ]}
            ]
        }),
        json!({
            "name": "appointment_reminder", "language": "de", "status": "PENDING", "category": "UTILITY",
            "parameter_format": "NAMED",
            "components": [
                {"type": "BODY", "text": "Hallo {{first_name}}, wir sehen uns am {{date}}.",
                 "example": {"body_text_named_params": [
                     {"param_name": "first_name", "example": "Jonas"},
                     {"param_name": "date", "example": "3. März"}
                 ]}},
                {"type": "BUTTONS", "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+4930123456"}
                ]}
            ]
        }),
        // One variable, in its body: it can carry a message from the CRM.
        json!({
            "name": "crm_note", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "A message from Acme: {{1}}"}]
        }),
        json!({
            "name": "spring_sale", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
            "components": [
                {"type": "HEADER", "format": "IMAGE"},
                {"type": "BODY", "text": "Spring sale: 20% off everything until Sunday!"}
            ]
        }),
    ]
}

#[actix_web::test]
async fn e2e_tenant_admin_reads_templates_and_names_an_account() {
    let b = browser();
    let app = app_with_web(|_| {}).await;
    app.install().await;
    // Two Cloud API numbers, neither connected with its account.
    let synced = app.connect("1", "310200404").await;
    let unnamed = app.connect("2", "310200405").await;
    for t in e2e_templates() {
        app.graph.add_template(t);
    }
    // The first is named and synced through the API; Meta then refuses one template.
    let waba = app.graph.waba_id();
    let (s, v) = app
        .api_post(
            &format!("/api/v1/numbers/{}/templates/sync", synced.id),
            json!({"waba_id": waba}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["templates"].as_array().map(Vec::len), Some(4), "{v}");
    assert_eq!(
        app.graph
            .push_template_status(
                &synced.phone_number_id,
                "spring_sale",
                "en_US",
                "REJECTED",
                "INVALID_FORMAT"
            )
            .await,
        200
    );
    wait_api(
        &app,
        &format!("/api/v1/numbers/{}/templates", synced.id),
        "spring_sale rejected",
        |v| {
            v["templates"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|t| t["name"] == "spring_sale" && t["status"] == "REJECTED")
            })
        },
    )
    .await;
    let (tenant, _) = install_tenant(&app).await;
    let email = "admin@acme.test";
    let (s, v) = app
        .api_post(
            &format!("/api/v1/tenants/{tenant}/users"),
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let config = json!({
        "url": app.url,
        "scenario": "templates",
        "email": email,
        "password": PASSWORD,
        "chromium": b.chromium,
        "screenshots": screenshots(),
        "expect": {"synced_phone": synced.display_phone, "unnamed_phone": unnamed.display_phone,
                   "waba_id": waba},
    });
    run_e2e(&b, config, || async {}).await;
    let shot = screenshots().join("templates.png");
    assert!(shot.is_file(), "{} was written", shot.display());
    // The account the page named is the number's now.
    let (_, v) = app
        .api_get(&format!("/api/v1/numbers/{}/templates", unnamed.id))
        .await;
    assert_eq!(v["waba_id"], waba.as_str(), "{v}");
    assert_eq!(v["templates"].as_array().map(Vec::len), Some(4), "{v}");
    // The template the page chose for CRM messages is the first number's default now.
    let (_, v) = app
        .api_get(&format!("/api/v1/numbers/{}/templates", synced.id))
        .await;
    assert_eq!(
        v["default_template"],
        json!({"name": "crm_note", "language": "en_US"}),
        "{v}"
    );
    common::settle().await;
}

#[actix_web::test]
async fn e2e_sandbox_a_message_travels_ticks_turn_blue_and_a_delete_reaches_the_phone() {
    let b = browser();
    b24wa::telemetry::init("warn");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-base-q8_0.bin");
    // With the speech model (`make model`, which `make test` runs) the voice note must get its
    // transcript; without it the page must say there is none.
    let transcription = model.is_file();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = b24wa::config::Settings::defaults().expect("defaults");
    settings.admin_web_dir = web_root().join("dist");
    settings.http_workers = 2;
    settings.transcribe_workers = 1;
    let sandbox = b24wa::sandbox::Sandbox::start(
        settings,
        b24wa::sandbox::SandboxOptions {
            host: "127.0.0.1".into(),
            port: 0,
            data_dir: dir.path().join("sandbox"),
            transcribe_model: transcription.then_some(model),
            receipt_delay: Duration::from_millis(300),
            gateway: b24wa::sandbox::WebGateway::GreenApi,
        },
    )
    .await
    .expect("the sandbox starts");
    run_e2e(
        &b,
        json!({
            "url": sandbox.url(),
            "scenario": "sandbox",
            "transcription": transcription,
            "chromium": b.chromium,
            "screenshots": screenshots(),
        }),
        || async {},
    )
    .await;
    let shot = screenshots().join("sandbox.png");
    assert!(shot.is_file(), "{} was written", shot.display());
    // What the browser did, seen from the simulators: the reply was deleted for everyone.
    let sent = sandbox
        .state()
        .web
        .green_api()
        .expect("the GREEN-API sandbox")
        .sent();
    assert!(
        sent.iter()
            .any(|m| m.text.contains("it ships today") && m.deleted_for_everyone),
        "{sent:?}"
    );
    assert!(screenshots().join("sandbox-cloud.png").is_file());
    // On the Cloud API number: nothing went into the closed window but the template.
    let cloud: Vec<_> = sandbox.state().graph.sent_messages();
    let kinds: Vec<&str> = cloud.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["template"], "{cloud:?}");
    assert_eq!(cloud[0].json["template"]["name"], "order_update");
    sandbox.stopper().stop().await;
}

// ---------------------------------------------------------------------------------------------
// The template picker in the Open Lines chat (IM_TEXTAREA placement), outside Bitrix24
// ---------------------------------------------------------------------------------------------

/// Opens the picker as Bitrix24's iframe would (the sim's page POSTs the placement form), picks
/// `order_update`, fills its values, reads the preview, clicks Insert and, with no BX24 (its SDK
/// is blocked), reads the command shown to copy. Writes `template-picker.png` and the command.
const PICKER_E2E: &str = r#"
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const cfg = JSON.parse(process.env.B24WA_E2E);
const { chromium } = createRequire(path.join(cfg.web, 'package.json'))('playwright-core');
const fail = (m) => { throw new Error(m); };
const browser = await chromium.launch({ executablePath: cfg.chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 420, height: 560 } });
try {
  // Bitrix24's JS SDK is not reachable here: the page must fall back to showing the command.
  await page.route(/api\.bitrix24\.com/, (r) => r.abort());
  await page.goto(cfg.open);
  const window = page.locator('[data-testid="window"]');
  await window.waitFor({ timeout: 20000 });
  const w = await window.innerText();
  if (!w.includes('closed since')) fail(`window: ${w}`);
  const names = await page.locator('[data-testid="template"]').evaluateAll((l) => l.map((e) => e.dataset.name));
  if (names.join(',') !== 'appointment_reminder,order_update') fail(`listed: ${names}`);
  await page.locator('[data-testid="template"][data-name="order_update"]').click();
  const inputs = page.locator('[data-testid="value"]');
  if ((await inputs.count()) !== cfg.values.length) fail(`inputs: ${await inputs.count()}`);
  const holders = await inputs.evaluateAll((l) => l.map((e) => e.placeholder));
  if (holders.join('|') !== 'A-1042|Maria|A-1042|Friday') fail(`placeholders: ${holders}`);
  if (!(await page.locator('[data-testid="insert"]').isDisabled())) fail('Insert enabled while empty');
  for (let i = 0; i < cfg.values.length; i++) await inputs.nth(i).fill(cfg.values[i]);
  const preview = await page.locator('[data-testid="preview"]').innerText();
  if (!preview.includes(cfg.expect_preview)) fail(`preview: ${preview}`);
  await page.locator('[data-testid="insert"]').click();
  const command = await page.locator('[data-testid="command"]').inputValue();
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(cfg.screenshots, 'template-picker.png'), fullPage: true });
  fs.writeFileSync(cfg.out, command);
  console.log(`e2e template-picker: ${command}`);
} catch (e) {
  await page.screenshot({ path: path.join(cfg.screenshots, 'template-picker-FAILED.png'), fullPage: true });
  console.error(`e2e template-picker: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
"#;

#[actix_web::test]
async fn e2e_operator_picks_a_template_in_the_chat_and_its_command_sends_it() {
    use b24wa::relay::templates::{resolve, Outcome, TemplateDef};
    let b = browser();
    let app = app_with_web(|_| {}).await;
    app.install().await;
    let n = app.connect("1", "310200406").await;
    let order = json!({
        "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
             "example": {"header_text": ["A-1042"]}},
            {"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way and arrives on {{3}}.",
             "example": {"body_text": [["Maria", "A-1042", "Friday"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
        ]
    });
    let named = json!({
        "name": "appointment_reminder", "language": "de", "status": "APPROVED", "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Hallo {{first_name}}, wir sehen uns am {{date}}.",
            "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Jonas"},
                                                   {"param_name": "date", "example": "3. März"}]}}]
    });
    let pending = json!({"name": "promo", "language": "en_US", "status": "PENDING",
        "category": "MARKETING", "components": [{"type": "BODY", "text": "Hi"}]});
    for t in [order.clone(), named, pending] {
        app.graph.add_template(t);
    }
    let (s, v) = app
        .api_post(
            &format!("/api/v1/numbers/{}/templates/sync", n.id),
            json!({"waba_id": app.graph.waba_id()}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The customer wrote 30 hours ago: only a template reaches them now.
    let customer = "4917600000077";
    let inbound = sim::GraphSim::inbound_text_body(
        &n.phone_number_id,
        &n.display_phone,
        customer,
        "Olga",
        "wamid.PICKER",
        "Hello",
        sim::unix_now() - 30 * 3600,
    );
    assert_eq!(
        app.graph.post_signed(&n.phone_number_id, inbound).await,
        200
    );
    let b24 = app.b24.clone();
    common::wait_until(10, "the Open Lines chat", move || {
        b24.conversations().iter().any(|c| c.user_id == customer)
    })
    .await;
    let chat = app
        .b24
        .conversations()
        .into_iter()
        .find(|c| c.user_id == customer)
        .map(|c| c.b24_chat_id)
        .unwrap_or_default();
    // Our side records the chat's Open Lines id right after Bitrix24's answer.
    let picker = format!("{}/bitrix24/placement/templates", app.url);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app
        .b24
        .open_chat_textarea_page(&picker, &chat)
        .await
        .1
        .contains("data-testid=\"template\"")
    {
        assert!(Instant::now() < deadline, "the picker never knew the chat");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("picker.mjs");
    std::fs::write(&script, PICKER_E2E).expect("write the script");
    let out = dir.path().join("command.txt");
    let config = json!({
        "open": app.b24.chat_textarea_page_url(&picker, &chat),
        "web": web_root(),
        "chromium": b.chromium,
        "screenshots": screenshots(),
        "out": out,
        "values": ["A-77", "Maria", "A-77", "Friday"],
        "expect_preview": "Hello Maria, your order A-77 is on its way and arrives on Friday.",
    });
    let mut child = Command::new(&b.node)
        .arg(&script)
        .env("B24WA_E2E", config.to_string())
        .stdin(Stdio::null())
        .spawn()
        .expect("start node");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for node") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the picker scenario took over 90 s");
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "the picker scenario failed; see target/screenshots/template-picker-FAILED.png"
    );
    assert!(screenshots().join("template-picker.png").is_file());
    let command = std::fs::read_to_string(&out).expect("the command");
    assert_eq!(
        command,
        "/template order_update en_US A-77 | Maria | A-77 | Friday"
    );
    // What the chat's command accepts.
    let def = TemplateDef {
        name: "order_update".into(),
        language: "en_US".into(),
        status: "APPROVED".into(),
        parameter_format: "POSITIONAL".into(),
        components: order["components"].clone(),
    };
    let args = b24wa::relay::templates::command(&command).expect("a /template command");
    let Outcome::Send(send) = resolve(args, &[def]) else {
        panic!("the command does not resolve: {command}")
    };
    // Sent as the operator, it goes to the customer as that template.
    let op = app
        .b24
        .operator_write("1", &chat_key(customer, &n), &command)
        .await;
    assert_eq!(op.http_status, 200);
    let graph = app.graph.clone();
    common::wait_until(10, "the template sent", move || {
        graph.sent_messages().iter().any(|m| m.kind == "template")
    })
    .await;
    let sent: Vec<_> = app
        .graph
        .sent_messages()
        .into_iter()
        .filter(|m| m.kind == "template")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].json["template"]["name"], "order_update");
    assert_eq!(sent[0].json["template"]["components"], send.components);
    common::settle().await;
}
