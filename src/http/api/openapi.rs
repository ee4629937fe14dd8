//! The admin API's OpenAPI 3.1 document, served at `GET /api/v1/openapi.json` (no token).
//!
//! Documenting a route: put `#[utoipa::path(...)]` on its handler (method, the full path under
//! `/api/v1`, params (`TenantId`, `NumberId` for those `{id}`s), request body, every response
//! with `body = ErrorBody` for the errors and their codes in the description (or one of the
//! shared error answers below), and `security(())` for a public route), derive `ToSchema` on the
//! types it reads and answers, and list the handler in `paths(...)` below by the module of its
//! tag (`paths(tenants::get_tenant)` tags it `tenants`; the tag modules below gather the handlers
//! of a tag from several files). `Bearer` puts the bearer scheme on every operation that names no security; 401 (for
//! bearer routes) and 500 are added to every operation by `CommonErrors`. tests/openapi.rs fails
//! while a route in `api::routes` is not documented.

use std::{collections::BTreeMap, sync::LazyLock};

use actix_web::HttpResponse;
use utoipa::{
    openapi::{
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        ContentBuilder, Ref, RefOr, Response, ResponseBuilder,
    },
    IntoParams, IntoResponses, Modify, OpenApi,
};

use super::{audit, cluster, customers, jobs, messages, templates, usage};
use crate::http::{error::ErrorBody, ApiError, ErrorCode};

/// The name of the bearer scheme, which every operation but the public ones requires.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "b24wa admin API",
        description = "Admin API of the Bitrix24 ↔ WhatsApp connector. Every route but \
            `auth/login`, `auth/refresh` and this document needs `Authorization: Bearer <access \
            token>`. Lists take `?page=&per_page=` (1-based; 50 by default, at most 200) and \
            answer `{items, page, per_page, total}`. Errors answer `{\"error\": {\"code\", \
            \"message\"}}` with a stable `code`; each response lists the codes it can carry."
    ),
    paths(
        document,
        auth::login,
        auth::refresh,
        auth::me,
        tenants::list_tenants,
        tenants::create_tenant,
        tenants::get_tenant,
        tenants::update_tenant,
        tenants::list_tenant_users,
        tenants::create_tenant_user,
        tenants::update_user,
        audit::audit_log,
        portals::list_portals,
        portals::set_language,
        numbers::list,
        numbers::connect,
        numbers::connect_gateway,
        numbers::qr,
        numbers::disconnect,
        numbers::chat_messages,
        templates::list,
        templates::sync,
        templates::set_default,
        messages::list_chats,
        messages::search_messages,
        messages::trace,
        jobs::list,
        jobs::redrive,
        usage::tenant_usage,
        tenants::get_retention,
        tenants::set_retention,
        customers::erase_customer,
        customers::export_conversation,
        usage::all_usage,
        usage::plans,
        tenants::tenants_health,
        cluster::state,
    ),
    components(schemas(ErrorBody, ErrorCode)),
    modifiers(&Bearer, &CommonErrors),
    tags(
        (name = "auth", description = "Sessions: log in, refresh, who am I"),
        (name = "tenants", description = "Tenants and their users"),
        (name = "audit", description = "The audit log of admin changes"),
        (name = "portals", description = "Installed Bitrix24 portals"),
        (name = "numbers", description = "WhatsApp numbers on Open Lines, their QR and chats"),
        (name = "templates", description = "A Cloud API number's message templates: sync, list, the default for CRM messages"),
        (name = "messages", description = "Chats and messages: search by any id, phone or text; a message's trace"),
        (name = "jobs", description = "The outbox: jobs by state; support re-drives failed ones"),
        (name = "usage", description = "Usage per tenant and period; plans and their quotas"),
        (name = "cluster", description = "Nodes and actor leases (cluster mode)"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The tags whose routes live in several modules: a route listed in `paths(...)` by one of these
/// is tagged with its name (utoipa tags an operation with the module it is listed by), so that a
/// handler says no `tag` of its own.
mod tenants {
    pub use crate::http::api::{billing::*, retention::*, tenants::*, users::*};
}
mod numbers {
    pub use crate::http::api::{gateway_numbers::*, number_chats::*, numbers::*};
}
mod portals {
    pub use crate::http::api::{portal_language::*, portals::*};
}
mod auth {
    pub use crate::http::api::sessions::*;
}

/// Declares error answers several routes share, each a type to name in `responses(...)`: its
/// statuses with their descriptions, every one answering `ErrorBody`.
macro_rules! shared_errors {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? })*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([$(($status.to_string(), error_response($description))),+])
                }
            }
        )*
    };
}

shared_errors! {
    /// The routes for support staff only.
    SupportOnly { "403" => "`forbidden`: needs the support role" }
    /// The views across tenants (`Caller::require_global`).
    StaffOnly { "403" => "`forbidden`: support and billing only" }
    /// A list without filters.
    BadPaging { "400" => "`invalid_field`: a paging value out of range" }
    /// A list with filters.
    BadFilter { "400" => "`invalid_field`: a paging or filter value out of range" }
    /// A tenant-scoped route: another tenant's is `404` as if it did not exist.
    TenantNotFound { "404" => "`not_found`: no such tenant (or another tenant's)" }
    /// A change to a tenant's data (`Caller::require_write`): billing is refused, another
    /// tenant's is `404` as if it did not exist.
    TenantWriteRefused {
        "403" => "`forbidden`: billing is read-only",
        "404" => "`not_found`: no such tenant (or another tenant's)",
    }
    /// A support-only route on a tenant (support sees every tenant).
    NoSuchTenant { "404" => "`not_found`: no such tenant" }
    /// A change billing may not make.
    BillingReadOnly { "403" => "`forbidden`: billing is read-only" }
    /// A route whose JSON body has nothing to check beyond its shape.
    InvalidJson { "400" => "`invalid_json`" }
    /// Creating or changing a tenant.
    BadTenant { "400" => "`invalid_field` (name, plan), `invalid_json`" }
    /// Connecting a number to a line of a portal.
    ConnectRefused {
        "403" => "`forbidden`: billing is read-only",
        "404" => "`unknown_portal`: no installed portal with this member_id (or another tenant's)",
        "409" => "`quota_exceeded`: the tenant's plan allows no further number",
    }
    /// A number's route: another tenant's is `404` as if it did not exist.
    NumberNotFound { "404" => "`unknown_number`: no such number (or another tenant's)" }
    /// A call to a number's Web gateway.
    GatewayUnavailable { "502" => "`gateway_unavailable`: the gateway did not answer as expected" }
}

/// A tenant's `{id}` in the path: `params(TenantId)`.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct TenantId(
    /// The tenant's id
    pub i64,
);

/// A number's `{id}` in the path: `params(NumberId)`.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct NumberId(
    /// The number's id
    pub i64,
);

/// The bearer scheme, required by every operation that does not say `security(())`.
struct Bearer;

/// Every operation of the document.
fn operations(openapi: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
    })
}

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /api/v1/auth/login` (or `b24wa token`)",
                    ))
                    .build(),
            ),
        );
        for op in operations(openapi) {
            op.security.get_or_insert_with(|| {
                vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]
            });
        }
    }
}

/// The answers every operation can give, so that handlers list only their own: 401 where a
/// token is needed, 500 everywhere.
struct CommonErrors;

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
        for op in operations(openapi) {
            let protected = op.security.as_ref().is_some_and(|s| s.contains(&bearer));
            let responses = &mut op.responses.responses;
            if protected {
                responses.entry("401".into()).or_insert_with(|| {
                    error_response(
                        "`token_missing`, `token_expired`, `token_invalid`: no valid access token",
                    )
                });
            }
            responses
                .entry("500".into())
                .or_insert_with(|| error_response("`internal`: see the service's log"));
        }
    }
}

/// The document, rendered once.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// This document
///
/// The OpenAPI 3.1 document of `/api/v1`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = serde_json::Value)),
    security(())
)]
pub async fn document() -> Result<HttpResponse, ApiError> {
    let doc = DOCUMENT
        .as_ref()
        .map_err(|e| ApiError::Internal(format!("OpenAPI document: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.clone()))
}
