//! WhatsApp transports. Knows nothing of Bitrix24.

pub mod cloud;
pub mod errors;
pub mod gateway;

/// A customer's new message, or the customer acting on an earlier one (both transports).
/// Stored as is with the inbox item (`kind` tag).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    #[default]
    New,
    /// The customer deleted `original` for everyone.
    Revoke { original: String },
    /// The customer edited `original`; `text` is the new text.
    Edit { original: String, text: String },
    /// A reaction to `target`; an empty emoji removes it.
    Reaction { target: String, emoji: String },
}
