//! Group commit for the chats' transactions: the work of concurrent chats (each a closure over a
//! transaction) runs one after another in one transaction with one commit, instead of a BEGIN,
//! a COMMIT and a WAL flush each. Each caller is answered only once that commit is done, so
//! nothing is acknowledged before it is durable. Work that arrives alone runs at once (it joins
//! only what is already waiting, never a timer). When one closure fails, or the commit does,
//! the group is rolled back and each closure runs again alone in a transaction of its own, so
//! one chat's error never fails another's; the closures must therefore be safe to run twice
//! (the chats' claim their inbox items in the transaction, so a second run applies nothing
//! twice). A closure that panics is answered with its panic, which resumes in the caller.

use std::{
    any::Any,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex as StdMutex},
};

use futures::{future::BoxFuture, FutureExt};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::gather;

/// Closures in one transaction at most (a longer one holds its row locks longer).
const MAX_UNITS: usize = 32;
/// Closures waiting for a runner at most; more wait in their callers (bounded memory).
const QUEUE: usize = 1024;

type Work =
    Box<dyn for<'t> Fn(&'t DatabaseTransaction) -> BoxFuture<'t, Result<(), DbErr>> + Send + Sync>;

enum Outcome {
    Done,
    Failed(DbErr),
    Panicked(Box<dyn Any + Send>),
}

struct Unit {
    work: Work,
    done: oneshot::Sender<Outcome>,
}

/// The handle chats run their transactions through (cheap to clone).
#[derive(Clone)]
pub struct TxnGroup {
    tx: mpsc::Sender<Unit>,
}

impl TxnGroup {
    /// `runners` tasks take turns at the queue: while one commits, the next gathers. SQLite has
    /// one connection, so one is enough there.
    pub fn start(db: DatabaseConnection, runners: usize) -> Self {
        let tx = gather::serve(QUEUE, runners, move |rx| runner(db.clone(), rx));
        Self { tx }
    }

    /// Runs `work` in a transaction (maybe shared with other callers' work) and returns its
    /// result once that transaction is committed. `work` may run more than once (see above):
    /// only the result of the run that was committed is returned.
    pub async fn run<R, F>(&self, work: F) -> Result<R, DbErr>
    where
        R: Send + 'static,
        F: for<'t> Fn(&'t DatabaseTransaction) -> BoxFuture<'t, Result<R, DbErr>>
            + Send
            + Sync
            + 'static,
    {
        let slot: Arc<StdMutex<Option<R>>> = Arc::new(StdMutex::new(None));
        let out = slot.clone();
        let work: Work = Box::new(move |txn| {
            let fut = work(txn);
            let slot = slot.clone();
            Box::pin(async move {
                let r = fut.await?;
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                Ok(())
            })
        });
        let stopped = || DbErr::Custom("the transaction group has stopped".into());
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Unit { work, done })
            .await
            .map_err(|_| stopped())?;
        match answer.await.map_err(|_| stopped())? {
            Outcome::Done => out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| DbErr::Custom("committed work left no result".into())),
            Outcome::Failed(e) => Err(e),
            Outcome::Panicked(p) => std::panic::resume_unwind(p),
        }
    }
}

async fn runner(db: DatabaseConnection, rx: gather::Shared<Unit>) {
    while let Some(units) = gather::next_group(&rx, |u| u.len() >= MAX_UNITS).await {
        if units.len() == 1 {
            for u in units {
                alone(&db, u).await;
            }
        } else {
            together(&db, units).await;
        }
    }
}

/// Why a closure did not finish.
enum Fail {
    Db(DbErr),
    Panic(Box<dyn Any + Send>),
}

async fn run_unit(work: &Work, txn: &DatabaseTransaction) -> Result<(), Fail> {
    match AssertUnwindSafe(work(txn)).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Fail::Db(e)),
        Err(p) => Err(Fail::Panic(p)),
    }
}

/// One closure in a transaction of its own.
async fn alone(db: &DatabaseConnection, u: Unit) {
    let out = match db.begin().await {
        Err(e) => Outcome::Failed(e),
        Ok(txn) => match run_unit(&u.work, &txn).await {
            Ok(()) => match txn.commit().await {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Failed(e),
            },
            Err(Fail::Db(e)) => {
                let _ = txn.rollback().await;
                Outcome::Failed(e)
            }
            // Rolled back as the transaction is dropped.
            Err(Fail::Panic(p)) => Outcome::Panicked(p),
        },
    };
    let _ = u.done.send(out);
}

/// Several closures in one transaction; on any failure, each again alone.
async fn together(db: &DatabaseConnection, units: Vec<Unit>) {
    let txn = match db.begin().await {
        Ok(t) => t,
        Err(_) => {
            for u in units {
                alone(db, u).await;
            }
            return;
        }
    };
    let mut failed = None;
    for (i, u) in units.iter().enumerate() {
        if let Err(f) = run_unit(&u.work, &txn).await {
            failed = Some((i, f));
            break;
        }
    }
    let panicked = match failed {
        None => match txn.commit().await {
            Ok(()) => {
                for u in units {
                    let _ = u.done.send(Outcome::Done);
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, units = units.len(), "group commit failed; each alone");
                None
            }
        },
        Some((i, f)) => {
            let _ = txn.rollback().await;
            match f {
                Fail::Panic(p) => Some((i, p)),
                // Perhaps caused by the others (a lock): its own run tells.
                Fail::Db(_) => None,
            }
        }
    };
    let mut panicked = panicked;
    for (j, u) in units.into_iter().enumerate() {
        match panicked.take() {
            Some((i, p)) if i == j => {
                let _ = u.done.send(Outcome::Panicked(p));
            }
            other => {
                panicked = other;
                alone(db, u).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sea_orm::{ConnectionTrait, Database, Statement};

    use super::*;

    async fn db() -> (DatabaseConnection, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Database::connect(url).await.expect("sqlite");
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .await
            .expect("table");
        (db, dir)
    }

    fn insert(id: i64, v: &str) -> Statement {
        Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "INSERT INTO t (id, v) VALUES (?, ?)",
            [id.into(), v.into()],
        )
    }

    async fn rows(db: &DatabaseConnection) -> Vec<i64> {
        db.query_all(Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT id FROM t ORDER BY id",
        ))
        .await
        .expect("select")
        .iter()
        .map(|r| r.try_get::<i64>("", "id").expect("id"))
        .collect()
    }

    #[tokio::test]
    async fn concurrent_work_commits_and_a_failing_one_fails_alone() {
        let (db, _dir) = db().await;
        let group = TxnGroup::start(db.clone(), 1);
        let runs = Arc::new(AtomicUsize::new(0));
        let mut calls = Vec::new();
        for id in 1..=20i64 {
            let group = group.clone();
            let runs = runs.clone();
            calls.push(tokio::spawn(async move {
                group
                    .run(move |txn| {
                        let runs = runs.clone();
                        Box::pin(async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            txn.execute(insert(id, "x")).await?;
                            // Id 7 breaks its own transaction: a second row with its key.
                            if id == 7 {
                                txn.execute(insert(id, "again")).await?;
                            }
                            Ok(id * 10)
                        })
                    })
                    .await
            }));
        }
        let mut answers = Vec::new();
        for c in calls {
            answers.push(c.await.expect("task"));
        }
        for (i, a) in answers.iter().enumerate() {
            let id = i as i64 + 1;
            match a {
                Ok(v) => assert_eq!(*v, id * 10),
                Err(_) => assert_eq!(id, 7, "only the failing work fails"),
            }
        }
        assert!(answers[6].is_err());
        let expected: Vec<i64> = (1..=20).filter(|i| *i != 7).collect();
        assert_eq!(rows(&db).await, expected, "every other row committed once");
        // The calls queued while the runner waited, so they ran as one group, which the failure
        // rolled back: every call ran again alone.
        assert!(runs.load(Ordering::SeqCst) > 20, "they ran as a group");
    }

    #[tokio::test]
    async fn a_panic_reaches_its_caller_and_the_others_commit() {
        let (db, _dir) = db().await;
        let group = TxnGroup::start(db.clone(), 1);
        let mut calls = Vec::new();
        for id in 1..=8i64 {
            let group = group.clone();
            calls.push(tokio::spawn(async move {
                group
                    .run(move |txn| {
                        Box::pin(async move {
                            txn.execute(insert(id, "x")).await?;
                            assert!(id != 3, "work 3 panics after writing");
                            Ok(())
                        })
                    })
                    .await
            }));
        }
        for (i, c) in calls.into_iter().enumerate() {
            let r = c.await;
            if i == 2 {
                assert!(
                    r.is_err_and(|e| e.is_panic()),
                    "the panic resumes in its caller"
                );
            } else {
                assert!(matches!(r, Ok(Ok(()))), "work {} committed", i + 1);
            }
        }
        assert_eq!(rows(&db).await, vec![1, 2, 4, 5, 6, 7, 8]);
    }
}
