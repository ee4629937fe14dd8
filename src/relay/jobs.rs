//! Jobs: every outbound provider call, as stored in `jobs.payload` (JSON) and run by the outbox of
//! its owner. The serde names are the stored format: rows written by earlier versions must keep
//! parsing, so rename nothing here.

use serde::{Deserialize, Serialize};

/// What a job does. Stored as JSON in `jobs.payload`; `jobs.kind` repeats the tag for queries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Register our connector and bind our event handlers on a portal.
    B24Setup,
    /// Activate (or deactivate) the connector on a line and publish the channel data.
    B24Activate {
        number_id: i64,
        line: String,
        active: bool,
    },
    /// A customer's message to `imconnector.send.messages` (item is the MESSAGES entry).
    B24SendMessage {
        message_id: i64,
        chat_id: i64,
        line: String,
        item: serde_json::Value,
    },
    /// `imconnector.send.status.delivery` (or `.reading`) for an operator's message.
    B24Status {
        message_id: i64,
        line: String,
        reading: bool,
        item: serde_json::Value,
    },
    /// A CRM message's status for Bitrix24's message service
    /// (`messageservice.message.status.update`: queued, sent, delivered, undelivered, failed).
    B24SmsStatus {
        code: String,
        message_id: String,
        status: String,
    },
    /// A message-service provider for a number (`messageservice.sender.add`, or `.update` when
    /// it exists), or its removal (`registered: false`).
    B24Provider { number_id: i64, registered: bool },
    /// What the CRM sent, shown in the customer's Open Lines chat as context: `user_id` (the
    /// sender) is named by `user.get` when the notice goes out.
    B24CrmNotice {
        /// Empty: the chat's Open Lines chat was not known yet (its first message still on its
        /// way there); it is read from chat `chat_id` when the notice goes, after that message.
        #[serde(default)]
        im_chat_id: String,
        #[serde(default)]
        chat_id: Option<i64>,
        #[serde(default)]
        user_id: Option<String>,
        /// Why it went as a template or did not go (empty when it went as text).
        #[serde(default)]
        note: String,
        text: String,
    },
    /// A system notice for the operator in an Open Lines chat (`im.message.add`, SYSTEM=Y).
    B24Notice { im_chat_id: String, text: String },
    /// A system notice for chat `chat_id` whose Open Lines chat may not be known when it is
    /// queued (the customer's first message still on its way there): its id is read from the
    /// chat when the notice goes, after that message.
    B24ChatNotice { chat_id: i64, text: String },
    /// The customer edited a message: `imconnector.update.messages` (item as originally sent,
    /// with the new text).
    B24UpdateMessage {
        line: String,
        item: serde_json::Value,
    },
    /// The customer deleted a message: `imconnector.delete.messages`.
    B24DeleteMessage {
        line: String,
        item: serde_json::Value,
    },
    /// Mark the customer's messages up to `wamid` as read in WhatsApp (the operator answered).
    /// `to` (the customer) is needed by the gateway's `readChat`.
    WaMarkRead {
        wamid: String,
        #[serde(default)]
        to: Option<String>,
    },
    /// Delete a sent message for everyone (Web gateway, within 72 h of sending).
    WaDelete {
        message_id: i64,
        to: String,
        wamid: String,
    },
    /// Replace a sent message's text (Web gateway).
    WaEdit {
        message_id: i64,
        to: String,
        wamid: String,
        text: String,
    },
    /// An operator's text to the customer over the Cloud API.
    WaSendText {
        message_id: i64,
        to: String,
        text: String,
    },
    /// An operator's attachment: fetched from the portal's `link` once, then sent with the
    /// type its MIME type calls for.
    WaSendMedia {
        message_id: i64,
        to: String,
        link: String,
        name: String,
        mime: String,
        #[serde(default)]
        caption: String,
    },
    /// An approved template (Cloud API), e.g. outside the 24-hour window: `components` are the
    /// send's `template.components` (whatsapp-templates.md §3).
    WaSendTemplate {
        message_id: i64,
        to: String,
        name: String,
        language: String,
        components: serde_json::Value,
    },
    /// Transcribe a customer's voice note (run on the transcriber pool; the result goes to
    /// the chat through the inbox).
    Transcribe {
        message_id: i64,
        number_id: i64,
        wa_id: String,
        media_id: i64,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::B24Setup => "b24_setup",
            Job::B24Activate { .. } => "b24_activate",
            Job::B24SendMessage { .. } => "b24_send_message",
            Job::B24Status { .. } => "b24_status",
            Job::B24Notice { .. } => "b24_notice",
            Job::B24ChatNotice { .. } => "b24_chat_notice",
            Job::B24SmsStatus { .. } => "b24_sms_status",
            Job::B24CrmNotice { .. } => "b24_crm_notice",
            Job::B24Provider { .. } => "b24_provider",
            Job::B24UpdateMessage { .. } => "b24_update_message",
            Job::B24DeleteMessage { .. } => "b24_delete_message",
            Job::WaMarkRead { .. } => "wa_mark_read",
            Job::WaDelete { .. } => "wa_delete",
            Job::WaEdit { .. } => "wa_edit",
            Job::WaSendText { .. } => "wa_send_text",
            Job::WaSendMedia { .. } => "wa_send_media",
            Job::WaSendTemplate { .. } => "wa_send_template",
            Job::Transcribe { .. } => "transcribe",
        }
    }
}

/// Every `Job::kind` (metrics show each, pending or not). Keep in step with `kind`.
pub const KINDS: &[&str] = &[
    "b24_setup",
    "b24_activate",
    "b24_send_message",
    "b24_status",
    "b24_notice",
    "b24_chat_notice",
    "b24_sms_status",
    "b24_crm_notice",
    "b24_provider",
    "b24_update_message",
    "b24_delete_message",
    "wa_mark_read",
    "wa_delete",
    "wa_edit",
    "wa_send_text",
    "wa_send_media",
    "wa_send_template",
    "transcribe",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_and_matches_its_tag() {
        let jobs = [
            Job::B24Setup,
            Job::B24Activate {
                number_id: 1,
                line: "1".into(),
                active: true,
            },
            Job::B24Notice {
                im_chat_id: "5".into(),
                text: "t".into(),
            },
            Job::B24ChatNotice {
                chat_id: 5,
                text: "t".into(),
            },
            Job::WaMarkRead {
                wamid: "w".into(),
                to: None,
            },
            Job::WaSendText {
                message_id: 1,
                to: "7900".into(),
                text: "hi".into(),
            },
            Job::WaSendTemplate {
                message_id: 1,
                to: "7900".into(),
                name: "order_update".into(),
                language: "ru".into(),
                components: serde_json::json!([]),
            },
            Job::Transcribe {
                message_id: 1,
                number_id: 2,
                wa_id: "7900".into(),
                media_id: 3,
            },
        ];
        for j in &jobs {
            assert!(KINDS.contains(&j.kind()), "{} not in KINDS", j.kind());
            let v = serde_json::to_value(j).expect("writes");
            assert_eq!(v["kind"], j.kind());
        }
    }

    /// Rows written by earlier versions (without the later optional fields) still parse.
    #[test]
    fn stored_jobs_keep_their_json() {
        let old = r#"{"kind":"wa_mark_read","wamid":"wamid.1"}"#;
        assert_eq!(
            serde_json::from_str::<Job>(old).expect("parses"),
            Job::WaMarkRead {
                wamid: "wamid.1".into(),
                to: None
            }
        );
        let media = r#"{"kind":"wa_send_media","message_id":4,"to":"7900","link":"https://p/f","name":"a.pdf","mime":"application/pdf"}"#;
        let Job::WaSendMedia { caption, .. } = serde_json::from_str(media).expect("parses") else {
            panic!("a media send");
        };
        assert_eq!(caption, "");
        let send = r#"{"kind":"b24_send_message","message_id":1,"chat_id":2,"line":"3","item":{"im":null}}"#;
        let job: Job = serde_json::from_str(send).expect("parses");
        assert_eq!(serde_json::to_string(&job).expect("writes"), send);
    }
}
