//! A Web gateway number's session: the states its webhooks report, stored one at a time in
//! arrival order (operators are told when the phone is unlinked), and a poll in case a state
//! webhook was lost.

use actix::prelude::*;
use sea_orm::TransactionTrait;

use super::{sends::session_lost_notice, NumberActor, Transport};
use crate::{
    actors::messages::{KickOwner, Owner},
    relay::jobs::Job,
    store::{chats, inbox, jobs, numbers},
    whatsapp::gateway,
};

impl NumberActor {
    /// Stores the oldest session state received, unless one is being stored (the next one waits
    /// for it: two stored at once could commit in either order and leave the older one).
    pub(super) fn next_state(&mut self, ctx: &mut Context<Self>) {
        if self.storing_state {
            return;
        }
        let Some((inbox_id, (state, timestamp))) = self.states.pop_first() else {
            return;
        };
        // A state received before the last one stored (an item brought back by the sweep), or
        // stamped before it (the gateway retrying an old webhook) is out of date: only marked done.
        let stale = self
            .last_state
            .is_some_and(|(last_id, last_ts)| inbox_id <= last_id || timestamp < last_ts);
        self.storing_state = true;
        self.session_changed(inbox_id, state, timestamp, stale, ctx);
    }

    /// The gateway reported a new session state: store it (with its time); when it is lost,
    /// tell the operators of this number's recent chats; when it is back, send what waited.
    /// A `stale` one is only marked done.
    fn session_changed(
        &mut self,
        inbox_id: i64,
        state: String,
        timestamp: i64,
        stale: bool,
        ctx: &mut Context<Self>,
    ) {
        let services = self.ctx.clone();
        let id = self.id;
        let fut = async move {
            let txn = services.db.begin().await?;
            let changed = !stale && numbers::set_session_state(&txn, id, &state).await?;
            let mut notified = false;
            if changed && state != gateway::AUTHORIZED {
                let portal_id = numbers::get(&txn, id).await?.map(|n| n.portal_id);
                if let Some(portal_id) = portal_id {
                    let lang = crate::store::portals::language_of(&txn, portal_id).await?;
                    for chat in chats::recent_with_b24(&txn, id, 20).await? {
                        if let Some(im_chat_id) = chat.b24_chat_id {
                            jobs::enqueue(
                                &txn,
                                &jobs::portal_owner(portal_id),
                                &format!("notice:{im_chat_id}"),
                                &Job::B24Notice {
                                    im_chat_id,
                                    text: session_lost_notice(lang, Some(&state)),
                                },
                            )
                            .await?;
                            notified = true;
                        }
                    }
                    if notified {
                        tracing::warn!(number = id, state = %state, "WhatsApp session lost; operators told");
                    }
                }
            }
            inbox::mark_processed(&txn, &[inbox_id]).await?;
            txn.commit().await?;
            Ok::<_, sea_orm::DbErr>((changed, notified, state))
        };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.storing_state = false;
            match res {
                Ok((changed, notified, state)) => {
                    if !stale {
                        act.last_state = Some((inbox_id, timestamp));
                    }
                    if notified {
                        if let Some((m, _)) = &act.session {
                            act.up.do_send(KickOwner(Owner::Portal(m.portal_id)));
                        }
                    }
                    if changed && state == gateway::AUTHORIZED {
                        act.kick(ctx);
                    }
                }
                Err(e) => tracing::warn!(number = act.id, error = %e, "storing a session state failed; the sweep retries"),
            }
            act.next_state(ctx);
        }));
    }

    /// Gateway numbers: ask the instance for its state now and then, in case a state webhook
    /// was lost.
    pub(super) fn poll_state(&mut self, ctx: &mut Context<Self>) {
        let Some((m, Transport::Web(web))) = self.session.clone() else {
            return;
        };
        if self.ctx.lifecycle.is_stopping() {
            return;
        }
        let services = self.ctx.clone();
        let fut = async move {
            match web.state(services.web()).await {
                Ok(state) => numbers::set_session_state(&services.db, m.id, &state)
                    .await
                    .map(|changed| (changed, state))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok((true, state)) if state == gateway::AUTHORIZED => act.kick(ctx),
            Ok(_) => {}
            Err(e) => tracing::warn!(number = act.id, error = %e, "gateway state poll failed"),
        }));
    }
}
