//! The service's own metrics, served as Prometheus text at `GET /metrics`. Every name is a
//! constant here and described once (`install`), as pict-rs does: call sites use the constants,
//! so a dashboard's names are all in one place. Labels only take values from small fixed sets
//! (sources, outcomes, job kinds, actor kinds), never ids.

use std::{sync::OnceLock, time::Duration};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Webhooks and portal events received; labels `source` (`cloud`, `gateway`, `bitrix24`) and
/// `outcome` (see the `OUTCOME_*` constants).
pub const WEBHOOKS_RECEIVED: &str = "b24wa_webhooks_received_total";
/// WhatsApp webhooks for a number not connected here (a removed number, another app's number
/// on a shared callback), acknowledged with `200` and dropped; label `source` (`cloud`,
/// `gateway`). Such webhooks also count as `outcome="unknown_number"` in `WEBHOOKS_RECEIVED`.
pub const WEBHOOK_UNKNOWN_NUMBER: &str = "b24wa_webhook_unknown_number_total";
/// Time from a webhook's first byte to our answer (the provider's ack); label `source`.
pub const ACK_SECONDS: &str = "b24wa_webhook_ack_seconds";
/// Jobs stored in the outbox; label `kind`.
pub const JOBS_QUEUED: &str = "b24wa_jobs_queued_total";
/// Jobs a runner is executing right now; label `kind`.
pub const JOBS_RUNNING: &str = "b24wa_jobs_running";
/// Jobs done; label `kind`.
pub const JOBS_SUCCEEDED: &str = "b24wa_jobs_succeeded_total";
/// Job attempts that failed and were scheduled again; label `kind`.
pub const JOBS_RETRIED: &str = "b24wa_jobs_retried_total";
/// Jobs that failed for good (dead); label `kind`.
pub const JOBS_FAILED: &str = "b24wa_jobs_failed_total";
/// Pending jobs in the outbox (all nodes), read from the database when `/metrics` is scraped;
/// label `kind`.
pub const JOBS_PENDING: &str = "b24wa_jobs_pending";
/// A customer's message: inbox stored → Bitrix24 accepted it.
pub const TO_BITRIX24_SECONDS: &str = "b24wa_to_bitrix24_seconds";
/// An operator's message: event stored → WhatsApp accepted it.
pub const TO_WHATSAPP_SECONDS: &str = "b24wa_to_whatsapp_seconds";
/// One voice note through the speech model.
pub const TRANSCRIPTION_SECONDS: &str = "b24wa_transcription_seconds";
/// Actors running on this node; label `kind` (`portal`, `number`, `chat`, `transcriber`).
pub const ACTORS_ALIVE: &str = "b24wa_actors_alive";
/// Actor ownership moves between nodes.
pub const LEASE_MOVES: &str = "b24wa_lease_moves_total";
/// SQL statements the service sent to its database (sea-orm's count; BEGIN/COMMIT not included);
/// label `outcome` (`ok`, `failed`).
pub const DB_STATEMENTS: &str = "b24wa_db_statements_total";
/// Inbox items held in actors' memory on this node (the rest wait in the inbox table); label
/// `queue` (`chat`: chat actors' backlogs, `route`: portals' routing queues).
pub const QUEUE_ITEMS: &str = "b24wa_queue_items";
/// Live items an actor left in the inbox because it was over its cap or still reading its
/// stored backlog (read back later in order); label `queue` (`chat`, `number`, `route`).
pub const QUEUE_SPILLED: &str = "b24wa_queue_spilled_total";

/// Bytes of the files in the media store (all nodes; set by each retention sweep).
pub const MEDIA_STORE_BYTES: &str = "b24wa_media_store_bytes";
/// Rows the retention sweep (and an uninstall's purge) deleted; label `table` (see the
/// `TABLE_*` constants).
pub const RETENTION_ROWS_PURGED: &str = "b24wa_retention_rows_purged_total";
/// Media files the retention sweep (and an uninstall's purge) deleted from the media store.
pub const RETENTION_FILES_PURGED: &str = "b24wa_retention_files_purged_total";

pub const TABLE_MESSAGES: &str = "messages";
/// Messages deleted that held a voice note's transcript (also counted in `messages`).
pub const TABLE_TRANSCRIPTS: &str = "transcripts";
pub const TABLE_HOPS: &str = "message_hops";
pub const TABLE_INBOX: &str = "inbox";
pub const TABLE_JOBS: &str = "jobs";
pub const TABLE_MEDIA: &str = "media";
pub const TABLE_CHATS: &str = "chats";
pub const TABLE_NUMBERS: &str = "numbers";
/// Every `table` label value of `RETENTION_ROWS_PURGED`.
pub const PURGE_TABLES: [&str; 8] = [
    TABLE_MESSAGES,
    TABLE_TRANSCRIPTS,
    TABLE_HOPS,
    TABLE_INBOX,
    TABLE_JOBS,
    TABLE_MEDIA,
    TABLE_CHATS,
    TABLE_NUMBERS,
];

pub const SOURCE_CLOUD: &str = "cloud";
pub const SOURCE_GATEWAY: &str = "gateway";
pub const SOURCE_BITRIX24: &str = "bitrix24";

/// At least one new item was stored in the inbox.
pub const OUTCOME_STORED: &str = "stored";
/// Everything in it was stored before (a provider's redelivery).
pub const OUTCOME_DUPLICATE: &str = "duplicate";
/// Acknowledged with nothing to store (another field, a disconnected number, a verification).
pub const OUTCOME_IGNORED: &str = "ignored";
pub const OUTCOME_REFUSED_SIGNATURE: &str = "refused_signature";
pub const OUTCOME_UNKNOWN_NUMBER: &str = "unknown_number";
pub const OUTCOME_RATE_LIMITED: &str = "rate_limited";
/// Malformed (bad JSON, unsupported object, oversized).
pub const OUTCOME_INVALID: &str = "invalid";
/// Refused before storing because the number's (or portal's) unprocessed inbox is over its
/// high-water mark (`503` with `Retry-After`; the provider retries).
pub const OUTCOME_BACKLOGGED: &str = "backlogged";
/// Refused for another reason (suspended tenant, unknown portal, our own failure).
pub const OUTCOME_ERROR: &str = "error";

pub const ACTOR_PORTAL: &str = "portal";
pub const ACTOR_NUMBER: &str = "number";
pub const ACTOR_CHAT: &str = "chat";
pub const ACTOR_TRANSCRIBER: &str = "transcriber";

pub const QUEUE_CHAT: &str = "chat";
pub const QUEUE_NUMBER: &str = "number";
pub const QUEUE_ROUTE: &str = "route";

/// Latency buckets (seconds): webhook acks are milliseconds, relays up to minutes with retries,
/// transcriptions seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and describes
/// every metric.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            // Histograms with buckets (not summaries): they add up across nodes.
            let builder = match builder.set_buckets_for_metric(
                Matcher::Suffix("_seconds".to_string()),
                BUCKETS,
            ) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "metric buckets refused; histograms become summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "a metrics recorder was already installed");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        WEBHOOKS_RECEIVED,
        "Webhooks and portal events received, by source and outcome"
    );
    describe_counter!(
        WEBHOOK_UNKNOWN_NUMBER,
        "WhatsApp webhooks for a number not connected here, acknowledged and dropped, by source"
    );
    describe_histogram!(
        ACK_SECONDS,
        metrics::Unit::Seconds,
        "Time to acknowledge a webhook or portal event, by source"
    );
    describe_counter!(
        JOBS_QUEUED,
        "Outbox jobs stored, by kind (a batch rolled back and retried counts again)"
    );
    describe_gauge!(JOBS_RUNNING, "Outbox jobs executing on this node, by kind");
    describe_counter!(JOBS_SUCCEEDED, "Outbox jobs done, by kind");
    describe_counter!(
        JOBS_RETRIED,
        "Outbox job attempts that failed and were scheduled again, by kind"
    );
    describe_counter!(
        JOBS_FAILED,
        "Outbox jobs that failed for good (dead), by kind"
    );
    describe_gauge!(
        JOBS_PENDING,
        "Pending outbox jobs in the database, by kind (read at scrape time)"
    );
    describe_histogram!(
        TO_BITRIX24_SECONDS,
        metrics::Unit::Seconds,
        "Customer message stored in the inbox until Bitrix24 accepted it"
    );
    describe_histogram!(
        TO_WHATSAPP_SECONDS,
        metrics::Unit::Seconds,
        "Operator message stored in the inbox until WhatsApp accepted it"
    );
    describe_histogram!(
        TRANSCRIPTION_SECONDS,
        metrics::Unit::Seconds,
        "One voice note through the speech model"
    );
    describe_gauge!(ACTORS_ALIVE, "Actors running on this node, by kind");
    describe_counter!(
        DB_STATEMENTS,
        "SQL statements sent to the database, by outcome (BEGIN and COMMIT not counted)"
    );
    describe_counter!(
        LEASE_MOVES,
        "Actor leases this node took over from another node (cluster mode; failover or hand-over)"
    );
    describe_gauge!(
        QUEUE_ITEMS,
        "Inbox items held in actors' memory on this node, by queue (the rest wait in the inbox)"
    );
    describe_counter!(
        QUEUE_SPILLED,
        "Live items left in the inbox by an actor over its cap or catching up, by queue"
    );
    describe_gauge!(
        MEDIA_STORE_BYTES,
        metrics::Unit::Bytes,
        "Bytes of the files in the media store (set by the retention sweep)"
    );
    describe_counter!(
        RETENTION_ROWS_PURGED,
        "Rows deleted by the retention sweep or an uninstall's purge, by table"
    );
    describe_counter!(
        RETENTION_FILES_PURGED,
        "Media files deleted by the retention sweep or an uninstall's purge"
    );
    // Present from the start, so dashboards and alerts see a 0 rather than no series.
    counter!(LEASE_MOVES).absolute(0);
    counter!(RETENTION_FILES_PURGED).increment(0);
    for table in PURGE_TABLES {
        counter!(RETENTION_ROWS_PURGED, "table" => table).increment(0);
    }
    for source in [SOURCE_CLOUD, SOURCE_GATEWAY] {
        counter!(WEBHOOK_UNKNOWN_NUMBER, "source" => source).increment(0);
    }
    for queue in [QUEUE_CHAT, QUEUE_ROUTE] {
        gauge!(QUEUE_ITEMS, "queue" => queue).increment(0.0);
    }
    for queue in [QUEUE_CHAT, QUEUE_NUMBER, QUEUE_ROUTE] {
        counter!(QUEUE_SPILLED, "queue" => queue).increment(0);
    }
    for kind in [ACTOR_PORTAL, ACTOR_NUMBER, ACTOR_CHAT, ACTOR_TRANSCRIBER] {
        gauge!(ACTORS_ALIVE, "kind" => kind).increment(0.0);
    }
}

/// The retention sweep deleted `rows` rows of `table`.
pub fn rows_purged(table: &'static str, rows: u64) {
    counter!(RETENTION_ROWS_PURGED, "table" => table).increment(rows);
}

/// The retention sweep deleted `files` media files.
pub fn files_purged(files: u64) {
    counter!(RETENTION_FILES_PURGED).increment(files);
}

/// The bytes now in the media store.
pub fn media_store_bytes(bytes: i64) {
    gauge!(MEDIA_STORE_BYTES).set(bytes as f64);
}

/// The Prometheus text of everything recorded so far.
pub fn render() -> String {
    install().render()
}

pub fn webhook(source: &'static str, outcome: &'static str, took: Duration) {
    counter!(WEBHOOKS_RECEIVED, "source" => source, "outcome" => outcome).increment(1);
    histogram!(ACK_SECONDS, "source" => source).record(took.as_secs_f64());
}

/// A webhook for a number not connected here was acknowledged and dropped.
pub fn unknown_number(source: &'static str) {
    counter!(WEBHOOK_UNKNOWN_NUMBER, "source" => source).increment(1);
}

pub fn db_statement(failed: bool) {
    let outcome = if failed { "failed" } else { "ok" };
    counter!(DB_STATEMENTS, "outcome" => outcome).increment(1);
}

pub fn lease_moved() {
    counter!(LEASE_MOVES).increment(1);
}

pub fn job_queued(kind: &str) {
    counter!(JOBS_QUEUED, "kind" => kind.to_string()).increment(1);
}

/// How a job attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Done,
    Retry,
    Dead,
}

pub fn job_settled(kind: &str, how: Settled) {
    let name = match how {
        Settled::Done => JOBS_SUCCEEDED,
        Settled::Retry => JOBS_RETRIED,
        Settled::Dead => JOBS_FAILED,
    };
    counter!(name, "kind" => kind.to_string()).increment(1);
}

/// Counts a job as running until dropped.
pub struct Running(String);

impl Running {
    pub fn start(kind: &str) -> Self {
        gauge!(JOBS_RUNNING, "kind" => kind.to_string()).increment(1.0);
        Running(kind.to_string())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        gauge!(JOBS_RUNNING, "kind" => std::mem::take(&mut self.0)).decrement(1.0);
    }
}

/// Seconds from `origin_ms` (epoch ms) to now, into `histogram` (a relay latency).
pub fn since(histogram_name: &'static str, origin_ms: i64) {
    let secs = (crate::clock::now_ms() - origin_ms).max(0) as f64 / 1000.0;
    histogram!(histogram_name).record(secs);
}

pub fn transcription(took: Duration) {
    histogram!(TRANSCRIPTION_SECONDS).record(took.as_secs_f64());
}

pub fn actor_started(kind: &'static str) {
    gauge!(ACTORS_ALIVE, "kind" => kind).increment(1.0);
}

/// An actor's in-memory queue grew (`delta` > 0) or shrank.
pub fn queue_items(queue: &'static str, delta: i64) {
    gauge!(QUEUE_ITEMS, "queue" => queue).increment(delta as f64);
}

/// A stopping actor's `counted` items leave the `queue` gauge.
pub fn queue_cleared(queue: &'static str, counted: &mut usize) {
    queue_items(queue, -(*counted as i64));
    *counted = 0;
}

/// A live item was left in the inbox (see `QUEUE_SPILLED`).
pub fn queue_spilled(queue: &'static str) {
    counter!(QUEUE_SPILLED, "queue" => queue).increment(1);
}

pub fn actor_stopped(kind: &'static str) {
    gauge!(ACTORS_ALIVE, "kind" => kind).decrement(1.0);
}

/// Replaces the pending-jobs gauges with a fresh count (kinds that drained to 0 included).
pub fn pending(counts: &[(String, i64)], known: &mut std::collections::HashSet<String>) {
    for k in known.iter() {
        if !counts.iter().any(|(c, _)| c == k) {
            gauge!(JOBS_PENDING, "kind" => k.clone()).set(0.0);
        }
    }
    for (kind, n) in counts {
        gauge!(JOBS_PENDING, "kind" => kind.clone()).set(*n as f64);
        known.insert(kind.clone());
    }
}

/// The outcome label of a refused webhook, from its error code.
pub fn outcome_of_error(code: &str, status: u16) -> &'static str {
    match code {
        "signature_missing"
        | "signature_invalid"
        | "webhook_token_invalid"
        | "bad_application_token"
        | "verify_rejected" => OUTCOME_REFUSED_SIGNATURE,
        "unknown_phone_number" | "unknown_number" | "unknown_portal" => OUTCOME_UNKNOWN_NUMBER,
        "rate_limited" => OUTCOME_RATE_LIMITED,
        "inbox_backlogged" => OUTCOME_BACKLOGGED,
        _ => match status {
            429 => OUTCOME_RATE_LIMITED,
            401 | 403 => OUTCOME_REFUSED_SIGNATURE,
            400 | 413 | 415 => OUTCOME_INVALID,
            404 => OUTCOME_UNKNOWN_NUMBER,
            _ => OUTCOME_ERROR,
        },
    }
}

/// A job attempt ended (after its outcome is committed): counts it, records the relay latency
/// of a delivered message, and logs it with its message's trace id.
pub fn settled(m: &entity::jobs::Model, how: Settled) {
    job_settled(&m.kind, how);
    if how == Settled::Done {
        let stage = match m.kind.as_str() {
            "b24_send_message" => Some(TO_BITRIX24_SECONDS),
            "wa_send_text" | "wa_send_media" => Some(TO_WHATSAPP_SECONDS),
            _ => None,
        };
        if let Some(h) = stage {
            since(h, m.origin_at.unwrap_or(m.created_at));
        }
    }
    tracing::debug!(
        trace_id = m.trace_id.as_deref().unwrap_or("-"),
        job = m.id,
        kind = %m.kind,
        outcome = ?how,
        "job settled"
    );
}

/// The span a job runner works in: the trace ids of the messages it carries (comma-separated
/// for a batch, so a search for one id still finds it).
pub fn job_span<'a>(rows: impl Iterator<Item = &'a entity::jobs::Model>) -> tracing::Span {
    let mut ids = String::new();
    let mut jobs = String::new();
    for m in rows {
        if let Some(t) = &m.trace_id {
            if !ids.is_empty() {
                ids.push(',');
            }
            ids.push_str(t);
        }
        if !jobs.is_empty() {
            jobs.push(',');
        }
        jobs.push_str(&m.id.to_string());
    }
    tracing::info_span!("job", trace_id = %ids, jobs = %jobs)
}
