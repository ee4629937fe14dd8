//! The settings page Bitrix24 shows in the Contact Center (SETTING_CONNECTOR placement).
//! It must allow framing. For now it shows the line's connection state and how to connect a
//! number through the API; the onboarding UI replaces it.

use actix_web::{web, HttpResponse};

use crate::{
    bitrix24::form,
    http::{ApiError, AppState},
    store::{numbers, portals},
};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn page(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let f = form::parse(&body);
    let member_id = form::str_at(&f, &["member_id"]).unwrap_or("");
    let token = form::str_at(&f, &["APPLICATION_TOKEN"]).unwrap_or("");
    let portal = portals::find_by_member(&state.ctx.db, member_id).await?;
    let Some(portal) =
        portal.filter(|p| portals::application_token_matches(&state.ctx.secrets, p, token))
    else {
        return Err(ApiError::unauthorized(
            "bad_application_token",
            "open this page from your Bitrix24 Contact Center",
        ));
    };
    let options: serde_json::Value = form::str_at(&f, &["PLACEMENT_OPTIONS"])
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let line = options["LINE"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_default();
    let bound = numbers::active_on_line(&state.ctx.db, portal.id, &line).await?;
    let status = if bound.is_empty() {
        "No WhatsApp number is connected to this line yet.".to_string()
    } else {
        bound
            .iter()
            .map(|n| format!("Connected: +{}", escape(&n.display_phone)))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>WhatsApp</title></head><body>\
         <h3>WhatsApp on Open Line {line}</h3><p>{status}</p>\
         <p>To connect a number: <code>POST {base}/api/v1/numbers</code> with member_id <code>{member}</code> and line <code>{line}</code>.</p>\
         </body></html>",
        line = escape(&line),
        status = status,
        base = escape(&state.ctx.public_url),
        member = escape(&portal.member_id),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
