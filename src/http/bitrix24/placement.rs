//! The connector's settings page inside Bitrix24 (SETTING_CONNECTOR placement, contract §5).
//!
//! Bitrix24 POSTs here, inside an iframe, when a portal admin opens our tile in the Contact
//! Center and picks a line. The page shows what is connected to that line and lets the admin
//! connect a Cloud API number (credentials checked against the Graph API before saving; the
//! webhook URL and verify token to paste into Meta's dashboard are shown) or a Web gateway
//! instance (the live QR until the phone is linked), and disconnect. The page's own forms carry
//! a short-lived session (portal and line, encrypted with our key), so only a page that Bitrix24
//! opened with the portal's application token can act on that portal's line. Framing is allowed.

use actix_web::{http::StatusCode, web, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::page::{escape, layout, placement_options, portal_of, Page};
use crate::{
    bitrix24::form,
    http::{
        api::{
            gateway_numbers::{connect_gateway_instance, gateway_qr, ConnectGatewayNumber},
            numbers::{connect_cloud_number, disconnect_number, ConnectCloudNumber, Connected},
        },
        ApiError, AppState, ErrorCode,
    },
    store::{self, crypto::random_token, numbers, portals},
    whatsapp::cloud::GraphError,
};

/// How long a settings page may act after Bitrix24 opened it.
const SESSION_SECS: i64 = 3600;

/// What a page may act on: one portal's line, until `exp`.
#[derive(Serialize, Deserialize)]
struct Session {
    portal: i64,
    line: String,
    exp: i64,
}

fn seal(state: &AppState, portal: i64, line: &str) -> String {
    let s = Session {
        portal,
        line: line.to_string(),
        exp: store::now_ms() / 1000 + SESSION_SECS,
    };
    state
        .ctx
        .secrets
        .encrypt(&serde_json::to_string(&s).unwrap_or_default())
}

/// The portal and line of a page session; a forged, altered or expired one is refused.
async fn open(state: &AppState, sealed: &str) -> Result<(entity::portals::Model, String), Page> {
    use secrecy::ExposeSecret;
    let refused = || {
        Page::error(
            StatusCode::UNAUTHORIZED,
            "This page has expired. Close it and open the WhatsApp connector again from your \
             Contact Center.",
        )
    };
    let plain = state.ctx.secrets.decrypt(sealed).map_err(|_| refused())?;
    let s: Session = serde_json::from_str(plain.expose_secret()).map_err(|_| refused())?;
    if s.exp < store::now_ms() / 1000 {
        return Err(refused());
    }
    let portal = portals::get(&state.ctx.db, s.portal)
        .await
        .map_err(Page::internal)?
        .filter(|p| p.installed)
        .ok_or_else(refused)?;
    Ok((portal, s.line))
}

fn hidden(session: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"session\" value=\"{}\">",
        escape(session)
    )
}

/// `POST /bitrix24/placement`: what Bitrix24 opens in the Contact Center.
pub async fn page(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    match render_from_bitrix(&state, &body).await {
        Ok(p) | Err(p) => p.respond(),
    }
}

async fn render_from_bitrix(state: &AppState, body: &[u8]) -> Result<Page, Page> {
    let f = form::parse(body);
    let portal = portal_of(
        state,
        &f,
        "Open this page from your Bitrix24 Contact Center (the app is not installed on this \
         portal, or the request did not come from it).",
    )
    .await?;
    let options = placement_options(&f);
    let line = match &options["LINE"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if line.is_empty() || !line.chars().all(|c| c.is_ascii_digit()) {
        return Err(Page::error(
            StatusCode::BAD_REQUEST,
            "Bitrix24 did not say which Open Line to set up. Pick a line in the Contact Center \
             and open the connector again.",
        ));
    }
    main_page(state, &portal, &line, None).await
}

/// The line's state and the two ways to connect a number.
async fn main_page(
    state: &AppState,
    portal: &entity::portals::Model,
    line: &str,
    notice: Option<(bool, String)>,
) -> Result<Page, Page> {
    let session = seal(state, portal.id, line);
    let bound = numbers::active_on_line(&state.ctx.db, portal.id, line)
        .await
        .map_err(Page::internal)?;
    let mut body = format!("<h1>WhatsApp on Open Line {}</h1>", escape(line));
    if let Some((ok, words)) = notice {
        let class = if ok { "ok" } else { "err" };
        body.push_str(&format!(
            "<div class=\"card\"><div class=\"{class}\">{}</div></div>",
            escape(&words)
        ));
    }
    body.push_str("<div class=\"card\"><h2>Connected now</h2>");
    if bound.is_empty() {
        body.push_str("<p class=\"muted\">No WhatsApp number is connected to this line yet.</p>");
    }
    for n in &bound {
        let how = if n.transport == numbers::TRANSPORT_GATEWAY {
            "Web gateway"
        } else {
            "WhatsApp Cloud API"
        };
        body.push_str(&format!(
            "<p><b>+{phone}</b> · {how} · state: <code>{st}</code></p>\
             <form method=\"post\" action=\"{base}/bitrix24/placement/disconnect\">{hidden}\
             <input type=\"hidden\" name=\"number\" value=\"{id}\">\
             <button class=\"secondary\" type=\"submit\">Disconnect</button></form>",
            phone = escape(n.display_phone.trim_start_matches('+')),
            st = escape(&n.session_state),
            base = escape(&state.ctx.public_url),
            hidden = hidden(&session),
            id = n.id,
        ));
    }
    body.push_str("</div><div class=\"row\">");
    body.push_str(&format!(
        "<div class=\"card\"><h2>WhatsApp Cloud API (Meta)</h2>\
         <form method=\"post\" action=\"{base}/bitrix24/placement/cloud\">{hidden}\
         <label>Phone number ID</label><input name=\"phone_number_id\" required>\
         <label>Permanent access token</label><input name=\"access_token\" type=\"password\" required>\
         <label>App secret</label><input name=\"app_secret\" type=\"password\" required>\
         <button type=\"submit\">Check and connect</button></form>\
         <p class=\"muted\">We check these with Meta before saving, then show the webhook URL and \
         verify token to paste into your Meta app.</p></div>\
         <div class=\"card\"><h2>WhatsApp Web gateway</h2>\
         <form method=\"post\" action=\"{base}/bitrix24/placement/gateway\">{hidden}\
         <label>API URL</label><input name=\"api_url\" placeholder=\"https://api.green-api.com\" required>\
         <label>Instance ID</label><input name=\"id_instance\" required>\
         <label>Instance API token</label><input name=\"api_token_instance\" type=\"password\" required>\
         <button type=\"submit\">Connect and show QR</button></form>\
         <p class=\"muted\">Then scan the QR code with WhatsApp on the phone (Linked devices).</p></div>",
        base = escape(&state.ctx.public_url),
        hidden = hidden(&session),
    ));
    body.push_str("</div>");
    Ok(Page {
        status: StatusCode::OK,
        html: layout("WhatsApp connector", "", &body),
    })
}

#[derive(Deserialize)]
pub struct CloudForm {
    session: String,
    phone_number_id: String,
    access_token: SecretString,
    app_secret: SecretString,
}

/// Shows an API error in words on the main page (status kept).
async fn failed(
    state: &AppState,
    portal: &entity::portals::Model,
    line: &str,
    status: StatusCode,
    words: String,
) -> Page {
    match main_page(state, portal, line, Some((false, words))).await {
        Ok(mut p) => {
            p.status = status;
            p
        }
        Err(p) => p,
    }
}

fn api_words(e: &ApiError) -> (StatusCode, String) {
    use actix_web::ResponseError;
    (e.status_code(), e.to_string())
}

/// `POST /bitrix24/placement/cloud`: checks the credentials with the Graph API, saves the
/// number with a fresh verify token, activates the connector on the line.
pub async fn cloud(state: web::Data<AppState>, f: web::Form<CloudForm>) -> HttpResponse {
    let f = f.into_inner();
    let (portal, line) = match open(&state, &f.session).await {
        Ok(x) => x,
        Err(p) => return p.respond(),
    };
    let pnid = f.phone_number_id.trim().to_string();
    if pnid.is_empty() || !pnid.chars().all(|c| c.is_ascii_digit()) {
        return failed(
            &state,
            &portal,
            &line,
            StatusCode::BAD_REQUEST,
            "The phone number ID is the long number Meta shows under API Setup (digits only)."
                .into(),
        )
        .await
        .respond();
    }
    let display = match state
        .outbound
        .graph
        .phone_number(&pnid, &f.access_token)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            let (status, words) = match &e {
                GraphError::Api { .. } if !e.is_transient() => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "Meta refused these credentials ({}). Check the phone number ID and that \
                         the token belongs to the app that owns this number.",
                        e
                    ),
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    "We could not reach Meta to check these credentials. Try again in a minute."
                        .into(),
                ),
            };
            return failed(&state, &portal, &line, status, words)
                .await
                .respond();
        }
    };
    let verify = random_token()[..32].to_string();
    let req = ConnectCloudNumber {
        member_id: portal.member_id.clone(),
        line: line.clone(),
        phone_number_id: pnid,
        display_phone: display.chars().filter(char::is_ascii_digit).collect(),
        access_token: f.access_token,
        app_secret: f.app_secret,
        verify_token: SecretString::from(verify.clone()),
        waba_id: None,
    };
    match connect_cloud_number(&state, &portal, req).await {
        Ok(c) => connected_page(&state, &portal, &line, &c, Some(&verify)).respond(),
        Err(e) => {
            let (status, words) = api_words(&e);
            failed(&state, &portal, &line, status, words)
                .await
                .respond()
        }
    }
}

fn connected_page(
    state: &AppState,
    portal: &entity::portals::Model,
    line: &str,
    c: &Connected,
    verify_token: Option<&str>,
) -> Page {
    let session = seal(state, portal.id, line);
    let activation = match c.activation {
        "active" => "<div class=\"ok\">The connector is active on this line.</div>".to_string(),
        "failed" => format!(
            "<div class=\"err\">Bitrix24 did not activate the connector on this line: {}</div>",
            escape(c.activation_error.as_deref().unwrap_or("unknown reason"))
        ),
        _ => "<div class=\"muted\">Bitrix24 has not confirmed the activation yet; it is retried \
              until it does.</div>"
            .to_string(),
    };
    let mut body = format!(
        "<h1>WhatsApp on Open Line {line}</h1><div class=\"card\">{activation}\
         <p>Number: <b>+{phone}</b></p>",
        line = escape(line),
        phone = escape(&c.number.display_phone),
    );
    match verify_token {
        Some(v) => body.push_str(&format!(
            "<h2>Last step, in your Meta app (WhatsApp → Configuration → Webhook)</h2>\
             <p>Callback URL: <code id=\"webhook\">{url}</code></p>\
             <p>Verify token: <code id=\"verify\">{v}</code></p>\
             <p class=\"muted\">Subscribe to the <b>messages</b> field. The verify token is shown \
             only now.</p>",
            url = escape(&c.webhook_url),
            v = escape(v),
        )),
        None => body.push_str(&format!(
            "<h2>Link the phone</h2><p id=\"state\">State: <code>{st}</code></p>\
             <img id=\"qr\" alt=\"QR code\" style=\"width:264px;height:264px;display:none\">\
             <p class=\"muted\">Open WhatsApp on the phone → Linked devices → Link a device, and \
             scan this code. It refreshes by itself.</p>\
             <script>\
             const url = {qr_url};\
             async function poll() {{\
               try {{\
                 const r = await fetch(url); const j = await r.json();\
                 const img = document.getElementById('qr');\
                 if (j.qr) {{ img.src = j.qr; img.style.display = 'block'; }} else {{ img.style.display = 'none'; }}\
                 document.getElementById('state').textContent = j.state === 'authorized' ? 'Linked: WhatsApp is connected.' : ('State: ' + j.state);\
                 if (j.state === 'authorized') return;\
               }} catch (e) {{}}\
               setTimeout(poll, 3000);\
             }}\
             poll();\
             </script>",
            st = escape(&c.number.session_state),
            qr_url = serde_json::Value::from(format!(
                "{}/bitrix24/placement/qr?number={}&session={}",
                state.ctx.public_url,
                c.number.id,
                url::form_urlencoded::byte_serialize(session.as_bytes()).collect::<String>()
            )),
        )),
    }
    body.push_str("</div>");
    Page {
        status: StatusCode::OK,
        html: layout("WhatsApp connector", "", &body),
    }
}

#[derive(Deserialize)]
pub struct GatewayForm {
    session: String,
    api_url: String,
    id_instance: String,
    api_token_instance: SecretString,
}

/// `POST /bitrix24/placement/gateway`: connects the instance and shows its QR.
pub async fn gateway(state: web::Data<AppState>, f: web::Form<GatewayForm>) -> HttpResponse {
    let f = f.into_inner();
    let (portal, line) = match open(&state, &f.session).await {
        Ok(x) => x,
        Err(p) => return p.respond(),
    };
    let req = ConnectGatewayNumber {
        member_id: portal.member_id.clone(),
        line: line.clone(),
        api_url: f.api_url.trim().to_string(),
        id_instance: f.id_instance.trim().to_string(),
        api_token_instance: f.api_token_instance,
        display_phone: String::new(),
    };
    match connect_gateway_instance(&state, &portal, req).await {
        Ok(c) => connected_page(&state, &portal, &line, &c, None).respond(),
        Err(e) => {
            let (status, words) = api_words(&e);
            failed(&state, &portal, &line, status, words)
                .await
                .respond()
        }
    }
}

#[derive(Deserialize)]
pub struct QrQuery {
    session: String,
    number: i64,
}

/// The number of this page's line, if it is one.
async fn number_of_line(
    state: &AppState,
    portal: &entity::portals::Model,
    line: &str,
    id: i64,
) -> Result<entity::numbers::Model, ApiError> {
    numbers::get(&state.ctx.db, id)
        .await?
        .filter(|n| n.portal_id == portal.id && n.line_id == line)
        .ok_or_else(|| ApiError::not_found(ErrorCode::UnknownNumber, "no such number on this line"))
}

/// `GET /bitrix24/placement/qr`: the page's QR poll (JSON).
pub async fn qr(
    state: web::Data<AppState>,
    q: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let (portal, line) = open(&state, &q.session)
        .await
        .map_err(|_| ApiError::unauthorized(ErrorCode::SessionInvalid, "this page has expired"))?;
    let n = number_of_line(&state, &portal, &line, q.number).await?;
    Ok(HttpResponse::Ok().json(gateway_qr(&state, &n).await?))
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    session: String,
    number: i64,
}

/// `POST /bitrix24/placement/disconnect`: the number stops relaying on this line and our
/// connector is switched off there (`imconnector.activate` ACTIVE=0).
pub async fn disconnect(state: web::Data<AppState>, f: web::Form<DisconnectForm>) -> HttpResponse {
    let f = f.into_inner();
    let (portal, line) = match open(&state, &f.session).await {
        Ok(x) => x,
        Err(p) => return p.respond(),
    };
    let res = async {
        let n = number_of_line(&state, &portal, &line, f.number).await?;
        disconnect_number(&state, &n).await?;
        Ok::<_, ApiError>(n)
    }
    .await;
    let notice = match res {
        Ok(n) => (
            true,
            format!(
                "+{} is disconnected from this line. Messages to it are no longer relayed here.",
                n.display_phone
            ),
        ),
        Err(e) => (false, api_words(&e).1),
    };
    match main_page(&state, &portal, &line, Some(notice)).await {
        Ok(p) | Err(p) => p.respond(),
    }
}
