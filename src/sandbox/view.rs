//! What the sandbox page shows, computed from the simulators' records: the customer's phone
//! (their messages with WhatsApp's ticks, the business's replies), the operator's Open Lines
//! chat (with the ticks Bitrix24 shows and voice notes' transcripts) and a trace of the hops.
//! Pure functions over the records, so they are unit-tested here.

use serde::Serialize;

use crate::{i18n::Lang, tr};

use crate::sim::{
    Call, CustomerMsg, EventDelivery, GatewayCall, GatewayDelivery, GatewayInbound, GatewaySent,
    OperatorMessage, SystemNotice,
};

/// A message on the customer's phone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhoneMessage {
    /// The gateway's `idMessage`.
    pub id: String,
    /// `customer` (written on this phone) or `business` (the operator's reply).
    pub from: &'static str,
    /// `text`, `voice`, `image`, `video`, `audio` or `document`.
    pub kind: String,
    pub text: String,
    /// `sent`, `delivered`, `read` or `failed`: of the customer's own messages as WhatsApp shows
    /// them to the customer (delivered = our webhook took it; read = we marked the chat read), and
    /// of the business's replies as the phone reported them back.
    pub ticks: Option<&'static str>,
    pub deleted: bool,
    pub edited: bool,
    pub at_ms: i64,
    /// A template's quick-reply buttons (Cloud API), which the customer can tap.
    pub buttons: Vec<String>,
}

/// Every message of `chat` on the phone of gateway `instance`, oldest first.
pub fn phone_messages(
    instance: u64,
    chat: &str,
    inbound: &[GatewayInbound],
    sent: &[GatewaySent],
    deliveries: &[GatewayDelivery],
    calls: &[GatewayCall],
) -> Vec<PhoneMessage> {
    let mine = |m: &&GatewayInbound| m.instance == instance && m.chat_id == chat && !m.from_me;
    let reads: Vec<&GatewayCall> = calls
        .iter()
        .filter(|c| {
            c.method == "readChat"
                && c.status == 200
                && c.instance == Some(instance)
                && c.body["chatId"].as_str() == Some(chat)
        })
        .collect();
    let mut out: Vec<PhoneMessage> = Vec::new();
    let customer: Vec<&GatewayInbound> = inbound.iter().filter(mine).collect();
    for m in &customer {
        let kind = match m.type_message.as_str() {
            "textMessage" | "extendedTextMessage" | "quotedMessage" => "text",
            "audioMessage" => "voice",
            "imageMessage" => "image",
            "videoMessage" => "video",
            "documentMessage" => "document",
            // Edits and deletions change earlier messages; other kinds are not shown.
            _ => continue,
        };
        let edits: Vec<&&GatewayInbound> = customer
            .iter()
            .filter(|e| {
                e.type_message == "editedMessage" && e.stanza_id.as_deref() == Some(&m.id_message)
            })
            .collect();
        let deleted = customer.iter().any(|e| {
            e.type_message == "deletedMessage" && e.stanza_id.as_deref() == Some(&m.id_message)
        });
        let delivered = deliveries.iter().any(|d| {
            d.status == 200
                && d.type_webhook == "incomingMessageReceived"
                && d.id_message.as_deref() == Some(&m.id_message)
        });
        let read = reads.iter().any(|r| {
            r.at_ms >= m.at_ms
                && match r.body["idMessage"].as_str() {
                    // A read up to a message covers it and everything before it.
                    Some(upto) => {
                        upto == m.id_message
                            || customer
                                .iter()
                                .any(|x| x.id_message == upto && x.at_ms >= m.at_ms)
                    }
                    None => true,
                }
        });
        out.push(PhoneMessage {
            id: m.id_message.clone(),
            from: "customer",
            kind: kind.into(),
            text: edits
                .last()
                .map_or_else(|| m.text.clone(), |e| e.text.clone()),
            ticks: Some(if read {
                "read"
            } else if delivered {
                "delivered"
            } else {
                "sent"
            }),
            deleted,
            edited: !edits.is_empty(),
            at_ms: m.at_ms,
            buttons: Vec::new(),
        });
    }
    for m in sent
        .iter()
        .filter(|m| m.instance == instance && m.chat_id == chat)
    {
        out.push(PhoneMessage {
            id: m.id_message.clone(),
            from: "business",
            kind: m.kind.clone(),
            text: m.current_text().to_string(),
            ticks: receipt_ticks(&m.statuses),
            deleted: m.deleted_for_everyone,
            edited: m.edited || !m.edits.is_empty(),
            at_ms: m.at_ms,
            buttons: Vec::new(),
        });
    }
    // Stable: equal times keep customer-then-business insertion order.
    out.sort_by_key(|m| m.at_ms);
    out
}

/// The furthest a message got by its receipts (they may arrive out of order): read beats
/// delivered beats sent; a failure counts only when nothing better arrived.
pub fn receipt_ticks(statuses: &[String]) -> Option<&'static str> {
    let rank = |s: &str| match s {
        "read" | "played" => 3,
        "delivered" => 2,
        "sent" => 1,
        _ => 0,
    };
    let best = statuses.iter().map(|s| rank(s)).max().unwrap_or(0);
    match best {
        3 => Some("read"),
        2 => Some("delivered"),
        1 => Some("sent"),
        _ if !statuses.is_empty() => Some("failed"),
        _ => None,
    }
}

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

/// One hop in the trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceEntry {
    pub at_ms: i64,
    /// Where it went: `whatsapp→b24wa`, `b24wa→whatsapp`, `b24wa→bitrix24`, `bitrix24→b24wa`.
    pub hop: &'static str,
    pub text: String,
    /// The HTTP status the receiving side answered.
    pub status: u16,
}

/// The hops between GREEN-API instance `instance` and b24wa (both ways), for the trace.
pub fn gateway_hops(
    lang: Lang,
    instance: u64,
    gateway_deliveries: &[GatewayDelivery],
    gateway_calls: &[GatewayCall],
) -> Vec<TraceEntry> {
    let mut out = Vec::new();
    for d in gateway_deliveries
        .iter()
        .filter(|d| d.instance == Some(instance))
    {
        let status = d.status_name.as_deref();
        let text = match d.type_webhook.as_str() {
            "incomingMessageReceived" => {
                match d.body["messageData"]["typeMessage"].as_str().unwrap_or("") {
                    "deletedMessage" => tr!(lang, "sandbox-trace-customer-deleted"),
                    "editedMessage" => tr!(lang, "sandbox-trace-customer-edited"),
                    "audioMessage" => tr!(lang, "sandbox-trace-customer-voice"),
                    _ => tr!(lang, "sandbox-trace-customer-message"),
                }
            }
            "outgoingMessageStatus" => match status {
                Some(status) => tr!(lang, "sandbox-trace-receipt", status = status),
                None => tr!(lang, "sandbox-trace-receipt-any"),
            },
            "stateInstanceChanged" => match status {
                Some(state) => tr!(lang, "sandbox-trace-session", state = state),
                None => tr!(lang, "sandbox-trace-session-changed"),
            },
            _ => continue,
        };
        out.push(TraceEntry {
            at_ms: d.at_ms,
            hop: "whatsapp→b24wa",
            text: with_attempt(lang, text, d.attempt),
            status: d.status,
        });
    }
    for c in gateway_calls
        .iter()
        .filter(|c| c.instance == Some(instance))
    {
        let text = match c.method.as_str() {
            "sendMessage" => tr!(lang, "sandbox-trace-gw-send"),
            "sendFileByUrl" => tr!(lang, "sandbox-trace-gw-file"),
            "editMessage" => tr!(lang, "sandbox-trace-gw-edit"),
            "deleteMessage" => tr!(lang, "sandbox-trace-gw-delete"),
            "readChat" => tr!(lang, "sandbox-trace-gw-read"),
            "downloadFile" => tr!(lang, "sandbox-trace-gw-download"),
            _ => continue,
        };
        out.push(TraceEntry {
            at_ms: c.at_ms,
            hop: "b24wa→whatsapp",
            text,
            status: c.status,
        });
    }
    out
}

/// `text`, saying which attempt it was when a webhook was delivered again.
pub fn with_attempt(lang: Lang, text: String, attempt: u32) -> String {
    if attempt > 1 {
        tr!(
            lang,
            "sandbox-trace-attempt",
            text = text,
            attempt = attempt
        )
    } else {
        text
    }
}

/// Newest first (equal times keep the order they were gathered in), at most `limit`.
pub fn newest_first(mut out: Vec<TraceEntry>, limit: usize) -> Vec<TraceEntry> {
    out.sort_by_key(|t| std::cmp::Reverse(t.at_ms));
    out.truncate(limit);
    out
}

/// The hops between b24wa and the portal (both ways).
pub fn b24_hops(lang: Lang, b24_calls: &[Call], b24_events: &[EventDelivery]) -> Vec<TraceEntry> {
    let mut out = Vec::new();
    for c in b24_calls.iter().filter(|c| c.method != "batch") {
        let text = match c.method.as_str() {
            "imconnector.send.messages" => tr!(lang, "sandbox-trace-b24-send"),
            "imconnector.update.messages" => tr!(lang, "sandbox-trace-b24-update"),
            "imconnector.delete.messages" => tr!(lang, "sandbox-trace-b24-delete"),
            "imconnector.send.status.delivery" => tr!(lang, "sandbox-trace-b24-delivered"),
            "imconnector.send.status.reading" => tr!(lang, "sandbox-trace-b24-read"),
            "im.message.add" => tr!(lang, "sandbox-trace-b24-notice"),
            _ => continue,
        };
        out.push(TraceEntry {
            at_ms: c.at_ms,
            hop: "b24wa→bitrix24",
            text,
            status: c.status,
        });
    }
    for e in b24_events {
        let text = match e.event.to_ascii_uppercase().as_str() {
            "ONIMCONNECTORMESSAGEADD" => tr!(lang, "sandbox-trace-event-add"),
            "ONIMCONNECTORMESSAGEUPDATE" => tr!(lang, "sandbox-trace-event-update"),
            "ONIMCONNECTORMESSAGEDELETE" => tr!(lang, "sandbox-trace-event-delete"),
            _ => continue,
        };
        out.push(TraceEntry {
            at_ms: e.at_ms,
            hop: "bitrix24→b24wa",
            text,
            status: e.status,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inbound(
        id: &str,
        kind: &str,
        text: &str,
        at_ms: i64,
        stanza: Option<&str>,
    ) -> GatewayInbound {
        GatewayInbound {
            instance: 1,
            id_message: id.into(),
            chat_id: "7900@c.us".into(),
            sender_name: "Anna".into(),
            type_message: kind.into(),
            text: text.into(),
            quoted_id: None,
            stanza_id: stanza.map(str::to_string),
            file_name: None,
            mime: None,
            bytes: None,
            from_me: false,
            deleted_by_us: false,
            at_ms,
        }
    }

    fn delivery(id: &str, status: u16) -> GatewayDelivery {
        GatewayDelivery {
            url: "http://x/webhooks".into(),
            instance: Some(1),
            type_webhook: "incomingMessageReceived".into(),
            id_message: Some(id.into()),
            status_name: None,
            authorization: None,
            body: json!({"messageData": {"typeMessage": "textMessage"}}),
            status,
            attempt: 1,
            at_ms: 0,
        }
    }

    fn read_call(at_ms: i64, upto: Option<&str>) -> GatewayCall {
        let mut body = json!({"chatId": "7900@c.us"});
        if let Some(u) = upto {
            body["idMessage"] = json!(u);
        }
        GatewayCall {
            http_method: "POST".into(),
            method: "readChat".into(),
            instance: Some(1),
            body,
            status: 200,
            at_ms,
        }
    }

    #[test]
    fn customer_ticks_follow_the_webhook_answer_and_read_chat() {
        let inbound = vec![
            inbound("A", "textMessage", "one", 10, None),
            inbound("B", "textMessage", "two", 20, None),
            inbound("C", "textMessage", "three", 30, None),
        ];
        let deliveries = vec![delivery("A", 200), delivery("B", 200), delivery("C", 500)];
        // Read up to B at t=25: A and B are read, C (later, and its webhook failed) is sent.
        let calls = vec![read_call(25, Some("B"))];
        let view = phone_messages(1, "7900@c.us", &inbound, &[], &deliveries, &calls);
        let ticks: Vec<_> = view.iter().map(|m| (m.id.as_str(), m.ticks)).collect();
        assert_eq!(
            ticks,
            vec![
                ("A", Some("read")),
                ("B", Some("read")),
                ("C", Some("sent"))
            ]
        );
        // A read of the whole chat after C covers it too.
        let calls = vec![read_call(31, None)];
        let view = phone_messages(1, "7900@c.us", &inbound, &[], &deliveries, &calls);
        assert!(view.iter().all(|m| m.ticks == Some("read")));
        // Another chat's read does not.
        let mut other = read_call(40, None);
        other.body["chatId"] = json!("7911@c.us");
        let view = phone_messages(1, "7900@c.us", &inbound, &[], &deliveries, &[other]);
        assert_eq!(view[0].ticks, Some("delivered"));
    }

    #[test]
    fn customer_edits_and_deletes_change_the_original_and_are_not_shown_themselves() {
        let inbound = vec![
            inbound("A", "textMessage", "helo", 10, None),
            inbound("E", "editedMessage", "hello", 20, Some("A")),
            inbound("B", "textMessage", "oops", 30, None),
            inbound("D", "deletedMessage", "", 40, Some("B")),
        ];
        let view = phone_messages(1, "7900@c.us", &inbound, &[], &[], &[]);
        assert_eq!(view.len(), 2);
        assert_eq!((view[0].text.as_str(), view[0].edited), ("hello", true));
        assert!(view[1].deleted && !view[0].deleted);
    }

    #[test]
    fn receipts_out_of_order_never_go_back() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            receipt_ticks(&s(&["sent", "read", "delivered"])),
            Some("read")
        );
        assert_eq!(receipt_ticks(&s(&["sent", "delivered"])), Some("delivered"));
        assert_eq!(receipt_ticks(&s(&["noAccount"])), Some("failed"));
        assert_eq!(receipt_ticks(&[]), None);
    }

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
