//! `PUT /api/v1/portals/{id}/language`: the language a portal's operators read in Bitrix24
//! (notices, notes, the connector's name), set over the portal's own, or back to following it.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{
    audit,
    extract::ById,
    openapi::BillingReadOnly,
    portals::PortalView,
    scope::{sees, tenant_of},
};
use crate::{
    actors::registry::{KickOwner, Owner},
    http::{error::ErrorBody, ApiError, ErrorCode},
    i18n::Lang,
    store::portals,
    tr,
};

/// A portal's `{id}` in the path.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct PortalId(
    /// The portal's id
    pub i64,
);

/// What `PUT /portals/{id}/language` carries.
#[derive(Deserialize, ToSchema)]
pub struct LanguageChange {
    /// `ru` or `en` (a language the catalogues hold; another is `400 invalid_json`); `null`:
    /// follow the portal's own Bitrix24 language.
    #[schema(value_type = Option<String>, example = "ru")]
    pub language: Option<Lang>,
}

/// Set a portal's language
///
/// The language its operators read in Bitrix24 (notices and notes in Open Lines chats, the
/// connector's name in Contact Center, registered again when it changes), for support and the
/// tenant admin of the portal's tenant; audited. The portal's actors use it from their next text.
#[utoipa::path(
    put,
    path = "/api/v1/portals/{id}/language",
    operation_id = "set_portal_language",
    params(PortalId),
    request_body = LanguageChange,
    responses(
        (status = 200, description = "The portal after the change", body = PortalView),
        (status = 400, description = "`invalid_json`: not `{\"language\": \"ru\" | \"en\" | null}`", body = ErrorBody),
        BillingReadOnly,
        (status = 404, description = "`unknown_portal`: no such portal (or another tenant's)", body = ErrorBody),
    ),
)]
pub async fn set_language(
    ById { state, caller, id }: ById,
    body: web::Json<LanguageChange>,
) -> Result<HttpResponse, ApiError> {
    let not_found =
        || ApiError::not_found(ErrorCode::UnknownPortal, |l| tr!(l, "api-portal-not-found"));
    let txn = state.ctx.db.begin().await?;
    let portal = portals::get(&txn, id)
        .await?
        .filter(|p| sees(&caller, p))
        .ok_or_else(not_found)?;
    caller.require_write(tenant_of(&portal))?;
    let found = portals::set_language_override(&txn, id, body.into_inner().language).await?;
    let answer =
        audit::commit_found::<PortalView, _>(txn, &caller, "language", found, not_found).await?;
    // A new language re-registers the connector (a job in the portal's outbox): run it now.
    state.registry.do_send(KickOwner(Owner::Portal(id)));
    Ok(answer)
}
