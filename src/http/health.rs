use actix_web::{web, HttpResponse};
use sea_orm::ConnectionTrait;

use super::{ApiError, AppState};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Ready when the database answers.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.ctx.db.execute_unprepared("SELECT 1").await?;
    Ok(HttpResponse::Ok().body("ready"))
}
