//! The sandbox page's view of a Web number on Evolution API (`b24wa sandbox --gateway
//! evolution`), computed from the Evolution simulator's records: the customer's phone and the
//! WhatsApp side of the trace. The GREEN-API number's are in [`super::green_api`]; both give the page
//! the same shapes, so the page does not know which gateway it shows.
//! Pure functions over the records, so they are unit-tested here.

use serde_json::Value;

use super::view::{hops, oldest_first, with_attempt, PhoneMessage, TraceEntry};
use crate::{
    i18n::Lang,
    sim::{EvolutionCall, EvolutionDelivery, EvolutionRead, EvolutionSent},
    tr,
};

/// The tick name of an Evolution status (`messages.update`'s `status`), as
/// [`receipt_ticks`] ranks them; `PENDING` is none (the message has not left the phone).
fn tick_name(status: &str) -> Option<&'static str> {
    match status {
        "SERVER_ACK" => Some("sent"),
        "DELIVERY_ACK" => Some("delivered"),
        "READ" => Some("read"),
        "PLAYED" => Some("played"),
        "ERROR" => Some("failed"),
        _ => None,
    }
}

/// The kind the page shows for an Evolution `messageType` (None: not drawn on its own).
fn kind_of(message_type: &str) -> Option<&'static str> {
    match message_type {
        "conversation" | "extendedTextMessage" => Some("text"),
        "audioMessage" => Some("voice"),
        "imageMessage" => Some("image"),
        "videoMessage" => Some("video"),
        "documentMessage" | "documentWithCaptionMessage" => Some("document"),
        _ => None,
    }
}

/// The text of a `message` object (a text, or a file's caption).
fn text_of(message: &Value) -> String {
    message["conversation"]
        .as_str()
        .or_else(|| message["extendedTextMessage"]["text"].as_str())
        .or_else(|| {
            message.as_object().and_then(|m| {
                m.values()
                    .find_map(|v| v.get("caption").and_then(Value::as_str))
            })
        })
        .unwrap_or("")
        .to_string()
}

/// A customer's message as posted to us (first attempts only: retries are the same message).
struct Inbound<'a> {
    id: &'a str,
    kind: &'static str,
    text: String,
    at_ms: i64,
    delivered: bool,
}

/// Every message of chat `jid` (the customer's `remoteJid`) on the phone of Evolution instance
/// `instance`, oldest first: the customer's own (from the webhooks the phone posted: delivered
/// once our route took one, read once we marked it or a later one read) and the business's
/// (ticks from the statuses the phone reported).
pub fn phone_messages(
    instance: &str,
    jid: &str,
    deliveries: &[EvolutionDelivery],
    sent: &[EvolutionSent],
    reads: &[EvolutionRead],
) -> Vec<PhoneMessage> {
    let ours = |d: &&EvolutionDelivery| d.instance == instance && d.attempt == 1;
    let mut customer: Vec<Inbound> = Vec::new();
    for d in deliveries.iter().filter(ours) {
        let data = &d.body["data"];
        if d.event != "messages.upsert"
            || data["key"]["fromMe"] != false
            || data["key"]["remoteJid"] != jid
        {
            continue;
        }
        let (Some(id), Some(kind)) = (
            data["key"]["id"].as_str(),
            kind_of(data["messageType"].as_str().unwrap_or("")),
        ) else {
            continue;
        };
        // Evolution may post the same message again; the first one is the message.
        if customer.iter().any(|m| m.id == id) {
            continue;
        }
        customer.push(Inbound {
            id,
            kind,
            text: text_of(&data["message"]),
            at_ms: d.at_ms,
            delivered: false,
        });
    }
    for m in customer.iter_mut() {
        m.delivered = deliveries.iter().any(|d| {
            d.instance == instance
                && d.event == "messages.upsert"
                && d.status == 200
                && d.key_id.as_deref() == Some(m.id)
        });
    }
    let edits = |id: &str| -> Vec<String> {
        deliveries
            .iter()
            .filter(ours)
            .filter(|d| d.event == "messages.edited" && d.body["data"]["key"]["id"] == id)
            .map(|d| text_of(&d.body["data"]["editedMessage"]))
            .collect()
    };
    let deleted = |id: &str| {
        deliveries
            .iter()
            .filter(ours)
            .any(|d| d.event == "messages.delete" && d.body["data"]["id"] == id)
    };
    let read_marks: Vec<&EvolutionRead> = reads
        .iter()
        .filter(|r| r.instance == instance && r.remote_jid == jid)
        .collect();
    let mut out: Vec<PhoneMessage> = Vec::new();
    for m in &customer {
        // A read of a message covers it and every earlier one.
        let read = read_marks.iter().any(|r| {
            r.at_ms >= m.at_ms && customer.iter().any(|x| x.id == r.id && x.at_ms >= m.at_ms)
        });
        let edits = edits(m.id);
        let text = edits.last().cloned().unwrap_or_else(|| m.text.clone());
        let id = m.id.to_string();
        out.push(PhoneMessage {
            deleted: deleted(m.id),
            edited: !edits.is_empty(),
            ..PhoneMessage::customer(id, m.kind, text, read, m.delivered, m.at_ms)
        });
    }
    for m in sent
        .iter()
        .filter(|m| m.instance == instance && m.remote_jid == jid && m.kind != "reaction")
    {
        let statuses: Vec<String> = m
            .statuses
            .iter()
            .filter_map(|s| tick_name(s))
            .map(str::to_string)
            .collect();
        let (id, text) = (m.id.clone(), m.current_text().to_string());
        out.push(PhoneMessage {
            deleted: m.deleted,
            edited: !m.edits.is_empty(),
            ..PhoneMessage::business(id, &m.kind, text, &statuses, m.at_ms)
        });
    }
    oldest_first(out)
}

/// The hops between the phone (Evolution) and b24wa for `instance`, both ways, for the trace.
pub fn whatsapp_hops(
    lang: Lang,
    instance: &str,
    deliveries: &[EvolutionDelivery],
    calls: &[EvolutionCall],
) -> Vec<TraceEntry> {
    let deliveries = deliveries.iter().filter(|d| d.instance == instance);
    let mut out = hops(
        "whatsapp→b24wa",
        deliveries,
        |d| (d.at_ms, d.status),
        |d| {
            let data = &d.body["data"];
            let text = match d.event.as_str() {
                "messages.upsert" if data["key"]["fromMe"] == false => {
                    match data["messageType"].as_str().unwrap_or("") {
                        "audioMessage" => tr!(lang, "sandbox-trace-customer-voice"),
                        _ => tr!(lang, "sandbox-trace-customer-message"),
                    }
                }
                "messages.edited" => tr!(lang, "sandbox-trace-customer-edited"),
                "messages.delete" => tr!(lang, "sandbox-trace-customer-deleted"),
                "messages.update" => match d.status_name.as_deref() {
                    Some("ERROR") => tr!(lang, "sandbox-trace-failed"),
                    Some(status) => tr!(lang, "sandbox-trace-receipt", status = status),
                    None => tr!(lang, "sandbox-trace-receipt-any"),
                },
                "connection.update" => match d.status_name.as_deref() {
                    Some(state) => tr!(lang, "sandbox-trace-session", state = state),
                    None => tr!(lang, "sandbox-trace-session-changed"),
                },
                // The echo of our own send and the QR's updates say nothing new on this page.
                _ => return None,
            };
            Some(with_attempt(lang, text, d.attempt))
        },
    );
    let calls = calls
        .iter()
        .filter(|c| c.instance.as_deref() == Some(instance));
    out.extend(hops(
        "b24wa→whatsapp",
        calls,
        |c| (c.at_ms, c.status),
        |c| {
            Some(match c.action.as_str() {
                "sendText" => tr!(lang, "sandbox-trace-evo-send"),
                "sendMedia" | "sendWhatsAppAudio" => tr!(lang, "sandbox-trace-evo-file"),
                "updateMessage" => tr!(lang, "sandbox-trace-evo-edit"),
                "deleteMessageForEveryone" => tr!(lang, "sandbox-trace-evo-delete"),
                "markMessageAsRead" => tr!(lang, "sandbox-trace-evo-read"),
                "getBase64FromMediaMessage" => tr!(lang, "sandbox-trace-evo-download"),
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

    const JID: &str = "7900@s.whatsapp.net";

    fn delivery(
        event: &str,
        data: Value,
        status: u16,
        attempt: u32,
        at_ms: i64,
    ) -> EvolutionDelivery {
        EvolutionDelivery {
            url: "http://x/hook".into(),
            instance: "sandbox".into(),
            event: event.into(),
            key_id: data["key"]["id"]
                .as_str()
                .or_else(|| data["keyId"].as_str())
                .or_else(|| data["id"].as_str())
                .map(str::to_string),
            status_name: data["status"]
                .as_str()
                .or_else(|| data["state"].as_str())
                .map(str::to_string),
            headers: Vec::new(),
            body: json!({"event": event, "instance": "sandbox", "data": data}),
            status,
            attempt,
            at_ms,
        }
    }

    fn upsert(id: &str, text: &str, status: u16, attempt: u32, at_ms: i64) -> EvolutionDelivery {
        delivery(
            "messages.upsert",
            json!({"key": {"remoteJid": JID, "fromMe": false, "id": id},
                   "message": {"conversation": text}, "messageType": "conversation",
                   "status": "DELIVERY_ACK"}),
            status,
            attempt,
            at_ms,
        )
    }

    fn read(id: &str, at_ms: i64) -> EvolutionRead {
        EvolutionRead {
            instance: "sandbox".into(),
            remote_jid: JID.into(),
            id: id.into(),
            at_ms,
        }
    }

    #[test]
    fn the_customers_ticks_edits_deletes_and_retries() {
        let deliveries = vec![
            upsert("A", "helo", 200, 1, 10),
            // Retried after a failed first answer: one message, delivered.
            upsert("B", "two", 500, 1, 20),
            upsert("B", "two", 200, 2, 21),
            upsert("C", "three", 500, 1, 30),
            delivery(
                "messages.edited",
                json!({"key": {"remoteJid": JID, "fromMe": false, "id": "A"},
                       "editedMessage": {"conversation": "hello"}}),
                200,
                1,
                40,
            ),
            delivery(
                "messages.delete",
                json!({"remoteJid": JID, "fromMe": false, "id": "C"}),
                200,
                1,
                50,
            ),
        ];
        // Read up to A only.
        let view = phone_messages("sandbox", JID, &deliveries, &[], &[read("A", 15)]);
        let shape: Vec<_> = view
            .iter()
            .map(|m| (m.id.as_str(), m.text.as_str(), m.ticks, m.edited, m.deleted))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("A", "hello", Some("read"), true, false),
                ("B", "two", Some("delivered"), false, false),
                ("C", "three", Some("sent"), false, true),
            ]
        );
        // A read of the last one covers every earlier one; another chat's does not.
        let view = phone_messages("sandbox", JID, &deliveries, &[], &[read("C", 60)]);
        assert!(view.iter().all(|m| m.ticks == Some("read")));
        let view = phone_messages("sandbox", "7911@s.whatsapp.net", &deliveries, &[], &[]);
        assert!(view.is_empty());
    }

    #[test]
    fn the_business_replies_take_their_ticks_from_the_statuses() {
        let sent = |id: &str, statuses: &[&str], at_ms: i64| EvolutionSent {
            instance: "sandbox".into(),
            remote_jid: JID.into(),
            kind: "text".into(),
            text: "Yes".into(),
            media: None,
            quoted_id: None,
            id: id.into(),
            edits: Vec::new(),
            deleted: false,
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            at_ms,
        };
        let mut edited = sent("R3", &["SERVER_ACK"], 30);
        edited.edits.push("Yes!".into());
        let view = phone_messages(
            "sandbox",
            JID,
            &[upsert("A", "hi", 200, 1, 5)],
            &[
                sent("R1", &["PENDING", "READ", "SERVER_ACK", "DELIVERY_ACK"], 10),
                sent("R2", &["SERVER_ACK", "ERROR"], 20),
                edited,
            ],
            &[],
        );
        let shape: Vec<_> = view
            .iter()
            .map(|m| (m.id.as_str(), m.from, m.ticks, m.text.as_str()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("A", "customer", Some("delivered"), "hi"),
                ("R1", "business", Some("read"), "Yes"),
                ("R2", "business", Some("sent"), "Yes"),
                ("R3", "business", Some("sent"), "Yes!"),
            ]
        );
        assert!(view[3].edited);
    }

    #[test]
    fn the_trace_names_evolutions_webhooks_and_calls() {
        let deliveries = vec![
            upsert("A", "hi", 200, 1, 10),
            delivery(
                "messages.update",
                json!({"keyId": "R1", "status": "READ"}),
                200,
                2,
                20,
            ),
            delivery("send.message", json!({"key": {"id": "R1"}}), 200, 1, 15),
        ];
        let call = EvolutionCall {
            http_method: "POST".into(),
            action: "sendText".into(),
            instance: Some("sandbox".into()),
            body: json!({}),
            status: 201,
            apikey: None,
            at_ms: 12,
        };
        let hops = whatsapp_hops(Lang::en(), "sandbox", &deliveries, &[call]);
        let shape: Vec<_> = hops.iter().map(|h| (h.hop, h.status)).collect();
        assert_eq!(
            shape,
            vec![
                ("whatsapp→b24wa", 200),
                ("whatsapp→b24wa", 200),
                ("b24wa→whatsapp", 201)
            ]
        );
        assert!(hops[1].text.contains("READ") && hops[1].text.contains('2'));
        assert!(hops[2].text.starts_with("sendText"), "{}", hops[2].text);
    }
}
