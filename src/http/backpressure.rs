//! Back-pressure at the edge: while a number's stored-but-unprocessed inbox is at its high-water
//! mark, its WhatsApp webhooks are refused with `503` and `Retry-After` *before* anything is
//! stored (Meta and the gateways keep the event and retry it), so an outage downstream grows
//! neither memory (actors cap their queues, see `actors::queue`) nor the inbox without end.
//!
//! Bitrix24 events are not refused: Bitrix24 retries a failed event handler call poorly (an
//! operator's message could be lost), operators type at human speed, and the inbox plus the
//! actors' caps already keep memory bounded.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;

use super::{ApiError, ErrorCode};
use crate::{config::Settings, i18n::text::Text, store::inbox, tr};

/// How long one verdict is trusted: a flood costs one index walk per owner per period, not
/// one per webhook (so the mark is soft by what arrives within it).
const VERDICT_TTL: Duration = Duration::from_millis(500);

pub struct InboxGate {
    /// `0`: off.
    high_water: u64,
    retry_after_secs: u64,
    /// Owner key → (when checked, over the mark). One entry per connected number at most.
    verdicts: Mutex<HashMap<String, (Instant, bool)>>,
}

impl InboxGate {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            high_water: s.inbox_high_water,
            retry_after_secs: s.inbox_retry_after_secs.max(1),
            verdicts: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(503 inbox_backlogged)` while `owner` (an `inbox.owner` key) has at least the
    /// high-water mark of unprocessed items. Call it before storing.
    pub async fn check(&self, db: &DatabaseConnection, owner: &str) -> Result<(), ApiError> {
        if self.high_water == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let cached = self
            .verdicts
            .lock()
            .ok()
            .and_then(|v| v.get(owner).copied())
            .filter(|(at, _)| now.duration_since(*at) < VERDICT_TTL)
            .map(|(_, over)| over);
        let over = match cached {
            Some(over) => over,
            None => {
                let over = inbox::backlog_at_least(db, owner, self.high_water).await?;
                if let Ok(mut v) = self.verdicts.lock() {
                    v.insert(owner.to_string(), (now, over));
                }
                if over {
                    tracing::warn!(owner, high_water = self.high_water, "inbox backlog at its high-water mark; webhooks refused with 503 until it drains");
                }
                over
            }
        };
        if over {
            return Err(ApiError::Busy {
                code: ErrorCode::InboxBacklogged,
                message: Text::new(|l| tr!(l, "error-inbox-backlogged")),
                retry_after_secs: self.retry_after_secs,
            });
        }
        Ok(())
    }
}
