//! The HTTP surface: the only place that speaks HTTP to the outside.
//! `webhooks/` (WhatsApp in), `bitrix24/` (portal install and events), `api/` (admin JSON API),
//! `media` (our stored files, fetched by portals and gateways), `admin_web` (the admin app).

pub mod access_log;
pub mod admin_web;
pub mod api;
pub mod backpressure;
pub mod bitrix24;
pub mod codes;
pub mod error;
pub mod health;
pub mod lang;
pub mod limits;
pub mod media;
pub mod observe;
pub mod webhooks;

use std::sync::Arc;

use actix::Addr;
use actix_web::{
    body::MessageBody,
    dev::{HttpServiceFactory, ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::from_fn,
    web, FromRequest, Handler, Responder, Scope,
};

use crate::actors::{registry::Registry, Ctx};

pub use codes::ErrorCode;
pub use error::ApiError;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    pub registry: Addr<Registry>,
    pub jwt: crate::auth::JwtKeys,
    /// Cloud numbers by phone_number_id for the webhook path (short TTL).
    pub numbers: Arc<webhooks::cloud::NumberCache>,
    /// Rate limits of the public endpoints.
    pub limits: Arc<limits::PublicLimits>,
    /// Clients for the calls handlers make themselves (install check, credential checks, QR).
    pub outbound: Arc<Outbound>,
    /// WhatsApp webhooks' inbox rows, group-committed.
    pub inbox_writer: crate::store::inbox_writer::InboxWriter,
}

/// Outbound clients for request handlers, apart from the actors' (`Ctx`). A pooled connection is
/// driven by a task on the runtime that opened it; the HTTP workers' runtimes stop first at
/// shutdown, so an actor call riding a connection a handler opened would fail after the provider
/// had already acted on it, and its retry would be a duplicate.
pub struct Outbound {
    pub b24: crate::bitrix24::B24Client,
    pub graph: crate::whatsapp::cloud::CloudClient,
    pub gateway: crate::whatsapp::gateway::GatewayClient,
    pub evolution: crate::whatsapp::evolution::EvolutionClient,
}

impl Outbound {
    /// The Web gateways' clients, for [`crate::actors::transport::WebGateway`].
    pub fn web(&self) -> crate::actors::transport::WebClients<'_> {
        crate::actors::transport::WebClients {
            green: &self.gateway,
            evolution: &self.evolution,
        }
    }
}

/// Body caps of the public endpoints: provider webhooks and portal events are small (Meta batches
/// stay far below this); anything larger is refused with 413 before it is read further.
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

fn webhook_body() -> web::PayloadConfig {
    web::PayloadConfig::new(WEBHOOK_BODY_LIMIT)
}

/// A scope the providers call (webhooks, portal events): the body cap, the per-IP limit and the
/// webhook metrics.
fn provider_scope(
    path: &str,
) -> Scope<
    impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody + 'static>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
> {
    web::scope(path)
        .app_data(webhook_body())
        .wrap(from_fn(limits::per_ip))
        .wrap(from_fn(observe::webhook))
}

/// A Web gateway's per-number webhook (`POST`): what [`provider_scope`] puts on a scope, on one
/// resource (a scope would also take every other path below it).
fn number_webhook<F, Args>(path: &str, handler: F) -> impl HttpServiceFactory + 'static
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .app_data(webhook_body())
        .wrap(from_fn(limits::per_ip))
        .wrap(from_fn(observe::webhook))
        .route(web::post().to(handler))
}

/// Adds each route of a table to `$base` (a `ServiceConfig`, scope or app): `method "path" =>
/// handler`, in the order given (actix tries them in that order).
macro_rules! route_table {
    ($base:expr; $($method:ident $path:literal => $handler:path,)*) => {
        $base$(.route($path, actix_web::web::$method().to($handler)))*
    };
}
pub(crate) use route_table;

pub fn routes(cfg: &mut web::ServiceConfig) {
    route_table!(cfg;
        get "/healthz" => health::healthz,
        get "/readyz" => health::readyz,
        get "/metrics" => health::metrics,
    )
    .service(route_table!(provider_scope("/webhooks/whatsapp/cloud");
        get "" => webhooks::cloud::verify,
        post "" => webhooks::cloud::receive,
        get "/{phone_number_id}" => webhooks::cloud::verify_for,
        post "/{phone_number_id}" => webhooks::cloud::receive_for,
    ))
    .service(number_webhook(
        "/webhooks/whatsapp/gateway/{number_id}",
        webhooks::gateway::receive,
    ))
    .service(number_webhook(
        "/webhooks/whatsapp/evolution/{number_id}",
        webhooks::evolution::receive,
    ))
    .service(route_table!(provider_scope("/bitrix24");
        post "/install" => bitrix24::install::install,
        post "/events" => bitrix24::events::receive,
        post "/messageservice" => bitrix24::messageservice::receive,
        post "/placement" => bitrix24::placement::page,
        get "/placement" => bitrix24::placement::page,
        post "/placement/cloud" => bitrix24::placement::cloud,
        post "/placement/gateway" => bitrix24::placement::gateway,
        get "/placement/qr" => bitrix24::placement::qr,
        post "/placement/templates" => bitrix24::picker::page,
        post "/placement/disconnect" => bitrix24::placement::disconnect,
    ))
    .service(
        web::resource("/media/{token}/{name}")
            .wrap(from_fn(limits::per_ip))
            .route(web::get().to(media::serve)),
    )
    .service(web::scope("/api/v1").configure(api::routes))
    .configure(admin_web::routes);
}
