//! Web gateway numbers: connecting an instance to a line, and its QR until the phone is linked.

use actix_web::HttpResponse;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ById, JsonRequest};
use super::not_found;
use super::page::invalid_field;
use super::{
    evolution_numbers::ConnectEvolutionNumber,
    numbers::{check_number_quota, http_url, non_empty, number_for, Connected, ConnectedView},
    openapi::{ConnectRefused, GatewayUnavailable, NumberId},
    portals::visible_portal,
};
use crate::{
    actors::transport::{QrShown, Transport, WebError},
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    store::numbers,
    tr,
    whatsapp::gateway::{self, GatewayError, Instance},
};

/// A Web gateway instance to connect to an Open Line of an installed portal.
#[derive(Deserialize, ToSchema)]
pub struct ConnectGatewayNumber {
    /// The portal's `member_id`.
    pub member_id: String,
    /// The Open Line id (digits).
    pub line: String,
    /// The instance's API base (`apiUrl`), http(s).
    pub api_url: String,
    /// Digits.
    pub id_instance: String,
    #[schema(value_type = String, format = Password)]
    pub api_token_instance: SecretString,
    #[serde(default)]
    pub display_phone: String,
}

/// A Web gateway to connect: GREEN-API (no `provider`, or `"green-api"`) or Evolution API
/// (`"provider": "evolution"`). Read by `provider` first, so a body's error names the fields of
/// the gateway it is for.
pub enum ConnectGateway {
    GreenApi(ConnectGatewayNumber),
    Evolution(ConnectEvolutionNumber),
}

impl<'de> Deserialize<'de> for ConnectGateway {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        let provider = v.get("provider").cloned().unwrap_or_default();
        match provider.as_str() {
            Some("evolution") => serde_json::from_value(v)
                .map(ConnectGateway::Evolution)
                .map_err(D::Error::custom),
            Some("green-api") => serde_json::from_value(v)
                .map(ConnectGateway::GreenApi)
                .map_err(D::Error::custom),
            _ if provider.is_null() => serde_json::from_value(v)
                .map(ConnectGateway::GreenApi)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(format!(
                "unknown provider {provider}, expected \"green-api\" or \"evolution\""
            ))),
        }
    }
}

impl utoipa::PartialSchema for ConnectGateway {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name(
                "ConnectGatewayNumber",
            ))
            .item(utoipa::openapi::Ref::from_schema_name(
                "ConnectEvolutionNumber",
            ))
            .into()
    }
}

impl ToSchema for ConnectGateway {
    fn schemas(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        out.push((
            "ConnectGatewayNumber".into(),
            ConnectGatewayNumber::schema(),
        ));
        out.push((
            "ConnectEvolutionNumber".into(),
            ConnectEvolutionNumber::schema(),
        ));
        <ConnectEvolutionNumber as ToSchema>::schemas(out);
    }
}

fn gateway_error(e: GatewayError) -> ApiError {
    web_error(e.into())
}

/// A Web gateway's refusal as the API tells it: our credentials (422) or the gateway (502).
pub(crate) fn web_error(e: WebError) -> ApiError {
    match e {
        WebError::Credentials(_) => {
            ApiError::unprocessable(ErrorCode::GatewayCredentialsInvalid, |l| {
                tr!(l, "error-gateway-credentials")
            })
        }
        e => {
            let detail = e.to_string();
            ApiError::bad_gateway(ErrorCode::GatewayUnavailable, move |l| {
                tr!(l, "error-gateway-unavailable", detail = &detail)
            })
        }
    }
}

/// Connect a Web gateway instance to a line
///
/// GREEN-API: the credentials are checked against the gateway (`getStateInstance`), its
/// webhooks are pointed at us with a fresh per-number token (`setSettings`). Evolution API
/// (`"provider": "evolution"`): the instance is created (with the global key) or reused, its
/// webhook is pointed at us with a fresh per-number secret header. Then the connector is
/// activated on the line; `GET /api/v1/numbers/{id}/qr` shows the QR until the phone is linked.
#[utoipa::path(
    post,
    path = "/api/v1/numbers/gateway",
    request_body = ConnectGateway,
    responses(
        (status = 201, description = "Stored; `activation` tells how the line took it", body = ConnectedView),
        (status = 400, description = "`invalid_field` (line, api_url, id_instance; base_url, instance, api_key), `invalid_json`", body = ErrorBody),
        ConnectRefused,
        (status = 422, description = "`gateway_credentials_invalid`: the gateway rejected the instance id or token (Evolution: the API key or instance)", body = ErrorBody),
        GatewayUnavailable,
    ),
)]
pub async fn connect_gateway(
    JsonRequest {
        state,
        caller,
        body: b,
    }: JsonRequest<ConnectGateway>,
) -> Result<HttpResponse, ApiError> {
    let c = match b {
        ConnectGateway::GreenApi(b) => {
            let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
            connect_gateway_instance(&state, &portal, b).await?
        }
        ConnectGateway::Evolution(b) => {
            let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
            super::evolution_numbers::connect_evolution_instance(&state, &portal, b).await?
        }
    };
    Ok(HttpResponse::Created().json(ConnectedView::from(c)))
}

/// Connects a gateway instance on `portal`'s line: credentials checked against the gateway,
/// its webhooks pointed at us with a fresh token, the connector activated.
pub(crate) async fn connect_gateway_instance(
    state: &AppState,
    portal: &entity::portals::Model,
    b: ConnectGatewayNumber,
) -> Result<Connected, ApiError> {
    use secrecy::ExposeSecret;
    non_empty("id_instance", &b.id_instance)?;
    non_empty("api_token_instance", b.api_token_instance.expose_secret())?;
    http_url(&b.api_url, |l| tr!(l, "error-api-url"))?;
    if !b.id_instance.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid_field(|l| tr!(l, "error-id-instance")));
    }
    check_number_quota(state, portal, &numbers::gateway_key(&b.id_instance)).await?;
    let inst = Instance {
        api_url: b.api_url.trim_end_matches('/').to_string(),
        id: b.id_instance.clone(),
        token: b.api_token_instance.clone(),
    };
    let session = state
        .outbound
        .gateway
        .state(&inst)
        .await
        .map_err(gateway_error)?;
    let webhook_token = SecretString::from(crate::store::crypto::random_token());
    let new = numbers::NewGatewayNumber {
        kind: numbers::GATEWAY_GREEN_API,
        key: None,
        portal_id: portal.id,
        line_id: b.line.clone(),
        api_url: inst.api_url.clone(),
        instance_id: b.id_instance.clone(),
        display_phone: b.display_phone.clone(),
        api_token: b.api_token_instance,
        webhook_token: webhook_token.clone(),
        state: session,
    };
    let number = numbers::upsert_gateway(&state.ctx.db, &state.ctx.secrets, &new).await?;
    let webhook_url = format!(
        "{}/webhooks/whatsapp/gateway/{}",
        state.ctx.public_url, number.id
    );
    if let Err(e) = state
        .outbound
        .gateway
        .set_settings(&inst, &webhook_url, &webhook_token)
        .await
    {
        numbers::deactivate_one(&state.ctx.db, number.id).await?;
        return Err(gateway_error(e));
    }
    Connected::activating(state, portal.id, number, webhook_url).await
}

/// A gateway number's QR, or its state once the phone is linked.
#[derive(Serialize, ToSchema)]
pub struct QrView {
    /// The instance state (`authorized` once linked).
    pub state: String,
    /// `data:image/png;base64,...` while the phone is not linked; `null` otherwise.
    pub qr: Option<String>,
    /// What the gateway said instead of a QR, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The code to type on the phone instead of scanning (Evolution, when it gave one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairing_code: Option<String>,
}

/// A gateway number's QR
///
/// The gateway's current QR (a PNG data URL) while the phone is not linked, or the state once
/// it is.
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/qr",
    params(NumberId),
    responses(
        (status = 200, description = "The QR to scan, or the linked state", body = QrView),
        (status = 404, description = "`unknown_number`: no gateway number with this id (or another tenant's)", body = ErrorBody),
        (status = 422, description = "`gateway_credentials_invalid`: the gateway rejected the stored credentials", body = ErrorBody),
        GatewayUnavailable,
    ),
)]
pub async fn qr(ById { state, caller, id }: ById) -> Result<HttpResponse, ApiError> {
    let (n, _) = number_for(&state, &caller, id, false).await?;
    let n = Some(n)
        .filter(|n| n.transport == numbers::TRANSPORT_GATEWAY)
        .ok_or_else(not_found::gateway_number)?;
    Ok(HttpResponse::Ok().json(gateway_qr(&state, &n).await?))
}

/// A gateway number's QR (PNG data URL) while its phone is not linked; the state once it is.
pub(crate) async fn gateway_qr(
    state: &AppState,
    n: &entity::numbers::Model,
) -> Result<QrView, ApiError> {
    let web = match Transport::load(&state.ctx.secrets, n)? {
        Transport::Web(w) => w,
        Transport::Cloud(_) => return Err(not_found::gateway_number()),
    };
    let shown = web
        .qr(state.outbound.web(), &n.display_phone)
        .await
        .map_err(web_error)?;
    let view = |qr, message, pairing_code| QrView {
        state: n.session_state.clone(),
        qr,
        message,
        pairing_code,
    };
    Ok(match shown {
        QrShown::Qr {
            png_base64,
            pairing_code,
        } => view(
            Some(format!("data:image/png;base64,{png_base64}")),
            None,
            pairing_code,
        ),
        QrShown::Linked => QrView {
            state: gateway::AUTHORIZED.into(),
            ..view(None, None, None)
        },
        QrShown::Pending => view(None, None, None),
        QrShown::Other(message) => view(None, Some(message), None),
    })
}
