//! The outbox as support sees it: jobs by state, and re-driving one that failed for good.

use actix_web::HttpResponse;
use sea_orm::TransactionTrait;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Role;
use super::extract::{ById, ListRequest};
use super::openapi::{BadFilter, SupportOnly};
use super::page::{self, Page, PageParams, Paging};
use super::{audit, scope::tenant_job_owners};
use crate::{
    actors::registry::{KickOwner, Owner},
    http::{error::ErrorBody, ApiError, ErrorCode},
    store::{
        hops::{self, Hop},
        jobs::{self, Job},
        messages,
    },
    tr,
};

#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    /// `portal:<id>`, `number:<id>` or `transcriber`: the actor that runs it.
    pub owner: String,
    /// Jobs of one queue (e.g. `chat:<id>`) run in order.
    pub queue_key: String,
    /// e.g. `b24_send_message`, `wa_send_text`.
    pub kind: String,
    /// `pending`, `done` or `dead` (failed for good; support can re-drive it).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// The message it carries, if any.
    pub message_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&entity::jobs::Model> for JobView {
    fn from(j: &entity::jobs::Model) -> Self {
        Self {
            id: j.id,
            owner: j.owner.clone(),
            queue_key: j.queue_key.clone(),
            kind: j.kind.clone(),
            status: j.status.clone(),
            attempts: j.attempts,
            next_attempt_at: j.next_attempt_at,
            last_error: j.last_error.clone(),
            message_id: jobs::decode(j).ok().and_then(|job| job.message_id()),
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

/// Filters of `GET /jobs`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `pending`, `done` or `dead`.
    pub status: Option<String>,
    /// A job kind, e.g. `wa_send_text`.
    pub kind: Option<String>,
    /// `portal:<id>`, `number:<id>` or `transcriber`.
    pub owner: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    params(PageParams, JobQuery),
    responses(
        (status = 200, description = "Jobs, newest first (a tenant admin sees its tenant's)", body = Page<JobView>),
        BadFilter,
        (status = 403, description = "`forbidden`: the billing role does not see jobs", body = ErrorBody),
    ),
)]
pub async fn list(ListRequest { state, caller, q }: ListRequest) -> Result<HttpResponse, ApiError> {
    if caller.role() == Role::Billing {
        return Err(ApiError::forbidden(ErrorCode::Forbidden, |l| {
            tr!(l, "error-billing-no-jobs")
        }));
    }
    let paging = Paging::of(&q)?;
    let owner = page::search(&q, "owner", 64)?;
    if let Some(o) = &owner {
        if Owner::parse(o).is_none() {
            return Err(page::invalid_field(|l| tr!(l, "error-job-owner")));
        }
    }
    let filter = jobs::Filter {
        status: page::one_of(&q, "status", &[jobs::PENDING, jobs::DONE, jobs::DEAD])?
            .map(str::to_string),
        kind: page::search(&q, "kind", 64)?,
        owner,
        owners: match caller.role() {
            Role::TenantAdmin => Some(tenant_job_owners(&state, &caller).await?),
            _ => None,
        },
    };
    paging.rows::<JobView, _>(&state.ctx.db, &filter).await
}

#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/redrive",
    params(("id" = i64, Path, description = "The job id")),
    responses(
        (status = 200, description = "Back in its queue with fresh attempts; audited", body = JobView),
        SupportOnly,
        (status = 404, description = "`unknown_job`", body = ErrorBody),
        (status = 409, description = "`job_not_failed`: only a dead job can be re-driven", body = ErrorBody),
    ),
)]
pub async fn redrive(ById { state, caller, id }: ById) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let db = &state.ctx.db;
    let txn = db.begin().await?;
    let before = jobs::get(&txn, id).await?.ok_or_else(|| {
        ApiError::not_found(ErrorCode::UnknownJob, |l| tr!(l, "error-unknown-job"))
    })?;
    let Some(after) = jobs::redrive(&txn, id).await? else {
        let status = before.status;
        return Err(ApiError::conflict(ErrorCode::JobNotFailed, move |l| {
            tr!(l, "error-job-not-failed", id = id, status = &status)
        }));
    };
    // Its message shows as failed until the job runs again: back to the state before sending.
    if let Ok(job) = jobs::decode(&after) {
        if let Some(mid) = job.message_id() {
            if let Some(m) = messages::get(&txn, mid).await? {
                let resumed = match job {
                    Job::B24SendMessage { .. } => Some(messages::RECEIVED),
                    Job::WaSendText { .. }
                    | Job::WaSendMedia { .. }
                    | Job::WaSendTemplate { .. } => Some(messages::QUEUED),
                    _ => None,
                };
                if let (Some(status), true) = (resumed, m.status == messages::FAILED) {
                    messages::resume(&txn, mid, status).await?;
                }
                hops::record(
                    &txn,
                    vec![Hop::now(mid, hops::REDRIVEN)
                        .with(format!("job {id} by {}", caller.actor()))],
                )
                .await?;
            }
        }
    }
    let owner = Owner::parse(&after.owner);
    let answer =
        audit::commit_update::<JobView, _>(txn, &caller, "redrive", [&before, &after]).await?;
    if let Some(owner) = owner {
        state.registry.do_send(KickOwner(owner));
    }
    Ok(answer)
}
