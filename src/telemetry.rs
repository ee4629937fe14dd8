//! Logging. Secrets are wrapped types and never formatted into log fields.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // A second init (tests) is harmless.
    let _ = fmt().with_env_filter(filter).with_target(false).try_init();
}
