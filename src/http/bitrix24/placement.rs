//! The connector's settings page inside Bitrix24 (SETTING_CONNECTOR placement, contract §5).
//!
//! Bitrix24 POSTs here, inside an iframe, when a portal admin opens our tile in the Contact
//! Center and picks a line. The page shows what is connected to that line and lets the admin
//! connect a Cloud API number (credentials checked against the Graph API before saving; the
//! webhook URL and verify token to paste into Meta's dashboard are shown) or a Web gateway
//! instance (the live QR until the phone is linked), and disconnect. The page's own forms carry
//! a short-lived session (portal and line, encrypted with our key), so only a page that Bitrix24
//! opened with the portal's application token can act on that portal's line. Framing is allowed.

use actix_web::{dev::Payload, http::StatusCode, web, FromRequest, HttpRequest, HttpResponse};
use futures::future::LocalBoxFuture;
use secrecy::SecretString;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::page::{
    escape, lang_id, lang_of, lang_query, layout, placement_options, portal_of, script_json, Page,
};
use crate::{
    bitrix24::form,
    http::{
        api::{
            gateway_numbers::{connect_gateway_instance, gateway_qr, ConnectGatewayNumber},
            numbers::{connect_cloud_number, disconnect_number, ConnectCloudNumber, Connected},
        },
        ApiError, AppState, ErrorCode,
    },
    i18n::Lang,
    store::{self, crypto::random_token, numbers, portals},
    tr,
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
async fn open(
    state: &AppState,
    lang: Lang,
    sealed: &str,
) -> Result<(entity::portals::Model, String), Page> {
    use secrecy::ExposeSecret;
    let refused = || {
        Page::error(
            lang,
            StatusCode::UNAUTHORIZED,
            &tr!(lang, "settings-session-expired"),
        )
    };
    let plain = state.ctx.secrets.decrypt(sealed).map_err(|_| refused())?;
    let s: Session = serde_json::from_str(plain.expose_secret()).map_err(|_| refused())?;
    if s.exp < store::now_ms() / 1000 {
        return Err(refused());
    }
    let portal = portals::get(&state.ctx.db, s.portal)
        .await
        .map_err(|e| Page::internal(lang, e))?
        .filter(|p| p.installed)
        .ok_or_else(refused)?;
    Ok((portal, s.line))
}

/// The line a page acts on: one portal's line, in the page's language.
pub struct OnLine {
    state: web::Data<AppState>,
    lang: Lang,
    portal: entity::portals::Model,
    line: String,
}

impl OnLine {
    /// The main page with `words` saying what went wrong (`status` kept).
    async fn failed(&self, status: StatusCode, words: String) -> HttpResponse {
        failed(
            &self.state,
            self.lang,
            &self.portal,
            &self.line,
            status,
            words,
        )
        .await
        .respond()
    }

    /// A connect's answer: the connected number's page, or the main page with the refusal.
    async fn connected(
        &self,
        res: Result<Connected, ApiError>,
        verify_token: Option<&str>,
    ) -> HttpResponse {
        match res {
            Ok(c) => connected_page(
                &self.state,
                self.lang,
                &self.portal,
                &self.line,
                &c,
                verify_token,
            )
            .respond(),
            Err(e) => {
                let (status, words) = api_words(&e, self.lang);
                self.failed(status, words).await
            }
        }
    }
}

/// A form the page posts, with the line its session names. Extracted in the order the handlers'
/// arguments had (the state, then the form); a refused session answers with its page before the
/// handler runs.
pub struct LineForm<F> {
    on: OnLine,
    form: F,
}

/// The forms that carry a page session (in their `session` field).
pub trait SessionForm: DeserializeOwned + 'static {
    fn session(&self) -> &str;
}

macro_rules! session_forms {
    ($($form:ty),*) => {
        $(impl SessionForm for $form {
            fn session(&self) -> &str {
                &self.session
            }
        })*
    };
}
session_forms!(CloudForm, GatewayForm, DisconnectForm);

/// A page that refuses the request, as the extractor's error.
#[derive(Debug)]
struct Refused(Page);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "page session refused ({})", self.0.status)
    }
}

impl actix_web::ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }
    fn error_response(&self) -> HttpResponse {
        self.0.clone().respond()
    }
}

impl<F: SessionForm> FromRequest for LineForm<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = <(web::Data<AppState>, web::Form<F>)>::from_request(req, payload);
        let lang = lang_of(req);
        Box::pin(async move {
            let (state, form) = parts.await?;
            let form = form.into_inner();
            let (portal, line) = open(&state, lang, form.session()).await.map_err(Refused)?;
            let on = OnLine {
                state,
                lang,
                portal,
                line,
            };
            Ok(Self { on, form })
        })
    }
}

fn hidden(session: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"session\" value=\"{}\">",
        escape(session)
    )
}

/// Where a form of the page posts to: our `path`, in the page's language.
fn action(state: &AppState, lang: Lang, path: &str) -> String {
    escape(&format!(
        "{}/bitrix24/placement/{path}?{}",
        state.ctx.public_url,
        lang_query(lang)
    ))
}

/// A number's session state in words (the admin app's names); an unknown one as it is.
fn state_words(lang: Lang, state: &str) -> String {
    match state {
        "ok" => tr!(lang, "number-state-ok"),
        "authorized" => tr!(lang, "number-state-authorized"),
        "notAuthorized" => tr!(lang, "number-state-not-authorized"),
        "starting" => tr!(lang, "number-state-starting"),
        "sleepMode" => tr!(lang, "number-state-sleep-mode"),
        "blocked" => tr!(lang, "number-state-blocked"),
        "yellowCard" => tr!(lang, "number-state-yellow-card"),
        "token_invalid" => tr!(lang, "number-state-token-invalid"),
        other => other.to_string(),
    }
}

/// `POST /bitrix24/placement`: what Bitrix24 opens in the Contact Center.
pub async fn page(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match render_from_bitrix(&state, &req, &body).await {
        Ok(p) | Err(p) => p.respond(),
    }
}

async fn render_from_bitrix(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Page, Page> {
    let lang = lang_of(req);
    let f = form::parse(body);
    let portal = portal_of(state, lang, &f, &tr!(lang, "settings-not-from-bitrix24")).await?;
    // Only a portal admin opens the Contact Center's settings: their interface language is the
    // portal's until the admin app overrides it (operators' notices follow it).
    if let Some(id) = lang_id(req) {
        if let Err(e) = portals::set_language_b24(&state.ctx.db, portal.id, &id).await {
            tracing::warn!(portal = portal.id, error = %e, "settings page: the portal's language not stored");
        }
    }
    let options = placement_options(&f);
    let line = match &options["LINE"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if line.is_empty() || !line.chars().all(|c| c.is_ascii_digit()) {
        return Err(Page::error(
            lang,
            StatusCode::BAD_REQUEST,
            &tr!(lang, "settings-no-line"),
        ));
    }
    main_page(state, lang, &portal, &line, None).await
}

/// The line's state and the two ways to connect a number.
async fn main_page(
    state: &AppState,
    lang: Lang,
    portal: &entity::portals::Model,
    line: &str,
    notice: Option<(bool, String)>,
) -> Result<Page, Page> {
    let session = seal(state, portal.id, line);
    let bound = numbers::active_on_line(&state.ctx.db, portal.id, line)
        .await
        .map_err(|e| Page::internal(lang, e))?;
    let t = |key_text: String| escape(&key_text);
    let mut body = format!("<h1>{}</h1>", t(tr!(lang, "settings-heading", line = line)));
    if let Some((ok, words)) = notice {
        let class = if ok { "ok" } else { "err" };
        body.push_str(&format!(
            "<div class=\"card\"><div class=\"{class}\">{}</div></div>",
            escape(&words)
        ));
    }
    body.push_str(&format!(
        "<div class=\"card\"><h2>{}</h2>",
        t(tr!(lang, "settings-connected-now"))
    ));
    if bound.is_empty() {
        body.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            t(tr!(lang, "settings-none-connected"))
        ));
    }
    for n in &bound {
        let how = if n.transport == numbers::TRANSPORT_GATEWAY {
            tr!(lang, "settings-via-gateway")
        } else {
            tr!(lang, "settings-via-cloud")
        };
        body.push_str(&format!(
            "<p><b>+{phone}</b> · {how} · {state_label} <code>{st}</code></p>\
             <form method=\"post\" action=\"{action}\">{hidden}\
             <input type=\"hidden\" name=\"number\" value=\"{id}\">\
             <button class=\"secondary\" type=\"submit\">{disconnect}</button></form>",
            phone = escape(n.display_phone.trim_start_matches('+')),
            how = escape(&how),
            state_label = t(tr!(lang, "settings-state")),
            st = escape(&state_words(lang, &n.session_state)),
            action = action(state, lang, "disconnect"),
            hidden = hidden(&session),
            id = n.id,
            disconnect = t(tr!(lang, "settings-disconnect")),
        ));
    }
    body.push_str("</div><div class=\"row\">");
    body.push_str(&format!(
        "<div class=\"card\"><h2>{cloud_title}</h2>\
         <form method=\"post\" action=\"{cloud_action}\">{hidden}\
         <label>{pnid}</label><input name=\"phone_number_id\" required>\
         <label>{token}</label><input name=\"access_token\" type=\"password\" required>\
         <label>{secret}</label><input name=\"app_secret\" type=\"password\" required>\
         <button type=\"submit\">{check}</button></form>\
         <p class=\"muted\">{cloud_hint}</p></div>\
         <div class=\"card\"><h2>{gw_title}</h2>\
         <form method=\"post\" action=\"{gw_action}\">{hidden}\
         <label>{api_url}</label><input name=\"api_url\" placeholder=\"https://api.green-api.com\" required>\
         <label>{instance}</label><input name=\"id_instance\" required>\
         <label>{instance_token}</label><input name=\"api_token_instance\" type=\"password\" required>\
         <button type=\"submit\">{connect}</button></form>\
         <p class=\"muted\">{gw_hint}</p></div>",
        cloud_title = t(tr!(lang, "settings-cloud-title")),
        cloud_action = action(state, lang, "cloud"),
        hidden = hidden(&session),
        pnid = t(tr!(lang, "settings-phone-number-id")),
        token = t(tr!(lang, "settings-access-token")),
        secret = t(tr!(lang, "settings-app-secret")),
        check = t(tr!(lang, "settings-check-and-connect")),
        cloud_hint = t(tr!(lang, "settings-cloud-hint")),
        gw_title = t(tr!(lang, "settings-gateway-title")),
        gw_action = action(state, lang, "gateway"),
        api_url = t(tr!(lang, "settings-api-url")),
        instance = t(tr!(lang, "settings-instance-id")),
        instance_token = t(tr!(lang, "settings-instance-token")),
        connect = t(tr!(lang, "settings-connect-and-show-qr")),
        gw_hint = t(tr!(lang, "settings-gateway-hint")),
    ));
    body.push_str("</div>");
    Ok(Page::ok(layout(lang, &tr!(lang, "page-title"), "", &body)))
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
    lang: Lang,
    portal: &entity::portals::Model,
    line: &str,
    status: StatusCode,
    words: String,
) -> Page {
    match main_page(state, lang, portal, line, Some((false, words))).await {
        Ok(mut p) => {
            p.status = status;
            p
        }
        Err(p) => p,
    }
}

fn api_words(e: &ApiError, lang: Lang) -> (StatusCode, String) {
    use actix_web::ResponseError;
    (e.status_code(), e.message(lang))
}

/// `POST /bitrix24/placement/cloud`: checks the credentials with the Graph API, saves the
/// number with a fresh verify token, activates the connector on the line.
pub async fn cloud(LineForm { on, form: f }: LineForm<CloudForm>) -> HttpResponse {
    let lang = on.lang;
    let pnid = f.phone_number_id.trim().to_string();
    if pnid.is_empty() || !pnid.chars().all(|c| c.is_ascii_digit()) {
        return on
            .failed(
                StatusCode::BAD_REQUEST,
                tr!(lang, "settings-phone-number-id-digits"),
            )
            .await;
    }
    let display = match on
        .state
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
                    tr!(lang, "settings-meta-refused", detail = e.to_string()),
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    tr!(lang, "settings-meta-unreachable"),
                ),
            };
            return on.failed(status, words).await;
        }
    };
    let verify = random_token()[..32].to_string();
    let req = ConnectCloudNumber {
        member_id: on.portal.member_id.clone(),
        line: on.line.clone(),
        phone_number_id: pnid,
        display_phone: display.chars().filter(char::is_ascii_digit).collect(),
        access_token: f.access_token,
        app_secret: f.app_secret,
        verify_token: SecretString::from(verify.clone()),
        waba_id: None,
    };
    let res = connect_cloud_number(&on.state, &on.portal, req).await;
    on.connected(res, Some(&verify)).await
}

fn connected_page(
    state: &AppState,
    lang: Lang,
    portal: &entity::portals::Model,
    line: &str,
    c: &Connected,
    verify_token: Option<&str>,
) -> Page {
    let session = seal(state, portal.id, line);
    let t = |text: String| escape(&text);
    let activation = match c.activation {
        "active" => format!(
            "<div class=\"ok\">{}</div>",
            t(tr!(lang, "settings-active"))
        ),
        "failed" => {
            let why = c
                .activation_error
                .clone()
                .unwrap_or_else(|| tr!(lang, "settings-unknown-reason"));
            format!(
                "<div class=\"err\">{}</div>",
                t(tr!(lang, "settings-activation-failed", reason = why))
            )
        }
        _ => format!(
            "<div class=\"muted\">{}</div>",
            t(tr!(lang, "settings-activation-pending"))
        ),
    };
    let mut body = format!(
        "<h1>{heading}</h1><div class=\"card\">{activation}\
         <p>{number_label} <b>+{phone}</b></p>",
        heading = t(tr!(lang, "settings-heading", line = line)),
        number_label = t(tr!(lang, "settings-number")),
        phone = escape(&c.number.display_phone),
    );
    match verify_token {
        Some(v) => body.push_str(&format!(
            "<h2>{last_step}</h2>\
             <p>{callback} <code id=\"webhook\">{url}</code></p>\
             <p>{verify_label} <code id=\"verify\">{v}</code></p>\
             <p class=\"muted\">{subscribe}</p>",
            last_step = t(tr!(lang, "settings-meta-last-step")),
            callback = t(tr!(lang, "settings-callback-url")),
            url = escape(&c.webhook_url),
            verify_label = t(tr!(lang, "settings-verify-token")),
            v = escape(v),
            subscribe = t(tr!(lang, "settings-subscribe-messages")),
        )),
        None => {
            // What the poll script writes, in the page's language.
            let words = serde_json::json!({
                "state": tr!(lang, "settings-state"),
                "linked": tr!(lang, "settings-linked"),
                "states": {
                    "ok": state_words(lang, "ok"),
                    "authorized": state_words(lang, "authorized"),
                    "notAuthorized": state_words(lang, "notAuthorized"),
                    "starting": state_words(lang, "starting"),
                    "sleepMode": state_words(lang, "sleepMode"),
                    "blocked": state_words(lang, "blocked"),
                    "yellowCard": state_words(lang, "yellowCard"),
                },
            });
            body.push_str(&format!(
                "<h2>{link_title}</h2><p id=\"state\">{state_label} <code>{st}</code></p>\
                 <img id=\"qr\" alt=\"{qr_alt}\" style=\"width:264px;height:264px;display:none\">\
                 <p class=\"muted\">{scan}</p>\
                 <script>\
                 const url = {qr_url};\
                 const WORDS = {words};\
                 async function poll() {{\
                   try {{\
                     const r = await fetch(url); const j = await r.json();\
                     const img = document.getElementById('qr');\
                     if (j.qr) {{ img.src = j.qr; img.style.display = 'block'; }} else {{ img.style.display = 'none'; }}\
                     const st = document.getElementById('state');\
                     if (j.state === 'authorized') {{ st.textContent = WORDS.linked; return; }}\
                     st.textContent = WORDS.state + ' ' + (WORDS.states[j.state] || j.state);\
                   }} catch (e) {{}}\
                   setTimeout(poll, 3000);\
                 }}\
                 poll();\
                 </script>",
                link_title = t(tr!(lang, "settings-link-phone")),
                state_label = t(tr!(lang, "settings-state")),
                st = escape(&state_words(lang, &c.number.session_state)),
                qr_alt = t(tr!(lang, "settings-qr-alt")),
                scan = t(tr!(lang, "settings-scan-hint")),
                qr_url = script_json(&serde_json::Value::from(format!(
                    "{}/bitrix24/placement/qr?number={}&session={}&{}",
                    state.ctx.public_url,
                    c.number.id,
                    url::form_urlencoded::byte_serialize(session.as_bytes()).collect::<String>(),
                    lang_query(lang),
                ))),
                words = script_json(&words),
            ))
        }
    }
    body.push_str("</div>");
    Page::ok(layout(lang, &tr!(lang, "page-title"), "", &body))
}

#[derive(Deserialize)]
pub struct GatewayForm {
    session: String,
    api_url: String,
    id_instance: String,
    api_token_instance: SecretString,
}

/// `POST /bitrix24/placement/gateway`: connects the instance and shows its QR.
pub async fn gateway(LineForm { on, form: f }: LineForm<GatewayForm>) -> HttpResponse {
    let req = ConnectGatewayNumber {
        member_id: on.portal.member_id.clone(),
        line: on.line.clone(),
        api_url: f.api_url.trim().to_string(),
        id_instance: f.id_instance.trim().to_string(),
        api_token_instance: f.api_token_instance,
        display_phone: String::new(),
    };
    let res = connect_gateway_instance(&on.state, &on.portal, req).await;
    on.connected(res, None).await
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
        .ok_or_else(|| {
            ApiError::not_found(ErrorCode::UnknownNumber, |l| {
                tr!(l, "error-unknown-number-on-line")
            })
        })
}

/// `GET /bitrix24/placement/qr`: the page's QR poll (JSON).
pub async fn qr(
    state: web::Data<AppState>,
    q: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let (portal, line) = open(&state, Lang::en(), &q.session).await.map_err(|_| {
        ApiError::unauthorized(ErrorCode::SessionInvalid, |l| tr!(l, "error-page-expired"))
    })?;
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
pub async fn disconnect(LineForm { on, form: f }: LineForm<DisconnectForm>) -> HttpResponse {
    let lang = on.lang;
    let res = async {
        let n = number_of_line(&on.state, &on.portal, &on.line, f.number).await?;
        disconnect_number(&on.state, &n).await?;
        Ok::<_, ApiError>(n)
    }
    .await;
    let notice = match res {
        Ok(n) => (
            true,
            tr!(
                lang,
                "settings-disconnected",
                phone = n.display_phone.trim_start_matches('+')
            ),
        ),
        Err(e) => (false, api_words(&e, lang).1),
    };
    match main_page(&on.state, lang, &on.portal, &on.line, Some(notice)).await {
        Ok(p) | Err(p) => p.respond(),
    }
}
