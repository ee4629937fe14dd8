//! One line per request: method, path (never the query string: webhook verification carries a
//! token there), status, time. Answers of the public endpoints that a flood would repeat (a
//! webhook for an unknown number, a 404, a rate limit's 429) are left to their own summaries.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};

fn public(path: &str) -> bool {
    path.starts_with("/webhooks/") || path.starts_with("/bitrix24/") || path.starts_with("/media/")
}

pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let res = next.call(req).await;
    if path == "/healthz" || path == "/metrics" {
        return res;
    }
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    // A webhook for a number not connected here is acknowledged (200) but logged once an hour
    // per number instead (`http::webhooks::ignored_unknown`).
    let unknown_number = res.as_ref().is_ok_and(|r| {
        r.response()
            .extensions()
            .contains::<crate::http::webhooks::UnknownNumber>()
    });
    // Probes repeat every few seconds: only a failing one is worth a line.
    if path == "/readyz" && status.is_success() {
        return res;
    }
    let flood = public(&path) && (unknown_number || matches!(status.as_u16(), 404 | 429));
    if !flood {
        tracing::info!(
            "{method} {path} {} {:.3}ms",
            status.as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_paths_are_the_unauthenticated_endpoints() {
        assert!(super::public("/webhooks/whatsapp/cloud"));
        assert!(super::public("/bitrix24/events"));
        assert!(!super::public("/api/v1/numbers"));
    }
}
