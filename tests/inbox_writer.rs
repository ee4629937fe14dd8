//! Group commit of webhooks' inbox rows (`store::inbox_writer`): concurrent requests share
//! statements, every request gets its own rows' ids, a redelivery gets none, and what a request
//! was told is stored is in the table.

mod common;
mod sim;

use b24wa::{
    relay::inbox::InboxItem,
    store::inbox_writer::{InboxWriter, NewRow},
};
use common::{fresh_database, Backend};
use futures::future::join_all;
use sea_orm::{ConnectionTrait, Statement};

fn row(key: &str) -> NewRow {
    NewRow {
        source: "wa_cloud".into(),
        external_id: key.into(),
        owner: "number:1".into(),
        item: InboxItem::WaStatus {
            phone_number_id: "900".into(),
            wamid: key.into(),
            status: "delivered".into(),
            timestamp: 1,
            recipient_id: "447000000001".into(),
            error: None,
            error_code: None,
        },
    }
}

async fn stored_rows(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM inbox",
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

async fn concurrent_requests_are_stored_once_each(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = fresh_database(backend, dir.path()).await;
    let db = b24wa::store::connect(&url).await.expect("connect");
    b24wa::store::migrate(&db).await.expect("migrate");
    let writer = InboxWriter::start(db.clone(), 2);

    // 200 requests at once, each of one row; keys 0..100 twice (a webhook and its redelivery).
    let requests: Vec<Vec<NewRow>> = (0..200)
        .map(|i| vec![row(&format!("k{}", i % 100))])
        .collect();
    let answers = join_all(requests.iter().map(|r| writer.insert(r))).await;
    let mut ids = Vec::new();
    let mut redelivered = 0;
    for a in answers {
        let a = a.expect("stored");
        assert_eq!(a.len(), 1, "one id per row");
        match a[0] {
            Some(id) => ids.push(id),
            None => redelivered += 1,
        }
    }
    assert_eq!(ids.len(), 100, "each key stored once");
    assert_eq!(
        redelivered, 100,
        "each second copy told it was there already"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100, "ids are distinct");
    assert_eq!(stored_rows(&db).await, 100);

    // One request of several rows, one key twice within it: the first is the one stored.
    let several = vec![row("m1"), row("m2"), row("m1"), row("k5")];
    let a = writer.insert(&several).await.expect("stored");
    assert!(a[0].is_some() && a[1].is_some(), "{a:?}");
    assert_eq!(a[2], None, "the second m1 is a duplicate: {a:?}");
    assert_eq!(a[3], None, "k5 was stored by an earlier request: {a:?}");
    assert_eq!(stored_rows(&db).await, 102);
    assert!(writer.insert(&[]).await.expect("nothing").is_empty());
}

on_both_databases!(concurrent_requests_are_stored_once_each);
