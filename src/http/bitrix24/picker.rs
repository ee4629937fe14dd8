//! The template picker in the Open Lines chat (IM_TEXTAREA placement, bound on install).
//!
//! An operator clicks our button in the chat's message box; Bitrix24 POSTs here inside an
//! iframe (the same form as the settings page, bitrix24.md §5) with the dialog in
//! PLACEMENT_OPTIONS. The page lists the approved templates of the chat's number, lets the
//! operator fill in the values with a live preview, and puts the `/template …` command into the
//! message box (`BX24.placement.call('insertText')`): the operator sends it with Send, the same
//! path as typing it, so the ticks, notices and errors are the chat's usual ones. The page itself
//! sends nothing, so it needs no session of its own.

use actix_web::{http::StatusCode, web, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use super::page::{escape, layout, placement_options, portal_of, script_json, Page};
use crate::{
    bitrix24::form,
    http::AppState,
    relay::{
        templates::{self as relay_templates, Outcome, APPROVED},
        window::{self, Window},
    },
    store::{self, numbers},
};

const TITLE: &str = "WhatsApp templates";

/// `POST /bitrix24/placement/templates`: what Bitrix24 opens from the chat's message box.
pub async fn page(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    match render(&state, &body).await {
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
fn notice(body: &str) -> Page {
    Page::ok(layout(
        TITLE,
        STYLE,
        &format!("<div class=\"card\" data-testid=\"notice\">{body}</div>"),
    ))
}

async fn render(state: &AppState, body: &[u8]) -> Result<Page, Page> {
    let f = form::parse(body);
    let portal = portal_of(
        state,
        &f,
        "Open this page from an Open Lines chat in your Bitrix24 (the app is not installed on \
         this portal, or the request did not come from it).",
    )
    .await?;
    let Some(im_chat) = chat_id_of(&placement_options(&f)) else {
        return Err(Page::error(
            StatusCode::BAD_REQUEST,
            "Bitrix24 did not say which chat this is. Open the templates from an Open Lines chat.",
        ));
    };
    let db = &state.ctx.db;
    // One Open Lines chat id per portal; other portals' chats may carry the same number.
    let mut found = None;
    for chat in entity::chats::Entity::find()
        .filter(entity::chats::Column::B24ChatId.eq(im_chat.as_str()))
        .all(db)
        .await
        .map_err(Page::internal)?
    {
        if let Some(n) = numbers::get(db, chat.number_id)
            .await
            .map_err(Page::internal)?
            .filter(|n| n.portal_id == portal.id)
        {
            found = Some((chat, n));
            break;
        }
    }
    let Some((chat, number)) = found else {
        return Ok(notice(
            "<p>This chat is not a WhatsApp chat of b24wa, so there are no templates to send \
             here.</p>",
        ));
    };
    let phone = escape(number.display_phone.trim_start_matches('+'));
    if !number.active {
        return Ok(notice(&format!(
            "<p>The WhatsApp number of this chat (+{phone}) is disconnected, so nothing can be \
             sent from here.</p>"
        )));
    }
    if number.transport != numbers::TRANSPORT_CLOUD {
        return Ok(notice(&format!(
            "<p data-testid=\"gateway\">No templates needed here: +{phone} is a linked phone \
             (WhatsApp Web gateway). It has no 24-hour window, so just write your message.</p>"
        )));
    }
    let defs: Vec<_> = store::templates::list(db, number.id)
        .await
        .map_err(Page::internal)?
        .into_iter()
        .filter(|t| t.status == APPROVED)
        .collect();
    let now = store::now_ms();
    let mut body = format!(
        "<h1>Send a template <span class=\"muted\">from +{phone}</span></h1>{}",
        window_card(window::at(chat.last_inbound_at, chat.window_closed_at, now))
    );
    if defs.is_empty() {
        body.push_str(
            "<div class=\"card\" data-testid=\"no-templates\"><p>This number has no approved \
             templates yet. Create them in WhatsApp Manager, then sync them on the Templates \
             page of the number in the b24wa admin app.</p></div>",
        );
        return Ok(Page::ok(layout(TITLE, STYLE, &body)));
    }
    let all: Vec<_> = defs.iter().cloned().map(store::templates::def).collect();
    let items: Vec<Value> = defs
        .iter()
        .zip(&all)
        .map(|(row, def)| template_json(def, &row.category, &all))
        .collect();
    body.push_str(&picker_html(&items));
    let head = format!(
        "{STYLE}<script src=\"//api.bitrix24.com/api/v1/\" async></script>\
         <script>const TEMPLATES = {};</script>",
        script_json(&Value::Array(items))
    );
    body.push_str(SCRIPT);
    Ok(Page::ok(layout(TITLE, &head, &body)))
}

/// The window at the top: free text possible or not. Times in UTC, shown in the operator's
/// own time zone by the page's script.
fn window_card(w: Window) -> String {
    let at = |ms: i64| {
        let utc = chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.format("%-d %b %Y, %H:%M UTC").to_string())
            .unwrap_or_default();
        format!("<time data-ms=\"{ms}\">{}</time>", escape(&utc))
    };
    let (class, words) = match w {
        Window::Open { until } => (
            "open",
            format!(
                "The 24-hour window is open until {}: you can also just write.",
                at(until)
            ),
        ),
        Window::Closed { since: Some(since) } => (
            "closed",
            format!(
                "The 24-hour window is closed since {}: only a template reaches the customer now.",
                at(since)
            ),
        ),
        Window::Closed { since: None } => (
            "closed",
            "The customer has not written yet: only a template can start the conversation."
                .to_string(),
        ),
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

/// What the page's script needs of one template.
fn template_json(
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
        Outcome::NotByCommand { why, .. } => Some(why.text(crate::i18n::Lang::en())),
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

fn picker_html(items: &[Value]) -> String {
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
            cat = escape(&t["category"].as_str().unwrap_or("").to_lowercase()),
            note = why
                .map(|w| format!(
                    "<span class=\"muted why\">Can't be sent from the chat: {}.</span>",
                    escape(w)
                ))
                .unwrap_or_default(),
        ));
    }
    format!(
        "<div class=\"card\"><h2>Template</h2><div class=\"list\">{list}</div></div>\
         <div class=\"card\" id=\"fill\" hidden><h2 id=\"values-title\">Values</h2>\
         <div id=\"fields\"></div>\
         <h2 class=\"ph\">Preview</h2><div class=\"bubble\" id=\"preview\" data-testid=\"preview\"></div>\
         <button type=\"button\" id=\"insert\" data-testid=\"insert\" disabled>Insert into message</button>\
         <div id=\"result\" data-testid=\"result\"></div></div>"
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

/// Fills the form and the preview from TEMPLATES, builds the command and inserts it (or shows it
/// to copy outside Bitrix24). DOM built with textContent only: template texts are not HTML.
const SCRIPT: &str = r#"<script>
(function () {
  for (const t of document.querySelectorAll('time[data-ms]')) {
    const d = new Date(Number(t.dataset.ms));
    t.textContent = d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
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
    if (v.some((x) => x === '')) return 'Fill in every value.';
    if (v.some((x) => x.includes('|'))) return 'A value cannot contain the | sign.';
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
      const label = el('label', null, (hasHeader ? (v.part === 'header' ? 'Header ' : 'Body ') : '') + '{{' + v.name + '}}');
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
    document.getElementById('values-title').textContent = current.vars.length ? 'Values' : 'No values needed';
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
    result.append(el('p', 'muted', 'Copy this into the message box and press Send:'));
    const t = el('textarea');
    t.readOnly = true;
    t.rows = 3;
    t.value = text;
    t.setAttribute('data-testid', 'command');
    const copy = el('button', 'secondary', 'Copy');
    copy.type = 'button';
    copy.addEventListener('click', async () => {
      t.select();
      try { await navigator.clipboard.writeText(text); copy.textContent = 'Copied'; }
      catch (e) { document.execCommand('copy'); copy.textContent = 'Copied'; }
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
        result.append(el('div', 'ok', 'Inserted into the message box. Check it and press Send.'));
      });
    });
  });
})();
</script>"#;
