//! A customer's WhatsApp id from a phone as people type it in a CRM (`+7 (999) 123-45-67`,
//! `8 999 123 45 67`, `79991234567`): the international number's digits.

/// The WhatsApp id for `typed`, or `None` when it cannot be an international number (E.164
/// allows up to 15 digits; fewer than 8 is a local or short number).
pub fn customer_id(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    // Russia and Kazakhstan write their trunk prefix 8 in place of the country code 7; our
    // customers' CRMs are full of such numbers.
    let digits = match digits.strip_prefix('8') {
        Some(rest) if digits.len() == 11 && !typed.trim_start().starts_with('+') => {
            format!("7{rest}")
        }
        _ => digits,
    };
    // `00` is the international call prefix in most of the world.
    let digits = digits
        .strip_prefix("00")
        .map(str::to_string)
        .unwrap_or(digits);
    (8..=15).contains(&digits.len()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::customer_id;

    #[test]
    fn crm_phones_become_whatsapp_ids() {
        for (typed, id) in [
            ("+7 (999) 123-45-67", Some("79991234567")),
            ("8 999 123 45 67", Some("79991234567")),
            ("79991234567", Some("79991234567")),
            ("+1 650-555-1234", Some("16505551234")),
            ("0049 176 0000 0001", Some("4917600000001")),
            ("+8 800 555 3535", Some("88005553535")),
            ("112", None),
            ("", None),
            ("+1234567890123456", None),
        ] {
            assert_eq!(customer_id(typed).as_deref(), id, "{typed}");
        }
    }
}
