//! The audit log of admin changes: reading it, and recording a change made through the API.

use actix_web::HttpResponse;
use entity::audit_log;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::ListRequest;
use super::{
    auth::Caller,
    openapi::{BadPaging, SupportOnly},
    page::{Page, PageParams, Paging},
};
use crate::{http::ApiError, store::audit};

/// Records a change `caller` made, in the change's own transaction `c`: the action, its target
/// and the target's state before and after (views, never secrets).
pub(super) async fn record_change<C: ConnectionTrait, T: Serialize>(
    c: &C,
    caller: &Caller,
    action: &str,
    target: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    let json = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
    audit::record(
        c,
        caller.actor(),
        action,
        target,
        before.map(json).as_ref(),
        after.map(json).as_ref(),
    )
    .await?;
    Ok(())
}

/// Records a change `caller` made (as [`record_change`], `after` being the target's state now) in
/// the change's transaction `txn`, and commits it.
pub(super) async fn commit_change<T: Serialize>(
    txn: DatabaseTransaction,
    caller: &Caller,
    action: &str,
    target: &str,
    before: Option<&T>,
    after: &T,
) -> Result<(), ApiError> {
    record_change(&txn, caller, action, target, before, Some(after)).await?;
    txn.commit().await?;
    Ok(())
}

/// Records an update `caller` made to an existing target (as [`commit_change`]), commits it, and
/// answers `200` with the target's state after the update.
pub(super) async fn commit_update<T: Serialize>(
    txn: DatabaseTransaction,
    caller: &Caller,
    action: &str,
    target: &str,
    before: T,
    after: T,
) -> Result<HttpResponse, ApiError> {
    commit_change(txn, caller, action, target, Some(&before), &after).await?;
    Ok(HttpResponse::Ok().json(after))
}

/// One audit record.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    /// The user's email, or the token's subject.
    pub actor: String,
    /// E.g. `tenant.create`, `tenant.update`, `user.create`, `user.update`.
    pub action: String,
    /// E.g. `tenant:3`, `user:7`.
    pub target: String,
    /// The target's state before (JSON), if it existed.
    pub before: Option<Value>,
    /// The target's state after (JSON), if it still exists.
    pub after: Option<Value>,
    /// Unix milliseconds.
    pub at: i64,
}

impl From<&audit_log::Model> for AuditView {
    fn from(r: &audit_log::Model) -> Self {
        let parse = |s: &Option<String>| {
            s.as_deref()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())))
        };
        Self {
            id: r.id,
            actor: r.actor.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            before: parse(&r.before),
            after: parse(&r.after),
            at: r.at,
        }
    }
}

/// The filters of `GET /api/v1/audit` (with `page`, `per_page`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only records by this actor (exactly).
    pub actor: Option<String>,
    /// Only records of this action (exactly), e.g. `tenant.update`.
    pub action: Option<String>,
}

/// The audit log
///
/// Support: admin changes, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(PageParams, AuditQuery),
    responses(
        (status = 200, description = "One page of records", body = Page<AuditView>),
        BadPaging,
        SupportOnly,
    ),
)]
pub async fn audit_log(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require_support()?;
    let paging = Paging::of(&q)?;
    let filter = audit::Filter {
        actor: q.get("actor").filter(|s| !s.is_empty()).cloned(),
        action: q.get("action").filter(|s| !s.is_empty()).cloned(),
    };
    paging.rows::<AuditView, _>(&state.ctx.db, &filter).await
}
