//! What the sandbox page shows, in the shapes every number shares: a message on the customer's
//! phone (each gateway's records make these: [`super::green_api`], [`super::evolution`],
//! [`super::cloud`]), the ticks its receipts give, and the trace of the hops, with those between
//! b24wa and the portal. The operator's chat is [`super::console`].
//! Pure functions over the simulators' records, so they are unit-tested.

use serde::Serialize;

use crate::{
    i18n::Lang,
    sim::{Call, EventDelivery},
    tr,
};

/// A message on the customer's phone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhoneMessage {
    /// The gateway's `idMessage`.
    pub id: String,
    /// `customer` (written on this phone) or `business` (the operator's reply).
    pub from: &'static str,
    /// `text`, `voice`, `image`, `video`, `audio` or `document`.
    pub kind: String,
    pub text: String,
    /// `sent`, `delivered`, `read` or `failed`: of the customer's own messages as WhatsApp shows
    /// them to the customer (delivered = our webhook took it; read = we marked the chat read), and
    /// of the business's replies as the phone reported them back.
    pub ticks: Option<&'static str>,
    pub deleted: bool,
    pub edited: bool,
    pub at_ms: i64,
    /// A template's quick-reply buttons (Cloud API), which the customer can tap.
    pub buttons: Vec<String>,
}

impl PhoneMessage {
    /// A message the customer wrote, with the ticks their phone shows: read once we marked it
    /// (or a later one) read, delivered once our webhook route took it, else sent.
    pub fn customer(
        id: String,
        kind: &str,
        text: String,
        read: bool,
        delivered: bool,
        at_ms: i64,
    ) -> Self {
        let ticks = if read {
            "read"
        } else if delivered {
            "delivered"
        } else {
            "sent"
        };
        Self::new(id, "customer", kind, text, Some(ticks), at_ms)
    }

    /// A reply of the business, with the ticks its receipts (`statuses`) give.
    pub fn business(id: String, kind: &str, text: String, statuses: &[String], at_ms: i64) -> Self {
        Self::new(id, "business", kind, text, receipt_ticks(statuses), at_ms)
    }

    /// Not deleted, not edited, no buttons (the callers say otherwise).
    fn new(
        id: String,
        from: &'static str,
        kind: &str,
        text: String,
        ticks: Option<&'static str>,
        at_ms: i64,
    ) -> Self {
        Self {
            id,
            from,
            kind: kind.to_string(),
            text,
            ticks,
            deleted: false,
            edited: false,
            at_ms,
            buttons: Vec::new(),
        }
    }
}

/// The phone's messages oldest first (a stable sort: equal times keep the customer's before the
/// business's, as they were gathered).
pub fn oldest_first(mut out: Vec<PhoneMessage>) -> Vec<PhoneMessage> {
    out.sort_by_key(|m| m.at_ms);
    out
}

/// The furthest a message got by its receipts (they may arrive out of order): read beats
/// delivered beats sent; a failure counts only when nothing better arrived.
pub fn receipt_ticks(statuses: &[String]) -> Option<&'static str> {
    let rank = |s: &str| match s {
        "read" | "played" => 3,
        "delivered" => 2,
        "sent" => 1,
        _ => 0,
    };
    let best = statuses.iter().map(|s| rank(s)).max().unwrap_or(0);
    match best {
        3 => Some("read"),
        2 => Some("delivered"),
        1 => Some("sent"),
        _ if !statuses.is_empty() => Some("failed"),
        _ => None,
    }
}

/// One hop in the trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceEntry {
    pub at_ms: i64,
    /// Where it went: `whatsapp→b24wa`, `b24wa→whatsapp`, `b24wa→bitrix24`, `bitrix24→b24wa`.
    pub hop: &'static str,
    pub text: String,
    /// The HTTP status the receiving side answered.
    pub status: u16,
}

/// The hops on `hop` of the `records` that `text` names (the others say nothing new on this
/// page); `when` reads a record's time and the status the receiving side answered.
pub fn hops<'a, T: 'a>(
    hop: &'static str,
    records: impl IntoIterator<Item = &'a T>,
    when: impl Fn(&T) -> (i64, u16),
    text: impl Fn(&T) -> Option<String>,
) -> Vec<TraceEntry> {
    records
        .into_iter()
        .filter_map(|r| {
            let text = text(r)?;
            let (at_ms, status) = when(r);
            Some(TraceEntry {
                at_ms,
                hop,
                text,
                status,
            })
        })
        .collect()
}

/// `text`, saying which attempt it was when a webhook was delivered again.
pub fn with_attempt(lang: Lang, text: String, attempt: u32) -> String {
    if attempt > 1 {
        tr!(
            lang,
            "sandbox-trace-attempt",
            text = text,
            attempt = attempt
        )
    } else {
        text
    }
}

/// Newest first (equal times keep the order they were gathered in), at most `limit`.
pub fn newest_first(mut out: Vec<TraceEntry>, limit: usize) -> Vec<TraceEntry> {
    out.sort_by_key(|t| std::cmp::Reverse(t.at_ms));
    out.truncate(limit);
    out
}

/// The hops between b24wa and the portal (both ways).
pub fn b24_hops(lang: Lang, b24_calls: &[Call], b24_events: &[EventDelivery]) -> Vec<TraceEntry> {
    let calls = b24_calls.iter().filter(|c| c.method != "batch");
    let mut out = hops(
        "b24wa→bitrix24",
        calls,
        |c| (c.at_ms, c.status),
        |c| {
            Some(match c.method.as_str() {
                "imconnector.send.messages" => tr!(lang, "sandbox-trace-b24-send"),
                "imconnector.update.messages" => tr!(lang, "sandbox-trace-b24-update"),
                "imconnector.delete.messages" => tr!(lang, "sandbox-trace-b24-delete"),
                "imconnector.send.status.delivery" => tr!(lang, "sandbox-trace-b24-delivered"),
                "imconnector.send.status.reading" => tr!(lang, "sandbox-trace-b24-read"),
                "im.message.add" => tr!(lang, "sandbox-trace-b24-notice"),
                _ => return None,
            })
        },
    );
    out.extend(hops(
        "bitrix24→b24wa",
        b24_events,
        |e| (e.at_ms, e.status),
        |e| {
            Some(match e.event.to_ascii_uppercase().as_str() {
                "ONIMCONNECTORMESSAGEADD" => tr!(lang, "sandbox-trace-event-add"),
                "ONIMCONNECTORMESSAGEUPDATE" => tr!(lang, "sandbox-trace-event-update"),
                "ONIMCONNECTORMESSAGEDELETE" => tr!(lang, "sandbox-trace-event-delete"),
                _ => return None,
            })
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_out_of_order_never_go_back() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            receipt_ticks(&s(&["sent", "read", "delivered"])),
            Some("read")
        );
        assert_eq!(receipt_ticks(&s(&["sent", "delivered"])), Some("delivered"));
        assert_eq!(receipt_ticks(&s(&["noAccount"])), Some("failed"));
        assert_eq!(receipt_ticks(&[]), None);
    }
}
