//! An operator's side → what WhatsApp is sent: an operator's message becomes one text and/or
//! one send per file (a single file carries the text as its caption when it fits), and an
//! operator's edit or delete becomes the transport's edit or delete, or a notice to the
//! operator (in the portal's language) where WhatsApp cannot do it. Pure: the caller stores and
//! queues the sends.

use super::inbox::OperatorFile;
use crate::{bitrix24::bbcode, i18n::Lang, tr};

/// WhatsApp captions are at most this long; a longer text goes as its own message.
pub const CAPTION_MAX: usize = 1024;

/// WhatsApp lets a sender delete a message for everyone this long after sending.
pub const DELETE_WINDOW_MS: i64 = 72 * 3600 * 1000;

/// One WhatsApp send an operator's message becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Send<'a> {
    /// The text on its own, in WhatsApp form.
    Text { text: String },
    /// A file, with `caption` (WhatsApp form; empty when none) and `shown` (the operator's
    /// text it carries, as stored with the message).
    File {
        file: &'a OperatorFile,
        mime: String,
        /// `image`, `video`, `audio` or `document`.
        kind: &'static str,
        caption: String,
        shown: &'a str,
    },
}

/// The sends of an operator's message `text` (BBCode) with `files`, in order: a text first when
/// there is one and it does not ride along as a single file's caption, then each file.
pub fn operator_sends<'a>(text: &'a str, files: &'a [OperatorFile]) -> Vec<Send<'a>> {
    let wa_text = bbcode::to_whatsapp(text);
    let caption_fits = files.len() == 1 && wa_text.chars().count() <= CAPTION_MAX;
    let mut out = Vec::new();
    if (!wa_text.trim().is_empty() && !caption_fits) || files.is_empty() {
        out.push(Send::Text {
            text: wa_text.clone(),
        });
    }
    for f in files {
        let mime = crate::media::mime_from_name(&f.name);
        let kind = crate::media::cloud_kind(&mime);
        out.push(Send::File {
            file: f,
            mime,
            kind,
            caption: if caption_fits {
                wa_text.clone()
            } else {
                String::new()
            },
            shown: if caption_fits { text } else { "" },
        });
    }
    out
}

/// What an operator's edit (`Some(new text)`) or delete (`None`) of a message sent
/// `age_ms` ago becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorChange {
    /// Delete it for everyone (Web gateway, within 72 h).
    Delete,
    /// Replace its text (Web gateway), in WhatsApp form.
    Edit(String),
    /// WhatsApp cannot: tell the operator `notice`; `deleted_here` when the message is to be
    /// marked deleted on our side all the same.
    Notice { notice: String, deleted_here: bool },
}

pub fn operator_change(
    lang: Lang,
    gateway: bool,
    age_ms: i64,
    new_text: Option<&str>,
) -> OperatorChange {
    match new_text {
        None if gateway && age_ms < DELETE_WINDOW_MS => OperatorChange::Delete,
        Some(text) if gateway => OperatorChange::Edit(bbcode::to_whatsapp(text)),
        None => OperatorChange::Notice {
            notice: if gateway {
                tr!(lang, "deleted-here-gateway")
            } else {
                tr!(lang, "deleted-here-cloud")
            },
            deleted_here: true,
        },
        Some(_) => OperatorChange::Notice {
            notice: tr!(lang, "edit-not-sent"),
            deleted_here: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> OperatorFile {
        OperatorFile {
            name: name.into(),
            kind: "file".into(),
            link: format!("https://portal/{name}"),
            size: None,
        }
    }

    #[test]
    fn one_file_carries_a_short_text_as_its_caption() {
        let files = [file("a.jpg")];
        let sends = operator_sends("[b]hi[/b]", &files);
        assert_eq!(sends.len(), 1);
        let Send::File {
            caption,
            shown,
            kind,
            ..
        } = &sends[0]
        else {
            panic!("a file: {sends:?}");
        };
        assert_eq!(caption, &bbcode::to_whatsapp("[b]hi[/b]"));
        assert_eq!(*shown, "[b]hi[/b]");
        assert_eq!(*kind, "image");
    }

    #[test]
    fn a_long_text_or_several_files_go_text_first() {
        let long = "x".repeat(CAPTION_MAX + 1);
        let files = [file("a.pdf")];
        let sends = operator_sends(&long, &files);
        assert!(
            matches!(&sends[0], Send::Text { text } if text.chars().count() == CAPTION_MAX + 1)
        );
        assert!(matches!(&sends[1], Send::File { caption, shown: "", .. } if caption.is_empty()));

        let files = [file("a.pdf"), file("b.pdf")];
        assert_eq!(operator_sends("hi", &files).len(), 3);
        // Files without text: just the files.
        assert_eq!(operator_sends("", &files).len(), 2);
        // Neither: still one (empty) text, as before.
        assert_eq!(
            operator_sends("", &[]),
            vec![Send::Text {
                text: String::new()
            }]
        );
    }

    #[test]
    fn edits_and_deletes_by_transport() {
        let en = Lang::en();
        assert_eq!(
            operator_change(en, true, 1000, None),
            OperatorChange::Delete
        );
        assert!(matches!(
            operator_change(en, true, DELETE_WINDOW_MS, None),
            OperatorChange::Notice {
                deleted_here: true,
                ..
            }
        ));
        assert_eq!(
            operator_change(en, true, 0, Some("new")),
            OperatorChange::Edit(bbcode::to_whatsapp("new"))
        );
        assert!(matches!(
            operator_change(en, false, 0, None),
            OperatorChange::Notice { deleted_here: true, notice } if notice.contains("Cloud API")
        ));
        assert!(matches!(
            operator_change(Lang::ru(), false, 0, None),
            OperatorChange::Notice { notice, .. } if notice.starts_with("Удалено только здесь")
        ));
        assert!(matches!(
            operator_change(en, false, 0, Some("x")),
            OperatorChange::Notice {
                deleted_here: false,
                ..
            }
        ));
    }
}
