//! Login brute-force limits: fixed windows of failed logins per account and per IP.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Attempts not followed by a success, per account (email) within the window.
    pub per_account: u32,
    /// Failed attempts per client IP within the window.
    pub per_ip: u32,
    pub window: Duration,
    /// Accounts and IPs tracked at most (the oldest windows are forgotten beyond it).
    pub max_entries: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_ip: 20,
            window: Duration::from_secs(15 * 60),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u32,
    started: Instant,
}

#[derive(Default)]
struct Counters {
    accounts: HashMap<String, Window>,
    ips: HashMap<IpAddr, Window>,
}

/// In-memory fixed windows of failed logins per account and per IP, for one node (in cluster
/// mode the same windows are kept in Redis, `Cluster::login_begin`, and this one only stands in
/// while Redis does not answer). An attempt is counted when it starts, so parallel guesses
/// cannot exceed the limit; a success takes it back and resets the account.
pub struct LoginLimiter {
    limits: LoginLimits,
    counters: Mutex<Counters>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            counters: Mutex::new(Counters::default()),
        }
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    /// Counts an attempt for `account` from `ip`, or says how long to wait when either is over
    /// its limit (then nothing is counted).
    pub fn begin(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let l = self.limits;
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let wait_account = blocked(c.accounts.get(account), l.per_account, l.window, now);
        let wait_ip = ip.and_then(|ip| blocked(c.ips.get(&ip), l.per_ip, l.window, now));
        if let Some(wait) = wait_account.max(wait_ip) {
            return Err(wait);
        }
        bump(&mut c.accounts, account.to_string(), l, now);
        if let Some(ip) = ip {
            bump(&mut c.ips, ip, l, now);
        }
        Ok(())
    }

    /// The attempt succeeded: the account starts afresh, and the IP's attempt is taken back.
    pub fn succeeded(&self, account: &str, ip: Option<IpAddr>) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.accounts.remove(account);
        if let Some(w) = ip.and_then(|ip| c.ips.get_mut(&ip)) {
            w.count = w.count.saturating_sub(1);
        }
    }
}

/// How long until `w` (with `limit` attempts used) admits another one, if it is full.
fn blocked(w: Option<&Window>, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
    let w = w?;
    let age = now.saturating_duration_since(w.started);
    (age < window && w.count >= limit).then(|| window - age)
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Window>,
    key: K,
    l: LoginLimits,
    now: Instant,
) {
    if !map.contains_key(&key) && map.len() >= l.max_entries {
        map.retain(|_, w| now.saturating_duration_since(w.started) < l.window);
        if map.len() >= l.max_entries {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
    }
    let w = map.entry(key).or_insert(Window {
        count: 0,
        started: now,
    });
    if now.saturating_duration_since(w.started) >= l.window {
        *w = Window {
            count: 0,
            started: now,
        };
    }
    w.count += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_the_limit_and_a_success_resets_the_account() {
        let l = LoginLimiter::new(LoginLimits {
            per_account: 2,
            per_ip: 3,
            window: Duration::from_secs(60),
            max_entries: 10,
        });
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        assert!(l.begin("a", ip).is_ok());
        assert!(l.begin("a", ip).is_ok());
        let wait = l.begin("a", ip).expect_err("blocked");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        l.succeeded("a", ip);
        assert!(l.begin("a", ip).is_ok());
        // The IP: two attempts counted (the success was taken back); b makes three, full.
        assert!(l.begin("b", ip).is_ok());
        assert!(l.begin("c", ip).is_err());
        assert!(l.begin("c", "10.0.0.2".parse().ok()).is_ok());
    }
}
