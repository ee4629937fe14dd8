//! The admin API's OpenAPI 3.1 document, served at `GET /api/v1/openapi.json` (no token).
//!
//! Documenting a route: put `#[utoipa::path(...)]` on its handler (method, the full path under
//! `/api/v1`, params, request body, every response with `body = ErrorBody` for the errors and
//! their codes in the description, and `security(("bearer" = []))`, or `security(())` for a
//! public route), derive `ToSchema` on the types it reads and answers, and list the handler in
//! `paths(...)` below. 401 (for bearer routes) and 500 are added to every operation by
//! `CommonErrors`. tests/openapi.rs fails while a route in `api::routes` is not documented.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::{
    openapi::{
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        ContentBuilder, Ref, ResponseBuilder,
    },
    Modify, OpenApi,
};

use super::{
    audit, billing, cluster, gateway_numbers, jobs, messages, number_chats, numbers, portals,
    sessions, tenants, usage, users,
};
use crate::http::{error::ErrorBody, ApiError, ErrorCode};

/// The name operations use for the bearer scheme: `security(("bearer" = []))`.
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
        sessions::login,
        sessions::refresh,
        sessions::me,
        tenants::list_tenants,
        tenants::create_tenant,
        tenants::get_tenant,
        tenants::update_tenant,
        users::list_tenant_users,
        users::create_tenant_user,
        users::update_user,
        audit::audit_log,
        portals::list_portals,
        numbers::list,
        numbers::connect,
        gateway_numbers::connect_gateway,
        gateway_numbers::qr,
        numbers::disconnect,
        number_chats::chat_messages,
        messages::list_chats,
        messages::search_messages,
        messages::trace,
        jobs::list,
        jobs::redrive,
        usage::tenant_usage,
        usage::all_usage,
        billing::plans,
        billing::tenants_health,
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
        (name = "messages", description = "Chats and messages: search by any id, phone or text; a message's trace"),
        (name = "jobs", description = "The outbox: jobs by state; support re-drives failed ones"),
        (name = "usage", description = "Usage per tenant and period; plans and their quotas"),
        (name = "cluster", description = "Nodes and actor leases (cluster mode)"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The bearer scheme the protected operations name.
struct Bearer;

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
    }
}

/// The answers every operation can give, so that handlers list only their own: 401 where a
/// token is needed, 500 everywhere.
struct CommonErrors;

fn error_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
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
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
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
