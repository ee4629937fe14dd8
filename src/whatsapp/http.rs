//! What the provider clients share of HTTP: their client's timeouts, one exchange (status and
//! body, or the step that failed, never the URL: the gateway's holds the instance token), and
//! the Web gateways' JSON answers.

/// A provider client's HTTP client: `timeout` for a whole call, 10 s to connect.
pub(super) fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
}

/// The step of an exchange that failed.
pub(super) enum Failed {
    /// Sending the request (or waiting for the answer's head).
    Send(reqwest::Error),
    /// Reading the answer's body.
    Read(reqwest::Error),
}

/// Sends `req` and reads the answer: its HTTP status and body, or the failed step's error.
pub(super) async fn send_and_read(req: reqwest::RequestBuilder) -> Result<(u16, String), Failed> {
    let resp = req.send().await.map_err(Failed::Send)?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(Failed::Read)?;
    Ok((status, text))
}

/// Sends `req` and reads the answer: its HTTP status and body, or what failed, in words that
/// never carry the URL (the gateway's holds the instance token).
pub(super) async fn exchange(req: reqwest::RequestBuilder) -> Result<(u16, String), &'static str> {
    send_and_read(req).await.map_err(|f| match f {
        Failed::Send(e) if e.is_timeout() => "timeout",
        Failed::Send(_) => "request failed",
        Failed::Read(_) => "body read failed",
    })
}

/// A Web gateway's answer as JSON: a 2xx body (`null` when empty), else the error `refused`
/// makes of the status and body; a 2xx body that is not JSON is the error `undecodable` makes
/// of why.
pub(super) fn json_answer<E>(
    status: u16,
    text: &str,
    refused: impl FnOnce(u16, &str) -> E,
    undecodable: impl FnOnce(String) -> E,
) -> Result<serde_json::Value, E> {
    if !(200..300).contains(&status) {
        return Err(refused(status, text));
    }
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(text).map_err(|e| undecodable(e.to_string()))
}
