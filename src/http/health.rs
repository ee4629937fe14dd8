//! Probes and metrics: `/healthz` (the process is up), `/readyz` (the database answers, and
//! Redis when `REDIS_URL` is set), `/metrics` (Prometheus text, see `crate::metrics`).

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use actix_web::{web, HttpResponse};
use sea_orm::ConnectionTrait;

use super::AppState;
use crate::{metrics, store::jobs};

/// How long a probe waits for the database or Redis before calling it not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Ready when the database answers (and Redis, when configured); 503 naming what did not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = tokio::time::timeout(PROBE_TIMEOUT, state.ctx.db.execute_unprepared("SELECT 1"));
    let mut down = Vec::new();
    match db.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            down.push("database".to_string());
        }
        Err(_) => down.push("database: no answer in time".to_string()),
    }
    if let Some(cluster) = &state.ctx.cluster {
        // The error kind, never the URL: it may hold a password.
        if let Err(e) = cluster.ping().await {
            down.push(match e {
                crate::cluster::ClusterError::Redis(e) => format!("redis: {:?}", e.kind()),
                other => format!("redis: {other}"),
            });
        }
    }
    if down.is_empty() {
        HttpResponse::Ok().body("ready")
    } else {
        HttpResponse::ServiceUnavailable().body(format!("not ready: {}", down.join("; ")))
    }
}

/// Prometheus text. The pending-jobs gauge is read from the database here, per scrape, rather
/// than kept per message.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    static KINDS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    match tokio::time::timeout(PROBE_TIMEOUT, jobs::pending_by_kind(&state.ctx.db)).await {
        Ok(Ok(counts)) => {
            let kinds = KINDS
                .get_or_init(|| Mutex::new(jobs::KINDS.iter().map(|k| k.to_string()).collect()));
            if let Ok(mut known) = kinds.lock() {
                metrics::pending(&counts, &mut known);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: counting pending jobs failed"),
        Err(_) => tracing::warn!("metrics: counting pending jobs timed out"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics::render())
}
