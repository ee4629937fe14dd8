//! The operator's Open Lines chat as the sandbox page shows it, computed from the Bitrix24
//! simulator's records: the customer's messages (voice notes' transcripts apart), the operator's
//! with the ticks Bitrix24 shows, and the portal's notices, as plain text.
//! Pure functions over the records, so they are unit-tested here.

use serde::Serialize;

use crate::sim::{CustomerMsg, OperatorMessage, SystemNotice};

/// A file attached to a message in the operator's chat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsoleFile {
    pub name: String,
    /// `image`, `video`, `audio` or `file` (as Bitrix24 types them).
    pub kind: String,
    /// The link as a path on the service (`/media/…`), so the page plays it from its own origin.
    pub url: String,
}

/// A message in the operator's Open Lines chat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsoleMessage {
    /// Customer: our message id (the gateway's idMessage); operator: the Open Lines message id;
    /// notice: `notice-<order>`.
    pub id: String,
    /// `customer`, `operator` or `system`.
    pub from: &'static str,
    pub text: String,
    /// A voice note's transcript line (or the note saying why there is none).
    pub transcript: Option<String>,
    pub files: Vec<ConsoleFile>,
    /// An operator's message: `sending`, `delivered` or `read` as Bitrix24 shows it.
    pub state: Option<String>,
    pub deleted: bool,
    pub edited: bool,
    pub order: u64,
}

/// The operator's view of our chat `chat_id` on `line`, in the portal's order.
pub fn console_messages(
    line: &str,
    chat_id: &str,
    operator_name: &str,
    customer: &[CustomerMsg],
    operator: &[OperatorMessage],
    notices: &[SystemNotice],
) -> Vec<ConsoleMessage> {
    let mut out = Vec::new();
    let mut im_chats = Vec::new();
    for m in customer
        .iter()
        .filter(|m| m.line == line && m.chat_id == chat_id)
    {
        if !im_chats.contains(&m.b24_chat_id) {
            im_chats.push(m.b24_chat_id.clone());
        }
        let (text, transcript) = split_transcript(&m.text);
        let files = m
            .files
            .iter()
            .filter_map(|f| {
                let name = f["name"].as_str().unwrap_or("file").to_string();
                Some(ConsoleFile {
                    kind: file_kind(f["type"].as_str(), &name).to_string(),
                    name,
                    url: path_of(f["link"].as_str().or_else(|| f["url"].as_str())?),
                })
            })
            .collect();
        out.push(ConsoleMessage {
            id: m.message_id.clone(),
            from: "customer",
            text,
            transcript,
            files,
            state: None,
            deleted: m.deleted,
            // The transcript arrives as an update of the message: that is not an edit.
            edited: m.edited && !m.text.contains(TRANSCRIPT_MARK),
            order: m.order,
        });
    }
    let signature = format!("[b]{operator_name}:[/b][br]");
    for m in operator
        .iter()
        .filter(|m| m.line == line && m.our_chat_id == chat_id)
    {
        let text = m.text.strip_prefix(&signature).unwrap_or(&m.text);
        out.push(ConsoleMessage {
            id: m.im_message_id.clone(),
            from: "operator",
            text: strip_bbcode(text),
            transcript: None,
            files: Vec::new(),
            state: Some(m.state.clone()),
            deleted: m.deleted,
            edited: false,
            order: m.order,
        });
    }
    for n in notices.iter().filter(|n| im_chats.contains(&n.chat_id)) {
        out.push(ConsoleMessage {
            id: format!("notice-{}", n.order),
            from: "system",
            text: strip_bbcode(&n.message),
            transcript: None,
            files: Vec::new(),
            state: None,
            deleted: false,
            edited: false,
            order: n.order,
        });
    }
    out.sort_by_key(|m| m.order);
    out
}

const TRANSCRIPT_MARK: &str = "🎤";

/// A customer's text and, apart, the voice-note line the service appends (`🎤 Transcript: …`,
/// `🎤 Расшифровка: …`: the label in any language the catalogues hold, else the first line that
/// starts with the mark, as a note on why there is none does).
pub fn split_transcript(bbcode: &str) -> (String, Option<String>) {
    let plain = strip_bbcode(bbcode);
    let labelled = crate::relay::to_bitrix24::transcript_labels()
        .iter()
        .filter_map(|label| plain.find(label.as_str()))
        .min();
    let at = labelled
        .or_else(|| plain.find(&format!("\n{TRANSCRIPT_MARK}")).map(|i| i + 1))
        .or_else(|| plain.find(TRANSCRIPT_MARK));
    match at {
        Some(i) => {
            let transcript = plain[i + TRANSCRIPT_MARK.len()..].trim().to_string();
            (plain[..i].trim().to_string(), Some(transcript))
        }
        None => (plain, None),
    }
}

/// Bitrix24 BBCode as plain text: `[br]` is a line break, `[url=x]y[/url]` is `y (x)`, other
/// tags go, and a customer's escaped brackets (`bbcode::escape`) read as they wrote them.
pub fn strip_bbcode(s: &str) -> String {
    crate::bitrix24::bbcode::unescape(&strip_tags(s))
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find(']') else {
            out.push_str(after);
            return out;
        };
        let tag = &after[1..close];
        let name = tag
            .trim_start_matches('/')
            .split('=')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match name.as_str() {
            "br" => out.push('\n'),
            "url" if tag.starts_with("url=") || tag.starts_with("URL=") => {
                // Keep the link after its text.
                let link = tag[4..].to_string();
                let body = &after[close + 1..];
                let (text, tail) = match body.to_ascii_lowercase().find("[/url]") {
                    Some(end) => (&body[..end], &body[end + 6..]),
                    None => (body, ""),
                };
                out.push_str(text);
                if text != link {
                    out.push_str(&format!(" ({link})"));
                }
                rest = tail;
                continue;
            }
            "b" | "i" | "u" | "s" | "url" | "quote" | "code" | "color" | "size" | "user" => {}
            // Not a tag: keep it as written.
            _ => out.push_str(&after[..=close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Bitrix24's file type when given, else by the name's extension (`image`, `video`, `audio`,
/// `file`).
fn file_kind(given: Option<&str>, name: &str) -> &'static str {
    match given {
        Some("image") => return "image",
        Some("video") => return "video",
        Some("audio") => return "audio",
        _ => {}
    }
    match mime_guess::from_path(name).first_raw().unwrap_or("") {
        m if m.starts_with("image/") => "image",
        m if m.starts_with("video/") => "video",
        m if m.starts_with("audio/") => "audio",
        _ => "file",
    }
}

/// `http://host:port/media/x/y` → `/media/x/y` (other URLs are left as they are).
fn path_of(url: &str) -> String {
    url.strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_else(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transcript_is_split_from_the_text_and_bbcode_is_plain() {
        let (text, t) = split_transcript("[i]🎤 Transcript:[/i] Hello there, twelve Baker Street.");
        assert_eq!(text, "");
        assert_eq!(
            t.as_deref(),
            Some("Transcript: Hello there, twelve Baker Street.")
        );
        let (text, t) = split_transcript("[b]Look[/b][br]at this");
        assert_eq!((text.as_str(), t), ("Look\nat this", None));
        assert_eq!(
            strip_bbcode("see [url=https://maps.example/x]the map[/url] [tag] a[b"),
            "see the map (https://maps.example/x) [tag] a[b"
        );
        // A customer's escaped markup reads as they wrote it; WhatsApp styles become plain.
        let customer = crate::bitrix24::bbcode::from_whatsapp(
            "[url=https://evil.example]click[/url] [b]x[/b] *bold* &#91;i] >>q",
        );
        assert_eq!(
            strip_bbcode(&customer),
            "[url=https://evil.example]click[/url] [b]x[/b] bold &#91;i] >>q"
        );
        let (text, t) = split_transcript(&format!(
            "{customer}[br][i]🎤 Transcript:[/i] {}",
            crate::bitrix24::bbcode::escape("[Music] hi")
        ));
        assert!(text.ends_with("bold &#91;i] >>q"), "{text}");
        assert_eq!(t.as_deref(), Some("Transcript: [Music] hi"));
        // A Russian portal's label; a customer's own 🎤 stays in their text.
        let (text, t) = split_transcript("поём 🎤 вместе[br][i]🎤 Расшифровка:[/i] привет");
        assert_eq!(text, "поём 🎤 вместе");
        assert_eq!(t.as_deref(), Some("Расшифровка: привет"));
        let (text, t) = split_transcript("🎤 да[br][i]🎤 No speech was recognised.[/i]");
        assert_eq!(
            (text.as_str(), t.as_deref()),
            ("🎤 да", Some("No speech was recognised."))
        );
    }

    #[test]
    fn the_console_interleaves_customer_operator_and_notices_by_portal_order() {
        let customer = vec![CustomerMsg {
            connector: "c".into(),
            line: "1".into(),
            chat_id: "chat".into(),
            user_id: "u".into(),
            user_name: "Anna".into(),
            user_last_name: String::new(),
            chat_name: "Anna · WhatsApp +1".into(),
            phone: String::new(),
            text: "hi[br][i]🎤 Transcript:[/i] hi".into(),
            files: vec![json!({"name": "voice.ogg",
                               "link": "http://127.0.0.1:9/media/tok/voice.ogg"})],
            message_id: "A".into(),
            date: String::new(),
            b24_chat_id: "55".into(),
            session_id: "1".into(),
            edited: true,
            deleted: false,
            order: 1,
        }];
        let operator = vec![OperatorMessage {
            connector: "c".into(),
            line: "1".into(),
            our_chat_id: "chat".into(),
            im_chat_id: "55".into(),
            im_message_id: "86003".into(),
            text: "[b]Maria:[/b][br]Sure".into(),
            state: "delivered".into(),
            history: vec![],
            external_ids: vec![],
            deleted: false,
            order: 3,
        }];
        let notices = vec![
            SystemNotice {
                dialog_id: "chat55".into(),
                chat_id: "55".into(),
                message: "[b]Not deleted[/b]".into(),
                system: true,
                order: 2,
            },
            SystemNotice {
                dialog_id: "chat77".into(),
                chat_id: "77".into(),
                message: "another chat".into(),
                system: true,
                order: 4,
            },
        ];
        let view = console_messages("1", "chat", "Maria", &customer, &operator, &notices);
        let shape: Vec<_> = view.iter().map(|m| (m.from, m.text.as_str())).collect();
        assert_eq!(
            shape,
            vec![
                ("customer", "hi"),
                ("system", "Not deleted"),
                ("operator", "Sure")
            ]
        );
        assert_eq!(view[0].transcript.as_deref(), Some("Transcript: hi"));
        assert!(!view[0].edited, "a transcript is not an edit");
        assert_eq!(view[0].files[0].url, "/media/tok/voice.ogg");
        assert_eq!(view[0].files[0].kind, "audio", "by its extension");
        assert_eq!(view[2].state.as_deref(), Some("delivered"));
    }
}
