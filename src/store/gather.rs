//! The queue both group commits (`inbox_writer`, `txn_group`) are served from: runner tasks take
//! turns at it, and each takes what is already waiting along with the first request, so a
//! request that arrives alone runs at once (no timer) and a busy queue fills whole groups.

use std::{future::Future, sync::Arc};

use tokio::sync::{mpsc, Mutex};

pub(super) type Shared<T> = Arc<Mutex<mpsc::Receiver<T>>>;

/// A queue of `capacity` served by `runners` tasks running `run` (while one commits, the next
/// gathers).
pub(super) fn serve<T, F, Fut>(capacity: usize, runners: usize, run: F) -> mpsc::Sender<T>
where
    T: Send + 'static,
    F: Fn(Shared<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(capacity);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..runners.max(1) {
        tokio::spawn(run(rx.clone()));
    }
    tx
}

/// The next group: the first request (waiting for it), then whatever is already queued until
/// `full` says the group is full. `None` once every sender is gone.
pub(super) async fn next_group<T>(rx: &Shared<T>, full: impl Fn(&[T]) -> bool) -> Option<Vec<T>> {
    let mut rx = rx.lock().await;
    let mut group = vec![rx.recv().await?];
    while !full(&group) {
        let Ok(next) = rx.try_recv() else { break };
        group.push(next);
    }
    Some(group)
}
