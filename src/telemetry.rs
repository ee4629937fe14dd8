//! Logging. Secrets are wrapped types and never formatted into log fields.
//!
//! `B24WA_LOG_FORMAT=json` writes one JSON object per line (with the current span and its
//! parents, so every line about a message carries its `trace_id`, see `crate::trace`);
//! `text` (the default) is the human-readable format.

use tracing_subscriber::{fmt, EnvFilter};

/// The output format, from `B24WA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_env() -> Self {
        match std::env::var("B24WA_LOG_FORMAT") {
            Ok(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // A second init (tests) is harmless.
    let _ = match LogFormat::from_env() {
        LogFormat::Text => fmt().with_env_filter(filter).with_target(false).try_init(),
        LogFormat::Json => fmt()
            .json()
            .with_env_filter(filter)
            .with_target(false)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}
