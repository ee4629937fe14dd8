//! Self-tests of the provider simulators (tests/sim), over HTTP, without the app.

mod sim;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use sim::*;

// ----- a tiny receiver standing in for our app -----

#[derive(Clone, Debug)]
struct Hit {
    path: String,
    query: String,
    signature: Option<String>,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// Answers 500 to the first `fail_first` requests, then 200.
    async fn start(fail_first: usize) -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let h = hits.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        let server = HttpServer::new(move || {
            let h = h.clone();
            App::new().default_service(web::route().to(
                move |req: HttpRequest, body: web::Bytes| {
                    let h = h.clone();
                    async move {
                        let mut hits = h.lock().expect("lock");
                        hits.push(Hit {
                            path: req.path().to_string(),
                            query: req.query_string().to_string(),
                            signature: req
                                .headers()
                                .get("x-hub-signature-256")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string),
                            body: body.to_vec(),
                        });
                        if hits.len() <= fail_first {
                            HttpResponse::InternalServerError().finish()
                        } else {
                            HttpResponse::Ok().finish()
                        }
                    }
                },
            ))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            hits,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let hits = self.hits();
            if hits.len() >= n || Instant::now() > deadline {
                return hits;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ----- helpers -----

async fn rest_with(sim: &BitrixSim, method: &str, token: &str, mut body: Value) -> (u16, Value) {
    body["auth"] = json!(token);
    let r = reqwest::Client::new()
        .post(format!("{}{}", sim.client_endpoint(), method))
        .json(&body)
        .send()
        .await
        .expect("rest call");
    let s = r.status().as_u16();
    (s, r.json().await.expect("json"))
}

async fn rest(sim: &BitrixSim, method: &str, body: Value) -> (u16, Value) {
    let tok = sim.tokens().0;
    rest_with(sim, method, &tok, body).await
}

async fn refresh(sim: &BitrixSim, refresh_token: &str, secret: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(sim.oauth_token_url())
        .query(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app.b24wa.test"),
            ("client_secret", secret),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .expect("refresh");
    let s = r.status().as_u16();
    (s, r.json().await.expect("json"))
}

fn register_body(id: &str) -> Value {
    json!({
        "ID": id, "NAME": "WhatsApp",
        "ICON": {"DATA_IMAGE": "data:image/svg+xml,%3Csvg%2F%3E", "COLOR": "#69acc0", "SIZE": "90%", "POSITION": "center"},
        "PLACEMENT_HANDLER": "https://example.com/settings",
        "DEL_EXTERNAL_MESSAGES": true, "EDIT_INTERNAL_MESSAGES": true, "DEL_INTERNAL_MESSAGES": true,
        "NEED_SYSTEM_MESSAGES": true, "NEED_SIGNATURE": false, "CHAT_GROUP": false
    })
}

fn msg_item(user: &str, phone: &str, chat: &str, id: &str, text: &str) -> Value {
    json!({
        "user": {"id": user, "name": "Ivan", "phone": phone},
        "message": {"id": id, "date": 1773265993, "text": text},
        "chat": {"id": chat, "url": "https://wa.me/1"}
    })
}

// ----- Bitrix24 -----

#[actix_web::test]
async fn bitrix_tokens_refresh_and_errors() {
    let sim = BitrixSim::start(BitrixSimConfig::default()).await;
    assert!(sim.client_endpoint().ends_with("/rest/"));
    assert!(sim.server_endpoint().ends_with("/oauth-server/rest/"));
    let (a0, r0) = sim.tokens();

    let (s, v) = rest(&sim, "app.info", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["time"]["date_start"].is_string() && v["time"]["operating_reset_at"].is_number());
    // .json suffix and ?auth= query
    let r = reqwest::Client::new()
        .post(format!("{}event.get.json?auth={a0}", sim.client_endpoint()))
        .json(&json!({}))
        .send()
        .await
        .expect("call");
    assert_eq!(r.status().as_u16(), 200);

    let (s, v) = rest(&sim, "no.such.method", json!({})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (404, Some("ERROR_METHOD_NOT_FOUND"))
    );
    let (s, v) = rest_with(&sim, "app.info", "bogus", json!({})).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_token")));
    let (s, v) = rest_with(&sim, "app.info", "", json!({})).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("NO_AUTH_FOUND")));

    sim.expire_access_token();
    let (s, v) = rest_with(&sim, "app.info", &a0, json!({})).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("expired_token")));

    let (s, v) = refresh(&sim, &r0, "wrong").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_client")));
    let (s, v) = refresh(&sim, &r0, "sim-secret").await;
    assert_eq!(s, 200, "{v}");
    let (a1, r1) = sim.tokens();
    assert_eq!(v["access_token"].as_str(), Some(a1.as_str()));
    assert_eq!(v["refresh_token"].as_str(), Some(r1.as_str()));
    assert_ne!(a1, a0);
    assert_ne!(r1, r0);
    assert_eq!(v["member_id"].as_str(), Some(sim.member_id().as_str()));
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(sim.refresh_count(), 1);

    let (s, v) = refresh(&sim, &r0, "sim-secret").await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(sim.refresh_count(), 1);
    let (s, _) = rest_with(&sim, "app.info", &a1, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(sim.calls_of("oauth.token").len(), 3);

    // install page: query DOMAIN/PROTOCOL/LANG/APP_SID, form AUTH_ID..., not installed until finish
    let app = Receiver::start(0).await;
    assert_eq!(
        sim.install_via_page(&format!("{}/install", app.url)).await,
        200
    );
    let h = app.hits()[0].clone();
    let q = form_decode(h.query.as_bytes());
    assert_eq!(form_get(&q, "DOMAIN"), Some(sim.domain().as_str()));
    assert_eq!(form_get(&q, "PROTOCOL"), Some("0"));
    let f = form_decode(&h.body);
    assert_eq!(form_get(&f, "AUTH_ID"), Some(a1.as_str()));
    assert_eq!(form_get(&f, "REFRESH_ID"), Some(r1.as_str()));
    assert_eq!(
        form_get(&f, "SERVER_ENDPOINT"),
        Some(sim.server_endpoint().as_str())
    );
    assert_eq!(form_get(&f, "PLACEMENT"), Some("DEFAULT"));
    assert!(!sim.installed());
    sim.install_finish();
    assert!(sim.installed());
}

#[actix_web::test]
async fn bitrix_leaky_bucket_and_batch() {
    let cfg = BitrixSimConfig {
        rate_limit: Some((5.0, 0.01)),
        ..Default::default()
    };
    let sim = BitrixSim::start(cfg).await;
    for _ in 0..5 {
        assert_eq!(rest(&sim, "event.get", json!({})).await.0, 200);
    }
    let (s, v) = rest(&sim, "event.get", json!({})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("QUERY_LIMIT_EXCEEDED"))
    );
    assert_eq!(sim.calls().last().map(|c| c.status), Some(503));

    // a batch costs one per sub-call
    sim.set_rate_limit(Some((5.0, 0.01)));
    let batch = json!({"halt": 0, "cmd": {
        "a": "event.get",
        "b": "imopenlines.config.list.get",
        "c": "imconnector.activate?CONNECTOR=nope&LINE=1&ACTIVE=1"
    }});
    let (s, v) = rest(&sim, "batch", batch.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["result"]["b"][0]["ID"], "1");
    assert!(v["result"]["result"]["a"].is_array());
    assert_eq!(v["result"]["result_error"]["c"]["error"], "ERROR_ARGUMENT");
    assert!(sim.calls_of("imconnector.activate")[0].via_batch);
    let (s, _) = rest(&sim, "batch", batch).await; // 3 + 3 > 5
    assert_eq!(s, 503);
    assert_eq!(rest(&sim, "event.get", json!({})).await.0, 200); // 3 + 1 <= 5
}

#[actix_web::test]
async fn bitrix_connector_conversations_and_operator_flow() {
    let sim = BitrixSim::start(BitrixSimConfig::default()).await;
    let app = Receiver::start(0).await;

    // registration
    let (s, v) = rest(&sim, "imconnector.register", register_body("Bad.Id")).await;
    assert_eq!((s, &v["result"]["result"]), (200, &json!(false)));
    let (s, v) = rest(&sim, "imconnector.register", register_body("b24wa")).await;
    assert_eq!((s, &v["result"]), (200, &json!({"result": true})), "{v}");
    let (s, v) = rest(
        &sim,
        "imconnector.activate",
        json!({"CONNECTOR": "b24wa", "LINE": 1, "ACTIVE": 1}),
    )
    .await;
    assert_eq!((s, &v["result"]), (200, &json!(true)));
    assert!(sim.connector_active("1") && !sim.connector_active("2"));

    // install + bindings
    assert_eq!(
        sim.install_via_event(&format!("{}/install", app.url)).await,
        200
    );
    let form = form_decode(&app.hits()[0].body);
    assert_eq!(form_get(&form, "event"), Some("ONAPPINSTALL"));
    assert_eq!(
        form_get(&form, "auth[access_token]"),
        Some(sim.tokens().0.as_str())
    );
    assert_eq!(
        form_get(&form, "auth[refresh_token]"),
        Some(sim.tokens().1.as_str())
    );
    assert_eq!(
        form_get(&form, "auth[member_id]"),
        Some(sim.member_id().as_str())
    );
    assert_eq!(
        form_get(&form, "auth[client_endpoint]"),
        Some(sim.client_endpoint().as_str())
    );
    assert_eq!(form_get(&form, "auth[expires_in]"), Some("3600"));
    for ev in [
        "OnImConnectorMessageAdd",
        "OnImConnectorMessageUpdate",
        "OnImConnectorMessageDelete",
        "OnImConnectorStatusDelete",
        "OnAppUninstall",
    ] {
        let (s, _) = rest(
            &sim,
            "event.bind",
            json!({"event": ev, "handler": format!("{}/events", app.url)}),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, v) = rest(
        &sim,
        "event.bind",
        json!({"event": "ONIMCONNECTORMESSAGEADD", "handler": format!("{}/events", app.url)}),
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("ERROR_EVENT_HANDLER_ALREADY_EXISTS"))
    );
    assert_eq!(sim.bindings().len(), 5);
    assert_eq!(sim.bindings()[0].0, "ONIMCONNECTORMESSAGEADD");

    // customer messages: two conversations
    let (s, v) = rest(
        &sim,
        "imconnector.send.messages",
        json!({"CONNECTOR": "b24wa", "LINE": 2,
        "MESSAGES": [msg_item("79001", "+79001", "c1", "wamid.1", "hi")]}),
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("NOT_ACTIVE_LINE")));
    let (s, v) = rest(
        &sim,
        "imconnector.send.messages",
        json!({"CONNECTOR": "b24wa", "LINE": "1", "MESSAGES": [
            msg_item("79001", "+79001", "c1", "wamid.1", "hi"),
            msg_item("79001", "+79001", "c1", "wamid.2", "again"),
            msg_item("79002", "+79002", "c2", "wamid.3", "other"),
        ]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["SUCCESS"], true);
    let items = v["result"]["DATA"]["RESULT"].as_array().expect("RESULT");
    assert_eq!(items.len(), 3);
    assert!(items[0]["user"].is_string());
    assert_eq!(
        items[0]["message"],
        json!({"id": "wamid.1", "date": {}, "text": "hi", "files": []})
    );
    assert_eq!(
        items[0]["chat"]["description"],
        "Link to the original post: https://wa.me/1"
    );
    assert_eq!(items[0]["SUCCESS"], true);
    assert!(items[0]["session"]["ID"].is_string() && items[0]["session"]["CHAT_ID"].is_string());
    assert_eq!(items[0]["session"], items[1]["session"]);
    assert_ne!(
        items[0]["session"]["CHAT_ID"],
        items[2]["session"]["CHAT_ID"]
    );
    assert_eq!(sim.conversations().len(), 2);
    assert_eq!(sim.crm_contacts().len(), 2);
    let cm = sim.customer_messages();
    assert_eq!(cm.len(), 3);
    assert_eq!(
        (
            cm[1].chat_id.as_str(),
            cm[1].message_id.as_str(),
            cm[1].text.as_str()
        ),
        ("c1", "wamid.2", "again")
    );
    let b24_chat = items[0]["session"]["CHAT_ID"]
        .as_str()
        .expect("chat")
        .to_string();

    // customer edit
    let (s, v) = rest(
        &sim,
        "imconnector.update.messages",
        json!({"CONNECTOR": "b24wa", "LINE": "1",
        "MESSAGES": [msg_item("79001", "+79001", "c1", "wamid.1", "hi (edited)")]}),
    )
    .await;
    assert_eq!((s, &v["result"]["SUCCESS"]), (200, &json!(true)));
    assert_eq!(sim.customer_messages()[0].text, "hi (edited)");

    // operator writes
    let op = sim.operator_write("1", "c1", "Hello from B24").await;
    assert_eq!(op.http_status, 200);
    assert_eq!(op.im_chat_id, b24_chat);
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    assert_eq!(ev["event"], "ONIMCONNECTORMESSAGEADD");
    assert_eq!(
        ev["data"]["MESSAGES"][0]["im"]["chat_id"],
        b24_chat.as_str()
    );
    assert_eq!(
        ev["data"]["MESSAGES"][0]["im"]["message_id"],
        op.im_message_id.as_str()
    );
    assert_eq!(
        ev["data"]["MESSAGES"][0]["message"]["text"],
        "Hello from B24"
    );
    assert_eq!(ev["data"]["MESSAGES"][0]["chat"]["id"], "c1");
    assert!(ev["data"]["MESSAGES"][0]["message"].get("files").is_none());
    assert_eq!(
        ev["auth"]["application_token"],
        sim.application_token().as_str()
    );
    assert_eq!(
        sim.operator_message_state(&op.im_message_id).as_deref(),
        Some("sending")
    );
    assert_eq!(
        sim.operator_edit(&op.im_message_id, "x").await,
        0,
        "unconfirmed: no edit event"
    );

    let status_body = |id: &str| {
        json!({"CONNECTOR": "b24wa", "LINE": "1", "MESSAGES": [{
            "im": {"chat_id": op.im_chat_id, "message_id": op.im_message_id},
            "message": {"id": [id], "date": 1738065600}, "chat": {"id": "c1"}}]})
    };
    let (s, v) = rest(
        &sim,
        "imconnector.send.status.delivery",
        status_body("wamid.OUT1"),
    )
    .await;
    assert_eq!(
        (s, &v["result"]),
        (200, &json!({"SUCCESS": true, "DATA": []}))
    );
    assert_eq!(
        sim.operator_message_state(&op.im_message_id).as_deref(),
        Some("delivered")
    );
    rest(
        &sim,
        "imconnector.send.status.reading",
        status_body("wamid.OUT1"),
    )
    .await;
    rest(
        &sim,
        "imconnector.send.status.delivery",
        status_body("wamid.OUT1"),
    )
    .await;
    let m = sim.operator_message(&op.im_message_id).expect("op msg");
    assert_eq!(m.state, "read");
    assert_eq!(m.history, vec!["sending", "delivered", "read"]);
    assert_eq!(m.external_ids, vec!["wamid.OUT1"]);

    assert_eq!(sim.operator_edit(&op.im_message_id, "Edited").await, 200);
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    assert_eq!(ev["event"], "ONIMCONNECTORMESSAGEUPDATE");
    assert_eq!(
        ev["data"]["MESSAGES"][0]["message"]["id"],
        json!(["wamid.OUT1"])
    );

    assert_eq!(sim.operator_delete(&op.im_message_id).await, 200);
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    assert_eq!(ev["event"], "ONIMCONNECTORMESSAGEDELETE");
    assert_eq!(ev["data"]["MESSAGES"][0]["message"]["id"], "wamid.OUT1");

    // operator file: public link served by the sim
    let op2 = sim
        .operator_write_file("1", "c2", "", "a.png", "image/png", b"PNG".to_vec())
        .await;
    assert_eq!(op2.http_status, 200);
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    let file = &ev["data"]["MESSAGES"][0]["message"]["files"][0];
    assert_eq!(
        (
            file["name"].as_str(),
            file["type"].as_str(),
            file["size"].as_str()
        ),
        (Some("a.png"), Some("image"), Some("3"))
    );
    let link = file["link"].as_str().expect("link");
    let bytes = reqwest::get(link)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&bytes[..], b"PNG");

    // system notice
    let (s, _) = rest(
        &sim,
        "im.message.add",
        json!({"DIALOG_ID": format!("chat{b24_chat}"), "MESSAGE": "oops", "SYSTEM": "Y"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(sim.system_notices()[0].chat_id, b24_chat);

    // wrong application token form, and connector switched off
    let f = sim.event_form_with_token(
        "ONIMCONNECTORSTATUSDELETE",
        json!({"connector": "b24wa", "line": "1"}),
        "wrong",
    );
    assert_eq!(form_get(&f, "auth[application_token]"), Some("wrong"));
    assert_eq!(sim.switch_connector_off("1").await, 200);
    assert!(!sim.connector_active("1"));
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    assert_eq!(ev["data"], json!({"connector": "b24wa", "line": "1"}));

    // uninstall: event without tokens, then everything is gone
    assert_eq!(sim.uninstall().await, 200);
    let ev = php_form_to_value(&app.hits().last().expect("event").body);
    assert_eq!(
        (ev["event"].as_str(), ev["data"]["CLEAN"].as_str()),
        (Some("ONAPPUNINSTALL"), Some("1"))
    );
    assert!(ev["auth"].get("access_token").is_none());
    assert_eq!(
        ev["auth"]["application_token"],
        sim.application_token().as_str()
    );
    assert!(sim.bindings().is_empty() && sim.registered_connectors().is_empty());
    assert_eq!(rest(&sim, "app.info", json!({})).await.0, 401);
}

// ----- Graph -----

#[actix_web::test]
async fn graph_send_answers_wamid_and_posts_signed_statuses() {
    let app = Receiver::start(0).await;
    // The window has its own test (graph_enforces_the_customer_service_window).
    let g = GraphSim::start(GraphSimConfig {
        enforce_window: false,
        ..GraphSimConfig::default()
    })
    .await;
    g.add_number("1122334455667", "tok", "s3cret", "15550001111");
    g.set_webhook_url(&format!("{}/wa", app.url));
    let url = format!("{}/v21.0/1122334455667/messages", g.base_url());
    let c = reqwest::Client::new();
    let send = |token: &'static str, body: Value| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.expect("json"))
        }
    };
    let text = |body: &str| json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "79001234567", "type": "text", "text": {"body": body, "preview_url": false}});

    let (s, v) = send("bad", text("hi")).await;
    assert_eq!((s, &v["error"]["code"]), (401, &json!(190)));
    let (s, v) = send("tok", text(&"x".repeat(4097))).await;
    assert_eq!((s, &v["error"]["code"]), (400, &json!(100)));
    let (s, v) = send("tok", text("hello")).await;
    assert_eq!(s, 200, "{v}");
    let wamid = v["messages"][0]["id"].as_str().expect("wamid").to_string();
    assert!(wamid.starts_with("wamid.SIM"));
    assert_eq!(
        v["contacts"][0],
        json!({"input": "79001234567", "wa_id": "79001234567"})
    );
    let sent = g.sent_messages();
    assert_eq!(
        (sent.len(), sent[0].text.as_str(), sent[0].to.as_str()),
        (1, "hello", "79001234567")
    );

    let hits = app.wait_for(2).await;
    assert_eq!(hits.len(), 2);
    let mut statuses = Vec::new();
    for h in &hits {
        assert_eq!(h.path, "/wa");
        assert_eq!(
            h.signature.as_deref(),
            Some(GraphSim::sign("s3cret", &h.body).as_str())
        );
        let v: Value = serde_json::from_slice(&h.body).expect("json");
        let value = &v["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["phone_number_id"], "1122334455667");
        assert_eq!(value["metadata"]["display_phone_number"], "15550001111");
        let st = &value["statuses"][0];
        assert_eq!(
            (st["id"].as_str(), st["recipient_id"].as_str()),
            (Some(wamid.as_str()), Some("79001234567"))
        );
        assert!(st["timestamp"].is_string());
        statuses.push(st["status"].as_str().expect("status").to_string());
    }
    assert_eq!(statuses, vec!["sent", "delivered"]);
    // The sim records a delivery once it has the receiver's answer, a moment after the
    // receiver has recorded the hit.
    let deadline = Instant::now() + Duration::from_secs(5);
    while g.webhook_deliveries().len() < 2 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(g.webhook_deliveries().len(), 2);

    // mark as read
    let (s, v) = send(
        "tok",
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in"}),
    )
    .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    assert_eq!(
        g.reads(),
        vec![("1122334455667".to_string(), "wamid.in".to_string())]
    );

    // inbound, signed with the number's secret
    let body = GraphSim::inbound_text_body(
        "1122334455667",
        "15550001111",
        "79001234567",
        "Ivan",
        "wamid.in2",
        "yo",
        1697043223,
    );
    assert_eq!(g.post_signed("1122334455667", body.clone()).await, 200);
    let h = app.hits().last().cloned().expect("hit");
    assert_eq!(h.body, body);
    assert_eq!(h.signature, Some(GraphSim::sign("s3cret", &body)));
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        v["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"],
        "yo"
    );
    assert_eq!(
        GraphSim::post_raw(&format!("{}/wa", app.url), body, None)
            .await
            .0,
        200
    );
}

#[actix_web::test]
async fn graph_retries_webhooks_until_200() {
    let app = Receiver::start(2).await;
    let g = GraphSim::start(GraphSimConfig {
        auto_statuses: vec!["sent"],
        retry_backoff: Duration::from_millis(5),
        ..Default::default()
    })
    .await;
    g.add_number("1", "tok", "sec", "15550001111");
    g.set_webhook_url(&app.url);
    let r = reqwest::Client::new()
        .post(format!("{}/v21.0/1/messages", g.base_url()))
        .bearer_auth("tok")
        .json(&json!({"messaging_product": "whatsapp", "to": "4915", "type": "text", "text": {"body": "x"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.wait_for(3).await.len(), 3);
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let d: Vec<(u32, u16)> = g
        .webhook_deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(d, vec![(1, 500), (2, 500), (3, 200)]);
}

// ----- faults -----

#[actix_web::test]
async fn injected_faults_are_consumed() {
    let sim = BitrixSim::start(BitrixSimConfig::default()).await;
    sim.inject(Some("event.get"), BitrixFault::ServerError, 2);
    assert_eq!(rest(&sim, "app.info", json!({})).await.0, 200);
    let (s, v) = rest(&sim, "event.get", json!({})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (500, Some("INTERNAL_SERVER_ERROR"))
    );
    assert_eq!(rest(&sim, "event.get", json!({})).await.0, 500);
    assert_eq!(rest(&sim, "event.get", json!({})).await.0, 200);
    assert_eq!(sim.pending_faults(), 0);

    // a faulted call has no effect
    sim.inject(None, BitrixFault::QueryLimit, 1);
    let (s, v) = rest(&sim, "imconnector.register", register_body("b24wa")).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (503, Some("QUERY_LIMIT_EXCEEDED"))
    );
    assert!(sim.registered_connectors().is_empty());
    sim.inject(None, BitrixFault::ExpiredToken, 1);
    let (s, v) = rest(&sim, "app.info", json!({})).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("expired_token")));
    sim.inject(None, BitrixFault::Timeout(Duration::from_millis(150)), 1);
    let t = Instant::now();
    assert_eq!(
        rest(&sim, "imconnector.register", register_body("b24wa"))
            .await
            .0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(sim.registered_connectors(), vec!["b24wa".to_string()]);
    sim.set_down(true);
    assert_eq!(rest(&sim, "app.info", json!({})).await.0, 500);
    sim.set_down(false);
    assert_eq!(rest(&sim, "app.info", json!({})).await.0, 200);
    let statuses: Vec<u16> = sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![200, 500, 500, 200, 503, 401, 200, 500, 200]);

    let g = GraphSim::start(GraphSimConfig::default()).await;
    g.add_number("1", "tok", "sec", "15550001111");
    let send = || async {
        let r = reqwest::Client::new()
            .post(format!("{}/v21.0/1/messages", g.base_url()))
            .bearer_auth("tok")
            .json(&json!({"messaging_product": "whatsapp", "to": "4915", "type": "text", "text": {"body": "x"}}))
            .send()
            .await
            .expect("send");
        let s = r.status().as_u16();
        (s, r.json::<Value>().await.expect("json"))
    };
    g.inject(GraphFault::Throughput, 1);
    g.inject(GraphFault::ServerError, 1);
    g.inject(GraphFault::ExpiredToken, 1);
    let codes: Vec<(u16, Value)> = vec![send().await, send().await, send().await]
        .into_iter()
        .map(|(s, v)| (s, v["error"]["code"].clone()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (400, json!(130429)),
            (500, json!(131000)),
            (401, json!(190))
        ]
    );
    assert!(g.sent_messages().is_empty());
    g.set_down(true);
    assert_eq!(send().await.0, 503);
    g.set_down(false);
    assert_eq!(send().await.0, 200);
    assert_eq!(g.sent_messages().len(), 1);
    assert_eq!(g.pending_faults(), 0);
    assert_eq!(g.calls().len(), 5);
}

/// whatsapp-templates.md §1: free-form sends outside the 24-hour window are accepted, then fail
/// with a 131047 status (no conversation, no pricing); a customer's message opens the window for
/// 24 h from its own timestamp; templates always go; the synchronous form is a fault switch.
#[actix_web::test]
async fn graph_enforces_the_customer_service_window() {
    let app = Receiver::start(0).await;
    let g = GraphSim::start(GraphSimConfig::default()).await;
    g.add_number("1122334455668", "tok", "s3cret", "15550001112");
    g.set_webhook_url(&format!("{}/wa", app.url));
    let url = format!("{}/v21.0/1122334455668/messages", g.base_url());
    let c = reqwest::Client::new();
    let send = |body: Value| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth("tok")
                .json(&body)
                .send()
                .await
                .expect("send");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.expect("json"))
        }
    };
    let text = json!({"messaging_product": "whatsapp", "to": "79001234568", "type": "text", "text": {"body": "hi"}});
    let statuses_of = |hits: &[Hit], wamid: &str| -> Vec<Value> {
        hits.iter()
            .filter_map(|h| serde_json::from_slice::<Value>(&h.body).ok())
            .map(|v| v["entry"][0]["changes"][0]["value"]["statuses"][0].clone())
            .filter(|st| st["id"] == wamid)
            .collect()
    };

    // Never wrote: accepted, then failed with 131047.
    let (s, v) = send(text.clone()).await;
    assert_eq!(s, 200, "{v}");
    let wamid = v["messages"][0]["id"].as_str().expect("wamid").to_string();
    let hits = app.wait_for(1).await;
    let st = statuses_of(&hits, &wamid);
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(st[0]["status"], "failed");
    assert_eq!(st[0]["errors"][0]["code"], 131047);
    assert_eq!(st[0]["errors"][0]["title"], "Re-engagement message");
    assert!(st[0].get("pricing").is_none() && st[0].get("conversation").is_none());
    assert!(g.sent_messages()[0].outside_window);

    // A template goes outside the window.
    g.add_template(
        json!({"name": "hello_world", "language": "en_US", "status": "APPROVED",
        "category": "UTILITY", "components": [{"type": "BODY", "text": "Hello World"}]}),
    );
    let template = json!({"messaging_product": "whatsapp", "to": "79001234568", "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}});
    let (s, v) = send(template).await;
    assert_eq!(s, 200, "{v}");
    assert!(!g.sent_messages()[1].outside_window);

    // A message 25 h old does not open it; one from an hour ago does.
    for (wamid, ago) in [("wamid.old", 25 * 3600), ("wamid.new", 3600)] {
        let body = GraphSim::inbound_text_body(
            "1122334455668",
            "15550001112",
            "79001234568",
            "Ivan",
            wamid,
            "hello",
            sim::unix_now() - ago,
        );
        assert_eq!(g.post_signed("1122334455668", body).await, 200);
        if wamid == "wamid.old" {
            let (s, _) = send(text.clone()).await;
            assert_eq!(s, 200);
            assert!(g.sent_messages().last().expect("sent").outside_window);
        }
    }
    let (s, _) = send(text.clone()).await;
    assert_eq!(s, 200);
    assert!(!g.sent_messages().last().expect("sent").outside_window);

    // The test switch: WhatsApp's view says closed whatever the customer did.
    g.close_window("1122334455668", "79001234568");
    let (s, _) = send(text.clone()).await;
    assert_eq!(s, 200);
    assert!(g.sent_messages().last().expect("sent").outside_window);

    // The synchronous form.
    g.inject(GraphFault::Reengagement, 1);
    let (s, v) = send(text).await;
    assert_eq!((s, &v["error"]["code"]), (400, &json!(131047)), "{v}");
    g.stop().await;
}
