//! The REST entry: `/rest/<method>` (a 302 once the portal moved), `/moved/rest/<method>`,
//! latency, faults, the token and rate checks, `batch`, and the dispatch to the methods.

use actix_web::HttpRequest;
use serde_json::Map;

use super::imconnector::MsgOp;
use super::params::*;
use super::*;

impl BitrixState {
    pub(super) fn handle_rest(
        &mut self,
        method: &str,
        params: &Value,
        token: Option<&str>,
    ) -> Result<Value, ApiErr> {
        self.check_auth(token)?;
        let cost = if method == "batch" {
            match param(params, "cmd") {
                Some(Value::Object(m)) => m.len().max(1),
                Some(Value::Array(a)) => a.len().max(1),
                _ => 1,
            }
        } else {
            1
        };
        if !self.bucket_take(cost as f64) {
            return Err(ApiErr::new(
                503,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            ));
        }
        if method == "batch" {
            self.exec_batch(params, token)
        } else {
            self.exec(method, params)
        }
    }

    pub(super) fn exec_batch(
        &mut self,
        params: &Value,
        token: Option<&str>,
    ) -> Result<Value, ApiErr> {
        let halt = truthy(param(params, "halt")).unwrap_or(false);
        let cmds: Vec<(String, String)> = match param(params, "cmd") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), sval(Some(v)))).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), sval(Some(v))))
                .collect(),
            _ => return Err(ApiErr::arg("cmd is required")),
        };
        if cmds.len() > 50 {
            return Err(ApiErr::new(
                400,
                "ERROR_BATCH_LENGTH_EXCEEDED",
                "Max batch length exceeded",
            ));
        }
        let mut results = Map::new();
        let mut errors = Map::new();
        let mut times = Map::new();
        for (key, cmd) in cmds {
            let start = now_f64();
            let (m, q) = cmd.split_once('?').unwrap_or((cmd.as_str(), ""));
            let method = normalize_method(m);
            let sub = php_form_to_value(q.as_bytes());
            let sub_token = param(&sub, "auth").map(|v| sval(Some(v)));
            let sub_token = sub_token.as_deref().or(token);
            let res = if method == "batch" {
                Err(ApiErr::new(
                    400,
                    "ERROR_BATCH_METHOD_NOT_ALLOWED",
                    "Method is not allowed for batch usage",
                ))
            } else {
                self.check_auth(sub_token)
                    .and_then(|_| self.exec(&method, &sub))
            };
            let status = res.as_ref().map(|_| 200).unwrap_or_else(|e| e.status);
            self.record(&method, &sub, status, true);
            times.insert(key.clone(), time_json(start));
            match res {
                Ok(v) => {
                    results.insert(key, v);
                }
                Err(e) => {
                    errors.insert(key, e.json());
                    if halt {
                        break;
                    }
                }
            }
        }
        let php = |m: Map<String, Value>| {
            if m.is_empty() {
                json!([])
            } else {
                Value::Object(m)
            }
        };
        Ok(json!({
            "result": php(results), "result_error": php(errors),
            "result_total": [], "result_next": [], "result_time": php(times)
        }))
    }

    pub(super) fn exec(&mut self, method: &str, p: &Value) -> Result<Value, ApiErr> {
        match method {
            "imconnector.register" => self.m_register(p),
            "imconnector.unregister" => {
                let id = sval(param(p, "ID"));
                self.connectors.remove(&id);
                self.active.retain(|(c, _)| *c != id);
                Ok(json!({"result": true}))
            }
            "imconnector.activate" => self.m_activate(p),
            "imconnector.connector.data.set" => self.m_data_set(p),
            "imconnector.status" => {
                let (c, l) = (sval(param(p, "CONNECTOR")), sval(param(p, "LINE")));
                let on = self.active.contains(&(c.clone(), l.clone()));
                Ok(json!({"LINE": l, "CONNECTOR": c, "ERROR": false, "CONFIGURED": on, "STATUS": on}))
            }
            "imconnector.list" => Ok(Value::Object(
                self.connectors
                    .iter()
                    .map(|(id, r)| (id.clone(), json!(sval(param(r, "NAME")))))
                    .collect(),
            )),
            "imconnector.send.messages" => self.m_messages(p, MsgOp::Send),
            "imconnector.update.messages" => self.m_messages(p, MsgOp::Update),
            "imconnector.delete.messages" => self.m_messages(p, MsgOp::Delete),
            "imconnector.send.status.delivery" => self.m_status(p, "delivered"),
            "imconnector.send.status.reading" => self.m_status(p, "read"),
            "imconnector.chat.name.set" => Ok(json!(true)),
            "event.bind" => self.m_bind(p),
            "event.unbind" => {
                let ev = sval(param(p, "event")).to_ascii_uppercase();
                let h = sval(param(p, "handler"));
                let before = self.bindings.len();
                self.bindings
                    .retain(|b| !(b.event == ev && (h.is_empty() || b.handler == h)));
                Ok(json!({"count": before - self.bindings.len()}))
            }
            "event.get" => Ok(Value::Array(
                self.bindings
                    .iter()
                    .map(|b| json!({"event": b.event, "handler": b.handler, "auth_type": "0", "offline": 0}))
                    .collect(),
            )),
            "im.message.add" => self.m_im_add(p),
            "user.get" => Ok(self.m_user_get(p)),
            "placement.bind" => self.m_placement_bind(p),
            "placement.unbind" => self.m_placement_unbind(p),
            "placement.get" => self.m_placement_get(),
            "messageservice.sender.add" => self.m_sender_add(p),
            "messageservice.sender.update" => self.m_sender_update(p),
            "messageservice.sender.delete" => self.m_sender_delete(p),
            "messageservice.sender.list" => self.m_sender_list(),
            "messageservice.message.status.update" => self.m_sms_status(p),
            "imopenlines.config.list.get" => Ok(Value::Array(
                self.lines
                    .iter()
                    .map(|(id, name)| json!({"ID": id.to_string(), "LINE_NAME": name, "ACTIVE": "Y"}))
                    .collect(),
            )),
            "imopenlines.config.add" => {
                let fields = param(p, "PARAMS").cloned().unwrap_or(json!({}));
                let id = self.lines.keys().max().copied().unwrap_or(0) + 1;
                let name = sval(param(&fields, "LINE_NAME"));
                let name = if name.is_empty() { format!("Open Line {id}") } else { name };
                self.lines.insert(id, name);
                Ok(json!(id))
            }
            "app.info" => Ok(json!({
                "ID": "1",
                "CODE": self.cfg.app_code.as_deref().unwrap_or(&self.cfg.client_id),
                "VERSION": "1", "STATUS": self.cfg.app_status,
                "INSTALLED": self.app_info_installed.unwrap_or(self.installed),
                "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": self.cfg.language
            })),
            "scope" => Ok(Value::Array(
                self.cfg.scope.split(',').map(|s| json!(s.trim())).collect(),
            )),
            _ => Err(ApiErr::new(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")),
        }
    }
}

/// The portal's original REST base: once moved, a 302 to the new base (method kept).
pub(super) async fn old_rest_handler(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: Data,
) -> HttpResponse {
    let moved = {
        let st = lock(&data);
        st.moved
            .then(|| format!("{}/moved/rest/{}", st.base, path.as_str()))
    };
    match moved {
        Some(location) => {
            let q = req.query_string();
            let location = if q.is_empty() {
                location
            } else {
                format!("{location}?{q}")
            };
            lock(&data).record(
                &format!("redirect:{}", path.as_str()),
                &Value::Null,
                302,
                false,
            );
            HttpResponse::Found()
                .insert_header(("Location", location))
                .finish()
        }
        None => rest_handler(req, path, body, data).await,
    }
}

pub(super) async fn rest_handler(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    data: Data,
) -> HttpResponse {
    let start = now_f64();
    let latency = lock(&data).cfg.latency;
    if !latency.is_zero() {
        actix_web::rt::time::sleep(latency).await;
    }
    let method = normalize_method(&path.into_inner());
    let params = match parse_params(&req, &body) {
        Ok(p) => p,
        Err(e) => {
            let raw = json!(String::from_utf8_lossy(&body));
            lock(&data).record(&method, &raw, e.status, false);
            return e.response();
        }
    };
    let token = param(&params, "auth").map(|v| sval(Some(v)));
    let fault = {
        let mut st = lock(&data);
        if st.down {
            Some(BitrixFault::ServerError)
        } else {
            st.take_fault(&method, true)
        }
    };
    let fault_err = match fault {
        None => None,
        Some(BitrixFault::Timeout(d)) => {
            actix_web::rt::time::sleep(d).await;
            None
        }
        Some(BitrixFault::ServerError) => Some(ApiErr::new(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        )),
        Some(BitrixFault::QueryLimit) => Some(ApiErr::new(
            503,
            "QUERY_LIMIT_EXCEEDED",
            "Too many requests",
        )),
        Some(BitrixFault::ExpiredToken) => Some(ApiErr::new(
            401,
            "expired_token",
            "The access token provided has expired.",
        )),
    };
    if let Some(e) = fault_err {
        lock(&data).record(&method, &params, e.status, false);
        return e.response();
    }
    let res = {
        let mut st = lock(&data);
        let res = st.handle_rest(&method, &params, token.as_deref());
        let status = res.as_ref().map(|_| 200).unwrap_or_else(|e| e.status);
        st.record(&method, &params, status, false);
        res
    };
    match res {
        Ok(v) => HttpResponse::Ok().json(json!({"result": v, "time": time_json(start)})),
        Err(e) => e.response(),
    }
}
