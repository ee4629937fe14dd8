//! The instance's life on an Evolution API server: create, find, connect (QR or pairing code),
//! its connection state, restart, logout, delete, and its webhook.

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::client::{EvolutionClient, EvolutionError};
use super::types::*;
use super::{ConnState, Instance};

impl EvolutionClient {
    /// `POST /instance/create` (needs the server's global key in `inst.api_key`).
    pub async fn create_instance(
        &self,
        inst: &Instance,
        opts: &CreateInstance,
    ) -> Result<Created, EvolutionError> {
        let mut body = json!({
            "instanceName": inst.name,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": opts.qrcode,
            // b24wa relays one-to-one chats only; the phone keeps its own settings otherwise.
            "groupsIgnore": true,
            "syncFullHistory": false,
        });
        if let Some(n) = &opts.number {
            body["number"] = json!(n);
        }
        if let Some(w) = &opts.webhook {
            body["webhook"] = w.to_json();
        }
        let url = Self::url(inst, "instance", "create", false)?;
        let v = self.call(inst, Method::POST, url, Some(&body)).await?;
        Ok(Created {
            instance_id: str_at(&v, "/instance/instanceId"),
            status: str_at(&v, "/instance/status"),
            hash: str_at(&v, "/hash")
                .filter(|h| !h.is_empty())
                .map(SecretString::from),
            qr: v.get("qrcode").filter(|q| q.is_object()).map(Qr::parse),
        })
    }

    /// `GET /instance/fetchInstances?instanceName=…`: this instance, or None when the server
    /// has no such instance.
    pub async fn fetch_instance(
        &self,
        inst: &Instance,
    ) -> Result<Option<InstanceInfo>, EvolutionError> {
        let mut url = Self::url(inst, "instance", "fetchInstances", false)?;
        url.query_pairs_mut()
            .append_pair("instanceName", &inst.name);
        // 2.x answers an unknown name 404 `Instance "x" not found` (not the guard's words).
        let v = match self.call(inst, Method::GET, url, None).await {
            Err(
                EvolutionError::UnknownInstance(_) | EvolutionError::Rejected { status: 404, .. },
            ) => return Ok(None),
            other => other?,
        };
        let rows = match &v {
            Value::Array(a) => a.clone(),
            Value::Object(_) => vec![v.clone()],
            _ => Vec::new(),
        };
        Ok(rows.iter().find_map(|r| {
            let name = str_at(r, "/name")
                .or_else(|| str_at(r, "/instanceName"))
                .or_else(|| str_at(r, "/instance/instanceName"))?;
            (name == inst.name).then(|| InstanceInfo {
                state: str_at(r, "/connectionStatus")
                    .or_else(|| str_at(r, "/instance/status"))
                    .or_else(|| str_at(r, "/status"))
                    .map(|s| ConnState::parse(&s)),
                owner_jid: str_at(r, "/ownerJid").or_else(|| str_at(r, "/instance/owner")),
                profile_name: str_at(r, "/profileName")
                    .or_else(|| str_at(r, "/instance/profileName")),
                name,
            })
        }))
    }

    /// `POST /webhook/set`: our URL, secret header and events.
    pub async fn set_webhook(
        &self,
        inst: &Instance,
        cfg: &WebhookConfig,
    ) -> Result<(), EvolutionError> {
        let body = json!({ "webhook": cfg.to_json() });
        self.scoped(inst, Method::POST, "webhook", "set", Some(&body))
            .await?;
        Ok(())
    }

    /// `GET /webhook/find`: the stored webhook (`url`, `enabled`, `events`, …), or None.
    pub async fn find_webhook(&self, inst: &Instance) -> Result<Option<Value>, EvolutionError> {
        let v = self
            .scoped(inst, Method::GET, "webhook", "find", None)
            .await?;
        Ok((!v.is_null()).then_some(v))
    }

    /// `GET /instance/connect[?number=]`: a QR (and the pairing code when `number` is given)
    /// until the phone links.
    pub async fn connect(
        &self,
        inst: &Instance,
        number: Option<&str>,
    ) -> Result<Connect, EvolutionError> {
        let mut url = Self::url(inst, "instance", "connect", true)?;
        if let Some(n) = number {
            url.query_pairs_mut().append_pair("number", n);
        }
        let v = self.call(inst, Method::GET, url, None).await?;
        if let Some(s) = str_at(&v, "/instance/state") {
            return Ok(Connect::State(ConnState::parse(&s)));
        }
        let qr = Qr::parse(&v);
        if qr.code.is_none() && qr.base64.is_none() && qr.pairing_code.is_none() {
            return Ok(Connect::NoQr);
        }
        Ok(Connect::Qr(qr))
    }

    /// `GET /instance/connectionState`.
    pub async fn connection_state(&self, inst: &Instance) -> Result<ConnState, EvolutionError> {
        let v = self
            .scoped(inst, Method::GET, "instance", "connectionState", None)
            .await?;
        str_at(&v, "/instance/state")
            .map(|s| ConnState::parse(&s))
            .ok_or_else(|| EvolutionError::Decode("no instance.state".into()))
    }

    /// `POST /instance/restart` (an error body when the instance is closed).
    pub async fn restart(&self, inst: &Instance) -> Result<(), EvolutionError> {
        self.scoped(inst, Method::POST, "instance", "restart", None)
            .await?;
        Ok(())
    }

    /// `DELETE /instance/logout`: unlinks the phone. A closed instance answers 400, reported
    /// as [`EvolutionError::NotConnected`].
    pub async fn logout(&self, inst: &Instance) -> Result<(), EvolutionError> {
        match self
            .scoped(inst, Method::DELETE, "instance", "logout", None)
            .await
        {
            Err(EvolutionError::Rejected {
                status: 400,
                message,
            }) => Err(EvolutionError::NotConnected(message)),
            other => other.map(|_| ()),
        }
    }

    /// `DELETE /instance/delete` (logs out first when linked).
    pub async fn delete_instance(&self, inst: &Instance) -> Result<(), EvolutionError> {
        self.scoped(inst, Method::DELETE, "instance", "delete", None)
            .await?;
        Ok(())
    }
}
