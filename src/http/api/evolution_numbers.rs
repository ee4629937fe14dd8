//! Evolution API numbers: an instance on a tenant's own Evolution server connected to a line.
//! b24wa creates the instance (or reuses one of that name), points its webhook at us with a
//! per-number secret header, and shows its QR (the GREEN-API flow's QR endpoint) until linked.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use super::not_found;
use super::numbers::{check_number_quota, http_url, non_empty, Connected};
use crate::{
    actors::transport::{web::evolution_state, WebError},
    http::{ApiError, AppState, ErrorCode},
    store::numbers,
    tr,
    whatsapp::evolution::{
        CreateInstance, EvolutionError, Instance, WebhookConfig, WEBHOOK_EVENTS,
    },
};

/// `provider` of an Evolution connect.
#[derive(Deserialize, ToSchema, Debug, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum EvolutionProvider {
    Evolution,
}

/// An Evolution API instance to connect to an Open Line of an installed portal.
#[derive(Deserialize, ToSchema)]
pub struct ConnectEvolutionNumber {
    /// `evolution`.
    pub provider: EvolutionProvider,
    /// The portal's `member_id`.
    pub member_id: String,
    /// The Open Line id (digits).
    pub line: String,
    /// The Evolution server (`SERVER_URL`), http(s).
    pub base_url: String,
    /// The instance's name: created when the server has none of that name.
    pub instance: String,
    /// The server's global key (needed to create the instance) or the instance's own token.
    #[schema(value_type = String, format = Password)]
    pub api_key: SecretString,
    #[serde(default)]
    pub display_phone: String,
    /// The id of a Web gateway number of this portal (a GREEN-API one) that this instance now
    /// serves: the number is moved, keeping its chats and their ids in Open Lines.
    #[serde(default)]
    pub replaces: Option<i64>,
}

/// Evolution's refusal as the API tells it.
fn evolution_error(e: EvolutionError) -> ApiError {
    match WebError::from(e) {
        WebError::Credentials(_) => {
            ApiError::unprocessable(ErrorCode::GatewayCredentialsInvalid, |l| {
                tr!(l, "error-evolution-credentials")
            })
        }
        e => super::gateway_numbers::web_error(e),
    }
}

/// The key of gateway number `id` of `portal` that an Evolution instance takes over (404 when
/// there is none: another portal's, a Cloud API number, or no such number).
async fn replaced_key(
    state: &AppState,
    portal: &entity::portals::Model,
    id: i64,
) -> Result<String, ApiError> {
    numbers::get(&state.ctx.db, id)
        .await?
        .filter(|n| n.portal_id == portal.id && n.transport == numbers::TRANSPORT_GATEWAY)
        .map(|n| n.phone_number_id)
        .ok_or_else(not_found::gateway_number)
}

/// Connects an Evolution instance on `portal`'s line: the instance created or reused, its
/// webhook pointed at us with a fresh secret, the connector activated.
pub(crate) async fn connect_evolution_instance(
    state: &AppState,
    portal: &entity::portals::Model,
    b: ConnectEvolutionNumber,
) -> Result<Connected, ApiError> {
    non_empty("instance", &b.instance)?;
    non_empty("api_key", b.api_key.expose_secret())?;
    http_url(&b.base_url, |l| tr!(l, "error-base-url"))?;
    let base_url = b.base_url.trim_end_matches('/').to_string();
    let kept_key = match b.replaces {
        Some(id) => Some(replaced_key(state, portal, id).await?),
        None => None,
    };
    let key = kept_key
        .clone()
        .unwrap_or_else(|| numbers::evolution_key(&base_url, &b.instance));
    check_number_quota(state, portal, &key).await?;
    let mut inst = Instance {
        base_url,
        name: b.instance.clone(),
        api_key: b.api_key.clone(),
    };
    let evo = &state.outbound.evolution;
    // Reused when the server has it (the key may be the instance's own token); created with
    // the global key otherwise, and from then on reached with the instance's token only.
    if evo
        .fetch_instance(&inst)
        .await
        .map_err(evolution_error)?
        .is_none()
    {
        let created = evo
            .create_instance(&inst, &CreateInstance::default())
            .await
            .map_err(evolution_error)?;
        if let Some(hash) = created.hash {
            inst.api_key = hash;
        }
    }
    let session = evo.connection_state(&inst).await.map_err(evolution_error)?;
    let secret = SecretString::from(crate::store::crypto::random_token());
    let new = numbers::NewGatewayNumber {
        kind: numbers::GATEWAY_EVOLUTION,
        key: kept_key,
        portal_id: portal.id,
        line_id: b.line.clone(),
        api_url: inst.base_url.clone(),
        instance_id: inst.name.clone(),
        display_phone: b.display_phone.clone(),
        api_token: inst.api_key.clone(),
        webhook_token: secret.clone(),
        state: evolution_state(&session),
    };
    let number = numbers::upsert_gateway(&state.ctx.db, &state.ctx.secrets, &new).await?;
    let webhook_url = format!(
        "{}/webhooks/whatsapp/evolution/{}",
        state.ctx.public_url, number.id
    );
    let cfg = WebhookConfig {
        url: webhook_url.clone(),
        secret,
        events: WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect(),
        base64: false,
    };
    if let Err(e) = evo.set_webhook(&inst, &cfg).await {
        numbers::deactivate_one(&state.ctx.db, number.id).await?;
        return Err(evolution_error(e));
    }
    Connected::activating(state, portal.id, number, webhook_url).await
}
