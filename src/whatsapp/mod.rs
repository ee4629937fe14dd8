//! WhatsApp transports. Knows nothing of Bitrix24.

pub mod cloud;
pub mod errors;
pub mod gateway;

/// A customer's new message, or the customer acting on an earlier one (both transports).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    New,
    /// The customer deleted `original` for everyone.
    Revoke {
        original: String,
    },
    /// The customer edited `original`; `text` is the new text.
    Edit {
        original: String,
        text: String,
    },
    /// A reaction to `target`; an empty emoji removes it.
    Reaction {
        target: String,
        emoji: String,
    },
}
