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

/// The key a customer's chats are stored under, from what an administrator typed: a phone as
/// [`customer_id`] reads it, a WhatsApp id (`79991234567@s.whatsapp.net` → its digits), or a
/// LID key kept as is (`123456789@lid`: a customer WhatsApp shows without a phone).
pub fn customer_key(typed: &str) -> Option<String> {
    let typed = typed.trim();
    match typed.split_once('@') {
        Some((id, domain)) => {
            let digits = !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
            match domain.to_ascii_lowercase().as_str() {
                "lid" if digits => Some(format!("{id}@lid")),
                "s.whatsapp.net" | "c.us" if digits => customer_id(id),
                _ => None,
            }
        }
        None => customer_id(typed),
    }
}

#[cfg(test)]
mod tests {
    use super::{customer_id, customer_key};

    #[test]
    fn typed_customers_become_chat_keys() {
        for (typed, key) in [
            ("+7 (999) 123-45-67", Some("79991234567")),
            (" 123456789@lid ", Some("123456789@lid")),
            ("123456789@LID", Some("123456789@lid")),
            ("79991234567@s.whatsapp.net", Some("79991234567")),
            ("79991234567@c.us", Some("79991234567")),
            ("abc@lid", None),
            ("@lid", None),
            ("123@example.com", None),
            ("12", None),
        ] {
            assert_eq!(customer_key(typed).as_deref(), key, "{typed}");
        }
    }

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
