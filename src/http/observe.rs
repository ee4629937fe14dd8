//! Where messages enter: each webhook or portal event gets its trace id here (the caller's, or a
//! new one), is handled inside that trace's context and span (so the inbox stores the id with
//! what it brings), and is counted by source and outcome with its time to acknowledge.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};
use tracing::Instrument;

use crate::{
    http::ApiError,
    metrics,
    trace::{self, TraceCtx},
};

/// The counted source of a public path; `None` for paths that bring no messages.
fn source(path: &str) -> Option<&'static str> {
    if path.starts_with("/webhooks/whatsapp/cloud") {
        Some(metrics::SOURCE_CLOUD)
    } else if path.starts_with("/webhooks/whatsapp/gateway/")
        || path.starts_with("/webhooks/whatsapp/evolution/")
    {
        Some(metrics::SOURCE_GATEWAY)
    } else if path == "/bitrix24/events" {
        Some(metrics::SOURCE_BITRIX24)
    } else {
        None
    }
}

pub async fn webhook(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let Some(source) = source(req.path()) else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let trace_id = trace::from_headers(req.headers()).unwrap_or_else(trace::generate);
    let span = tracing::info_span!("webhook", trace_id = %trace_id, source);
    let ctx = TraceCtx::new(trace_id, None);
    let (res, stored, duplicates) =
        trace::scope_counting(ctx, next.call(req).instrument(span.clone())).await;
    let outcome = match &res {
        Ok(r) if r.status().is_success() => {
            if r.response()
                .extensions()
                .contains::<crate::http::webhooks::UnknownNumber>()
            {
                metrics::OUTCOME_UNKNOWN_NUMBER
            } else if stored > 0 {
                metrics::OUTCOME_STORED
            } else if duplicates > 0 {
                metrics::OUTCOME_DUPLICATE
            } else {
                metrics::OUTCOME_IGNORED
            }
        }
        Ok(r) => {
            let code = r
                .response()
                .error()
                .and_then(|e| e.as_error::<ApiError>())
                .map_or("", ApiError::code);
            metrics::outcome_of_error(code, r.status().as_u16())
        }
        Err(e) => {
            let code = e.as_error::<ApiError>().map_or("", ApiError::code);
            metrics::outcome_of_error(code, e.as_response_error().status_code().as_u16())
        }
    };
    let took = started.elapsed();
    metrics::webhook(source, outcome, took);
    span.in_scope(|| tracing::debug!(outcome, stored, duplicates, "webhook answered"));
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_message_bearing_paths_are_counted() {
        use super::source;
        assert_eq!(source("/webhooks/whatsapp/cloud"), Some("cloud"));
        assert_eq!(source("/webhooks/whatsapp/cloud/123"), Some("cloud"));
        assert_eq!(source("/webhooks/whatsapp/gateway/7"), Some("gateway"));
        assert_eq!(source("/bitrix24/events"), Some("bitrix24"));
        assert_eq!(source("/bitrix24/install"), None);
        assert_eq!(source("/media/x/y"), None);
    }
}
