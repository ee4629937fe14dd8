//! Self-tests of the WhatsApp Web gateway simulator (tests/sim/gateway.rs), over real HTTP, without
//! the app. Contract: /work/shared/contracts/whatsapp.md §B.

mod sim;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use serde_json::{json, Value};
use sim::*;

const ID: u64 = 1101000001;
const TOKEN: &str = "d75b3a66374942c5b3c019c698abc2067e151558acbd412345";
const WID: &str = "79990000000";
const HOOK_TOKEN: &str = "wh-secret-1";
const FILE_BYTES: &[u8] = b"%PDF-1.4 sim report\n";

// ----- a tiny receiver standing in for our app (webhooks in, files out) -----

#[derive(Clone, Debug)]
struct Hit {
    authorization: Option<String>,
    body: Vec<u8>,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// POSTs are recorded and answered 500 for the first `fail_first`, then 200 (`fail_first =
    /// usize::MAX`: always 500). `GET /files/report.pdf` serves FILE_BYTES, other GETs 404.
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
                        if req.method() == actix_web::http::Method::GET {
                            return if req.path() == "/files/report.pdf" {
                                HttpResponse::Ok()
                                    .content_type("application/pdf")
                                    .body(FILE_BYTES)
                            } else {
                                HttpResponse::NotFound().finish()
                            };
                        }
                        let mut hits = h.lock().expect("lock");
                        hits.push(Hit {
                            authorization: req
                                .headers()
                                .get("authorization")
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

    /// Webhook bodies with this typeWebhook.
    fn of_type(&self, t: &str) -> Vec<Value> {
        self.hits()
            .iter()
            .map(Hit::json)
            .filter(|v| v["typeWebhook"] == t)
            .collect()
    }

    async fn wait_until(&self, f: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let hits = self.hits();
            if f(&hits) || Instant::now() > deadline {
                return hits;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        self.wait_until(|h| h.len() >= n).await
    }
}

// ----- helpers -----

fn url(gw: &GatewaySim, id: u64, method: &str, token: &str) -> String {
    format!("{}/waInstance{id}/{method}/{token}", gw.base_url())
}

async fn get(gw: &GatewaySim, method: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url(gw, ID, method, TOKEN))
        .send()
        .await
        .expect("GET");
    (r.status().as_u16(), r.text().await.expect("text"))
}

async fn post(gw: &GatewaySim, method: &str, body: Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url(gw, ID, method, TOKEN))
        .json(&body)
        .send()
        .await
        .expect("POST");
    (r.status().as_u16(), r.text().await.expect("text"))
}

fn js(s: &str) -> Value {
    serde_json::from_str(s).expect("JSON answer")
}

async fn state_of(gw: &GatewaySim) -> String {
    let (s, t) = get(gw, "getStateInstance").await;
    assert_eq!(s, 200, "{t}");
    js(&t)["stateInstance"]
        .as_str()
        .expect("stateInstance")
        .to_string()
}

async fn send_text(gw: &GatewaySim, chat: &str, text: &str) -> String {
    let (s, t) = post(gw, "sendMessage", json!({"chatId": chat, "message": text})).await;
    assert_eq!(s, 200, "{t}");
    js(&t)["idMessage"].as_str().expect("idMessage").to_string()
}

fn all_settings(webhook_url: &str) -> Value {
    json!({
        "webhookUrl": webhook_url, "webhookUrlToken": HOOK_TOKEN,
        "incomingWebhook": "yes", "outgoingWebhook": "yes", "stateWebhook": "yes",
        "deletedMessageWebhook": "yes", "editedMessageWebhook": "yes"
    })
}

/// A gateway with instance ID, webhooks to `receiver` (all flags of the contract on), linked.
async fn linked(cfg: GatewaySimConfig, receiver: &Receiver) -> GatewaySim {
    let gw = GatewaySim::start(cfg).await;
    gw.add_instance(ID, TOKEN, WID);
    let (s, t) = post(
        &gw,
        "setSettings",
        all_settings(&format!("{}/wa", receiver.url)),
    )
    .await;
    assert_eq!((s, js(&t)), (200, json!({"saveSettings": true})));
    gw.scan_qr(ID).await;
    gw
}

fn is_upper_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

// ----- an independent PNG check (own CRC table and stored-deflate reader) -----

fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (n, e) in t.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *e = c;
    }
    t
}

fn crc(table: &[u32; 256], bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

/// Checks signature, chunk CRCs, IHDR, the zlib stream (stored blocks + Adler-32) and the image
/// data size. Returns (width, height, tEXt payloads).
fn check_png(png: &[u8]) -> (u32, u32, Vec<String>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let table = crc_table();
    let (mut pos, mut ihdr, mut idat, mut texts, mut end) =
        (8, None, Vec::new(), Vec::new(), false);
    while pos < png.len() {
        let len = be32(&png[pos..]) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        let stored_crc = be32(&png[pos + 8 + len..]);
        assert_eq!(
            crc(&table, &png[pos + 4..pos + 8 + len]),
            stored_crc,
            "chunk CRC"
        );
        match kind {
            b"IHDR" => ihdr = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"tEXt" => texts.push(String::from_utf8_lossy(data).to_string()),
            b"IEND" => end = true,
            _ => {}
        }
        pos += 12 + len;
    }
    assert!(end, "IEND present");
    let ihdr = ihdr.expect("IHDR first");
    let (w, h) = (be32(&ihdr[0..]), be32(&ihdr[4..]));
    let (depth, color) = (ihdr[8], ihdr[9]);
    assert_eq!((depth, color), (1, 0), "1-bit grayscale");
    // zlib: CMF/FLG check, stored blocks, Adler-32
    assert_eq!(
        ((u16::from(idat[0]) << 8) | u16::from(idat[1])) % 31,
        0,
        "zlib header"
    );
    let mut p = 2;
    let mut raw = Vec::new();
    loop {
        let hdr = idat[p];
        assert_eq!(hdr >> 1, 0, "stored block");
        let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]);
        let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
        assert_eq!(len, !nlen);
        raw.extend_from_slice(&idat[p + 5..p + 5 + len as usize]);
        p += 5 + len as usize;
        if hdr & 1 == 1 {
            break;
        }
    }
    let (a, b) = raw.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + u32::from(x)) % 65521;
        (a, (b + a) % 65521)
    });
    assert_eq!(be32(&idat[p..]), (b << 16) | a, "adler32");
    let row = (w as usize).div_ceil(8) + 1;
    assert_eq!(raw.len(), row * h as usize, "image data size");
    assert!(raw.chunks(row).all(|r| r[0] == 0), "filter bytes");
    // both black and white pixels
    assert!(raw.contains(&0) && raw.contains(&0xFF));
    (w, h, texts)
}

fn qr_of(answer: &str) -> String {
    let v = js(answer);
    assert_eq!(v["type"], "qrCode", "{v}");
    v["message"].as_str().expect("message").to_string()
}

// ----- tests -----

#[actix_web::test]
async fn auth_errors_routing_and_recording() {
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(ID, TOKEN, WID);
    let c = reqwest::Client::new();
    let status = |r: reqwest::Response| r.status().as_u16();

    let r = c
        .get(url(&gw, ID, "getStateInstance", "wrong"))
        .send()
        .await
        .expect("get");
    assert_eq!(status(r), 401);
    let r = c
        .get(url(&gw, ID + 1, "getStateInstance", TOKEN))
        .send()
        .await
        .expect("get");
    assert_eq!(status(r), 403);
    let r = c
        .get(format!(
            "{}/instance{ID}/getStateInstance/{TOKEN}",
            gw.base_url()
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(status(r), 404);
    let r = c
        .get(url(&gw, ID, "noSuchMethod", TOKEN))
        .send()
        .await
        .expect("get");
    assert_eq!(status(r), 404);
    let r = c
        .post(url(&gw, ID, "getStateInstance", TOKEN))
        .send()
        .await
        .expect("post");
    assert_eq!(status(r), 405);
    let r = c
        .get(url(&gw, ID, "sendMessage", TOKEN))
        .send()
        .await
        .expect("get");
    assert_eq!(status(r), 405);
    let r = c
        .post(url(&gw, ID, "sendMessage", TOKEN))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(status(r), 400);
    // the wrong token does not become right for another method, and a good call works
    assert_eq!(state_of(&gw).await, "notAuthorized");
    assert_eq!(gw.method_url(ID, "qr"), url(&gw, ID, "qr", TOKEN));

    let calls: Vec<(String, Option<u64>, u16)> = gw
        .calls()
        .iter()
        .map(|c| (c.method.clone(), c.instance, c.status))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("getStateInstance".into(), Some(ID), 401),
            ("getStateInstance".into(), Some(ID + 1), 403),
            ("getStateInstance".into(), None, 404),
            ("noSuchMethod".into(), Some(ID), 404),
            ("getStateInstance".into(), Some(ID), 405),
            ("sendMessage".into(), Some(ID), 405),
            ("sendMessage".into(), Some(ID), 400),
            ("getStateInstance".into(), Some(ID), 200),
        ]
    );
    assert_eq!(gw.calls()[6].body, json!({"raw": "{not json"}));
    assert!(gw.sent().is_empty());
}

#[actix_web::test]
async fn session_state_and_qr_flow() {
    let app = Receiver::start(0).await;
    let gw = GatewaySim::start(GatewaySimConfig {
        reboot_delay: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    gw.add_instance(ID, TOKEN, WID);
    assert_eq!(state_of(&gw).await, "notAuthorized");

    // a valid PNG, stable within 20 s, new after rotate_qr or 20 s of simulated time
    let (s, t) = get(&gw, "qr").await;
    assert_eq!(s, 200);
    let qr1 = qr_of(&t);
    let png = base64::engine::general_purpose::STANDARD
        .decode(&qr1)
        .expect("base64");
    let (w, h, texts) = check_png(&png);
    assert_eq!((w, h), (116, 116));
    assert!(texts[0].starts_with("Comment\0sim-qr "), "{texts:?}");
    assert_eq!(qr_of(&get(&gw, "qr").await.1), qr1);
    assert_eq!(gw.current_qr(ID).as_deref(), Some(qr1.as_str()));
    gw.rotate_qr(ID);
    let qr2 = qr_of(&get(&gw, "qr").await.1);
    assert_ne!(qr2, qr1);
    gw.advance_clock(Duration::from_secs(21));
    let qr3 = qr_of(&get(&gw, "qr").await.1);
    assert!(qr3 != qr2 && qr3 != qr1);
    check_png(
        &base64::engine::general_purpose::STANDARD
            .decode(&qr3)
            .expect("base64"),
    );

    // nothing is posted before setSettings
    assert_eq!(gw.set_state(ID, "notAuthorized").await, 0);
    let (s, t) = post(
        &gw,
        "setSettings",
        json!({"webhookUrl": format!("{}/wa", app.url), "webhookUrlToken": HOOK_TOKEN, "stateWebhook": "yes"}),
    )
    .await;
    assert_eq!((s, js(&t)), (200, json!({"saveSettings": true})));

    // the phone scans: authorized, posted with the bearer token
    assert_eq!(gw.scan_qr(ID).await, 200);
    assert_eq!(state_of(&gw).await, "authorized");
    let hits = app.wait_for(1).await;
    assert_eq!(
        hits[0].authorization.as_deref(),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
    let v = hits[0].json();
    assert_eq!(v["typeWebhook"], "stateInstanceChanged");
    assert_eq!(v["stateInstance"], "authorized");
    assert_eq!(
        v["instanceData"],
        json!({"idInstance": ID, "wid": "79990000000@c.us", "typeInstance": "whatsapp"})
    );
    assert!(v["timestamp"].as_i64().expect("timestamp") > 1_600_000_000);
    let (_, t) = get(&gw, "qr").await;
    assert_eq!(
        js(&t),
        json!({"type": "alreadyLogged", "message": "instance account already authorized"})
    );
    assert_eq!(gw.current_qr(ID), None);

    // other states
    gw.set_state(ID, "yellowCard").await;
    assert_eq!(state_of(&gw).await, "yellowCard");
    gw.set_state(ID, "blocked").await;
    assert_eq!(state_of(&gw).await, "blocked");
    assert_eq!(js(&get(&gw, "qr").await.1)["type"], "error");
    let (s, t) = post(
        &gw,
        "sendMessage",
        json!({"chatId": "79001234567@c.us", "message": "x"}),
    )
    .await;
    assert_eq!((s, t.as_str()), (400, "instance account not authorized"));
    gw.set_state(ID, "authorized").await;

    // reboot: starting (sends refused), then authorized again
    let (s, t) = post(&gw, "reboot", json!({})).await;
    assert_eq!((s, js(&t)), (200, json!({"isReboot": true})));
    assert_eq!(state_of(&gw).await, "starting");
    let (s, t) = post(
        &gw,
        "sendMessage",
        json!({"chatId": "79001234567@c.us", "message": "x"}),
    )
    .await;
    assert_eq!(
        (s, t.as_str()),
        (400, "instance in starting process try later")
    );
    assert!(
        gw.wait_for(Duration::from_secs(3), |g| g.state(ID) == "authorized")
            .await
    );
    assert_eq!(
        app.wait_for(6).await.len(),
        6,
        "the reboot's two state webhooks"
    );

    // logout: back to a QR
    let (s, t) = post(&gw, "logout", json!({})).await;
    assert_eq!((s, js(&t)), (200, json!({"isLogout": true})));
    assert_eq!(state_of(&gw).await, "notAuthorized");
    qr_of(&get(&gw, "qr").await.1);
    let (s, t) = post(
        &gw,
        "sendMessage",
        json!({"chatId": "79001234567@c.us", "message": "x"}),
    )
    .await;
    assert_eq!((s, t.as_str()), (400, "instance account not authorized"));
    assert_eq!(app.wait_for(7).await.len(), 7);

    // a reboot of an unlinked instance does not link it
    post(&gw, "reboot", json!({})).await;
    assert!(
        gw.wait_for(Duration::from_secs(3), |g| g.state(ID) == "notAuthorized")
            .await
    );

    let expected = [
        "authorized",
        "yellowCard",
        "blocked",
        "authorized",
        "starting",
        "authorized",
        "notAuthorized",
        "starting",
        "notAuthorized",
    ];
    let hits = app.wait_for(expected.len()).await;
    let states: Vec<String> = hits
        .iter()
        .map(|h| {
            h.json()["stateInstance"]
                .as_str()
                .expect("state")
                .to_string()
        })
        .collect();
    assert_eq!(states, expected);
    assert!(gw.sent().is_empty());
}

#[actix_web::test]
async fn settings_gate_webhooks_and_customer_messages_arrive() {
    let app = Receiver::start(0).await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(ID, TOKEN, WID);
    gw.scan_qr(ID).await;

    // all webhooks are off until setSettings
    gw.customer_text(ID, "79001234567", "Ivan", "lost").await;
    assert!(gw.webhook_deliveries().is_empty());
    assert_eq!(gw.settings(ID), json!({}));

    let (s, t) = post(&gw, "setSettings", json!({"incomingWebhook": "maybe"})).await;
    assert_eq!(s, 400);
    assert!(t.contains("incomingWebhook"), "{t}");
    let (s, t) = post(&gw, "setSettings", json!({"webhookUrl": "ftp://x"})).await;
    assert_eq!(s, 400, "{t}");
    let hook = format!("{}/wa", app.url);
    let (s, t) = post(
        &gw,
        "setSettings",
        json!({"webhookUrl": hook, "webhookUrlToken": HOOK_TOKEN, "incomingWebhook": "yes", "delaySendMessagesMilliseconds": 500}),
    )
    .await;
    assert_eq!((s, js(&t)), (200, json!({"saveSettings": true})));
    assert_eq!(gw.settings(ID)["incomingWebhook"], "yes");
    assert_eq!(gw.settings(ID)["delaySendMessagesMilliseconds"], 500);
    let (_, t) = get(&gw, "getSettings").await;
    assert_eq!(js(&t)["webhookUrl"], json!(hook));
    assert_eq!(js(&t)["wid"], "79990000000@c.us");

    // a customer text, exactly the contract's envelope, with the bearer token
    let idm = gw.customer_text(ID, "79001234567", "Ivan", "Hello").await;
    assert!(is_upper_hex(&idm) && idm.len() == 32, "{idm}");
    let hits = app.wait_for(1).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].authorization.as_deref(), Some("Bearer wh-secret-1"));
    let v = hits[0].json();
    let ts = v["timestamp"].as_i64().expect("timestamp");
    assert!((ts - gw.now_ms() / 1000).abs() < 5);
    assert_eq!(
        v,
        json!({"typeWebhook": "incomingMessageReceived",
               "instanceData": {"idInstance": ID, "wid": "79990000000@c.us", "typeInstance": "whatsapp"},
               "timestamp": ts, "idMessage": idm,
               "senderData": {"chatId": "79001234567@c.us", "sender": "79001234567@c.us",
                              "chatName": "Ivan", "senderName": "Ivan"},
               "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Hello"}}})
    );
    let d = gw.webhook_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (
            d[0].type_webhook.as_str(),
            d[0].id_message.as_deref(),
            d[0].status,
            d[0].attempt
        ),
        ("incomingMessageReceived", Some(idm.as_str()), 200, 1)
    );

    // edits and deletes need their own flags
    gw.customer_edit(ID, "79001234567", &idm, "Hello!").await;
    gw.customer_delete(ID, "79001234567", &idm).await;
    assert_eq!(gw.webhook_deliveries().len(), 1);
    let (s, _) = post(
        &gw,
        "setSettings",
        json!({"editedMessageWebhook": "yes", "deletedMessageWebhook": "yes"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(gw.settings(ID)["incomingWebhook"], "yes", "settings merge");
    let edit_id = gw.customer_edit(ID, "79001234567", &idm, "Hello!").await;
    let del_id = gw.customer_delete(ID, "79001234567", &idm).await;
    let hits = app.wait_for(3).await;
    let (e, del) = (hits[1].json(), hits[2].json());
    assert_eq!(
        (e["typeWebhook"].as_str(), e["idMessage"].as_str()),
        (Some("incomingMessageReceived"), Some(edit_id.as_str()))
    );
    assert_eq!(
        e["messageData"],
        json!({"typeMessage": "editedMessage", "editedMessageData": {"textMessage": "Hello!", "stanzaId": idm}})
    );
    assert_eq!(e["senderData"]["senderName"], "Ivan", "name remembered");
    assert_eq!(del["idMessage"], json!(del_id));
    assert_eq!(
        del["messageData"],
        json!({"typeMessage": "deletedMessage", "deletedMessageData": {"stanzaId": idm}})
    );

    // a reply quoting our own message
    let ours = send_text(&gw, "79001234567@c.us", "Your order is ready").await;
    let reply = gw
        .customer_reply(ID, "79001234567", "Ivan", "Thanks", &ours)
        .await;
    let hits = app.wait_for(4).await;
    let r = hits[3].json();
    assert_eq!(r["idMessage"], json!(reply));
    assert_eq!(r["messageData"]["typeMessage"], "quotedMessage");
    assert_eq!(r["messageData"]["quotedMessage"]["stanzaId"], json!(ours));
    assert_eq!(
        r["messageData"]["quotedMessage"]["participant"],
        "79990000000@c.us"
    );
    assert_eq!(
        r["messageData"]["quotedMessage"]["textMessage"],
        "Your order is ready"
    );
    assert_eq!(
        r["messageData"]["extendedTextMessageData"]["text"],
        "Thanks"
    );

    // a voice note: bytes served at downloadUrl
    let voice = vec![0x4F, 0x67, 0x67, 0x53, 1, 2, 3];
    let vid = gw
        .customer_file(
            ID,
            "79001234567",
            "Ivan",
            "audioMessage",
            "audio/ogg; codecs=opus",
            "voice.ogg",
            voice.clone(),
            "",
        )
        .await;
    let hits = app.wait_for(5).await;
    let f = hits[4].json();
    assert_eq!(f["messageData"]["typeMessage"], "audioMessage");
    let fmd = &f["messageData"]["fileMessageData"];
    assert_eq!(
        (
            fmd["mimeType"].as_str(),
            fmd["fileName"].as_str(),
            fmd["caption"].as_str()
        ),
        (Some("audio/ogg; codecs=opus"), Some("voice.ogg"), Some(""))
    );
    let link = fmd["downloadUrl"]
        .as_str()
        .expect("downloadUrl")
        .to_string();
    let r = reqwest::get(&link).await.expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().expect("ct"),
        "audio/ogg; codecs=opus"
    );
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), voice);

    // the link expires; downloadFile gives a new one
    gw.advance_clock(Duration::from_secs(25 * 3600));
    assert_eq!(
        reqwest::get(&link)
            .await
            .expect("download")
            .status()
            .as_u16(),
        404
    );
    let (s, t) = post(
        &gw,
        "downloadFile",
        json!({"chatId": "79001234567@c.us", "idMessage": vid}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let fresh = js(&t)["downloadUrl"].as_str().expect("url").to_string();
    assert_ne!(fresh, link);
    let r = reqwest::get(&fresh).await.expect("download");
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), voice);
    let (s, _) = post(
        &gw,
        "downloadFile",
        json!({"chatId": "79001234567@c.us", "idMessage": idm}),
    )
    .await;
    assert_eq!(s, 400, "a text has no file");

    // while unlinked, what the customer writes waits for the link
    gw.set_state(ID, "notAuthorized").await;
    let late = gw.customer_text(ID, "79001234567", "Ivan", "anyone?").await;
    assert_eq!(gw.pending_webhooks(), 1);
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.hits().len(), 5);
    gw.scan_qr(ID).await;
    let hits = app.wait_for(6).await;
    assert_eq!(hits[5].json()["idMessage"], json!(late));
    assert_eq!(gw.pending_webhooks(), 0);

    let msgs = gw.customer_messages();
    assert_eq!(msgs.len(), 9);
    assert_eq!(
        msgs.iter()
            .map(|m| m.type_message.as_str())
            .collect::<Vec<_>>(),
        vec![
            "textMessage",
            "textMessage",
            "editedMessage",
            "deletedMessage",
            "editedMessage",
            "deletedMessage",
            "quotedMessage",
            "audioMessage",
            "textMessage"
        ]
    );
}

#[actix_web::test]
async fn sends_answer_ids_and_post_status_webhooks() {
    let app = Receiver::start(0).await;
    let gw = linked(GatewaySimConfig::default(), &app).await;
    let chat = "79001234567@c.us";

    // validation
    for (body, needle) in [
        (json!({"chatId": "79001234567", "message": "x"}), "chatId"),
        (json!({"chatId": "abc@c.us", "message": "x"}), "chatId"),
        (json!({"chatId": "12345@g.us", "message": "x"}), "chatId"),
        (json!({"message": "x"}), "'chatId' is required"),
        (json!({"chatId": chat}), "'message' is required"),
        (json!({"chatId": chat, "message": 5}), "'message'"),
        (
            json!({"chatId": chat, "message": "x".repeat(20_001)}),
            "'message'",
        ),
    ] {
        let (s, t) = post(&gw, "sendMessage", body).await;
        assert_eq!(s, 400);
        assert!(
            t.starts_with("Validation failed") && t.contains(needle),
            "{t}"
        );
    }
    assert!(gw.sent().is_empty());

    // a text: id, then sent → delivered → read
    let (s, t) = post(
        &gw,
        "sendMessage",
        json!({"chatId": chat, "message": "Hi", "quotedMessageId": "F7AEC1B7086ECDC7E6E45923F5EDB825"}),
    )
    .await;
    assert_eq!(s, 200);
    let v = js(&t);
    assert_eq!(v.as_object().map(|o| o.len()), Some(1));
    let id1 = v["idMessage"].as_str().expect("idMessage").to_string();
    assert!(is_upper_hex(&id1), "{id1}");
    app.wait_until(|h| h.len() >= 4).await; // stateInstanceChanged + 3 statuses
    let statuses = app.of_type("outgoingMessageStatus");
    assert_eq!(statuses.len(), 3);
    let names: Vec<&str> = statuses
        .iter()
        .map(|s| s["status"].as_str().expect("status"))
        .collect();
    assert_eq!(names, vec!["sent", "delivered", "read"]);
    for st in &statuses {
        let ts = st["timestamp"].as_i64().expect("ts");
        assert_eq!(
            st,
            &json!({"typeWebhook": "outgoingMessageStatus", "chatId": chat,
                    "instanceData": {"idInstance": ID, "wid": "79990000000@c.us", "typeInstance": "whatsapp"},
                    "timestamp": ts, "idMessage": id1, "status": st["status"], "sendByApi": true})
        );
    }
    assert!(app
        .hits()
        .iter()
        .all(|h| h.authorization.as_deref() == Some("Bearer wh-secret-1")));
    let m = gw.sent_message(&id1).expect("sent");
    assert_eq!(
        (
            m.chat_id.as_str(),
            m.kind.as_str(),
            m.text.as_str(),
            m.quoted_id.as_deref()
        ),
        (chat, "text", "Hi", Some("F7AEC1B7086ECDC7E6E45923F5EDB825"))
    );
    assert_eq!(m.statuses, vec!["sent", "delivered", "read"]);
    assert!(
        app.of_type("outgoingAPIMessageReceived").is_empty(),
        "flag off"
    );

    // a file by URL: fetched, typed by extension, echoed when outgoingAPIMessageWebhook is on
    post(
        &gw,
        "setSettings",
        json!({"outgoingAPIMessageWebhook": "yes"}),
    )
    .await;
    let (s, t) = post(
        &gw,
        "sendFileByUrl",
        json!({"chatId": chat, "urlFile": format!("{}/files/report.pdf", app.url), "fileName": "report.pdf", "caption": "Invoice"}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let id2 = js(&t)["idMessage"].as_str().expect("id").to_string();
    let m = gw.sent_message(&id2).expect("sent");
    let f = m.file.clone().expect("file");
    assert_eq!(
        (
            m.kind.as_str(),
            m.text.as_str(),
            f.bytes.as_deref(),
            f.content_type.as_deref()
        ),
        (
            "document",
            "Invoice",
            Some(FILE_BYTES),
            Some("application/pdf")
        )
    );
    app.wait_until(|h| {
        h.iter()
            .filter(|h| h.json()["idMessage"] == json!(id2))
            .count()
            >= 4
    })
    .await;
    let echo = app.of_type("outgoingAPIMessageReceived");
    assert_eq!(echo.len(), 1);
    assert_eq!(echo[0]["idMessage"], json!(id2));
    assert_eq!(echo[0]["messageData"]["typeMessage"], "documentMessage");
    assert_eq!(
        echo[0]["messageData"]["fileMessageData"]["fileName"],
        "report.pdf"
    );

    // a file that cannot be fetched is accepted, then fails
    let (s, t) = post(
        &gw,
        "sendFileByUrl",
        json!({"chatId": chat, "urlFile": format!("{}/files/missing.jpg", app.url), "fileName": "missing.jpg"}),
    )
    .await;
    assert_eq!(s, 200);
    let id3 = js(&t)["idMessage"].as_str().expect("id").to_string();
    let m = gw.sent_message(&id3).expect("sent");
    assert_eq!(m.kind, "image");
    assert!(m
        .file
        .as_ref()
        .and_then(|f| f.fetch_error.clone())
        .is_some());
    app.wait_until(|_| {
        app.of_type("outgoingMessageStatus")
            .iter()
            .any(|s| s["idMessage"] == json!(id3))
    })
    .await;
    let failed: Vec<Value> = app
        .of_type("outgoingMessageStatus")
        .into_iter()
        .filter(|s| s["idMessage"] == json!(id3))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "failed");
    assert!(failed[0]["description"]
        .as_str()
        .expect("description")
        .contains("404"));
    let (s, t) = post(
        &gw,
        "sendFileByUrl",
        json!({"chatId": chat, "urlFile": format!("{}/files/report.pdf", app.url), "fileName": "report"}),
    )
    .await;
    assert!(s == 400 && t.contains("fileName"), "{t}");

    // edit: a new id, the message is marked edited; files and unknown ids are refused
    let (s, t) = post(
        &gw,
        "editMessage",
        json!({"chatId": chat, "idMessage": id1, "message": "Hi there"}),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let edit_id = js(&t)["idMessage"].as_str().expect("id").to_string();
    assert!(is_upper_hex(&edit_id) && edit_id != id1);
    let m = gw.sent_message(&id1).expect("sent");
    assert!(m.edited);
    assert_eq!((m.current_text(), m.text.as_str()), ("Hi there", "Hi"));
    for (body, what) in [
        (
            json!({"chatId": chat, "idMessage": id2, "message": "x"}),
            "file",
        ),
        (
            json!({"chatId": chat, "idMessage": "NOPE", "message": "x"}),
            "unknown",
        ),
        (
            json!({"chatId": "79000000000@c.us", "idMessage": id1, "message": "x"}),
            "other chat",
        ),
    ] {
        assert_eq!(post(&gw, "editMessage", body).await.0, 400, "{what}");
    }

    // readChat
    let (s, t) = post(&gw, "readChat", json!({"chatId": chat, "idMessage": "ABC"})).await;
    assert_eq!((s, js(&t)), (200, json!({"setRead": true})));
    let (s, _) = post(&gw, "readChat", json!({"chatId": chat})).await;
    assert_eq!(s, 200);
    assert_eq!(
        gw.reads(),
        vec![
            GatewayRead {
                instance: ID,
                chat_id: chat.into(),
                id_message: Some("ABC".into())
            },
            GatewayRead {
                instance: ID,
                chat_id: chat.into(),
                id_message: None
            }
        ]
    );

    // push_status with a description
    let before = app.hits().len();
    assert_eq!(
        gw.push_status(&id1, "noAccount", Some("no WhatsApp here"))
            .await,
        200
    );
    let hits = app.wait_for(before + 1).await;
    let v = hits[before].json();
    assert_eq!(
        (
            v["status"].as_str(),
            v["description"].as_str(),
            v["idMessage"].as_str()
        ),
        (
            Some("noAccount"),
            Some("no WhatsApp here"),
            Some(id1.as_str())
        )
    );

    // duplicated automatic statuses; a number without WhatsApp ends noAccount
    gw.configure(|c| c.duplicate_statuses = true);
    let id4 = send_text(&gw, chat, "twice").await;
    gw.set_no_account("79005550000", true);
    let id5 = send_text(&gw, "79005550000@c.us", "nobody").await;
    let count = |id: &str| {
        app.of_type("outgoingMessageStatus")
            .iter()
            .filter(|s| s["idMessage"] == json!(id))
            .map(|s| s["status"].as_str().expect("status").to_string())
            .collect::<Vec<_>>()
    };
    app.wait_until(|_| count(&id4).len() >= 6 && !count(&id5).is_empty())
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        count(&id4),
        vec!["sent", "sent", "delivered", "delivered", "read", "read"]
    );
    assert_eq!(count(&id5), vec!["noAccount"]);

    // shuffled: same multiset
    gw.configure(|c| {
        c.duplicate_statuses = false;
        c.shuffle_statuses = true;
    });
    let id6 = send_text(&gw, chat, "any order").await;
    app.wait_until(|_| count(&id6).len() >= 3).await;
    let mut got = count(&id6);
    got.sort();
    assert_eq!(got, vec!["delivered", "read", "sent"]);
    assert_eq!(gw.sent().len(), 6);
}

#[actix_web::test]
async fn delete_for_everyone_only_within_72_hours() {
    let app = Receiver::start(0).await;
    let gw = linked(
        GatewaySimConfig {
            auto_statuses: vec![],
            ..Default::default()
        },
        &app,
    )
    .await;
    let chat = "79001234567@c.us";
    let a = send_text(&gw, chat, "a").await;
    let b = send_text(&gw, chat, "b").await;
    let c = send_text(&gw, chat, "c").await;

    gw.advance_clock(Duration::from_secs(71 * 3600));
    let (s, t) = post(
        &gw,
        "deleteMessage",
        json!({"chatId": chat, "idMessage": a}),
    )
    .await;
    assert_eq!((s, t.as_str()), (200, ""), "empty 200 within 72 h");
    let m = gw.sent_message(&a).expect("a");
    assert!(m.deleted && m.deleted_for_everyone);

    gw.advance_clock(Duration::from_secs(2 * 3600)); // 73 h
    let (s, t) = post(
        &gw,
        "deleteMessage",
        json!({"chatId": chat, "idMessage": b, "onlySenderDelete": false}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(t.contains("72 hours"), "{t}");
    let m = gw.sent_message(&b).expect("b");
    assert!(!m.deleted && !m.deleted_for_everyone);
    // for me only: any time
    let (s, t) = post(
        &gw,
        "deleteMessage",
        json!({"chatId": chat, "idMessage": c, "onlySenderDelete": true}),
    )
    .await;
    assert_eq!((s, t.as_str()), (200, ""));
    let m = gw.sent_message(&c).expect("c");
    assert!(m.deleted && !m.deleted_for_everyone);
    // a message just sent can still be deleted for everyone; unknown ids and a customer's message
    // for everyone cannot
    let d = send_text(&gw, chat, "d").await;
    assert_eq!(
        post(
            &gw,
            "deleteMessage",
            json!({"chatId": chat, "idMessage": d})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &gw,
            "deleteMessage",
            json!({"chatId": chat, "idMessage": "NOPE"})
        )
        .await
        .0,
        400
    );
    let theirs = gw.customer_text(ID, "79001234567", "Ivan", "hi").await;
    assert_eq!(
        post(
            &gw,
            "deleteMessage",
            json!({"chatId": chat, "idMessage": theirs})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        post(
            &gw,
            "deleteMessage",
            json!({"chatId": chat, "idMessage": theirs, "onlySenderDelete": true})
        )
        .await
        .0,
        200
    );
    assert!(gw.customer_messages()[0].deleted_by_us);
    assert_eq!(
        post(
            &gw,
            "deleteMessage",
            json!({"chatId": chat, "idMessage": d, "onlySenderDelete": "yes"})
        )
        .await
        .0,
        400
    );
}

#[actix_web::test]
async fn webhooks_not_answered_200_are_retried_so_duplicates_arrive() {
    let app = Receiver::start(2).await;
    let gw = GatewaySim::start(GatewaySimConfig::default()).await;
    gw.add_instance(ID, TOKEN, WID);
    gw.set_webhook(ID, &format!("{}/wa", app.url), HOOK_TOKEN);
    gw.set_state(ID, "authorized").await; // attempt 1 of the state webhook: 500
    let idm = gw.customer_text(ID, "79001234567", "Ivan", "again").await; // 500 (2nd hit)

    let hits = app
        .wait_until(|h| {
            h.iter()
                .filter(|h| h.json()["idMessage"] == json!(idm))
                .count()
                >= 2
                && h.iter()
                    .filter(|h| h.json()["typeWebhook"] == "stateInstanceChanged")
                    .count()
                    >= 2
        })
        .await;
    let copies: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.json()["idMessage"] == json!(idm))
        .collect();
    assert_eq!(copies.len(), 2, "one failed, then one retried copy");
    assert_eq!(copies[0].body, copies[1].body, "byte-identical duplicates");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let d: Vec<(String, u32, u16)> = gw
        .webhook_deliveries()
        .iter()
        .filter(|d| d.id_message.as_deref() == Some(idm.as_str()))
        .map(|d| (d.type_webhook.clone(), d.attempt, d.status))
        .collect();
    assert_eq!(
        d,
        vec![
            ("incomingMessageReceived".into(), 1, 500),
            ("incomingMessageReceived".into(), 2, 200)
        ]
    );
    assert_eq!(app.hits().len(), 4, "no more attempts after a 200");

    // an app that never answers 200 gets 1 + webhook_retries attempts, 200 ms apart
    let down = Receiver::start(usize::MAX).await;
    let gw2 = GatewaySim::start(GatewaySimConfig {
        webhook_retries: 2,
        ..Default::default()
    })
    .await;
    gw2.add_instance(ID, TOKEN, WID);
    gw2.set_webhook(ID, &down.url, HOOK_TOKEN);
    gw2.scan_qr(ID).await;
    let t0 = Instant::now();
    gw2.customer_text(ID, "79001234567", "Ivan", "x").await;
    down.wait_for(6).await;
    assert!(t0.elapsed() >= Duration::from_millis(400));
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(down.hits().len(), 6, "3 attempts each for 2 webhooks");
    let attempts: Vec<(u32, u16)> = gw2
        .webhook_deliveries()
        .iter()
        .filter(|d| d.type_webhook == "incomingMessageReceived")
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(attempts, vec![(1, 500), (2, 500), (3, 500)]);

    // a receiver that is not there: status 0, retried all the same
    let gw3 = GatewaySim::start(GatewaySimConfig {
        webhook_retries: 1,
        webhook_retry_interval: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    gw3.add_instance(ID, TOKEN, WID);
    gw3.set_webhook(ID, "http://127.0.0.1:9/none", HOOK_TOKEN);
    assert_eq!(gw3.scan_qr(ID).await, 0);
    assert!(
        gw3.wait_for(Duration::from_secs(3), |g| g.webhook_deliveries().len()
            == 2)
            .await
    );
    assert!(gw3.webhook_deliveries().iter().all(|d| d.status == 0));
}

#[actix_web::test]
async fn each_fault_kind() {
    let app = Receiver::start(0).await;
    let gw = linked(
        GatewaySimConfig {
            auto_statuses: vec![],
            ..Default::default()
        },
        &app,
    )
    .await;
    let chat = "79001234567@c.us";
    let msg = json!({"chatId": chat, "message": "x"});

    gw.inject(GatewayFault::Http5xx, 1);
    gw.inject(GatewayFault::RateLimited, 1);
    gw.inject(GatewayFault::QuotaExceeded, 1);
    gw.inject(GatewayFault::NotAuthorized, 1);
    gw.inject(GatewayFault::Custom(503, "maintenance".into()), 1);
    assert_eq!(gw.pending_faults(), 5);
    let (s, _) = post(&gw, "sendMessage", msg.clone()).await;
    assert_eq!(s, 502);
    let (s, _) = post(&gw, "sendMessage", msg.clone()).await;
    assert_eq!(s, 429);
    let (s, t) = post(&gw, "sendMessage", msg.clone()).await;
    assert_eq!(s, 466);
    assert_eq!(js(&t)["invokeStatus"]["method"], "sendMessage");
    let (s, t) = post(&gw, "sendMessage", msg.clone()).await;
    assert_eq!((s, t.as_str()), (400, "instance account not authorized"));
    assert_eq!(
        gw.state(ID),
        "authorized",
        "the fault does not change the state"
    );
    let (s, t) = post(&gw, "sendMessage", msg.clone()).await;
    assert_eq!((s, t.as_str()), (503, "maintenance"));
    assert_eq!(gw.pending_faults(), 0);
    assert!(gw.sent().is_empty(), "faults have no effect");

    // method-targeted faults skip other methods
    gw.inject_for("sendMessage", GatewayFault::Http5xx, 2);
    assert_eq!(state_of(&gw).await, "authorized");
    assert_eq!(gw.pending_faults(), 2);
    assert_eq!(post(&gw, "sendMessage", msg.clone()).await.0, 502);
    assert_eq!(post(&gw, "sendMessage", msg.clone()).await.0, 502);
    assert!(gw.sent().is_empty());

    // timeout: the client gives up, the gateway still sends (a retry would duplicate it)
    gw.inject(GatewayFault::Timeout(Duration::from_millis(800)), 1);
    let r = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client")
        .post(url(&gw, ID, "sendMessage", TOKEN))
        .json(&msg)
        .send()
        .await;
    assert!(r.expect_err("timed out").is_timeout());
    assert!(
        gw.wait_for(Duration::from_secs(3), |g| g.sent().len() == 1)
            .await
    );

    // down: 502 for everything, no effect; back up afterwards
    gw.set_down(true);
    assert_eq!(post(&gw, "sendMessage", msg.clone()).await.0, 502);
    assert_eq!(get(&gw, "getStateInstance").await.0, 502);
    gw.set_down(false);
    assert_eq!(gw.sent().len(), 1);
    assert_eq!(post(&gw, "sendMessage", msg).await.0, 200);
    assert_eq!(gw.sent().len(), 2);

    let statuses: Vec<u16> = gw
        .calls_of("sendMessage")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        vec![502, 429, 466, 400, 503, 502, 502, 200, 502, 200]
    );
}

#[actix_web::test]
async fn rate_limits_are_off_by_default_and_follow_the_contract_when_on() {
    let app = Receiver::start(0).await;
    let gw = linked(
        GatewaySimConfig {
            auto_statuses: vec![],
            ..Default::default()
        },
        &app,
    )
    .await;
    for _ in 0..5 {
        assert_eq!(get(&gw, "getStateInstance").await.0, 200);
    }

    gw.freeze_clock(true);
    gw.configure(|c| c.rate_limits = GatewaySimConfig::contract_rate_limits());
    let id1 = send_text(&gw, "79001234567@c.us", "x").await;
    let edit = |text: &'static str| json!({"chatId": "79001234567@c.us", "idMessage": id1, "message": text});
    assert_eq!(post(&gw, "editMessage", edit("one")).await.0, 200);
    assert_eq!(post(&gw, "editMessage", edit("two")).await.0, 429);
    assert_eq!(get(&gw, "getStateInstance").await.0, 200);
    assert_eq!(get(&gw, "getStateInstance").await.0, 429);
    assert_eq!(get(&gw, "qr").await.0, 200);
    assert_eq!(get(&gw, "qr").await.0, 200);
    assert_eq!(get(&gw, "qr").await.0, 200);
    assert_eq!(get(&gw, "qr").await.0, 429);
    gw.advance_clock(Duration::from_secs(1));
    assert_eq!(post(&gw, "editMessage", edit("three")).await.0, 200);
    assert_eq!(
        gw.sent_message(&id1).expect("sent").edits,
        vec!["one", "three"]
    );
    // sendMessage: 50 per second
    let mut codes = Vec::new();
    for i in 0..51 {
        codes.push(
            post(
                &gw,
                "sendMessage",
                json!({"chatId": "79001234567@c.us", "message": format!("m{i}")}),
            )
            .await
            .0,
        );
    }
    assert_eq!(codes.iter().filter(|&&c| c == 200).count(), 50);
    assert_eq!(codes.last(), Some(&429));
    gw.set_rate_limit("sendMessage", None);
    assert_eq!(
        post(
            &gw,
            "sendMessage",
            json!({"chatId": "79001234567@c.us", "message": "free"})
        )
        .await
        .0,
        200
    );
}

#[actix_web::test]
async fn phone_messages_calls_and_hostile_raw_webhooks() {
    let app = Receiver::start(0).await;
    let gw = GatewaySim::start(GatewaySimConfig {
        auto_statuses: vec!["sent"],
        ..Default::default()
    })
    .await;
    gw.add_instance(ID, TOKEN, WID);
    gw.set_webhook(ID, &format!("{}/wa", app.url), HOOK_TOKEN);
    gw.scan_qr(ID).await;

    let idm = gw.phone_text(ID, "79001234567", "typed on the phone").await;
    let call = gw.customer_call(ID, "79001234567").await;
    let loc = gw
        .customer_message(
            ID,
            "79001234567",
            "Ivan",
            json!({"typeMessage": "locationMessage", "locationMessageData": {"latitude": 55.75, "longitude": 37.62}}),
        )
        .await;
    app.wait_for(5).await;
    let out = app.of_type("outgoingMessageReceived");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["idMessage"], json!(idm));
    assert_eq!(out[0]["senderData"]["sender"], "79990000000@c.us");
    assert_eq!(out[0]["senderData"]["chatId"], "79001234567@c.us");
    let st = app.of_type("outgoingMessageStatus");
    assert_eq!(
        (st[0]["idMessage"].clone(), st[0]["sendByApi"].clone()),
        (json!(idm), json!(false))
    );
    let c = app.of_type("incomingCall");
    assert_eq!(
        (c[0]["idMessage"].clone(), c[0]["from"].clone()),
        (json!(call), json!("79001234567@c.us"))
    );
    let l = app.of_type("incomingMessageReceived");
    assert_eq!(l[0]["idMessage"], json!(loc));
    assert_eq!(
        l[0]["messageData"]["locationMessageData"]["latitude"],
        55.75
    );

    // hostile input goes out verbatim
    let before = app.hits().len();
    let (s, _) = gw
        .post_raw_webhook(&app.url, Some("forged"), b"{not json".to_vec())
        .await;
    assert_eq!(s, 200);
    let (s, _) = gw
        .post_raw_webhook(
            &app.url,
            None,
            br#"{"typeWebhook":"incomingMessageReceived"}"#.to_vec(),
        )
        .await;
    assert_eq!(s, 200);
    let hits = app.hits();
    assert_eq!(hits.len(), before + 2);
    assert_eq!(hits[before].body, b"{not json");
    assert_eq!(hits[before].authorization.as_deref(), Some("Bearer forged"));
    assert_eq!(hits[before + 1].authorization, None);
    let last = gw.webhook_deliveries().last().cloned().expect("delivery");
    assert_eq!(
        (last.instance, last.type_webhook.as_str(), last.status),
        (None, "incomingMessageReceived", 200)
    );
}
