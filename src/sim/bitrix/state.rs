//! The portal's state: a new portal's tokens and lines, the counters ids and the timeline come
//! from, its endpoints, and the record of calls.

use super::*;
use crate::sim::random_hex;

impl BitrixState {
    pub(super) fn create(cfg: BitrixSimConfig, base: String, host: String) -> Self {
        let access = random_hex(16);
        let refresh = random_hex(16);
        let lines = (1..=cfg.lines as u64)
            .map(|i| (i, format!("Open Line {i}")))
            .collect();
        Self {
            moved: false,
            app_token: cfg.application_token.clone(),
            cfg,
            base,
            host,
            installed: false,
            app_info_installed: None,
            valid_access: HashSet::from([access.clone()]),
            expired_access: HashSet::new(),
            access_token: access,
            refresh_token: refresh,
            refresh_count: 0,
            bucket_level: 0.0,
            bucket_at: Instant::now(),
            down: false,
            faults: FaultQueue::default(),
            calls: Vec::new(),
            connectors: BTreeMap::new(),
            active: BTreeSet::new(),
            connector_data: HashMap::new(),
            lines,
            bindings: Vec::new(),
            placements: Vec::new(),
            conversations: Vec::new(),
            b24_users: HashMap::new(),
            contacts: Vec::new(),
            customer: Vec::new(),
            operator: Vec::new(),
            notices: Vec::new(),
            files: HashMap::new(),
            events: Vec::new(),
            providers: BTreeMap::new(),
            sms: Vec::new(),
            seq: 0,
            order: 0,
        }
    }

    pub(super) fn next_order(&mut self) -> u64 {
        self.order += 1;
        self.order
    }

    pub(super) fn next(&mut self, base: u64) -> String {
        self.seq += 1;
        (base + self.seq).to_string()
    }

    pub(super) fn client_endpoint(&self) -> String {
        if self.moved {
            format!("{}/moved/rest/", self.base)
        } else {
            format!("{}/rest/", self.base)
        }
    }
    pub(super) fn server_endpoint(&self) -> String {
        format!("{}/oauth-server/rest/", self.base)
    }

    pub(super) fn record(&mut self, method: &str, body: &Value, status: u16, via_batch: bool) {
        self.calls.push(Call {
            method: method.to_string(),
            body: body.clone(),
            status,
            via_batch,
            at_ms: now_ms(),
        });
    }
}
