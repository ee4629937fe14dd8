//! Messages through an Evolution instance: sends (text, media, voice, reaction) and the chat
//! operations (delete for everyone, edit, read, a file's bytes, number checks, avatars).

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{EvolutionClient, EvolutionError};
use super::types::*;
use super::Instance;

impl EvolutionClient {
    /// `POST message/{action}/{name}` with `body` (replying to `quoted` when there is one): a
    /// send, answered by the message it made.
    async fn send(
        &self,
        inst: &Instance,
        action: &str,
        mut body: Value,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        if let Some(q) = quoted {
            body["quoted"] = json!({ "key": q });
        }
        let v = self
            .scoped(inst, Method::POST, "message", action, Some(&body))
            .await?;
        SentMessage::from_response(&v)
    }

    /// `sendText`; `number` is digits or a full JID (`…@lid` when no phone is known).
    pub async fn send_text(
        &self,
        inst: &Instance,
        number: &str,
        text: &str,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let body = json!({"number": number, "text": text});
        self.send(inst, "sendText", body, quoted).await
    }

    /// `sendMedia`: an image, video, document or audio file (not a voice note).
    pub async fn send_media(
        &self,
        inst: &Instance,
        number: &str,
        media: &Media<'_>,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let mut body = json!({
            "number": number,
            "mediatype": media.kind.as_str(),
            "media": media.media,
        });
        for (k, v) in [
            ("mimetype", media.mime),
            ("fileName", media.file_name),
            ("caption", media.caption),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                body[k] = json!(v);
            }
        }
        self.send(inst, "sendMedia", body, quoted).await
    }

    /// `sendWhatsAppAudio`: a voice note (`ptt`), converted to OGG/Opus by the server.
    pub async fn send_voice(
        &self,
        inst: &Instance,
        number: &str,
        audio: &str,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EvolutionError> {
        let body = json!({"number": number, "audio": audio});
        self.send(inst, "sendWhatsAppAudio", body, quoted).await
    }

    /// `sendReaction`; an empty `emoji` removes ours.
    pub async fn send_reaction(
        &self,
        inst: &Instance,
        key: &MessageKey,
        emoji: &str,
    ) -> Result<SentMessage, EvolutionError> {
        let body = json!({"key": key, "reaction": emoji});
        self.send(inst, "sendReaction", body, None).await
    }

    // ----- chat operations -----

    /// `DELETE /chat/deleteMessageForEveryone` (WhatsApp allows it for about 2 days).
    pub async fn delete_for_everyone(
        &self,
        inst: &Instance,
        key: &MessageKey,
    ) -> Result<(), EvolutionError> {
        let body = serde_json::to_value(key).map_err(|e| EvolutionError::Decode(e.to_string()))?;
        self.scoped(
            inst,
            Method::DELETE,
            "chat",
            "deleteMessageForEveryone",
            Some(&body),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            // Evolution answers every failure of the delete itself with this 500 (contract §4),
            // WhatsApp's refusal of a late delete included; asking again gets the same answer,
            // so it is final (the operator is told) rather than a server fault to retry.
            EvolutionError::Server { status, message }
                if message.contains("Error while deleting message for everyone") =>
            {
                EvolutionError::Rejected { status, message }
            }
            other => other,
        })
    }

    /// `updateMessage`: the new text of our message `key` (WhatsApp allows 15 min; Evolution
    /// does not check, a late edit fails silently later).
    pub async fn edit_text(
        &self,
        inst: &Instance,
        number: &str,
        key: &MessageKey,
        text: &str,
    ) -> Result<(), EvolutionError> {
        let body = json!({"number": number, "key": key, "text": text});
        self.scoped(inst, Method::POST, "chat", "updateMessage", Some(&body))
            .await?;
        Ok(())
    }

    /// `markMessageAsRead` (keys on `@lid` chats are skipped by the server, silently).
    pub async fn mark_read(
        &self,
        inst: &Instance,
        keys: &[MessageKey],
    ) -> Result<(), EvolutionError> {
        let reads: Vec<Value> = keys
            .iter()
            .map(|k| json!({"id": k.id, "fromMe": k.from_me, "remoteJid": k.remote_jid}))
            .collect();
        let body = json!({ "readMessages": reads });
        self.scoped(inst, Method::POST, "chat", "markMessageAsRead", Some(&body))
            .await?;
        Ok(())
    }

    /// `getBase64FromMediaMessage`: the plaintext of an incoming file by its message id (the
    /// webhook's `url` is encrypted).
    pub async fn media_base64(
        &self,
        inst: &Instance,
        message_id: &str,
    ) -> Result<MediaFile, EvolutionError> {
        let body = json!({"message": {"key": {"id": message_id}}, "convertToMp4": false});
        let v = self
            .scoped(
                inst,
                Method::POST,
                "chat",
                "getBase64FromMediaMessage",
                Some(&body),
            )
            .await?;
        let b64 = v
            .get("base64")
            .and_then(Value::as_str)
            .ok_or_else(|| EvolutionError::Decode("no base64".into()))?;
        let bytes = decode_base64(b64).map_err(EvolutionError::Decode)?;
        Ok(MediaFile {
            media_type: str_at(&v, "/mediaType"),
            file_name: str_at(&v, "/fileName"),
            caption: str_at(&v, "/caption"),
            mime: str_at(&v, "/mimetype"),
            bytes,
        })
    }

    /// `whatsappNumbers`: which numbers have WhatsApp (every send checks this itself and
    /// answers 400 `exists:false`; this asks before a chat is opened).
    pub async fn check_numbers(
        &self,
        inst: &Instance,
        numbers: &[&str],
    ) -> Result<Vec<NumberCheck>, EvolutionError> {
        let body = json!({ "numbers": numbers });
        let v = self
            .scoped(inst, Method::POST, "chat", "whatsappNumbers", Some(&body))
            .await?;
        let rows = v
            .as_array()
            .ok_or_else(|| EvolutionError::Decode("not a list".into()))?;
        Ok(rows
            .iter()
            .map(|r| NumberCheck {
                number: str_at(r, "/number").unwrap_or_default(),
                jid: str_at(r, "/jid").unwrap_or_default(),
                exists: r.get("exists").and_then(Value::as_bool).unwrap_or(false),
                lid: str_at(r, "/lid"),
            })
            .collect())
    }

    /// `fetchProfilePictureUrl`: the customer's avatar link (None: hidden or none).
    pub async fn profile_picture_url(
        &self,
        inst: &Instance,
        number: &str,
    ) -> Result<Option<String>, EvolutionError> {
        let body = json!({ "number": number });
        let v = self
            .scoped(
                inst,
                Method::POST,
                "chat",
                "fetchProfilePictureUrl",
                Some(&body),
            )
            .await?;
        Ok(str_at(&v, "/profilePictureUrl").filter(|u| !u.is_empty()))
    }
}
