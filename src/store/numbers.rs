//! Connected WhatsApp numbers and their Open Line binding; credentials encrypted at rest.

use entity::numbers;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QueryTrait, Select, TryIntoModel,
};
use secrecy::{ExposeSecret, SecretString};

use super::{
    crypto::SecretBox,
    now_ms,
    query::{update_where, FilterIf},
    StoreError,
};

pub const TRANSPORT_CLOUD: &str = "cloud";
pub const TRANSPORT_GATEWAY: &str = "gateway";

/// Which Web gateway a gateway number speaks (`numbers.gateway_kind`).
pub const GATEWAY_GREEN_API: &str = "green-api";
pub const GATEWAY_EVOLUTION: &str = "evolution";

/// A number connected through a Web gateway instance.
#[derive(Debug, Clone)]
pub struct NewGatewayNumber {
    /// [`GATEWAY_GREEN_API`] or [`GATEWAY_EVOLUTION`].
    pub kind: &'static str,
    /// Stored under this key instead of the kind's own: a number moved from another gateway
    /// keeps its key, so its chats (and their ids in Open Lines) stay.
    pub key: Option<String>,
    pub portal_id: i64,
    pub line_id: String,
    /// GREEN-API's `apiUrl`; Evolution's server URL.
    pub api_url: String,
    /// GREEN-API's `idInstance`; Evolution's instance name.
    pub instance_id: String,
    pub display_phone: String,
    /// GREEN-API's `apiTokenInstance`; Evolution's API key (the instance's token).
    pub api_token: SecretString,
    /// What the instance's webhooks must present (GREEN-API: `Authorization: Bearer …`;
    /// Evolution: the `x-b24wa-secret` header).
    pub webhook_token: SecretString,
    /// The instance state read while connecting.
    pub state: String,
}

/// Our key for a gateway number where the Cloud API has its phone_number_id (chat ids use it).
pub fn gateway_key(instance_id: &str) -> String {
    format!("gw{instance_id}")
}

/// Our key for an Evolution number: `evo` and 16 hex digits of a hash of the server and the
/// instance name (two servers may both have an instance `shop`; chat ids use the key, so it
/// stays short and free of `@`).
pub fn evolution_key(base_url: &str, instance: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{}\n{instance}", base_url.trim_end_matches('/')));
    format!("evo{}", &hex::encode(h)[..16])
}

/// The key a gateway number of `n.kind` is stored under.
pub fn key_of(n: &NewGatewayNumber) -> String {
    if let Some(k) = &n.key {
        k.clone()
    } else if n.kind == GATEWAY_EVOLUTION {
        evolution_key(&n.api_url, &n.instance_id)
    } else {
        gateway_key(&n.instance_id)
    }
}

/// Creates the gateway number or, when the instance is known, rebinds and updates it.
pub async fn upsert_gateway<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    n: &NewGatewayNumber,
) -> Result<numbers::Model, DbErr> {
    let key = key_of(n);
    let mut am = bound(c, &key, n.portal_id, &n.line_id, &n.display_phone).await?;
    am.gateway_kind = Set(n.kind.to_string());
    am.gateway_api_url = Set(Some(n.api_url.clone()));
    am.gateway_instance_id = Set(Some(n.instance_id.clone()));
    let secrets = [
        n.api_token.expose_secret(),
        n.webhook_token.expose_secret(),
        "",
    ];
    connect(c, sb, am, TRANSPORT_GATEWAY, secrets, &n.state).await
}

/// Whether the number's session lets messages out now.
pub fn can_send(m: &numbers::Model) -> bool {
    match m.transport.as_str() {
        // Both gateways' states are stored in GREEN-API's words (Evolution's are translated).
        TRANSPORT_GATEWAY => m.session_state == "authorized",
        _ => m.session_state == SESSION_OK,
    }
}

#[derive(Debug, Clone)]
pub struct NewCloudNumber {
    pub portal_id: i64,
    pub line_id: String,
    pub phone_number_id: String,
    pub display_phone: String,
    pub access_token: SecretString,
    pub app_secret: SecretString,
    pub verify_token: SecretString,
}

/// Cloud API credentials of one number, decrypted for its actor and the webhook check.
#[derive(Debug, Clone)]
pub struct CloudCredentials {
    pub phone_number_id: String,
    pub access_token: SecretString,
    pub app_secret: SecretString,
    pub verify_token: SecretString,
}

/// The number under `key` (new, or the stored one to update), bound to a portal's line.
async fn bound<C: ConnectionTrait>(
    c: &C,
    key: &str,
    portal_id: i64,
    line_id: &str,
    display_phone: &str,
) -> Result<numbers::ActiveModel, DbErr> {
    let mut am = match find_by_phone_number_id(c, key).await? {
        Some(m) => m.into_active_model(),
        None => numbers::ActiveModel {
            phone_number_id: Set(key.to_string()),
            ..Default::default()
        },
    };
    am.portal_id = Set(portal_id);
    am.line_id = Set(line_id.to_string());
    am.display_phone = Set(display_phone.to_string());
    Ok(am)
}

/// Stores a bound number as connected over `transport`: active, in session `state`, with its
/// three secrets (access token, app secret, verify token; a gateway number keeps its API token
/// and webhook token in the first two) encrypted.
async fn connect<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    mut am: numbers::ActiveModel,
    transport: &str,
    secrets: [&str; 3],
    state: &str,
) -> Result<numbers::Model, DbErr> {
    let now = now_ms();
    if am.id.is_not_set() {
        am.created_at = Set(now);
    }
    let [access, app_secret, verify] = secrets.map(|s| sb.encrypt(s));
    am.transport = Set(transport.to_string());
    am.access_token_enc = Set(access);
    am.app_secret_enc = Set(app_secret);
    am.verify_token_enc = Set(verify);
    am.active = Set(true);
    am.session_state = Set(state.to_string());
    am.session_changed_at = Set(Some(now));
    am.updated_at = Set(now);
    am.save(c).await?.try_into_model()
}

/// Creates the number or, when the phone_number_id is known, rebinds and updates it.
pub async fn upsert_cloud<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    n: &NewCloudNumber,
) -> Result<numbers::Model, DbErr> {
    let am = bound(
        c,
        &n.phone_number_id,
        n.portal_id,
        &n.line_id,
        &n.display_phone,
    )
    .await?;
    let secrets = [
        n.access_token.expose_secret(),
        n.app_secret.expose_secret(),
        n.verify_token.expose_secret(),
    ];
    // New credentials: whatever the old token's state was, sending may resume.
    connect(c, sb, am, TRANSPORT_CLOUD, secrets, SESSION_OK).await
}

pub const SESSION_OK: &str = "ok";
/// Cloud API answered 190: the access token is dead until the tenant reconnects the number.
pub const SESSION_TOKEN_INVALID: &str = "token_invalid";

/// Records a session state change; `Ok(true)` when it changed (so the tenant is told once).
pub async fn set_session_state<C: ConnectionTrait>(
    c: &C,
    id: i64,
    state: &str,
) -> Result<bool, DbErr> {
    set_session_state_since(c, id, state, None).await
}

/// Like `set_session_state`, but only while the number still has the credentials a sender
/// used (`token_enc`, as stored when it loaded them; a reconnect re-encrypts them): a send with
/// old credentials that fails after the number was reconnected must not mark the new ones dead.
pub async fn set_session_state_since<C: ConnectionTrait>(
    c: &C,
    id: i64,
    state: &str,
    token_enc: Option<&str>,
) -> Result<bool, DbErr> {
    let sets = [
        (numbers::Column::SessionState, state.into()),
        (numbers::Column::SessionChangedAt, now_ms().into()),
        (numbers::Column::UpdatedAt, now_ms().into()),
    ];
    let changed = Condition::all()
        .add(numbers::Column::Id.eq(id))
        .add(numbers::Column::SessionState.ne(state))
        .add_option(token_enc.map(|t| numbers::Column::AccessTokenEnc.eq(t)));
    Ok(update_where(c, sets, changed).await? > 0)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<numbers::Model>, DbErr> {
    numbers::Entity::find_by_id(id).one(c).await
}

pub async fn find_by_phone_number_id<C: ConnectionTrait>(
    c: &C,
    phone_number_id: &str,
) -> Result<Option<numbers::Model>, DbErr> {
    super::query::one_by(c, numbers::Column::PhoneNumberId, phone_number_id).await
}

/// The active number of `portal_id` that serves Bitrix24 chat `chat_id` (our chat key,
/// `<wa_id>@<phone_number_id>`) on `line`: where an operator's item for that chat goes. The one
/// place this is decided (the event handler stores the item for it, the portal routes to it).
pub async fn serving<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
    line: &str,
    chat_id: &str,
) -> Result<Option<numbers::Model>, DbErr> {
    let Some((_, pnid)) = crate::relay::chat_key::parse_chat_key(chat_id) else {
        return Ok(None);
    };
    Ok(find_by_phone_number_id(c, pnid)
        .await?
        .filter(|n| n.portal_id == portal_id && n.active && n.line_id == line))
}

pub async fn list<C: ConnectionTrait>(c: &C) -> Result<Vec<numbers::Model>, DbErr> {
    numbers::Entity::find()
        .order_by_asc(numbers::Column::Id)
        .all(c)
        .await
}

/// Which numbers a list shows.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only numbers on this tenant's portals (what a tenant admin sees); `None`: every number.
    pub tenant: Option<i64>,
    pub portal_id: Option<i64>,
    /// `cloud` or `gateway`.
    pub transport: Option<String>,
    /// The session state, exactly (`ok`, `token_invalid`, `authorized`, ...).
    pub session_state: Option<String>,
    pub active: Option<bool>,
    /// Part of the display phone or of the phone_number_id, in any case.
    pub text: Option<String>,
}

/// Numbers by id; only those whose portal exists (the join), as the per-portal check did
/// before.
impl super::Selection for Filter {
    type Entity = numbers::Entity;

    fn select(&self) -> Select<numbers::Entity> {
        use entity::portals;
        use numbers::Column;
        numbers::Entity::find()
            .inner_join(portals::Entity)
            .eq_if(portals::Column::TenantId, self.tenant)
            .eq_if(Column::PortalId, self.portal_id)
            .eq_if(Column::Transport, self.transport.as_deref())
            .eq_if(Column::SessionState, self.session_state.as_deref())
            .eq_if(Column::Active, self.active)
            .apply_if(self.text.as_deref(), |q, text| {
                q.filter(
                    Condition::any()
                        .add(super::contains_ci(Column::DisplayPhone, text))
                        .add(super::contains_ci(Column::PhoneNumberId, text)),
                )
            })
            .order_by_asc(Column::Id)
    }
}

/// Active numbers bound to a portal's line (routing operator replies).
pub async fn active_on_line<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
    line_id: &str,
) -> Result<Vec<numbers::Model>, DbErr> {
    numbers::Entity::find()
        .filter(numbers::Column::PortalId.eq(portal_id))
        .filter(numbers::Column::LineId.eq(line_id))
        .filter(numbers::Column::Active.eq(true))
        .all(c)
        .await
}

pub fn credentials(sb: &SecretBox, m: &numbers::Model) -> Result<CloudCredentials, StoreError> {
    Ok(CloudCredentials {
        phone_number_id: m.phone_number_id.clone(),
        access_token: sb.decrypt(&m.access_token_enc)?,
        app_secret: sb.decrypt(&m.app_secret_enc)?,
        verify_token: sb.decrypt(&m.verify_token_enc)?,
    })
}

/// `active = false` for the numbers `filter` selects.
async fn set_inactive<C: ConnectionTrait>(c: &C, filter: sea_orm::Condition) -> Result<u64, DbErr> {
    let sets = [
        (numbers::Column::Active, false.into()),
        (numbers::Column::UpdatedAt, now_ms().into()),
    ];
    update_where(c, sets, filter).await
}

/// The portal uninstalled the app: its active numbers stop routing and are marked so that a
/// reinstall brings exactly those back (not the ones an admin disconnected).
pub async fn suspend_portal<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
) -> Result<Vec<numbers::Model>, DbErr> {
    set_suspended(c, portal_id, true).await
}

/// The portal installed the app again: the numbers its uninstall suspended route again.
pub async fn resume_portal<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
) -> Result<Vec<numbers::Model>, DbErr> {
    set_suspended(c, portal_id, false).await
}

/// Moves a portal's numbers between active and suspended: suspending takes the active ones,
/// resuming the suspended ones. Returns the numbers it moved, as they were before.
async fn set_suspended<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
    suspend: bool,
) -> Result<Vec<numbers::Model>, DbErr> {
    let from = if suspend {
        numbers::Column::Active
    } else {
        numbers::Column::Suspended
    };
    let cond = Condition::all()
        .add(numbers::Column::PortalId.eq(portal_id))
        .add(from.eq(true));
    let moved = numbers::Entity::find().filter(cond.clone()).all(c).await?;
    let sets = [
        (numbers::Column::Active, (!suspend).into()),
        (numbers::Column::Suspended, suspend.into()),
        (numbers::Column::UpdatedAt, now_ms().into()),
    ];
    update_where(c, sets, cond).await?;
    Ok(moved)
}

/// Stops routing for numbers on a line (connector switched off, line deleted) or a whole portal.
pub async fn deactivate<C: ConnectionTrait>(
    c: &C,
    portal_id: i64,
    line_id: Option<&str>,
) -> Result<u64, DbErr> {
    let mut filter = sea_orm::Condition::all().add(numbers::Column::PortalId.eq(portal_id));
    if let Some(line) = line_id {
        filter = filter.add(numbers::Column::LineId.eq(line));
    }
    set_inactive(c, filter).await
}

pub async fn deactivate_one<C: ConnectionTrait>(c: &C, id: i64) -> Result<(), DbErr> {
    set_inactive(c, sea_orm::Condition::all().add(numbers::Column::Id.eq(id))).await?;
    Ok(())
}
