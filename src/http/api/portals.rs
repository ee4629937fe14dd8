//! Installed Bitrix24 portals: the list, and finding the portal a number is connected on.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::ListRequest;
use super::not_found;
use super::page::invalid_field;
use super::{
    auth::Caller,
    openapi::BadFilter,
    page::{self, Page, PageParams, Paging, MAX_SEARCH},
    scope::{sees, tenant_of, visible_rows},
};
use crate::{
    http::{ApiError, AppState},
    store::portals,
    tr,
};

#[derive(Serialize, ToSchema)]
pub struct PortalView {
    pub id: i64,
    pub member_id: String,
    pub domain: String,
    /// `false` once the app was uninstalled (its numbers are suspended).
    pub installed: bool,
    /// The language its operators read in Bitrix24 (`ru`, `en`): `language_override` when set,
    /// else the portal's own Bitrix24 language (Kazakh, Belarusian, Uzbek read `ru`, any other
    /// `en`), else `en`.
    #[schema(example = "ru")]
    pub language: String,
    /// The portal's Bitrix24 interface language id as last seen (`ru`, `ua`, `kz`, `en`, `de`, …;
    /// from the install, `app.info` and an admin's settings page); `null`: not seen yet.
    #[schema(example = "ru")]
    pub language_from_bitrix24: Option<String>,
    /// The language set here (`PUT /api/v1/portals/{id}/language`), over the portal's own;
    /// `null`: follow Bitrix24.
    pub language_override: Option<String>,
    /// When the app was uninstalled (epoch ms); `null` while installed.
    pub uninstalled_at: Option<i64>,
    /// The uninstall asked for the app's data to be deleted (`CLEAN=1`): it is purged after
    /// this (epoch ms) unless the app is installed again first.
    pub purge_after: Option<i64>,
    /// When that purge was done (the portal's messages, chats, files and numbers are gone).
    pub purged_at: Option<i64>,
    /// The tenant that owns the portal (`null` only for portals older than tenants).
    pub tenant_id: Option<i64>,
}

impl From<&entity::portals::Model> for PortalView {
    fn from(p: &entity::portals::Model) -> Self {
        Self {
            id: p.id,
            member_id: p.member_id.clone(),
            domain: p.domain.clone(),
            installed: p.installed,
            language: portals::language(p).code().to_string(),
            language_from_bitrix24: p.language_b24.clone(),
            language_override: p.language_override.clone(),
            uninstalled_at: p.uninstalled_at,
            purge_after: p.purge_after,
            purged_at: p.purged_at,
            tenant_id: p.tenant_id,
        }
    }
}

/// The filters of `GET /api/v1/portals` (with `page`, `per_page`), for the document.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortalQuery {
    /// Part of the domain (any case).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only portals with the app installed (`true`) or uninstalled (`false`).
    pub installed: Option<bool>,
}

/// List portals
///
/// The Bitrix24 portals the caller sees (a tenant admin: its own tenant's), by id.
#[utoipa::path(
    get,
    path = "/api/v1/portals",
    params(PageParams, PortalQuery),
    responses(
        (status = 200, description = "One page of portals", body = Page<PortalView>),
        BadFilter,
    ),
)]
pub async fn list_portals(
    ListRequest { state, caller, q }: ListRequest,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::of(&q)?;
    let filter = portals::Filter {
        tenant: None,
        domain: page::search(&q, "q", MAX_SEARCH)?,
        installed: page::flag(&q, "installed")?,
    };
    visible_rows::<PortalView, _>(&state, &caller, paging, filter, |f, t| f.tenant = t).await
}

/// Checks the line id and finds the installed portal it belongs to.
async fn line_of_installed_portal(
    state: &AppState,
    member_id: &str,
    line: &str,
) -> Result<entity::portals::Model, ApiError> {
    if line.is_empty() || !line.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid_field(|l| tr!(l, "error-line-id")));
    }
    portals::find_by_member(&state.ctx.db, member_id)
        .await?
        .filter(|p| p.installed)
        .ok_or_else(not_found::portal)
}

/// The installed portal of `member_id` (not empty) if the caller may change it (another
/// tenant's is `404 unknown_portal`, billing gets `403`).
pub(super) async fn visible_portal(
    state: &AppState,
    caller: &Caller,
    member_id: &str,
    line: &str,
) -> Result<entity::portals::Model, ApiError> {
    super::numbers::non_empty("member_id", member_id)?;
    let portal = line_of_installed_portal(state, member_id, line).await?;
    if !sees(caller, &portal) {
        return Err(not_found::portal());
    }
    caller.require_write(tenant_of(&portal))?;
    Ok(portal)
}
