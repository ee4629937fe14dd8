//! Media files: where their bytes live (`MediaStore`, a local directory by default), what
//! WhatsApp accepts per kind, and a capped download of a provider's or a portal's link.

pub mod fetch;
pub mod store;

pub use fetch::{fetch, FetchError, Fetched};
pub use store::{LocalStore, MediaStore};

/// The kinds we relay, with WhatsApp's size limits (contracts/whatsapp.md, Cloud API).
pub fn max_bytes(kind: &str) -> u64 {
    const MB: u64 = 1024 * 1024;
    match kind {
        "image" => 5 * MB,
        "video" | "audio" | "voice" => 16 * MB,
        "sticker" => 500 * 1024,
        _ => 100 * MB,
    }
}

/// A human size: `4.2 MB`, `512 KB`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The MIME type without parameters, lower-case (`audio/ogg; codecs=opus` → `audio/ogg`).
pub fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A file name for a file that came without one: `<kind>-<id>.<ext>`.
pub fn default_name(kind: &str, id: &str, mime: &str) -> String {
    let ext = match essence(mime).as_str() {
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/aac" => "m4a",
        "audio/amr" => "amr",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "application/pdf" => "pdf",
        other => mime_guess::get_mime_extensions_str(other)
            .and_then(|e| e.first().copied())
            .unwrap_or("bin"),
    };
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    format!("{kind}-{id}.{ext}")
}

/// What a WhatsApp Cloud API send of this file would be (`image`, `video`, `audio`, `sticker`
/// or `document`), judged by MIME type: other image and video formats go as documents so the
/// customer still gets the file.
pub fn cloud_kind(mime: &str) -> &'static str {
    match essence(mime).as_str() {
        "image/jpeg" | "image/png" => "image",
        "video/mp4" | "video/3gpp" => "video",
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => "audio",
        _ => "document",
    }
}

/// Guesses a MIME type from a file name (operator attachments come with a name only).
pub fn mime_from_name(name: &str) -> String {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

/// A file name as people wrote it, made safe to store and to offer as a download: path
/// separators, characters Windows refuses in names, control and invisible formatting characters
/// (a right-to-left override can make `gpj.exe` read as `exe.jpg`) become `_`; runs of whitespace
/// one space; no leading dot; 120 characters at most, keeping the extension. Letters, digits,
/// spaces, `№`, emoji and other symbols stay (URLs percent-encode the name; see
/// `actors::media::public_url`).
pub fn safe_name(name: &str) -> String {
    const MAX: usize = 120;
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
                // Not U+200D, the zero-width joiner that holds emoji sequences together.
                || matches!(c, '\u{200B}' | '\u{200C}' | '\u{200E}' | '\u{200F}'
                    | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let spaced = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned = spaced.trim_start_matches(['.', ' ']);
    let cleaned = if cleaned.chars().count() > MAX {
        // Keep the extension (up to 10 characters), cut the stem.
        match cleaned.rsplit_once('.') {
            Some((stem, ext)) if !ext.is_empty() && ext.chars().count() <= 10 => {
                let keep = MAX - ext.chars().count() - 1;
                format!(
                    "{}.{ext}",
                    stem.chars().take(keep).collect::<String>().trim_end()
                )
            }
            _ => cleaned.chars().take(MAX).collect(),
        }
    } else {
        cleaned.to_string()
    };
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_limits_and_names() {
        assert_eq!(max_bytes("sticker"), 500 * 1024);
        assert_eq!(max_bytes("image"), 5 * 1024 * 1024);
        assert_eq!(cloud_kind("image/jpeg"), "image");
        assert_eq!(cloud_kind("image/gif"), "document");
        assert_eq!(cloud_kind("audio/ogg; codecs=opus"), "audio");
        assert_eq!(
            default_name("voice", "wamid.AB=/c", "audio/ogg; codecs=opus"),
            "voice-wamidABc.ogg"
        );
        assert_eq!(mime_from_name("price.pdf"), "application/pdf");
        assert_eq!(safe_name("../../etc/pass wd"), "_.._etc_pass wd");
        assert_eq!(safe_name("Счёт №1.pdf"), "Счёт №1.pdf");
        assert_eq!(
            safe_name("Договор  №12 от 01.02 🌸.docx"),
            "Договор №12 от 01.02 🌸.docx"
        );
        assert_eq!(safe_name("photo\u{202E}gpj.exe"), "photo_gpj.exe");
        assert_eq!(
            safe_name("a:b*c?\"d<e>f|g\\h\n.txt"),
            "a_b_c__d_e_f_g_h_.txt"
        );
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name(" . "), "file");
        let long = safe_name(&format!("{}.pdf", "я".repeat(200)));
        assert_eq!(long.chars().count(), 120);
        assert!(long.ends_with(".pdf"));
        assert_eq!(human_size(5 * 1024 * 1024 + 1), "5.0 MB");
    }
}
