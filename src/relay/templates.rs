//! Sending a template from the Open Lines chat by a typed command, the fallback that works on
//! every portal (whatsapp-templates.md §3):
//!
//! `/template <name> [<language>] <value 1> | <value 2> | …`
//!
//! Values fill the header's variable first (when the header has one), then the body's, in the
//! order they first appear. `<language>` is needed only when the name exists in several
//! languages. `/template` alone lists the approved templates. Everything here is pure: the
//! command, which template it names, the JSON `components` of the send and the text the
//! operator sees.

use serde_json::{json, Value};

use crate::{i18n::Lang, tr};

/// A template as the number's account lists it (what the command is checked against).
#[derive(Debug, Clone)]
pub struct TemplateDef {
    pub name: String,
    pub language: String,
    pub status: String,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    pub components: Value,
}

/// A command that names a sendable template with all its values.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSend {
    pub name: String,
    pub language: String,
    /// The `template.components` of the send (omitted when empty).
    pub components: Value,
    /// The filled-in text (header, body, footer, buttons), as the customer sees it.
    pub rendered: String,
}

/// What an operator's `/template …` asks for, or why it cannot go (each reads as a notice).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Send(TemplateSend),
    /// `/template` alone, or a name that does not exist: the list of approved templates.
    List {
        unknown: Option<String>,
    },
    ChooseLanguage {
        name: String,
        languages: Vec<String>,
    },
    NotApproved {
        name: String,
        language: String,
        status: String,
    },
    WrongCount {
        name: String,
        variables: Vec<String>,
        given: usize,
    },
    /// A media header, or a button that needs a value: not sendable by command.
    NotByCommand {
        name: String,
        why: Unsendable,
    },
}

/// Why a template cannot be sent by the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsendable {
    /// Its header is a picture, video or document.
    MediaHeader,
    /// One of its buttons needs a value.
    ButtonValue,
}

impl Unsendable {
    /// In words, for `lang`.
    pub fn text(self, lang: Lang) -> String {
        match self {
            Unsendable::MediaHeader => tr!(lang, "cmd-template-media-header"),
            Unsendable::ButtonValue => tr!(lang, "cmd-template-button-value"),
        }
    }
}

/// The command's text after `/template`, or `None` when the message is not a command. `text`
/// is the operator's message in WhatsApp formatting; the signature line Bitrix24 puts first
/// (`[b]Name:[/b][br]`, here `*Name:*`) is skipped.
pub fn command(text: &str) -> Option<&str> {
    let t = text.trim_start();
    let t = match t.split_once('\n') {
        Some((first, rest)) if first.starts_with('*') && first.trim_end().ends_with(":*") => {
            rest.trim_start()
        }
        _ => t,
    };
    let head = t.get(..9)?;
    if !head.eq_ignore_ascii_case("/template") {
        return None;
    }
    let rest = &t[9..];
    // `/templates` or `/template_x` is not the command.
    if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    Some(rest.trim())
}

/// The distinct `{{…}}` variables of a text, in the order they first appear.
pub fn variables(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_string();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    out
}

fn component<'a>(t: &'a TemplateDef, kind: &str) -> Option<&'a Value> {
    t.components.as_array()?.iter().find(|c| {
        c["type"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
    })
}

fn fill(text: &str, names: &[String], values: &[String]) -> String {
    let mut out = text.to_string();
    for (name, value) in names.iter().zip(values) {
        out = out.replace(&format!("{{{{{name}}}}}", name = name), value);
    }
    out
}

/// What `/template <args>` does against the number's templates.
pub fn resolve(args: &str, templates: &[TemplateDef]) -> Outcome {
    let mut words = args.splitn(2, char::is_whitespace);
    let name = words.next().unwrap_or("").trim();
    if name.is_empty() {
        return Outcome::List { unknown: None };
    }
    let mut rest = words.next().unwrap_or("").trim();
    let named: Vec<&TemplateDef> = templates.iter().filter(|t| t.name == name).collect();
    if named.is_empty() {
        return Outcome::List {
            unknown: Some(name.to_string()),
        };
    }
    // An optional language right after the name, when it is one the template exists in.
    let first = rest.split_whitespace().next().unwrap_or("");
    let chosen = match named
        .iter()
        .find(|t| !first.is_empty() && t.language == first)
    {
        Some(t) => {
            rest = rest[first.len()..].trim_start();
            *t
        }
        None if named.len() == 1 => named[0],
        None => {
            return Outcome::ChooseLanguage {
                name: name.to_string(),
                languages: named.iter().map(|t| t.language.clone()).collect(),
            }
        }
    };
    let values: Vec<String> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('|').map(|v| v.trim().to_string()).collect()
    };
    build(chosen, values)
}

/// A CRM or robot message as the number's default template (its one variable takes `text`); why
/// not, as a notice's outcome, when the template cannot take it.
pub fn with_text(t: &TemplateDef, text: &str) -> Outcome {
    build(t, vec![text.trim().to_string()])
}

/// The send of template `chosen` with `values` (header variable first, then the body's).
fn build(chosen: &TemplateDef, values: Vec<String>) -> Outcome {
    if chosen.status != APPROVED {
        return Outcome::NotApproved {
            name: chosen.name.clone(),
            language: chosen.language.clone(),
            status: chosen.status.clone(),
        };
    }
    let header = component(chosen, "HEADER");
    if header.is_some_and(|h| h["format"].as_str().is_some_and(|f| f != "TEXT")) {
        return Outcome::NotByCommand {
            name: chosen.name.clone(),
            why: Unsendable::MediaHeader,
        };
    }
    let buttons = component(chosen, "BUTTONS");
    let needs_value = buttons
        .and_then(|b| b["buttons"].as_array())
        .into_iter()
        .flatten()
        .any(|b| {
            b["type"] == "COPY_CODE" || b["url"].as_str().is_some_and(|u| !variables(u).is_empty())
        });
    if needs_value {
        return Outcome::NotByCommand {
            name: chosen.name.clone(),
            why: Unsendable::ButtonValue,
        };
    }
    let text_of = |c: Option<&Value>| c.and_then(|c| c["text"].as_str()).unwrap_or("").to_string();
    let (header_text, body_text) = (text_of(header), text_of(component(chosen, "BODY")));
    let (header_vars, body_vars) = (variables(&header_text), variables(&body_text));
    let all: Vec<String> = header_vars.iter().chain(&body_vars).cloned().collect();
    if values.len() != all.len() || values.iter().any(String::is_empty) {
        return Outcome::WrongCount {
            name: chosen.name.clone(),
            variables: all,
            given: values.iter().filter(|v| !v.is_empty()).count(),
        };
    }
    let (header_values, body_values) = values.split_at(header_vars.len());
    let named_format = chosen.parameter_format == "NAMED";
    let params = |names: &[String], values: &[String]| -> Value {
        names
            .iter()
            .zip(values)
            .map(|(n, v)| {
                let mut p = json!({"type": "text", "text": v});
                if named_format {
                    p["parameter_name"] = json!(n);
                }
                p
            })
            .collect()
    };
    let mut components = Vec::new();
    if !header_vars.is_empty() {
        components
            .push(json!({"type": "header", "parameters": params(&header_vars, header_values)}));
    }
    if !body_vars.is_empty() {
        components.push(json!({"type": "body", "parameters": params(&body_vars, body_values)}));
    }
    let mut shown = Vec::new();
    for part in [
        fill(&header_text, &header_vars, header_values),
        fill(&body_text, &body_vars, body_values),
        text_of(component(chosen, "FOOTER")),
    ] {
        if !part.is_empty() {
            shown.push(part);
        }
    }
    let labels: Vec<String> = buttons
        .and_then(|b| b["buttons"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b["text"].as_str().map(|t| format!("[{t}]")))
        .collect();
    if !labels.is_empty() {
        shown.push(labels.join(" "));
    }
    Outcome::Send(TemplateSend {
        name: chosen.name.clone(),
        language: chosen.language.clone(),
        components: Value::Array(components),
        rendered: shown.join("\n"),
    })
}

/// The only status a template can be sent in.
pub const APPROVED: &str = "APPROVED";

/// How to use the command, with the approved templates (name, language, variables).
pub fn usage(lang: Lang, templates: &[TemplateDef], unknown: Option<&str>) -> String {
    let approved: Vec<String> = templates
        .iter()
        .filter(|t| t.status == APPROVED)
        .map(|t| {
            let vars: Vec<String> = ["HEADER", "BODY"]
                .iter()
                .filter_map(|k| component(t, k))
                .flat_map(|c| variables(c["text"].as_str().unwrap_or("")))
                .collect();
            if vars.is_empty() {
                format!("{} ({})", t.name, t.language)
            } else {
                format!("{} ({}): {}", t.name, t.language, vars.len())
            }
        })
        .collect();
    let head = match unknown {
        Some(name) => tr!(lang, "cmd-template-unknown", name = name),
        None => tr!(lang, "cmd-template-how"),
    };
    if approved.is_empty() {
        return tr!(lang, "cmd-template-none-approved", head = head);
    }
    tr!(
        lang,
        "cmd-template-approved",
        head = head,
        list = approved.join("; ")
    )
}

/// The notice for an outcome that does not send, in `lang`.
pub fn notice(lang: Lang, outcome: &Outcome, templates: &[TemplateDef]) -> Option<String> {
    Some(match outcome {
        Outcome::Send(_) => return None,
        Outcome::List { unknown } => usage(lang, templates, unknown.as_deref()),
        Outcome::ChooseLanguage { name, languages } => tr!(
            lang,
            "cmd-template-choose-language",
            name = name,
            languages = languages.join(", "),
            first = languages.first().map(String::as_str).unwrap_or("")
        ),
        Outcome::NotApproved {
            name,
            language,
            status,
        } => tr!(
            lang,
            "cmd-template-not-approved",
            name = name,
            language = language,
            status = status
        ),
        Outcome::WrongCount {
            name,
            variables,
            given,
        } => tr!(
            lang,
            "cmd-template-wrong-count",
            name = name,
            count = variables.len(),
            variables = variables
                .iter()
                .map(|v| format!("{{{{{v}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            // As digits: it follows "given" / "указано", no plural needed.
            given = given.to_string()
        ),
        Outcome::NotByCommand { name, why } => tr!(
            lang,
            "cmd-template-not-by-command",
            name = name,
            why = why.text(lang)
        ),
    })
}

/// What an operator who types the command on a Web gateway number is told.
pub fn not_on_gateway(lang: Lang) -> String {
    tr!(lang, "cmd-template-not-on-gateway")
}

/// The chat's record of a template sent: its name and language, then what the customer got.
pub fn shown(lang: Lang, send: &TemplateSend) -> String {
    format!(
        "{}\n{}",
        tr!(
            lang,
            "cmd-template-shown",
            name = send.name.as_str(),
            language = send.language.as_str()
        ),
        crate::bitrix24::bbcode::escape(&send.rendered)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, language: &str, status: &str, components: Value) -> TemplateDef {
        TemplateDef {
            name: name.into(),
            language: language.into(),
            status: status.into(),
            parameter_format: "POSITIONAL".into(),
            components,
        }
    }

    fn order(language: &str) -> TemplateDef {
        def(
            "order_update",
            language,
            APPROVED,
            json!([
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
                {"type": "BODY", "text": "Hello {{1}}, order {{2}} ships {{3}}. {{1}}, thanks!"},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
            ]),
        )
    }

    #[test]
    fn only_the_command_is_a_command() {
        assert_eq!(command("/template x a | b"), Some("x a | b"));
        assert_eq!(command("  /TEMPLATE  "), Some(""));
        assert_eq!(command("/templates"), None);
        assert_eq!(command("please use /template"), None);
        assert_eq!(command("/temp"), None);
        assert_eq!(command("*Anna Smirnova:*\n/template x 1"), Some("x 1"));
        assert_eq!(command("*Anna:*\nhello /template x"), None);
    }

    #[test]
    fn values_fill_the_header_then_the_body() {
        let out = resolve(
            "order_update A-42 | Maria | A-42 | today",
            &[order("en_US")],
        );
        let Outcome::Send(send) = out else {
            panic!("{out:?}")
        };
        assert_eq!(send.language, "en_US");
        assert_eq!(
            send.components,
            json!([
                {"type": "header", "parameters": [{"type": "text", "text": "A-42"}]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Maria"}, {"type": "text", "text": "A-42"},
                    {"type": "text", "text": "today"}]}
            ])
        );
        assert_eq!(
            send.rendered,
            "Order A-42\nHello Maria, order A-42 ships today. Maria, thanks!\nReply STOP to opt out\n[Thanks]"
        );
    }

    #[test]
    fn a_language_is_needed_only_between_several() {
        let both = [order("en_US"), order("ru")];
        assert!(matches!(
            resolve("order_update 1 | 2 | 3 | 4", &both),
            Outcome::ChooseLanguage { .. }
        ));
        let Outcome::Send(s) = resolve("order_update ru 1 | 2 | 3 | 4", &both) else {
            panic!()
        };
        assert_eq!(s.language, "ru");
    }

    #[test]
    fn wrong_names_counts_and_statuses_read_as_notices() {
        let list = [
            order("en_US"),
            def(
                "promo",
                "en_US",
                "PAUSED",
                json!([{"type": "BODY", "text": "Hi"}]),
            ),
        ];
        let unknown = resolve("nope 1", &list);
        assert_eq!(
            unknown,
            Outcome::List {
                unknown: Some("nope".into())
            }
        );
        let text = notice(Lang::en(), &unknown, &list).expect("notice");
        assert!(
            text.contains("\"nope\"") && text.contains("order_update (en_US): 4"),
            "{text}"
        );
        assert!(
            !text.contains("promo"),
            "only approved ones are offered: {text}"
        );
        let few = resolve("order_update Maria", &list);
        assert!(
            matches!(few, Outcome::WrongCount { given: 1, .. }),
            "{few:?}"
        );
        assert!(notice(Lang::en(), &few, &list)
            .expect("n")
            .contains("needs 4 value(s)"));
        let paused = resolve("promo", &list);
        assert!(notice(Lang::en(), &paused, &list)
            .expect("n")
            .contains("PAUSED"));
        assert_eq!(resolve("", &list), Outcome::List { unknown: None });
    }

    #[test]
    fn a_default_template_takes_the_crm_text_in_its_one_variable() {
        let t = def(
            "crm_message",
            "ru",
            APPROVED,
            json!([{"type": "BODY", "text": "Сообщение от компании: {{1}}"}]),
        );
        let Outcome::Send(s) = with_text(&t, "Счёт | №42 готов") else {
            panic!()
        };
        assert_eq!(s.rendered, "Сообщение от компании: Счёт | №42 готов");
        assert!(matches!(
            with_text(&order("en"), "x"),
            Outcome::WrongCount { .. }
        ));
    }

    #[test]
    fn named_parameters_carry_their_names_and_media_headers_are_refused() {
        let mut t = def(
            "greet",
            "ru",
            APPROVED,
            json!([{"type": "BODY", "text": "Здравствуйте, {{first_name}}!"}]),
        );
        t.parameter_format = "NAMED".into();
        let Outcome::Send(s) = resolve("greet Ольга", &[t]) else {
            panic!()
        };
        assert_eq!(
            s.components[0]["parameters"][0],
            json!({"type": "text", "text": "Ольга", "parameter_name": "first_name"})
        );
        assert_eq!(s.rendered, "Здравствуйте, Ольга!");
        let media = def(
            "flyer",
            "en",
            APPROVED,
            json!([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}]),
        );
        assert!(matches!(
            resolve("flyer", &[media]),
            Outcome::NotByCommand { .. }
        ));
    }
}
