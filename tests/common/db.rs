//! Test databases: a fresh SQLite file or a new PostgreSQL database per harness, and the
//! PostgreSQL ones dropped when the test ends well.

use super::Backend;

thread_local! {
    /// PostgreSQL databases this test (its thread) created; dropped when it ends well.
    static CREATED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Drops this test's PostgreSQL databases so repeated runs do not pile them up. A failed test
/// keeps its database for a look.
pub async fn drop_test_databases() {
    use sqlx::Connection;
    let names: Vec<String> = CREATED.with(|c| c.borrow_mut().drain(..).collect());
    if names.is_empty() {
        return;
    }
    let admin = std::env::var("DATABASE_TEST_URL").unwrap_or_else(|_| PG_ADMIN_URL.into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        return;
    };
    for name in names {
        // FORCE: the stopped app's pool may still hold idle connections.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = std::env::var("DATABASE_TEST_URL").unwrap_or_else(|_| PG_ADMIN_URL.into());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("PostgreSQL at 127.0.0.1:5432 must answer (see .ci/run)");
            let name = format!("b24wa_test_{}", crate::sim::random_hex(8));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            CREATED.with(|c| c.borrow_mut().push(name.clone()));
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .unwrap_or(admin);
            format!("{base}/{name}")
        }
    }
}
