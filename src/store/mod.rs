//! Persistence over `entity/`: the only module that builds queries.

pub mod audit;
pub mod chats;
pub mod crypto;
pub mod erase;
pub mod export;
mod gather;
pub mod health;
pub mod hops;
pub mod inbox;
pub mod inbox_writer;
pub mod jobs;
pub mod ledger;
pub mod media;
pub mod messages;
pub mod numbers;
pub mod portals;
mod query;
pub mod quotas;
pub mod rekey;
pub mod retention;
pub mod search;
pub mod templates;
pub mod tenants;
pub mod txn_group;
pub mod usage;
pub mod users;

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, TransactionTrait,
};

pub use query::{page, Selection};
pub use sea_orm::DatabaseConnection as Db;

pub use crate::clock::now_ms;

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        if let Some(path) = sqlite_path(url) {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(e.to_string()))?;
                }
            }
        }
        // SQLite allows one writer, and a WAL read transaction that later writes fails at once
        // (SQLITE_BUSY_SNAPSHOT) if another writer got in first; one connection serialises all
        // access instead. PostgreSQL is the choice when one connection is not enough.
        opts.max_connections(1).min_connections(1);
        // Any file URL creates its database on first use (sqlx's default is to fail with "unable
        // to open database file"), unless the URL asks for a mode of its own (`mode=ro`, …).
        // (`create_if_missing(false)` would undo the URL's own `mode=rwc`: only ever set true.)
        let create = !url.contains("mode=");
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = if create { o.create_if_missing(true) } else { o };
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
        });
    } else {
        // No ping before every checkout: it doubled the round trips of short queries; a dead
        // connection fails its query, which is retried like any database error.
        opts.max_connections(16)
            .min_connections(2)
            .test_before_acquire(false);
        // Each IN list's length is a statement of its own: sqlx's 100 prepared statements per
        // connection were evicted and prepared again (parsed and planned) under load.
        opts.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(512));
    }
    let db = Database::connect(opts).await?;
    db.execute_unprepared("SELECT 1").await?;
    Ok(db)
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Nodes started together on one database must not migrate at once (the second fails
        // on what the first half-created): a transaction-scoped advisory lock takes them in
        // turn, and the later ones find nothing left to do. DDL is transactional here.
        let txn = db.begin().await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        migration::Migrator::up(&txn, None).await?;
        return txn.commit().await;
    }
    migration::Migrator::up(db, None).await
}

/// The PostgreSQL advisory lock key held while migrating ("b24w" in ASCII).
const MIGRATION_LOCK: i64 = 0x6232_3477;

/// A store failure; callers map it to their own boundary error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

/// `LOWER(col) LIKE '%needle%'` with the needle's `%`, `_` and `\` taken literally: a
/// substring search that matches alike on SQLite and PostgreSQL (whose LIKE minds case).
pub(crate) fn contains_ci<C: sea_orm::ColumnTrait>(
    col: C,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, Func, LikeExpr};
    use sea_orm::IntoSimpleExpr;
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for ch in needle.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Expr::expr(Func::lower(col.into_simple_expr())).like(LikeExpr::new(pattern).escape('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `sqlite://` URL for a file that does not exist yet (no `?mode=rwc`) creates it, folder
    /// and all; one that asks for its own mode keeps it.
    #[tokio::test]
    async fn a_sqlite_url_creates_its_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        for url in [
            format!("sqlite://{}/a/fresh.db", dir.path().display()),
            format!("sqlite:{}/b/fresh.db", dir.path().display()),
        ] {
            let db = connect(&url).await.expect("connects and creates");
            migrate(&db).await.expect("migrates");
            drop(db);
            let path = sqlite_path(&url).expect("a file path");
            assert!(std::path::Path::new(&path).is_file(), "{path} created");
        }
        let rwc = format!("sqlite://{}/c/fresh.db?mode=rwc", dir.path().display());
        connect(&rwc).await.expect("mode=rwc still creates");
        let ro = format!("sqlite://{}/d/absent.db?mode=ro", dir.path().display());
        assert!(connect(&ro).await.is_err(), "mode=ro does not create");
    }
}
