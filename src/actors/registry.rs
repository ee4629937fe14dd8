//! Registry: finds or starts the supervised actor of a portal or a number, forwards work to it,
//! and periodically starts actors that have stored work (recovery after a restart).

use std::{collections::HashMap, time::Duration};

use actix::prelude::*;

use super::{number::NumberActor, portal::PortalActor, transcripts::TranscriptRunner, Ctx, Fault};
use crate::store::{inbox, inbox::InboxItem, jobs};

/// An actor owner key as stored in `jobs.owner` / `inbox.owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Portal(i64),
    Number(i64),
    /// The transcription jobs of the whole pool.
    Transcriber,
}

impl Owner {
    /// The key stored in `jobs.owner` / `inbox.owner`.
    pub fn key(&self) -> String {
        match self {
            Owner::Portal(id) => jobs::portal_owner(*id),
            Owner::Number(id) => jobs::number_owner(*id),
            Owner::Transcriber => jobs::TRANSCRIBER_OWNER.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if s == jobs::TRANSCRIBER_OWNER {
            return Some(Owner::Transcriber);
        }
        let (kind, id) = s.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "portal" => Some(Owner::Portal(id)),
            "number" => Some(Owner::Number(id)),
            _ => None,
        }
    }
}

pub struct Registry {
    ctx: Ctx,
    portals: HashMap<i64, Addr<PortalActor>>,
    numbers: HashMap<i64, Addr<NumberActor>>,
    /// Runs stored transcription jobs; `None` when transcription is off (no model).
    transcripts: Option<Addr<TranscriptRunner>>,
}

impl Registry {
    pub fn new(ctx: Ctx, transcripts: Option<Addr<TranscriptRunner>>) -> Self {
        Self {
            ctx,
            portals: HashMap::new(),
            numbers: HashMap::new(),
            transcripts,
        }
    }

    fn portal(&mut self, id: i64, me: Addr<Registry>) -> Addr<PortalActor> {
        let ctx = self.ctx.clone();
        self.portals
            .entry(id)
            .or_insert_with(|| Supervisor::start(move |_| PortalActor::new(ctx, id, me)))
            .clone()
    }

    fn number(&mut self, id: i64, me: Addr<Registry>) -> Addr<NumberActor> {
        let ctx = self.ctx.clone();
        self.numbers
            .entry(id)
            .or_insert_with(|| Supervisor::start(move |_| NumberActor::new(ctx, id, me)))
            .clone()
    }

    fn kick(&mut self, owner: Owner, me: Addr<Registry>) {
        match owner {
            Owner::Portal(id) => self.portal(id, me).do_send(Kick),
            Owner::Number(id) => self.number(id, me).do_send(Kick),
            Owner::Transcriber => {
                if let Some(t) = &self.transcripts {
                    t.do_send(Kick);
                }
            }
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let period = Duration::from_millis(self.ctx.settings.sweep_ms.max(100));
        ctx.run_interval(period, |act, ctx| act.recover(ctx));
        self.recover(ctx);
    }
}

impl Registry {
    /// Starts (and kicks) every actor that owns pending jobs or unprocessed inbox items.
    fn recover(&mut self, ctx: &mut Context<Self>) {
        if self.ctx.lifecycle.is_stopping() {
            return;
        }
        let services = self.ctx.clone();
        let fut = async move {
            let mut owners = jobs::owners_with_pending(&services.db).await?;
            owners.extend(inbox::owners_with_unprocessed(&services.db).await?);
            Ok::<_, sea_orm::DbErr>(owners)
        };
        ctx.spawn(fut.into_actor(self).map(|res, act, ctx| match res {
            Ok(owners) => {
                for owner in owners.iter().filter_map(|o| Owner::parse(o)) {
                    act.kick(owner, ctx.address());
                }
            }
            Err(e) => tracing::warn!(error = %e, "recovery sweep failed"),
        }));
    }
}

impl Supervised for Registry {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("registry restarting");
    }
}

/// Wake an owner's job runner.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Kick;

/// Wake the actor that owns these jobs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KickOwner(pub Owner);

impl Handler<KickOwner> for Registry {
    type Result = ();
    fn handle(&mut self, msg: KickOwner, ctx: &mut Self::Context) {
        self.kick(msg.0, ctx.address());
    }
}

/// Stored inbox items for the actor that owns them (a portal or a number) to hand on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Route {
    pub items: Vec<(i64, InboxItem)>,
}

/// Newly stored inbox items for an owner.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispatch {
    pub owner: Owner,
    pub items: Vec<(i64, InboxItem)>,
}

impl Handler<Dispatch> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Dispatch, ctx: &mut Self::Context) {
        match msg.owner {
            Owner::Portal(id) => self
                .portal(id, ctx.address())
                .do_send(Route { items: msg.items }),
            Owner::Number(id) => self
                .number(id, ctx.address())
                .do_send(Route { items: msg.items }),
            Owner::Transcriber => {}
        }
    }
}

/// A portal's stored data changed (install, reinstall, tokens): its actor reloads.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload(pub Owner);

impl Handler<Reload> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Reload, ctx: &mut Self::Context) {
        match msg.0 {
            Owner::Portal(id) => self
                .portal(id, ctx.address())
                .do_send(super::portal::ReloadPortal),
            Owner::Number(id) => self
                .number(id, ctx.address())
                .do_send(super::number::ReloadNumber),
            Owner::Transcriber => {}
        }
    }
}

/// Debug fault injection (tests only).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct InjectFault {
    pub target: FaultTarget,
    pub fault: Fault,
}

#[derive(Debug, Clone)]
pub enum FaultTarget {
    Portal(i64),
    Number(i64),
    Chat { number_id: i64, wa_id: String },
}

impl Handler<InjectFault> for Registry {
    type Result = bool;
    fn handle(&mut self, msg: InjectFault, ctx: &mut Self::Context) -> bool {
        match msg.target {
            FaultTarget::Portal(id) => self
                .portal(id, ctx.address())
                .do_send(super::portal::PortalFault(msg.fault)),
            FaultTarget::Number(id) => self
                .number(id, ctx.address())
                .do_send(super::number::NumberFault(msg.fault)),
            FaultTarget::Chat { number_id, wa_id } => self
                .number(number_id, ctx.address())
                .do_send(super::number::ChatFault {
                    wa_id,
                    fault: msg.fault,
                }),
        }
        true
    }
}
