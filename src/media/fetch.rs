//! A capped download of a file link (a provider's media URL or a portal's attachment link).

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Larger than we accept (by Content-Length, or while reading).
    #[error("the file is larger than {max} bytes")]
    TooLarge { size: Option<u64>, max: u64 },
    /// The link is gone or refused (404, 410, 403, 401): asking again will not help.
    #[error("the link answered HTTP {0}")]
    Gone(u16),
    /// 5xx, 429, timeouts, a broken connection: try again later.
    #[error("download failed: {0}")]
    Transient(String),
    #[error("download failed: HTTP {0}")]
    Http(u16),
}

impl FetchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Transient(_))
    }
}

pub struct Fetched {
    pub bytes: Vec<u8>,
    /// The Content-Type the server gave, if any.
    pub mime: Option<String>,
}

/// GETs `url` (with a bearer token when given), refusing more than `max` bytes without
/// reading them all. URLs may carry credentials (gateway links), so they are never logged.
pub async fn fetch(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&SecretString>,
    max: u64,
) -> Result<Fetched, FetchError> {
    let mut req = http.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t.expose_secret());
    }
    let mut resp = req.send().await.map_err(|e| {
        FetchError::Transient(if e.is_timeout() {
            "timeout".into()
        } else {
            "request failed".into()
        })
    })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => {}
        401 | 403 | 404 | 410 => return Err(FetchError::Gone(status)),
        429 | 500..=599 => return Err(FetchError::Transient(format!("HTTP {status}"))),
        _ => return Err(FetchError::Http(status)),
    }
    if let Some(len) = resp.content_length() {
        if len > max {
            return Err(FetchError::TooLarge {
                size: Some(len),
                max,
            });
        }
    }
    let mime = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| FetchError::Transient("body read failed".into()))?
    {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(FetchError::TooLarge { size: None, max });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched { bytes, mime })
}
