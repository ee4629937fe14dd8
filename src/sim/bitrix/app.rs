//! The app's life on the portal: install (the ONAPPINSTALL event, or the install page and
//! `installFinish`), the connector's settings placement, an admin switching the connector off or
//! deleting a line, uninstall and update.

use super::params::php_form_pairs;
use super::*;
use crate::sim::{form_encode, random_hex, unix_now};

impl BitrixSim {
    /// POST ONAPPINSTALL (contract §1) to `app_handler_url`; marks the app installed. Returns our status.
    pub async fn install_via_event(&self, app_handler_url: &str) -> u16 {
        let form = {
            let mut st = self.st();
            st.installed = true;
            // A reinstall after an uninstall comes with fresh tokens (the old ones are dead).
            if st.refresh_token.is_empty() {
                st.access_token = random_hex(16);
                st.refresh_token = random_hex(16);
                let at = st.access_token.clone();
                st.valid_access.insert(at);
            }
            let mut f = vec![
                ("event".to_string(), "ONAPPINSTALL".to_string()),
                ("data[VERSION]".into(), "1".into()),
                ("data[ACTIVE]".into(), "Y".into()),
                ("data[INSTALLED]".into(), "Y".into()),
                ("data[LANGUAGE_ID]".into(), st.cfg.language.clone()),
                ("ts".into(), unix_now().to_string()),
            ];
            let auth = json!({
                "domain": st.host,
                "access_token": st.access_token,
                "refresh_token": st.refresh_token,
                "expires_in": "3600",
                "scope": st.cfg.scope,
                "server_endpoint": st.server_endpoint(),
                "status": st.cfg.app_status,
                "client_endpoint": st.client_endpoint(),
                "member_id": st.cfg.member_id,
                "application_token": st.app_token,
            });
            php_form_pairs("auth", &auth, &mut f);
            f
        };
        self.post_event_raw(app_handler_url, form).await
    }

    /// POST the install page form (contract §1) like the portal's iframe does. The app is not
    /// "installed" (no events) until `install_finish()` (what `BX24.installFinish()` does).
    pub async fn install_via_page(&self, app_install_url: &str) -> u16 {
        self.post_page(app_install_url, "DEFAULT", None).await
    }

    /// Like `install_via_page`, returning the page too: (status, HTML).
    pub async fn install_via_page_full(&self, app_install_url: &str) -> (u16, String) {
        self.post_page_full(app_install_url, "DEFAULT", None).await
    }

    /// POST the SETTING_CONNECTOR placement (contract §5) for `line` to `placement_url`.
    pub async fn open_connector_settings(
        &self,
        placement_url: &str,
        connector: &str,
        line: &str,
    ) -> u16 {
        let opts = json!({"CONNECTOR": connector, "LINE": line, "STATUS": self.connector_active(line),
            "ACTIVE_STATUS": true, "CONNECTION_STATUS": false, "REGISTER_STATUS": false, "ERROR_STATUS": false});
        self.post_page(placement_url, "SETTING_CONNECTOR", Some(opts.to_string()))
            .await
    }

    /// Like `open_connector_settings`, returning the page too: (status, HTML).
    pub async fn open_connector_settings_page(
        &self,
        placement_url: &str,
        connector: &str,
        line: &str,
    ) -> (u16, String) {
        let opts = json!({"CONNECTOR": connector, "LINE": line, "STATUS": self.connector_active(line),
            "ACTIVE_STATUS": true, "CONNECTION_STATUS": false, "REGISTER_STATUS": false, "ERROR_STATUS": false});
        self.post_page_full(placement_url, "SETTING_CONNECTOR", Some(opts.to_string()))
            .await
    }

    async fn post_page(&self, url: &str, placement: &str, options: Option<String>) -> u16 {
        self.post_page_full(url, placement, options).await.0
    }

    pub(super) async fn post_page_full(
        &self,
        url: &str,
        placement: &str,
        options: Option<String>,
    ) -> (u16, String) {
        let (query, form) = self.st().page_request(placement, options);
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}{query}");
        match self
            .client
            .post(&full)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "Bitrix24 Webhook Engine")
            .body(form_encode(&form))
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => {
                eprintln!("bitrix sim: POST {full} failed: {e}");
                (0, String::new())
            }
        }
    }

    /// What `BX24.installFinish()` does: the app counts as installed (events are delivered).
    pub fn install_finish(&self) {
        self.st().installed = true;
    }

    /// `app.info` answers `INSTALLED: v` whatever the install state (`None`: the real state),
    /// e.g. `Some(false)` for an install the portal has not finished.
    pub fn set_app_info_installed(&self, v: Option<bool>) {
        self.st().app_info_installed = v;
    }

    /// The admin switches our connector off on `line`: deactivates it and POSTs
    /// ONIMCONNECTORSTATUSDELETE (data[connector], data[line]).
    pub async fn switch_connector_off(&self, line: &str) -> u16 {
        let out = {
            let mut st = self.st();
            let conns: Vec<String> = st
                .active
                .iter()
                .filter(|(_, l)| l == line)
                .map(|(c, _)| c.clone())
                .collect();
            let mut out = Vec::new();
            for c in conns {
                st.active.remove(&(c.clone(), line.to_string()));
                out.extend(st.outgoing(
                    "ONIMCONNECTORSTATUSDELETE",
                    &json!({"connector": c, "line": line}),
                    true,
                ));
            }
            out
        };
        self.deliver(out).await
    }

    /// The admin deletes the open line: POSTs ONIMCONNECTORLINEDELETE (data=<line>).
    pub async fn delete_line(&self, line: &str) -> u16 {
        let out = {
            let mut st = self.st();
            if let Ok(l) = line.parse::<u64>() {
                st.lines.remove(&l);
            }
            st.active.retain(|(_, l)| l != line);
            st.outgoing("ONIMCONNECTORLINEDELETE", &json!(line), true)
        };
        self.deliver(out).await
    }

    /// The admin uninstalls the app (CLEAN=1): Bitrix24 drops our connectors, bindings and tokens and
    /// POSTs ONAPPUNINSTALL (auth without tokens).
    pub async fn uninstall(&self) -> u16 {
        self.uninstall_with(true).await
    }

    pub async fn uninstall_with(&self, clean: bool) -> u16 {
        let out = {
            let mut st = self.st();
            let data =
                json!({"LANGUAGE_ID": st.cfg.language, "CLEAN": if clean { "1" } else { "0" }});
            let out = st.outgoing("ONAPPUNINSTALL", &data, false);
            st.installed = false;
            st.bindings.clear();
            st.placements.clear();
            st.connectors.clear();
            st.active.clear();
            st.connector_data.clear();
            st.valid_access.clear();
            st.refresh_token.clear();
            out
        };
        self.deliver(out).await
    }

    /// The app is updated: a new application_token; ONAPPUPDATE (with full tokens and the new
    /// application_token) is POSTed to the handler bound for it. Bindings are kept.
    pub async fn update_app(&self) -> u16 {
        let out = {
            let mut st = self.st();
            st.app_token = random_hex(16);
            let data = json!({"VERSION": "2", "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": st.cfg.language});
            st.outgoing("ONAPPUPDATE", &data, true)
        };
        self.deliver(out).await
    }
}
