//! What the actors say to each other: the owner keys of stored work, and the messages a parent
//! sends down (route, kick, reload, retire) and a child sends up (kick an owner, dispatch
//! items). A child holds its parent as a `Recipient` of these, never the parent's type.

use actix::prelude::*;

use crate::{relay::inbox::InboxItem, store::jobs};

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

/// Wake an owner's job runner.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Kick;

/// Wake the actor that owns these jobs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KickOwner(pub Owner);

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

/// A portal's stored data changed (install, reinstall, tokens): its actor reloads.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload(pub Owner);

/// Arm a test fault in the actor that receives it.
#[cfg(feature = "faults")]
#[derive(Message)]
#[rtype(result = "()")]
pub struct ArmFault(pub super::Fault);

/// Stop: this node no longer holds the actor's lease (cluster mode).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Retire;
