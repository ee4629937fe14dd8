//! The wall clock, in the unit every stored `*_at` column uses.

/// Unix time in milliseconds: every `*_at` column uses it.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
