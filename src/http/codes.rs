//! The one list of error codes the HTTP surface answers with (`{"error": {"code", "message"}}`):
//! each variant with its stable snake_case string. Clients branch on these strings, so a string
//! never changes once shipped; add a variant for a new case. The OpenAPI document lists them
//! (the `ErrorCode` schema, which `ErrorDetail.code` refers to).

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use utoipa::openapi::{schema::Type, ObjectBuilder, RefOr, Schema};

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal,)+) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the order of this list.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it goes over the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// What the code means, for the OpenAPI document.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => concat!($($doc),+).trim_start(),)+
                }
            }
        }
    };
}

error_codes! {
    // Requests
    /// The body is not the JSON the route reads.
    InvalidJson = "invalid_json",
    /// A field or query parameter is missing or out of range (the message names it).
    InvalidField = "invalid_field",
    // Admin API authentication and roles
    /// No `Authorization: Bearer` token.
    TokenMissing = "token_missing",
    /// The token has expired.
    TokenExpired = "token_expired",
    /// The token is not valid here (signature, key, type or user).
    TokenInvalid = "token_invalid",
    /// Wrong email or password, or a disabled user.
    InvalidCredentials = "invalid_credentials",
    /// The caller's role does not allow this.
    Forbidden = "forbidden",
    /// Too many requests or failed logins: wait `Retry-After` seconds.
    RateLimited = "rate_limited",
    // Things looked up
    /// No such thing (a tenant, a user, a fault hook, a sandbox message; another tenant's
    /// tenant answers this too).
    NotFound = "not_found",
    /// No such number (or another tenant's).
    UnknownNumber = "unknown_number",
    /// No installed portal with this member_id (or another tenant's).
    UnknownPortal = "unknown_portal",
    /// No chat with this customer on this number.
    UnknownChat = "unknown_chat",
    /// No message with this id.
    UnknownMessage = "unknown_message",
    /// No job with this id.
    UnknownJob = "unknown_job",
    /// No stored file with this id.
    UnknownMedia = "unknown_media",
    /// A file link that has expired.
    MediaExpired = "media_expired",
    // State of the target
    /// A user with this email exists.
    EmailTaken = "email_taken",
    /// The tenant's plan allows no more of this.
    QuotaExceeded = "quota_exceeded",
    /// A retention longer than the tenant's plan allows (or for ever under a plan with a
    /// maximum).
    RetentionOutOfPlan = "retention_out_of_plan",
    /// Only a failed (dead) job can be re-driven.
    JobNotFailed = "job_not_failed",
    // WhatsApp numbers and gateways
    /// The gateway rejected the instance id or token.
    GatewayCredentialsInvalid = "gateway_credentials_invalid",
    /// The gateway did not answer as expected.
    GatewayUnavailable = "gateway_unavailable",
    /// Templates belong to Cloud API numbers (a Web gateway number has none).
    NotCloudNumber = "not_cloud_number",
    /// The number's WhatsApp Business Account id is not set (give `waba_id`).
    NoBusinessAccount = "no_business_account",
    /// The WhatsApp Cloud API refused or did not answer (the message says what it said).
    WhatsappRefused = "whatsapp_refused",
    // Cluster mode
    /// One node, no Redis configured.
    NotClustered = "not_clustered",
    /// Redis did not answer.
    RedisUnavailable = "redis_unavailable",
    // WhatsApp webhooks
    /// The Cloud API webhook has no `X-Hub-Signature-256`.
    SignatureMissing = "signature_missing",
    /// The Cloud API webhook's signature does not match.
    SignatureInvalid = "signature_invalid",
    /// A Cloud API webhook for another object than `whatsapp_business_account`.
    UnsupportedObject = "unsupported_object",
    /// The Cloud API's verification request was refused (mode or verify token).
    VerifyRejected = "verify_rejected",
    /// The gateway webhook does not carry this number's token.
    WebhookTokenInvalid = "webhook_token_invalid",
    /// The gateway webhook could not be read.
    InvalidWebhook = "invalid_webhook",
    /// The number's backlog of unprocessed messages is full: retry after `Retry-After`.
    InboxBacklogged = "inbox_backlogged",
    /// The app of the number's portal is uninstalled: retry later.
    PortalUninstalled = "portal_uninstalled",
    // Bitrix24 events, install and settings page
    /// The event could not be read.
    InvalidEvent = "invalid_event",
    /// An install handler received another event than an install.
    UnexpectedEvent = "unexpected_event",
    /// The install request could not be read.
    InvalidInstall = "invalid_install",
    /// `client_endpoint` is not an http(s) URL.
    InvalidEndpoint = "invalid_endpoint",
    /// The event's `application_token` is not this portal's.
    BadApplicationToken = "bad_application_token",
    /// The portal or its OAuth server did not confirm the install's tokens for our application.
    InstallNotConfirmed = "install_not_confirmed",
    /// The install names an OAuth server we do not send our credentials to
    /// (`B24WA_B24_OAUTH_HOSTS`).
    OauthServerNotAllowed = "oauth_server_not_allowed",
    /// The portal says the installation is not finished.
    InstallNotFinished = "install_not_finished",
    /// The portal or its OAuth server could not be reached.
    PortalUnreachable = "portal_unreachable",
    /// The settings page's session has expired.
    SessionInvalid = "session_invalid",
    // The sandbox's page
    /// The service did not accept the simulated webhook or event.
    NotAccepted = "not_accepted",
    /// The message is already deleted.
    AlreadyDeleted = "already_deleted",
    /// There is no chat yet: the customer writes first.
    NoConversation = "no_conversation",
    /// The message has not reached WhatsApp yet.
    NotDeliveredYet = "not_delivered_yet",
    // Anything else
    /// An internal error (see the service's log).
    Internal = "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// On the wire: the code's string.
impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// In the OpenAPI document: a string, one of the codes, each with its meaning.
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let meanings: String = ErrorCode::ALL
            .iter()
            .map(|c| format!("\n- `{}`: {}", c.as_str(), c.meaning()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "A stable snake_case code (clients branch on it); which ones a response can carry \
                 is said in its description.{meanings}"
            )))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_code_is_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} is listed twice");
            let snake = !s.is_empty()
                && s.starts_with(|ch: char| ch.is_ascii_lowercase())
                && !s.ends_with('_')
                && !s.contains("__")
                && s.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            assert!(snake, "{s} is not snake_case");
            assert!(!c.meaning().is_empty(), "{s} says nothing of what it means");
            assert_eq!(serde_json::to_value(c).ok(), Some(serde_json::json!(s)));
        }
    }

    #[test]
    fn the_schema_lists_every_code() {
        let schema = serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema())
            .expect("schema as JSON");
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .expect("an enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }
}
