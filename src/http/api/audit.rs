//! The audit log of admin changes: reading it, and recording a change made through the API.

use actix_web::HttpResponse;
use entity::audit_log;
use sea_orm::DatabaseTransaction;
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

/// A view of a target of admin changes: the audit log names it `<KIND>:<id>` and its changes
/// `<KIND>.<verb>` (e.g. `tenant:3`, `tenant.update`).
pub(super) trait Audited: Serialize {
    const KIND: &'static str;
    fn id(&self) -> i64;
}

/// The views audited changes are made to, each with its `KIND` (named by its `id` field).
macro_rules! audited {
    ($($view:ty => $kind:literal),* $(,)?) => {
        $(impl Audited for $view {
            const KIND: &'static str = $kind;
            fn id(&self) -> i64 {
                self.id
            }
        })*
    };
}

audited! {
    super::jobs::JobView => "job",
    super::portals::PortalView => "portal",
    super::retention::RetentionView => "retention",
    super::tenants::TenantView => "tenant",
    super::users::UserView => "user",
}

/// Records a change `caller` made (`verb`: `create`, `update`, ...) in the change's transaction
/// `txn`, with the target's state before, if it existed, and now (views, never secrets), and
/// commits it.
pub(super) async fn commit_change<T: Audited>(
    txn: DatabaseTransaction,
    caller: &Caller,
    verb: &str,
    before: Option<&T>,
    after: &T,
) -> Result<(), ApiError> {
    let json = |v: &T| serde_json::to_value(v).unwrap_or(Value::Null);
    audit::record(
        &txn,
        caller.actor(),
        &format!("{}.{verb}", T::KIND),
        &format!("{}:{}", T::KIND, after.id()),
        before.map(json).as_ref(),
        Some(&json(after)),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Records an update `caller` made to an existing target, its rows `[before, after]` each shown
/// as a `T` (as [`commit_change`]), commits it, and answers `200` with the target's state after
/// the update.
pub(super) async fn commit_update<T, M>(
    txn: DatabaseTransaction,
    caller: &Caller,
    verb: &str,
    rows: [&M; 2],
) -> Result<HttpResponse, ApiError>
where
    T: Audited + for<'a> From<&'a M>,
{
    let [before, after] = rows.map(T::from);
    commit_change(txn, caller, verb, Some(&before), &after).await?;
    Ok(HttpResponse::Ok().json(after))
}

/// [`commit_update`] of the rows a store update found: `found` is `None` when there was no such
/// target, answered `missing()` (nothing committed).
pub(super) async fn commit_found<T, M>(
    txn: DatabaseTransaction,
    caller: &Caller,
    verb: &str,
    found: Option<(M, M)>,
    missing: impl FnOnce() -> ApiError,
) -> Result<HttpResponse, ApiError>
where
    T: Audited + for<'a> From<&'a M>,
{
    let (before, after) = found.ok_or_else(missing)?;
    commit_update::<T, M>(txn, caller, verb, [&before, &after]).await
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
