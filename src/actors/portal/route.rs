//! Operator items → the number that serves their chat on their line (`store::numbers::serving`,
//! the one place that decides it); an item no number can deliver becomes a notice to the
//! operator instead of a silent drop.

use sea_orm::TransactionTrait;

use crate::{
    actors::Ctx,
    relay::{inbox::InboxItem, jobs::Job},
    store::{inbox, jobs, numbers, portals},
    tr,
};

pub(super) async fn route_items(
    services: Ctx,
    portal_id: i64,
    items: Vec<(i64, InboxItem)>,
) -> Result<Vec<(i64, Vec<(i64, InboxItem)>)>, sea_orm::DbErr> {
    let mut routes: Vec<(i64, Vec<(i64, InboxItem)>)> = Vec::new();
    for (inbox_id, item) in items {
        let Some((line, chat_id, im_chat_id)) = item.b24_route() else {
            continue;
        };
        let target = numbers::serving(&services.db, portal_id, line, chat_id).await?;
        match target {
            Some(n) => match routes.iter_mut().find(|(id, _)| *id == n.id) {
                Some((_, v)) => v.push((inbox_id, item)),
                None => routes.push((n.id, vec![(inbox_id, item)])),
            },
            None => {
                // Nothing can deliver it: tell the operator plainly instead of dropping silently.
                tracing::warn!(portal = portal_id, line = %line, "operator message on a line with no connected WhatsApp number");
                let txn = services.db.begin().await?;
                let lang = portals::language_of(&txn, portal_id).await?;
                let notice = Job::B24Notice {
                    im_chat_id: im_chat_id.to_string(),
                    text: tr!(lang, "no-number-on-line"),
                };
                jobs::enqueue(
                    &txn,
                    &jobs::portal_owner(portal_id),
                    &format!("notice:{im_chat_id}"),
                    &notice,
                )
                .await?;
                inbox::mark_processed(&txn, &[inbox_id]).await?;
                txn.commit().await?;
            }
        }
    }
    Ok(routes)
}
