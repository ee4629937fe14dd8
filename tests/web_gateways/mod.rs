//! The Web gateway tests' harness: a number connected on Open Line 1 through GREEN-API or
//! Evolution API, with the customer's phone and WhatsApp's side of sends behind one face, so
//! the same test (and the same assertions) runs against both gateways. What truly differs
//! between the two (per their contracts) is named here, and the tests branch on [`Kind`] for it
//! with a comment saying why.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{spawn_app, wait_until, Backend, TestApp};
use crate::sim::{
    EvolutionCustomer, EvolutionFault, EvolutionFile, EvolutionSim, EvolutionSimConfig,
    GatewayFault, GatewaySim, GatewaySimConfig,
};

/// Each test of a Web gateway, on both gateways and both databases.
#[macro_export]
macro_rules! on_both_gateways {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::common::Backend;
            use $crate::web_gateways::Kind;
            #[actix_web::test]
            async fn green_api_sqlite() {
                super::$name(Kind::GreenApi, Backend::Sqlite).await;
                $crate::common::settle().await;
            }
            #[actix_web::test]
            async fn green_api_postgres() {
                super::$name(Kind::GreenApi, Backend::Postgres).await;
                $crate::common::settle().await;
            }
            #[actix_web::test]
            async fn evolution_sqlite() {
                super::$name(Kind::Evolution, Backend::Sqlite).await;
                $crate::common::settle().await;
            }
            #[actix_web::test]
            async fn evolution_postgres() {
                super::$name(Kind::Evolution, Backend::Postgres).await;
                $crate::common::settle().await;
            }
        }
    )*};
}

/// Which gateway the number speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    GreenApi,
    Evolution,
}

pub const CUSTOMER: &str = "79001234567";
pub const CUSTOMER_NAME: &str = "Ivan";
pub const OWN: &str = "79990000000";
pub const INSTANCE: u64 = 1101000001;
const TOKEN: &str = "gw-instance-token";
const NAME: &str = "shop-1";

/// The gateway's simulator.
pub enum Phone {
    GreenApi(GatewaySim),
    Evolution(EvolutionSim),
}

/// A message that reached WhatsApp, whichever gateway sent it.
#[derive(Clone, Debug)]
pub struct Sent {
    pub id: String,
    /// The chat as the gateway names it (see [`Gw::customer_chat`]).
    pub chat: String,
    /// `text`, `image`, `document`, …
    pub kind: String,
    /// As first sent (a file's caption).
    pub text: String,
    /// After the last edit.
    pub current_text: String,
    /// Deleted for everyone.
    pub deleted_for_everyone: bool,
    /// Deleted in any way.
    pub deleted: bool,
    /// The file's name as sent, when it is a file.
    pub file_name: Option<String>,
    /// The link the gateway was given to fetch the file from.
    pub file_url: Option<String>,
}

/// A fault of the send call.
#[derive(Clone, Copy, Debug)]
pub enum SendFault {
    /// 429 Too Many Requests.
    RateLimited,
    /// The gateway's own failure (5xx).
    ServerError,
}

pub struct Gw {
    pub app: TestApp,
    pub kind: Kind,
    pub phone: Phone,
    pub number_id: i64,
    pub webhook_url: String,
}

fn customer() -> EvolutionCustomer {
    EvolutionCustomer::phone(CUSTOMER, CUSTOMER_NAME)
}

/// Installs the app, connects a number on line 1 (not yet linked) and returns it; checks that
/// our webhooks were configured on the gateway with a secret of their own.
pub async fn connect(kind: Kind, backend: Backend) -> Gw {
    let app = spawn_app(backend).await;
    app.install().await;
    let (phone, body) = match kind {
        Kind::GreenApi => {
            let gw = GatewaySim::start(GatewaySimConfig::default()).await;
            gw.add_instance(INSTANCE, TOKEN, OWN);
            let (status, body) = app
                .api_post(
                    "/api/v1/numbers/gateway",
                    json!({"member_id": app.b24.member_id(), "line": "1",
                           "api_url": gw.base_url(), "id_instance": INSTANCE.to_string(),
                           "api_token_instance": TOKEN, "display_phone": OWN}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            (Phone::GreenApi(gw), body)
        }
        Kind::Evolution => {
            let evo = EvolutionSim::start(EvolutionSimConfig::default()).await;
            let (status, body) = app
                .api_post(
                    "/api/v1/numbers/gateway",
                    json!({"provider": "evolution", "member_id": app.b24.member_id(),
                           "line": "1", "base_url": evo.base_url(), "instance": NAME,
                           "api_key": evo.global_key(), "display_phone": OWN}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            (Phone::Evolution(evo), body)
        }
    };
    assert_eq!(body["number"]["transport"], "gateway");
    assert_eq!(body["number"]["session_state"], "notAuthorized");
    let number_id = body["number"]["id"].as_i64().expect("id");
    let webhook_url = body["webhook_url"].as_str().expect("url").to_string();
    // Our webhooks were configured on the instance with a secret of their own.
    match &phone {
        Phone::GreenApi(gw) => {
            let settings = gw.settings(INSTANCE);
            assert_eq!(settings["webhookUrl"].as_str(), Some(webhook_url.as_str()));
            assert_eq!(settings["incomingWebhook"], "yes");
            assert_eq!(settings["stateWebhook"], "yes");
            assert!(settings["webhookUrlToken"]
                .as_str()
                .is_some_and(|t| t.len() >= 32));
        }
        Phone::Evolution(evo) => {
            let hook = evo.webhook(NAME).expect("webhook set");
            assert_eq!(hook["url"].as_str(), Some(webhook_url.as_str()));
            assert!(hook["headers"]["x-b24wa-secret"]
                .as_str()
                .is_some_and(|s| s.len() >= 32));
        }
    }
    Gw {
        app,
        kind,
        phone,
        number_id,
        webhook_url,
    }
}

impl Gw {
    pub fn green_api(&self) -> &GatewaySim {
        match &self.phone {
            Phone::GreenApi(gw) => gw,
            Phone::Evolution(_) => panic!("a GREEN-API number expected"),
        }
    }

    pub fn evolution(&self) -> &EvolutionSim {
        match &self.phone {
            Phone::Evolution(evo) => evo,
            Phone::GreenApi(_) => panic!("an Evolution number expected"),
        }
    }

    /// The QR shows until the phone scans it; then the number is `authorized` and shows none.
    pub async fn link(&self) {
        let qr_path = format!("/api/v1/numbers/{}/qr", self.number_id);
        let (status, body) = self.app.api_get(&qr_path).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body["qr"]
                .as_str()
                .is_some_and(|q| q.starts_with("data:image/png;base64,")),
            "{body}"
        );
        assert_eq!(self.scan_qr().await, 200);
        self.wait_state("authorized").await;
        let (_, body) = self.app.api_get(&qr_path).await;
        assert_eq!(body["state"], "authorized");
        assert!(body["qr"].is_null());
    }

    /// The phone scans the QR shown now (its webhook's answer).
    pub async fn scan_qr(&self) -> u16 {
        match &self.phone {
            Phone::GreenApi(gw) => gw.scan_qr(INSTANCE).await,
            Phone::Evolution(evo) => evo.link(NAME, OWN).await,
        }
    }

    /// Linked again after a logout: the QR is asked for (Evolution shows one only then) and the
    /// phone scans it. The link webhook's answer.
    pub async fn relink(&self) -> u16 {
        if self.kind == Kind::Evolution {
            let qr_path = format!("/api/v1/numbers/{}/qr", self.number_id);
            let (status, body) = self.app.api_get(&qr_path).await;
            assert_eq!(status, 200, "{body}");
            assert!(body["qr"].is_string(), "{body}");
        }
        self.scan_qr().await
    }

    /// The phone logs the session out (GREEN-API `notAuthorized`, Evolution `close` 401): the
    /// state webhook's answer.
    pub async fn logout(&self) -> u16 {
        match &self.phone {
            Phone::GreenApi(gw) => gw.set_state(INSTANCE, "notAuthorized").await,
            Phone::Evolution(evo) => evo.logout_phone(NAME).await,
        }
    }

    pub async fn number_view(&self) -> Value {
        let (_, list) = self.app.api_get("/api/v1/numbers").await;
        list["items"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|n| n["id"].as_i64() == Some(self.number_id))
                    .cloned()
            })
            .unwrap_or(Value::Null)
    }

    pub async fn wait_state(&self, want: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let n = self.number_view().await;
            if n["session_state"] == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "state {want} expected: {n}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Our chat id in Open Lines.
    pub fn key(&self) -> String {
        match &self.phone {
            Phone::GreenApi(_) => format!("{CUSTOMER}@gw{INSTANCE}"),
            Phone::Evolution(evo) => format!(
                "{CUSTOMER}@{}",
                b24wa::store::numbers::evolution_key(&evo.base_url(), NAME)
            ),
        }
    }

    /// The customer's chat as the gateway names it.
    pub fn customer_chat(&self) -> String {
        match self.kind {
            Kind::GreenApi => format!("{CUSTOMER}@c.us"),
            Kind::Evolution => format!("{CUSTOMER}@s.whatsapp.net"),
        }
    }

    // ----- the customer's phone -----

    /// The customer writes `text`: its id.
    pub async fn customer_text(&self, text: &str) -> String {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.customer_text(INSTANCE, CUSTOMER, CUSTOMER_NAME, text)
                    .await
            }
            Phone::Evolution(evo) => evo.customer_text(NAME, &customer(), text, None).await.0,
        }
    }

    /// The customer replies to message `quoted` with `text`.
    pub async fn customer_reply(&self, text: &str, quoted: &str) -> String {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.customer_reply(INSTANCE, CUSTOMER, CUSTOMER_NAME, text, quoted)
                    .await
            }
            Phone::Evolution(evo) => {
                evo.customer_text(NAME, &customer(), text, Some(quoted))
                    .await
                    .0
            }
        }
    }

    pub async fn customer_edit(&self, id: &str, text: &str) {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.customer_edit(INSTANCE, CUSTOMER, id, text).await;
            }
            Phone::Evolution(evo) => {
                evo.customer_edit(NAME, &customer(), id, text).await;
            }
        }
    }

    pub async fn customer_delete(&self, id: &str) {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.customer_delete(INSTANCE, CUSTOMER, id).await;
            }
            Phone::Evolution(evo) => {
                evo.customer_delete(NAME, &customer(), id).await;
            }
        }
    }

    /// The customer sends a file of `kind` (`image`, `document`, …).
    pub async fn customer_file(
        &self,
        kind: &str,
        mime: &str,
        file_name: &str,
        bytes: Vec<u8>,
        caption: &str,
    ) -> String {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.customer_file(
                    INSTANCE,
                    CUSTOMER,
                    CUSTOMER_NAME,
                    &format!("{kind}Message"),
                    mime,
                    file_name,
                    bytes,
                    caption,
                )
                .await
            }
            Phone::Evolution(evo) => {
                let file = EvolutionFile {
                    kind: kind.into(),
                    mime: mime.into(),
                    file_name: Some(file_name.to_string()),
                    caption: Some(caption.to_string()).filter(|c| !c.is_empty()),
                    bytes,
                };
                evo.customer_media(NAME, &customer(), file).await.0
            }
        }
    }

    /// Someone types `text` to the customer on the linked phone itself (not through b24wa).
    pub async fn phone_text(&self, text: &str) {
        match &self.phone {
            Phone::GreenApi(gw) => {
                gw.phone_text(INSTANCE, CUSTOMER, text).await;
            }
            Phone::Evolution(evo) => {
                evo.phone_text(NAME, &customer(), text).await;
            }
        }
    }

    /// The customer's profile picture, as WhatsApp gives it.
    pub fn set_avatar(&self, url: &str) {
        match &self.phone {
            Phone::GreenApi(gw) => gw.set_avatar(CUSTOMER, url),
            Phone::Evolution(evo) => evo.set_profile_picture(CUSTOMER, url),
        }
    }

    /// How often we asked for a customer's picture (GREEN-API `getAvatar`, Evolution
    /// `fetchProfilePictureUrl`).
    pub fn avatar_asks(&self) -> usize {
        match &self.phone {
            Phone::GreenApi(gw) => gw
                .calls()
                .iter()
                .filter(|c| c.method == "getAvatar")
                .count(),
            Phone::Evolution(evo) => evo.calls_of("fetchProfilePictureUrl").len(),
        }
    }

    // ----- WhatsApp's side of our sends -----

    /// Every message that reached WhatsApp, in order.
    pub fn sent(&self) -> Vec<Sent> {
        match &self.phone {
            Phone::GreenApi(gw) => gw
                .sent()
                .into_iter()
                .map(|m| Sent {
                    current_text: m.current_text().to_string(),
                    id: m.id_message,
                    chat: m.chat_id,
                    kind: m.kind,
                    text: m.text,
                    deleted_for_everyone: m.deleted_for_everyone,
                    deleted: m.deleted || m.deleted_for_everyone,
                    file_name: m.file.as_ref().map(|f| f.file_name.clone()),
                    file_url: m.file.map(|f| f.url),
                })
                .collect(),
            Phone::Evolution(evo) => {
                // A file's name is in its `sendMedia` call (in the order of the sends).
                let mut names = evo
                    .calls_of("sendMedia")
                    .into_iter()
                    .filter(|c| c.status < 300)
                    .map(|c| c.body["fileName"].as_str().map(str::to_string));
                evo.sent()
                    .into_iter()
                    .filter(|m| m.kind != "reaction")
                    .map(|m| Sent {
                        current_text: m.current_text().to_string(),
                        id: m.id,
                        chat: m.remote_jid,
                        file_name: if m.media.is_some() && m.kind != "voice" {
                            names.next().flatten()
                        } else {
                            None
                        },
                        file_url: m.media,
                        kind: m.kind,
                        text: m.text,
                        deleted_for_everyone: m.deleted,
                        deleted: m.deleted,
                    })
                    .collect()
            }
        }
    }

    pub fn sent_message(&self, id: &str) -> Option<Sent> {
        self.sent().into_iter().find(|m| m.id == id)
    }

    /// The chats marked read, in order.
    pub fn reads(&self) -> Vec<String> {
        match &self.phone {
            Phone::GreenApi(gw) => gw.reads().into_iter().map(|r| r.chat_id).collect(),
            Phone::Evolution(evo) => evo.reads().into_iter().map(|r| r.remote_jid).collect(),
        }
    }

    /// Statuses come only when a test pushes them.
    pub fn no_auto_statuses(&self) {
        match &self.phone {
            Phone::GreenApi(gw) => gw.set_auto_statuses(Vec::new()),
            Phone::Evolution(evo) => evo.configure(|c| c.auto_statuses = Vec::new()),
        }
    }

    /// WhatsApp reports `status` (`sent`, `delivered` or `read`) for our message `id`: the
    /// webhook's answer.
    pub async fn push_status(&self, id: &str, status: &str) -> u16 {
        match &self.phone {
            Phone::GreenApi(gw) => gw.push_status(id, status, None).await,
            Phone::Evolution(evo) => {
                let status = match status {
                    "sent" => "SERVER_ACK",
                    "delivered" => "DELIVERY_ACK",
                    "read" => "READ",
                    other => panic!("no Evolution status for {other}"),
                };
                evo.push_status(NAME, id, status).await
            }
        }
    }

    /// The next send call gets `fault`.
    pub fn fail_next_send(&self, fault: SendFault) {
        match (&self.phone, fault) {
            (Phone::GreenApi(gw), SendFault::RateLimited) => {
                gw.inject_for("sendMessage", GatewayFault::RateLimited, 1)
            }
            (Phone::GreenApi(gw), SendFault::ServerError) => {
                gw.inject_for("sendMessage", GatewayFault::Http5xx, 1)
            }
            (Phone::Evolution(evo), SendFault::RateLimited) => evo.inject_for(
                "sendText",
                EvolutionFault::Status(429, json!(["Too Many Requests"])),
                1,
            ),
            (Phone::Evolution(evo), SendFault::ServerError) => {
                evo.inject_for("sendText", EvolutionFault::Http5xx, 1)
            }
        }
    }

    // ----- our webhook route -----

    /// A customer's message forged by someone without the number's secret (`secret`: what they
    /// send instead, or nothing): our route's answer.
    pub async fn post_forged(&self, secret: Option<&str>) -> u16 {
        match &self.phone {
            Phone::GreenApi(gw) => {
                let body = serde_json::to_vec(&json!({
                    "typeWebhook": "incomingMessageReceived",
                    "instanceData": {"idInstance": INSTANCE, "wid": format!("{OWN}@c.us"), "typeInstance": "whatsapp"},
                    "timestamp": 1700000000, "idMessage": "FORGED1",
                    "senderData": {"chatId": format!("{CUSTOMER}@c.us"), "sender": format!("{CUSTOMER}@c.us"), "senderName": "Eve"},
                    "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "forged"}}
                }))
                .expect("json");
                gw.post_raw_webhook(&self.webhook_url, secret, body).await.0
            }
            Phone::Evolution(_) => {
                let body = json!({"event": "messages.upsert", "instance": NAME,
                    "data": {"key": {"remoteJid": format!("{CUSTOMER}@s.whatsapp.net"),
                                     "fromMe": false, "id": "3AFORGED0001"},
                             "pushName": "Eve", "message": {"conversation": "forged"},
                             "messageType": "conversation", "messageTimestamp": 1700000000},
                    "sender": format!("{OWN}@s.whatsapp.net"), "apikey": null});
                let mut req = self.app.http.post(&self.webhook_url).json(&body);
                if let Some(s) = secret {
                    req = req.header("x-b24wa-secret", s);
                }
                req.send().await.expect("POST").status().as_u16()
            }
        }
    }

    // ----- both sides -----

    /// The customer writes; waits until Bitrix24 has `n` customer messages.
    pub async fn customer_writes(&self, text: &str, n: usize) -> String {
        let id = self.customer_text(text).await;
        let b24 = self.app.b24.clone();
        wait_until(10, "customer message in Bitrix24", move || {
            b24.customer_messages().len() >= n
        })
        .await;
        id
    }

    /// The operator writes; returns (im_message_id, the gateway's message id) once it was sent.
    pub async fn operator_writes(&self, text: &str) -> (String, String) {
        let before = self.sent().len();
        let op = self.app.b24.operator_write("1", &self.key(), text).await;
        assert_eq!(op.http_status, 200);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.sent().len() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for: sent through the gateway"
            );
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        let sent = self.sent()[before].clone();
        (op.im_message_id, sent.id)
    }

    /// Waits until the operator's message `im` shows delivered (or read) in Bitrix24.
    pub async fn wait_delivered(&self, im: &str) {
        let b24 = self.app.b24.clone();
        let im = im.to_string();
        wait_until(10, "delivered", move || {
            matches!(
                b24.operator_message_state(&im).as_deref(),
                Some("delivered" | "read")
            )
        })
        .await;
    }
}
