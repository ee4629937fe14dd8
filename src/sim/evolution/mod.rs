//! Evolution API simulator (2.x, Baileys channel): instances created and linked by QR or
//! pairing code, the session states, webhook configuration, sends / reactions / edits /
//! deletes / reads / media / avatars, and webhooks posted to the configured URL with the
//! configured headers (a `jwt_key` becomes a Bearer JWT), concurrently and with retries, so
//! duplicates and disorder happen. Contract: /work/shared/contracts/evolution.md.
//!
//! URL scheme: `{base}/{group}/{action}/{instanceName}`, key in the `apikey` header (the
//! global key, or an instance's token for its own routes).
//!
//! - `types`: the public vocabulary (configuration, faults, customers, records),
//! - `api`: the HTTP entry (routes, admission, faults) and every endpoint,
//! - `hooks`: envelopes, delivery with retries, statuses after a send,
//! - this file: the state and the handle tests drive (the phone and the customers' side).

mod api;
mod hooks;
mod ops;
mod types;

pub use types::*;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use actix_web::web;
use serde_json::{json, Map, Value};

use super::faults::FaultQueue;
use super::server::{plain_client, Sim};
use super::{cloned_where, random_hex, take_where};
use hooks::post_event;

struct Inst {
    id: String,
    token: String,
    /// close, connecting, open.
    state: String,
    /// The linked phone's digits (after `link`).
    own: Option<String>,
    /// `number` given to create / connect: the QR carries a pairing code.
    pairing_number: Option<String>,
    qr_count: u32,
    qr_code: String,
    webhook: Option<Map<String, Value>>,
}

/// A customer's file kept for `getBase64FromMediaMessage`.
struct Stored {
    instance: String,
    file: EvolutionFile,
}

/// A webhook held while the phone is not linked (it arrives once it is).
struct Pending {
    instance: String,
    event: &'static str,
    data: Value,
}

/// The simulated server's state: public only as [`EvolutionSim`]'s parameter.
#[derive(Default)]
pub struct EvolutionState {
    cfg: EvolutionSimConfig,
    base: String,
    instances: HashMap<String, Inst>,
    calls: Vec<EvolutionCall>,
    sent: Vec<EvolutionSent>,
    reads: Vec<EvolutionRead>,
    deliveries: Vec<EvolutionDelivery>,
    faults: FaultQueue<EvolutionFault>,
    media: HashMap<String, Stored>,
    pending: Vec<Pending>,
    not_on_whatsapp: HashSet<String>,
    failing: HashSet<String>,
    pictures: HashMap<String, String>,
    down: bool,
}

impl EvolutionState {
    fn inst(&self, name: &str) -> &Inst {
        self.instances
            .get(name)
            .expect("evolution sim: unknown instance (add_instance first)")
    }

    fn inst_mut(&mut self, name: &str) -> &mut Inst {
        self.instances
            .get_mut(name)
            .expect("evolution sim: unknown instance (add_instance first)")
    }

    fn new_inst(token: String) -> Inst {
        Inst {
            id: uuid_like(),
            token,
            state: "close".into(),
            own: None,
            pairing_number: None,
            qr_count: 0,
            qr_code: String::new(),
            webhook: None,
        }
    }

    /// The QR object (`wa.QrCode`) of `name`'s current QR.
    fn qr_json(&self, name: &str) -> Value {
        use base64::Engine;
        let i = self.inst(name);
        let png = crate::sim::qr_png(&i.qr_code);
        json!({
            "pairingCode": i.pairing_number.as_ref().map(|n| pairing_code(&i.qr_code, n)),
            "code": i.qr_code,
            "base64": format!("data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)),
            "count": i.qr_count,
        })
    }

    /// A new QR for `name` (state `connecting`).
    fn next_qr(&mut self, name: &str) {
        let i = self.inst_mut(name);
        i.state = "connecting".into();
        i.qr_count += 1;
        i.qr_code = format!("2@{},{}", random_hex(24), random_hex(16));
    }
}

/// An upper-case UUID (instance ids and default tokens look like Evolution's).
fn uuid_like() -> String {
    let h = random_hex(16).to_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An 8-character pairing code derived from the QR and the number.
fn pairing_code(seed: &str, number: &str) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ123456789";
    Sha256::new()
        .chain_update(seed.as_bytes())
        .chain_update(number.as_bytes())
        .finalize()
        .iter()
        .take(8)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A WhatsApp-looking message id: ours start `3EB0`, the phone's `3A`.
fn message_id(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(8).to_uppercase())
}

type Data = web::Data<Mutex<EvolutionState>>;

/// The simulator handle (its state is only ever read through it).
pub type EvolutionSim = Sim<EvolutionState>;

// Evolution takes bodies up to 136 MB; the sim's files are small.
super::server::simulated! {
    EvolutionState(EvolutionSimConfig): "evolution", 32 << 20, plain_client, routes
}

fn routes(app: &mut web::ServiceConfig) {
    app.app_data(web::Data::new(plain_client()))
        .default_service(web::route().to(api::handler));
}

impl EvolutionSim {
    /// The server's global key.
    pub fn global_key(&self) -> String {
        self.st().cfg.global_key.clone()
    }

    /// Create an instance as `POST /instance/create` would (no call recorded): state `close`.
    /// Returns its token.
    pub fn add_instance(&self, name: &str) -> String {
        let token = uuid_like().replace('-', "");
        self.st()
            .instances
            .insert(name.into(), EvolutionState::new_inst(token.clone()));
        token
    }

    /// The instance's token (`hash`).
    pub fn token(&self, name: &str) -> String {
        self.st().inst(name).token.clone()
    }

    pub fn has_instance(&self, name: &str) -> bool {
        self.st().instances.contains_key(name)
    }

    /// Store a webhook as `webhook/set` would: all events, these headers.
    pub fn set_webhook(&self, name: &str, url: &str, headers: Value) {
        let row = hooks::webhook_row(url, headers, true, false, false, Vec::new());
        self.st().inst_mut(name).webhook = Some(row);
    }

    /// The stored webhook row (None until set).
    pub fn webhook(&self, name: &str) -> Option<Value> {
        self.st().inst(name).webhook.clone().map(Value::Object)
    }

    pub fn configure(&self, f: impl FnOnce(&mut EvolutionSimConfig)) {
        f(&mut self.st().cfg);
    }

    // ----- the phone -----

    pub fn state(&self, name: &str) -> String {
        self.st().inst(name).state.clone()
    }

    /// The QR object `connect` would show now (None unless `connecting`).
    pub fn current_qr(&self, name: &str) -> Option<Value> {
        let st = self.st();
        (st.inst(name).state == "connecting").then(|| st.qr_json(name))
    }

    /// The phone scans the QR (or types the pairing code): `open`, `connection.update` with
    /// the account's JID, then what was held. Panics unless `connecting`. Returns the
    /// webhook's first status (0 = not posted).
    pub async fn link(&self, name: &str, phone: &str) -> u16 {
        let data = {
            let mut st = self.st();
            let i = st.inst_mut(name);
            assert_eq!(
                i.state, "connecting",
                "evolution sim: link needs an instance showing a QR (connect first)"
            );
            i.state = "open".into();
            i.own = Some(phone.to_string());
            i.qr_count = 0;
            json!({
                "instance": name,
                "wuid": format!("{phone}@s.whatsapp.net"),
                "profileName": "Sim Shop",
                "profilePictureUrl": Value::Null,
                "state": "open",
                "statusReason": 200
            })
        };
        let s = self.post(name, "connection.update", data).await;
        self.flush_pending(name).await;
        s
    }

    /// The phone logs the session out (code 401): `close`, `connection.update` and
    /// `status.instance`. Returns the first webhook's status.
    pub async fn logout_phone(&self, name: &str) -> u16 {
        {
            let mut st = self.st();
            let i = st.inst_mut(name);
            i.state = "close".into();
            i.qr_count = 0;
        }
        let s = self
            .post(
                name,
                "connection.update",
                json!({"instance": name, "state": "close", "statusReason": 401}),
            )
            .await;
        let at = chrono::Utc::now().to_rfc3339();
        self.post(
            name,
            "status.instance",
            json!({"instance": name, "status": "closed", "disconnectionAt": at,
                   "disconnectionReasonCode": 401}),
        )
        .await;
        s
    }

    /// A dropped socket Evolution reconnects by itself: `connecting`, then `open` again.
    pub async fn reconnect(&self, name: &str) {
        ops::reconnect(&self.data, &self.client, name).await;
    }

    /// A new QR (`qrcode.updated`); past `qr_limit` the session ends `refused` then `close`.
    /// Panics unless `connecting`.
    pub async fn rotate_qr(&self, name: &str) {
        let (data, over) = {
            let mut st = self.st();
            assert_eq!(
                st.inst(name).state,
                "connecting",
                "evolution sim: rotate_qr needs an instance showing a QR (connect first)"
            );
            st.next_qr(name);
            let over = st.inst(name).qr_count > st.cfg.qr_limit;
            if over {
                let i = st.inst_mut(name);
                i.state = "close".into();
                i.qr_count = 0;
            }
            (json!({"qrcode": st.qr_json(name)}), over)
        };
        if over {
            self.post(
                name,
                "qrcode.updated",
                json!({"message": "QR code limit reached, please login again", "statusCode": 500}),
            )
            .await;
            self.post(
                name,
                "connection.update",
                json!({"instance": name, "state": "refused", "statusReason": 500}),
            )
            .await;
        } else {
            let mut data = data;
            if let Some(q) = data.get_mut("qrcode") {
                q["instance"] = json!(name);
            }
            self.post(name, "qrcode.updated", data).await;
        }
    }

    // ----- the customers' side -----

    /// The customer sends a text (a reply when `quoted` names a message). Returns (message id,
    /// the webhook's first status; 0 = held or not posted).
    pub async fn customer_text(
        &self,
        name: &str,
        who: &EvolutionCustomer,
        text: &str,
        quoted: Option<&str>,
    ) -> (String, u16) {
        let (id, mut data) = self.upsert_data(name, who, false);
        if let Some(q) = quoted {
            data["contextInfo"] = json!({"stanzaId": q, "participant": self.own_jid(name),
                                         "quotedMessage": {"conversation": ""}});
        }
        let message = json!({"conversation": text});
        self.upsert(name, id, data, "conversation", message).await
    }

    /// Someone types on the linked phone itself (`messages.upsert` with `fromMe:true`).
    pub async fn phone_text(
        &self,
        name: &str,
        to: &EvolutionCustomer,
        text: &str,
    ) -> (String, u16) {
        let (id, data) = self.upsert_data(name, to, true);
        let message = json!({"conversation": text});
        self.upsert(name, id, data, "conversation", message).await
    }

    /// The customer sends a file (kept for `getBase64FromMediaMessage`; inline when the
    /// webhook has `base64:true`).
    pub async fn customer_media(
        &self,
        name: &str,
        who: &EvolutionCustomer,
        file: EvolutionFile,
    ) -> (String, u16) {
        use base64::Engine;
        let (id, data) = self.upsert_data(name, who, false);
        let kind = match file.kind.as_str() {
            "voice" => "audioMessage".to_string(),
            k => format!("{k}Message"),
        };
        let mut body = json!({
            "url": format!("https://mmg.whatsapp.net/v/t62.sim/{id}.enc"),
            "mimetype": file.mime,
            "fileLength": file.bytes.len().to_string(),
            "mediaKey": "c2ltLW1lZGlhLWtleQ==",
        });
        if file.kind == "voice" {
            body["ptt"] = json!(true);
            body["seconds"] = json!(3);
        }
        if let Some(c) = &file.caption {
            body["caption"] = json!(c);
        }
        if let Some(f) = &file.file_name {
            body["fileName"] = json!(f);
        }
        let mut message = json!({ kind.clone(): body });
        let inline = {
            let st = self.st();
            st.inst(name)
                .webhook
                .as_ref()
                .and_then(|w| w.get("webhookBase64"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        if inline {
            message["base64"] =
                json!(base64::engine::general_purpose::STANDARD.encode(&file.bytes));
        }
        self.st().media.insert(
            id.clone(),
            Stored {
                instance: name.into(),
                file,
            },
        );
        self.upsert(name, id, data, &kind, message).await
    }

    /// The customer reacts to `target` (`""` removes the reaction).
    pub async fn customer_reaction(
        &self,
        name: &str,
        who: &EvolutionCustomer,
        target: &str,
        emoji: &str,
    ) -> (String, u16) {
        let (id, data) = self.upsert_data(name, who, false);
        let target_key = json!({"remoteJid": who.jid(), "fromMe": true, "id": target});
        let message = json!({"reactionMessage": {"key": target_key, "text": emoji,
            "senderTimestampMs": (chrono::Utc::now().timestamp_millis()).to_string()}});
        self.upsert(name, id, data, "reactionMessage", message)
            .await
    }

    /// The customer edits their message `original` (`messages.edited`).
    pub async fn customer_edit(
        &self,
        name: &str,
        who: &EvolutionCustomer,
        original: &str,
        text: &str,
    ) -> u16 {
        let data = json!({
            "key": who.key(original, false),
            "type": "MESSAGE_EDIT",
            "editedMessage": {"conversation": text},
            "timestampMs": chrono::Utc::now().timestamp_millis().to_string(),
        });
        self.post_or_hold(name, "messages.edited", data).await
    }

    /// The customer deletes their message `original` for everyone (`messages.delete`, the
    /// bare key).
    pub async fn customer_delete(
        &self,
        name: &str,
        who: &EvolutionCustomer,
        original: &str,
    ) -> u16 {
        self.post_or_hold(name, "messages.delete", who.key(original, false))
            .await
    }

    /// A status for our message `id` (`messages.update`), as WhatsApp would report it.
    pub async fn push_status(&self, name: &str, id: &str, status: &str) -> u16 {
        let (jid, instance_id) = {
            let mut st = self.st();
            let instance_id = st.inst(name).id.clone();
            let jid = st
                .sent
                .iter_mut()
                .find(|m| m.id == id)
                .map(|m| {
                    m.statuses.push(status.to_string());
                    m.remote_jid.clone()
                })
                .unwrap_or_default();
            (jid, instance_id)
        };
        self.post(
            name,
            "messages.update",
            hooks::status_data(id, &jid, status, &instance_id),
        )
        .await
    }

    /// Post any event with any `data` (its first attempt's status).
    pub async fn post_raw(&self, name: &str, event: &str, data: Value) -> u16 {
        self.post(name, event, data).await
    }

    // ----- WhatsApp's side of sends -----

    /// Sends to this phone answer 400 `exists:false`.
    pub fn set_not_on_whatsapp(&self, phone: &str, yes: bool) {
        let mut st = self.st();
        if yes {
            st.not_on_whatsapp.insert(phone.into());
        } else {
            st.not_on_whatsapp.remove(phone);
        }
    }

    /// Sends to this phone end with `SERVER_ACK` then `ERROR`.
    pub fn set_failing(&self, phone: &str, yes: bool) {
        let mut st = self.st();
        if yes {
            st.failing.insert(phone.into());
        } else {
            st.failing.remove(phone);
        }
    }

    /// The avatar `fetchProfilePictureUrl` answers for this phone.
    pub fn set_profile_picture(&self, phone: &str, url: &str) {
        self.st().pictures.insert(phone.into(), url.into());
    }

    // ----- inspection -----

    pub fn calls_of(&self, action: &str) -> Vec<EvolutionCall> {
        cloned_where(&self.st().calls, |c| c.action == action)
    }
    pub fn sent_message(&self, id: &str) -> Option<EvolutionSent> {
        self.st().sent.iter().find(|m| m.id == id).cloned()
    }
    /// Every webhook POST attempt, in order.
    pub fn deliveries(&self) -> Vec<EvolutionDelivery> {
        self.st().deliveries.clone()
    }
    pub fn deliveries_of(&self, event: &str) -> Vec<EvolutionDelivery> {
        cloned_where(&self.st().deliveries, |d| d.event == event)
    }

    // ----- helpers -----

    fn own_jid(&self, name: &str) -> String {
        let own = self.st().inst(name).own.clone().unwrap_or_default();
        format!("{own}@s.whatsapp.net")
    }

    /// A new message in `who`'s chat from the WhatsApp side: its id and its `messages.upsert`
    /// data, but for the message itself ([`Self::upsert`] adds it).
    fn upsert_data(&self, name: &str, who: &EvolutionCustomer, from_me: bool) -> (String, Value) {
        let id = message_id("3A");
        let st = self.st();
        let data = json!({
            "key": who.key(&id, from_me),
            "pushName": if from_me { "Sim Shop".to_string() } else { who.name.clone() },
            "status": "DELIVERY_ACK",
            "messageTimestamp": chrono::Utc::now().timestamp(),
            "instanceId": st.inst(name).id,
            "source": "android",
        });
        (id, data)
    }

    /// `messages.upsert` of message `id` (`data` with `message` of type `kind`), posted now or
    /// held until `link`: (id, the webhook's first status; 0 = held or not posted).
    async fn upsert(
        &self,
        name: &str,
        id: String,
        mut data: Value,
        kind: &str,
        message: Value,
    ) -> (String, u16) {
        data["message"] = message;
        data["messageType"] = json!(kind);
        let s = self.post_or_hold(name, "messages.upsert", data).await;
        (id, s)
    }

    async fn post(&self, name: &str, event: &str, data: Value) -> u16 {
        post_event(&self.data, &self.client, name, event, data).await
    }

    /// Post now when the phone is linked, else hold until `link`.
    async fn post_or_hold(&self, name: &str, event: &'static str, data: Value) -> u16 {
        {
            let mut st = self.st();
            if st.inst(name).state != "open" {
                st.pending.push(Pending {
                    instance: name.into(),
                    event,
                    data,
                });
                return 0;
            }
        }
        self.post(name, event, data).await
    }

    async fn flush_pending(&self, name: &str) {
        let mine = take_where(&mut self.st().pending, |p| p.instance == name);
        for p in mine {
            self.post(name, p.event, p.data).await;
        }
    }
}

crate::sim::faults::fault_controls!(EvolutionSim, EvolutionFault);
crate::sim::web_gateway_records!(EvolutionSim: EvolutionCall, EvolutionSent, EvolutionRead);
