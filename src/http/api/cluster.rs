//! `GET /api/v1/cluster`: which nodes are alive and which node holds each actor's lease
//! (support staff; cluster mode only).

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use crate::http::{error::ErrorBody, ApiError, AppState, ErrorCode};
use crate::tr;

/// One actor's owner and the node running it.
#[derive(Serialize, ToSchema)]
pub struct LeaseView {
    /// `portal:<id>`, `number:<id>` or `transcriber`.
    pub owner: String,
    pub node: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClusterView {
    /// The node that answered.
    pub node: String,
    /// Nodes whose liveness key is current.
    pub nodes: Vec<String>,
    /// Every actor lease in Redis.
    pub leases: Vec<LeaseView>,
    /// Owners this node runs.
    pub held_here: Vec<String>,
}

/// Cluster state
///
/// Live nodes and the holder of each actor's lease (cluster mode, `REDIS_URL` set). Support
/// and billing staff only.
#[utoipa::path(
    get,
    path = "/api/v1/cluster",
    responses(
        (status = 200, description = "Nodes and leases", body = ClusterView),
        (status = 403, description = "`forbidden`: not support or billing staff", body = ErrorBody),
        (status = 503, description = "`not_clustered`: one node, no Redis configured; `redis_unavailable`: Redis did not answer", body = ErrorBody),
    ),
)]
pub async fn state(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_global(|l| tr!(l, "error-cluster-for-staff"))?;
    let Some(cluster) = &state.ctx.cluster else {
        return Err(ApiError::unavailable(ErrorCode::NotClustered, |l| {
            tr!(l, "error-not-clustered")
        }));
    };
    let unavailable = |e: crate::cluster::ClusterError| {
        tracing::warn!(error = %e, "cluster state: redis");
        ApiError::unavailable(ErrorCode::RedisUnavailable, |l| {
            tr!(l, "error-redis-unavailable")
        })
    };
    let nodes = cluster.nodes().await.map_err(unavailable)?;
    let leases = cluster
        .leases()
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|(owner, node)| LeaseView { owner, node })
        .collect();
    let mut held_here = cluster.held();
    held_here.sort();
    Ok(HttpResponse::Ok().json(ClusterView {
        node: cluster.node().to_string(),
        nodes,
        leases,
        held_here,
    }))
}
