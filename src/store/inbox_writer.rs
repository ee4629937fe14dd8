//! Group commit for webhooks: the inbox rows of concurrent webhook requests join one multi-row
//! INSERT (one statement, so one commit). Each request is answered only once its rows are
//! committed, so a webhook is still acknowledged only after its commit; a request that arrives
//! alone is written at once (rows join only what is already waiting, never a timer).

use std::collections::HashMap;

use entity::inbox;
use sea_orm::{
    sea_query::{OnConflict, Query},
    ConnectionTrait, DatabaseConnection, DbErr, Value,
};
use tokio::sync::{mpsc, oneshot};

use super::{gather, now_ms};
use crate::relay::inbox::InboxItem;

/// Rows in one statement at most (PostgreSQL allows 65,535 bind values: 7 per row).
const MAX_ROWS: usize = 512;
/// Requests waiting for a writer at most; more wait in their handlers (bounded memory).
const QUEUE: usize = 4096;

/// One inbox row a webhook stores: once per (`source`, `external_id`).
pub struct NewRow {
    pub source: String,
    pub external_id: String,
    pub owner: String,
    pub item: InboxItem,
}

/// A row ready for the statement: the payload serialised and the trace id read in the
/// request's own task (the writer's task has none).
struct Prepared {
    source: String,
    external_id: String,
    owner: String,
    payload: String,
    created_at: i64,
    trace_id: Option<String>,
}

/// One request's rows: committed together or not at all.
struct Unit {
    rows: Vec<Prepared>,
    done: oneshot::Sender<Result<Vec<Option<i64>>, DbErr>>,
}

/// The handle webhook handlers store through (cheap to clone).
#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Unit>,
}

impl InboxWriter {
    /// `writers` tasks take turns at the queue: while one commits, the next gathers. SQLite has
    /// one connection, so one is enough there.
    pub fn start(db: DatabaseConnection, writers: usize) -> Self {
        let tx = gather::serve(QUEUE, writers, move |rx| run(db.clone(), rx));
        Self { tx }
    }

    /// Stores `rows` (all or none) and returns each row's new inbox id, or `None` for a row the
    /// inbox already had (a redelivery).
    pub async fn insert(&self, rows: &[NewRow]) -> Result<Vec<Option<i64>>, DbErr> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let trace_id = crate::trace::current_id();
        let created_at = now_ms();
        let rows = rows
            .iter()
            .map(|r| {
                let payload =
                    serde_json::to_string(&r.item).map_err(|e| DbErr::Custom(e.to_string()))?;
                Ok(Prepared {
                    source: r.source.clone(),
                    external_id: r.external_id.clone(),
                    owner: r.owner.clone(),
                    payload,
                    created_at,
                    trace_id: trace_id.clone(),
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let (done, answer) = oneshot::channel();
        let stopped = || DbErr::Custom("the inbox writer has stopped".into());
        self.tx
            .send(Unit { rows, done })
            .await
            .map_err(|_| stopped())?;
        let ids = answer.await.map_err(|_| stopped())??;
        for id in &ids {
            crate::trace::note_insert(id.is_some());
        }
        Ok(ids)
    }
}

async fn run(db: DatabaseConnection, rx: gather::Shared<Unit>) {
    let full = |units: &[Unit]| units.iter().map(|u| u.rows.len()).sum::<usize>() >= MAX_ROWS;
    while let Some(units) = gather::next_group(&rx, full).await {
        write(&db, units).await;
    }
}

async fn write(db: &DatabaseConnection, units: Vec<Unit>) {
    let rows: Vec<&Prepared> = units.iter().flat_map(|u| &u.rows).collect();
    match insert_rows(db, &rows).await {
        Ok(ids) => {
            let mut ids = ids.into_iter();
            for u in units {
                let mine = ids.by_ref().take(u.rows.len()).collect();
                let _ = u.done.send(Ok(mine));
            }
        }
        // One request's bad row must not fail the others': each is tried alone.
        Err(_) if units.len() > 1 => {
            for u in units {
                let rows: Vec<&Prepared> = u.rows.iter().collect();
                let _ = u.done.send(insert_rows(db, &rows).await);
            }
        }
        Err(e) => {
            if let Some(u) = units.into_iter().next() {
                let _ = u.done.send(Err(e));
            }
        }
    }
}

/// One INSERT of every row; each row's new id in order, `None` where the (source, external id)
/// was stored already, or earlier in the same statement.
async fn insert_rows(
    db: &DatabaseConnection,
    rows: &[&Prepared],
) -> Result<Vec<Option<i64>>, DbErr> {
    use inbox::Column as C;
    let mut q = Query::insert();
    q.into_table(inbox::Entity).columns([
        C::Source,
        C::ExternalId,
        C::Owner,
        C::Payload,
        C::Processed,
        C::CreatedAt,
        C::TraceId,
    ]);
    for r in rows {
        let values: [Value; 7] = [
            r.source.clone().into(),
            r.external_id.clone().into(),
            r.owner.clone().into(),
            r.payload.clone().into(),
            false.into(),
            r.created_at.into(),
            r.trace_id.clone().into(),
        ];
        q.values(values.map(Into::into))
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    q.on_conflict(
        OnConflict::columns([C::Source, C::ExternalId])
            .do_nothing()
            .to_owned(),
    )
    .returning(Query::returning().columns([C::Id, C::Source, C::ExternalId]));
    let stmt = db.get_database_backend().build(&q);
    let mut stored: HashMap<(String, String), i64> = HashMap::new();
    for row in db.query_all(stmt).await? {
        let id: i64 = row.try_get("", "id")?;
        let source: String = row.try_get("", "source")?;
        let external_id: String = row.try_get("", "external_id")?;
        stored.insert((source, external_id), id);
    }
    // Rows in statement order: of two with one key, the first is the one stored.
    Ok(rows
        .iter()
        .map(|r| stored.remove(&(r.source.clone(), r.external_id.clone())))
        .collect())
}
