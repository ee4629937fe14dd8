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
pub struct Settings {
    /// Interface to listen on.
    #[serde(default = "d_host")]
    pub host: String,
    /// Port to listen on; 0 picks a free one (tests).
    #[serde(default = "num::<_, 8080>")]
    pub port: u16,
    /// Where the embedded default keeps its SQLite file and generated keys.
    #[serde(default = "d_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://…` (default, under data_dir) or `postgres://…`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Base URL at which Bitrix24 and Meta reach us (handler URLs we register).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Our Bitrix24 application credentials (one app for all portals).
    #[serde(default = "d_client_id")]
    pub app_client_id: String,
    #[serde(default = "d_secret")]
    pub app_client_secret: SecretString,
    /// Our app's Marketplace catalogue code (`vendor.app`): what `app.info` answers as `CODE` on
    /// portals that installed it from the Marketplace (a local app answers its client_id).
    /// Unset: only local installs are accepted.
    #[serde(default)]
    pub app_marketplace_code: Option<String>,
    /// Id under which we register the Open Lines connector on each portal.
    #[serde(default = "d_connector_id")]
    pub connector_id: String,
    #[serde(default = "default_connector_name")]
    pub connector_name: String,
    /// Graph API base (production `https://graph.facebook.com`).
    #[serde(default = "d_graph_base")]
    pub graph_base_url: String,
    #[serde(default = "d_graph_version")]
    pub graph_version: String,
    /// Base64 of 32 bytes; when absent a key file under data_dir is used (created on first start).
    #[serde(default)]
    pub encryption_key: Option<SecretString>,
    /// Earlier encryption keys, still used to decrypt (never to encrypt) during a key rotation
    /// until `b24wa rekey` has re-encrypted everything; `B24WA_ENCRYPTION_PREVIOUS_KEYS` is
    /// comma-separated.
    #[serde(default, deserialize_with = "secret_list")]
    pub encryption_previous_keys: Vec<SecretString>,
    /// HS256 secret for admin API tokens; when absent a key file under data_dir is used.
    #[serde(default)]
    pub jwt_secret: Option<SecretString>,
    /// Earlier JWT secrets, still accepted to verify tokens (never to sign) during a key
    /// rotation; `B24WA_JWT_PREVIOUS_SECRETS` is comma-separated.
    #[serde(default, deserialize_with = "secret_list")]
    pub jwt_previous_secrets: Vec<SecretString>,
    /// Lifetime of an access token (login, refresh).
    #[serde(default = "num::<_, 3600>")]
    pub jwt_ttl_secs: i64,
    /// Lifetime of a refresh token.
    #[serde(default = "days_in_secs::<_, 14>")]
    pub refresh_ttl_secs: i64,
    /// Login brute-force limits: failed attempts per account and per client IP within the
    /// window, after which logins answer 429 until the window ends (in memory, per node).
    #[serde(default = "num::<_, 5>")]
    pub login_max_failures_per_account: u32,
    #[serde(default = "num::<_, 20>")]
    pub login_max_failures_per_ip: u32,
    #[serde(default = "num::<_, 900>")]
    pub login_window_secs: u64,
    /// Rate limits of the public endpoints (webhooks, portal events, settings page, media):
    /// requests per second and burst, per client IP and per tenant; 0 switches one off. Over a
    /// limit: 429 with Retry-After (providers retry).
    // Meta delivers every tenant's webhooks from a few addresses, so the per-IP limit only stops
    // a flood; a number sends up to 80 messages per second by default (1,000 on high tiers), and
    // each message brings about three receipts, so a tenant's limit allows that several times
    // over.
    #[serde(default = "num::<_, 5_000>")]
    pub public_rate_per_ip: u32,
    #[serde(default = "num::<_, 20_000>")]
    pub public_burst_per_ip: u32,
    #[serde(default = "num::<_, 2_000>")]
    pub public_rate_per_tenant: u32,
    #[serde(default = "num::<_, 10_000>")]
    pub public_burst_per_tenant: u32,
    /// Behind a reverse proxy: take the client IP from `X-Forwarded-For` (only then; anyone
    /// can send the header).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// The OAuth servers an install may name as its `server_endpoint`: hosts (`host` or
    /// `host:port`, any case) we send our client_id and secret to. `B24WA_B24_OAUTH_HOSTS` is
    /// comma-separated; Bitrix24's own is `oauth.bitrix.info`. An install naming another is
    /// refused before anything is sent to it.
    #[serde(default = "d_oauth_hosts", deserialize_with = "string_list")]
    pub b24_oauth_hosts: Vec<String>,
    /// Client-side leaky bucket per portal (Bitrix24 default: burst 50, 2 per second).
    #[serde(default = "num::<_, 50>")]
    pub b24_rate_burst: f64,
    #[serde(default = "num::<_, 2>")]
    pub b24_rate_per_sec: f64,
    /// Timeout of one outbound HTTP call.
    #[serde(default = "num::<_, 15_000>")]
    pub http_timeout_ms: u64,
    /// Retry backoff: base * 2^attempts, capped.
    #[serde(default = "num::<_, 500>")]
    pub retry_base_ms: u64,
    #[serde(default = "num::<_, 60_000>")]
    pub retry_max_ms: u64,
    /// A job that failed this many times is parked as dead.
    #[serde(default = "num::<_, 50>")]
    pub max_attempts: i32,
    /// Chat actors idle this long are stopped (revived on demand).
    #[serde(default = "num::<_, 300>")]
    pub chat_idle_secs: u64,
    /// How often unfinished inbox items and due jobs are swept (crash recovery, late retries).
    #[serde(default = "num::<_, 2_000>")]
    pub sweep_ms: u64,
    /// On SIGTERM/SIGINT: the longest the service takes to stop (HTTP requests in flight get
    /// half, the actors' work in flight the rest; what is cut off resumes on the next start).
    #[serde(default = "num::<_, 10>")]
    pub shutdown_secs: u64,
    /// A portal's tokens are refreshed by the idle-token sweep once their last refresh is this
    /// old (refresh tokens live 180 days; Bitrix24 asks apps not to refresh much more often).
    #[serde(default = "days_in_secs::<_, 120>")]
    pub token_refresh_after_secs: u64,
    /// How often the idle-token sweep looks for such portals (each portal's own check is
    /// jittered within the first minutes).
    #[serde(default = "days_in_secs::<_, 1>")]
    pub token_sweep_secs: u64,
    /// How often a gateway number's instance state is polled (state webhooks may be lost).
    #[serde(default = "num::<_, 60>")]
    pub gateway_poll_secs: u64,
    /// Where media files are kept (default `<data_dir>/media`).
    #[serde(default)]
    pub media_dir: Option<PathBuf>,
    /// How long a `/media/…` link handed to Bitrix24 or a gateway works.
    #[serde(default = "days_in_secs::<_, 7>")]
    pub media_url_ttl_secs: u64,
    /// Time limit of one media download or upload (files are up to 100 MB).
    #[serde(default = "num::<_, 120>")]
    pub media_timeout_secs: u64,
    /// Cluster mode: Redis shared by every node (`REDIS_URL`). Unset = one node, in-process.
    #[serde(default)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel (several deployments may share one Redis).
    #[serde(default = "d_redis_prefix")]
    pub redis_prefix: String,
    /// This node's name in cluster mode (default: host, process id and a random suffix).
    #[serde(default)]
    pub node_id: Option<String>,
    /// Life of an actor lease in cluster mode; renewed every quarter of it. A dead node's actors
    /// move to another node about this long after it stopped renewing (plus up to a quarter:
    /// the next sweep), so failover stays under 2 s while four renewals in a row must fail
    /// before a live node loses a lease.
    #[serde(default = "num::<_, 1_200>")]
    pub lease_ms: u64,
    /// Enables `/api/v1/debug/*` fault hooks (tests only).
    #[serde(default)]
    pub debug_faults: bool,
    /// HTTP worker threads (0 = number of cores).
    #[serde(default)]
    pub http_workers: usize,
    /// Speech model (whisper.cpp ggml file) for voice-note transcripts; default
    /// `models/ggml-base-q8_0.bin` when that file exists, else none. An empty value (or
    /// `off`) turns transcription off.
    #[serde(default = "d_transcribe_model")]
    pub transcribe_model: Option<PathBuf>,
    /// "portal" (each note in its portal's language, detected when that is unknown), "auto"
    /// (always detect) or a fixed language code such as "ru".
    #[serde(default = "d_transcribe_language")]
    pub transcribe_language: String,
    /// Threads (whisper lanes, ~90 MB each) one note may use: 2 by default (1 on one core).
    #[serde(default = "d_transcribe_threads")]
    pub transcribe_threads: usize,
    /// Notes transcribed at once; memory is about 110 MB + 90 MB x workers x threads.
    #[serde(default = "d_transcribe_workers")]
    pub transcribe_workers: usize,
    /// Longer voice notes are not transcribed.
    #[serde(default = "num::<_, 30>")]
    pub transcribe_max_seconds: f32,
    #[serde(default = "d_log")]
    pub log: String,
    /// Plans and their quotas, over the built-in `free`, `standard` and `pro` (see
    /// `billing::plans`): `[plans.<name>]` tables, or `B24WA_PLANS` as a JSON object.
    #[serde(default, deserialize_with = "crate::billing::plans::deserialize_plans")]
    pub plans: std::collections::BTreeMap<String, crate::billing::Plan>,
    /// How long a tenant's monthly counts are trusted before they are counted again (quotas
    /// are checked per message against the cached figure).
    #[serde(default = "num::<_, 30>")]
    pub quota_cache_secs: u64,
    /// The admin web app's build folder, served under `/admin/` (`make web` builds it).
    #[serde(default = "d_admin_web_dir")]
    pub admin_web_dir: PathBuf,
    /// Inbox items one chat actor holds in memory; beyond it the chat spills and reads the rest
    /// back from the inbox, in order, once it has worked through half.
    #[serde(default = "num::<_, 256>")]
    pub chat_queue_cap: usize,
    /// Inbox items a portal actor holds in memory waiting to be routed to a number.
    #[serde(default = "num::<_, 1_000>")]
    pub route_queue_cap: usize,
    /// Rows read per page when an actor reads its stored backlog back from the inbox.
    #[serde(default = "num::<_, 500>")]
    pub inbox_page: u64,
    /// Unprocessed inbox items of one number (or portal) from which its webhooks are refused,
    /// before storing, with `503` and `Retry-After`; `0` switches it off.
    #[serde(default = "num::<_, 20_000>")]
    pub inbox_high_water: u64,
    /// The `Retry-After` of that `503`, in seconds.
    #[serde(default = "num::<_, 30>")]
    pub inbox_retry_after_secs: u64,
    /// Days messages (with transcripts and hops) are kept when the tenant set nothing; `0`:
    /// for ever. A tenant's plan may cap it (`billing::plans`).
    #[serde(default = "num::<_, 365>")]
    pub retention_messages_days: u32,
    /// Days media files are kept on disk when the tenant set nothing; `0`: for ever.
    #[serde(default = "num::<_, 90>")]
    pub retention_media_days: u32,
    /// Days finished inbox items and finished (done or dead) jobs are kept (at least 7: they
    /// deduplicate the providers' redeliveries), or fewer when the tenant's message retention
    /// is shorter; `0`: for ever.
    #[serde(default = "num::<_, 30>")]
    pub retention_work_days: u32,
    /// How often the retention sweep runs (each node; batches are idempotent); `0`: not on
    /// this node.
    #[serde(default = "num::<_, 3600>")]
    pub retention_sweep_secs: u64,
    /// Rows deleted per transaction by the sweep (short transactions, no long locks).
    #[serde(default = "num::<_, 500>")]
    pub retention_batch: u64,
    /// After an uninstall with `CLEAN=1`, days before the portal's data is purged (a reinstall
    /// within them keeps everything).
    #[serde(default = "num::<_, 7>")]
    pub uninstall_grace_days: u32,
}

/// A number setting's default: `N` (serde's `default` names a function).
fn num<T: From<u16>, const N: u16>() -> T {
    T::from(N)
}

/// A setting's default in seconds: `D` days.
fn days_in_secs<T: From<u32>, const D: u32>() -> T {
    T::from(D * 24 * 3600)
}

fn d_host() -> String {
    "127.0.0.1".into()
}
fn d_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn d_client_id() -> String {
    "local.b24wa".into()
}
fn d_secret() -> SecretString {
    SecretString::from("change-me")
}
fn d_connector_id() -> String {
    "b24wa_whatsapp".into()
}
/// The connector's name when none is configured (then it is the catalogue's, in the portal's
/// language).
pub(crate) fn default_connector_name() -> String {
    "WhatsApp (b24wa)".into()
}
fn d_graph_base() -> String {
    "https://graph.facebook.com".into()
}
fn d_graph_version() -> String {
    "v21.0".into()
}
fn d_redis_prefix() -> String {
    "b24wa".into()
}
fn d_admin_web_dir() -> PathBuf {
    PathBuf::from("admin-web/dist")
}
fn d_log() -> String {
    "info".into()
}
fn d_oauth_hosts() -> Vec<String> {
    vec!["oauth.bitrix.info".into()]
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
fn d_transcribe_model() -> Option<PathBuf> {
    let default = PathBuf::from("models/ggml-base-q8_0.bin");
    default.is_file().then_some(default)
}
fn d_transcribe_language() -> String {
    "auto".into()
}
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
fn d_transcribe_threads() -> usize {
    cores().min(2)
}
fn d_transcribe_workers() -> usize {
    cores()
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

    /// Whether each voice note is transcribed in its portal's language
    /// (`B24WA_TRANSCRIBE_LANGUAGE=portal`).
    pub fn transcribe_follows_portal(&self) -> bool {
        self.transcribe_language
            .trim()
            .eq_ignore_ascii_case("portal")
    }

    /// The transcriber pool's settings (`model_path: None` = transcription off).
    pub fn transcribe(&self) -> crate::transcribe::TranscribeSettings {
        let model_path = self.transcribe_model.clone().filter(|p| {
            let s = p.as_os_str();
            !(s.is_empty() || s == "off" || s == "none")
        });
        let follow_portal = self.transcribe_follows_portal();
        crate::transcribe::TranscribeSettings {
            model_path,
            // With "portal" a note whose portal's language is unknown is detected.
            language: if follow_portal {
                "auto".into()
            } else {
                self.transcribe_language.clone()
            },
            follow_portal,
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
