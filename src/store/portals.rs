//! Installed Bitrix24 portals; tokens are encrypted at rest.

use entity::portals;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use secrecy::{ExposeSecret, SecretString};

use super::{
    crypto::SecretBox,
    now_ms,
    query::{edit_by_id, update_where, FilterIf},
    StoreError,
};
use crate::i18n::Lang;

/// What an install (event or page) hands us: tokens and endpoints, as decoded from the portal's
/// POST (`bitrix24::events`), stored by `upsert_install`.
#[derive(Debug, Clone)]
pub struct InstallData {
    pub member_id: String,
    pub domain: String,
    pub client_endpoint: String,
    pub server_endpoint: String,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
    pub expires_in: i64,
    pub application_token: SecretString,
    pub scope: String,
    /// The portal's Bitrix24 language id, when the install said (`data[LANGUAGE_ID]`, else
    /// `app.info`'s `LANGUAGE_ID`, else the install page's `LANG`).
    pub language: Option<String>,
}

/// What a portal's session calls with: its endpoints and its token pair, decrypted (kept in
/// memory by its actor only). The rest of the portal is on its model, in clear.
#[derive(Debug, Clone)]
pub struct PortalSecrets {
    pub client_endpoint: String,
    pub server_endpoint: String,
    pub access_token: SecretString,
    pub refresh_token: SecretString,
}

/// Stores or updates the portal keyed by member_id; reinstall updates in place. A new portal
/// gets a new tenant named after its domain; a reinstall keeps the portal's tenant (one older
/// than tenants gets one now). Run it in a transaction so portal and tenant appear together.
pub async fn upsert_install<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    d: &InstallData,
) -> Result<i64, DbErr> {
    let now = now_ms();
    let existing = find_by_member(c, &d.member_id).await?;
    let tenant_id = existing.as_ref().and_then(|m| m.tenant_id);
    let mut am = match existing {
        Some(m) => m.into_active_model(),
        None => portals::ActiveModel {
            member_id: Set(d.member_id.clone()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    if tenant_id.is_none() {
        let tenant = super::tenants::create(c, &d.domain, super::tenants::DEFAULT_PLAN).await?;
        am.tenant_id = Set(Some(tenant.id));
    }
    am.domain = Set(d.domain.clone());
    am.client_endpoint = Set(d.client_endpoint.clone());
    am.server_endpoint = Set(d.server_endpoint.clone());
    am.access_token_enc = Set(sb.encrypt(d.access_token.expose_secret()));
    am.refresh_token_enc = Set(sb.encrypt(d.refresh_token.expose_secret()));
    am.token_expires_at = Set(now + d.expires_in * 1000);
    am.application_token_enc = Set(sb.encrypt(d.application_token.expose_secret()));
    am.scope = Set(d.scope.clone());
    if let Some(lang) = d.language.as_deref().and_then(clean_language_id) {
        am.language_b24 = Set(Some(lang));
    }
    am.installed = Set(true);
    // A reinstall inside an uninstall's grace period cancels its purge: everything is kept.
    am.uninstalled_at = Set(None);
    am.purge_after = Set(None);
    // An install hands over a fresh pair (and `install_portal` refreshed it once more).
    am.refreshed_at = Set(Some(now));
    am.updated_at = Set(now);
    let saved = am.save(c).await?;
    match saved.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => Ok(id),
        sea_orm::ActiveValue::NotSet => Err(DbErr::Custom("portal id not returned".into())),
    }
}

/// The language a portal's operators read (bitrix24-crm.md §4): the admin app's override, else
/// the portal's own Bitrix24 language (by `Lang::from_bitrix24`'s fallback rule), else English.
pub fn language(m: &portals::Model) -> Lang {
    m.language_override
        .as_deref()
        .and_then(Lang::held)
        .or_else(|| m.language_b24.as_deref().map(Lang::from_bitrix24))
        .unwrap_or_else(Lang::en)
}

/// `language` of the portal `id`, read now (a change in the admin app or from the portal shows
/// in the next text rendered); English for a portal that is gone.
pub async fn language_of<C: ConnectionTrait>(c: &C, id: i64) -> Result<Lang, DbErr> {
    Ok(get(c, id).await?.as_ref().map_or_else(Lang::en, language))
}

/// The Bitrix24 language id of the portal that number `number_id` belongs to (the portal's
/// own, else the admin app's choice); `None` when neither is known or the number is gone.
pub async fn bitrix24_language_of_number<C: ConnectionTrait>(
    c: &C,
    number_id: i64,
) -> Result<Option<String>, DbErr> {
    let Some(number) = entity::numbers::Entity::find_by_id(number_id)
        .one(c)
        .await?
    else {
        return Ok(None);
    };
    Ok(get(c, number.portal_id)
        .await?
        .and_then(|p| p.language_b24.or(p.language_override)))
}

/// A Bitrix24 language id as we store it: lower case, letters only, at most 8 (`ru`, `ua`, `de`);
/// `None` for anything else (a form field is not trusted).
fn clean_language_id(raw: &str) -> Option<String> {
    let id = raw.trim().to_ascii_lowercase();
    (!id.is_empty() && id.len() <= 8 && id.chars().all(|c| c.is_ascii_lowercase())).then_some(id)
}

/// The portal's Bitrix24 language id seen again (an admin's settings page `LANG`, an install):
/// stored, and when that changes the language its operators read, the connector is registered
/// again with its name in the new language (a setup job in the portal's outbox, run by the
/// portal actor's next wave or sweep). Returns whether the effective language changed.
/// For the settings page (`http::bitrix24::page`): call it with the posted `LANG`.
pub async fn set_language_b24<C: ConnectionTrait>(
    c: &C,
    id: i64,
    raw: &str,
) -> Result<bool, DbErr> {
    let Some(lang_id) = clean_language_id(raw) else {
        return Ok(false);
    };
    let Some(m) = get(c, id).await? else {
        return Ok(false);
    };
    if m.language_b24.as_deref() == Some(lang_id.as_str()) {
        return Ok(false);
    }
    let before = language(&m);
    let mut am = m.into_active_model();
    am.language_b24 = Set(Some(lang_id));
    am.updated_at = Set(now_ms());
    let after = am.update(c).await?;
    language_changed(c, &after, before).await
}

/// The admin app's override (`None`: follow the portal's own language). Returns the portal
/// before and after, `None` when there is no such portal; re-registers the connector when the
/// effective language changed.
pub async fn set_language_override<C: ConnectionTrait>(
    c: &C,
    id: i64,
    lang: Option<Lang>,
) -> Result<Option<(portals::Model, portals::Model)>, DbErr> {
    let changed = edit(c, id, |am, _| {
        am.language_override = Set(lang.map(|l| l.code().to_string()));
    })
    .await?;
    if let Some((before, after)) = &changed {
        language_changed(c, after, language(before)).await?;
    }
    Ok(changed)
}

/// Queues the connector's registration again (its NAME is in the portal's language) when the
/// effective language moved from `before`; only for an installed portal.
async fn language_changed<C: ConnectionTrait>(
    c: &C,
    after: &portals::Model,
    before: Lang,
) -> Result<bool, DbErr> {
    if language(after) == before {
        return Ok(false);
    }
    if after.installed {
        super::jobs::enqueue(
            c,
            &super::jobs::portal_owner(after.id),
            // The portal's setup queue (`actors::portal::SETUP_QUEUE`), which runs first.
            "setup",
            &super::jobs::Job::B24Setup,
        )
        .await?;
    }
    Ok(true)
}

/// Portal `id` as `change` edits it (given the time now), with `updated_at` now, stored: the
/// portal before and after (`None`: there is no such portal).
async fn edit<C: ConnectionTrait>(
    c: &C,
    id: i64,
    change: impl FnOnce(&mut portals::ActiveModel, i64),
) -> Result<Option<(portals::Model, portals::Model)>, DbErr> {
    let now = now_ms();
    edit_by_id::<portals::Entity, _>(c, id, |am| {
        change(am, now);
        am.updated_at = Set(now);
    })
    .await
}

pub async fn find_by_member<C: ConnectionTrait>(
    c: &C,
    member_id: &str,
) -> Result<Option<portals::Model>, DbErr> {
    super::query::one_by(c, portals::Column::MemberId, member_id).await
}

/// Installed portals whose tokens were last refreshed before `before_ms` (or at a time not
/// recorded): the idle-token sweep's work.
pub async fn refreshed_before<C: ConnectionTrait>(
    c: &C,
    before_ms: i64,
) -> Result<Vec<i64>, DbErr> {
    use sea_orm::Condition;
    portals::Entity::find()
        .select_only()
        .column(portals::Column::Id)
        .filter(portals::Column::Installed.eq(true))
        .filter(
            Condition::any()
                .add(portals::Column::RefreshedAt.is_null())
                .add(portals::Column::RefreshedAt.lt(before_ms)),
        )
        .order_by_asc(portals::Column::Id)
        .into_tuple::<i64>()
        .all(c)
        .await
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<portals::Model>, DbErr> {
    portals::Entity::find_by_id(id).one(c).await
}

pub async fn list<C: ConnectionTrait>(c: &C) -> Result<Vec<portals::Model>, DbErr> {
    portals::Entity::find().all(c).await
}

/// Which portals a list shows.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only this tenant's (what a tenant admin sees); `None`: every portal.
    pub tenant: Option<i64>,
    /// Part of the domain, in any case.
    pub domain: Option<String>,
    pub installed: Option<bool>,
}

/// Portals by id.
impl super::Selection for Filter {
    type Entity = portals::Entity;

    fn select(&self) -> Select<portals::Entity> {
        portals::Entity::find()
            .eq_if(portals::Column::TenantId, self.tenant)
            .apply_if(self.domain.as_deref(), |q, d| {
                q.filter(super::contains_ci(portals::Column::Domain, d))
            })
            .eq_if(portals::Column::Installed, self.installed)
            .order_by_asc(portals::Column::Id)
    }
}

pub fn secrets(sb: &SecretBox, m: &portals::Model) -> Result<PortalSecrets, StoreError> {
    Ok(PortalSecrets {
        client_endpoint: m.client_endpoint.clone(),
        server_endpoint: m.server_endpoint.clone(),
        access_token: sb.decrypt(&m.access_token_enc)?,
        refresh_token: sb.decrypt(&m.refresh_token_enc)?,
    })
}

/// Constant-time check of an event's `application_token` against the stored one.
pub fn application_token_matches(sb: &SecretBox, m: &portals::Model, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    match sb.decrypt(&m.application_token_enc) {
        Ok(stored) => {
            let a = stored.expose_secret().as_bytes();
            let b = given.as_bytes();
            a.len() == b.len() && bool::from(a.ct_eq(b))
        }
        Err(_) => false,
    }
}

pub async fn update_tokens<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    id: i64,
    access: &SecretString,
    refresh: &SecretString,
    expires_in: i64,
    client_endpoint: Option<&str>,
) -> Result<(), DbErr> {
    edit(c, id, |am, now| {
        am.access_token_enc = Set(sb.encrypt(access.expose_secret()));
        am.refresh_token_enc = Set(sb.encrypt(refresh.expose_secret()));
        am.token_expires_at = Set(now + expires_in * 1000);
        am.refreshed_at = Set(Some(now));
        if let Some(ep) = client_endpoint {
            am.client_endpoint = Set(ep.to_string());
        }
    })
    .await?
    .ok_or_else(|| DbErr::RecordNotFound(format!("portal {id}")))?;
    Ok(())
}

/// The OAuth server refused `refused` (`invalid_grant`: used, expired or the app removed): the
/// stored refresh token becomes empty, so no node asks with it again and an event's access
/// token may stand in (`adopt_event_access_token`). Only if `refused` is still the stored one:
/// a pair stored meanwhile (another node's refresh, a reinstall) stays. Returns whether it did.
pub async fn forget_refresh_token<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    id: i64,
    refused: &SecretString,
) -> Result<bool, StoreError> {
    let Some(m) = get(c, id).await? else {
        return Ok(false);
    };
    if sb.decrypt(&m.refresh_token_enc)?.expose_secret() != refused.expose_secret() {
        return Ok(false);
    }
    let sets = [
        (portals::Column::RefreshTokenEnc, sb.encrypt("").into()),
        (portals::Column::UpdatedAt, now_ms().into()),
    ];
    Ok(update_where(c, sets, still_refreshing(id, m.refresh_token_enc)).await? == 1)
}

/// An event's access token (bitrix24-crm.md §1: usable while it lives, an hour) stored for a
/// portal whose refresh token was refused, so its calls go on until an admin opens the app
/// again (which brings a new pair). Nothing changes for a portal that has a refresh token, or
/// that is uninstalled. Returns whether it was taken.
pub async fn adopt_event_access_token<C: ConnectionTrait>(
    c: &C,
    sb: &SecretBox,
    id: i64,
    access: &SecretString,
    expires_in: i64,
) -> Result<bool, StoreError> {
    let Some(m) = get(c, id).await? else {
        return Ok(false);
    };
    if !m.installed || !sb.decrypt(&m.refresh_token_enc)?.expose_secret().is_empty() {
        return Ok(false);
    }
    if sb.decrypt(&m.access_token_enc)?.expose_secret() == access.expose_secret() {
        return Ok(false);
    }
    let now = now_ms();
    let sets = [
        (
            portals::Column::AccessTokenEnc,
            sb.encrypt(access.expose_secret()).into(),
        ),
        (
            portals::Column::TokenExpiresAt,
            (now + expires_in * 1000).into(),
        ),
        (portals::Column::UpdatedAt, now.into()),
    ];
    Ok(update_where(c, sets, still_refreshing(id, m.refresh_token_enc)).await? == 1)
}

/// Portal `id` while its stored refresh token is still `refresh_token_enc` (read before a
/// change that depends on it; a pair stored meanwhile wins).
fn still_refreshing(id: i64, refresh_token_enc: String) -> Condition {
    Condition::all()
        .add(portals::Column::Id.eq(id))
        .add(portals::Column::RefreshTokenEnc.eq(refresh_token_enc))
}

/// The portal moved: its new REST base, and the domain taken from it.
pub async fn set_client_endpoint<C: ConnectionTrait>(
    c: &C,
    id: i64,
    client_endpoint: &str,
) -> Result<(), DbErr> {
    let mut sets = vec![
        (portals::Column::ClientEndpoint, client_endpoint.into()),
        (portals::Column::UpdatedAt, now_ms().into()),
    ];
    if let Some(host) = url::Url::parse(client_endpoint).ok().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        })
    }) {
        sets.push((portals::Column::Domain, host.into()));
    }
    update_where(c, sets, portals::Column::Id.eq(id)).await?;
    Ok(())
}

pub async fn set_installed<C: ConnectionTrait>(
    c: &C,
    id: i64,
    installed: bool,
) -> Result<(), DbErr> {
    edit(c, id, |am, _| am.installed = Set(installed)).await?;
    Ok(())
}

/// The app was uninstalled: the portal is kept (history, billing) but its OAuth tokens are
/// wiped; a reinstall brings new ones. `purge_after`: the uninstall asked for the app's data
/// to be deleted (`CLEAN=1`); the retention sweep purges it after that time unless the app is
/// installed again first. `None`: the data stays under the tenant's retention.
pub async fn uninstall<C: ConnectionTrait>(
    c: &C,
    id: i64,
    purge_after: Option<i64>,
) -> Result<(), DbErr> {
    edit(c, id, |am, now| {
        am.installed = Set(false);
        am.access_token_enc = Set(String::new());
        am.refresh_token_enc = Set(String::new());
        am.uninstalled_at = Set(Some(now));
        am.purge_after = Set(purge_after);
    })
    .await?;
    Ok(())
}
