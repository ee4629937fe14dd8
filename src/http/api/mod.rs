//! `/api/v1`: the admin JSON API. Every route but `auth/login`, `auth/refresh` and
//! `openapi.json` needs `Authorization: Bearer <access token>` (from login; `b24wa token` for
//! development). Each route is documented in `openapi.rs` (tests/openapi.rs checks it).

pub mod audit;
pub mod auth;
pub mod billing;
pub mod cluster;
pub mod customers;
#[cfg(feature = "faults")]
pub mod debug;
pub mod evolution_numbers;
pub mod extract;
pub mod gateway_numbers;
pub mod jobs;
pub mod messages;
pub mod not_found;
pub mod number_chats;
pub mod numbers;
pub mod openapi;
pub mod page;
pub mod portal_language;
pub mod portals;
pub mod retention;
pub mod scope;
pub mod sessions;
pub mod templates;
pub mod tenants;
pub mod usage;
pub mod users;

use actix_web::web;

use super::route_table;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Fault hooks exist only in test builds (the `faults` feature; README, "Tests").
    #[cfg(feature = "faults")]
    cfg.route("/debug/faults", web::post().to(debug::inject));
    route_table!(cfg;
        get "/openapi.json" => openapi::document,
        get "/portals" => portals::list_portals,
        put "/portals/{id}/language" => portal_language::set_language,
        get "/numbers" => numbers::list,
        post "/numbers" => numbers::connect,
        post "/numbers/gateway" => gateway_numbers::connect_gateway,
        get "/numbers/{id}/qr" => gateway_numbers::qr,
        post "/numbers/{id}/disconnect" => numbers::disconnect,
        get "/numbers/{id}/templates" => templates::list,
        post "/numbers/{id}/templates/sync" => templates::sync,
        put "/numbers/{id}/templates/default" => templates::set_default,
        get "/numbers/{id}/chats/{wa_id}/messages" => number_chats::chat_messages,
        post "/auth/login" => sessions::login,
        post "/auth/refresh" => sessions::refresh,
        get "/auth/me" => sessions::me,
        get "/tenants" => tenants::list_tenants,
        post "/tenants" => tenants::create_tenant,
        // Before `/tenants/{id}`, which would take `health` for an id.
        get "/tenants/health" => billing::tenants_health,
        get "/plans" => usage::plans,
        get "/tenants/{id}" => tenants::get_tenant,
        patch "/tenants/{id}" => tenants::update_tenant,
        get "/tenants/{id}/users" => users::list_tenant_users,
        post "/tenants/{id}/users" => users::create_tenant_user,
        patch "/users/{id}" => users::update_user,
        get "/audit" => audit::audit_log,
        get "/chats" => messages::list_chats,
        get "/messages" => messages::search_messages,
        get "/messages/{id}" => messages::trace,
        get "/jobs" => jobs::list,
        post "/jobs/{id}/redrive" => jobs::redrive,
        get "/tenants/{id}/usage" => usage::tenant_usage,
        get "/tenants/{id}/retention" => retention::get_retention,
        put "/tenants/{id}/retention" => retention::set_retention,
        post "/tenants/{id}/customers/erase" => customers::erase_customer,
        get "/tenants/{id}/customers/export" => customers::export_conversation,
        get "/usage" => usage::all_usage,
        get "/cluster" => cluster::state,
    );
}
