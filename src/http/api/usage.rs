//! Usage per tenant and period (for the tenant, support and an external billing system), and
//! the plans with their quotas (anyone signed in reads them).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::billing::PlanUseView;
use super::extract::ListRequest;
use super::openapi::{BadFilter, StaffOnly, TenantId, TenantNotFound};
use super::page::{invalid_field, Page, PageParams, Paging};
use super::tenants::ReadableTenant;
use crate::{
    http::{error::ErrorBody, ApiError, AppState},
    store::{
        self, search, tenants,
        usage::{self, DAY_MS},
    },
    tr,
};

/// One plan and its quotas (`null`: unlimited).
#[derive(Serialize, ToSchema)]
pub struct PlanView {
    pub name: String,
    /// Numbers connected at once.
    pub numbers: Option<u64>,
    /// Messages relayed per calendar month (UTC), both ways.
    pub messages_per_month: Option<u64>,
    /// Minutes of voice notes transcribed per calendar month (UTC).
    pub transcription_minutes: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct PlansView {
    pub items: Vec<PlanView>,
    /// What happens to a tenant whose plan is not listed.
    pub unknown_plan: String,
}

/// List plans
///
/// The plans and their quotas, as configured. Over a quota nothing is dropped: a further
/// number is refused, messages still flow (operators and the tenant are told), voice notes
/// arrive without a transcript.
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    responses((status = 200, description = "Every plan", body = PlansView)),
)]
pub async fn plans(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let items = state
        .ctx
        .billing
        .plans()
        .iter()
        .map(|(name, p)| PlanView {
            name: name.clone(),
            numbers: p.numbers,
            messages_per_month: p.messages_per_month,
            transcription_minutes: p.transcription_minutes,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PlansView {
        items,
        unknown_plan: "A tenant on a plan not listed here has no limits.".into(),
    }))
}

/// The longest period one report covers.
const MAX_DAYS: i64 = 366;

/// `?from=&to=`: dates.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (`YYYY-MM-DD`, UTC); default: the first day of this month.
    pub from: Option<String>,
    /// Last day, inclusive; default: the last day of `from`'s month.
    pub to: Option<String>,
}

/// `[from, to)` in unix ms from `?from=&to=` (whole UTC days, `to` inclusive).
fn period(q: &HashMap<String, String>) -> Result<(NaiveDate, NaiveDate, i64, i64), ApiError> {
    let date = |name: &str| -> Result<Option<NaiveDate>, ApiError> {
        super::page::param(q, name)
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                    let name = name.to_string();
                    invalid_field(move |l| tr!(l, "error-field-not-a-day", name = &name))
                })
            })
            .transpose()
    };
    let today = Utc::now().date_naive();
    let from = date("from")?.unwrap_or_else(|| today.with_day(1).unwrap_or(today));
    let to = match date("to")? {
        Some(d) => d,
        None => {
            // The month's last day: the day before the next month's first.
            let (y, m) = if from.month() == 12 {
                (from.year() + 1, 1)
            } else {
                (from.year(), from.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.pred_opt())
                .unwrap_or(from)
        }
    };
    if to < from {
        return Err(invalid_field(|l| tr!(l, "error-period-reversed")));
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(invalid_field(|l| {
            tr!(l, "error-period-too-long", days = MAX_DAYS)
        }));
    }
    let ms = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0)
    };
    Ok((from, to, ms(from), ms(to) + DAY_MS))
}

#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    /// Customer messages relayed to Open Lines.
    pub inbound: i64,
    /// Operator messages relayed to WhatsApp.
    pub outbound: i64,
    /// Files relayed, either way: customers' files delivered to Open Lines and operators'
    /// attachments sent to WhatsApp.
    pub media: i64,
    /// Voice notes transcribed (a note too long, silent or not transcribable is not counted).
    pub transcribed: i64,
    /// Seconds of the voice notes transcribed.
    pub transcribed_seconds: f64,
}

impl From<&usage::Figures> for FiguresView {
    fn from(f: &usage::Figures) -> Self {
        Self {
            inbound: f.inbound,
            outbound: f.outbound,
            media: f.media,
            transcribed: f.transcribed,
            transcribed_seconds: f.transcribed_seconds,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DayView {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

#[derive(Serialize, ToSchema)]
pub struct UsageView {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub plan: String,
    pub from: String,
    pub to: String,
    pub totals: FiguresView,
    /// Numbers that relayed a message in the period.
    pub active_numbers: i64,
    /// Numbers connected now.
    pub connected_numbers: i64,
    /// Every day of the period, zeros included.
    pub days: Vec<DayView>,
    /// The plan's quotas against this month (whatever the period).
    pub plan_use: PlanUseView,
}

async fn report(
    state: &AppState,
    tenant: &entity::tenants::Model,
    q: &HashMap<String, String>,
    with_days: bool,
) -> Result<UsageView, ApiError> {
    let (from, to, from_ms, to_ms) = period(q)?;
    let numbers = search::tenant_numbers(&state.ctx.db, tenant.id).await?;
    let r = usage::report(&state.ctx.db, tenant.id, &numbers, from_ms, to_ms).await?;
    let plan_use = super::billing::plan_use(state, tenant).await?;
    Ok(UsageView {
        plan_use,
        tenant_id: tenant.id,
        tenant_name: tenant.name.clone(),
        plan: tenant.plan.clone(),
        from: from.to_string(),
        to: to.to_string(),
        totals: FiguresView::from(&r.totals),
        active_numbers: r.active_numbers,
        connected_numbers: r.connected_numbers,
        days: if with_days {
            r.days
                .iter()
                .map(|d| DayView {
                    date: d.date.clone(),
                    figures: FiguresView::from(&d.figures),
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/usage",
    params(TenantId, PeriodQuery),
    responses(
        (status = 200, description = "Totals and a figure per day", body = UsageView),
        (status = 400, description = "`invalid_field`: a bad date or a period over 366 days", body = ErrorBody),
        TenantNotFound,
    ),
)]
pub async fn tenant_usage(
    ReadableTenant { state, tenant }: ReadableTenant,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(report(&state, &tenant, &q, true).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/usage",
    params(PageParams, PeriodQuery),
    responses(
        (status = 200, description = "Each tenant's totals for the period (no daily figures)", body = Page<UsageView>),
        BadFilter,
        StaffOnly,
    ),
)]
pub async fn all_usage(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require_global(|l| tr!(l, "error-usage-own-tenant"))?;
    let paging = Paging::of(&q)?;
    period(&q)?;
    let (rows, total) =
        store::page(&state.ctx.db, &tenants::All, paging.page, paging.per_page).await?;
    let mut items = Vec::with_capacity(rows.len());
    for t in &rows {
        items.push(report(&state, t, &q, false).await?);
    }
    Ok(paging.answer(items, total))
}
