//! A customer's WhatsApp side → what Bitrix24 Open Lines is sent: the MESSAGES entries of
//! `imconnector.send.messages` / `update.messages` / `delete.messages`, the status entries of
//! `imconnector.send.status.delivery` / `.reading`, and the words an operator reads about the
//! customer's messages (quotes, reactions, files not relayed, transcripts, quota notices).
//! Pure: the caller stores and queues what these return.

use serde_json::{json, Value};

use super::chat_key::chat_key;
use crate::bitrix24::{bbcode, names};

/// How much of a message a reply or a reaction note quotes (characters shown; the stored text
/// is the message's BBCode, cut by `bbcode::excerpt` outside any tag).
pub const QUOTE_CHARS: usize = 60;

/// The customer of one chat with one of our numbers.
#[derive(Debug, Clone, Copy)]
pub struct Customer<'a> {
    pub wa_id: &'a str,
    pub phone_number_id: &'a str,
}

impl Customer<'_> {
    fn key(&self) -> String {
        chat_key(self.wa_id, self.phone_number_id)
    }
}

/// `text`, then `line` below it (on its own when `text` is empty).
pub fn append_line(text: &str, line: &str) -> String {
    if text.is_empty() {
        line.to_string()
    } else {
        format!("{text}[br]{line}")
    }
}

/// A reply shows the operator the start of the message it answers, above the text.
pub fn with_quote(quoted: &str, text: &str) -> String {
    format!(
        "[i]↩ “{}”[/i][br]{text}",
        bbcode::excerpt(quoted, QUOTE_CHARS)
    )
}

/// A customer's reaction (an empty emoji: the reaction removed) to a message whose text is
/// `quoted` (`None`: one we do not know).
pub fn reaction_note(emoji: &str, quoted: Option<&str>) -> String {
    let quoted = quoted
        .map(|q| bbcode::excerpt(q, QUOTE_CHARS))
        .unwrap_or_else(|| "an earlier message".into());
    if emoji.is_empty() {
        format!("[i]removed the reaction to[/i] “{quoted}”")
    } else {
        // The emoji comes from the customer's side too.
        let emoji = bbcode::escape(emoji);
        format!("[i]reacted[/i] {emoji} [i]to[/i] “{quoted}”")
    }
}

/// What the operator is told about a kind of file.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "voice" => "Voice message",
        "audio" => "Audio",
        "image" => "Photo",
        "video" => "Video",
        "sticker" => "Sticker",
        _ => "File",
    }
}

/// Never a silent drop: the operator learns a file came and why it is not here.
pub fn file_not_relayed(kind: &str, reason: Option<&str>) -> String {
    format!(
        "[i]{} not relayed: {}.[/i]",
        kind_label(kind),
        // The reason may quote a provider's error text.
        bbcode::escape(reason.unwrap_or("unknown reason"))
    )
}

/// Why a voice note gets no transcript: the plan's minutes are used up.
pub fn transcription_used_up(minutes: u64) -> String {
    format!(
        "[i]🎤 No transcript: this plan's {minutes} transcription minutes for this month are \
         used up.[/i]"
    )
}

/// What operators read the first time in a month the account goes over its messages.
pub fn over_messages_notice(limit: u64) -> String {
    format!(
        "This account is over its plan's {limit} messages this month; messages still flow — \
         ask your admin to upgrade the plan."
    )
}

/// What the operator reads, at once, when free text meets a closed Cloud API window: why it did
/// not go (nothing was sent) and what does reach the customer. `since`: when the window closed
/// (Unix ms), `None` when the customer never wrote to this number.
pub fn window_closed_notice(since: Option<i64>) -> String {
    let why = match since.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => format!(
            "the 24-hour window for free messages closed on {} UTC (24 hours after the \
             customer's last message)",
            t.format("%-d %b %Y at %H:%M")
        ),
        None => "the customer has not written to this WhatsApp number yet".to_string(),
    };
    format!(
        "Not sent: {why}. WhatsApp now accepts only an approved template message; the conversation \
         opens again as soon as the customer writes."
    )
}

/// What the operators of the customer's chat read about a message sent from the CRM: who sent it
/// (a name, or `None` when unknown), how it went (`note`), and its text.
pub fn crm_notice(by: Option<&str>, note: &str, text: &str) -> String {
    let by = by.map_or(String::new(), |b| format!(" by {b}"));
    format!(
        "Sent from the CRM{by}{note}:\n{}",
        crate::bitrix24::bbcode::escape(text)
    )
}

/// The Bitrix24 `files` entry of a file the portal downloads from us at `url`.
pub fn file_entry(url: &str, name: &str) -> Value {
    json!({"url": url, "name": name})
}

/// The MESSAGES entry of a customer's new message (`imconnector.send.messages`): who wrote
/// (named as they are called, or by number), what, and the chat's key and title.
pub fn new_message(
    c: Customer<'_>,
    name: &str,
    wamid: &str,
    timestamp: i64,
    text: &str,
    files: Vec<Value>,
) -> Value {
    let display = names::user_name(name);
    // The title keeps the name as the customer wrote it (emoji too), next to the number.
    let title = match names::display_name(name) {
        n if n.is_empty() => format!("WhatsApp +{}", c.wa_id),
        n => format!("{} · WhatsApp +{}", bbcode::escape(&n), c.wa_id),
    };
    let mut message = json!({
        "id": wamid,
        "date": timestamp,
        "text": text,
    });
    if !files.is_empty() {
        message["files"] = Value::from(files);
    }
    json!({
        "user": {
            "id": c.wa_id,
            "name": if display.is_empty() { format!("+{}", c.wa_id) } else { display },
            "phone": format!("+{}", c.wa_id),
            "skip_phone_validate": "Y",
        },
        "message": message,
        "chat": {
            "id": c.key(),
            "name": title,
        },
    })
}

/// The line a voice note's transcript (or the reason there is none) adds under it.
pub fn transcript_line(text: Option<&str>, note: Option<&str>) -> String {
    match (text, note) {
        // What the model heard is the customer's words (and may hold `[Music]`-like brackets).
        (Some(t), _) if !t.trim().is_empty() => {
            format!("[i]🎤 Transcript:[/i] {}", bbcode::escape(t.trim()))
        }
        (_, Some(n)) => format!("[i]🎤 {}[/i]", bbcode::escape(n)),
        _ => "[i]🎤 No speech was recognised in this voice message.[/i]".to_string(),
    }
}

/// The MESSAGES entry that replaces a sent message's text (`imconnector.update.messages`),
/// keeping its `file` when it has one.
pub fn updated_message(c: Customer<'_>, wamid: &str, text: &str, file: Option<Value>) -> Value {
    let mut message = json!({"id": wamid, "text": text});
    if let Some(f) = file {
        message["files"] = json!([f]);
    }
    json!({
        "user": {"id": c.wa_id},
        "message": message,
        "chat": {"id": c.key()},
    })
}

/// The MESSAGES entry naming a message the customer edited (`new_text`) or deleted (`None`).
pub fn changed_message(c: Customer<'_>, original: &str, new_text: Option<&str>) -> Value {
    let mut item = json!({
        "user": {"id": c.wa_id},
        "message": {"id": original},
        "chat": {"id": c.key()},
    });
    if let Some(text) = new_text {
        item["message"]["text"] = Value::from(text);
    }
    item
}

/// The entry of `imconnector.send.status.delivery` (`reading` false, dated) or `.reading`
/// for the operator's message `(im_chat, im_message)` we sent as `wamid`.
pub fn status(
    c: Customer<'_>,
    im_chat: &str,
    im_message: &str,
    wamid: &str,
    reading: bool,
    timestamp: i64,
) -> Value {
    let mut item = json!({
        "im": {"chat_id": im_chat, "message_id": im_message},
        "message": {"id": [wamid]},
        "chat": {"id": c.key()},
    });
    if !reading {
        item["message"]["date"] = Value::from(timestamp);
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Customer<'static> = Customer {
        wa_id: "79001234567",
        phone_number_id: "1055",
    };

    #[test]
    fn a_new_message_names_the_customer_and_the_chat() {
        let v = new_message(C, "Ann 🌸 Lee", "wamid.1", 1_700_000_000, "hi", vec![]);
        assert_eq!(v["user"]["id"], "79001234567");
        assert_eq!(v["user"]["phone"], "+79001234567");
        assert_eq!(v["user"]["skip_phone_validate"], "Y");
        assert_eq!(
            v["message"],
            json!({"id": "wamid.1", "date": 1_700_000_000, "text": "hi"})
        );
        assert_eq!(v["chat"]["id"], "79001234567@1055");
        assert_eq!(v["chat"]["name"], "Ann 🌸 Lee · WhatsApp +79001234567");
        assert!(v["message"].get("files").is_none());

        let v = new_message(C, "", "w", 1, "", vec![file_entry("https://m/a", "a.png")]);
        assert_eq!(v["user"]["name"], "+79001234567");
        assert_eq!(v["chat"]["name"], "WhatsApp +79001234567");
        assert_eq!(
            v["message"]["files"],
            json!([{"url": "https://m/a", "name": "a.png"}])
        );
    }

    #[test]
    fn customer_text_cannot_forge_bbcode_in_notes() {
        assert_eq!(
            file_not_relayed("image", Some("[b]x[/b]")),
            format!("[i]Photo not relayed: {}.[/i]", bbcode::escape("[b]x[/b]"))
        );
        assert_eq!(
            file_not_relayed("pdf", None),
            "[i]File not relayed: unknown reason.[/i]"
        );
        assert!(reaction_note("[url]", Some("hello")).contains(&bbcode::escape("[url]")));
        assert_eq!(
            reaction_note("", None),
            "[i]removed the reaction to[/i] “an earlier message”"
        );
        assert_eq!(with_quote("q", "t"), "[i]↩ “q”[/i][br]t");
    }

    #[test]
    fn transcripts_and_lines() {
        assert_eq!(
            transcript_line(Some(" hello "), None),
            "[i]🎤 Transcript:[/i] hello"
        );
        assert_eq!(
            transcript_line(Some("  "), Some("too long")),
            "[i]🎤 too long[/i]"
        );
        assert_eq!(
            transcript_line(None, None),
            "[i]🎤 No speech was recognised in this voice message.[/i]"
        );
        assert_eq!(append_line("", "b"), "b");
        assert_eq!(append_line("a", "b"), "a[br]b");
    }

    #[test]
    fn statuses_updates_and_changes() {
        let d = status(C, "5", "9", "wamid.2", false, 77);
        assert_eq!(
            d,
            json!({"im": {"chat_id": "5", "message_id": "9"},
                   "message": {"id": ["wamid.2"], "date": 77},
                   "chat": {"id": "79001234567@1055"}})
        );
        let r = status(C, "5", "9", "wamid.2", true, 77);
        assert!(r["message"].get("date").is_none());

        let u = updated_message(C, "w", "t", Some(file_entry("u", "n")));
        assert_eq!(u["message"]["files"], json!([{"url": "u", "name": "n"}]));
        assert_eq!(u["user"], json!({"id": "79001234567"}));

        assert_eq!(
            changed_message(C, "w", Some("new"))["message"],
            json!({"id": "w", "text": "new"})
        );
        assert_eq!(changed_message(C, "w", None)["message"], json!({"id": "w"}));
    }
}
