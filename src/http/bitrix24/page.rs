//! What our pages inside Bitrix24 share (the connector's settings page, the template picker,
//! the install page): the reader's language (Bitrix24's `LANG`), the check that a placement POST
//! comes from an installed portal, the HTML answer and its layout, and escaping.

use actix_web::{
    body::BoxBody,
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use serde_json::Value;

use crate::{
    bitrix24::form,
    http::{ApiError, AppState},
    i18n::Lang,
    store::portals,
    tr,
};

/// The `LANG` Bitrix24 puts in the query of every page it opens (the clicking user's interface
/// language; our own forms and links carry it on), as Bitrix24 spells it.
pub(super) fn lang_id(req: &HttpRequest) -> Option<String> {
    form::str_at(&form::parse(req.query_string().as_bytes()), &["LANG"])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// The language a page is shown in: `LANG`'s, by the fallback rule; English without one.
pub(super) fn lang_of(req: &HttpRequest) -> Lang {
    lang_id(req).map_or_else(Lang::en, |id| Lang::from_bitrix24(&id))
}

/// `?LANG=<code>` for the links and forms of a page, so the next page reads the same.
pub(super) fn lang_query(lang: Lang) -> String {
    format!("LANG={}", lang.code())
}

/// An HTML answer (the page, or an error in words).
#[derive(Debug, Clone)]
pub(super) struct Page {
    pub status: StatusCode,
    pub html: String,
}

impl Page {
    pub fn ok(html: String) -> Self {
        Self {
            status: StatusCode::OK,
            html,
        }
    }

    pub fn error(lang: Lang, status: StatusCode, words: &str) -> Self {
        Self {
            status,
            html: layout(
                lang,
                &tr!(lang, "page-title"),
                "",
                &format!("<div class=\"err\">{}</div>", escape(words)),
            ),
        }
    }

    pub fn internal(lang: Lang, e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "page inside Bitrix24 failed");
        Self::error(
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            &tr!(lang, "page-internal-error"),
        )
    }

    /// An API refusal as a page: its message in `lang` and its code (for support); the error
    /// stays on the answer for the metrics and the log, as a JSON answer's does.
    pub fn refusal(lang: Lang, e: ApiError) -> HttpResponse {
        let html = layout(
            lang,
            &tr!(lang, "page-title"),
            "",
            &format!(
                "<div class=\"err\">{}</div><p class=\"muted\">{} <code>{}</code></p>",
                escape(&capitalized(&e.message(lang))),
                escape(&tr!(lang, "page-error-code")),
                e.code(),
            ),
        );
        let mut res = HttpResponse::from_error(e);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        res.map_body(|_, _| BoxBody::new(html))
    }

    pub fn respond(self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("text/html; charset=utf-8")
            // Shown inside Bitrix24's iframe: no X-Frame-Options, no frame-ancestors.
            .insert_header(("Cache-Control", "no-store"))
            .body(self.html)
    }
}

/// An API message (lower case, as in JSON) as the first words of a page's sentence.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `value` as a JavaScript literal that is safe inside a `<script>` element.
pub(super) fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page around `body`, in `lang`; `head` adds to the shared style (more CSS, scripts).
pub(super) fn layout(lang: Lang, title: &str, head: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{code}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>
body{{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;padding:24px;color:#1f2d3d;background:#f5f7f8}}
h1{{font-size:20px;margin:0 0 16px}} h2{{font-size:16px;margin:0 0 12px}}
.card{{background:#fff;border-radius:10px;padding:20px;margin-bottom:16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}}
label{{display:block;font-size:13px;margin:10px 0 4px;color:#525c69}}
input{{width:100%;max-width:420px;box-sizing:border-box;padding:8px 10px;border:1px solid #c6cdd3;border-radius:6px;font-size:14px}}
button{{margin-top:14px;background:#25d366;color:#fff;border:0;border-radius:6px;padding:9px 18px;font-size:14px;cursor:pointer}}
button.secondary{{background:#e0e4e8;color:#333}} .err{{background:#fde8e8;color:#a61b1b;padding:12px;border-radius:6px}}
.ok{{background:#e6f8ec;color:#1b6b35;padding:12px;border-radius:6px}} code{{background:#eef1f3;padding:2px 6px;border-radius:4px;word-break:break-all}}
.muted{{color:#828b95;font-size:13px}} .row{{display:flex;gap:16px;flex-wrap:wrap}} .row .card{{flex:1;min-width:280px}}
</style>{head}</head><body>{body}</body></html>"#,
        title = escape(title),
        code = lang.code(),
    )
}

/// The portal a placement POST (bitrix24.md §5) comes from: an installed one whose application
/// token it carries. Anything else gets `refusal` in words.
pub(super) async fn portal_of(
    state: &AppState,
    lang: Lang,
    f: &Value,
    refusal: &str,
) -> Result<entity::portals::Model, Page> {
    let member_id = form::str_at(f, &["member_id"]).unwrap_or("");
    let token = form::str_at(f, &["APPLICATION_TOKEN"]).unwrap_or("");
    portals::find_by_member(&state.ctx.db, member_id)
        .await
        .map_err(|e| Page::internal(lang, e))?
        .filter(|p| p.installed && portals::application_token_matches(&state.ctx.secrets, p, token))
        .ok_or_else(|| Page::error(lang, StatusCode::UNAUTHORIZED, refusal))
}

/// The placement's PLACEMENT_OPTIONS (a JSON string in the form); `Null` when absent or unreadable.
pub(super) fn placement_options(f: &Value) -> Value {
    form::str_at(f, &["PLACEMENT_OPTIONS"])
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}
