//! `/api/v1`: the admin JSON API. Every route but `auth/login`, `auth/refresh` and
//! `openapi.json` needs `Authorization: Bearer <access token>` (from login; `b24wa token` for
//! development). Each route is documented in `openapi.rs` (tests/openapi.rs checks it).

pub mod audit;
pub mod auth;
pub mod billing;
pub mod cluster;
#[cfg(feature = "faults")]
pub mod debug;
pub mod evolution_numbers;
pub mod extract;
pub mod gateway_numbers;
pub mod jobs;
pub mod messages;
pub mod number_chats;
pub mod numbers;
pub mod openapi;
pub mod page;
pub mod portal_language;
pub mod portals;
pub mod scope;
pub mod sessions;
pub mod templates;
pub mod tenants;
pub mod usage;
pub mod users;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fault hooks exist only in test builds (the `faults` feature; README, "Tests").
    #[cfg(feature = "faults")]
    cfg.route("/debug/faults", web::post().to(debug::inject));
    cfg.route("/openapi.json", web::get().to(openapi::document))
        .route("/portals", web::get().to(portals::list_portals))
        .route(
            "/portals/{id}/language",
            web::put().to(portal_language::set_language),
        )
        .route("/numbers", web::get().to(numbers::list))
        .route("/numbers", web::post().to(numbers::connect))
        .route(
            "/numbers/gateway",
            web::post().to(gateway_numbers::connect_gateway),
        )
        .route("/numbers/{id}/qr", web::get().to(gateway_numbers::qr))
        .route(
            "/numbers/{id}/disconnect",
            web::post().to(numbers::disconnect),
        )
        .route("/numbers/{id}/templates", web::get().to(templates::list))
        .route(
            "/numbers/{id}/templates/sync",
            web::post().to(templates::sync),
        )
        .route(
            "/numbers/{id}/templates/default",
            web::put().to(templates::set_default),
        )
        .route(
            "/numbers/{id}/chats/{wa_id}/messages",
            web::get().to(number_chats::chat_messages),
        )
        .route("/auth/login", web::post().to(sessions::login))
        .route("/auth/refresh", web::post().to(sessions::refresh))
        .route("/auth/me", web::get().to(sessions::me))
        .route("/tenants", web::get().to(tenants::list_tenants))
        .route("/tenants", web::post().to(tenants::create_tenant))
        // Before `/tenants/{id}`, which would take `health` for an id.
        .route("/tenants/health", web::get().to(billing::tenants_health))
        .route("/plans", web::get().to(usage::plans))
        .route("/tenants/{id}", web::get().to(tenants::get_tenant))
        .route("/tenants/{id}", web::patch().to(tenants::update_tenant))
        .route(
            "/tenants/{id}/users",
            web::get().to(users::list_tenant_users),
        )
        .route(
            "/tenants/{id}/users",
            web::post().to(users::create_tenant_user),
        )
        .route("/users/{id}", web::patch().to(users::update_user))
        .route("/audit", web::get().to(audit::audit_log))
        .route("/chats", web::get().to(messages::list_chats))
        .route("/messages", web::get().to(messages::search_messages))
        .route("/messages/{id}", web::get().to(messages::trace))
        .route("/jobs", web::get().to(jobs::list))
        .route("/jobs/{id}/redrive", web::post().to(jobs::redrive))
        .route("/tenants/{id}/usage", web::get().to(usage::tenant_usage))
        .route("/usage", web::get().to(usage::all_usage))
        .route("/cluster", web::get().to(cluster::state));
}
