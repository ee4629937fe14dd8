//! Typed settings: defaults, then an optional TOML file, then environment variables.
//! Secrets are `SecretString` so that `Debug` never prints them.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is invalid: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("configuration value {name} is invalid: {reason}")]
    Value { name: &'static str, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
// Every field missing from the file and the environment takes its value from `Default`.
#[serde(default)]
pub struct Settings {
    /// Interface to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one (tests).
    pub port: u16,
    /// Where the embedded default keeps its SQLite file and generated keys.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default, under data_dir) or `postgres://…`.
    pub database_url: Option<String>,
    /// Base URL at which Bitrix24 and Meta reach us (handler URLs we register).
    pub public_url: Option<String>,
    /// Our Bitrix24 application credentials (one app for all portals).
    pub app_client_id: String,
    pub app_client_secret: SecretString,
    /// Our app's Marketplace catalogue code (`vendor.app`): what `app.info` answers as `CODE` on
    /// portals that installed it from the Marketplace (a local app answers its client_id).
    /// Unset: only local installs are accepted.
    pub app_marketplace_code: Option<String>,
    /// Id under which we register the Open Lines connector on each portal.
    pub connector_id: String,
    pub connector_name: String,
    /// Graph API base (production `https://graph.facebook.com`).
    pub graph_base_url: String,
    pub graph_version: String,
    /// Base64 of 32 bytes; when absent a key file under data_dir is used (created on first start).
    pub encryption_key: Option<SecretString>,
    /// Earlier encryption keys, still used to decrypt (never to encrypt) during a key rotation
    /// until `b24wa rekey` has re-encrypted everything; `B24WA_ENCRYPTION_PREVIOUS_KEYS` is
    /// comma-separated.
    #[serde(deserialize_with = "secret_list")]
    pub encryption_previous_keys: Vec<SecretString>,
    /// HS256 secret for admin API tokens; when absent a key file under data_dir is used.
    pub jwt_secret: Option<SecretString>,
    /// Earlier JWT secrets, still accepted to verify tokens (never to sign) during a key
    /// rotation; `B24WA_JWT_PREVIOUS_SECRETS` is comma-separated.
    #[serde(deserialize_with = "secret_list")]
    pub jwt_previous_secrets: Vec<SecretString>,
    /// Lifetime of an access token (login, refresh).
    pub jwt_ttl_secs: i64,
    /// Lifetime of a refresh token.
    pub refresh_ttl_secs: i64,
    /// Login brute-force limits: failed attempts per account and per client IP within the
    /// window, after which logins answer 429 until the window ends (in memory, per node).
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub login_window_secs: u64,
    /// Rate limits of the public endpoints (webhooks, portal events, settings page, media):
    /// requests per second and burst, per client IP and per tenant; 0 switches one off. Over a
    /// limit: 429 with Retry-After (providers retry).
    pub public_rate_per_ip: u32,
    pub public_burst_per_ip: u32,
    pub public_rate_per_tenant: u32,
    pub public_burst_per_tenant: u32,
    /// Behind a reverse proxy: take the client IP from `X-Forwarded-For` (only then; anyone
    /// can send the header).
    pub trust_forwarded_for: bool,
    /// The OAuth servers an install may name as its `server_endpoint`: hosts (`host` or
    /// `host:port`, any case) we send our client_id and secret to. `B24WA_B24_OAUTH_HOSTS` is
    /// comma-separated; Bitrix24's own is `oauth.bitrix.info`. An install naming another is
    /// refused before anything is sent to it.
    #[serde(deserialize_with = "string_list")]
    pub b24_oauth_hosts: Vec<String>,
    /// Client-side leaky bucket per portal (Bitrix24 default: burst 50, 2 per second).
    pub b24_rate_burst: f64,
    pub b24_rate_per_sec: f64,
    /// Timeout of one outbound HTTP call.
    pub http_timeout_ms: u64,
    /// Retry backoff: base * 2^attempts, capped.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// A job that failed this many times is parked as dead.
    pub max_attempts: i32,
    /// Chat actors idle this long are stopped (revived on demand).
    pub chat_idle_secs: u64,
    /// How often unfinished inbox items and due jobs are swept (crash recovery, late retries).
    pub sweep_ms: u64,
    /// On SIGTERM/SIGINT: the longest the service takes to stop (HTTP requests in flight get
    /// half, the actors' work in flight the rest; what is cut off resumes on the next start).
    pub shutdown_secs: u64,
    /// A portal's tokens are refreshed by the idle-token sweep once their last refresh is this
    /// old (refresh tokens live 180 days; Bitrix24 asks apps not to refresh much more often).
    pub token_refresh_after_secs: u64,
    /// How often the idle-token sweep looks for such portals (each portal's own check is
    /// jittered within the first minutes).
    pub token_sweep_secs: u64,
    /// How often a gateway number's instance state is polled (state webhooks may be lost).
    pub gateway_poll_secs: u64,
    /// Where media files are kept (default `<data_dir>/media`).
    pub media_dir: Option<PathBuf>,
    /// How long a `/media/…` link handed to Bitrix24 or a gateway works.
    pub media_url_ttl_secs: u64,
    /// Time limit of one media download or upload (files are up to 100 MB).
    pub media_timeout_secs: u64,
    /// Cluster mode: Redis shared by every node (`REDIS_URL`). Unset = one node, in-process.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel (several deployments may share one Redis).
    pub redis_prefix: String,
    /// This node's name in cluster mode (default: host, process id and a random suffix).
    pub node_id: Option<String>,
    /// Life of an actor lease in cluster mode; renewed every third of it. A dead node's actors
    /// move to another node about this long after it stopped renewing.
    pub lease_ms: u64,
    /// Enables `/api/v1/debug/*` fault hooks (tests only).
    pub debug_faults: bool,
    /// HTTP worker threads (0 = number of cores).
    pub http_workers: usize,
    /// Speech model (whisper.cpp ggml file) for voice-note transcripts; default
    /// `models/ggml-base-q8_0.bin` when that file exists, else none. An empty value (or
    /// `off`) turns transcription off.
    pub transcribe_model: Option<PathBuf>,
    /// "auto" (detect) or a fixed language code such as "ru".
    pub transcribe_language: String,
    /// Threads (whisper lanes, ~90 MB each) one note may use: 2 by default (1 on one core).
    pub transcribe_threads: usize,
    /// Notes transcribed at once; memory is about 110 MB + 90 MB x workers x threads.
    pub transcribe_workers: usize,
    /// Longer voice notes are not transcribed.
    pub transcribe_max_seconds: f32,
    pub log: String,
    /// Plans and their quotas, over the built-in `free`, `standard` and `pro` (see
    /// `billing::plans`): `[plans.<name>]` tables, or `B24WA_PLANS` as a JSON object.
    #[serde(deserialize_with = "crate::billing::plans::deserialize_plans")]
    pub plans: std::collections::BTreeMap<String, crate::billing::Plan>,
    /// How long a tenant's monthly counts are trusted before they are counted again (quotas
    /// are checked per message against the cached figure).
    pub quota_cache_secs: u64,
    /// The admin web app's build folder, served under `/admin/` (`make web` builds it).
    pub admin_web_dir: PathBuf,
    /// Inbox items one chat actor holds in memory; beyond it the chat spills and reads the rest
    /// back from the inbox, in order, once it has worked through half.
    pub chat_queue_cap: usize,
    /// Inbox items a portal actor holds in memory waiting to be routed to a number.
    pub route_queue_cap: usize,
    /// Rows read per page when an actor reads its stored backlog back from the inbox.
    pub inbox_page: u64,
    /// Unprocessed inbox items of one number (or portal) from which its webhooks are refused,
    /// before storing, with `503` and `Retry-After`; `0` switches it off.
    pub inbox_high_water: u64,
    /// The `Retry-After` of that `503`, in seconds.
    pub inbox_retry_after_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("data"),
            database_url: None,
            public_url: None,
            app_client_id: "local.b24wa".into(),
            app_client_secret: SecretString::from("change-me"),
            app_marketplace_code: None,
            connector_id: "b24wa_whatsapp".into(),
            connector_name: "WhatsApp (b24wa)".into(),
            graph_base_url: "https://graph.facebook.com".into(),
            graph_version: "v21.0".into(),
            encryption_key: None,
            encryption_previous_keys: Vec::new(),
            jwt_secret: None,
            jwt_previous_secrets: Vec::new(),
            jwt_ttl_secs: 3600,
            refresh_ttl_secs: 14 * 24 * 3600,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            // Meta delivers every tenant's webhooks from a few addresses, so the per-IP limit only
            // stops a flood; a number sends up to 80 messages per second by default (1,000 on high
            // tiers), and each message brings about three receipts, so a tenant's limit allows that
            // several times over.
            public_rate_per_ip: 5_000,
            public_burst_per_ip: 20_000,
            public_rate_per_tenant: 2_000,
            public_burst_per_tenant: 10_000,
            trust_forwarded_for: false,
            b24_oauth_hosts: vec!["oauth.bitrix.info".into()],
            b24_rate_burst: 50.0,
            b24_rate_per_sec: 2.0,
            http_timeout_ms: 15_000,
            retry_base_ms: 500,
            retry_max_ms: 60_000,
            max_attempts: 50,
            chat_idle_secs: 300,
            sweep_ms: 2_000,
            shutdown_secs: 10,
            token_refresh_after_secs: 120 * 24 * 3600,
            token_sweep_secs: 24 * 3600,
            gateway_poll_secs: 60,
            media_dir: None,
            media_url_ttl_secs: 7 * 24 * 3600,
            media_timeout_secs: 120,
            redis_url: None,
            redis_prefix: "b24wa".into(),
            node_id: None,
            lease_ms: 3_000,
            debug_faults: false,
            http_workers: 0,
            transcribe_model: Some(PathBuf::from("models/ggml-base-q8_0.bin"))
                .filter(|p| p.is_file()),
            transcribe_language: "auto".into(),
            transcribe_threads: cores().min(2),
            transcribe_workers: cores(),
            transcribe_max_seconds: 30.0,
            log: "info".into(),
            plans: Default::default(),
            quota_cache_secs: 30,
            admin_web_dir: PathBuf::from("admin-web/dist"),
            chat_queue_cap: 256,
            route_queue_cap: 1_000,
            inbox_page: 500,
            inbox_high_water: 20_000,
            inbox_retry_after_secs: 30,
        }
    }
}

/// A list of words: a sequence (TOML) or one comma-separated string (environment).
fn string_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(secret_list(d)?
        .into_iter()
        .map(|s| s.expose_secret().to_string())
        .collect())
}
/// A list of secrets: a sequence (TOML) or one comma-separated string (environment).
fn secret_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of secrets or a comma-separated string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.split(',').map(str::to_string).collect())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = a.next_element::<String>()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    Ok(d.deserialize_any(Visit)?
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(SecretString::from)
        .collect())
}
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Settings {
    /// Defaults < TOML file (`B24WA_CONFIG`, or `b24wa.toml` if present) < `B24WA_*` variables,
    /// plus the conventional `DATABASE_URL` and `REDIS_URL`.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("B24WA_CONFIG").ok();
        let mut builder = config::Config::builder();
        match &file {
            Some(path) => {
                builder = builder.add_source(config::File::with_name(path).required(true));
            }
            None => {
                builder = builder.add_source(config::File::with_name("b24wa").required(false));
            }
        }
        builder = builder
            .add_source(config::Environment::with_prefix("B24WA").try_parsing(true))
            .set_override_option("database_url", std::env::var("DATABASE_URL").ok())?
            .set_override_option(
                "redis_url",
                std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()),
            )?;
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Defaults only (tests start from this and override fields).
    pub fn defaults() -> Result<Self, ConfigError> {
        Ok(config::Config::builder().build()?.try_deserialize()?)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self
            .connector_id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ConfigError::Value {
                name: "connector_id",
                reason: "only [a-z0-9_] is allowed by Bitrix24".into(),
            });
        }
        if self.b24_rate_per_sec <= 0.0 || self.b24_rate_burst < 1.0 {
            return Err(ConfigError::Value {
                name: "b24_rate_*",
                reason: "burst must be >= 1 and rate > 0".into(),
            });
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("b24wa.db").display()
            ),
        }
    }

    /// Whether `server_endpoint` (an install's OAuth server) is one we may send our client_id
    /// and secret to: its host (or `host:port`) is in `b24_oauth_hosts`, over https (plain
    /// http only to this machine: the tests' and the sandbox's simulator), without credentials.
    pub fn oauth_server_allowed(&self, server_endpoint: &str) -> bool {
        let Ok(u) = url::Url::parse(server_endpoint) else {
            return false;
        };
        let Some(host) = u.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let loopback = match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && loopback);
        if !scheme_ok || !u.username().is_empty() || u.password().is_some() {
            return false;
        }
        let with_port = u.port().map(|p| format!("{host}:{p}"));
        self.b24_oauth_hosts.iter().any(|allowed| {
            let allowed = allowed.trim().to_ascii_lowercase();
            !allowed.is_empty() && (allowed == host || Some(&allowed) == with_port.as_ref())
        })
    }

    /// The `app.info` CODEs that mean "our app": our local client_id and, when configured, our
    /// Marketplace code (contract: bitrix24-crm §6).
    pub fn accepted_app_codes(&self) -> Vec<&str> {
        let mut codes = vec![self.app_client_id.as_str()];
        if let Some(code) = self
            .app_marketplace_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            codes.push(code);
        }
        codes
    }

    pub fn is_embedded_db(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// The transcriber pool's settings (`model_path: None` = transcription off).
    pub fn transcribe(&self) -> crate::transcribe::TranscribeSettings {
        let model_path = self.transcribe_model.clone().filter(|p| {
            let s = p.as_os_str();
            !(s.is_empty() || s == "off" || s == "none")
        });
        crate::transcribe::TranscribeSettings {
            model_path,
            language: self.transcribe_language.clone(),
            threads: self.transcribe_threads.max(1),
            workers: self.transcribe_workers.max(1),
            max_seconds: self.transcribe_max_seconds,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn media_dir(&self) -> PathBuf {
        self.media_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_oauth_servers_are_allowed() {
        let mut s = Settings::defaults().expect("defaults");
        assert!(s.oauth_server_allowed("https://oauth.bitrix.info/rest/"));
        assert!(s.oauth_server_allowed("https://OAUTH.bitrix.info/rest/"));
        assert!(
            !s.oauth_server_allowed("http://oauth.bitrix.info/rest/"),
            "plain http"
        );
        assert!(!s.oauth_server_allowed("https://oauth.bitrix.info.evil.test/rest/"));
        assert!(!s.oauth_server_allowed("https://evil.test/rest/"));
        assert!(!s.oauth_server_allowed("https://u:p@oauth.bitrix.info/rest/"));
        assert!(!s.oauth_server_allowed("not a url"));
        s.b24_oauth_hosts = vec!["127.0.0.1".into(), "example.test:8443".into()];
        assert!(s.oauth_server_allowed("http://127.0.0.1:4000/oauth-server/rest/"));
        assert!(!s.oauth_server_allowed("http://localhost:4000/oauth-server/rest/"));
        assert!(s.oauth_server_allowed("https://example.test:8443/rest/"));
        assert!(!s.oauth_server_allowed("https://example.test/rest/"));
        assert!(
            !s.oauth_server_allowed("http://example.test:8443/rest/"),
            "not loopback"
        );
    }
}
