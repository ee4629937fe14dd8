//! Fault hooks for tests: make an actor panic inside a handler. Compiled only with the `faults`
//! feature (test builds), and answers only with `debug_faults` on.

use actix_web::HttpResponse;
use serde::Deserialize;

use super::extract::JsonRequest;
use crate::{
    actors::{
        registry::{FaultTarget, InjectFault},
        Fault,
    },
    http::{ApiError, ErrorCode},
    tr,
};

#[derive(Deserialize)]
#[serde(tag = "actor", rename_all = "snake_case")]
pub enum Target {
    Portal { portal_id: i64 },
    Number { number_id: i64 },
    Chat { number_id: i64, wa_id: String },
}

pub async fn inject(
    JsonRequest {
        state,
        caller,
        body,
    }: JsonRequest<Target>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    if !state.ctx.settings.debug_faults {
        return Err(ApiError::not_found(ErrorCode::NotFound, |l| {
            tr!(l, "error-fault-hooks-disabled")
        }));
    }
    let target = match body {
        Target::Portal { portal_id } => FaultTarget::Portal(portal_id),
        Target::Number { number_id } => FaultTarget::Number(number_id),
        Target::Chat { number_id, wa_id } => FaultTarget::Chat { number_id, wa_id },
    };
    state
        .registry
        .send(InjectFault {
            target,
            fault: Fault::PanicOnNextWork,
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Accepted().finish())
}
