//! The chat key: the id we give Bitrix24 for one conversation, `"<wa_id>@<phone_number_id>"`
//! (the customer and the WhatsApp number they wrote to). An operator's event names it back, and
//! that is how it finds its number and its chat.

/// The key of the chat of customer `wa_id` with our number `phone_number_id`.
pub fn chat_key(wa_id: &str, phone_number_id: &str) -> String {
    format!("{wa_id}@{phone_number_id}")
}

/// Splits a chat key into `(wa_id, phone_number_id)`; `None` when it is not one of ours. Split
/// at the last `@`: our phone_number_ids never hold one, while a customer known only by LID
/// (Evolution) has the wa_id `<lid>@lid`.
pub fn parse_chat_key(key: &str) -> Option<(&str, &str)> {
    let (wa, pnid) = key.rsplit_once('@')?;
    (!wa.is_empty() && !pnid.is_empty()).then_some((wa, pnid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_and_strangers_do_not_parse() {
        let k = chat_key("79001234567", "1055");
        assert_eq!(k, "79001234567@1055");
        assert_eq!(parse_chat_key(&k), Some(("79001234567", "1055")));
        let lid = chat_key("123456789@lid", "evo0011223344556677");
        assert_eq!(
            parse_chat_key(&lid),
            Some(("123456789@lid", "evo0011223344556677"))
        );
        for bad in ["", "@", "7900@", "@1055", "79001234567"] {
            assert_eq!(parse_chat_key(bad), None, "{bad:?}");
        }
    }
}
