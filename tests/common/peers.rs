//! What every harness shares: the service's URL, both simulators and an admin API client with
//! the helpers that drive them, and the fixture (simulators, data directory, database, settings)
//! every harness starts from.

use b24wa::{
    config::Settings,
    http::api::auth::{JwtKeys, Role},
};
use secrecy::SecretString;
use serde_json::{json, Value};

use super::{fresh_database, wait_until, Backend};
use crate::sim::{BitrixSim, BitrixSimConfig, GraphSim, GraphSimConfig};

/// What every harness shares: the service's URL, both simulators and an admin API client, with
/// the helpers that drive them (`install`, `connect`, `customer_writes`, ...).
pub struct Peers {
    pub url: String,
    pub b24: BitrixSim,
    pub graph: GraphSim,
    pub token: String,
    pub http: reqwest::Client,
}

pub struct Number {
    pub id: i64,
    pub phone_number_id: String,
    pub line: String,
    pub access_token: String,
    pub app_secret: String,
    pub display_phone: String,
}

/// Fresh simulators, a data directory, a fresh database and the settings every harness starts
/// from: fixed secrets, the simulators' endpoints, fast retries and sweeps.
pub(super) struct Fixture {
    pub(super) b24: BitrixSim,
    pub(super) graph: GraphSim,
    pub(super) dir: tempfile::TempDir,
    pub(super) settings: Settings,
}

impl Fixture {
    pub(super) async fn new(backend: Backend, b24_cfg: BitrixSimConfig) -> Self {
        let b24 = BitrixSim::start(b24_cfg.clone()).await;
        let graph = GraphSim::start(GraphSimConfig::default()).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Settings::defaults().expect("defaults");
        s.host = "127.0.0.1".into();
        s.data_dir = dir.path().to_path_buf();
        s.database_url = Some(fresh_database(backend, dir.path()).await);
        s.encryption_key = Some(SecretString::from(
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".to_string(),
        ));
        s.jwt_secret = Some(SecretString::from(JWT_SECRET.to_string()));
        s.app_client_id = b24_cfg.client_id.clone();
        s.app_client_secret = SecretString::from(b24_cfg.client_secret.clone());
        // Every simulated portal's OAuth server listens on this machine.
        s.b24_oauth_hosts = vec!["127.0.0.1".into()];
        s.graph_base_url = graph.base_url();
        s.graph_version = graph.version();
        s.retry_base_ms = 50;
        s.retry_max_ms = 400;
        s.sweep_ms = 300;
        // Generous: a loaded CI machine must not turn a slow answer into a retry (a duplicate).
        s.http_timeout_ms = 5_000;
        s.debug_faults = true;
        s.http_workers = 2;
        // No speech model unless a test asks for one (loading it costs memory per app).
        s.transcribe_model = None;
        s.transcribe_workers = 1;
        // No quotas unless a test sets a plan (the built-in free plan allows one number).
        s.plans
            .insert("free".into(), b24wa::billing::Plan::default());
        Self {
            b24,
            graph,
            dir,
            settings: s,
        }
    }
}

const JWT_SECRET: &str = "test-jwt-secret";

impl Peers {
    /// An admin API client for the service at `url`; the Cloud API simulator's webhooks go there.
    pub(super) fn new(url: String, b24: BitrixSim, graph: GraphSim) -> Self {
        let token = JwtKeys::new(SecretString::from(JWT_SECRET.to_string()))
            .issue("tester", Role::Support, None, 3600)
            .expect("token");
        graph.set_webhook_url(&format!("{url}/webhooks/whatsapp/cloud"));
        Self {
            url,
            b24,
            graph,
            token,
            http: crate::sim::test_client(),
        }
    }
}

impl Peers {
    /// Installs the app on the simulated portal and waits for connector + event bindings.
    pub async fn install(&self) {
        let status = self
            .b24
            .install_via_event(&format!("{}/bitrix24/install", self.url))
            .await;
        assert_eq!(status, 200, "install answered {status}");
        let b24 = self.b24.clone();
        wait_until(10, "connector registered and events bound", move || {
            !b24.registered_connectors().is_empty() && b24.bindings().len() >= 7
        })
        .await;
    }

    pub async fn connect(&self, line: &str, phone_number_id: &str) -> Number {
        let n = Number {
            id: 0,
            phone_number_id: phone_number_id.into(),
            line: line.into(),
            access_token: format!("EAAG-{}", crate::sim::random_hex(8)),
            app_secret: crate::sim::random_hex(16),
            display_phone: format!("1555000{line}{line}{line}{line}"),
        };
        self.graph.add_number(
            &n.phone_number_id,
            &n.access_token,
            &n.app_secret,
            &n.display_phone,
        );
        let (status, body) = self
            .api_post(
                "/api/v1/numbers",
                json!({
                    "member_id": self.b24.member_id(),
                    "line": line,
                    "phone_number_id": phone_number_id,
                    "display_phone": n.display_phone,
                    "access_token": n.access_token,
                    "app_secret": n.app_secret,
                    "verify_token": "verify-me",
                }),
            )
            .await;
        assert_eq!(status, 201, "connect answered {status}: {body}");
        Number {
            id: body["number"]["id"].as_i64().expect("number id"),
            ..n
        }
    }

    pub async fn api_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("api call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("api call");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The first tenant (the one the install created).
    pub async fn tenant_of_install(&self) -> i64 {
        let (s, v) = self.api_get("/api/v1/tenants").await;
        assert_eq!(s, 200, "{v}");
        v["items"][0]["id"].as_i64().expect("tenant id")
    }

    /// Today's usage report of the install's tenant.
    pub async fn usage_today(&self) -> Value {
        let tenant = self.tenant_of_install().await;
        let today = chrono::Utc::now().date_naive();
        let (s, v) = self
            .api_get(&format!(
                "/api/v1/tenants/{tenant}/usage?from={today}&to={today}"
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// A customer writes `text` (signed like Meta, to the app-wide callback).
    pub async fn customer_writes(&self, n: &Number, wa_id: &str, wamid: &str, text: &str) -> u16 {
        let body = GraphSim::inbound_text_body(
            &n.phone_number_id,
            &n.display_phone,
            wa_id,
            "Anna Kowalska",
            wamid,
            text,
            crate::sim::unix_now(),
        );
        self.graph.post_signed(&n.phone_number_id, body).await
    }

    /// The operator writes `text` in `customer`'s chat on `n`; waits for a system notice
    /// containing `expect` (after the message) and returns it.
    pub async fn operator_writes_expecting(
        &self,
        n: &Number,
        customer: &str,
        text: &str,
        expect: &str,
    ) -> String {
        let before = self.b24.system_notices().len();
        let op = self
            .b24
            .operator_write(&n.line, &chat_key(customer, n), text)
            .await;
        assert_eq!(op.http_status, 200);
        let b24 = self.b24.clone();
        let want = expect.to_string();
        wait_until(10, &format!("a notice with {expect:?}"), move || {
            b24.system_notices()[before..]
                .iter()
                .any(|s| s.message.contains(&want))
        })
        .await;
        self.b24.system_notices()[before..]
            .iter()
            .find(|s| s.message.contains(expect))
            .map(|s| s.message.clone())
            .unwrap_or_default()
    }

    /// Texts that reached `imconnector.send.messages` for one customer, in arrival order.
    pub fn texts_in_bitrix(&self, wa_id: &str) -> Vec<String> {
        self.b24
            .customer_messages()
            .into_iter()
            .filter(|m| m.user_id == wa_id)
            .map(|m| m.text)
            .collect()
    }
}

pub fn chat_key(wa_id: &str, n: &Number) -> String {
    format!("{wa_id}@{}", n.phone_number_id)
}
