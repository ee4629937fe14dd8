//! A portal's OAuth session: its endpoints, its tokens with the single-flight refresh (one
//! refresh at a time per portal; callers that saw the old pair wait for the new one, a pair the
//! portal rejects too young is not refreshed again), the newer stored tokens taken in place
//! (reinstall, app update, another node), and the portal's REST rate limit. The portal actor
//! holds one for its whole life and calls through it.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use serde_json::Value;

use super::{rate::LeakyBucket, B24Client, B24Error};
use crate::{
    config::Settings,
    store::{crypto::SecretBox, portals, StoreError},
};

struct Tokens {
    access: SecretString,
    refresh: SecretString,
    /// The OAuth server's REST base (it comes with the tokens, from the install).
    server_endpoint: String,
    /// Bumped whenever the pair in hand changes (a refresh, or newer stored tokens taken).
    generation: u64,
    /// Bumped whenever newer stored tokens were taken (reinstall, app update, another node).
    syncs: u64,
    /// Why no call can be made with these tokens; cleared when new ones are stored (reinstall).
    blocked: Option<Blocked>,
    /// When this session got the pair in hand from the OAuth server (`None`: from the store).
    refreshed_at: Option<Instant>,
}

#[derive(Clone)]
pub enum Blocked {
    /// The app was uninstalled: no tokens.
    Uninstalled,
    /// The OAuth server refused the refresh (its error): the portal needs re-authorisation.
    Reauth(String),
}

impl Blocked {
    fn error(&self) -> B24Error {
        match self {
            Blocked::Uninstalled => B24Error::NotInstalled,
            Blocked::Reauth(why) => B24Error::NeedsReauth(why.clone()),
        }
    }
}

/// A pair this young that the portal rejects with a code other than `expired_token` is not
/// refreshed again: a new one would not fare better, and refreshing per call gets an app
/// blocked by the OAuth server (bitrix24-crm §5).
const FRESH_PAIR: Duration = Duration::from_secs(60);

/// What comparing the tokens in hand with the stored ones found.
enum Synced {
    /// The same pair.
    Same,
    /// Newer stored tokens (a reinstall, an app update, a refresh on another node): taken.
    Replaced,
    /// The portal is uninstalled (or gone): nothing can be called.
    Uninstalled,
}

/// How an auth failure was answered.
#[derive(PartialEq)]
enum Renewal {
    /// Another caller's refresh put a new pair in hand: try again.
    Replaced,
    /// Refreshed through the OAuth server: try again, once.
    Refreshed,
    /// Nothing worth doing: the call's error stands.
    GiveUp,
}

/// Renewing an idle portal's tokens failed (the next sweep tries again).
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("reading the portal failed: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Refresh(#[from] B24Error),
}

/// A portal's live session: endpoints, tokens and rate limiter. One per actor, for its whole
/// life: a reload (install, reinstall, uninstall, app update) replaces the tokens inside it, so
/// a job runner already under way uses the new ones from its next call.
pub struct PortalSession {
    db: DatabaseConnection,
    secrets: SecretBox,
    client: B24Client,
    portal_id: i64,
    client_endpoint: Mutex<String>,
    tokens: tokio::sync::Mutex<Tokens>,
    bucket: Mutex<LeakyBucket>,
}

impl PortalSession {
    /// The session of portal `m` (its stored tokens), calling through `client` and keeping
    /// refreshed tokens in `db` (encrypted with `secrets`).
    pub fn load(
        db: DatabaseConnection,
        secrets: SecretBox,
        client: B24Client,
        settings: &Settings,
        m: &entity::portals::Model,
    ) -> Result<Self, StoreError> {
        let s = portals::secrets(&secrets, m)?;
        Ok(Self {
            db,
            secrets,
            client,
            portal_id: m.id,
            client_endpoint: Mutex::new(s.client_endpoint),
            tokens: tokio::sync::Mutex::new(Tokens {
                access: s.access_token,
                refresh: s.refresh_token,
                server_endpoint: s.server_endpoint,
                generation: 0,
                syncs: 0,
                blocked: (!m.installed).then_some(Blocked::Uninstalled),
                refreshed_at: None,
            }),
            bucket: Mutex::new(LeakyBucket::new(
                settings.b24_rate_burst,
                settings.b24_rate_per_sec,
            )),
        })
    }

    async fn acquire(&self, cost: f64) {
        loop {
            let wait = match self.bucket.lock() {
                Ok(mut b) => match b.try_take(cost, Instant::now()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                },
                Err(_) => return,
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn endpoint(&self) -> String {
        self.client_endpoint
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// Why nothing can be called now (uninstalled, or waiting for a re-authorisation).
    /// The portal this session calls.
    pub fn portal_id(&self) -> i64 {
        self.portal_id
    }

    pub async fn blocked(&self) -> Option<Blocked> {
        self.tokens.lock().await.blocked.clone()
    }

    /// One REST call, rate-limited. When the portal does not accept the access token (401):
    /// first the stored tokens, if they are newer than ours (a reinstall or another node's
    /// refresh replaced them); then at most one refresh, after which the call is repeated.
    /// A refused refresh blocks the session until new tokens are stored (`NeedsReauth`).
    pub async fn call(&self, method: &str, params: &Value) -> Result<Value, B24Error> {
        let mut renewals = 0;
        let mut refreshed = false;
        loop {
            self.acquire(1.0).await;
            let (token, seen) = {
                let t = self.tokens.lock().await;
                if let Some(b) = &t.blocked {
                    return Err(b.error());
                }
                (t.access.clone(), (t.generation, t.syncs))
            };
            let res = self
                .client
                .call(&self.endpoint(), &token, method, params)
                .await;
            let res = match res {
                Ok((v, Some(moved))) => {
                    self.moved_to(&moved).await;
                    Ok(v)
                }
                Ok((v, None)) => Ok(v),
                Err(e) => Err(e),
            };
            match res {
                Err(e) if e.is_auth() && !refreshed && renewals < 2 => {
                    renewals += 1;
                    match self.renew(seen, &e).await? {
                        Renewal::Replaced => {}
                        Renewal::Refreshed => refreshed = true,
                        Renewal::GiveUp => return Err(e),
                    }
                }
                Err(B24Error::RateLimited(d)) => {
                    if let Ok(mut b) = self.bucket.lock() {
                        b.fill();
                    }
                    return Err(B24Error::RateLimited(d));
                }
                other => return other,
            }
        }
    }

    /// The portal moved to a new address (302): use it from now on and store it.
    async fn moved_to(&self, endpoint: &str) {
        if let Ok(mut e) = self.client_endpoint.lock() {
            if e.as_str() == endpoint {
                return;
            }
            *e = endpoint.to_string();
        }
        tracing::info!(portal = self.portal_id, endpoint = %endpoint, "portal moved; new REST base stored");
        if let Err(e) = portals::set_client_endpoint(&self.db, self.portal_id, endpoint).await {
            tracing::warn!(portal = self.portal_id, error = %e, "storing the portal's new address failed");
        }
    }

    /// The portal rejected the pair of `seen_generation` with `error`. Single flight: whoever
    /// holds the token lock renews; callers that saw the same generation then use its result.
    /// Stored tokens newer than the rejected pair (a reinstall, say) send the job back to its
    /// queue (`TokensReplaced`) rather than repeating the call at once: after a reinstall the
    /// setup must run first.
    async fn renew(&self, seen: (u64, u64), error: &B24Error) -> Result<Renewal, B24Error> {
        let (seen_generation, seen_syncs) = seen;
        let mut t = self.tokens.lock().await;
        if let Some(b) = &t.blocked {
            // Another caller's refresh was just refused, or the app is gone: no second try.
            return Err(b.error());
        }
        if t.syncs != seen_syncs {
            return Err(B24Error::TokensReplaced);
        }
        if t.generation != seen_generation {
            return Ok(Renewal::Replaced);
        }
        match self.sync_locked(&mut t).await {
            Ok(Synced::Replaced) => return Err(B24Error::TokensReplaced),
            Ok(Synced::Uninstalled) => return Err(B24Error::NotInstalled),
            Ok(Synced::Same) => {}
            // Cannot tell whether the store has newer tokens: try again later.
            Err(e) => return Err(B24Error::Network(format!("database: {e}"))),
        }
        if !matches!(error, B24Error::ExpiredToken)
            && t.refreshed_at.is_some_and(|at| at.elapsed() < FRESH_PAIR)
        {
            return Ok(Renewal::GiveUp);
        }
        tracing::info!(
            portal = self.portal_id,
            code = error.code(),
            "the portal rejected the access token; refreshing"
        );
        self.refresh_locked(&mut t).await?;
        Ok(Renewal::Refreshed)
    }

    /// Takes the stored tokens (the caller holds the token lock, so no refresh runs meanwhile)
    /// when they are not the pair in hand: an install, reinstall or app update stored new ones,
    /// or another node refreshed. Uninstalled: blocks the session.
    async fn sync_locked(&self, t: &mut Tokens) -> Result<Synced, sea_orm::DbErr> {
        use secrecy::ExposeSecret;
        let m = portals::get(&self.db, self.portal_id).await?;
        let Some(m) = m.filter(|m| m.installed) else {
            t.blocked = Some(Blocked::Uninstalled);
            return Ok(Synced::Uninstalled);
        };
        let s = match portals::secrets(&self.secrets, &m) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(portal = self.portal_id, error = %e, "portal secrets unreadable");
                t.blocked = Some(Blocked::Reauth(format!("stored tokens unreadable: {e}")));
                return Ok(Synced::Uninstalled);
            }
        };
        let same = s.access_token.expose_secret() == t.access.expose_secret()
            && s.refresh_token.expose_secret() == t.refresh.expose_secret();
        if same {
            if matches!(t.blocked, Some(Blocked::Uninstalled)) {
                t.blocked = None;
            }
            return Ok(Synced::Same);
        }
        if let Ok(mut e) = self.client_endpoint.lock() {
            *e = s.client_endpoint;
        }
        t.access = s.access_token;
        t.refresh = s.refresh_token;
        t.server_endpoint = s.server_endpoint;
        t.generation += 1;
        t.syncs += 1;
        t.blocked = None;
        t.refreshed_at = None;
        tracing::info!(portal = self.portal_id, "stored tokens taken");
        Ok(Synced::Replaced)
    }

    /// The stored tokens changed (install, reinstall, uninstall, app update): takes them, under
    /// the token lock. Returns whether calls can be made.
    pub async fn reload(&self) -> Result<bool, sea_orm::DbErr> {
        let mut t = self.tokens.lock().await;
        let synced = self.sync_locked(&mut t).await?;
        Ok(!matches!(synced, Synced::Uninstalled) && t.blocked.is_none())
    }

    /// Idle portals keep their refresh token (it lives 180 days): refreshes once the last
    /// refresh is `after_ms` old, never sooner. The time is the stored one (every refresh and
    /// install stores it, on whichever node); the refresh itself is the same single flight as
    /// a call's. Returns whether it refreshed.
    pub async fn renew_if_idle(&self, after_ms: i64) -> Result<bool, RenewError> {
        let seen = self.tokens.lock().await.generation;
        // Read without holding the token lock: nothing waits on the database while holding it.
        let Some(m) = portals::get(&self.db, self.portal_id).await? else {
            return Ok(false);
        };
        if !m.installed
            || m.refreshed_at
                .is_some_and(|at| crate::clock::now_ms().saturating_sub(at) < after_ms)
        {
            return Ok(false);
        }
        let mut t = self.tokens.lock().await;
        if t.generation != seen || t.blocked.is_some() {
            // A call refreshed meanwhile (after the read), or the portal waits for a reinstall.
            return Ok(false);
        }
        self.refresh_locked(&mut t).await?;
        Ok(true)
    }

    /// The refresh itself; the caller holds the token lock. A refusal by the OAuth server
    /// (`invalid_grant`, `invalid_client`, `PAYMENT_REQUIRED`, ...) blocks the session: the
    /// portal needs re-authorisation, and its jobs wait for it (`NeedsReauth`) instead of
    /// asking the OAuth server again and again.
    async fn refresh_locked(&self, t: &mut Tokens) -> Result<(), B24Error> {
        use secrecy::ExposeSecret;
        if t.refresh.expose_secret().is_empty() {
            // Refused before (see below): asking again cannot help. Not blocked: the held jobs
            // try again (with backoff) with the access token in hand, which the next event may
            // have replaced, until an admin opens the app.
            return Err(B24Error::NeedsReauth(
                "no refresh token: the OAuth server refused the last one".to_string(),
            ));
        }
        let pair = match self.client.refresh(&t.server_endpoint, &t.refresh).await {
            Ok(pair) => pair,
            Err(e @ B24Error::OAuth { .. }) => {
                tracing::error!(
                    portal = self.portal_id,
                    code = e.code(),
                    error = %e,
                    "the OAuth server refused the portal's refresh: it needs re-authorisation (install the app again); its jobs wait"
                );
                // Forgotten in the store, so that the next event's access token can stand in
                // (a refresh whose answer was lost, to a crash or the network, ends here too:
                // the OAuth server had already replaced the token).
                if let Err(err) = portals::forget_refresh_token(
                    &self.db,
                    &self.secrets,
                    self.portal_id,
                    &t.refresh,
                )
                .await
                {
                    tracing::warn!(portal = self.portal_id, error = %err, "forgetting the refused refresh token failed");
                }
                let why = e.to_string();
                t.blocked = Some(Blocked::Reauth(why.clone()));
                return Err(B24Error::NeedsReauth(why));
            }
            Err(e) => return Err(e),
        };
        // The old refresh token is dead now: persist the new pair before using it.
        let mut attempt = 0;
        loop {
            match portals::update_tokens(
                &self.db,
                &self.secrets,
                self.portal_id,
                &pair.access_token,
                &pair.refresh_token,
                pair.expires_in,
                pair.client_endpoint.as_deref(),
            )
            .await
            {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(portal = self.portal_id, error = %e, "storing refreshed tokens failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    tracing::error!(portal = self.portal_id, error = %e, "refreshed tokens could not be stored");
                    break;
                }
            }
        }
        if let Some(ep) = &pair.client_endpoint {
            if let Ok(mut e) = self.client_endpoint.lock() {
                *e = ep.clone();
            }
        }
        t.access = pair.access_token;
        t.refresh = pair.refresh_token;
        t.generation += 1;
        t.refreshed_at = Some(Instant::now());
        tracing::info!(portal = self.portal_id, "access token refreshed");
        Ok(())
    }
}
