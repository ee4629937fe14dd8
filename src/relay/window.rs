//! The Cloud API's customer-service window (whatsapp-templates.md §1): free text reaches a
//! customer only within 24 hours of their last message; after that only a template does. Known
//! from our own data (the customer's message timestamps), never from a status webhook's
//! `conversation.expiration_timestamp`, which is a billing period. A 131047 failure is
//! authoritative: the window stays closed until the customer writes again.

/// How long a customer's message keeps the window open, in milliseconds.
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A chat's window at one moment. All times in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Free text goes until `until`.
    Open { until: i64 },
    /// Only a template goes. `since`: when it closed; `None` when the customer never wrote.
    Closed { since: Option<i64> },
}

impl Window {
    pub fn is_open(self) -> bool {
        matches!(self, Window::Open { .. })
    }
}

/// The window at `now`, from the customer's last message time (`last_inbound_at`, the
/// message's own timestamp) and the time a 131047 failure closed it (`closed_at`).
pub fn at(last_inbound_at: Option<i64>, closed_at: Option<i64>, now: i64) -> Window {
    let Some(last) = last_inbound_at else {
        return Window::Closed { since: closed_at };
    };
    let expires = last.saturating_add(WINDOW_MS);
    // A failure after the customer's last message closes it; one from before does not (the
    // customer wrote again since). Message times have whole seconds: a failure within the
    // same second as the message does not count as after it.
    if let Some(closed) = closed_at.filter(|c| c / 1000 > last / 1000) {
        return Window::Closed {
            since: Some(closed.min(expires)),
        };
    }
    if now < expires {
        Window::Open { until: expires }
    } else {
        Window::Closed {
            since: Some(expires),
        }
    }
}

/// The customer's last message time after one more message at `timestamp`: webhooks arrive
/// out of order and late, so an older message never moves it back.
pub fn after_inbound(last_inbound_at: Option<i64>, timestamp: i64) -> i64 {
    last_inbound_at.map_or(timestamp, |last| last.max(timestamp))
}

/// The Cloud API code of a send refused because the window is closed.
pub const REENGAGEMENT_CODE: i64 = 131047;

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 60 * 60 * 1000;

    #[test]
    fn open_for_24_hours_after_the_customers_message() {
        let t = 1_700_000_000_000;
        assert_eq!(at(Some(t), None, t + H), Window::Open { until: t + 24 * H });
        assert_eq!(
            at(Some(t), None, t + 24 * H),
            Window::Closed {
                since: Some(t + 24 * H)
            }
        );
    }

    #[test]
    fn closed_when_the_customer_never_wrote() {
        assert_eq!(at(None, None, 5), Window::Closed { since: None });
        assert_eq!(at(None, Some(3), 5), Window::Closed { since: Some(3) });
    }

    #[test]
    fn a_131047_closes_it_until_the_customer_writes_again() {
        let t = 1_700_000_000_000;
        // Our clock says open, WhatsApp said closed: WhatsApp wins.
        assert_eq!(
            at(Some(t), Some(t + 2 * H), t + 3 * H),
            Window::Closed {
                since: Some(t + 2 * H)
            }
        );
        // The customer wrote after the failure: open again.
        let later = t + 4 * H;
        assert_eq!(
            at(Some(later), Some(t + 2 * H), later + H),
            Window::Open {
                until: later + 24 * H
            }
        );
        // A failure long after expiry: closed since the expiry.
        assert_eq!(
            at(Some(t), Some(t + 30 * H), t + 31 * H),
            Window::Closed {
                since: Some(t + 24 * H)
            }
        );
    }

    #[test]
    fn a_message_in_the_same_second_as_the_failure_reopens_it() {
        let t = 1_700_000_000_000;
        // Failed at t + 400 ms; the customer's message stamped t (whole seconds) came after.
        assert!(at(Some(t), Some(t + 400), t + 1_000).is_open());
        assert!(!at(Some(t), Some(t + 1_000), t + 2_000).is_open());
    }

    #[test]
    fn a_late_old_message_never_moves_the_window_back() {
        assert_eq!(after_inbound(None, 10), 10);
        assert_eq!(after_inbound(Some(20), 10), 20);
        assert_eq!(after_inbound(Some(20), 30), 30);
    }
}
