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

/// Makes a file name safe for a URL path segment and a Content-Disposition header.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
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
        assert_eq!(safe_name("../../etc/pass wd"), "_.._etc_pass_wd");
        assert_eq!(safe_name("Счёт №1.pdf"), "Счёт__1.pdf");
        assert_eq!(human_size(5 * 1024 * 1024 + 1), "5.0 MB");
    }
}
