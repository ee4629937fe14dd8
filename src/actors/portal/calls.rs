//! The portal's outbox: each wave of due jobs runs as imconnector / REST calls through the
//! portal's session (batches with disjoint queues together), then each is settled.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::{json, Value};
use tracing::Instrument;

use super::{
    batches::{make_batches, Batch},
    settle::settle_retrying,
    PortalSession, BOUND_EVENTS, SETUP_QUEUE,
};
use crate::{
    actors::{outbox::Drain, Ctx},
    bitrix24::{client::messages_params, messageservice, B24Error},
    i18n::Lang,
    relay::{jobs::Job, to_bitrix24},
    store::{chats, numbers, portals},
    tr,
};

/// A portal's jobs and the session they are called through.
pub(super) struct Calls {
    pub services: Ctx,
    pub session: Arc<PortalSession>,
}

impl Drain for Calls {
    /// Uninstalled, or waiting for a re-authorisation: the jobs wait (a reload kicks again).
    async fn ready(&self) -> Result<bool, sea_orm::DbErr> {
        Ok(self.session.blocked().await.is_none())
    }

    /// An install's setup (register, bind, activate the lines: `install_portal`) goes first:
    /// until it is done, nothing else can succeed (after a reinstall a send that was under
    /// way, or came in meanwhile, would be refused with NOT_ACTIVE_LINE and fail for good).
    fn select(&self, pending: &mut Vec<entity::jobs::Model>) {
        if pending.iter().any(|m| m.queue_key == SETUP_QUEUE) {
            pending.retain(|m| m.queue_key == SETUP_QUEUE);
        }
    }

    async fn wave(&self, runnable: Vec<&entity::jobs::Model>) -> Result<bool, sea_orm::DbErr> {
        let batches = make_batches(&runnable);
        tracing::debug!(
            runnable = runnable.len(),
            batches = batches.len(),
            "portal job runner wave"
        );
        // Group after group from one read of the outbox (a backlog of a thousand jobs is read
        // and decoded once, not once per 50-job call), while every job so far ended done: a
        // job left to retry holds back its queue, which only a fresh read (`runnable`) keeps.
        let mut rest: &[Batch] = &batches;
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(disjoint_prefix(rest));
            rest = tail;
            if !self.run_group(group).await? || self.services.lifecycle.enter().is_none() {
                break;
            }
            if !rest.is_empty() && !self.ready().await? {
                break;
            }
        }
        Ok(true)
    }
}

/// How many of the first batches may run together: batches with disjoint queues, at most 8;
/// the first overlap ends the group, so a chat's jobs always run in order.
fn disjoint_prefix(batches: &[Batch]) -> usize {
    let mut keys = std::collections::HashSet::new();
    let mut n = 0;
    for b in batches {
        if n >= 8 || b.keys().any(|k| keys.contains(k)) {
            break;
        }
        keys.extend(b.keys());
        n += 1;
    }
    n.max(1)
}

impl Calls {
    /// Runs `group`'s batches together and settles each; whether every job ended done.
    async fn run_group(&self, group: &[Batch<'_>]) -> Result<bool, sea_orm::DbErr> {
        let (services, session) = (&self.services, &*self.session);
        let running: Vec<_> = group
            .iter()
            .flat_map(|b| b.jobs.iter())
            .map(|(m, _)| crate::metrics::Running::start(&m.kind))
            .collect();
        let results = join_all(group.iter().map(|b| {
            let span = crate::metrics::job_span(b.jobs.iter().map(|(m, _)| *m));
            run_batch(services, session, b).instrument(span)
        }))
        .await;
        drop(running);
        let mut all_done = true;
        for (b, res) in group.iter().zip(results) {
            let span = crate::metrics::job_span(b.jobs.iter().map(|(m, _)| *m));
            all_done &= settle_retrying(services, b, &res).instrument(span).await?;
        }
        Ok(all_done)
    }
}

/// The outcome of one batch: per job, done (with the call's result) or failed.
pub(super) type BatchResult = Result<Value, B24Error>;

async fn run_batch(services: &Ctx, session: &PortalSession, b: &Batch<'_>) -> BatchResult {
    let connector = &services.settings.connector_id;
    let Some((_, first)) = b.jobs.first() else {
        return Ok(Value::Null);
    };
    match first {
        Job::B24SendMessage { line, .. } => {
            let items = items_like(b, first);
            session
                .call(
                    "imconnector.send.messages",
                    &messages_params(connector, line, items),
                )
                .await
        }
        Job::B24Status { line, reading, .. } => {
            let items = items_like(b, first);
            let method = if *reading {
                "imconnector.send.status.reading"
            } else {
                "imconnector.send.status.delivery"
            };
            session
                .call(method, &messages_params(connector, line, items))
                .await
        }
        Job::B24UpdateMessage { line, .. } | Job::B24DeleteMessage { line, .. } => {
            let delete = matches!(first, Job::B24DeleteMessage { .. });
            let items = items_like(b, first);
            let method = if delete {
                "imconnector.delete.messages"
            } else {
                "imconnector.update.messages"
            };
            session
                .call(method, &messages_params(connector, line, items))
                .await
        }
        Job::B24Setup => setup(services, session).await,
        Job::B24SmsStatus {
            code,
            message_id,
            status,
        } => {
            session
                .call(
                    "messageservice.message.status.update",
                    &json!({"CODE": code, "MESSAGE_ID": message_id, "STATUS": status}),
                )
                .await
        }
        Job::B24Provider {
            number_id,
            registered,
        } => provider(services, session, *number_id, *registered).await,
        Job::B24Activate {
            number_id,
            line,
            active,
        } => activate(services, session, *number_id, line, *active).await,
        Job::B24CrmNotice {
            im_chat_id,
            chat_id,
            user_id,
            note,
            text,
        } => {
            let im_chat_id = match (im_chat_id.as_str(), chat_id) {
                ("", Some(id)) => open_lines_chat(services, *id).await?,
                ("", None) => None,
                (known, _) => Some(known.to_string()),
            };
            // The customer's message never reached Open Lines: no chat to show it in.
            let Some(im_chat_id) = im_chat_id else {
                return Ok(Value::Null);
            };
            let lang = language(services, session).await?;
            let by = match user_id {
                Some(id) => Some(
                    user_name(session, id)
                        .await
                        .unwrap_or_else(|| to_bitrix24::crm_user(lang, id)),
                ),
                None => None,
            };
            let text = to_bitrix24::crm_notice(lang, by.as_deref(), note, text);
            session
                .call(
                    "im.message.add",
                    &json!({"DIALOG_ID": format!("chat{im_chat_id}"), "MESSAGE": text, "SYSTEM": "Y"}),
                )
                .await
        }
        Job::B24Notice { im_chat_id, text } => session
            .call(
                "im.message.add",
                &json!({"DIALOG_ID": format!("chat{im_chat_id}"), "MESSAGE": text, "SYSTEM": "Y"}),
            )
            .await,
        Job::B24ChatNotice { chat_id, text } => {
            // The customer's message never reached Open Lines: no chat to show it in.
            let Some(im_chat_id) = open_lines_chat(services, *chat_id).await? else {
                return Ok(Value::Null);
            };
            session
                .call(
                    "im.message.add",
                    &json!({"DIALOG_ID": format!("chat{im_chat_id}"), "MESSAGE": text, "SYSTEM": "Y"}),
                )
                .await
        }
        Job::WaSendText { .. }
        | Job::WaSendMedia { .. }
        | Job::WaSendTemplate { .. }
        | Job::WaMarkRead { .. }
        | Job::WaDelete { .. }
        | Job::WaEdit { .. }
        | Job::Transcribe { .. } => Err(B24Error::Decode("not a portal job".into())),
    }
}

/// The Open Lines chat id of our chat `chat_id`, once its first message has reached Open Lines.
async fn open_lines_chat(services: &Ctx, chat_id: i64) -> Result<Option<String>, B24Error> {
    Ok(chats::get(&services.db, chat_id)
        .await
        .map_err(|e| B24Error::Network(format!("database: {e}")))?
        .and_then(|c| c.b24_chat_id))
}

/// The Open Lines items of the batch's jobs of `first`'s kind, for one imconnector call.
fn items_like(b: &Batch<'_>, first: &Job) -> Vec<Value> {
    let kind = std::mem::discriminant(first);
    b.jobs
        .iter()
        .filter(|(_, j)| std::mem::discriminant(j) == kind)
        .filter_map(|(_, j)| match j {
            Job::B24SendMessage { item, .. }
            | Job::B24Status { item, .. }
            | Job::B24UpdateMessage { item, .. }
            | Job::B24DeleteMessage { item, .. } => Some(item.clone()),
            _ => None,
        })
        .collect()
}

/// The language the portal's operators read, as stored now.
async fn language(services: &Ctx, session: &PortalSession) -> Result<Lang, B24Error> {
    portals::language_of(&services.db, session.portal_id())
        .await
        .map_err(|e| B24Error::Network(format!("database: {e}")))
}

/// The connector's NAME in Contact Center: one set in the configuration as is, else ours in the
/// portal's language (`imconnector.register` takes one string: a language change registers it
/// again, `store::portals::set_language_*`).
fn connector_name(s: &crate::config::Settings, lang: Lang) -> String {
    if s.connector_name == crate::config::default_connector_name() {
        tr!(lang, "b24-connector-name")
    } else {
        s.connector_name.clone()
    }
}

async fn setup(services: &Ctx, session: &PortalSession) -> BatchResult {
    let s = &services.settings;
    let lang = language(services, session).await?;
    let handler = format!("{}/bitrix24/placement", services.public_url);
    let icon = "data:image/svg+xml;charset=US-ASCII,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%20viewBox%3D%220%200%2070%2071%22%3E%3Cpath%20fill%3D%22%23FFF%22%20d%3D%22M35%208a27%2027%200%200%200-23%2041l-4%2014%2015-4a27%2027%200%201%200%2012-51z%22%2F%3E%3C%2Fsvg%3E";
    let reg = session
        .call(
            "imconnector.register",
            &json!({
                "ID": s.connector_id,
                "NAME": connector_name(s, lang),
                "ICON": {"DATA_IMAGE": icon, "COLOR": "#25D366", "SIZE": "90%", "POSITION": "center"},
                "PLACEMENT_HANDLER": handler,
                "CHAT_GROUP": false,
                "DEL_EXTERNAL_MESSAGES": true,
                "EDIT_INTERNAL_MESSAGES": true,
                "DEL_INTERNAL_MESSAGES": true,
                "NEED_SYSTEM_MESSAGES": false,
                "NEED_SIGNATURE": true,
            }),
        )
        .await?;
    if reg.get("result") != Some(&Value::Bool(true)) {
        return Err(B24Error::Api {
            status: 200,
            code: "REGISTER_FAILED".into(),
            description: reg.to_string(),
        });
    }
    let events_url = format!("{}/bitrix24/events", services.public_url);
    for event in BOUND_EVENTS {
        match session
            .call(
                "event.bind",
                &json!({"event": event, "handler": events_url}),
            )
            .await
        {
            Ok(_) => {}
            // Reinstall: the binding exists already, which is what we want.
            Err(e) if already_bound(&e) => {}
            Err(e) => return Err(e),
        }
    }
    // The template picker's button in the Open Lines chat's message box.
    match session
        .call("placement.bind", &template_picker(&services.public_url))
        .await
    {
        Ok(_) => {}
        Err(e) if already_bound(&e) => {}
        // Worth a retry (the network, Bitrix24's own trouble, its rate limit).
        Err(e) if e.is_transient() || e.is_auth() || e.is_held() => return Err(e),
        // Refused for good (e.g. an app registered without the `placement` scope): the picker
        // is a convenience, the typed /template command works without it, so the install
        // goes on.
        Err(e) => {
            tracing::warn!(error = %e, "the template picker could not be added to the chat's message box")
        }
    }
    Ok(Value::Bool(true))
}

/// Bitrix24's answer to binding what is bound already (a reinstall).
fn already_bound(e: &B24Error) -> bool {
    matches!(e, B24Error::Api { code, description, .. }
        if code.contains("ALREADY") || description.to_lowercase().contains("already"))
}

/// `placement.bind` of the template picker: IM_TEXTAREA, shown only in Open Lines chats
/// (`context: LINES`, options as a peer connector uses them); its title in every language the
/// catalogues hold (`LANG_ALL`: Bitrix24 shows the user's), English the default.
fn template_picker(public_url: &str) -> Value {
    let en = Lang::en();
    let lang_all: serde_json::Map<String, Value> = Lang::all()
        .into_iter()
        .map(|l| {
            let texts = json!({
                "TITLE": tr!(l, "b24-picker-title"),
                "DESCRIPTION": tr!(l, "b24-picker-description"),
            });
            (l.code().to_string(), texts)
        })
        .collect();
    json!({
        "PLACEMENT": "IM_TEXTAREA",
        "HANDLER": format!("{public_url}/bitrix24/placement/templates"),
        "TITLE": tr!(en, "b24-picker-title"),
        "DESCRIPTION": tr!(en, "b24-picker-description"),
        "LANG_ALL": lang_all,
        "OPTIONS": {
            "iconName": "fa-whatsapp",
            "context": "LINES",
            "color": "GREEN",
            "width": "420",
            "height": "560",
        },
    })
}

/// The number a portal job is about (gone: the job cannot succeed).
async fn number(services: &Ctx, number_id: i64) -> Result<entity::numbers::Model, B24Error> {
    numbers::get(&services.db, number_id)
        .await
        .map_err(|e| B24Error::Network(format!("database: {e}")))?
        .ok_or_else(|| B24Error::Decode(format!("number {number_id} is gone")))
}

/// A portal user's name (`user.get`); `None` when it cannot be read (the notice names the user
/// by id and goes out either way).
async fn user_name(session: &PortalSession, id: &str) -> Option<String> {
    let Ok(v) = session.call("user.get", &json!({"ID": id})).await else {
        return None;
    };
    // The call's result: a list of users.
    let user = v.get(0).unwrap_or(&Value::Null);
    let part = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let name = format!("{} {}", part("NAME"), part("LAST_NAME"))
        .trim()
        .to_string();
    (!name.is_empty()).then_some(name)
}

/// A number's phone as digits (its display phone may carry spaces, dashes, a `+`).
fn phone_digits(n: &entity::numbers::Model) -> String {
    n.display_phone
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// The number's message-service provider (bitrix24-crm.md §1): added (or updated, when it exists:
/// a rename, a reinstall) while the number is connected, deleted when it is not.
async fn provider(
    services: &Ctx,
    session: &PortalSession,
    number_id: i64,
    registered: bool,
) -> BatchResult {
    let code = messageservice::provider_code(number_id);
    let api_code =
        |e: &B24Error, want: &str| matches!(e, B24Error::Api { code, .. } if code == want);
    if !registered {
        return match session
            .call("messageservice.sender.delete", &json!({"CODE": code}))
            .await
        {
            Err(e) if api_code(&e, "ERROR_SENDER_NOT_FOUND") => Ok(Value::Bool(true)),
            other => other,
        };
    }
    let digits = phone_digits(&number(services, number_id).await?);
    let handler = format!("{}/bitrix24/messageservice", services.public_url);
    let mut params = messageservice::sender_params(&code, &handler, &format!("+{digits}"));
    match session.call("messageservice.sender.add", &params).await {
        Err(e) if api_code(&e, "ERROR_SENDER_ALREADY_INSTALLED") => {
            if let Value::Object(p) = &mut params {
                p.remove("TYPE");
            }
            session.call("messageservice.sender.update", &params).await
        }
        other => other,
    }
}

async fn activate(
    services: &Ctx,
    session: &PortalSession,
    number_id: i64,
    line: &str,
    active: bool,
) -> BatchResult {
    let connector = &services.settings.connector_id;
    session
        .call(
            "imconnector.activate",
            &json!({"CONNECTOR": connector, "LINE": line, "ACTIVE": if active { 1 } else { 0 }}),
        )
        .await?;
    if !active {
        return Ok(Value::Bool(true));
    }
    let n = number(services, number_id).await?;
    let digits = phone_digits(&n);
    session
        .call(
            "imconnector.connector.data.set",
            &json!({
                "CONNECTOR": connector,
                "LINE": line,
                "DATA": {
                    "ID": format!("wa_{}", n.phone_number_id),
                    "URL": format!("https://wa.me/{digits}"),
                    "URL_IM": format!("https://wa.me/{digits}"),
                    "NAME": format!("WhatsApp +{digits}"),
                },
            }),
        )
        .await
}
