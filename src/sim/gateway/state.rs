//! The instances' state: the simulated clock, faults and records, the session state machine, the
//! statuses a send goes through, webhook targets, and a tiny valid PNG standing in for the QR.

use base64::Engine;
use rand::seq::SliceRandom;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::replies::new_out_id;
use super::*;

impl GatewayState {
    pub(super) fn now_ms(&self) -> i64 {
        self.frozen_ms.unwrap_or_else(wall_ms) + self.offset_ms
    }

    pub(super) fn take_fault(&mut self, method: &str) -> Option<GatewayFault> {
        self.faults.take(|m| m.is_none_or(|m| m == method))
    }

    pub(super) fn record(
        &mut self,
        http_method: &str,
        method: &str,
        instance: Option<u64>,
        body: Value,
        status: u16,
    ) {
        let at_ms = self.now_ms();
        self.calls.push(GatewayCall {
            http_method: http_method.into(),
            method: method.into(),
            instance,
            body,
            status,
            at_ms,
        });
    }

    /// Record a message accepted for sending; returns its idMessage.
    pub(super) fn push_sent(
        &mut self,
        instance: u64,
        chat_id: &str,
        kind: &str,
        text: String,
        file: Option<GatewaySentFile>,
        quoted_id: Option<String>,
    ) -> String {
        let id_message = new_out_id();
        let at_ms = self.now_ms();
        self.sent.push(GatewaySent {
            instance,
            chat_id: chat_id.to_string(),
            kind: kind.into(),
            text,
            file,
            quoted_id,
            id_message: id_message.clone(),
            at_ms,
            edited: false,
            edits: Vec::new(),
            edit_ids: Vec::new(),
            deleted: false,
            deleted_for_everyone: false,
            statuses: Vec::new(),
        });
        id_message
    }

    pub(super) fn instance(&self, id: u64) -> &Instance {
        self.instances
            .get(&id)
            .expect("gateway sim: unknown instance (add_instance first)")
    }

    pub(super) fn instance_data(&self, id: u64) -> Value {
        let wid = self
            .instances
            .get(&id)
            .map(|i| i.wid.clone())
            .unwrap_or_default();
        json!({"idInstance": id, "wid": wid, "typeInstance": self.cfg.type_instance})
    }

    /// Store bytes behind a fresh link; returns the link.
    pub(super) fn store_file(&mut self, mime: &str, file_name: &str, bytes: Vec<u8>) -> String {
        let key = random_hex(16);
        let expires_ms = self.now_ms() + self.cfg.download_url_ttl.as_millis() as i64;
        self.files.insert(
            key.clone(),
            StoredFile {
                mime: mime.into(),
                bytes,
                expires_ms,
            },
        );
        let name: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
        format!("{}/dl/{key}/{name}", self.base)
    }

    pub(super) fn qr_base64(&self, id: u64) -> String {
        let i = self.instance(id);
        let period = (self.cfg.qr_period.as_millis() as i64).max(1);
        let epoch = (self.now_ms() - i.qr_base_ms).max(0) / period + i.qr_rotations as i64;
        let seed = format!("sim-qr {} {id} {epoch}", self.nonce);
        base64::engine::general_purpose::STANDARD.encode(qr_png(&seed))
    }

    pub(super) fn find_sent_mut(&mut self, instance: u64, id: &str) -> Option<&mut GatewaySent> {
        self.sent.iter_mut().find(|m| {
            m.instance == instance && (m.id_message == id || m.edit_ids.iter().any(|e| e == id))
        })
    }

    /// Set the state (always) and build the `stateInstanceChanged` body. Returns (changed, body).
    pub(super) fn change_state(&mut self, id: u64, new: &str) -> (bool, Value) {
        let now = self.now_ms();
        let i = self
            .instances
            .get_mut(&id)
            .expect("gateway sim: unknown instance (add_instance first)");
        let changed = i.state != new;
        i.state = new.to_string();
        i.state_gen += 1;
        i.reboot_target = None;
        if new == "notAuthorized" && changed {
            i.qr_base_ms = now;
            i.qr_rotations = 0;
        }
        let body = json!({
            "typeWebhook": "stateInstanceChanged",
            "instanceData": self.instance_data(id),
            "timestamp": now / 1000,
            "stateInstance": new
        });
        (changed, body)
    }

    pub(super) fn status_plan(
        &self,
        inst_state: &str,
        chat_id: &str,
        fetch_error: Option<&str>,
    ) -> Vec<(String, Option<String>)> {
        if let Some(e) = fetch_error {
            return vec![("failed".into(), Some(e.to_string()))];
        }
        if inst_state == "yellowCard" {
            return vec![(
                "yellowCard".into(),
                Some("sending is suspended on this account".into()),
            )];
        }
        if self.no_account.contains(chat_id) {
            return vec![(
                "noAccount".into(),
                Some("the number has no WhatsApp account".into()),
            )];
        }
        let mut plan: Vec<(String, Option<String>)> = Vec::new();
        for s in &self.cfg.auto_statuses {
            plan.push((s.to_string(), None));
            if self.cfg.duplicate_statuses {
                plan.push((s.to_string(), None));
            }
        }
        if self.cfg.shuffle_statuses {
            plan.shuffle(&mut rand::thread_rng());
        }
        plan
    }

    pub(super) fn status_body(
        &self,
        instance: u64,
        chat_id: &str,
        id_message: &str,
        status: &str,
        description: Option<&str>,
        by_api: bool,
    ) -> Value {
        let mut b = json!({
            "typeWebhook": "outgoingMessageStatus",
            "chatId": chat_id,
            "instanceData": self.instance_data(instance),
            "timestamp": self.now_ms() / 1000,
            "idMessage": id_message,
            "status": status,
            "sendByApi": by_api
        });
        if let Some(d) = description {
            b["description"] = json!(d);
        }
        b
    }

    /// Where a webhook of kind `flag` goes: (url, Authorization header) when configured.
    pub(super) fn webhook_target(
        &self,
        instance: u64,
        flag: &str,
    ) -> Option<(String, Option<String>)> {
        let i = self.instances.get(&instance)?;
        let url = i.settings.get("webhookUrl")?.as_str()?;
        if url.is_empty() || i.settings.get(flag).and_then(Value::as_str) != Some("yes") {
            return None;
        }
        let auth = i
            .settings
            .get("webhookUrlToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| format!("Bearer {t}"));
        Some((url.to_string(), auth))
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny valid PNG standing in for the QR
// ---------------------------------------------------------------------------------------------

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
    }
    !c
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A 116×116 1-bit grayscale PNG looking like a QR code, derived from `seed` (also stored in a
/// `tEXt` "Comment" chunk).
pub(crate) fn qr_png(seed: &str) -> Vec<u8> {
    const MODULES: usize = 25;
    const QUIET: usize = 2;
    const SCALE: usize = 4;
    let side = (MODULES + 2 * QUIET) * SCALE;
    let mut bits = Vec::with_capacity(MODULES * MODULES + 256);
    let mut counter = 0u32;
    while bits.len() < MODULES * MODULES {
        let h = Sha256::new()
            .chain_update(seed.as_bytes())
            .chain_update(counter.to_be_bytes())
            .finalize();
        for byte in h {
            for k in 0..8 {
                bits.push((byte >> (7 - k)) & 1 == 1);
            }
        }
        counter += 1;
    }
    let dark = |mx: usize, my: usize| -> bool {
        for (fx, fy) in [(0, 0), (MODULES - 7, 0), (0, MODULES - 7)] {
            if (fx..fx + 7).contains(&mx) && (fy..fy + 7).contains(&my) {
                let (dx, dy) = (mx - fx, my - fy);
                return dx.min(dy).min(6 - dx).min(6 - dy) != 1;
            }
        }
        bits[my * MODULES + mx]
    };
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity(side * (row_bytes + 1));
    for y in 0..side {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            let inside =
                (QUIET..QUIET + MODULES).contains(&mx) && (QUIET..QUIET + MODULES).contains(&my);
            if !(inside && dark(mx - QUIET, my - QUIET)) {
                row[x / 8] |= 0x80 >> (x % 8); // 1 = white
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // 1 bit, grayscale, deflate, filter 0, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"tEXt", format!("Comment\0{seed}").as_bytes());
    png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}
