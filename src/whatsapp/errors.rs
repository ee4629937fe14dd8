//! What a WhatsApp error means, in words an operator can act on.

/// The operator-facing explanation of a failed send. `code` is the Cloud API error code (or
/// the gateway's status mapped onto one, see `gateway`), `detail` what the provider said.
pub fn explain(code: Option<i64>, detail: &str) -> String {
    // The detail is the provider's text and goes into an Open Lines notice: shown, never parsed.
    let detail = crate::bitrix24::bbcode::escape(detail);
    match code {
        Some(131047) => {
            "Not delivered: more than 24 hours have passed since the customer last wrote, \
            and WhatsApp then accepts only an approved template message. Further free messages \
            in this chat are held back until the customer writes again (any message reopens the \
            window)."
                .to_string()
        }
        Some(131026) => {
            "Not delivered: this phone number cannot receive WhatsApp messages (it is not on \
            WhatsApp, uses an outdated app, or has blocked this business)."
                .to_string()
        }
        Some(190) => {
            "Not sent: the WhatsApp access token of this number has expired or was revoked. \
            Messages wait until an administrator reconnects the number with a new token."
                .to_string()
        }
        Some(132000) => {
            "Not delivered: the template's values do not match its variables (WhatsApp \
            expects a different number of values)."
                .to_string()
        }
        Some(132001) => {
            "Not delivered: WhatsApp does not know this template in this language, or it \
            is not approved. Sync the number's templates in the admin app and check its status."
                .to_string()
        }
        Some(132005) => {
            "Not delivered: the template's text is too long once its values are filled in."
                .to_string()
        }
        Some(132007) => "Not delivered: WhatsApp found the filled-in template against its content \
            policy."
            .to_string(),
        Some(132012) => {
            "Not delivered: a value does not have the format the template expects (for \
            example a picture where its header wants a document)."
                .to_string()
        }
        Some(132015) => "Not delivered: this template is paused by WhatsApp for low quality. Use \
            another template, or wait until it is active again."
            .to_string(),
        Some(132016) => {
            "Not delivered: this template was disabled by WhatsApp (paused too often). \
            Use another template."
                .to_string()
        }
        Some(131051) => "Not delivered: WhatsApp does not support this message type.".to_string(),
        Some(100) => format!("Not delivered: WhatsApp rejected the message as invalid ({detail})."),
        Some(c) => format!("Not delivered to WhatsApp (error {c}): {detail}"),
        None => format!("Not delivered to WhatsApp: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn known_codes_read_as_words() {
        assert!(explain(Some(131047), "").contains("24 hours"));
        assert!(explain(Some(131026), "").contains("cannot receive WhatsApp"));
        assert!(explain(Some(190), "").contains("reconnects the number"));
        assert!(explain(Some(132001), "").contains("does not know this template"));
        assert!(explain(Some(132015), "").contains("paused"));
        assert_eq!(
            explain(Some(130472), "experiment"),
            "Not delivered to WhatsApp (error 130472): experiment"
        );
    }
}
