//! Cluster mode (`REDIS_URL` set): several nodes share one PostgreSQL and one Redis.
//!
//! - **Leases**: each portal / number actor (and the transcription runner) lives on exactly one
//!   node, the holder of the Redis key `<prefix>:lease:<owner>` (value: the node id, with a
//!   time to live). The holder renews it every quarter of its life; a node that cannot renew
//!   stops running that owner's work before the key can expire, so two nodes never run one
//!   owner's jobs at once (clocks need only run at the same rate, not agree).
//! - **Hand-off**: work that lands on another node is stored first (inbox, jobs) as always, then
//!   a note is published on the holder's channel `<prefix>:to:<node>`; the holder loads the
//!   stored items and runs them. A lost note costs latency only: every node's sweep finds
//!   stored work of owners nobody holds.
//! - **Failover**: a dead node stops renewing; when its keys expire, the next sweep of another
//!   node that sees the owner's stored work takes the lease and replays it.
//!
//! No consensus of our own: Redis's single-key atomicity (Lua scripts) is all we rely on.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use futures::StreamExt;
use redis::{aio::MultiplexedConnection, Script};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("bad forward note: {0}")]
    Note(#[from] serde_json::Error),
}

/// Who holds an owner's lease after an attempt to take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node; `moved_from` names the node that held it before, if another did.
    Mine { moved_from: Option<String> },
    /// Another node, alive (its lease has not expired).
    Other(String),
}

/// What a node asks an owner's holder to do (the work itself is already stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "snake_case")]
pub enum Work {
    /// Route these stored inbox items.
    Dispatch { ids: Vec<i64> },
    /// Run pending jobs.
    Kick,
    /// Reload stored data (install, tokens, number settings changed).
    Reload,
    /// `node` has handed its leases back and is stopping: forget it as a holder.
    Left { node: String },
}

/// A note on the holder's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub owner: String,
    #[serde(flatten)]
    pub work: Work,
    /// Times it was passed on (a lease that moved meanwhile); dropped past a few.
    #[serde(default)]
    pub hops: u8,
}

// Take (or keep) a lease. KEYS[1] lease key, KEYS[2] the hash of last holders (kept a day
// after the last change: it only tells whether a lease moved);
// ARGV[1] node id, ARGV[2] time to live in ms. Returns {1, previous holder or ""} when this
// node holds it now, {0, holder} otherwise.
const ACQUIRE: &str = r#"
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return {0, v} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local prev = redis.call('HGET', KEYS[2], KEYS[1])
redis.call('HSET', KEYS[2], KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], 86400000)
if v then prev = ARGV[1] end
return {1, prev or ''}
"#;

// Renew many leases at once: 1 for each key still ours (its life extended), 0 otherwise.
const RENEW: &str = r#"
local out = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2]); out[i] = 1
  else out[i] = 0 end
end
return out
"#;

// Release the keys that are still ours (graceful stop: others take over at once).
const RELEASE: &str = r#"
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k); n = n + 1 end
end
return n
"#;

// Count a login attempt against fixed windows shared by every node. KEYS[1] the account's
// counter, KEYS[2] the client IP's (may be absent); ARGV[1] per-account limit, ARGV[2] per-IP
// limit, ARGV[3] window in ms. {1, 0}: counted; {0, ms}: over a limit, wait ms (nothing counted).
const LOGIN_BEGIN: &str = r#"
local a = tonumber(redis.call('GET', KEYS[1]) or '0')
if a >= tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
if KEYS[2] then
  local i = tonumber(redis.call('GET', KEYS[2]) or '0')
  if i >= tonumber(ARGV[2]) then return {0, redis.call('PTTL', KEYS[2])} end
  if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, 0}
"#;

// A login succeeded: the account starts afresh, the IP's attempt is taken back.
const LOGIN_SUCCEEDED: &str = r#"
redis.call('DEL', KEYS[1])
if KEYS[2] and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
"#;

pub struct Cluster {
    node: String,
    prefix: String,
    lease: Duration,
    client: redis::Client,
    /// One multiplexed connection, dropped on any failure and opened again by the next call
    /// (a connection manager that gave up during an outage never came back in tests).
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Owner key → until when (this node's clock) it may run that owner's work.
    held: Mutex<HashMap<String, Instant>>,
    acquire: Script,
    renew: Script,
    release: Script,
    login_begin: Script,
    login_succeeded: Script,
}

/// How long any one Redis call may take before the caller treats Redis as down.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

impl Cluster {
    /// Connects when `REDIS_URL` is configured; `None` is the embedded default (one node).
    pub async fn connect(settings: &Settings) -> Result<Option<Self>, ClusterError> {
        let Some(url) = settings.redis_url.as_ref() else {
            return Ok(None);
        };
        let client = redis::Client::open(url.expose_secret())?;
        let node = settings.node_id.clone().unwrap_or_else(default_node_id);
        let cluster = Self {
            node,
            prefix: settings.redis_prefix.clone(),
            lease: Duration::from_millis(settings.lease_ms.max(300)),
            client,
            conn: tokio::sync::Mutex::new(None),
            held: Mutex::new(HashMap::new()),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
            login_begin: Script::new(LOGIN_BEGIN),
            login_succeeded: Script::new(LOGIN_SUCCEEDED),
        };
        // Listed as alive from the start, not only from the first renewal.
        cluster.heartbeat().await?;
        Ok(Some(cluster))
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// How often leases are renewed: four chances before one expires (three before this node
    /// stops trusting it, see `valid_until`).
    pub fn renew_every(&self) -> Duration {
        self.lease / 4
    }

    fn lease_key(&self, owner: &str) -> String {
        format!("{}:lease:{owner}", self.prefix)
    }

    fn owner_of_key<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(&self.prefix)?.strip_prefix(":lease:")
    }

    fn holders_key(&self) -> String {
        format!("{}:holders", self.prefix)
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    fn channel(&self, node: &str) -> String {
        format!("{}:to:{node}", self.prefix)
    }

    /// Whether this node may run `owner`'s work now: it holds the lease and its last renewal
    /// is recent enough that the key cannot have expired in Redis yet.
    pub fn holds(&self, owner: &str) -> bool {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(owner).is_some_and(|until| *until > Instant::now())
    }

    /// Owners whose lease this node believes it holds.
    pub fn held(&self) -> Vec<String> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.keys().cloned().collect()
    }

    /// Local validity of a lease set or renewed by a call sent at `sent`: a quarter of its
    /// life short of when Redis lets it go, so this node stops first.
    fn valid_until(&self, sent: Instant) -> Instant {
        sent + self.lease - self.lease / 4
    }

    /// The shared connection, opened if there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, ClusterError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = tokio::time::timeout(CALL_TIMEOUT, self.client.get_multiplexed_async_connection())
            .await
            .map_err(|_| ClusterError::Timeout(CALL_TIMEOUT))??;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Runs one request with the time limit; any failure drops the connection so the next
    /// request opens a fresh one.
    async fn run<T, F, Fut>(&self, request: F) -> Result<T, ClusterError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await?;
        let res = match tokio::time::timeout(CALL_TIMEOUT, request(conn)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => ClusterError::Redis(e),
            Err(_) => ClusterError::Timeout(CALL_TIMEOUT),
        };
        *self.conn.lock().await = None;
        Err(res)
    }

    async fn call<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, ClusterError> {
        self.run(|mut c| async move { inv.invoke_async(&mut c).await })
            .await
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, ClusterError> {
        self.run(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Takes `owner`'s lease if nobody holds it (or keeps it if this node does).
    pub async fn acquire(&self, owner: &str) -> Result<Claim, ClusterError> {
        let sent = Instant::now();
        let mut inv = self.acquire.prepare_invoke();
        inv.key(self.lease_key(owner))
            .key(self.holders_key())
            .arg(&self.node)
            .arg(self.lease.as_millis() as u64);
        let (ok, who): (i64, String) = self.call(inv).await?;
        if ok == 1 {
            let until = self.valid_until(sent);
            self.held
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(owner.to_string(), until);
            let moved_from = (!who.is_empty() && who != self.node).then_some(who);
            Ok(Claim::Mine { moved_from })
        } else {
            Ok(Claim::Other(who))
        }
    }

    /// Renews every lease this node holds and its own liveness key. Returns the owners whose
    /// lease was lost (taken by another node after it expired, or not renewable in time);
    /// this node no longer holds them.
    pub async fn renew(&self) -> Vec<String> {
        let owners = self.held();
        let sent = Instant::now();
        let alive = self.heartbeat();
        let renewed: Result<Vec<i64>, ClusterError> = if owners.is_empty() {
            Ok(Vec::new())
        } else {
            let mut inv = self.renew.prepare_invoke();
            for o in &owners {
                inv.key(self.lease_key(o));
            }
            inv.arg(&self.node).arg(self.lease.as_millis() as u64);
            self.call(inv).await
        };
        if let Err(e) = alive.await {
            tracing::warn!(error = %e, "cluster: liveness key not renewed");
        }
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut lost = Vec::new();
        match renewed {
            Ok(flags) => {
                for (owner, ok) in owners.iter().zip(flags) {
                    if ok == 1 {
                        held.insert(owner.clone(), self.valid_until(sent));
                    } else {
                        held.remove(owner);
                        lost.push(owner.clone());
                    }
                }
            }
            Err(e) => {
                // Not renewed: keep running only while the last renewal is still good.
                tracing::warn!(error = %e, leases = owners.len(), "cluster: leases not renewed");
                held.retain(|owner, until| {
                    let keep = *until > now;
                    if !keep {
                        lost.push(owner.clone());
                    }
                    keep
                });
            }
        }
        lost
    }

    async fn heartbeat(&self) -> Result<(), ClusterError> {
        let cmd = redis::cmd("SET")
            .arg(self.node_key(&self.node))
            .arg(1)
            .arg("PX")
            .arg(self.lease.as_millis() as u64)
            .to_owned();
        self.query::<()>(cmd).await
    }

    /// Gives up every lease this node holds (graceful stop), so others take over at once.
    pub async fn release_all(&self) -> Result<usize, ClusterError> {
        let owners: Vec<String> = {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            held.drain().map(|(k, _)| k).collect()
        };
        let del = redis::cmd("DEL").arg(self.node_key(&self.node)).to_owned();
        let _ = self.query::<i64>(del).await;
        if owners.is_empty() {
            return Ok(0);
        }
        let mut inv = self.release.prepare_invoke();
        for o in &owners {
            inv.key(self.lease_key(o));
        }
        inv.arg(&self.node);
        let n: i64 = self.call(inv).await?;
        Ok(n as usize)
    }

    /// Tells the other live nodes this one has left (after `release_all`), so they stop
    /// handing it work and take its actors at once.
    pub async fn announce_leaving(&self) -> Result<(), ClusterError> {
        let note = Note {
            owner: String::new(),
            work: Work::Left {
                node: self.node.clone(),
            },
            hops: 0,
        };
        for node in self.nodes().await? {
            if node != self.node {
                self.send(&node, &note).await?;
            }
        }
        Ok(())
    }

    /// The login limiter's keys: the account (hashed: no e-mail addresses in Redis) and the
    /// client IP.
    fn login_keys(&self, account: &str, ip: Option<std::net::IpAddr>) -> Vec<String> {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(account.as_bytes()));
        let mut keys = vec![format!("{}:login:account:{digest}", self.prefix)];
        if let Some(ip) = ip {
            keys.push(format!("{}:login:ip:{ip}", self.prefix));
        }
        keys
    }

    /// Counts a login attempt in windows every node shares (`Err(wait)`: over a limit, nothing
    /// counted).
    pub async fn login_begin(
        &self,
        account: &str,
        ip: Option<std::net::IpAddr>,
        per_account: u32,
        per_ip: u32,
        window: Duration,
    ) -> Result<Result<(), Duration>, ClusterError> {
        let mut inv = self.login_begin.prepare_invoke();
        for k in self.login_keys(account, ip) {
            inv.key(k);
        }
        inv.arg(per_account)
            .arg(per_ip)
            .arg(window.as_millis().max(1) as u64);
        let (ok, wait_ms): (i64, i64) = self.call(inv).await?;
        Ok(if ok == 1 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait_ms.max(1000) as u64))
        })
    }

    /// A login succeeded (see `login_begin`).
    pub async fn login_succeeded(
        &self,
        account: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), ClusterError> {
        let mut inv = self.login_succeeded.prepare_invoke();
        for k in self.login_keys(account, ip) {
            inv.key(k);
        }
        let _: i64 = self.call(inv).await?;
        Ok(())
    }

    /// Forgets a lease locally (its actor is being stopped for another reason).
    pub fn forget(&self, owner: &str) {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(owner);
    }

    /// Publishes `note` on `node`'s channel. Best effort: a note nobody hears is made good by
    /// the holder's sweep of stored work.
    pub async fn send(&self, node: &str, note: &Note) -> Result<(), ClusterError> {
        let payload = serde_json::to_string(note)?;
        let cmd = redis::cmd("PUBLISH")
            .arg(self.channel(node))
            .arg(payload)
            .to_owned();
        self.query::<i64>(cmd).await?;
        Ok(())
    }

    /// Notes for this node, as they arrive, until `stop` says so. Reconnects after an error.
    pub async fn listen(
        &self,
        mut deliver: impl FnMut(Note),
        stop: impl Fn() -> bool,
    ) -> Result<(), ClusterError> {
        let channel = self.channel(&self.node);
        while !stop() {
            let mut pubsub = match self.client.get_async_pubsub().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: cannot subscribe; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = pubsub.subscribe(&channel).await {
                tracing::warn!(error = %e, "cluster: cannot subscribe; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let mut messages = pubsub.on_message();
            loop {
                let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
                if stop() {
                    return Ok(());
                }
                match next {
                    Err(_) => continue,
                    Ok(None) => break,
                    Ok(Some(msg)) => {
                        let Ok(payload) = msg.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Note>(&payload) {
                            Ok(note) => deliver(note),
                            Err(e) => tracing::warn!(error = %e, "cluster: bad note dropped"),
                        }
                    }
                }
            }
            tracing::warn!("cluster: subscription closed; subscribing again");
        }
        Ok(())
    }

    /// Every lease in Redis: owner → holding node (support view and tests).
    pub async fn leases(&self) -> Result<Vec<(String, String)>, ClusterError> {
        let keys = self.scan(&format!("{}:lease:*", self.prefix)).await?;
        let mut out = Vec::new();
        for key in keys {
            let who: Option<String> = self.query(redis::cmd("GET").arg(&key).to_owned()).await?;
            if let (Some(owner), Some(who)) = (self.owner_of_key(&key), who) {
                out.push((owner.to_string(), who));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The nodes whose liveness key is current.
    pub async fn nodes(&self) -> Result<Vec<String>, ClusterError> {
        let prefix = format!("{}:node:", self.prefix);
        let mut nodes: Vec<String> = self
            .scan(&format!("{prefix}*"))
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .collect();
        nodes.sort();
        Ok(nodes)
    }

    async fn scan(&self, pattern: &str) -> Result<Vec<String>, ClusterError> {
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(500)
                        .to_owned(),
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(keys)
    }

    /// Redis answers PING (readiness).
    pub async fn ping(&self) -> Result<(), ClusterError> {
        self.query::<String>(redis::cmd("PING")).await?;
        Ok(())
    }
}

/// host-pid-random: unique per process, readable in logs.
fn default_node_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    let mut rnd = [0u8; 3];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut rnd);
    format!("{host}-{}-{}", std::process::id(), hex::encode(rnd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_as_json() {
        let note = Note {
            owner: "number:7".into(),
            work: Work::Dispatch { ids: vec![3, 4] },
            hops: 1,
        };
        let s = serde_json::to_string(&note).unwrap_or_default();
        assert_eq!(
            s,
            r#"{"owner":"number:7","work":"dispatch","ids":[3,4],"hops":1}"#
        );
        let back: Note = serde_json::from_str(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, note);
        let kick: Note = serde_json::from_str(r#"{"owner":"portal:1","work":"kick"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kick.work, Work::Kick);
        assert_eq!(kick.hops, 0);
    }
}
