//! A message's states. Inbound: received (stored) → forwarded (Bitrix24 accepted it). Outbound,
//! forward only: queued < sent < delivered < read; failed and deleted are terminal. What a
//! WhatsApp receipt does to an outbound message is decided here ([`on_receipt`]).

pub const IN: &str = "in";
pub const OUT: &str = "out";

/// Inbound states: received (stored) → forwarded (Bitrix24 accepted it).
pub const RECEIVED: &str = "received";
pub const FORWARDED: &str = "forwarded";
/// Outbound states, forward only: queued < sent < delivered < read; failed is terminal.
pub const QUEUED: &str = "queued";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const READ: &str = "read";
pub const FAILED: &str = "failed";
/// Deleted (by the operator, or by the customer for an inbound message); terminal.
pub const DELETED: &str = "deleted";

/// Rank of an outbound state; `None` for terminal states that nothing may overwrite.
pub fn rank(status: &str) -> Option<u8> {
    match status {
        QUEUED => Some(0),
        SENT => Some(1),
        DELIVERED => Some(2),
        READ => Some(3),
        _ => None,
    }
}

/// What a WhatsApp receipt does to an outbound message in state `current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptEffect {
    /// Nothing: a terminal state, a step back or sideways, or a status we do not know.
    Ignore,
    /// The message failed (only before it was delivered): the operator is told why.
    Fail,
    /// The message moves forward to `to`; Bitrix24 is told `delivered` and/or `read` (in that
    /// order), each step once: a read that skipped delivered reports both.
    Advance {
        to: &'static str,
        report_delivered: bool,
        report_read: bool,
    },
}

/// The effect of receipt `reported` (`sent`, `delivered`, `read`, `played`, `failed`) on an
/// outbound message now in state `current`.
pub fn on_receipt(current: &str, reported: &str) -> ReceiptEffect {
    let Some(current) = rank(current) else {
        // failed/deleted are terminal.
        return ReceiptEffect::Ignore;
    };
    let to = match reported {
        // A voice note listened to is read.
        "played" | READ => READ,
        SENT => SENT,
        DELIVERED => DELIVERED,
        QUEUED => QUEUED,
        FAILED if current < 2 => return ReceiptEffect::Fail,
        _ => return ReceiptEffect::Ignore,
    };
    let new = rank(to).unwrap_or(0);
    if new <= current {
        return ReceiptEffect::Ignore;
    }
    ReceiptEffect::Advance {
        to,
        report_delivered: current < 2 && new >= 2,
        report_read: new >= 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advance(to: &'static str, d: bool, r: bool) -> ReceiptEffect {
        ReceiptEffect::Advance {
            to,
            report_delivered: d,
            report_read: r,
        }
    }

    #[test]
    fn receipts_move_forward_only() {
        assert_eq!(on_receipt(QUEUED, SENT), advance(SENT, false, false));
        assert_eq!(on_receipt(SENT, DELIVERED), advance(DELIVERED, true, false));
        assert_eq!(on_receipt(DELIVERED, READ), advance(READ, false, true));
        // A read that skipped delivered reports both, delivered first.
        assert_eq!(on_receipt(SENT, READ), advance(READ, true, true));
        assert_eq!(on_receipt(QUEUED, "played"), advance(READ, true, true));
        // Late or repeated receipts change nothing.
        assert_eq!(on_receipt(READ, DELIVERED), ReceiptEffect::Ignore);
        assert_eq!(on_receipt(DELIVERED, DELIVERED), ReceiptEffect::Ignore);
        assert_eq!(on_receipt(DELIVERED, SENT), ReceiptEffect::Ignore);
        assert_eq!(on_receipt(SENT, "warning"), ReceiptEffect::Ignore);
    }

    #[test]
    fn failed_and_deleted_are_terminal_and_failure_comes_only_before_delivery() {
        assert_eq!(on_receipt(QUEUED, FAILED), ReceiptEffect::Fail);
        assert_eq!(on_receipt(SENT, FAILED), ReceiptEffect::Fail);
        assert_eq!(on_receipt(DELIVERED, FAILED), ReceiptEffect::Ignore);
        assert_eq!(on_receipt(READ, FAILED), ReceiptEffect::Ignore);
        for terminal in [FAILED, DELETED] {
            for r in [SENT, DELIVERED, READ, FAILED] {
                assert_eq!(on_receipt(terminal, r), ReceiptEffect::Ignore);
            }
        }
    }
}
