//! Events: `event.bind` / `unbind` / `get`, and the events the portal POSTs to our app (the form
//! with its auth block, to every handler bound, only once the app is installed).

use super::params::{param, php_form_pairs, sval};
use super::*;
use crate::sim::{form_encode, unix_now};

impl BitrixState {
    pub(super) fn event_auth(&self, with_tokens: bool, app_token: &str) -> Value {
        let mut a = json!({
            "domain": self.host,
            "server_endpoint": self.server_endpoint(),
            "client_endpoint": self.client_endpoint(),
            "member_id": self.cfg.member_id,
            "application_token": app_token,
        });
        if with_tokens {
            if let Value::Object(m) = &mut a {
                m.insert("access_token".into(), json!(self.access_token));
                m.insert("expires".into(), json!((unix_now() + 3600).to_string()));
                m.insert("expires_in".into(), json!("3600"));
                m.insert("scope".into(), json!(self.cfg.scope));
                m.insert("status".into(), json!(self.cfg.app_status));
                m.insert("user_id".into(), json!(self.cfg.operator_user_id));
            }
        }
        a
    }

    /// Form pairs of an event: event, event_handler_id, data, ts, auth.
    pub(super) fn event_form(
        &self,
        event: &str,
        handler_id: Option<u64>,
        data: &Value,
        with_tokens: bool,
        app_token: &str,
    ) -> Vec<(String, String)> {
        let mut out = vec![("event".to_string(), event.to_ascii_uppercase())];
        if let Some(id) = handler_id {
            out.push(("event_handler_id".into(), id.to_string()));
        }
        php_form_pairs("data", data, &mut out);
        out.push(("ts".into(), unix_now().to_string()));
        php_form_pairs("auth", &self.event_auth(with_tokens, app_token), &mut out);
        out
    }

    pub(super) fn handlers(&self, event: &str) -> Vec<Binding> {
        let ev = event.to_ascii_uppercase();
        self.bindings
            .iter()
            .filter(|b| b.event == ev)
            .cloned()
            .collect()
    }

    /// (url, form) for every handler bound to `event`, unless the app is not installed.
    pub(super) fn outgoing(
        &self,
        event: &str,
        data: &Value,
        with_tokens: bool,
    ) -> Vec<(String, Vec<(String, String)>)> {
        if !self.installed {
            eprintln!("bitrix sim: app not installed (install_via_event / install_finish): {event} not sent");
            return Vec::new();
        }
        self.handlers(event)
            .into_iter()
            .map(|b| {
                let form = self.event_form(event, Some(b.id), data, with_tokens, &self.app_token);
                (b.handler, form)
            })
            .collect()
    }

    pub(super) fn m_bind(&mut self, p: &Value) -> Result<Value, ApiErr> {
        let ev = sval(param(p, "event")).to_ascii_uppercase();
        let h = sval(param(p, "handler"));
        if !ev.starts_with("ON") || ev.len() < 3 {
            return Err(ApiErr::new(400, "ERROR_EVENT_NOT_FOUND", "Event not found"));
        }
        if !(h.starts_with("http://") || h.starts_with("https://")) {
            return Err(ApiErr::new(
                400,
                "ERROR_HANDLER_URL_MISMATCH",
                "Handler URL is invalid",
            ));
        }
        if self
            .bindings
            .iter()
            .any(|b| b.event == ev && b.handler == h)
        {
            return Err(ApiErr::new(
                400,
                "ERROR_EVENT_HANDLER_ALREADY_EXISTS",
                "Handler already binded",
            ));
        }
        self.seq += 1;
        let id = 500 + self.seq;
        self.bindings.push(Binding {
            id,
            event: ev,
            handler: h,
        });
        Ok(json!(true))
    }
}

impl BitrixSim {
    /// POST a form to `url`; the HTTP status (0 on connection error). No retries.
    pub async fn post_event_raw(&self, url: &str, form: Vec<(String, String)>) -> u16 {
        let status = match self
            .client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "Bitrix24 Webhook Engine")
            .body(form_encode(&form))
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(e) => {
                eprintln!("bitrix sim: POST {url} failed: {e}");
                0
            }
        };
        let event = crate::sim::form_get(&form, "event")
            .unwrap_or("")
            .to_string();
        self.st().events.push(EventDelivery {
            event,
            url: url.to_string(),
            form,
            status,
            at_ms: now_ms(),
        });
        status
    }

    /// Form pairs of an event exactly as the portal would send them (current application token,
    /// tokens in auth, no event_handler_id).
    pub fn event_form(&self, event: &str, data: Value) -> Vec<(String, String)> {
        let st = self.st();
        let tok = st.app_token.clone();
        st.event_form(event, None, &data, true, &tok)
    }
    /// Same as `event_form` with another application_token (to test that our app rejects it).
    pub fn event_form_with_token(
        &self,
        event: &str,
        data: Value,
        application_token: &str,
    ) -> Vec<(String, String)> {
        self.st()
            .event_form(event, None, &data, true, application_token)
    }

    pub(super) async fn deliver(&self, out: Vec<(String, Vec<(String, String)>)>) -> u16 {
        let mut first = 0;
        for (i, (url, form)) in out.into_iter().enumerate() {
            let s = self.post_event_raw(&url, form).await;
            if i == 0 {
                first = s;
            }
        }
        first
    }

    /// URL(s) bound for `event` (any case).
    pub fn handlers_for(&self, event: &str) -> Vec<String> {
        self.st()
            .handlers(event)
            .into_iter()
            .map(|b| b.handler)
            .collect()
    }
}
