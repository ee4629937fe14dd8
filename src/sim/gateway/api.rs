//! The API entry: every `{base}/waInstance{id}/{method}/{token}` request is admitted (instance,
//! token, verb, rate limit, body), faults applied, recorded, and carried out; the session methods
//! (state, QR, settings, logout, reboot) and `readChat` live here, the message methods in
//! `messages`.

use super::messages::{
    accepted, delete_message, download_file, edit_message, send_file, send_message,
};
use super::replies::*;
use super::webhooks::deliver;
use super::*;

pub(super) struct Req {
    pub(super) http: String,
    pub(super) instance: Option<u64>,
    pub(super) method: String,
    pub(super) token: String,
    pub(super) body: Result<Value, String>,
    /// What `calls()` shows as the body.
    pub(super) recorded: Value,
}

pub(super) async fn api_handler(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    data: Data,
    client: web::Data<reqwest::Client>,
) -> HttpResponse {
    let (inst_seg, method, token) = path.into_inner();
    let parsed: Result<Value, String> = if body.is_empty() {
        Ok(Value::Null)
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let recorded = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => json!({"raw": String::from_utf8_lossy(&body)}),
    };
    let r = Req {
        http: req.method().as_str().to_string(),
        instance: inst_seg
            .strip_prefix("waInstance")
            .and_then(|s| s.parse::<u64>().ok()),
        method,
        token,
        body: parsed,
        recorded,
    };
    // Like the real gateway, a request once received is carried out even if the client hangs up
    // (a client timeout then retry duplicates the effect): run it as its own task.
    let client = client.get_ref().clone();
    match actix_web::rt::spawn(handle_api(data.clone(), client, r)).await {
        Ok(reply) => reply.into_response(),
        Err(_) => text(500, "Internal Server Error").into_response(),
    }
}

pub(super) async fn handle_api(data: Data, client: reqwest::Client, r: Req) -> Reply {
    let fault = {
        let mut st = lock(&data);
        if st.down {
            st.record(&r.http, &r.method, r.instance, r.recorded, 502);
            return text(502, "Bad Gateway");
        }
        st.take_fault(&r.method)
    };
    match fault {
        Some(GatewayFault::Timeout(d)) => actix_web::rt::time::sleep(d).await,
        Some(f) => {
            if let Some(reply) = fault_reply(&f, &r.method) {
                lock(&data).record(&r.http, &r.method, r.instance, r.recorded, reply.status());
                return reply;
            }
        }
        None => {}
    }
    let reply = process(&data, &client, &r).await.unwrap_or_else(|e| e);
    lock(&data).record(
        &r.http,
        &r.method,
        r.instance,
        r.recorded.clone(),
        reply.status(),
    );
    reply
}

/// Instance, token, method, verb, rate limit and body checks. Returns the instance id and the
/// body (an empty object for GETs).
pub(super) fn admit(data: &Data, r: &Req) -> Result<(u64, Obj), Reply> {
    let Some(id) = r.instance else {
        return Err(text(404, "Not Found"));
    };
    let mut st = lock(data);
    let now = st.now_ms();
    let limit = st.cfg.rate_limits.get(&r.method).copied();
    let Some(inst) = st.instances.get_mut(&id) else {
        return Err(text(403, "Forbidden"));
    };
    if inst.token != r.token {
        return Err(text(401, "Unauthorized"));
    }
    let Some(verb) = verb_of(&r.method) else {
        return Err(text(404, "Not Found"));
    };
    if verb != r.http {
        return Err(text(405, "Method Not Allowed"));
    }
    if let Some(limit) = limit {
        let w = inst.windows.entry(r.method.clone()).or_default();
        while w.front().is_some_and(|t| now - *t >= 1000) {
            w.pop_front();
        }
        if w.len() as u64 >= u64::from(limit) {
            return Err(text(429, "Too Many Requests"));
        }
        w.push_back(now);
    }
    if verb == "GET" {
        return Ok((id, Obj::new()));
    }
    match &r.body {
        Err(e) => Err(text(400, format!("bad request data: {e}"))),
        Ok(Value::Object(o)) => Ok((id, o.clone())),
        Ok(Value::Null) if matches!(r.method.as_str(), "logout" | "reboot") => Ok((id, Obj::new())),
        Ok(_) => Err(text(
            400,
            "bad request data: the body must be a JSON object",
        )),
    }
}

pub(super) async fn process(
    data: &Data,
    client: &reqwest::Client,
    r: &Req,
) -> Result<Reply, Reply> {
    let (id, b) = admit(data, r)?;
    match r.method.as_str() {
        "getStateInstance" => {
            let st = lock(data);
            Ok(ok_json(json!({"stateInstance": st.instance(id).state})))
        }
        "qr" => {
            let st = lock(data);
            let v = match st.instance(id).state.as_str() {
                "notAuthorized" => json!({"type": "qrCode", "message": st.qr_base64(id)}),
                s if is_linked(s) => {
                    json!({"type": "alreadyLogged", "message": "instance account already authorized"})
                }
                "starting" => {
                    json!({"type": "error", "message": "instance in starting process try later"})
                }
                "blocked" => json!({"type": "error", "message": "instance account is blocked"}),
                s => json!({"type": "error", "message": format!("instance is in state {s}")}),
            };
            Ok(ok_json(v))
        }
        "getSettings" => {
            let st = lock(data);
            let i = st.instance(id);
            let mut s = i.settings.clone();
            s.insert("wid".into(), json!(i.wid));
            Ok(ok_json(Value::Object(s)))
        }
        "setSettings" => set_settings(data, id, &b),
        "logout" => {
            let (changed, body) = lock(data).change_state(id, "notAuthorized");
            if changed {
                actix_web::rt::spawn(after_state_change(
                    data.clone(),
                    client.clone(),
                    id,
                    body,
                    false,
                ));
            }
            Ok(ok_json(json!({"isLogout": true})))
        }
        "reboot" => Ok(reboot(data, client, id)),
        "sendMessage" => send_message(data, id, &b).map(|sent| accepted(data, client, sent)),
        "sendFileByUrl" => send_file(data, client, id, &b)
            .await
            .map(|sent| accepted(data, client, sent)),
        "editMessage" => edit_message(data, id, &b),
        "deleteMessage" => delete_message(data, id, &b),
        "readChat" => {
            let chat_id = chat_id_of(&b)?;
            let id_message = opt_str(&b, "idMessage")?;
            let mut st = lock(data);
            ready(&st, id)?;
            st.reads.push(GatewayRead {
                instance: id,
                chat_id,
                id_message,
            });
            Ok(ok_json(json!({"setRead": true})))
        }
        "downloadFile" => download_file(data, id, &b),
        "getAvatar" => {
            let chat_id = chat_id_of(&b)?;
            let st = lock(data);
            let url = st.avatars.get(&chat_id).cloned().unwrap_or_default();
            let reason = if url.is_empty() { "bad size" } else { "" };
            Ok(ok_json(
                json!({"existsWhatsapp": true, "urlAvatar": url, "reason": reason}),
            ))
        }
        _ => Err(text(404, "Not Found")),
    }
}

pub(super) fn set_settings(data: &Data, id: u64, b: &Obj) -> Result<Reply, Reply> {
    for &k in WEBHOOK_FLAGS.iter().chain(&OTHER_YES_NO_SETTINGS) {
        match b.get(k) {
            None => {}
            Some(Value::String(s)) if s == "yes" || s == "no" => {}
            Some(_) => return Err(invalid(format!("'{k}' must be one of [yes, no]"))),
        }
    }
    if let Some(u) = b.get("webhookUrl") {
        let Some(u) = u.as_str() else {
            return Err(invalid("'webhookUrl' must be a string"));
        };
        if !u.is_empty()
            && !url::Url::parse(u).is_ok_and(|p| p.scheme() == "http" || p.scheme() == "https")
        {
            return Err(invalid("'webhookUrl' must be an http(s) URL"));
        }
    }
    if b.get("webhookUrlToken").is_some_and(|t| !t.is_string()) {
        return Err(invalid("'webhookUrlToken' must be a string"));
    }
    let mut st = lock(data);
    let i = st
        .instances
        .get_mut(&id)
        .expect("gateway sim: instance vanished");
    for (k, v) in b {
        i.settings.insert(k.clone(), v.clone());
    }
    Ok(ok_json(json!({"saveSettings": true})))
}

pub(super) fn reboot(data: &Data, client: &reqwest::Client, id: u64) -> Reply {
    let (target, gen, body, delay) = {
        let mut st = lock(data);
        let i = st.instance(id);
        // A reboot neither links nor unlinks the phone: the instance comes back in the state it
        // had (a reboot during a reboot keeps the first one's target).
        let target = match (i.state.as_str(), &i.reboot_target) {
            ("starting", Some(t)) => t.clone(),
            ("starting", None) => "authorized".to_string(),
            (other, _) => other.to_string(),
        };
        let (_, body) = st.change_state(id, "starting");
        if let Some(i) = st.instances.get_mut(&id) {
            i.reboot_target = Some(target.clone());
        }
        (target, st.instance(id).state_gen, body, st.cfg.reboot_delay)
    };
    let data = data.clone();
    let client = client.clone();
    actix_web::rt::spawn(async move {
        deliver(&data, &client, id, "stateWebhook", body).await;
        actix_web::rt::time::sleep(delay).await;
        let done = {
            let mut st = lock(&data);
            (st.instance(id).state_gen == gen).then(|| st.change_state(id, &target).1)
        };
        if let Some(body) = done {
            after_state_change(data, client, id, body, is_linked(&target)).await;
        }
    });
    ok_json(json!({"isReboot": true}))
}
