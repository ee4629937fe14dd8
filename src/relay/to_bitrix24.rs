//! A customer's WhatsApp side → what Bitrix24 Open Lines is sent: the MESSAGES entries of
//! `imconnector.send.messages` / `update.messages` / `delete.messages`, the status entries of
//! `imconnector.send.status.delivery` / `.reading`, and the words an operator reads about the
//! customer's messages (quotes, reactions, files not relayed, transcripts, quota notices), in
//! the portal's language (`lang`). Pure: the caller stores and queues what these return.

use serde_json::{json, Value};

use super::chat_key::chat_key;
use crate::{
    bitrix24::{bbcode, names},
    i18n::{self, Lang},
    tr,
};

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
pub fn reaction_note(lang: Lang, emoji: &str, quoted: Option<&str>) -> String {
    let quoted = quoted
        .map(|q| bbcode::excerpt(q, QUOTE_CHARS))
        .unwrap_or_else(|| tr!(lang, "quote-earlier-message"));
    if emoji.is_empty() {
        tr!(lang, "reaction-removed", quoted = quoted)
    } else {
        // The emoji comes from the customer's side too.
        let emoji = bbcode::escape(emoji);
        tr!(lang, "reaction-added", emoji = emoji, quoted = quoted)
    }
}

/// Never a silent drop: the operator learns a file came (`kind`: voice, audio, image, video,
/// sticker, anything else a file) and why it is not here.
pub fn file_not_relayed(lang: Lang, kind: &str, reason: Option<&str>) -> String {
    // The reason may quote a provider's error text.
    let reason = bbcode::escape(
        &reason.map_or_else(|| tr!(lang, "file-not-relayed-unknown"), str::to_string),
    );
    let line = tr!(lang, "file-not-relayed", kind = kind, reason = reason);
    format!("[i]{line}[/i]")
}

/// Why a voice note gets no transcript: the plan's minutes are used up.
pub fn transcription_used_up(lang: Lang, minutes: u64) -> String {
    format!(
        "[i]{}[/i]",
        tr!(lang, "transcript-used-up", minutes = minutes)
    )
}

/// What operators read the first time in a month the account goes over its messages.
pub fn over_messages_notice(lang: Lang, limit: u64) -> String {
    tr!(lang, "over-messages", limit = limit)
}

/// What the operator reads, at once, when free text meets a closed Cloud API window: why it did
/// not go (nothing was sent) and what does reach the customer. `since`: when the window closed
/// (Unix ms), `None` when the customer never wrote to this number.
pub fn window_closed_notice(lang: Lang, since: Option<i64>) -> String {
    match since {
        Some(ms) => tr!(
            lang,
            "window-closed-since",
            when = i18n::date_time(lang, ms)
        ),
        None => tr!(lang, "window-closed-never"),
    }
}

/// How a message from the CRM went, for `crm_notice` (the chat decides, the portal renders).
pub fn crm_note(lang: Lang, open: bool, sent: bool) -> String {
    match (open, sent) {
        (true, _) => String::new(),
        (false, true) => tr!(lang, "crm-as-template"),
        (false, false) => tr!(lang, "crm-not-sent"),
    }
}

/// Who sent a CRM message when the portal does not say their name.
pub fn crm_user(lang: Lang, id: &str) -> String {
    tr!(lang, "crm-user", id = id)
}

/// What the operators of the customer's chat read about a message sent from the CRM: who sent it
/// (a name, or `None` when unknown), how it went (`note`, from `crm_note`), and its text.
pub fn crm_notice(lang: Lang, by: Option<&str>, note: &str, text: &str) -> String {
    let head = match by {
        Some(name) => tr!(lang, "crm-sent-by", name = name),
        None => tr!(lang, "crm-sent"),
    };
    let head = match note {
        "" => head,
        // Jobs queued by earlier versions carry the note as ` (…)`.
        n if n.starts_with(' ') => format!("{head}{n}"),
        n => format!("{head} ({n})"),
    };
    format!("{head}:\n{}", crate::bitrix24::bbcode::escape(text))
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
    picture: Option<&str>,
) -> Value {
    let display = names::user_name(name);
    // The title keeps the name as the customer wrote it (emoji too), next to the number.
    // A customer known only by LID (`<lid>@lid`, Evolution) has no phone to show or pass on.
    let phone = if c.wa_id.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{}", c.wa_id)
    } else {
        c.wa_id.to_string()
    };
    let title = match names::display_name(name) {
        n if n.is_empty() => format!("WhatsApp {phone}"),
        n => format!("{} · WhatsApp {phone}", bbcode::escape(&n)),
    };
    let mut message = json!({
        "id": wamid,
        "date": timestamp,
        "text": text,
    });
    if !files.is_empty() {
        message["files"] = Value::from(files);
    }
    let mut v = json!({
        "user": {
            "id": c.wa_id,
            "name": if display.is_empty() { phone.clone() } else { display },
            "phone": if phone.starts_with('+') { phone.clone() } else { String::new() },
            "skip_phone_validate": "Y",
        },
        "message": message,
        "chat": {
            "id": c.key(),
            "name": title,
        },
    });
    if let Some(url) = picture {
        v["user"]["picture"] = json!({ "url": url });
    }
    v
}

/// The line a voice note's transcript (or the reason there is none) adds under it.
pub fn transcript_line(lang: Lang, text: Option<&str>, note: Option<&str>) -> String {
    match (text, note) {
        // What the model heard is the customer's words (and may hold `[Music]`-like brackets).
        (Some(t), _) if !t.trim().is_empty() => format!(
            "[i]{}[/i] {}",
            tr!(lang, "transcript-label"),
            bbcode::escape(t.trim())
        ),
        (_, Some(n)) => format!("[i]🎤 {}[/i]", bbcode::escape(n)),
        _ => format!("[i]🎤 {}[/i]", tr!(lang, "transcript-none")),
    }
}

/// The transcript label in every language the catalogues hold (`🎤 Transcript:`), for readers
/// of stored texts (the sandbox splits a message at it).
pub fn transcript_labels() -> Vec<String> {
    Lang::all()
        .into_iter()
        .map(|l| tr!(l, "transcript-label"))
        .collect()
}

/// Why a voice note has no transcript (the transcriber says; the chat renders it in the portal's
/// language). Stored in the inbox: rename nothing.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum TranscriptNote {
    /// The model heard no speech.
    Silence,
    /// Longer than the longest note transcribed (`limit`), both in whole seconds.
    TooLong { seconds: i64, limit: i64 },
    /// The audio could not be decoded.
    Undecodable,
    /// The stored file is gone.
    NoFile,
    /// The recogniser failed every attempt.
    Failed,
}

impl TranscriptNote {
    pub fn text(self, lang: Lang) -> String {
        match self {
            TranscriptNote::Silence => tr!(lang, "transcript-none"),
            TranscriptNote::TooLong { seconds, limit } => {
                tr!(lang, "transcript-too-long", count = seconds, limit = limit)
            }
            TranscriptNote::Undecodable => tr!(lang, "transcript-undecodable"),
            TranscriptNote::NoFile => tr!(lang, "transcript-no-file"),
            TranscriptNote::Failed => tr!(lang, "transcript-failed"),
        }
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
        let v = new_message(
            C,
            "Ann 🌸 Lee",
            "wamid.1",
            1_700_000_000,
            "hi",
            vec![],
            None,
        );
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

        let v = new_message(
            C,
            "",
            "w",
            1,
            "",
            vec![file_entry("https://m/a", "a.png")],
            Some("https://pps/a.jpg"),
        );
        assert_eq!(v["user"]["picture"]["url"], "https://pps/a.jpg");
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
            file_not_relayed(Lang::en(), "image", Some("[b]x[/b]")),
            format!("[i]Photo not relayed: {}.[/i]", bbcode::escape("[b]x[/b]"))
        );
        assert_eq!(
            file_not_relayed(Lang::en(), "pdf", None),
            "[i]File not relayed: unknown reason.[/i]"
        );
        assert!(
            reaction_note(Lang::en(), "[url]", Some("hello")).contains(&bbcode::escape("[url]"))
        );
        assert_eq!(
            reaction_note(Lang::en(), "", None),
            "[i]removed the reaction to[/i] “an earlier message”"
        );
        assert_eq!(with_quote("q", "t"), "[i]↩ “q”[/i][br]t");
    }

    #[test]
    fn notes_read_in_the_portals_language() {
        let ru = Lang::ru();
        assert_eq!(
            file_not_relayed(ru, "sticker", Some("x")),
            "[i]Стикер не передан: x.[/i]"
        );
        assert_eq!(
            transcript_line(ru, Some("привет"), None),
            "[i]🎤 Расшифровка:[/i] привет"
        );
        let long = TranscriptNote::TooLong {
            seconds: 45,
            limit: 30,
        };
        assert_eq!(
            long.text(ru),
            "Голосовое сообщение длиной 45 секунд не расшифровано: расшифровываются сообщения \
             до 30 секунд. Прослушайте файл."
        );
        assert_eq!(
            long.text(Lang::en()),
            "Voice message of 45 seconds: not transcribed (only notes up to 30 seconds are). \
             Listen to the file."
        );
        let short = TranscriptNote::TooLong {
            seconds: 31,
            limit: 21,
        };
        assert!(
            short.text(ru).contains("длиной 31 секунда")
                && short.text(ru).contains("до 21 секунды")
        );
        assert_eq!(
            window_closed_notice(ru, Some(1_796_652_300_000)),
            "Не отправлено: 24-часовое окно для свободных сообщений закрылось 7 декабря 2026 г., \
             14:05 UTC (через 24 часа после последнего сообщения клиента). Теперь WhatsApp \
             принимает только одобренный шаблон сообщения; диалог снова откроется, как только \
             клиент напишет."
        );
        assert!(window_closed_notice(Lang::en(), Some(1_796_652_300_000))
            .contains("closed on 7 Dec 2026, 14:05 UTC (24 hours after"));
        assert_eq!(
            crm_notice(ru, Some("Анна"), &crm_note(ru, false, false), "[b]"),
            format!(
                "Отправлено из CRM, отправитель: Анна (не отправлено: 24-часовое окно закрыто):\n{}",
                bbcode::escape("[b]")
            )
        );
        // A note queued by an earlier version.
        assert_eq!(
            crm_notice(Lang::en(), None, " (x)", "t"),
            "Sent from the CRM (x):\nt"
        );
        assert!(over_messages_notice(ru, 2).contains("2 сообщения."));
        assert!(over_messages_notice(Lang::en(), 2).contains("over its plan's 2 messages"));
        assert_eq!(
            transcript_labels(),
            vec!["🎤 Transcript:".to_string(), "🎤 Расшифровка:".to_string()]
        );
    }

    #[test]
    fn transcripts_and_lines() {
        assert_eq!(
            transcript_line(Lang::en(), Some(" hello "), None),
            "[i]🎤 Transcript:[/i] hello"
        );
        assert_eq!(
            transcript_line(Lang::en(), Some("  "), Some("too long")),
            "[i]🎤 too long[/i]"
        );
        assert_eq!(
            transcript_line(Lang::en(), None, None),
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
