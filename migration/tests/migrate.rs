//! Runs the migrations against in-memory SQLite and, when a local server is
//! reachable, a throw-away PostgreSQL database. Each run also round-trips a
//! row through every entity to check entity and schema agree.
//!
//! PostgreSQL admin URL: `MIGRATION_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`. If it cannot be reached the
//! PostgreSQL test prints a note and passes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use entity::{chats, inbox, jobs, messages, numbers, portals, usage_ledger};
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm_migration::sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, Set,
};

const TABLES: [&str; 7] = [
    "portals",
    "numbers",
    "chats",
    "messages",
    "inbox",
    "jobs",
    "usage_ledger",
];

async fn assert_tables(db: &DatabaseConnection, present: bool) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    for t in TABLES {
        assert_eq!(manager.has_table(t).await?, present, "table {t}");
    }
    Ok(())
}

async fn exercise_entities(db: &DatabaseConnection) -> Result<(), DbErr> {
    let now: i64 = 1_764_115_200_000;

    let portal = portals::ActiveModel {
        member_id: Set("member-1".into()),
        domain: Set("example.bitrix24.ru".into()),
        client_endpoint: Set("https://example.bitrix24.ru/rest/".into()),
        server_endpoint: Set("https://oauth.bitrix.info/rest/".into()),
        access_token_enc: Set("a".into()),
        refresh_token_enc: Set("r".into()),
        token_expires_at: Set(now + 3_600_000),
        application_token_enc: Set("app".into()),
        scope: Set("imopenlines,imconnector".into()),
        installed: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert!(portal.id > 0);
    assert!(portal.installed);

    // member_id is unique.
    let dup = portals::ActiveModel {
        id: Default::default(),
        ..portal.clone().into()
    };
    assert!(dup.insert(db).await.is_err(), "duplicate member_id");

    let number = numbers::ActiveModel {
        portal_id: Set(portal.id),
        line_id: Set("7".into()),
        transport: Set("cloud".into()),
        phone_number_id: Set("1234567890".into()),
        display_phone: Set("+1 555 0100".into()),
        access_token_enc: Set("t".into()),
        app_secret_enc: Set("s".into()),
        verify_token_enc: Set("v".into()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Migration 15: a number stored without naming its gateway is a GREEN-API one (every
    // gateway number from before Evolution).
    assert_eq!(number.gateway_kind, "green-api");

    let chat = chats::ActiveModel {
        number_id: Set(number.id),
        customer_wa_id: Set("15550001".into()),
        customer_name: Set("Alice".into()),
        b24_chat_id: Set(None),
        b24_session_id: Set(Some("s-1".into())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    assert_eq!(chat.b24_chat_id, None);

    // (number_id, customer_wa_id) is unique.
    let dup_chat = chats::ActiveModel {
        id: Default::default(),
        ..chat.clone().into()
    };
    assert!(dup_chat.insert(db).await.is_err(), "duplicate chat");

    let msg = |wamid: Option<&str>| messages::ActiveModel {
        chat_id: Set(chat.id),
        direction: Set("in".into()),
        kind: Set("text".into()),
        wamid: Set(wamid.map(Into::into)),
        b24_chat_id: Set(Some("chat42".into())),
        b24_message_id: Set(None),
        text: Set("hello".into()),
        status: Set("received".into()),
        error: Set(None),
        sent_at: Set(None),
        delivered_at: Set(Some(now + 1)),
        read_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let m1 = msg(Some("wamid.A")).insert(db).await?;
    assert_eq!(m1.delivered_at, Some(now + 1));
    assert!(msg(Some("wamid.A")).insert(db).await.is_err(), "dup wamid");
    // Several NULL wamids are fine.
    msg(None).insert(db).await?;
    msg(None).insert(db).await?;
    assert_eq!(messages::Entity::find().count(db).await?, 3);

    let ev = inbox::ActiveModel {
        source: Set("wa".into()),
        external_id: Set("evt-1".into()),
        owner: Set(String::new()),
        payload: Set(r#"{"k":1}"#.into()),
        processed: Set(false),
        created_at: Set(now),
        ..Default::default()
    };
    let stored = ev.clone().insert(db).await?;
    assert!(!stored.processed);
    assert!(ev.insert(db).await.is_err(), "duplicate inbox event");

    let job = jobs::ActiveModel {
        owner: Set(String::new()),
        queue_key: Set("chat:1".into()),
        kind: Set("send".into()),
        payload: Set("{}".into()),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let found = jobs::Entity::find_by_id(job.id).one(db).await?;
    assert_eq!(found, Some(job));

    // Migration 16: one usage row per (kind, message); a second write of it is refused.
    let usage = |kind: &str| usage_ledger::ActiveModel {
        tenant_id: Set(None),
        number_id: Set(number.id),
        kind: Set(kind.into()),
        message_id: Set(m1.id),
        quantity: Set(7.5),
        at: Set(now),
        ..Default::default()
    };
    let row = usage("transcription").insert(db).await?;
    assert_eq!(row.quantity, 7.5);
    assert!(
        usage("transcription").insert(db).await.is_err(),
        "dup usage"
    );
    usage("inbound").insert(db).await?;

    // Cascades: removing the portal removes its numbers, chats and messages.
    portals::Entity::delete_by_id(portal.id).exec(db).await?;
    assert_eq!(numbers::Entity::find().count(db).await?, 0);
    assert_eq!(chats::Entity::find().count(db).await?, 0);
    assert_eq!(messages::Entity::find().count(db).await?, 0);
    // Usage is not history: it stays when the messages it counted are gone.
    assert_eq!(usage_ledger::Entity::find().count(db).await?, 2);
    Ok(())
}

async fn run_cycle(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    assert!(Migrator::get_pending_migrations(db).await?.is_empty());
    assert_tables(db, true).await?;
    exercise_entities(db).await?;

    Migrator::down(db, None).await?;
    assert_tables(db, false).await?;

    // And back up again on the now-empty database.
    Migrator::up(db, None).await?;
    assert_tables(db, true).await?;
    Migrator::down(db, None).await?;
    assert_tables(db, false).await
}

#[tokio::test]
async fn sqlite_up_down() -> Result<(), DbErr> {
    let db = Database::connect("sqlite::memory:").await?;
    run_cycle(&db).await?;
    db.close().await
}

#[tokio::test]
async fn postgres_up_down() -> Result<(), DbErr> {
    let admin_url = std::env::var("MIGRATION_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut opts = ConnectOptions::new(admin_url.clone());
    opts.connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .max_connections(1)
        .sqlx_logging(false);
    let admin = match Database::connect(opts).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("skipping PostgreSQL migration test: {e}");
            return Ok(());
        }
    };

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("mig_test_{}_{}", std::process::id(), nanos % 1_000_000_000);
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;

    let db_url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("unexpected PostgreSQL URL shape: {admin_url}"),
    };
    let result = async {
        let db = Database::connect(db_url.as_str()).await?;
        let r = run_cycle(&db).await;
        db.close().await?;
        r
    }
    .await;

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin.close().await?;
    result
}

/// Migration 12 starts each existing chat's 24-hour window from the customer's last stored
/// message (its own time), so an upgrade does not close windows that are open.
#[tokio::test]
async fn the_window_of_existing_chats_survives_the_upgrade() -> Result<(), DbErr> {
    let db = Database::connect("sqlite::memory:").await?;
    let before_12 = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261207_000012_conversations")
        .expect("migration 12 is listed") as u32;
    Migrator::up(&db, Some(before_12)).await?;
    let now: i64 = 1_764_115_200_000;
    // Rows as the tables were before migration 12 (no column it adds is named).
    portals::Entity::insert(portals::ActiveModel {
        id: Set(1),
        member_id: Set("member-1".into()),
        domain: Set("example.bitrix24.ru".into()),
        client_endpoint: Set("https://example.bitrix24.ru/rest/".into()),
        server_endpoint: Set("https://oauth.bitrix.info/rest/".into()),
        access_token_enc: Set("a".into()),
        refresh_token_enc: Set("r".into()),
        token_expires_at: Set(now),
        application_token_enc: Set("app".into()),
        scope: Set("imconnector".into()),
        installed: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&db)
    .await?;
    numbers::Entity::insert(numbers::ActiveModel {
        id: Set(1),
        portal_id: Set(1),
        line_id: Set("7".into()),
        transport: Set("cloud".into()),
        phone_number_id: Set("1234567890".into()),
        display_phone: Set("+1 555 0100".into()),
        access_token_enc: Set("t".into()),
        app_secret_enc: Set("s".into()),
        verify_token_enc: Set("v".into()),
        active: Set(true),
        session_state: Set("ok".into()),
        suspended: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&db)
    .await?;
    for (id, wa) in [(1, "15550001"), (2, "15550002")] {
        chats::Entity::insert(chats::ActiveModel {
            id: Set(id),
            number_id: Set(1),
            customer_wa_id: Set(wa.into()),
            customer_name: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&db)
        .await?;
    }
    // Chat 1: two customer messages and a later reply; chat 2: only our own message.
    let rows = [
        (1, "in", Some(now - 5_000)),
        (1, "in", Some(now - 1_000)),
        (1, "out", Some(now)),
        (2, "out", Some(now)),
    ];
    for (i, (chat, dir, sent_at)) in rows.into_iter().enumerate() {
        messages::Entity::insert(messages::ActiveModel {
            chat_id: Set(chat),
            direction: Set(dir.into()),
            kind: Set("text".into()),
            wamid: Set(Some(format!("wamid.{i}"))),
            text: Set("hi".into()),
            status: Set("received".into()),
            sent_at: Set(sent_at),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec_without_returning(&db)
        .await?;
    }
    Migrator::up(&db, None).await?;
    let chat1 = chats::Entity::find_by_id(1).one(&db).await?;
    let chat2 = chats::Entity::find_by_id(2).one(&db).await?;
    assert_eq!(chat1.and_then(|c| c.last_inbound_at), Some(now - 1_000));
    assert_eq!(chat2.map(|c| c.last_inbound_at), Some(None));
    db.close().await
}
