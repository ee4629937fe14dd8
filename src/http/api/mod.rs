//! `/api/v1`: the admin JSON API. Every route but `auth/login`, `auth/refresh` and
//! `openapi.json` needs `Authorization: Bearer <access token>` (from login; `b24wa token` for
//! development). Each route is documented in `openapi.rs` (tests/openapi.rs checks it).

pub mod auth;
pub mod billing;
pub mod cluster;
#[cfg(feature = "faults")]
pub mod debug;
pub mod jobs;
pub mod messages;
pub mod numbers;
pub mod openapi;
pub mod page;
pub mod usage;
pub mod users;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fault hooks exist only in test builds (the `faults` feature; README, "Tests").
    #[cfg(feature = "faults")]
    cfg.route("/debug/faults", web::post().to(debug::inject));
    cfg.route("/openapi.json", web::get().to(openapi::document))
        .route("/portals", web::get().to(numbers::list_portals))
        .route("/numbers", web::get().to(numbers::list))
        .route("/numbers", web::post().to(numbers::connect))
        .route("/numbers/gateway", web::post().to(numbers::connect_gateway))
        .route("/numbers/{id}/qr", web::get().to(numbers::qr))
        .route(
            "/numbers/{id}/disconnect",
            web::post().to(numbers::disconnect),
        )
        .route(
            "/numbers/{id}/chats/{wa_id}/messages",
            web::get().to(numbers::chat_messages),
        )
        .route("/auth/login", web::post().to(users::login))
        .route("/auth/refresh", web::post().to(users::refresh))
        .route("/auth/me", web::get().to(users::me))
        .route("/tenants", web::get().to(users::list_tenants))
        .route("/tenants", web::post().to(users::create_tenant))
        // Before `/tenants/{id}`, which would take `health` for an id.
        .route("/tenants/health", web::get().to(billing::tenants_health))
        .route("/plans", web::get().to(billing::plans))
        .route("/tenants/{id}", web::get().to(users::get_tenant))
        .route("/tenants/{id}", web::patch().to(users::update_tenant))
        .route(
            "/tenants/{id}/users",
            web::get().to(users::list_tenant_users),
        )
        .route(
            "/tenants/{id}/users",
            web::post().to(users::create_tenant_user),
        )
        .route("/users/{id}", web::patch().to(users::update_user))
        .route("/audit", web::get().to(users::audit_log))
        .route("/chats", web::get().to(messages::list_chats))
        .route("/messages", web::get().to(messages::search_messages))
        .route("/messages/{id}", web::get().to(messages::trace))
        .route("/jobs", web::get().to(jobs::list))
        .route("/jobs/{id}/redrive", web::post().to(jobs::redrive))
        .route("/tenants/{id}/usage", web::get().to(usage::tenant_usage))
        .route("/usage", web::get().to(usage::all_usage))
        .route("/cluster", web::get().to(cluster::state));
}
