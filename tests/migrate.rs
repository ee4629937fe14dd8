//! Several nodes started at once on one fresh PostgreSQL database each run the migrations as
//! they start (`b24wa serve`): they must take turns, not fail on each other's half-made schema.

mod common;
mod sim;

use common::{fresh_database, settle, Backend};
use futures::future::join_all;

#[actix_web::test]
async fn nodes_migrating_one_database_at_once_all_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = fresh_database(Backend::Postgres, dir.path()).await;
    let mut dbs = Vec::new();
    for _ in 0..4 {
        dbs.push(b24wa::store::connect(&url).await.expect("connect"));
    }
    let results = join_all(dbs.iter().map(b24wa::store::migrate)).await;
    for (i, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "node {i}: {r:?}");
    }
    // Every migration applied, once.
    use sea_orm::{ConnectionTrait, Statement};
    let row = dbs[0]
        .query_one(Statement::from_string(
            dbs[0].get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .expect("query")
        .expect("a row");
    let applied: i64 = row.try_get("", "n").expect("count");
    use migration::MigratorTrait;
    assert_eq!(
        applied as usize,
        migration::Migrator::migrations().len(),
        "each migration recorded once"
    );
    for db in dbs {
        let _ = db.close().await;
    }
    settle().await;
}
