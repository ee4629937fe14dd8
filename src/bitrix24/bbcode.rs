//! Bitrix24 BBCode (operator messages) → WhatsApp formatting.

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

#[cfg(test)]
mod tests {
    use super::to_whatsapp;

    #[test]
    fn signature_and_styles() {
        assert_eq!(
            to_whatsapp("[b]Klaus Weber:[/b] [br]Guten Tag!"),
            "*Klaus Weber:* \nGuten Tag!"
        );
        assert_eq!(to_whatsapp("[i]a[/i] [s]b[/s] [U]c[/U]"), "_a_ ~b~ c");
        assert_eq!(
            to_whatsapp("see [url=https://x.io]docs[/url] or [url]https://y.io[/url]"),
            "see docs (https://x.io) or https://y.io"
        );
        assert_eq!(to_whatsapp("1 < 2 [and] 3"), "1 < 2 [and] 3");
        assert_eq!(to_whatsapp("open [b"), "open [b");
    }
}
