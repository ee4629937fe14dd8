//! Bitrix24 BBCode, both ways: operators' BBCode → WhatsApp formatting (`to_whatsapp`), and
//! customers' text → BBCode that Bitrix24 shows as written (`escape`, `from_whatsapp`,
//! `excerpt`).
//!
//! Escaping: Bitrix24 renders a message's text as BBCode (`[b]`, `[url=…]`, `[send=…]`,
//! `[user=…]`, …) plus a few line markups (`>>` quotes, a 54-dash quote block, `#BR#`), so text a
//! customer or a gateway supplies is made inert before it goes into such a field: an invisible
//! U+2060 WORD JOINER follows every `[` (and the other markups' first character), so no tag or
//! markup can start there while the operator still reads exactly what was written. An HTML entity
//! (`&#91;`) would not do: the portal turns `&#91;` back into `[` before its chat parses the tags
//! (see README, "Customer text in the operator's chat").

/// Converts the BBCode subset Open Lines produces into WhatsApp's markup.
/// Unknown tags are dropped, their text kept.
pub fn to_whatsapp(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    // Pending [url=…] targets, appended after the link text closes.
    let mut url_stack: Vec<Option<String>> = Vec::new();
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find(']') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let tag = &after[1..end];
        let lower = tag.to_ascii_lowercase();
        let consumed = end + 1;
        match lower.as_str() {
            "b" | "/b" => out.push('*'),
            "i" | "/i" => out.push('_'),
            "s" | "/s" => out.push('~'),
            "br" | "br/" | "br /" => out.push('\n'),
            "code" | "/code" => out.push_str("```"),
            "url" => url_stack.push(None),
            "/url" => {
                if let Some(Some(target)) = url_stack.pop() {
                    out.push_str(" (");
                    out.push_str(&target);
                    out.push(')');
                }
            }
            _ if lower.starts_with("url=") => url_stack.push(Some(tag[4..].to_string())),
            _ if is_known_tag(&lower) => {}
            _ => out.push_str(&after[..consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

fn is_known_tag(tag: &str) -> bool {
    let name = tag.trim_start_matches('/');
    let name = name.split(['=', ' ']).next().unwrap_or("");
    matches!(
        name,
        "u" | "color"
            | "size"
            | "quote"
            | "user"
            | "chat"
            | "icon"
            | "img"
            | "list"
            | "*"
            | "font"
            | "left"
            | "right"
            | "center"
            | "justify"
            | "p"
            | "send"
            | "put"
            | "call"
            | "context"
    )
}

/// What follows a customer's `[` (and `&#`, a leading `>>`, a long run of dashes, `#BR#`) so
/// Bitrix24 reads it as text: U+2060 WORD JOINER, invisible, no width, no line break.
pub const INERT: char = '\u{2060}';

/// Dashes in a row after which an `INERT` breaks the run (Bitrix24 draws a quote block between
/// two runs of 54).
const DASH_RUN: usize = 50;

/// Makes text a customer or a gateway supplied inert in a field Bitrix24 renders as BBCode: it
/// shows as written, and nothing in it is a tag or markup. See the module's documentation.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    let mut dashes = 0;
    for (i, c) in text.char_indices() {
        out.push(c);
        let after = &text[i + c.len_utf8()..];
        dashes = if c == '-' { dashes + 1 } else { 0 };
        let inert = match c {
            '[' => true,
            // The portal decodes `&#91;` (and `&lt;`, `&amp;`, …) before it parses tags.
            '&' => after.starts_with('#') || named_entity(after),
            '>' => line_start && after.starts_with('>'),
            '#' => after.starts_with("BR#"),
            '-' => dashes == DASH_RUN,
            _ => false,
        };
        if inert {
            out.push(INERT);
            dashes = 0;
        }
        line_start = c == '\n';
    }
    out
}

/// `lt;`, `nbsp;`, …: the rest of an HTML named entity after its `&`.
fn named_entity(after: &str) -> bool {
    let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
    (2..=8).contains(&letters) && after.as_bytes().get(letters) == Some(&b';')
}

/// Undoes `escape`: the text as the customer wrote it (for showing BBCode as plain text).
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev = None;
    for c in text.chars() {
        if !(c == INERT && matches!(prev, Some('[' | '&' | '>' | '#' | '-'))) {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// A customer's WhatsApp text as Bitrix24 BBCode: escaped first (so the tags made here are the
/// only real ones), then WhatsApp's formatting turned into tags: `*bold*` → `[b]`, `_italic_` →
/// `[i]`, `~strike~` → `[s]`, ```` ```mono``` ```` → `[code]` (its content left as written).
///
/// WhatsApp's rules: a marker opens where it follows the start of the text or a character that
/// is not a letter or digit, and is followed by a character that is not a space; it closes at the
/// nearest same marker on that line that follows a character that is not a space and is followed
/// by the end or by a character that is not a letter or digit (`snake_case_name` and `2*3*4`
/// stay as they are). Styles nest (`*_both_*`); tags are always emitted in pairs.
pub fn from_whatsapp(text: &str) -> String {
    let chars: Vec<char> = escape(text).chars().collect();
    let mut out = String::with_capacity(chars.len() + 16);
    format_into(&chars, &mut out);
    out
}

const FENCE: [char; 3] = ['`'; 3];

fn format_into(s: &[char], out: &mut String) {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if s[i..].starts_with(&FENCE) {
            if let Some(j) = fence_end(s, i + 3) {
                out.push_str("[code]");
                out.extend(&s[i + 3..j]);
                out.push_str("[/code]");
                i = j + 3;
                continue;
            }
        }
        if let Some((open, close)) = style(c) {
            if let Some(j) = opens(s, i).then(|| closer(s, i)).flatten() {
                out.push_str(open);
                format_into(&s[i + 1..j], out);
                out.push_str(close);
                i = j + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

fn style(c: char) -> Option<(&'static str, &'static str)> {
    match c {
        '*' => Some(("[b]", "[/b]")),
        '_' => Some(("[i]", "[/i]")),
        '~' => Some(("[s]", "[/s]")),
        _ => None,
    }
}

/// Where the ```` ``` ```` closing a monospace block that starts at `from` is (some text that
/// is not only spaces in between).
fn fence_end(s: &[char], from: usize) -> Option<usize> {
    let j = (from..s.len()).find(|&j| s[j..].starts_with(&FENCE))?;
    s[from..j].iter().any(|c| !c.is_whitespace()).then_some(j)
}

fn opens(s: &[char], i: usize) -> bool {
    let before = i == 0 || !s[i - 1].is_alphanumeric();
    let after = s
        .get(i + 1)
        .is_some_and(|n| !n.is_whitespace() && *n != s[i]);
    before && after
}

fn closer(s: &[char], i: usize) -> Option<usize> {
    let marker = s[i];
    for j in i + 2..s.len() {
        if s[j] == '\n' {
            return None;
        }
        let prev = s[j - 1];
        if s[j] == marker
            && !prev.is_whitespace()
            && prev != marker
            && s.get(j + 1).is_none_or(|n| !n.is_alphanumeric())
        {
            return Some(j);
        }
    }
    None
}

/// Tags Bitrix24 pairs with a `[/name]`.
const PAIRED: &[&str] = &[
    "b", "i", "s", "u", "code", "url", "quote", "color", "size", "font", "user", "chat", "send",
    "put", "call", "context", "spoiler", "img", "list", "left", "right", "center", "justify", "p",
    "dialog", "pch",
];
/// Tags that stand alone.
const SINGLE: &[&str] = &["icon", "attach", "disk", "rating", "*"];

enum Tag {
    Open(String),
    Close(String),
    Break,
    Single,
}

/// The tag `s` starts with (`s` starts with `[`) and its length in bytes; `None` when that `[`
/// is text (escaped, or no tag Bitrix24 knows).
fn tag_at(s: &str) -> Option<(Tag, usize)> {
    let end = s.find(']')?;
    let inner = &s[1..end];
    let (closing, body) = match inner.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, inner),
    };
    let name = body
        .split(['=', ' '])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let tag = match (closing, name.as_str()) {
        (false, "br") if body.len() == 2 => Tag::Break,
        (true, n) if PAIRED.contains(&n) && body.len() == n.len() => Tag::Close(name),
        (false, n) if PAIRED.contains(&n) => Tag::Open(name),
        (false, n) if SINGLE.contains(&n) => Tag::Single,
        _ => return None,
    };
    Some((tag, end + 1))
}

/// The length in bytes of the character `s` starts with and of what must stay with it: the
/// `INERT` after an escaped character, combining marks, variation selectors, emoji skin tones and
/// tags, the next character after a zero-width joiner, the second half of a flag.
fn unit_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    let mut end = first.len_utf8();
    let mut joined = false;
    let mut flag_half = is_regional(first);
    for (i, c) in chars {
        let sticks = joined
            || c == INERT
            || c == '\u{200D}'
            || is_extending(c)
            || (flag_half && is_regional(c));
        if !sticks {
            break;
        }
        flag_half = false;
        joined = c == '\u{200D}';
        end = i + c.len_utf8();
    }
    end
}

fn is_regional(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn is_extending(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0020}'..='\u{E007F}')
}

/// The first `max` characters of a message's BBCode, for a note that quotes it: on one line
/// (`[br]` and line breaks become spaces), cut outside any tag and never inside a character, an
/// escape or an emoji sequence, `…` when cut, and every tag it opened closed again.
pub fn excerpt(bbcode: &str, max: usize) -> String {
    let mut out = String::with_capacity(bbcode.len().min(max * 4 + 16));
    let mut open: Vec<String> = Vec::new();
    let mut shown = 0;
    let mut rest = bbcode;
    let mut cut = false;
    while !rest.is_empty() {
        if let Some((tag, len)) = rest.starts_with('[').then(|| tag_at(rest)).flatten() {
            match tag {
                Tag::Break if shown == max => {
                    cut = true;
                    break;
                }
                Tag::Break => {
                    out.push(' ');
                    shown += 1;
                }
                Tag::Open(name) => {
                    out.push_str(&rest[..len]);
                    open.push(name);
                }
                Tag::Close(name) => {
                    // A close with nothing to close is dropped; one that closes an outer tag
                    // closes the inner ones first, so the result nests.
                    if let Some(at) = open.iter().rposition(|n| *n == name) {
                        for inner in open.drain(at + 1..).rev() {
                            out.push_str(&format!("[/{inner}]"));
                        }
                        open.truncate(at);
                        out.push_str(&rest[..len]);
                    }
                }
                Tag::Single => out.push_str(&rest[..len]),
            }
            rest = &rest[len..];
            continue;
        }
        if shown == max {
            cut = true;
            break;
        }
        let len = unit_len(rest);
        match &rest[..len] {
            "\n" | "\r" => out.push(' '),
            unit => out.push_str(unit),
        }
        shown += 1;
        rest = &rest[len..];
    }
    if cut {
        out.push('…');
    }
    for name in open.iter().rev() {
        out.push_str(&format!("[/{name}]"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, excerpt, from_whatsapp, to_whatsapp, unescape, INERT};

    /// Escaped text written readably: `¦` in the expectations below is `INERT`.
    fn w(s: &str) -> String {
        s.replace('¦', &INERT.to_string())
    }

    #[test]
    fn signature_and_styles() {
        for (bbcode, whatsapp) in [
            (
                "[b]Klaus Weber:[/b] [br]Guten Tag!",
                "*Klaus Weber:* \nGuten Tag!",
            ),
            ("[i]a[/i] [s]b[/s] [U]c[/U]", "_a_ ~b~ c"),
            (
                "see [url=https://x.io]docs[/url] or [url]https://y.io[/url]",
                "see docs (https://x.io) or https://y.io",
            ),
            ("1 < 2 [and] 3", "1 < 2 [and] 3"),
            ("open [b", "open [b"),
        ] {
            assert_eq!(to_whatsapp(bbcode), whatsapp, "{bbcode}");
        }
    }

    #[test]
    fn escape_makes_every_bracket_inert_and_unescape_gives_it_back() {
        let hostile =
            "[url=javascript:alert(1)]click[/url] [b]x[/b] [URL=https://evil.example]y[/URL] \
                       [send=/pay]pay[/send] [user=1]boss[/user] [code]z[/code]";
        let escaped = escape(hostile);
        assert!(!escaped.contains("[u") && !escaped.contains("[U") && !escaped.contains("[b"));
        assert!(!escaped.contains("[/") && !escaped.contains("[s") && !escaped.contains("[c"));
        assert_eq!(escaped.matches('[').count(), escaped.matches(INERT).count());
        assert_eq!(unescape(&escaped), hostile);
        // Visible text is unchanged: only invisible joiners were added.
        assert_eq!(escaped.replace(INERT, ""), hostile);
        assert_eq!(escape("[/b] closes nothing"), w("[¦/b] closes nothing"));
        assert_eq!(escape("a[b"), w("a[¦b"));
        assert_eq!(escape("no markup, даже ёлка 🎄"), "no markup, даже ёлка 🎄");
    }

    #[test]
    fn escape_covers_entities_line_quotes_dash_blocks_and_br() {
        // The portal decodes &#91; into [ before parsing tags: the customer's entity stays text.
        assert_eq!(escape("&#91;b]x&#91;/b]"), w("&¦#91;b]x&¦#91;/b]"));
        assert_eq!(escape("&lt;b&gt; Q&A &"), w("&¦lt;b&¦gt; Q&A &"));
        // `>>` quotes a line only at its start.
        assert_eq!(
            escape(">>fake quote\nok >> here\n>>again"),
            w(">¦>fake quote\nok >> here\n>¦>again")
        );
        assert_eq!(escape("> one is fine"), "> one is fine");
        // 54 dashes open a quote block: never that many in a row.
        let dashes = escape(&"-".repeat(120));
        assert!(dashes.split(INERT).all(|run| run.len() <= 50), "{dashes}");
        assert_eq!(unescape(&dashes), "-".repeat(120));
        assert_eq!(escape("----"), "----");
        assert_eq!(escape("a#BR#b #br#"), w("a#¦BR#b #br#"));
        for s in ["&#91;", ">>x", "#BR#", &"-".repeat(60), "[[[", &w("[¦x")] {
            assert_eq!(unescape(&escape(s)), s, "{s}");
        }
    }

    #[test]
    fn whatsapp_styles_become_tags() {
        for (whatsapp, bbcode) in [
            ("*доставка* завтра", "[b]доставка[/b] завтра"),
            ("_курсив_ ~зачёркнуто~", "[i]курсив[/i] [s]зачёркнуто[/s]"),
            ("Code: ```let x = 1;```", "Code: [code]let x = 1;[/code]"),
            ("```a\n*b*\n_c_```", "[code]a\n*b*\n_c_[/code]"),
            ("*bold _and italic_*", "[b]bold [i]and italic[/i][/b]"),
            ("_*both*_", "[i][b]both[/b][/i]"),
            ("(*yes*), \"*да*\"!", "([b]yes[/b]), \"[b]да[/b]\"!"),
            ("*🔥 sale 🔥*", "[b]🔥 sale 🔥[/b]"),
            ("*a* *b*", "[b]a[/b] [b]b[/b]"),
            ("*x*", "[b]x[/b]"),
        ] {
            assert_eq!(from_whatsapp(whatsapp), bbcode, "{whatsapp}");
        }
    }

    #[test]
    fn markers_count_only_where_whatsapp_counts_them() {
        for plain in [
            "snake_case_name",
            "2*3*4 = 24",
            "a * b * c",
            "* item one\n* item two",
            "*not closed",
            "closed not opened*",
            "* space inside*",
            "*space inside *",
            "**",
            "~100 or ~200",
            "*across\nlines*",
            "``````",
            "```   ```",
            "```unclosed",
            "wörd_wörd_wörd",
            "x_ю_y",
        ] {
            assert_eq!(from_whatsapp(plain), plain, "{plain:?}");
        }
        // Doubled markers: the inner pair counts, the outer stars stay.
        assert_eq!(from_whatsapp("**bold**"), "*[b]bold[/b]*");
        // The nearest closer wins; what is left over stays text, tags stay paired.
        assert_eq!(from_whatsapp("*a *b* c*"), "[b]a *b[/b] c*");
        assert_eq!(from_whatsapp("*a _b* c_"), "[b]a _b[/b] c_");
        assert_eq!(from_whatsapp("_http://x.io/a_b_"), "[i]http://x.io/a_b[/i]");
    }

    #[test]
    fn escaping_comes_first_so_only_generated_tags_are_live() {
        assert_eq!(
            from_whatsapp("[url=https://evil.example]click[/url] [b]x[/b] *bold*"),
            w("[¦url=https://evil.example]click[¦/url] [¦b]x[¦/b] [b]bold[/b]")
        );
        // A customer's [/b] cannot close our [b], nor open a link inside it.
        assert_eq!(
            from_whatsapp("*x[/b][url=javascript:alert(1)]y*"),
            w("[b]x[¦/b][¦url=javascript:alert(1)]y[/b]")
        );
        assert_eq!(from_whatsapp("```[code]```"), w("[code][¦code][/code]"));
        assert_eq!(from_whatsapp("_&#91;i]_"), w("[i]&¦#91;i][/i]"));
        for hostile in [
            "[b]",
            "[/code]",
            "*[/b]*",
            "```[/code]```",
            "[url=a]*b*[/url]",
        ] {
            let out = from_whatsapp(hostile);
            let live_opens = out.matches("[b]").count() + out.matches("[code]").count();
            let live_closes = out.matches("[/b]").count() + out.matches("[/code]").count();
            assert_eq!(live_opens, live_closes, "{hostile:?} → {out:?}");
            assert!(!out.contains("[url"), "{out}");
        }
    }

    #[test]
    fn brackets_in_names_and_file_names_stay_text() {
        assert_eq!(
            escape("[VIP] Иван [b]Петров[/b]"),
            w("[¦VIP] Иван [¦b]Петров[¦/b]")
        );
        assert_eq!(
            escape("счёт [2024] (final).pdf"),
            w("счёт [¦2024] (final).pdf")
        );
        assert_eq!(unescape(&escape("[b]x[/b].pdf")), "[b]x[/b].pdf");
    }

    #[test]
    fn excerpt_cuts_outside_tags_and_closes_what_it_opened() {
        assert_eq!(excerpt("short", 60), "short");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("[b]abcdef[/b] tail", 3), "[b]abc…[/b]");
        assert_eq!(
            excerpt("see [url=https://x.io/a?b=1]the long label[/url]", 7),
            "see [url=https://x.io/a?b=1]the…[/url]"
        );
        assert_eq!(excerpt("[b]a [i]b c[/i] d[/b]", 5), "[b]a [i]b c[/i]…[/b]");
        assert_eq!(excerpt("[b]ab[/b]", 2), "[b]ab[/b]");
        assert_eq!(
            excerpt("line one[br]line two\nthree", 60),
            "line one line two three"
        );
        // Ill-nested or stray tags come out nested and closed.
        assert_eq!(excerpt("[b][i]x[/b] y", 60), "[b][i]x[/i][/b] y");
        assert_eq!(excerpt("x[/i] [i]y", 60), "x [i]y[/i]");
        // Escaped brackets are text, and their joiner stays with them.
        let escaped = escape("[url=https://evil.example]click[/url]");
        let cut = excerpt(&escaped, 1);
        assert_eq!(cut, w("[¦…"));
        assert!(!cut.contains("[url") && !cut.contains("[/url"));
        assert_eq!(excerpt(&escaped, 60), escaped);
    }

    #[test]
    fn excerpt_never_splits_a_character_or_an_emoji() {
        assert_eq!(excerpt("ёжик в тумане", 4), "ёжик…");
        assert_eq!(excerpt("👨‍👩‍👧 family", 1), "👨‍👩‍👧…");
        assert_eq!(excerpt("👍🏽👍🏽", 1), "👍🏽…");
        assert_eq!(excerpt("🇩🇪🇷🇺", 1), "🇩🇪…");
        assert_eq!(excerpt("e\u{0301}tude", 2), "e\u{0301}t…");
        assert_eq!(excerpt("❤️ ok", 1), "❤️…");
        assert_eq!(excerpt("", 5), "");
        assert_eq!(excerpt("abc", 0), "…");
        // Every cut of a long mixed text is valid UTF-8 with its tags paired.
        let text = from_whatsapp("*Привет* 👋🏻 [b]x[/b] _мир_ ~old~ ```code``` 🇺🇦 конец");
        for max in 0..40 {
            let cut = excerpt(&text, max);
            for tag in ["b", "i", "s", "code"] {
                assert_eq!(
                    cut.matches(&format!("[{tag}]")).count(),
                    cut.matches(&format!("[/{tag}]")).count(),
                    "{max}: {cut}"
                );
            }
        }
    }
}
