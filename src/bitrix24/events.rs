//! Decoding what a portal POSTs: install (event or page) and connector events.

use secrecy::SecretString;
use serde_json::Value;

use super::form::{list, str_at};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EventError {
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("field {0} is invalid")]
    Invalid(&'static str),
}

/// Tokens and endpoints a portal hands us at install (or app update): decoded here into the
/// record the store keeps of an install.
pub use crate::store::portals::InstallData as InstallAuth;

/// An operator's message from `ONIMCONNECTORMESSAGEADD`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorMessage {
    pub im_chat_id: String,
    pub im_message_id: String,
    pub user_id: String,
    pub text: String,
    pub chat_id: String,
    /// Attachments (`message[files][k]`): Bitrix24 serves each at a public link.
    pub files: Vec<OperatorFile>,
}

/// One operator attachment (the inbox stores its own `relay::inbox::OperatorFile`).
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorFile {
    pub name: String,
    /// `image`, `file`, … as Bitrix24 labels it.
    pub kind: String,
    pub link: String,
    pub size: Option<i64>,
}

/// One item of `ONIMCONNECTORMESSAGEUPDATE` / `ONIMCONNECTORMESSAGEDELETE`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorChange {
    pub im_chat_id: String,
    pub im_message_id: String,
    /// Our ids on that message (update: an array; delete: one id).
    pub ids: Vec<String>,
    /// The new text (update only).
    pub text: String,
    pub chat_id: String,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    Install(InstallAuth),
    AppUpdate(InstallAuth),
    Uninstall {
        clean: bool,
    },
    MessageAdd {
        connector: String,
        line: String,
        messages: Vec<OperatorMessage>,
    },
    /// An operator edited (`delete: false`) or deleted messages we had confirmed.
    MessageChange {
        connector: String,
        line: String,
        delete: bool,
        changes: Vec<OperatorChange>,
    },
    StatusDelete {
        connector: String,
        line: String,
    },
    LineDelete {
        line: String,
    },
    /// Known to Bitrix24 but not handled by this version (acknowledged, logged).
    Other(String),
}

/// A decoded event with the fields that authenticate it.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub member_id: String,
    pub application_token: String,
    /// The access token the event came with (an hour's, of the user behind it; absent when
    /// the event has no author), and its lifetime in seconds.
    pub access: Option<(SecretString, i64)>,
    pub kind: EventKind,
}

fn req<'a>(v: &'a Value, path: &[&str], name: &'static str) -> Result<&'a str, EventError> {
    str_at(v, path).ok_or(EventError::Missing(name))
}

/// A token or key `v` must carry at `key`.
fn secret(v: &Value, key: &str, name: &'static str) -> Result<SecretString, EventError> {
    Ok(SecretString::from(req(v, &[key], name)?.to_string()))
}

/// The access token's lifetime at `key`, in seconds; an hour when not given.
fn expires_in(v: &Value, key: &str, name: &'static str) -> Result<i64, EventError> {
    str_at(v, &[key])
        .unwrap_or("3600")
        .parse()
        .map_err(|_| EventError::Invalid(name))
}

/// Decodes a form-encoded event body (already parsed by `form::parse`).
pub fn decode_event(v: &Value) -> Result<Event, EventError> {
    let name = req(v, &["event"], "event")?.to_ascii_uppercase();
    let member_id = req(v, &["auth", "member_id"], "auth[member_id]")?.to_string();
    let application_token =
        req(v, &["auth", "application_token"], "auth[application_token]")?.to_string();
    let kind = match name.as_str() {
        "ONAPPINSTALL" => EventKind::Install(install_from_event_auth(v)?),
        "ONAPPUPDATE" => EventKind::AppUpdate(install_from_event_auth(v)?),
        "ONAPPUNINSTALL" => EventKind::Uninstall {
            clean: str_at(v, &["data", "CLEAN"]) == Some("1"),
        },
        "ONIMCONNECTORMESSAGEADD" => {
            let data = v.get("data").ok_or(EventError::Missing("data"))?;
            let connector = req(data, &["CONNECTOR"], "data[CONNECTOR]")?.to_string();
            let line = req(data, &["LINE"], "data[LINE]")?.to_string();
            let mut messages = Vec::new();
            for m in list(data.get("MESSAGES")) {
                messages.push(OperatorMessage {
                    im_chat_id: req(m, &["im", "chat_id"], "im[chat_id]")?.to_string(),
                    im_message_id: req(m, &["im", "message_id"], "im[message_id]")?.to_string(),
                    user_id: str_at(m, &["message", "user_id"]).unwrap_or("").to_string(),
                    text: str_at(m, &["message", "text"]).unwrap_or("").to_string(),
                    chat_id: req(m, &["chat", "id"], "chat[id]")?.to_string(),
                    files: list(m.get("message").and_then(|x| x.get("files")))
                        .into_iter()
                        .filter_map(|f| {
                            let link = str_at(f, &["link"]).filter(|l| !l.is_empty())?;
                            Some(OperatorFile {
                                name: str_at(f, &["name"]).unwrap_or("file").to_string(),
                                kind: str_at(f, &["type"]).unwrap_or("").to_string(),
                                link: link.to_string(),
                                size: str_at(f, &["size"]).and_then(|x| x.parse().ok()),
                            })
                        })
                        .collect(),
                });
            }
            if messages.is_empty() {
                return Err(EventError::Missing("data[MESSAGES]"));
            }
            EventKind::MessageAdd {
                connector,
                line,
                messages,
            }
        }
        "ONIMCONNECTORMESSAGEUPDATE" | "ONIMCONNECTORMESSAGEDELETE" => {
            let data = v.get("data").ok_or(EventError::Missing("data"))?;
            let connector = req(data, &["CONNECTOR"], "data[CONNECTOR]")?.to_string();
            let line = req(data, &["LINE"], "data[LINE]")?.to_string();
            let mut changes = Vec::new();
            for m in list(data.get("MESSAGES")) {
                let ids: Vec<String> = list(m.get("message").and_then(|x| x.get("id")))
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                if ids.is_empty() {
                    return Err(EventError::Missing("message[id]"));
                }
                changes.push(OperatorChange {
                    im_chat_id: req(m, &["im", "chat_id"], "im[chat_id]")?.to_string(),
                    im_message_id: req(m, &["im", "message_id"], "im[message_id]")?.to_string(),
                    ids,
                    text: str_at(m, &["message", "text"]).unwrap_or("").to_string(),
                    chat_id: req(m, &["chat", "id"], "chat[id]")?.to_string(),
                });
            }
            if changes.is_empty() {
                return Err(EventError::Missing("data[MESSAGES]"));
            }
            EventKind::MessageChange {
                connector,
                line,
                delete: name == "ONIMCONNECTORMESSAGEDELETE",
                changes,
            }
        }
        "ONIMCONNECTORSTATUSDELETE" => EventKind::StatusDelete {
            connector: str_at(v, &["data", "connector"])
                .or_else(|| str_at(v, &["data", "CONNECTOR"]))
                .ok_or(EventError::Missing("data[connector]"))?
                .to_string(),
            line: str_at(v, &["data", "line"])
                .or_else(|| str_at(v, &["data", "LINE"]))
                .ok_or(EventError::Missing("data[line]"))?
                .to_string(),
        },
        "ONIMCONNECTORLINEDELETE" => EventKind::LineDelete {
            line: str_at(v, &["data"])
                .ok_or(EventError::Missing("data"))?
                .to_string(),
        },
        other => EventKind::Other(other.to_string()),
    };
    let access = match str_at(v, &["auth", "access_token"]).filter(|t| !t.is_empty()) {
        Some(token) => Some((
            SecretString::from(token.to_string()),
            expires_in(
                v.get("auth").unwrap_or(&Value::Null),
                "expires_in",
                "auth[expires_in]",
            )?,
        )),
        None => None,
    };
    Ok(Event {
        name,
        member_id,
        application_token,
        access,
        kind,
    })
}

fn install_from_event_auth(v: &Value) -> Result<InstallAuth, EventError> {
    let a = v.get("auth").ok_or(EventError::Missing("auth"))?;
    let expires_in = expires_in(a, "expires_in", "auth[expires_in]")?;
    Ok(InstallAuth {
        member_id: req(a, &["member_id"], "auth[member_id]")?.to_string(),
        domain: req(a, &["domain"], "auth[domain]")?.to_string(),
        client_endpoint: req(a, &["client_endpoint"], "auth[client_endpoint]")?.to_string(),
        server_endpoint: req(a, &["server_endpoint"], "auth[server_endpoint]")?.to_string(),
        access_token: secret(a, "access_token", "auth[access_token]")?,
        refresh_token: secret(a, "refresh_token", "auth[refresh_token]")?,
        expires_in,
        application_token: secret(a, "application_token", "auth[application_token]")?,
        scope: str_at(a, &["scope"]).unwrap_or("").to_string(),
        // The portal's language (bitrix24-crm.md §4).
        language: str_at(v, &["data", "LANGUAGE_ID"]).map(str::to_string),
    })
}

/// The install page POST (app with UI): query DOMAIN/PROTOCOL, body AUTH_ID, REFRESH_ID, …
/// It carries no client_endpoint: the portal's REST base is `http(s)://DOMAIN/rest/`.
pub fn decode_install_page(query: &Value, body: &Value) -> Result<InstallAuth, EventError> {
    let domain = str_at(query, &["DOMAIN"])
        .or_else(|| str_at(body, &["DOMAIN"]))
        .ok_or(EventError::Missing("DOMAIN"))?;
    let scheme = match str_at(query, &["PROTOCOL"]).or_else(|| str_at(body, &["PROTOCOL"])) {
        Some("0") => "http",
        _ => "https",
    };
    let expires_in = expires_in(body, "AUTH_EXPIRES", "AUTH_EXPIRES")?;
    Ok(InstallAuth {
        member_id: req(body, &["member_id"], "member_id")?.to_string(),
        domain: domain.to_string(),
        client_endpoint: format!("{scheme}://{domain}/rest/"),
        server_endpoint: req(body, &["SERVER_ENDPOINT"], "SERVER_ENDPOINT")?.to_string(),
        access_token: secret(body, "AUTH_ID", "AUTH_ID")?,
        refresh_token: secret(body, "REFRESH_ID", "REFRESH_ID")?,
        expires_in,
        application_token: secret(body, "APPLICATION_TOKEN", "APPLICATION_TOKEN")?,
        scope: str_at(body, &["APPLICATION_SCOPE"])
            .unwrap_or("")
            .to_string(),
        // The installing admin's interface language (`app.info` names the portal's, preferred).
        language: str_at(query, &["LANG"])
            .or_else(|| str_at(body, &["LANG"]))
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitrix24::form::parse;

    #[test]
    fn message_add_from_form() {
        let body = "event=ONIMCONNECTORMESSAGEADD&event_handler_id=555&data%5BCONNECTOR%5D=myconnector&data%5BLINE%5D=107&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=86497&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Buser_id%5D=27&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Btext%5D=%5Bb%5DKlaus%5B%2Fb%5D+hi&data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=channel-123&ts=1773759161&auth%5Bmember_id%5D=bac1&auth%5Bapplication_token%5D=831c";
        let ev = decode_event(&parse(body.as_bytes())).expect("decodes");
        assert_eq!(ev.member_id, "bac1");
        assert_eq!(ev.application_token, "831c");
        assert!(ev.access.is_none(), "no auth[access_token] in this one");
        let EventKind::MessageAdd { line, messages, .. } = ev.kind else {
            panic!("not a message add");
        };
        assert_eq!(line, "107");
        assert_eq!(
            messages,
            vec![OperatorMessage {
                im_chat_id: "1807".into(),
                im_message_id: "86497".into(),
                user_id: "27".into(),
                text: "[b]Klaus[/b] hi".into(),
                chat_id: "channel-123".into(),
                files: Vec::new(),
            }]
        );
    }

    #[test]
    fn an_events_access_token_and_its_lifetime_are_kept() {
        use secrecy::ExposeSecret;
        let body = "event=ONCRMDEALUPDATE&auth%5Baccess_token%5D=c978b990&auth%5Bexpires_in%5D=1800&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=t";
        let ev = decode_event(&parse(body.as_bytes())).expect("decodes");
        let (token, expires_in) = ev.access.expect("an access token");
        assert_eq!((token.expose_secret(), expires_in), ("c978b990", 1800));
        let bad = body.replace("1800", "soon");
        let e = decode_event(&parse(bad.as_bytes())).expect_err("a lifetime that is no number");
        assert_eq!(e, EventError::Invalid("auth[expires_in]"));
    }

    #[test]
    fn message_add_with_files() {
        let body = "event=ONIMCONNECTORMESSAGEADD&data%5BCONNECTOR%5D=c&data%5BLINE%5D=1&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=5&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=6&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Btext%5D=&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bfiles%5D%5B0%5D%5Bname%5D=price.pdf&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bfiles%5D%5B0%5D%5Btype%5D=file&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bfiles%5D%5B0%5D%5Blink%5D=https%3A%2F%2Fp.example%2F~ab&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bfiles%5D%5B0%5D%5Bsize%5D=1024&data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=k&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=t";
        let ev = decode_event(&parse(body.as_bytes())).expect("decodes");
        let EventKind::MessageAdd { messages, .. } = ev.kind else {
            panic!("not a message add");
        };
        assert_eq!(
            messages[0].files,
            vec![OperatorFile {
                name: "price.pdf".into(),
                kind: "file".into(),
                link: "https://p.example/~ab".into(),
                size: Some(1024),
            }]
        );
    }

    /// What a message update or delete event's form decodes to: (delete, changes).
    fn message_change(form: &str) -> (bool, Vec<OperatorChange>) {
        let ev = decode_event(&parse(form.as_bytes())).expect("decodes");
        let EventKind::MessageChange {
            delete, changes, ..
        } = ev.kind
        else {
            panic!("not a change")
        };
        (delete, changes)
    }

    #[test]
    fn message_update_and_delete_from_form() {
        let up = "event=ONIMCONNECTORMESSAGEUPDATE&data%5BCONNECTOR%5D=c&data%5BLINE%5D=107&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=86501&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bid%5D%5B0%5D=ext-msg-005&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Btext%5D=new&data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=channel-123&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=t";
        let (delete, changes) = message_change(up);
        assert!(!delete);
        assert_eq!(changes[0].ids, vec!["ext-msg-005".to_string()]);
        assert_eq!(changes[0].text, "new");
        let del = "event=ONIMCONNECTORMESSAGEDELETE&data%5BCONNECTOR%5D=c&data%5BLINE%5D=107&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bchat_id%5D=1807&data%5BMESSAGES%5D%5B0%5D%5Bim%5D%5Bmessage_id%5D=86501&data%5BMESSAGES%5D%5B0%5D%5Bmessage%5D%5Bid%5D=ext-msg-005&data%5BMESSAGES%5D%5B0%5D%5Bchat%5D%5Bid%5D=channel-123&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=t";
        let (delete, changes) = message_change(del);
        assert!(delete);
        assert_eq!(changes[0].ids, vec!["ext-msg-005".to_string()]);
        assert_eq!(changes[0].im_message_id, "86501");
    }

    #[test]
    fn missing_auth_is_an_error() {
        let e = decode_event(&parse(b"event=ONAPPUNINSTALL&data[CLEAN]=1")).expect_err("no auth");
        assert_eq!(e, EventError::Missing("auth[member_id]"));
    }

    #[test]
    fn install_page_builds_endpoint_from_domain() {
        let q = parse(b"DOMAIN=127.0.0.1:9&PROTOCOL=0&LANG=en&APP_SID=x");
        let b = parse(b"AUTH_ID=a&AUTH_EXPIRES=3600&REFRESH_ID=r&SERVER_ENDPOINT=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&APPLICATION_TOKEN=t&APPLICATION_SCOPE=imopenlines&member_id=m&status=L&PLACEMENT=DEFAULT");
        let i = decode_install_page(&q, &b).expect("decodes");
        assert_eq!(i.client_endpoint, "http://127.0.0.1:9/rest/");
        assert_eq!(i.member_id, "m");
    }
}
