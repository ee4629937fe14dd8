//! A customer's name in the two places Bitrix24 shows it: the Open Lines user (`user.name`,
//! which takes letters, spaces, `-` and `'` only, 25 characters at most) and the chat's title
//! (plain text, where the name can keep its emoji and digits).

/// The longest `user.name` Bitrix24 accepts.
const USER_NAME_MAX: usize = 25;
/// Chat titles are cut here: a WhatsApp profile name is at most 25 characters, but a gateway
/// can hand over a contact's saved name, which has no limit.
const TITLE_NAME_MAX: usize = 60;

/// The name for `user.name`: what is not a letter, `-` or `'` (emoji, digits, symbols) becomes
/// a separator, and runs of separators one space (`Zoë 🌸 O'Neil` → `Zoë O'Neil`, never a
/// double space); empty when nothing is left (the caller shows the phone instead).
pub fn user_name(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c == '-' || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words = collapse(&spaced);
    let cut: String = words.chars().take(USER_NAME_MAX).collect();
    cut.trim_end_matches([' ', '-']).to_string()
}

/// The name as the customer wrote it, for the chat's title: control and invisible formatting
/// characters (bidi overrides, zero-width) removed, whitespace collapsed, emoji kept.
pub fn display_name(raw: &str) -> String {
    let visible: String = raw
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect();
    let words = collapse(&visible);
    if words.chars().count() <= TITLE_NAME_MAX {
        words
    } else {
        let cut: String = words.chars().take(TITLE_NAME_MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Words joined by single spaces.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Characters that change how text around them is shown without being seen: bidirectional
/// overrides (used to disguise text) and zero-width characters, except the zero-width joiner,
/// which holds emoji sequences such as 👨‍👩‍👧 together.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{200C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_keep_letters_and_single_spaces() {
        for (raw, name) in [
            ("Zoë 🌸 O'Neil", "Zoë O'Neil"),
            ("Anna-Maria O'Neil 😀", "Anna-Maria O'Neil"),
            ("  Иван   Петров  ", "Иван Петров"),
            ("Мария🌸Иванова", "Мария Иванова"),
            ("Shop #1 [b]VIP[/b]", "Shop b VIP b"),
            ("1234", ""),
            ("😀😀", ""),
        ] {
            assert_eq!(user_name(raw), name, "{raw:?}");
        }
        assert_eq!(user_name(&"a".repeat(40)).chars().count(), 25);
        // A cut never leaves a trailing space or hyphen.
        assert_eq!(
            user_name("Alexandra-Victoria Smith-Jones"),
            "Alexandra-Victoria Smith"
        );
        assert_eq!(
            user_name(&format!("{} {}", "ж".repeat(24), "б")),
            "ж".repeat(24)
        );
    }

    #[test]
    fn display_names_keep_emoji_and_drop_invisible_characters() {
        assert_eq!(display_name("Zoë 🌸  O'Neil"), "Zoë 🌸 O'Neil");
        assert_eq!(display_name("Магазин №1\t\n"), "Магазин №1");
        assert_eq!(display_name("evil\u{202E}gpj.exe"), "evilgpj.exe");
        assert_eq!(display_name("a\u{200B}b\u{0007}c"), "abc");
        // The family emoji keeps its zero-width joiners.
        assert_eq!(display_name("Папа 👨‍👩‍👧"), "Папа 👨‍👩‍👧");
        let long = display_name(&"я".repeat(100));
        assert_eq!(long.chars().count(), TITLE_NAME_MAX);
        assert!(long.ends_with('…'));
        assert_eq!(display_name(" \u{200B} "), "");
    }
}
