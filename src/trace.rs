//! Trace ids: one per message, so the JSON logs of every hop it takes can be found by one id.
//!
//! A webhook or portal event gets its id when it is accepted (the caller's `traceparent` or
//! `X-Request-Id` when present). The id is the current *trace context* of the task handling it
//! (a task-local), from where `store::inbox::insert` stores it with the item and
//! `store::jobs::enqueue` with every job the item causes; the actors that pick the item or a
//! job up enter its context again and log inside a span carrying `trace_id`. Passing it this way
//! keeps every signature between the hops as it was, and costs no extra query.

use std::{cell::Cell, future::Future};

use actix_web::http::header::HeaderMap;

/// What the task handling one message knows about it.
pub struct TraceCtx {
    pub id: String,
    /// When the message entered (its inbox item was stored), epoch ms.
    pub origin_ms: Option<i64>,
    stored: Cell<u32>,
    duplicates: Cell<u32>,
}

impl TraceCtx {
    pub fn new(id: String, origin_ms: Option<i64>) -> Self {
        Self {
            id,
            origin_ms,
            stored: Cell::new(0),
            duplicates: Cell::new(0),
        }
    }
}

tokio::task_local! {
    static CURRENT: TraceCtx;
}

/// Runs `fut` with `ctx` as its trace context.
pub async fn scope<F: Future>(ctx: TraceCtx, fut: F) -> F::Output {
    CURRENT.scope(ctx, fut).await
}

/// Runs `fut` within `ctx`, then returns what was inserted into the inbox meanwhile
/// (stored, duplicates).
pub async fn scope_counting<F: Future>(ctx: TraceCtx, fut: F) -> (F::Output, u32, u32) {
    CURRENT
        .scope(ctx, async {
            let out = fut.await;
            let (s, d) = CURRENT
                .try_with(|c| (c.stored.get(), c.duplicates.get()))
                .unwrap_or((0, 0));
            (out, s, d)
        })
        .await
}

/// The current trace id, if the task handles a message.
pub fn current_id() -> Option<String> {
    CURRENT.try_with(|c| c.id.clone()).ok()
}

/// When the current message entered, if known.
pub fn current_origin() -> Option<i64> {
    CURRENT.try_with(|c| c.origin_ms).ok().flatten()
}

/// The inbox took an item (`true`) or already had it.
pub fn note_insert(stored: bool) {
    let _ = CURRENT.try_with(|c| {
        let cell = if stored { &c.stored } else { &c.duplicates };
        cell.set(cell.get().saturating_add(1));
    });
}

/// A new random id: 32 hex digits, as a W3C trace id.
pub fn generate() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The caller's trace id: a `traceparent`'s trace-id field, else an `X-Request-Id` made only of
/// safe characters (it goes into logs), else none.
pub fn from_headers(h: &HeaderMap) -> Option<String> {
    if let Some(tp) = h.get("traceparent").and_then(|v| v.to_str().ok()) {
        let mut parts = tp.trim().split('-');
        if let (Some(_version), Some(id)) = (parts.next(), parts.next()) {
            if id.len() == 32
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && id.bytes().any(|b| b != b'0')
            {
                return Some(id.to_ascii_lowercase());
            }
        }
    }
    let rid = h.get("x-request-id").and_then(|v| v.to_str().ok())?.trim();
    let safe = !rid.is_empty()
        && rid.len() <= 64
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    safe.then(|| rid.to_string())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn the_callers_id_is_taken_when_well_formed() {
        let tp = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        assert_eq!(
            from_headers(&headers(&[("traceparent", tp), ("x-request-id", "r-1")])).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            from_headers(&headers(&[("x-request-id", "req-42.a_b")])).as_deref(),
            Some("req-42.a_b")
        );
        // An all-zero trace id is invalid; a request id with spaces or quotes is not logged.
        let zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        assert_eq!(from_headers(&headers(&[("traceparent", zero)])), None);
        assert_eq!(from_headers(&headers(&[("x-request-id", "a b\"c")])), None);
        assert_eq!(generate().len(), 32);
    }

    #[actix_web::test]
    async fn the_context_is_seen_inside_its_scope_only() {
        assert_eq!(current_id(), None);
        let ((), stored, dup) = scope_counting(TraceCtx::new("t1".into(), Some(5)), async {
            assert_eq!(current_id().as_deref(), Some("t1"));
            assert_eq!(current_origin(), Some(5));
            note_insert(true);
            note_insert(false);
            note_insert(true);
        })
        .await;
        assert_eq!((stored, dup), (2, 1));
        note_insert(true);
    }
}
