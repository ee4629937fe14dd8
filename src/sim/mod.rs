//! Simulators of the providers b24wa talks to, shipped with the product: the tests drive them, and
//! `b24wa sandbox` (crate::sandbox) runs them so a prospect can try the relay without accounts:
//! - `bitrix::BitrixSim`: one Bitrix24 portal (REST, OAuth server, Open Lines connector, events),
//! - `graph::GraphSim`: the WhatsApp Cloud API (Graph API sends, signed webhooks),
//! - `gateway::GatewaySim`: the WhatsApp Web gateway (GREEN-API protocol: QR-linked instances,
//!   sends / edits / deletes, webhooks with retries),
//! - `evolution::EvolutionSim`: the self-hosted Web gateway Evolution API (instances, QR /
//!   pairing code, sends / edits / deletes, unordered webhooks with retries).
//!
//! All are actix-web servers on 127.0.0.1:0 started inside the caller's actix System, record every
//! call and support fault injection. See /work/shared/contracts/ for the behaviour they reproduce.
//! They listen on loopback only and are never started by `b24wa serve`.
//!
//! They are test equipment: a misuse by the caller (an unknown instance or message id) panics
//! with a message saying so; `try_start` reports a failure to listen as an error.

pub mod bitrix;
pub mod evolution;
mod faults;
pub mod gateway;
pub mod graph;
mod server;

// Every public name of the gateway sim starts with `Gateway` / `GATEWAY_` (no clash with graph's).
pub use bitrix::*;
// Every public name of the Evolution sim starts with `Evolution` / `EVOLUTION_`.
pub use evolution::*;
pub use gateway::*;
pub use graph::*;
pub use server::{Sim, Simulated};

use rand::RngCore;

/// Polls `f` every 10 ms until it is true (then `true`) or `timeout` has passed (`false`).
pub async fn poll_until(timeout: std::time::Duration, f: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The records `keep` accepts, cloned (what the simulators' inspection methods answer).
pub(crate) fn cloned_where<T: Clone>(records: &[T], keep: impl Fn(&T) -> bool) -> Vec<T> {
    records.iter().filter(|r| keep(r)).cloned().collect()
}

/// The inspection both Web gateway simulators offer over their state's `calls`, `sent`,
/// `reads`, `deliveries` and `pending` (records of types `$call`, `$sent`, `$read`): `calls`,
/// `sent`, `reads`, `pending_webhooks`, `clear_records`.
macro_rules! web_gateway_records {
    ($sim:ty: $call:ty, $sent:ty, $read:ty) => {
        impl $sim {
            /// Every API request, in order.
            pub fn calls(&self) -> Vec<$call> {
                self.st().calls.clone()
            }
            /// Messages that reached WhatsApp, in order.
            pub fn sent(&self) -> Vec<$sent> {
                self.st().sent.clone()
            }
            /// Accepted reads, in order.
            pub fn reads(&self) -> Vec<$read> {
                self.st().reads.clone()
            }
            /// Webhooks held because the instance is not linked.
            pub fn pending_webhooks(&self) -> usize {
                self.st().pending.len()
            }
            /// Forget recorded calls, deliveries and reads (not sent messages or state).
            pub fn clear_records(&self) {
                let mut st = self.st();
                st.calls.clear();
                st.deliveries.clear();
                st.reads.clear();
            }
        }
    };
}
pub(crate) use web_gateway_records;

/// Takes the items `mine` accepts out of `items` (the others stay, in order): the webhooks held
/// for an instance that has just linked.
pub(crate) fn take_where<T>(items: &mut Vec<T>, mine: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, rest) = std::mem::take(items).into_iter().partition(|i| mine(i));
    *items = rest;
    taken
}

/// `n_bytes` random bytes as lower-case hex (`2 * n_bytes` characters).
pub fn random_hex(n_bytes: usize) -> String {
    let mut buf = vec![0u8; n_bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A reqwest client for the test side: no redirects followed (a 302 is reported as such).
pub fn test_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(5))
        .build()
        // Building fails only when the TLS backend cannot start; the default client has the same.
        .unwrap_or_default()
}

/// Form-encode `pairs` as `application/x-www-form-urlencoded` (brackets percent-encoded like PHP's
/// `http_build_query`).
pub fn form_encode(pairs: &[(String, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// Decode an `application/x-www-form-urlencoded` body into ordered pairs.
pub fn form_decode(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of the first pair named `key` in a decoded form.
pub fn form_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
