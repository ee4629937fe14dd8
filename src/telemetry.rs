//! Logging. Secrets are wrapped types and never formatted into log fields.
//!
//! `B24WA_LOG_FORMAT=json` writes one JSON object per line (with the current span and its
//! parents, so every line about a message carries its `trace_id`, see `crate::trace`);
//! `text` (the default) is the human-readable format.

use std::io::IsTerminal;

use tracing_subscriber::{fmt, fmt::writer::BoxMakeWriter, EnvFilter};

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

/// Logging for the service: lines on standard output.
pub fn init(default_level: &str) {
    init_to(default_level, Output::Stdout);
}

/// Where log lines go: the service logs to standard output; a one-shot command (`b24wa user`,
/// `rekey`, …) to standard error, so that its own output can be piped or read by a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

pub fn init_to(default_level: &str, output: Output) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only for a person at a terminal: in a file or a pipe they are escape codes.
    let ansi = match output {
        Output::Stdout => std::io::stdout().is_terminal(),
        Output::Stderr => std::io::stderr().is_terminal(),
    };
    let writer = BoxMakeWriter::new(move || -> Box<dyn std::io::Write> {
        match output {
            Output::Stdout => Box::new(std::io::stdout()),
            Output::Stderr => Box::new(std::io::stderr()),
        }
    });
    // A second init (tests) is harmless.
    let _ = match LogFormat::from_env() {
        LogFormat::Text => fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(writer)
            .try_init(),
        LogFormat::Json => fmt()
            .json()
            .with_env_filter(filter)
            .with_target(false)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .try_init(),
    };
}
