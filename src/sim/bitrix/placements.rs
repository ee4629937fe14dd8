//! Placements (bitrix24-crm.md §3): `placement.bind` / `unbind` / `get`, and the iframe a portal
//! opens for one of them: the IM_TEXTAREA button of an Open Lines chat POSTs the placement form
//! with the dialog, as a helper or as a page a browser opens (it submits the form by itself).

use actix_web::HttpRequest;

use super::params::{param, sval};
use super::*;
use crate::sim::{form_encode, random_hex};

impl BitrixState {
    pub(super) fn m_placement_bind(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let placement = sval(param(p, "PLACEMENT")).to_ascii_uppercase();
        let handler = sval(param(p, "HANDLER"));
        if placement.is_empty() {
            return Err(ApiErr::arg("Wrong request. Placement is required"));
        }
        // The method belongs to the `placement` scope (an app registered without it).
        if !self.cfg.scope.split(',').any(|s| s.trim() == "placement") {
            return Err(ApiErr::new(
                401,
                "insufficient_scope",
                "The request requires higher privileges than provided by the access token",
            ));
        }
        if !(handler.starts_with("http://") || handler.starts_with("https://")) {
            return Err(ApiErr::new(
                400,
                "ERROR_ARGUMENT",
                "Wrong request. Handler URL is invalid",
            ));
        }
        if self.placements.iter().any(|b| {
            sval(param(b, "PLACEMENT")) == placement && sval(param(b, "HANDLER")) == handler
        }) {
            return Err(ApiErr::new(400, "ERROR_ARGUMENT", "Handler already binded"));
        }
        let mut bound = p.clone();
        if let Value::Object(m) = &mut bound {
            m.remove("auth");
            m.insert("PLACEMENT".into(), json!(placement));
        }
        self.placements.push(bound);
        Ok(json!(true))
    }

    pub(super) fn m_placement_unbind(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let placement = sval(param(p, "PLACEMENT")).to_ascii_uppercase();
        let handler = sval(param(p, "HANDLER"));
        let before = self.placements.len();
        self.placements.retain(|b| {
            !(sval(param(b, "PLACEMENT")) == placement
                && (handler.is_empty() || sval(param(b, "HANDLER")) == handler))
        });
        Ok(json!({"count": before - self.placements.len()}))
    }

    pub(super) fn m_placement_get(&self) -> Result<Value, ApiErr> {
        Ok(Value::Array(
            self.placements
                .iter()
                .map(|b| {
                    json!({
                        "placement": sval(param(b, "PLACEMENT")),
                        "handler": sval(param(b, "HANDLER")),
                        "title": sval(param(b, "TITLE")),
                        "description": sval(param(b, "DESCRIPTION")),
                        "options": param(b, "OPTIONS").cloned().unwrap_or(json!([])),
                    })
                })
                .collect(),
        ))
    }

    /// The query and form of a placement iframe POST (bitrix24.md §5).
    pub(super) fn page_request(
        &self,
        placement: &str,
        options: Option<String>,
    ) -> (String, Vec<(String, String)>) {
        let query = form_encode(&[
            ("DOMAIN".into(), self.host.clone()),
            ("PROTOCOL".into(), "0".into()),
            ("LANG".into(), self.cfg.language.clone()),
            ("APP_SID".into(), random_hex(16)),
        ]);
        let mut form: Vec<(String, String)> = vec![
            ("AUTH_ID".into(), self.access_token.clone()),
            ("AUTH_EXPIRES".into(), "3600".into()),
            ("REFRESH_ID".into(), self.refresh_token.clone()),
            ("SERVER_ENDPOINT".into(), self.server_endpoint()),
            ("APPLICATION_TOKEN".into(), self.app_token.clone()),
            ("APPLICATION_SCOPE".into(), self.cfg.scope.clone()),
            ("member_id".into(), self.cfg.member_id.clone()),
            ("status".into(), self.cfg.app_status.clone()),
            ("PLACEMENT".into(), placement.into()),
        ];
        if let Some(o) = options {
            form.push(("PLACEMENT_OPTIONS".into(), o));
        }
        (query, form)
    }
}

/// What IM_TEXTAREA carries about the chat it was clicked in (our best reading of it).
fn textarea_options(b24_chat_id: &str) -> String {
    json!({"dialogId": format!("chat{b24_chat_id}")}).to_string()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /app/im-textarea?handler=<url>&chat=<Open Lines chat id>`: a page that POSTs the
/// IM_TEXTAREA placement form to `handler` at once, as the portal's iframe would.
pub(super) async fn im_textarea_handler(req: HttpRequest, data: Data) -> HttpResponse {
    let q: HashMap<String, String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let (Some(handler), Some(chat)) = (q.get("handler"), q.get("chat")) else {
        return HttpResponse::BadRequest().body("handler and chat are required");
    };
    let (query, form) = lock(&data).page_request("IM_TEXTAREA", Some(textarea_options(chat)));
    let sep = if handler.contains('?') { '&' } else { '?' };
    let inputs: String = form
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><body><form method=\"post\" action=\"{}\">{inputs}</form>\
             <script>document.forms[0].submit()</script></body></html>",
            html_escape(&format!("{handler}{sep}{query}"))
        ))
}

impl BitrixSim {
    /// The placements our app bound (params as sent, minus auth; PLACEMENT upper-case).
    pub fn placements(&self) -> Vec<Value> {
        self.st().placements.clone()
    }

    /// The operator clicks the IM_TEXTAREA button in Open Lines chat `b24_chat_id`: the
    /// placement form POSTed to `handler_url`; (status, HTML).
    pub async fn open_chat_textarea_page(
        &self,
        handler_url: &str,
        b24_chat_id: &str,
    ) -> (u16, String) {
        self.post_page_full(
            handler_url,
            "IM_TEXTAREA",
            Some(textarea_options(b24_chat_id)),
        )
        .await
    }

    /// A URL a browser opens to get the same POST (the page submits the form by itself).
    pub fn chat_textarea_page_url(&self, handler_url: &str, b24_chat_id: &str) -> String {
        let q = form_encode(&[
            ("handler".into(), handler_url.into()),
            ("chat".into(), b24_chat_id.into()),
        ]);
        format!("{}/app/im-textarea?{q}", self.server.base)
    }
}
