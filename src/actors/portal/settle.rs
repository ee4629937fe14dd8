//! A portal call's outcome stored: the messages get their Bitrix24 ids and states, jobs are done,
//! retried later with backoff, held while the portal cannot be called, or dead with the reason.

use std::time::Duration;

use sea_orm::TransactionTrait;
use serde_json::Value;

use super::{batches::Batch, calls::BatchResult};
use crate::{
    actors::Ctx,
    bitrix24::B24Error,
    metrics::Settled,
    relay::jobs::Job,
    store::{self, chats, jobs, messages},
};

/// Stores a batch's outcome in one transaction.
/// `settle`, tried again on a database error: Bitrix24 has already acted on the call, so
/// giving up here would send it again (a pooled connection can die under us, e.g. one opened
/// on an HTTP worker whose runtime is stopping).
pub(super) async fn settle_retrying(
    services: &Ctx,
    b: &Batch<'_>,
    res: &BatchResult,
) -> Result<bool, sea_orm::DbErr> {
    let mut attempt = 0u64;
    loop {
        match settle(services, b, res).await {
            Err(e) if attempt < 4 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "recording a Bitrix24 answer failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Records a batch's outcome; whether every job of it ended done.
async fn settle(services: &Ctx, b: &Batch<'_>, res: &BatchResult) -> Result<bool, sea_orm::DbErr> {
    let ids: Vec<i64> = b.jobs.iter().map(|(m, _)| m.id).collect();
    // Jobs that did not end done (counted once the outcome is committed).
    let mut not_done: Vec<(i64, Settled)> = Vec::new();
    let txn = services.db.begin().await?;
    match res {
        Ok(result) => {
            let per_item = result.pointer("/DATA/RESULT").and_then(Value::as_array);
            let mut done = Vec::new();
            let mut forwarded = Vec::new();
            let mut failed: Vec<(i64, i64, String)> = Vec::new();
            let mut last_chat_ids: Vec<(i64, String, String)> = Vec::new();
            for (i, (m, job)) in b.jobs.iter().enumerate() {
                match job {
                    Job::B24SendMessage {
                        message_id,
                        chat_id,
                        ..
                    } => {
                        let item = per_item.and_then(|a| a.get(i));
                        let ok = item
                            .and_then(|it| it.get("SUCCESS"))
                            .map(|s| s == &Value::Bool(true) || s == "true" || s == "Y")
                            .unwrap_or(false);
                        if ok {
                            done.push(m.id);
                            forwarded.push(*message_id);
                            let session = item.and_then(|it| it.get("session"));
                            let b24_chat = session.and_then(|s| s.get("CHAT_ID")).map(scalar);
                            let b24_session = session.and_then(|s| s.get("ID")).map(scalar);
                            if let (Some(c), Some(s)) = (b24_chat, b24_session) {
                                last_chat_ids.retain(|(id, _, _)| id != chat_id);
                                last_chat_ids.push((*chat_id, c, s));
                            }
                        } else {
                            let why = item
                                .and_then(|it| it.get("ERRORS"))
                                .map(|e| e.to_string())
                                .unwrap_or_else(|| format!("not accepted: {result}"));
                            failed.push((m.id, *message_id, why));
                        }
                    }
                    _ => done.push(m.id),
                }
            }
            jobs::mark_done(&txn, &done).await?;
            messages::set_status_many(&txn, &forwarded, messages::FORWARDED).await?;
            // Usually unchanged after a chat's first message: one read instead of a write each.
            let ids: Vec<i64> = last_chat_ids.iter().map(|(id, _, _)| *id).collect();
            let known = chats::b24_ids_of(&txn, &ids).await?;
            for (chat_id, c, s) in last_chat_ids {
                if known.get(&chat_id) != Some(&(Some(c.clone()), Some(s.clone()))) {
                    chats::set_b24_ids(&txn, chat_id, &c, &s).await?;
                }
            }
            for (job_id, message_id, why) in failed {
                tracing::warn!(job = job_id, reason = %why, "Bitrix24 refused a message");
                not_done.push((job_id, Settled::Dead));
                jobs::mark_dead(&txn, &[job_id], &why).await?;
                messages::fail(&txn, &[message_id], &why).await?;
            }
        }
        Err(e) if e.is_held() => {
            // Not tried (no usable tokens): the jobs wait for a reinstall, attempts untouched.
            let attempts = b.jobs.iter().map(|(m, _)| m.attempts).max().unwrap_or(0);
            let s = &services.settings;
            let delay = match e {
                // Due again at once, behind whatever the new tokens brought (a setup).
                B24Error::TokensReplaced => 0,
                _ => jobs::backoff_ms(attempts, s.retry_base_ms, s.retry_max_ms),
            };
            tracing::warn!(jobs = ?ids, code = e.code(), error = %e, "Bitrix24 call held");
            not_done.extend(ids.iter().map(|id| (*id, Settled::Retry)));
            hold(&txn, &ids, store::now_ms() + delay, &e.to_string()).await?;
        }
        Err(e) => {
            let attempts = b.jobs.iter().map(|(m, _)| m.attempts).max().unwrap_or(0);
            let permanent =
                !e.is_transient() && !matches!(e, B24Error::ExpiredToken | B24Error::OAuth { .. });
            if permanent || attempts + 1 >= services.settings.max_attempts {
                tracing::warn!(jobs = ?ids, code = e.code(), error = %e, "Bitrix24 call failed for good");
                not_done.extend(ids.iter().map(|id| (*id, Settled::Dead)));
                jobs::mark_dead(&txn, &ids, &e.to_string()).await?;
                let msg_ids: Vec<i64> = b
                    .jobs
                    .iter()
                    .filter_map(|(_, j)| match j {
                        Job::B24SendMessage { message_id, .. } => Some(*message_id),
                        _ => None,
                    })
                    .collect();
                messages::fail(&txn, &msg_ids, &e.to_string()).await?;
            } else {
                let s = &services.settings;
                let delay = jobs::backoff_ms(attempts, s.retry_base_ms, s.retry_max_ms);
                tracing::info!(
                    jobs = ids.len(),
                    code = e.code(),
                    retry_in_ms = delay,
                    "Bitrix24 call failed; will retry"
                );
                not_done.extend(ids.iter().map(|id| (*id, Settled::Retry)));
                jobs::retry_later(&txn, &ids, store::now_ms() + delay, &e.to_string()).await?;
            }
        }
    }
    txn.commit().await?;
    for (m, _) in &b.jobs {
        let how = not_done
            .iter()
            .find(|(id, _)| *id == m.id)
            .map_or(Settled::Done, |(_, how)| *how);
        crate::metrics::settled(m, how);
    }
    Ok(not_done.is_empty())
}

/// Puts jobs back to wait without counting an attempt: they could not be tried at all (their
/// portal is uninstalled or needs re-authorisation), so waiting must not use them up.
async fn hold<C: sea_orm::ConnectionTrait>(
    c: &C,
    ids: &[i64],
    next_attempt_at: i64,
    error: &str,
) -> Result<(), sea_orm::DbErr> {
    use entity::jobs::{Column, Entity};
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(Column::LastError, Expr::value(error.to_string()))
        .col_expr(Column::UpdatedAt, Expr::value(store::now_ms()))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(c)
        .await?;
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
