//! The inbox: every webhook/event item is stored here (deduplicated by provider id) before we
//! acknowledge it; actors mark items processed once their effects are stored.

use entity::inbox;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::now_ms;

pub use crate::relay::inbox::InboxItem;

pub const SOURCE_WA_CLOUD: &str = "wa_cloud";
/// Gateway ids are unique per instance only: the source is `wa_gateway:<number id>`.
pub const SOURCE_WA_GATEWAY: &str = "wa_gateway";
pub const SOURCE_B24: &str = "b24";
/// Transcripts, keyed by message id.
pub const SOURCE_TRANSCRIPT: &str = "transcript";

/// Inserts one item; `Ok(None)` when (source, external_id) is already stored (a duplicate).
pub async fn insert<C: ConnectionTrait>(
    c: &C,
    source: &str,
    external_id: &str,
    owner: &str,
    item: &InboxItem,
) -> Result<Option<i64>, DbErr> {
    let payload = serde_json::to_string(item).map_err(|e| DbErr::Custom(e.to_string()))?;
    let am = inbox::ActiveModel {
        source: Set(source.to_string()),
        external_id: Set(external_id.to_string()),
        owner: Set(owner.to_string()),
        payload: Set(payload),
        processed: Set(false),
        created_at: Set(now_ms()),
        trace_id: Set(crate::trace::current_id()),
        ..Default::default()
    };
    let unique = [inbox::Column::Source, inbox::Column::ExternalId];
    let id = super::query::insert_new(c, am, unique).await?;
    crate::trace::note_insert(id.is_some());
    Ok(id)
}

pub fn decode(row: &inbox::Model) -> Result<InboxItem, DbErr> {
    serde_json::from_str(&row.payload).map_err(|e| DbErr::Custom(format!("inbox {}: {e}", row.id)))
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<inbox::Model>, DbErr> {
    inbox::Entity::find_by_id(id).one(c).await
}

pub async fn mark_processed<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let cond = inbox::Column::Id.is_in(ids.iter().copied());
    super::query::set_where(c, inbox::Column::Processed, true, cond).await
}

/// Claims those of `ids` still unprocessed: marks them processed within `c`'s transaction and
/// returns each with its trace id and when it was stored (for the logs and relay latency). One
/// statement instead of a read before applying and a write after; a rollback gives them back,
/// and a concurrent claim waits for this transaction and then finds them taken.
pub async fn claim<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (Option<String>, i64)>, DbErr> {
    use inbox::Column as Col;
    use sea_orm::sea_query::{Expr, Query};
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut q = Query::update();
    q.table(inbox::Entity)
        .value(Col::Processed, true)
        .and_where(Expr::col(Col::Id).is_in(ids.iter().copied()))
        .and_where(Expr::col(Col::Processed).eq(false))
        .returning(Query::returning().columns([Col::Id, Col::TraceId, Col::CreatedAt]));
    let rows = c.query_all(c.get_database_backend().build(&q)).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("", "id")?;
            let trace: Option<String> = r.try_get("", "trace_id")?;
            let at: i64 = r.try_get("", "created_at")?;
            Ok((id, (trace, at)))
        })
        .collect()
}

/// Gives claimed items back (unprocessed): the sweep brings them again later.
pub async fn unclaim<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let cond = inbox::Column::Id.is_in(ids.iter().copied());
    super::query::set_where(c, inbox::Column::Processed, false, cond).await
}

/// Which of an owner's unprocessed items a page takes.
#[derive(Debug, Clone, Copy)]
pub enum Unprocessed {
    /// Those stored before the time (the recovery sweep).
    StoredBefore(i64),
    /// Those with an id above this one: one page of a bounded reload (actors read their stored
    /// backlog a page at a time, never all of it).
    After(i64),
}

/// One owner's unprocessed items that `which` takes, in id order, at most `limit`.
pub async fn unprocessed<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    which: Unprocessed,
    limit: u64,
) -> Result<Vec<inbox::Model>, DbErr> {
    let cond = match which {
        Unprocessed::StoredBefore(ms) => inbox::Column::CreatedAt.lt(ms),
        Unprocessed::After(id) => inbox::Column::Id.gt(id),
    };
    inbox::Entity::find()
        .filter(inbox::Column::Owner.eq(owner))
        .filter(inbox::Column::Processed.eq(false))
        .filter(cond)
        .order_by_asc(inbox::Column::Id)
        .limit(limit)
        .all(c)
        .await
}

/// Cluster mode's load of announced items: the ids of `owner`'s unprocessed items up to
/// `max_id` (oldest first, at most `limit`; an index-only read), and the rows of those not in
/// `routed` (loaded before). Re-reading from the oldest keeps a late-committed item in order;
/// reading only the new rows keeps a long backlog from being read again at every load.
pub async fn unprocessed_unrouted<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    max_id: i64,
    limit: u64,
    routed: &std::collections::BTreeSet<i64>,
) -> Result<(Vec<i64>, Vec<inbox::Model>), DbErr> {
    let ids: Vec<i64> = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::Id)
        .filter(inbox::Column::Owner.eq(owner))
        .filter(inbox::Column::Processed.eq(false))
        .filter(inbox::Column::Id.lte(max_id))
        .order_by_asc(inbox::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await?;
    let new: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !routed.contains(id))
        .collect();
    if new.is_empty() {
        return Ok((ids, Vec::new()));
    }
    let rows = inbox::Entity::find()
        .filter(inbox::Column::Id.is_in(new))
        .filter(inbox::Column::Processed.eq(false))
        .order_by_asc(inbox::Column::Id)
        .all(c)
        .await?;
    Ok((ids, rows))
}

/// Owners that still have unprocessed items (to start their actors after a restart).
pub async fn owners_with_unprocessed<C: ConnectionTrait>(c: &C) -> Result<Vec<String>, DbErr> {
    super::query::distinct(c, inbox::Column::Owner, inbox::Column::Processed.eq(false)).await
}

/// Whether `owner` has at least `n` unprocessed items. Walks at most `n` entries of the
/// (owner, processed, id) index instead of counting the whole backlog.
pub async fn backlog_at_least<C: ConnectionTrait>(
    c: &C,
    owner: &str,
    n: u64,
) -> Result<bool, DbErr> {
    if n == 0 {
        return Ok(true);
    }
    let nth: Option<i64> = inbox::Entity::find()
        .select_only()
        .column(inbox::Column::Id)
        .filter(inbox::Column::Owner.eq(owner))
        .filter(inbox::Column::Processed.eq(false))
        .order_by_asc(inbox::Column::Id)
        .offset(n - 1)
        .limit(1)
        .into_tuple()
        .one(c)
        .await?;
    Ok(nth.is_some())
}
