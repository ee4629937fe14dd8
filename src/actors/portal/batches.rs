//! A portal's due jobs grouped into calls: the sends, statuses, updates and deletes of a line
//! share one imconnector call (up to 50 items) as long as none overtakes a job it must follow.

use std::collections::HashMap;

use crate::{relay::jobs::Job, store::jobs};

/// At most this many items per imconnector call (Bitrix24 batches are ≤ 50).
const BATCH: usize = 50;

/// One call's worth of jobs.
pub(super) struct Batch<'a> {
    pub(super) jobs: Vec<(&'a entity::jobs::Model, Job)>,
}

impl Batch<'_> {
    pub(super) fn keys(&self) -> impl Iterator<Item = &str> {
        self.jobs.iter().map(|(m, _)| m.queue_key.as_str())
    }
}

pub(super) fn make_batches<'a>(runnable: &[&'a entity::jobs::Model]) -> Vec<Batch<'a>> {
    let mut batches: Vec<Batch<'a>> = Vec::new();
    // (batch index, group key) of open groups that can take more items.
    let mut open: Vec<(usize, String)> = Vec::new();
    // The batch of each order key's latest job: a job may not join a batch before it, or it
    // would overtake a job it must follow. For a chat's sends, updates and deletes that is the
    // chat's queue; a status only has to follow the earlier status of its own message ("read"
    // after "delivered"), so the statuses of many messages still share two calls.
    let mut last_of: HashMap<String, usize> = HashMap::new();
    for &m in runnable {
        let job = match jobs::decode(m) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(job = m.id, error = %e, "undecodable job skipped");
                continue;
            }
        };
        let order_key = match &job {
            Job::B24Status { message_id, .. } => format!("status-of:{message_id}"),
            _ => m.queue_key.clone(),
        };
        let floor = last_of.get(&order_key).copied().unwrap_or(0);
        let group = match &job {
            Job::B24SendMessage { line, .. } => Some(format!("send:{line}")),
            Job::B24Status { line, reading, .. } => Some(format!("status:{line}:{reading}")),
            Job::B24UpdateMessage { line, .. } => Some(format!("update:{line}")),
            Job::B24DeleteMessage { line, .. } => Some(format!("delete:{line}")),
            _ => None,
        };
        if let Some(g) = &group {
            if let Some((idx, _)) = open
                .iter()
                .find(|(i, k)| *i >= floor && k == g && batches[*i].jobs.len() < BATCH)
            {
                let idx = *idx;
                batches[idx].jobs.push((m, job));
                last_of.insert(order_key, idx);
                continue;
            }
            open.push((batches.len(), g.clone()));
        }
        last_of.insert(order_key, batches.len());
        batches.push(Batch {
            jobs: vec![(m, job)],
        });
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, queue: &str, j: &Job) -> entity::jobs::Model {
        entity::jobs::Model {
            id,
            owner: "portal:1".into(),
            queue_key: queue.into(),
            kind: j.kind().into(),
            payload: serde_json::to_string(j).unwrap_or_default(),
            status: jobs::PENDING.into(),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
            created_at: 0,
            updated_at: 0,
            trace_id: None,
            origin_at: None,
        }
    }

    fn status(message_id: i64, reading: bool) -> Job {
        Job::B24Status {
            message_id,
            line: "1".into(),
            reading,
            item: serde_json::json!({}),
        }
    }

    /// The batches `rows` would go out in.
    fn batches_of(rows: &[entity::jobs::Model]) -> Vec<Batch<'_>> {
        let refs: Vec<&entity::jobs::Model> = rows.iter().collect();
        make_batches(&refs)
    }

    /// The order in which jobs would reach Bitrix24: batch by batch.
    fn sent_order(rows: &[entity::jobs::Model]) -> Vec<i64> {
        batches_of(rows)
            .iter()
            .flat_map(|b| b.jobs.iter().map(|(m, _)| m.id))
            .collect()
    }

    /// Jobs 1 and 2, chat 1's read of a message and delivered of the next one; then `third`.
    fn chat1_then(third: entity::jobs::Model) -> [entity::jobs::Model; 3] {
        [
            job(1, "chat:1", &status(10, true)),
            job(2, "chat:1", &status(11, false)),
            third,
        ]
    }

    #[test]
    fn a_read_never_goes_ahead_of_its_delivered() {
        // chat 1: read of m0, then delivered and read of m1 (read came first from WhatsApp).
        let rows = chat1_then(job(3, "chat:1", &status(11, true)));
        assert_eq!(sent_order(&rows), [1, 2, 3]);
        // Many messages' statuses still take two calls.
        let rows: Vec<_> = (0..10)
            .flat_map(|i| {
                [
                    job(2 * i, "chat:1", &status(i, false)),
                    job(2 * i + 1, "chat:1", &status(i, true)),
                ]
            })
            .collect();
        assert_eq!(batches_of(&rows).len(), 2);
    }

    #[test]
    fn a_chats_sends_and_updates_keep_their_order() {
        let send = |id| Job::B24SendMessage {
            message_id: id,
            chat_id: 1,
            line: "1".into(),
            item: serde_json::json!({}),
        };
        let update = Job::B24UpdateMessage {
            line: "1".into(),
            item: serde_json::json!({}),
        };
        let rows = [
            job(1, "chat:1", &send(10)),
            job(2, "chat:1", &update),
            job(3, "chat:1", &send(11)),
        ];
        assert_eq!(sent_order(&rows), [1, 2, 3]);
    }

    #[test]
    fn other_queues_still_share_batches() {
        let rows = chat1_then(job(3, "chat:2", &status(20, true)));
        let batches = batches_of(&rows);
        assert_eq!(batches.len(), 2, "chat 2's read rides with chat 1's");
        assert_eq!(
            batches[0]
                .jobs
                .iter()
                .map(|(m, _)| m.id)
                .collect::<Vec<_>>(),
            [1, 3]
        );
    }
}
