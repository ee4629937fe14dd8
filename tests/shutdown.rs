//! SIGTERM: the real binary stops within its deadline, and what it had accepted is delivered
//! after the next start, once and in order.

mod common;
mod sim;

use std::time::{Duration, Instant};

use common::{spawn_process_logging, wait_until, Backend};

on_both_databases!(sigterm_stops_within_the_deadline_and_loses_nothing);

async fn sigterm_stops_within_the_deadline_and_loses_nothing(backend: Backend) {
    let app = spawn_process_logging(backend, "info").await;
    app.install().await;
    let n = app.connect("1", "6161").await;
    // Slow the portal so that work is in flight when the signal comes.
    app.b24.set_down(true);
    let mut accepted = Vec::new();
    for i in 0..10 {
        let text = format!("before stop {i}");
        if app
            .customer_writes(&n, "4915550000", &format!("wamid.T{i}"), &text)
            .await
            == 200
        {
            accepted.push(text);
        }
    }
    assert_eq!(accepted.len(), 10);
    let deadline = app.settings.shutdown_secs;
    let started = Instant::now();
    let status = app
        .terminate(Duration::from_secs(deadline + 3))
        .expect("b24wa exits after SIGTERM");
    let took = started.elapsed();
    assert!(status.success(), "clean exit: {status:?}\n{}", app.log());
    assert!(
        took <= Duration::from_secs(deadline + 1),
        "stopped in {took:?}, deadline {deadline} s"
    );
    let log = app.log();
    assert!(log.contains("b24wa stopped"), "{log}");
    // Next start: everything accepted before the stop reaches Bitrix24, once, in order.
    app.b24.set_down(false);
    app.restart().await;
    let b24 = app.b24.clone();
    wait_until(20, "all delivered after the restart", move || {
        b24.customer_messages().len() >= 10
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.texts_in_bitrix("4915550000"), accepted);
}
