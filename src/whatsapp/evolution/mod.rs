//! The Evolution API transport (2.x, Baileys channel): a self-hosted WhatsApp Web gateway, an
//! instance linked to a phone by QR or pairing code. Contract: /work/shared/contracts/evolution.md.
//! Knows nothing of Bitrix24 (its BBCode aside) nor of the GREEN-API transport.
//!
//! - `client`: the calls' transport and errors that tell a retry from a give-up; the typed calls
//!   are in `instances` (the instance, its session and webhook) and `messages` (sends, chat
//!   operations); `types`: what the calls take and give,
//! - `webhook`: the webhook envelope decoded into [`webhook::EvoEvent`], in the product's
//!   vocabulary (`Action`, `Shown`, statuses sent / delivered / read / failed).
//!
//! # Webhook authentication: which of the contract's options, and why
//!
//! Evolution signs nothing. Of its options (contract §2: (a) a static header through
//! `webhook.headers`, (b) `headers.jwt_key` turned into an HS256 `Authorization: Bearer` JWT,
//! (c) a secret in the URL, (d) the body's `apikey`), b24wa uses **(a)**: a random per-number
//! secret, sent as the [`SECRET_HEADER`] header, compared in constant time
//! (`http::webhooks::web_number::secret_matches`), plus a check that the body's `instance` is the number's instance.
//! - (c) is out: Evolution echoes the configured URL in every body (`destination`), so the
//!   secret would land in every log that keeps a body, besides proxies' access logs.
//! - (d) is out: `apikey` is `null` unless the server exposes tokens
//!   (`AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES`), and it is the instance's API credential:
//!   receiving it would make every webhook carry the key that sends messages.
//! - (b) is not better than (a) here: the JWT's claims bind neither the body nor the instance
//!   (a captured token replays any body for 10 minutes), it depends on the Evolution host's
//!   clock (whose `date_time` is already not UTC), and the secret sits in Evolution's database
//!   exactly as (a)'s does. Over HTTPS, (a) gives the same guarantee with one comparison and
//!   works on every 2.x version. The header name is ours so a reverse proxy can strip it from
//!   its logs.
//!
//! Only the per-instance webhook carries the header: a server's global webhook
//! (`WEBHOOK_GLOBAL_URL`) does not, and is refused like a forgery.

pub mod client;
mod instances;
mod messages;
pub mod types;
pub mod webhook;

pub use client::{EvolutionClient, EvolutionError};
pub use types::*;
pub use webhook::{EvoEvent, EvoWebhookError, Webhook};

use secrecy::SecretString;

/// One Evolution instance: the server, the instance's name, and the key the client sends as
/// `apikey` (the server's global key, needed to create the instance, or the instance's own
/// token, the `hash` that `create` returns; the latter is enough for everything else).
#[derive(Clone)]
pub struct Instance {
    /// `SERVER_URL`, e.g. `https://evo.example.com` (no trailing slash needed).
    pub base_url: String,
    pub name: String,
    pub api_key: SecretString,
}

// Not derived: the key must never reach a log.
impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("base_url", &self.base_url)
            .field("name", &self.name)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// The header b24wa asks Evolution to send with every webhook (option (a) above).
pub const SECRET_HEADER: &str = "x-b24wa-secret";

/// The webhook events b24wa subscribes to (`webhook.events`, UPPER_SNAKE as Evolution wants).
/// `SEND_MESSAGE` echoes our own sends: it names the id of a send whose answer was lost (a
/// timeout after the server sent it). Contacts are left out (a first sync posts the whole
/// address book); avatars come from `fetchProfilePictureUrl`.
pub const WEBHOOK_EVENTS: [&str; 8] = [
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "MESSAGES_EDITED",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONNECTION_UPDATE",
    "QRCODE_UPDATED",
];

/// A session state (`connectionState`, `connection.update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Logged in: sends work.
    Open,
    /// The socket is starting, or waits for the QR / pairing code.
    Connecting,
    /// No session: never paired, logged out from the phone, or refused.
    Close,
    /// The QR limit was reached without a scan (`connection.update` only); the session ended.
    Refused,
    /// A word this version does not know.
    Other(String),
}

impl ConnState {
    pub fn parse(s: &str) -> Self {
        match s {
            "open" => ConnState::Open,
            "connecting" => ConnState::Connecting,
            "close" => ConnState::Close,
            "refused" => ConnState::Refused,
            other => ConnState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ConnState::Open => "open",
            ConnState::Connecting => "connecting",
            ConnState::Close => "close",
            ConnState::Refused => "refused",
            ConnState::Other(s) => s,
        }
    }
}

/// What a JID names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jid {
    /// A person by phone: E.164 digits (`…@s.whatsapp.net`; the device suffix `:NN` dropped).
    Phone(String),
    /// A person by LID (`…@lid`, opaque digits, not a phone number).
    Lid(String),
    /// A group, a status broadcast, a channel, or anything else: not a customer chat.
    Other(String),
}

impl Jid {
    pub fn parse(jid: &str) -> Self {
        let Some((user, server)) = jid.split_once('@') else {
            return Jid::Other(jid.to_string());
        };
        // `5511…:12@s.whatsapp.net` is one device of the account.
        let user = user.split_once(':').map_or(user, |(u, _)| u);
        let digits = !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit());
        match server {
            "s.whatsapp.net" | "c.us" if digits => Jid::Phone(user.to_string()),
            "lid" if digits => Jid::Lid(user.to_string()),
            _ => Jid::Other(jid.to_string()),
        }
    }
}

/// `5511988887777` → `5511988887777@s.whatsapp.net`.
pub fn phone_jid(digits: &str) -> String {
    format!("{digits}@s.whatsapp.net")
}

/// `123456789` → `123456789@lid`.
pub fn lid_jid(lid: &str) -> String {
    format!("{lid}@lid")
}

/// A customer as a webhook names them: by phone, by LID, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Peer {
    /// E.164 digits, when the payload carries the phone (`remoteJid`, `remoteJidAlt`,
    /// `senderPn`).
    pub phone: Option<String>,
    /// The LID's digits, when WhatsApp addressed the chat by LID.
    pub lid: Option<String>,
}

impl Peer {
    /// The key a chat is stored under: the phone's digits, else `<lid>@lid`, which can never
    /// equal a phone key (so a LID-only customer is never merged into another one).
    pub fn key(&self) -> String {
        match (&self.phone, &self.lid) {
            (Some(p), _) => p.clone(),
            (None, Some(l)) => lid_jid(l),
            (None, None) => String::new(),
        }
    }

    /// What a send's `number` should be: the phone when known (replies to a bare `@lid` may be
    /// refused, issue #2547), else the LID JID.
    pub fn address(&self) -> String {
        match (&self.phone, &self.lid) {
            (Some(p), _) => p.clone(),
            (None, Some(l)) => lid_jid(l),
            (None, None) => String::new(),
        }
    }

    /// The customer is known only by LID: the admin app says so, no phone to show.
    pub fn lid_only(&self) -> bool {
        self.phone.is_none() && self.lid.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jids_parse() {
        assert_eq!(
            Jid::parse("5511988887777@s.whatsapp.net"),
            Jid::Phone("5511988887777".into())
        );
        assert_eq!(
            Jid::parse("5511900000001:12@s.whatsapp.net"),
            Jid::Phone("5511900000001".into())
        );
        assert_eq!(Jid::parse("123456789@lid"), Jid::Lid("123456789".into()));
        assert!(matches!(Jid::parse("1203630@g.us"), Jid::Other(_)));
        assert!(matches!(Jid::parse("status@broadcast"), Jid::Other(_)));
        assert!(matches!(Jid::parse("abc@s.whatsapp.net"), Jid::Other(_)));
        assert!(matches!(Jid::parse("nonsense"), Jid::Other(_)));
        assert!(matches!(Jid::parse("@s.whatsapp.net"), Jid::Other(_)));
    }

    #[test]
    fn peers_key_by_phone_else_lid() {
        let both = Peer {
            phone: Some("5511".into()),
            lid: Some("99".into()),
        };
        assert_eq!((both.key(), both.lid_only()), ("5511".into(), false));
        let lid = Peer {
            phone: None,
            lid: Some("99".into()),
        };
        assert_eq!(lid.key(), "99@lid");
        assert_eq!(lid.address(), "99@lid");
        assert!(lid.lid_only());
    }

    #[test]
    fn instance_debug_hides_the_key() {
        let i = Instance {
            base_url: "http://e".into(),
            name: "n".into(),
            api_key: SecretString::from("TOPSECRET"),
        };
        assert!(!format!("{i:?}").contains("TOPSECRET"));
    }
}
