//! The HTTP entry: every request is routed (`/{group}/{action}[/{instanceName}]`), admitted
//! the way Evolution's guards do (instance exists → key), faults applied, recorded, and carried
//! out. Answers and error envelopes follow the contract (§0, §1, §3, §4, §5).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse};

use super::hooks::webhook_row;
use super::ops::*;
use super::*;
use crate::sim::server::{lock, status_code};

pub(super) enum Reply {
    Json(u16, Value),
    Html(u16, String),
}

impl Reply {
    fn status(&self) -> u16 {
        match self {
            Reply::Json(s, _) | Reply::Html(s, _) => *s,
        }
    }
    fn into_response(self) -> HttpResponse {
        match self {
            Reply::Json(s, v) => HttpResponse::build(status_code(s)).json(v),
            Reply::Html(s, t) => HttpResponse::build(status_code(s))
                .content_type("text/html")
                .body(t),
        }
    }
}

/// Evolution's error envelope (src/main.ts).
fn err(status: u16, message: Value) -> Reply {
    let error = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    Reply::Json(
        status,
        json!({"status": status, "error": error, "response": {"message": message}}),
    )
}

fn bad(msg: impl Into<String>) -> Reply {
    err(400, json!([msg.into()]))
}

fn ok(status: u16, v: Value) -> Result<Reply, Reply> {
    Ok(Reply::Json(status, v))
}

/// (verb, scoped by an instance name) of a known route.
fn route(group: &str, action: &str) -> Option<(&'static str, bool)> {
    Some(match (group, action) {
        ("instance", "create") => ("POST", false),
        ("instance", "fetchInstances") => ("GET", false),
        ("instance", "connect" | "connectionState") => ("GET", true),
        ("instance", "restart") => ("POST", true),
        ("instance", "logout" | "delete") => ("DELETE", true),
        ("webhook", "set") => ("POST", true),
        ("webhook", "find") => ("GET", true),
        ("message", "sendText" | "sendMedia" | "sendWhatsAppAudio" | "sendReaction") => {
            ("POST", true)
        }
        ("chat", "deleteMessageForEveryone") => ("DELETE", true),
        (
            "chat",
            "updateMessage"
            | "markMessageAsRead"
            | "getBase64FromMediaMessage"
            | "fetchProfilePictureUrl"
            | "whatsappNumbers",
        ) => ("POST", true),
        _ => return None,
    })
}

struct Req {
    verb: String,
    path: String,
    group: String,
    action: String,
    name: Option<String>,
    query: HashMap<String, String>,
    apikey: Option<String>,
    body: Result<Value, String>,
    recorded: Value,
}

pub(super) async fn handler(
    req: HttpRequest,
    body: web::Bytes,
    data: Data,
    client: web::Data<reqwest::Client>,
) -> HttpResponse {
    let segs: Vec<String> = req
        .path()
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let parsed: Result<Value, String> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let r = Req {
        verb: req.method().as_str().to_string(),
        path: req.path().to_string(),
        group: segs.first().cloned().unwrap_or_default(),
        action: segs.get(1).cloned().unwrap_or_default(),
        name: (segs.len() == 3).then(|| segs[2].clone()),
        query: url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect(),
        apikey: req
            .headers()
            .get("apikey")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        recorded: match &parsed {
            Ok(v) => v.clone(),
            Err(_) => json!({"raw": String::from_utf8_lossy(&body)}),
        },
        body: parsed,
    };
    // A request once received is carried out even if the client hangs up (as a real server).
    let client = client.get_ref().clone();
    match actix_web::rt::spawn(handle(data.clone(), client, r)).await {
        Ok(reply) => reply.into_response(),
        Err(_) => err(500, json!(["Internal Server Error"])).into_response(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn handle(data: Data, client: reqwest::Client, r: Req) -> Reply {
    let reply = match admit(&data, &r) {
        Err(reply) => reply,
        Ok(()) => {
            let fault = {
                let mut st = lock(&data);
                st.faults.take(|m| m.is_none_or(|m| m == r.action))
            };
            let early = match fault {
                Some(EvolutionFault::Timeout(d)) => {
                    actix_web::rt::time::sleep(d).await;
                    None
                }
                Some(EvolutionFault::Http5xx) => Some(err(500, json!(["Internal Server Error"]))),
                Some(EvolutionFault::BadGateway) => Some(Reply::Html(
                    502,
                    "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
                )),
                Some(EvolutionFault::ErrorOnOk(m)) => {
                    Some(Reply::Json(200, json!({"error": true, "message": m})))
                }
                Some(EvolutionFault::Status(s, m)) => Some(err(s, m)),
                Some(EvolutionFault::NoQr) if r.action == "connect" => {
                    Some(Reply::Json(200, json!({"count": 0})))
                }
                Some(EvolutionFault::NoQr) | None => None,
            };
            match early {
                Some(reply) => reply,
                None => process(&data, &client, &r).await.unwrap_or_else(|e| e),
            }
        }
    };
    lock(&data).calls.push(EvolutionCall {
        http_method: r.verb.clone(),
        action: r.action.clone(),
        instance: r.name.clone(),
        body: r.recorded.clone(),
        status: reply.status(),
        apikey: r.apikey.clone(),
        at_ms: chrono::Utc::now().timestamp_millis(),
    });
    reply
}

/// Route, instance (404 before the key, as Evolution's guards), key, and the server being up.
fn admit(data: &Data, r: &Req) -> Result<(), Reply> {
    let cannot = || err(404, json!([format!("Cannot {} {}", r.verb, r.path)]));
    let Some((verb, scoped)) = route(&r.group, &r.action) else {
        return Err(cannot());
    };
    if verb != r.verb || scoped != r.name.is_some() {
        return Err(cannot());
    }
    let st = lock(data);
    if st.down {
        return Err(Reply::Html(502, "<html>502 Bad Gateway</html>".into()));
    }
    let key = r.apikey.as_deref().unwrap_or("");
    let global = !key.is_empty() && key == st.cfg.global_key;
    if let Some(name) = &r.name {
        let Some(i) = st.instances.get(name) else {
            return Err(err(
                404,
                json!([format!("The \"{name}\" instance does not exist")]),
            ));
        };
        if !global && (key.is_empty() || key != i.token) {
            return Err(unauthorized());
        }
    } else {
        // An instance token lists its own instance.
        let own_listing = r.action == "fetchInstances"
            && !key.is_empty()
            && st.instances.values().any(|i| i.token == key);
        if !(global || own_listing) {
            return Err(unauthorized());
        }
    }
    Ok(())
}

fn unauthorized() -> Reply {
    Reply::Json(
        401,
        json!({"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}),
    )
}

type Obj = Map<String, Value>;

fn obj(r: &Req) -> Result<Obj, Reply> {
    match &r.body {
        Ok(Value::Object(o)) => Ok(o.clone()),
        Ok(Value::Null) => Ok(Obj::new()),
        Ok(_) => Err(bad("Invalid format")),
        Err(e) => Err(bad(e.clone())),
    }
}

fn req_str(b: &Obj, k: &str) -> Result<String, Reply> {
    match b.get(k) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(bad(format!("instance requires property \"{k}\""))),
        Some(_) => Err(bad(format!("\"{k}\" must be a string"))),
    }
}

async fn process(data: &Data, client: &reqwest::Client, r: &Req) -> Result<Reply, Reply> {
    let b = obj(r)?;
    let name = r.name.clone().unwrap_or_default();
    match r.action.as_str() {
        "create" => create(data, client, &b),
        "fetchInstances" => {
            let st = lock(data);
            let key = r.apikey.as_deref().unwrap_or("");
            let global = key == st.cfg.global_key;
            let want = r.query.get("instanceName");
            if let Some(w) = want.filter(|w| !st.instances.contains_key(*w)) {
                return Err(err(404, json!([format!("Instance \"{w}\" not found")])));
            }
            let rows: Vec<Value> = st
                .instances
                .iter()
                .filter(|(n, i)| want.is_none_or(|w| w == *n) && (global || i.token == key))
                .map(|(n, i)| {
                    json!({"id": i.id, "name": n, "connectionStatus": i.state,
                        "ownerJid": i.own.as_ref().map(|o| format!("{o}@s.whatsapp.net")),
                        "profileName": i.own.as_ref().map(|_| "Sim Shop"), "profilePicUrl": Value::Null,
                        "integration": "WHATSAPP-BAILEYS", "number": i.pairing_number, "token": i.token,
                        "clientName": "evolution_sim"})
                })
                .collect();
            ok(200, Value::Array(rows))
        }
        "connect" => connect(data, client, &name, r.query.get("number").cloned()),
        "connectionState" => {
            let st = lock(data);
            ok(
                200,
                json!({"instance": {"instanceName": name, "state": st.inst(&name).state}}),
            )
        }
        "restart" => {
            let state = lock(data).inst(&name).state.clone();
            match state.as_str() {
                "close" => ok(200, json!({"error": true, "message": "Connection Closed"})),
                "connecting" => connect(data, client, &name, None),
                _ => {
                    let (d, c, n) = (data.clone(), client.clone(), name.clone());
                    actix_web::rt::spawn(async move { reconnect(&d, &c, &n).await });
                    ok(
                        200,
                        json!({"instance": {"instanceName": name, "state": "open"}}),
                    )
                }
            }
        }
        "logout" => {
            {
                let mut st = lock(data);
                let i = st.inst_mut(&name);
                if i.state == "close" {
                    return Err(bad(format!("The \"{name}\" instance is not connected")));
                }
                i.state = "close".into();
                i.own = None;
                i.qr_count = 0;
            }
            spawn_event(
                data,
                client,
                &name,
                "connection.update",
                json!({"instance": name, "state": "close", "statusReason": 401}),
            );
            ok(
                200,
                json!({"status": "SUCCESS", "error": false, "response": {"message": "Instance logged out"}}),
            )
        }
        "delete" => {
            lock(data).instances.remove(&name);
            ok(
                200,
                json!({"status": "SUCCESS", "error": false, "response": {"message": "Instance deleted"}}),
            )
        }
        "set" => set_webhook(data, &name, &b),
        "find" => {
            let st = lock(data);
            let row = st.inst(&name).webhook.clone().map_or(Value::Null, |mut w| {
                w.insert("instanceId".into(), json!(st.inst(&name).id));
                Value::Object(w)
            });
            ok(200, row)
        }
        "sendText" | "sendMedia" | "sendWhatsAppAudio" | "sendReaction" => {
            send(data, client, &name, &r.action, &b).await
        }
        "deleteMessageForEveryone" => delete_for_everyone(data, client, &name, &b),
        "updateMessage" => update_message(data, client, &name, &b),
        "markMessageAsRead" => {
            let Some(list) = b.get("readMessages").and_then(Value::as_array) else {
                return Err(bad("instance requires property \"readMessages\""));
            };
            let mut st = lock(data);
            ready(&st, &name)?;
            for k in list {
                let (Some(id), Some(jid)) = (
                    k.get("id").and_then(Value::as_str),
                    k.get("remoteJid").and_then(Value::as_str),
                ) else {
                    return Err(bad("Invalid format"));
                };
                // Evolution skips keys that are not @s.whatsapp.net / @g.us, silently.
                if jid.ends_with("@s.whatsapp.net") || jid.ends_with("@g.us") {
                    st.reads.push(EvolutionRead {
                        instance: name.clone(),
                        remote_jid: jid.into(),
                        id: id.into(),
                        at_ms: chrono::Utc::now().timestamp_millis(),
                    });
                }
            }
            ok(201, json!({"message": "Read messages", "read": "success"}))
        }
        "getBase64FromMediaMessage" => {
            use base64::Engine;
            let id = b
                .get("message")
                .and_then(|m| m.pointer("/key/id"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("instance requires property \"message\""))?;
            let st = lock(data);
            let Some(s) = st.media.get(id).filter(|s| s.instance == name) else {
                return Err(bad("Error: Message not found"));
            };
            let f = &s.file;
            ok(
                201,
                json!({"mediaType": if f.kind == "voice" { "audioMessage".to_string() } else { format!("{}Message", f.kind) },
                    "fileName": f.file_name, "caption": f.caption,
                    "size": {"fileLength": f.bytes.len().to_string(), "height": 0, "width": 0},
                    "mimetype": f.mime,
                    "base64": base64::engine::general_purpose::STANDARD.encode(&f.bytes)}),
            )
        }
        "fetchProfilePictureUrl" => {
            let number = req_str(&b, "number")?;
            let st = lock(data);
            let phone = digits(&number).unwrap_or_default();
            ok(
                200,
                json!({"wuid": format!("{phone}@s.whatsapp.net"),
                       "profilePictureUrl": st.pictures.get(&phone)}),
            )
        }
        "whatsappNumbers" => {
            let Some(list) = b.get("numbers").and_then(Value::as_array) else {
                return Err(bad("instance requires property \"numbers\""));
            };
            let st = lock(data);
            let rows: Vec<Value> = list
                .iter()
                .filter_map(Value::as_str)
                .map(|n| {
                    let d = digits(n).unwrap_or_default();
                    json!({"jid": format!("{d}@s.whatsapp.net"),
                           "exists": !d.is_empty() && !st.not_on_whatsapp.contains(&d), "number": d})
                })
                .collect();
            ok(200, Value::Array(rows))
        }
        _ => Err(err(404, json!([format!("Cannot {} {}", r.verb, r.path)]))),
    }
}

/// `POST /instance/create` (global key only).
fn create(data: &Data, client: &reqwest::Client, b: &Obj) -> Result<Reply, Reply> {
    let name = req_str(b, "instanceName")?;
    if name.is_empty() {
        return Err(bad("The \"instanceName\" cannot be empty"));
    }
    if b.get("integration").and_then(Value::as_str) != Some("WHATSAPP-BAILEYS") {
        return Err(bad("Invalid integration"));
    }
    let mut st = lock(data);
    if st.instances.contains_key(&name) {
        return Err(err(
            403,
            json!([format!("This name \"{name}\" is already in use.")]),
        ));
    }
    let token = b
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map_or_else(|| uuid_like().replace('-', ""), str::to_string);
    let mut inst = EvolutionState::new_inst(token.clone());
    inst.pairing_number = b.get("number").and_then(Value::as_str).and_then(digits);
    if let Some(w) = b.get("webhook").filter(|w| w.is_object()) {
        let Some(url) = w.get("url").and_then(Value::as_str) else {
            return Err(bad("Invalid \"url\" property"));
        };
        inst.webhook = Some(webhook_row(
            url,
            w.get("headers").cloned().unwrap_or(json!({})),
            true,
            w.get("byEvents").and_then(Value::as_bool).unwrap_or(false),
            w.get("base64").and_then(Value::as_bool).unwrap_or(false),
            events_of(w)?,
        ));
    }
    let id = inst.id.clone();
    st.instances.insert(name.clone(), inst);
    let qrcode = b.get("qrcode").and_then(Value::as_bool).unwrap_or(false);
    let qr = qrcode.then(|| {
        st.next_qr(&name);
        st.qr_json(&name)
    });
    let i = st.inst(&name);
    let webhook = i.webhook.as_ref();
    let mut answer = json!({
        "instance": {"instanceName": name, "instanceId": id, "integration": "WHATSAPP-BAILEYS",
                     "webhookWaBusiness": Value::Null, "accessTokenWaBusiness": "", "status": i.state},
        "hash": token,
        "webhook": {"webhookUrl": webhook.and_then(|w| w.get("url")), "webhookHeaders": webhook.and_then(|w| w.get("headers")),
                    "webhookByEvents": webhook.and_then(|w| w.get("webhookByEvents")),
                    "webhookBase64": webhook.and_then(|w| w.get("webhookBase64"))},
        "websocket": {"enabled": false}, "rabbitmq": {"enabled": false}, "nats": {"enabled": false},
        "sqs": {"enabled": false},
        "settings": {"rejectCall": false, "groupsIgnore": b.get("groupsIgnore").and_then(Value::as_bool).unwrap_or(false),
                     "alwaysOnline": false, "readMessages": false, "readStatus": false, "syncFullHistory": false},
    });
    drop(st);
    if let Some(q) = qr {
        answer["qrcode"] = q.clone();
        let mut q = q;
        q["instance"] = json!(name);
        spawn_event(
            data,
            client,
            &name,
            "qrcode.updated",
            json!({ "qrcode": q }),
        );
    }
    ok(201, answer)
}

/// `webhook.events`, each a known name.
fn events_of(w: &Value) -> Result<Vec<String>, Reply> {
    let mut out = Vec::new();
    for e in w
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match e.as_str() {
            Some(e) if EVOLUTION_EVENTS.contains(&e) => out.push(e.to_string()),
            _ => return Err(bad(format!("events must be one of {EVOLUTION_EVENTS:?}"))),
        }
    }
    Ok(out)
}

/// `GET /instance/connect`: a QR while not linked, the state once linked.
fn connect(
    data: &Data,
    client: &reqwest::Client,
    name: &str,
    number: Option<String>,
) -> Result<Reply, Reply> {
    let mut st = lock(data);
    if let Some(n) = number.as_deref().and_then(digits) {
        st.inst_mut(name).pairing_number = Some(n);
    }
    match st.inst(name).state.as_str() {
        "open" => ok(
            200,
            json!({"instance": {"instanceName": name, "state": "open"}}),
        ),
        "connecting" => ok(200, st.qr_json(name)),
        _ => {
            st.next_qr(name);
            let qr = st.qr_json(name);
            drop(st);
            spawn_event(
                data,
                client,
                name,
                "connection.update",
                json!({"instance": name, "state": "connecting", "statusReason": 200}),
            );
            let mut q = qr.clone();
            q["instance"] = json!(name);
            spawn_event(data, client, name, "qrcode.updated", json!({ "qrcode": q }));
            ok(200, qr)
        }
    }
}

/// `POST /webhook/set`.
fn set_webhook(data: &Data, name: &str, b: &Obj) -> Result<Reply, Reply> {
    let Some(w) = b.get("webhook").filter(|w| w.is_object()) else {
        return Err(bad("instance requires property \"webhook\""));
    };
    let Some(enabled) = w.get("enabled").and_then(Value::as_bool) else {
        return Err(bad("instance requires property \"enabled\""));
    };
    let url = w.get("url").and_then(Value::as_str).unwrap_or("");
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("Invalid \"url\" property"));
    }
    let headers = w.get("headers").cloned().unwrap_or(json!({}));
    if !headers.is_object() {
        return Err(bad("Invalid format"));
    }
    let mut row = webhook_row(
        url,
        headers,
        enabled,
        w.get("byEvents").and_then(Value::as_bool).unwrap_or(false),
        w.get("base64").and_then(Value::as_bool).unwrap_or(false),
        events_of(w)?,
    );
    let mut st = lock(data);
    let i = st.inst_mut(name);
    i.webhook = Some(row.clone());
    row.insert("instanceId".into(), json!(i.id));
    ok(201, Value::Object(row))
}
