//! Accounting of what the providers' simulators received, for the crash and soak tests: which
//! deliveries may legitimately repeat after a hard kill, first arrivals and repeats, and the
//! Bitrix24 form/JSON helpers to read recorded calls.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use serde_json::Value;

use super::ProcessApp;

/// `reply c-iii` from a text sent with the Graph API (`*Sim Operator:*\nreply c-iii`).
pub fn reply_key(sent_text: &str) -> Option<String> {
    sent_text
        .rfind("reply ")
        .map(|at| sent_text[at..].to_string())
}

pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Meta (or the portal) delivering a webhook/event again until it gets an answer: a connection
/// error right after a restart (a pooled connection to the killed process) is retried, anything
/// else is returned.
pub async fn until_answered<F, Fut>(mut post: F) -> u16
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut status = 0;
    for _ in 0..5 {
        status = post().await;
        if status != 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

/// Object member by case-insensitive key.
pub fn member<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, x)| x)
}

/// A JSON array, or a PHP-form list (`{"0": …, "1": …}`).
pub fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(m)) => {
            let mut items: Vec<(usize, Value)> = m
                .iter()
                .filter_map(|(k, x)| Some((k.parse().ok()?, x.clone())))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, x)| x).collect()
        }
        _ => Vec::new(),
    }
}

pub fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// What the killed process may have had accepted by a provider without having recorded it: the
/// only deliveries that may legitimately happen a second time after the restart.
///
/// The bound, from how the service sends (src/actors/portal.rs and number.rs):
/// - Bitrix24: one portal actor runs one job runner at a time, in waves: the calls of a wave
///   (at most 8 batches, a send batch at most 50 items) run together and are all settled
///   (committed) before the next wave starts, and the batches of one wave have disjoint queue
///   keys (one queue per chat). So at the kill at most one `imconnector.send.messages` call per
///   chat is unsettled, and if Bitrix24 accepted it, it is the last accepted call carrying that
///   chat. A duplicate of a customer message is therefore one of the items of its chat in that
///   call, and it is sent again once per restart at most.
/// - Cloud API: one number actor sends in rounds of at most one job per chat (and at most 16
///   chats), all settled before the next round. So at the kill at most one send per chat is
///   unsettled (it may also be a mark-as-read, which sends no text), and if the Cloud API
///   accepted it, it is the last accepted send to that chat. A duplicate reply is therefore one
///   of these: at most one per chat per kill.
///
/// Neither provider takes an idempotency key, so a call accepted just before the kill and not
/// yet committed by us cannot be told apart from one that never arrived: it is sent again.
/// Taken after the process is reaped plus a pause, so a request already on the wire when the
/// process died has been handled by the simulator too.
pub struct InFlight {
    /// Customer wamids: per chat, the items of the last accepted send.messages call with it.
    pub b24: HashSet<String>,
    /// Reply keys: per chat, the last accepted Graph send to it.
    pub wa: HashSet<String>,
}

impl InFlight {
    pub fn snapshot(app: &ProcessApp) -> Self {
        let mut last_call_of_chat: HashMap<String, Vec<String>> = HashMap::new();
        for call in app.b24.calls_of("imconnector.send.messages") {
            if call.status != 200 {
                continue;
            }
            let mut in_call: HashMap<String, Vec<String>> = HashMap::new();
            for item in list(member(&call.body, "MESSAGES")) {
                let chat = scalar(member(&item, "chat").and_then(|c| member(c, "id")));
                let id = scalar(member(&item, "message").and_then(|m| member(m, "id")));
                in_call.entry(chat).or_default().push(id);
            }
            last_call_of_chat.extend(in_call);
        }
        let mut last_send_to: HashMap<String, String> = HashMap::new();
        for m in app.graph.sent_messages() {
            if let Some(key) = reply_key(&m.text) {
                last_send_to.insert(digits(&m.to), key);
            }
        }
        Self {
            b24: last_call_of_chat.into_values().flatten().collect(),
            wa: last_send_to.into_values().collect(),
        }
    }
}

/// Ids in order of first arrival, and how many arrivals were repeats (per id).
pub fn first_arrivals(
    ids: impl IntoIterator<Item = String>,
) -> (Vec<String>, HashMap<String, usize>) {
    let mut seen = HashSet::new();
    let mut first = Vec::new();
    let mut repeats: HashMap<String, usize> = HashMap::new();
    for id in ids {
        if seen.insert(id.clone()) {
            first.push(id);
        } else {
            *repeats.entry(id).or_default() += 1;
        }
    }
    (first, repeats)
}
