//! What a WhatsApp error means, in words an operator can act on (in their portal's language;
//! the caller names it; `i18n` is a leaf module).

use crate::{i18n::Lang, tr};

/// The operator-facing explanation of a failed send, in `lang`. `code` is the Cloud API error
/// code (or the gateway's status mapped onto one, see `gateway`), `detail` what the provider said.
pub fn explain(lang: Lang, code: Option<i64>, detail: &str) -> String {
    // The detail is the provider's text and goes into an Open Lines notice: shown, never parsed.
    let detail = crate::bitrix24::bbcode::escape(detail);
    match code {
        Some(131047) => tr!(lang, "wa-failed-131047"),
        Some(131026) => tr!(lang, "wa-failed-131026"),
        Some(190) => tr!(lang, "wa-failed-190"),
        Some(132000) => tr!(lang, "wa-failed-132000"),
        Some(132001) => tr!(lang, "wa-failed-132001"),
        Some(132005) => tr!(lang, "wa-failed-132005"),
        Some(132007) => tr!(lang, "wa-failed-132007"),
        Some(132012) => tr!(lang, "wa-failed-132012"),
        Some(132015) => tr!(lang, "wa-failed-132015"),
        Some(132016) => tr!(lang, "wa-failed-132016"),
        Some(131051) => tr!(lang, "wa-failed-131051"),
        Some(100) => tr!(lang, "wa-failed-invalid", detail = detail),
        // The code as digits (a number argument would be formatted as one).
        Some(c) => tr!(
            lang,
            "wa-failed-code",
            code = c.to_string(),
            detail = detail
        ),
        None => tr!(lang, "wa-failed", detail = detail),
    }
}

/// What a failed status says when WhatsApp gave no reason.
pub fn no_detail(lang: Lang) -> String {
    tr!(lang, "wa-failed-no-detail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_read_as_words() {
        let en = Lang::en();
        assert!(explain(en, Some(131047), "").contains("24 hours"));
        assert!(explain(en, Some(131026), "").contains("cannot receive WhatsApp"));
        assert!(explain(en, Some(190), "").contains("reconnects the number"));
        assert!(explain(en, Some(132001), "").contains("does not know this template"));
        assert!(explain(en, Some(132015), "").contains("paused"));
        assert_eq!(
            explain(en, Some(130472), "experiment"),
            "Not delivered to WhatsApp (error 130472): experiment"
        );
    }

    #[test]
    fn russian_portals_read_russian() {
        let ru = Lang::ru();
        assert!(explain(ru, Some(131026), "").starts_with("Не доставлено: на этот номер"));
        assert_eq!(
            explain(ru, Some(130472), "[x]"),
            format!(
                "Не доставлено в WhatsApp (ошибка 130472): {}",
                crate::bitrix24::bbcode::escape("[x]")
            )
        );
    }
}
