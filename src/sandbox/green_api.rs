//! The sandbox page's view of a Web number on GREEN-API (`b24wa sandbox`, the default gateway),
//! computed from the gateway simulator's records: the customer's phone and the WhatsApp side of
//! the trace. The Evolution number's are in [`super::evolution`]; both give the page the same
//! shapes, so the page does not know which gateway it shows.
//! Pure functions over the records, so they are unit-tested here.

use super::view::{hops, oldest_first, with_attempt, PhoneMessage, TraceEntry};
use crate::{
    i18n::Lang,
    sim::{GatewayCall, GatewayDelivery, GatewayInbound, GatewaySent},
    tr,
};

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
        let text = edits
            .last()
            .map_or_else(|| m.text.clone(), |e| e.text.clone());
        out.push(PhoneMessage {
            deleted,
            edited: !edits.is_empty(),
            ..PhoneMessage::customer(m.id_message.clone(), kind, text, read, delivered, m.at_ms)
        });
    }
    for m in sent
        .iter()
        .filter(|m| m.instance == instance && m.chat_id == chat)
    {
        let (id, text) = (m.id_message.clone(), m.current_text().to_string());
        out.push(PhoneMessage {
            deleted: m.deleted_for_everyone,
            edited: m.edited || !m.edits.is_empty(),
            ..PhoneMessage::business(id, &m.kind, text, &m.statuses, m.at_ms)
        });
    }
    oldest_first(out)
}

/// The hops between GREEN-API instance `instance` and b24wa (both ways), for the trace.
pub fn whatsapp_hops(
    lang: Lang,
    instance: u64,
    deliveries: &[GatewayDelivery],
    calls: &[GatewayCall],
) -> Vec<TraceEntry> {
    let deliveries = deliveries.iter().filter(|d| d.instance == Some(instance));
    let mut out = hops(
        "whatsapp→b24wa",
        deliveries,
        |d| (d.at_ms, d.status),
        |d| {
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
                _ => return None,
            };
            Some(with_attempt(lang, text, d.attempt))
        },
    );
    let calls = calls.iter().filter(|c| c.instance == Some(instance));
    out.extend(hops(
        "b24wa→whatsapp",
        calls,
        |c| (c.at_ms, c.status),
        |c| {
            Some(match c.method.as_str() {
                "sendMessage" => tr!(lang, "sandbox-trace-gw-send"),
                "sendFileByUrl" => tr!(lang, "sandbox-trace-gw-file"),
                "editMessage" => tr!(lang, "sandbox-trace-gw-edit"),
                "deleteMessage" => tr!(lang, "sandbox-trace-gw-delete"),
                "readChat" => tr!(lang, "sandbox-trace-gw-read"),
                "downloadFile" => tr!(lang, "sandbox-trace-gw-download"),
                _ => return None,
            })
        },
    ));
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
}
