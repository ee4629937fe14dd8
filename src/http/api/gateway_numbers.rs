//! Web gateway numbers: connecting an instance to a line, and its QR until the phone is linked.

use actix_web::HttpResponse;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ById, JsonRequest};
use super::{
    numbers::{check_number_quota, non_empty, number_for, Connected, ConnectedView},
    openapi::{ConnectRefused, GatewayUnavailable, NumberId},
    portals::visible_portal,
};
use crate::{
    http::{error::ErrorBody, ApiError, AppState, ErrorCode},
    store::numbers,
    tr,
    whatsapp::gateway::{GatewayError, Instance},
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

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Credentials(_) => {
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
/// The credentials are checked against the gateway (`getStateInstance`), its webhooks are
/// pointed at us with a fresh per-number token (`setSettings`), and the connector is activated
/// on the line.
#[utoipa::path(
    post,
    path = "/api/v1/numbers/gateway",
    tag = "numbers",
    request_body = ConnectGatewayNumber,
    responses(
        (status = 201, description = "Stored; `activation` tells how the line took it", body = ConnectedView),
        (status = 400, description = "`invalid_field` (line, api_url, id_instance), `invalid_json`", body = ErrorBody),
        ConnectRefused,
        (status = 422, description = "`gateway_credentials_invalid`: the gateway rejected the instance id or token", body = ErrorBody),
        GatewayUnavailable,
    ),
)]
pub async fn connect_gateway(
    JsonRequest {
        state,
        caller,
        body: b,
    }: JsonRequest<ConnectGatewayNumber>,
) -> Result<HttpResponse, ApiError> {
    let portal = visible_portal(&state, &caller, &b.member_id, &b.line).await?;
    let c = connect_gateway_instance(&state, &portal, b).await?;
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
    if !(b.api_url.starts_with("http://") || b.api_url.starts_with("https://")) {
        return Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-api-url")
        }));
    }
    if !b.id_instance.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(ErrorCode::InvalidField, |l| {
            tr!(l, "error-id-instance")
        }));
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
}

/// A gateway number's QR
///
/// The gateway's current QR (a PNG data URL) while the phone is not linked, or the state once
/// it is.
#[utoipa::path(
    get,
    path = "/api/v1/numbers/{id}/qr",
    tag = "numbers",
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
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::UnknownNumber, |l| {
                tr!(l, "error-unknown-gateway-number")
            })
        })?;
    Ok(HttpResponse::Ok().json(gateway_qr(&state, &n).await?))
}

/// A gateway number's QR (PNG data URL) while its phone is not linked; the state once it is.
pub(crate) async fn gateway_qr(
    state: &AppState,
    n: &entity::numbers::Model,
) -> Result<QrView, ApiError> {
    let inst = match crate::actors::number::Transport::load(&state.ctx.secrets, n)? {
        crate::actors::number::Transport::Gateway(i) => i,
        crate::actors::number::Transport::Cloud(_) => {
            return Err(ApiError::not_found(ErrorCode::UnknownNumber, |l| {
                tr!(l, "error-unknown-gateway-number")
            }))
        }
    };
    let (kind, message) = state
        .outbound
        .gateway
        .qr(&inst)
        .await
        .map_err(gateway_error)?;
    Ok(match kind.as_str() {
        "qrCode" => QrView {
            state: n.session_state.clone(),
            qr: Some(format!("data:image/png;base64,{message}")),
            message: None,
        },
        "alreadyLogged" => QrView {
            state: "authorized".into(),
            qr: None,
            message: None,
        },
        _ => QrView {
            state: n.session_state.clone(),
            qr: None,
            message: Some(message),
        },
    })
}
