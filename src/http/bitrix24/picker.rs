//! The template picker in the Open Lines chat (IM_TEXTAREA placement, bound on install).
//!
//! An operator clicks our button in the chat's message box; Bitrix24 POSTs here inside an
//! iframe (the same form as the settings page, bitrix24.md §5) with the dialog in
//! PLACEMENT_OPTIONS. The page lists the approved templates of the chat's number, lets the
//! operator fill in the values with a live preview, and puts the `/template …` command into the
//! message box (`BX24.placement.call('insertText')`): the operator sends it with Send, the same
//! path as typing it, so the ticks, notices and errors are the chat's usual ones. The page itself
//! sends nothing, so it needs no session of its own.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use super::page::{escape, lang_of, layout, placement_options, portal_of, script_json, Page};
use crate::{
    bitrix24::form,
    http::AppState,
    i18n::{self, Lang},
    relay::{
        templates::{self as relay_templates, Outcome, APPROVED},
        window::{self, Window},
    },
    store::{self, numbers},
    tr,
};

/// `POST /bitrix24/placement/templates`: what Bitrix24 opens from the chat's message box, in
/// the operator's interface language (`LANG`).
pub async fn page(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match render(&state, lang_of(&req), &body).await {
        Ok(p) | Err(p) => p.respond(),
    }
}

/// The Open Lines chat id the placement was opened in. Which keys Bitrix24 uses is our best
/// reading (a dialog id `chat1807`, or a bare chat id); a dialog id without the `chat` prefix
/// is a private dialog with a user, not an Open Lines chat.
fn chat_id_of(options: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    for key in ["dialogId", "DIALOG_ID"] {
        if let Some(id) = text(&options[key]).and_then(|s| s.strip_prefix("chat").map(String::from))
        {
            if digits(&id) {
                return Some(id);
            }
        }
    }
    for key in ["chatId", "CHAT_ID"] {
        if let Some(s) = text(&options[key]) {
            let id = s.strip_prefix("chat").unwrap_or(&s);
            if digits(id) {
                return Some(id.to_string());
            }
        }
    }
    None
}

/// A message in place of the picker (not an error: the chat is simply not one for templates).
fn notice(lang: Lang, body: &str) -> Page {
    Page::ok(layout(
        lang,
        &tr!(lang, "picker-title"),
        STYLE,
        &format!("<div class=\"card\" data-testid=\"notice\">{body}</div>"),
    ))
}

async fn render(state: &AppState, lang: Lang, body: &[u8]) -> Result<Page, Page> {
    let f = form::parse(body);
    let portal = portal_of(state, lang, &f, &tr!(lang, "picker-not-from-bitrix24")).await?;
    let Some(im_chat) = chat_id_of(&placement_options(&f)) else {
        return Err(Page::error(
            lang,
            StatusCode::BAD_REQUEST,
            &tr!(lang, "picker-no-chat"),
        ));
    };
    let internal = |e: sea_orm::DbErr| Page::internal(lang, e);
    let db = &state.ctx.db;
    // One Open Lines chat id per portal; other portals' chats may carry the same number.
    let mut found = None;
    for chat in entity::chats::Entity::find()
        .filter(entity::chats::Column::B24ChatId.eq(im_chat.as_str()))
        .all(db)
        .await
        .map_err(internal)?
    {
        if let Some(n) = numbers::get(db, chat.number_id)
            .await
            .map_err(internal)?
            .filter(|n| n.portal_id == portal.id)
        {
            found = Some((chat, n));
            break;
        }
    }
    let Some((chat, number)) = found else {
        return Ok(notice(
            lang,
            &format!(
                "<p data-testid=\"not-ours\">{}</p>",
                escape(&tr!(lang, "picker-not-our-chat"))
            ),
        ));
    };
    let phone = number.display_phone.trim_start_matches('+');
    if !number.active {
        return Ok(notice(
            lang,
            &format!(
                "<p>{}</p>",
                escape(&tr!(lang, "picker-number-disconnected", phone = phone))
            ),
        ));
    }
    if number.transport != numbers::TRANSPORT_CLOUD {
        return Ok(notice(
            lang,
            &format!(
                "<p data-testid=\"gateway\">{}</p>",
                escape(&tr!(lang, "picker-gateway-chat", phone = phone))
            ),
        ));
    }
    let defs: Vec<_> = store::templates::list(db, number.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|t| t.status == APPROVED)
        .collect();
    let now = store::now_ms();
    let title = tr!(lang, "picker-title");
    let mut body = format!(
        "<h1>{} <span class=\"muted\">{}</span></h1>{}",
        escape(&tr!(lang, "picker-heading")),
        escape(&tr!(lang, "picker-from-number", phone = phone)),
        window_card(
            lang,
            window::at(chat.last_inbound_at, chat.window_closed_at, now)
        )
    );
    if defs.is_empty() {
        body.push_str(&format!(
            "<div class=\"card\" data-testid=\"no-templates\"><p>{}</p></div>",
            escape(&tr!(lang, "picker-no-templates"))
        ));
        return Ok(Page::ok(layout(lang, &title, STYLE, &body)));
    }
    let all: Vec<_> = defs.iter().cloned().map(store::templates::def).collect();
    let items: Vec<Value> = defs
        .iter()
        .zip(&all)
        .map(|(row, def)| template_json(lang, def, &row.category, &all))
        .collect();
    body.push_str(&picker_html(lang, &items));
    let head = format!(
        "{STYLE}<script src=\"//api.bitrix24.com/api/v1/\" async></script>\
         <script>const TEMPLATES = {}; const T = {};</script>",
        script_json(&Value::Array(items)),
        script_json(&script_words(lang)),
    );
    body.push_str(SCRIPT);
    Ok(Page::ok(layout(lang, &title, &head, &body)))
}

/// What the page's script writes, in the page's language.
fn script_words(lang: Lang) -> Value {
    json!({
        "fillEvery": tr!(lang, "picker-fill-every-value"),
        "noPipe": tr!(lang, "picker-no-pipe"),
        "header": tr!(lang, "picker-part-header"),
        "body": tr!(lang, "picker-part-body"),
        "values": tr!(lang, "picker-values"),
        "noValues": tr!(lang, "picker-no-values"),
        "copyThis": tr!(lang, "picker-copy-this"),
        "copy": tr!(lang, "picker-copy"),
        "copied": tr!(lang, "picker-copied"),
        "inserted": tr!(lang, "picker-inserted"),
    })
}

/// The window at the top: free text possible or not. Times in UTC, shown in the operator's
/// own time zone by the page's script.
fn window_card(lang: Lang, w: Window) -> String {
    let at = |ms: i64| {
        format!(
            "<time data-ms=\"{ms}\">{}</time>",
            escape(&i18n::date_time(lang, ms))
        )
    };
    // The sentence is escaped around its one piece of markup, the time.
    let sentence = |text: String, ms: i64| {
        let mark = "\u{1}";
        escape(&text).replacen(mark, &at(ms), 1)
    };
    let (class, words) = match w {
        Window::Open { until } => (
            "open",
            sentence(tr!(lang, "picker-window-open", time = "\u{1}"), until),
        ),
        Window::Closed { since: Some(since) } => (
            "closed",
            sentence(tr!(lang, "picker-window-closed", time = "\u{1}"), since),
        ),
        Window::Closed { since: None } => ("closed", escape(&tr!(lang, "picker-window-never"))),
    };
    format!(
        "<div class=\"window {class}\" data-testid=\"window\" data-state=\"{class}\">{words}</div>"
    )
}

/// A component's text (`HEADER` only when it is text).
fn part<'a>(def: &'a relay_templates::TemplateDef, kind: &str) -> Option<&'a Value> {
    def.components.as_array()?.iter().find(|c| {
        c["type"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    })
}

/// The example Meta holds for variable `name` of a component, when it has one.
fn example(component: &Value, kind: &str, name: &str) -> String {
    let ex = &component["example"];
    // Positional examples are listed in order: `{{1}}` is the first (`body_text` is a list of rows).
    let positional = name
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| match kind {
            "header" => ex["header_text"].get(i),
            _ => ex["body_text"].get(0).and_then(|row| row.get(i)),
        });
    let named = ex[format!("{kind}_text_named_params")]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["param_name"] == name))
        .map(|p| &p["example"]);
    positional
        .or(named)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// What the page's script needs of one template (why it cannot go by command in `lang`).
fn template_json(
    lang: Lang,
    def: &relay_templates::TemplateDef,
    category: &str,
    all: &[relay_templates::TemplateDef],
) -> Value {
    let header = part(def, "HEADER").filter(|h| h["format"].as_str().unwrap_or("TEXT") == "TEXT");
    let body = part(def, "BODY");
    let text = |c: Option<&Value>| c.and_then(|c| c["text"].as_str()).unwrap_or("").to_string();
    let mut vars = Vec::new();
    for (kind, c) in [("header", header), ("body", body)] {
        for name in relay_templates::variables(&text(c)) {
            let ex = c.map(|c| example(c, kind, &name)).unwrap_or_default();
            vars.push(json!({"part": kind, "name": name, "example": ex}));
        }
    }
    // Sendable by command exactly when the command with some values would go.
    let probe = vec!["x"; vars.len()].join(" | ");
    let why = match relay_templates::resolve(&format!("{} {} {probe}", def.name, def.language), all)
    {
        Outcome::NotByCommand { why, .. } => Some(why.text(lang)),
        _ => None,
    };
    let buttons: Vec<String> = part(def, "BUTTONS")
        .and_then(|b| b["buttons"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b["text"].as_str().map(String::from))
        .collect();
    json!({
        "name": def.name, "language": def.language, "category": category,
        "header": text(header), "body": text(body), "footer": text(part(def, "FOOTER")),
        "buttons": buttons, "vars": vars, "unsendable": why,
    })
}

/// A template category as WhatsApp Manager names it; an unknown one as Meta sent it.
fn category_words(lang: Lang, category: &str) -> String {
    match category.to_ascii_uppercase().as_str() {
        "MARKETING" => tr!(lang, "picker-category-marketing"),
        "UTILITY" => tr!(lang, "picker-category-utility"),
        "AUTHENTICATION" => tr!(lang, "picker-category-authentication"),
        _ => category.to_lowercase(),
    }
}

fn picker_html(lang: Lang, items: &[Value]) -> String {
    let mut list = String::new();
    for (i, t) in items.iter().enumerate() {
        let s = |k: &str| escape(t[k].as_str().unwrap_or(""));
        let why = t["unsendable"].as_str();
        list.push_str(&format!(
            "<label class=\"tpl{dis}\" data-testid=\"template\" data-name=\"{name}\" \
             data-language=\"{lang}\"><input type=\"radio\" name=\"tpl\" value=\"{i}\"{disabled}>\
             <span class=\"tname\">{name}</span> <span class=\"badge\">{lang}</span> \
             <span class=\"badge cat\">{cat}</span>{note}</label>",
            dis = if why.is_some() { " off" } else { "" },
            disabled = if why.is_some() { " disabled" } else { "" },
            name = s("name"),
            lang = s("language"),
            cat = escape(&category_words(lang, t["category"].as_str().unwrap_or(""))),
            note = why
                .map(|w| format!(
                    "<span class=\"muted why\">{}</span>",
                    escape(&tr!(lang, "picker-unsendable", why = w))
                ))
                .unwrap_or_default(),
        ));
    }
    format!(
        "<div class=\"card\"><h2>{template}</h2><div class=\"list\">{list}</div></div>\
         <div class=\"card\" id=\"fill\" hidden><h2 id=\"values-title\">{values}</h2>\
         <div id=\"fields\"></div>\
         <h2 class=\"ph\">{preview}</h2><div class=\"bubble\" id=\"preview\" data-testid=\"preview\"></div>\
         <button type=\"button\" id=\"insert\" data-testid=\"insert\" disabled>{insert}</button>\
         <div id=\"result\" data-testid=\"result\"></div></div>",
        template = escape(&tr!(lang, "picker-template")),
        values = escape(&tr!(lang, "picker-values")),
        preview = escape(&tr!(lang, "picker-preview")),
        insert = escape(&tr!(lang, "picker-insert")),
    )
}

const STYLE: &str = "<style>\
body{padding:14px;font-size:14px} h1{font-size:17px;margin-bottom:12px} h1 .muted{font-weight:normal}\
.card{padding:14px;margin-bottom:12px} h2{font-size:14px;margin-bottom:8px}\
.window{padding:10px 12px;border-radius:8px;margin-bottom:12px;font-size:13px}\
.window.open{background:#e6f8ec;color:#1b6b35} .window.closed{background:#fff4e0;color:#8a5300}\
.list{display:flex;flex-direction:column;gap:6px}\
.tpl{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin:0;padding:8px 10px;border:1px solid #dfe3e7;border-radius:8px;cursor:pointer;color:#1f2d3d;font-size:14px}\
.tpl input{width:auto;margin:0} .tpl:has(input:checked){border-color:#25d366;background:#f0fbf4}\
.tpl.off{cursor:default;opacity:.6} .tname{font-weight:600}\
.badge{background:#eef1f3;color:#525c69;border-radius:10px;padding:1px 8px;font-size:12px} .badge.cat{background:#eaf1fb;color:#2b5d9c}\
.why{flex-basis:100%}\
.bubble{background:#dcf8c6;border-radius:8px;padding:10px 12px;white-space:pre-wrap;line-height:1.4;max-width:360px}\
.bubble .hd{font-weight:600} .bubble .ft{color:#667781;font-size:12px} .bubble .btns{color:#027eb5;font-size:13px}\
.bubble .var{background:#fff3b0;border-radius:3px;padding:0 2px} .bubble .var.empty{color:#a61b1b;background:#fde8e8}\
.ph{margin-top:14px} #result{margin-top:12px}\
textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;padding:8px;border:1px solid #c6cdd3;border-radius:6px}\
</style>";

/// Fills the form and the preview from TEMPLATES (its words from T), builds the command and inserts it (or shows it
/// to copy outside Bitrix24). DOM built with textContent only: template texts are not HTML.
const SCRIPT: &str = r#"<script>
(function () {
  for (const t of document.querySelectorAll('time[data-ms]')) {
    const d = new Date(Number(t.dataset.ms));
    t.textContent = d.toLocaleString(document.documentElement.lang || [], { dateStyle: 'medium', timeStyle: 'short' });
    t.title = d.toISOString();
  }
  const fill = document.getElementById('fill');
  const fields = document.getElementById('fields');
  const preview = document.getElementById('preview');
  const insert = document.getElementById('insert');
  const result = document.getElementById('result');
  let current = null;
  let inputs = [];
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const valueOf = (part, name) => {
    const i = inputs.find((x) => x.dataset.part === part && x.dataset.name === name);
    return i ? i.value.trim() : '';
  };
  // A text with its {{variables}} replaced by the values (marked), or shown empty.
  function filled(text, part, into) {
    const re = /\{\{\s*([^}]*?)\s*\}\}/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      into.append(text.slice(last, m.index));
      const v = valueOf(part, m[1]);
      into.append(el('span', v ? 'var' : 'var empty', v || '{{' + m[1] + '}}'));
      last = re.lastIndex;
    }
    into.append(text.slice(last));
  }
  function values() {
    return inputs.map((i) => i.value.trim());
  }
  function problem() {
    const v = values();
    if (v.some((x) => x === '')) return T.fillEvery;
    if (v.some((x) => x.includes('|'))) return T.noPipe;
    return null;
  }
  function command() {
    const v = values();
    return ['/template', current.name, current.language].join(' ') + (v.length ? ' ' + v.join(' | ') : '');
  }
  function render() {
    preview.textContent = '';
    if (current.header) { const h = el('div', 'hd'); filled(current.header, 'header', h); preview.append(h); }
    const b = el('div', 'bd'); filled(current.body, 'body', b); preview.append(b);
    if (current.footer) preview.append(el('div', 'ft', current.footer));
    if (current.buttons.length) preview.append(el('div', 'btns', current.buttons.map((x) => '[' + x + ']').join(' ')));
    const p = problem();
    insert.disabled = !!p;
    insert.title = p || '';
    result.textContent = '';
  }
  function choose(i) {
    current = TEMPLATES[i];
    fields.textContent = '';
    inputs = [];
    // Header and body both number from {{1}}: say which is which when there is a header.
    const hasHeader = current.vars.some((v) => v.part === 'header');
    for (const v of current.vars) {
      const label = el('label', null, (hasHeader ? (v.part === 'header' ? T.header : T.body) + ' ' : '') + '{{' + v.name + '}}');
      const input = el('input');
      input.dataset.part = v.part;
      input.dataset.name = v.name;
      input.setAttribute('data-testid', 'value');
      if (v.example) input.placeholder = v.example;
      input.addEventListener('input', render);
      label.htmlFor = input.id = 'v' + inputs.length;
      fields.append(label, input);
      inputs.push(input);
    }
    document.getElementById('values-title').textContent = current.vars.length ? T.values : T.noValues;
    fill.hidden = false;
    render();
    if (inputs[0]) inputs[0].focus();
  }
  for (const r of document.querySelectorAll('input[name="tpl"]')) {
    r.addEventListener('change', () => choose(Number(r.value)));
  }
  const inBitrix = () => typeof BX24 !== 'undefined' && window.parent !== window;
  function showCommand(text) {
    result.textContent = '';
    result.append(el('p', 'muted', T.copyThis));
    const t = el('textarea');
    t.readOnly = true;
    t.rows = 3;
    t.value = text;
    t.setAttribute('data-testid', 'command');
    const copy = el('button', 'secondary', T.copy);
    copy.type = 'button';
    copy.addEventListener('click', async () => {
      t.select();
      try { await navigator.clipboard.writeText(text); copy.textContent = T.copied; }
      catch (e) { document.execCommand('copy'); copy.textContent = T.copied; }
    });
    result.append(t, copy);
  }
  insert.addEventListener('click', () => {
    if (!current || problem()) return;
    const text = command();
    if (!inBitrix()) { showCommand(text); return; }
    BX24.init(() => {
      BX24.placement.call('insertText', { text: text }, () => {
        result.textContent = '';
        result.append(el('div', 'ok', T.inserted));
      });
    });
  });
})();
</script>"#;
