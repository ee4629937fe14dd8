//! A tenant's health at a glance, for support: numbers whose session cannot relay, failing and
//! queued jobs, portals with token trouble or uninstalled, and when a message last moved.

use entity::{chats, jobs, messages, numbers, portals, tenants};
use sea_orm::{
    sea_query::{Expr, Query},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    jobs::{number_owner, portal_owner, DEAD, DONE, PENDING},
    numbers::{SESSION_TOKEN_INVALID, TRANSPORT_GATEWAY},
    quotas::events_in,
};

/// The gateway's state of a linked phone.
const AUTHORIZED: &str = "authorized";

/// A tenant's health and this month's use of its plan.
#[derive(Debug, Default, Clone, Serialize, PartialEq, ToSchema)]
// The admin API shows it as it is, under the name it has always had there.
#[schema(as = TenantHealthView)]
pub struct Health {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub plan: String,
    /// `error` (numbers not authorized, dead jobs or token errors), `warning` (queued jobs,
    /// an uninstalled portal) or `ok`.
    pub status: String,
    /// Connected numbers.
    pub numbers: i64,
    /// Connected numbers that cannot relay: gateway phone not linked, Cloud token invalid.
    pub numbers_not_authorized: i64,
    /// Jobs failed for good, waiting for a re-drive.
    pub dead_jobs: i64,
    /// Jobs queued or retrying (queue depth).
    pub pending_jobs: i64,
    /// Portals whose jobs fail on the access token.
    pub portals_token_errors: i64,
    /// Portals that uninstalled the app (not those whose data was purged since: they are gone).
    pub portals_uninstalled: i64,
    /// The newest message either way (unix ms).
    pub last_message_at: Option<i64>,
    /// Quotas the tenant went over this month (`messages`, `transcription_minutes`).
    pub over_quota: Vec<String>,
}

impl Health {
    /// `error` (something is not flowing), `warning` (a backlog or an uninstalled portal) or `ok`.
    fn verdict(&self) -> &'static str {
        if self.numbers_not_authorized > 0 || self.dead_jobs > 0 || self.portals_token_errors > 0 {
            "error"
        } else if self.pending_jobs > 0 || self.portals_uninstalled > 0 {
            "warning"
        } else {
            "ok"
        }
    }
}

/// Whether a connected number's session lets messages through.
fn not_authorized(n: &numbers::Model) -> bool {
    if n.transport == TRANSPORT_GATEWAY {
        n.session_state != AUTHORIZED
    } else {
        n.session_state == SESSION_TOKEN_INVALID
    }
}

/// `tenant`'s health, with the quotas it went over in `month` (`YYYY-MM`).
pub async fn of_tenant<C: ConnectionTrait>(
    c: &C,
    tenant: &tenants::Model,
    month: &str,
) -> Result<Health, DbErr> {
    let mut h = Health {
        tenant_id: tenant.id,
        tenant_name: tenant.name.clone(),
        plan: tenant.plan.clone(),
        ..Health::default()
    };
    count(c, tenant.id, &mut h).await?;
    h.status = h.verdict().to_string();
    h.over_quota = events_in(c, tenant.id, month)
        .await?
        .into_iter()
        .map(|e| e.quota)
        .collect();
    Ok(h)
}

/// The counters of `h`: numbers, jobs, portals and the last message of tenant `tenant_id`.
async fn count<C: ConnectionTrait>(c: &C, tenant_id: i64, h: &mut Health) -> Result<(), DbErr> {
    let portal_rows = portals::Entity::find()
        .filter(portals::Column::TenantId.eq(tenant_id))
        .all(c)
        .await?;
    h.portals_uninstalled = portal_rows
        .iter()
        .filter(|p| !p.installed && p.purged_at.is_none())
        .count() as i64;
    if portal_rows.is_empty() {
        return Ok(());
    }
    let portal_ids: Vec<i64> = portal_rows.iter().map(|p| p.id).collect();
    let number_rows = numbers::Entity::find()
        .filter(numbers::Column::PortalId.is_in(portal_ids.clone()))
        .all(c)
        .await?;
    let connected: Vec<&numbers::Model> = number_rows.iter().filter(|n| n.active).collect();
    h.numbers = connected.len() as i64;
    h.numbers_not_authorized = connected.iter().filter(|n| not_authorized(n)).count() as i64;
    let owners: Vec<String> = portal_ids
        .iter()
        .map(|id| portal_owner(*id))
        .chain(number_rows.iter().map(|n| number_owner(n.id)))
        .collect();
    let by_status: Vec<(String, i64)> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Status)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(jobs::Column::Owner.is_in(owners))
        .filter(jobs::Column::Status.ne(DONE))
        .group_by(jobs::Column::Status)
        .into_tuple()
        .all(c)
        .await?;
    for (status, n) in by_status {
        match status.as_str() {
            DEAD => h.dead_jobs += n,
            PENDING => h.pending_jobs += n,
            _ => {}
        }
    }
    let token_owners: Vec<String> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Owner)
        .distinct()
        .filter(jobs::Column::Owner.is_in(portal_ids.iter().map(|id| portal_owner(*id))))
        .filter(jobs::Column::Status.ne(DONE))
        .filter(
            jobs::Column::LastError
                .contains("token")
                .or(jobs::Column::LastError.contains("OAuth")),
        )
        .into_tuple()
        .all(c)
        .await?;
    h.portals_token_errors = token_owners.len() as i64;
    if !number_rows.is_empty() {
        h.last_message_at = messages::Entity::find()
            .select_only()
            .column_as(Expr::cust("MAX(created_at)"), "at")
            .filter(
                messages::Column::ChatId.in_subquery(
                    Query::select()
                        .column(chats::Column::Id)
                        .from(chats::Entity)
                        .and_where(chats::Column::NumberId.is_in(number_rows.iter().map(|n| n.id)))
                        .to_owned(),
                ),
            )
            .into_tuple::<Option<i64>>()
            .one(c)
            .await?
            .flatten();
    }
    Ok(())
}
