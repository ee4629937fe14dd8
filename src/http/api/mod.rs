//! `/api/v1`: the admin JSON API. Every route needs `Authorization: Bearer <JWT>` (HS256, see
//! `b24wa token`).

pub mod auth;
pub mod debug;
pub mod numbers;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/portals", web::get().to(numbers::list_portals))
        .route("/numbers", web::get().to(numbers::list))
        .route("/numbers", web::post().to(numbers::connect))
        .route("/numbers/gateway", web::post().to(numbers::connect_gateway))
        .route("/numbers/{id}/qr", web::get().to(numbers::qr))
        .route(
            "/numbers/{id}/chats/{wa_id}/messages",
            web::get().to(numbers::chat_messages),
        )
        .route("/debug/faults", web::post().to(debug::inject));
}
