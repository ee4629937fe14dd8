//! The retention sweep: deletes what is past each tenant's retention (messages with their
//! transcripts and hops; media files; finished inbox items and jobs), and purges the data of
//! portals uninstalled with `CLEAN=1` once their grace period is over.
//!
//! Bounded and resumable: rows go by id in batches of `retention_batch`, one short transaction
//! each, so no lock is held long and a sweep cut off anywhere (a stop, a crash, `SIGKILL`) is
//! finished by the next. Files are deleted only after the transaction that marked their rows
//! `purging` committed, and a `purging` row left by a cut-off sweep has its file deleted first
//! thing next time (`store::retention`). Every node sweeps: deletes by id are idempotent and a
//! file already gone counts as deleted, so two nodes at once only repeat each other's work.
//! Unfinished work is never touched: chats with a pending job, messages whose transcript is not
//! yet applied, files a pending send or transcription uses, unprocessed inbox items, pending
//! jobs (all of these only go in an uninstall's purge, when nothing will run them any more).

use std::{collections::BTreeMap, collections::HashMap, time::Duration};

use sea_orm::{DatabaseConnection, DbErr, EntityTrait, TransactionTrait};

use super::Ctx;
use crate::{
    billing::{plans, Plan},
    config::Settings,
    media::MediaStore,
    metrics,
    store::{
        jobs::TRANSCRIBER_OWNER,
        retention::{self as rows, Batch, Found, JobScope, Table},
    },
};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Finished inbox items deduplicate providers' redeliveries (Meta retries for days): never
/// fewer days than this.
const MIN_WORK_DAYS: u32 = 7;
/// Chats taken at once by an uninstall's purge.
const PURGE_CHATS: u64 = 50;
/// What a purge's last transaction takes of what arrived after its batches (a few rows at most).
const LEFTOVERS: u64 = 1_000;

/// One sweep over the database and the media store.
pub struct Sweep<'a> {
    pub db: &'a DatabaseConnection,
    pub media: &'a dyn MediaStore,
    pub settings: &'a Settings,
    pub plans: &'a BTreeMap<String, Plan>,
    /// Checked between batches: `true` ends the sweep there (the node is stopping).
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Rows deleted, by table (`metrics::TABLE_*`).
    pub rows: BTreeMap<&'static str, u64>,
    /// Files deleted from the media store.
    pub files: u64,
    /// Transactions committed.
    pub batches: usize,
    /// `false`: stopped early (its batch budget, or the node stopping); the next sweep goes on.
    pub finished: bool,
}

impl Report {
    pub fn rows(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }
}

/// The retention that applies to a tenant, in days (`0`: for ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub messages_days: u32,
    pub media_days: u32,
}

impl Policy {
    /// A tenant's retention: its own choice, else the configured default, within its plan.
    pub fn of(
        settings: &Settings,
        plan: Option<&Plan>,
        tenant: Option<&entity::tenants::Model>,
    ) -> Self {
        Self {
            messages_days: plans::retention_days(
                tenant.and_then(|t| t.retention_messages_days),
                settings.retention_messages_days,
                plan.and_then(|p| p.max_retention_messages_days),
            ),
            media_days: plans::retention_days(
                tenant.and_then(|t| t.retention_media_days),
                settings.retention_media_days,
                plan.and_then(|p| p.max_retention_media_days),
            ),
        }
    }

    /// Days finished inbox items and jobs are kept: the configured days, or the message
    /// retention when shorter (they carry the messages' text), never under a week.
    fn work_days(&self, settings: &Settings) -> u32 {
        let days = match (settings.retention_work_days, self.messages_days) {
            (0, m) => m,
            (w, 0) => w,
            (w, m) => w.min(m),
        };
        if days == 0 {
            0
        } else {
            days.max(MIN_WORK_DAYS)
        }
    }
}

/// `now` minus `days` (`None`: kept for ever).
fn cutoff(now: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now - i64::from(days) * DAY_MS)
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

/// Where a sweep stands: its report and its batch budget.
struct Pass<'s, 'a> {
    sweep: &'s Sweep<'a>,
    now: i64,
    batch: u64,
    budget: Option<usize>,
    report: Report,
}

/// Why a pass stops short of its end.
enum Halt {
    /// The batch budget is spent or the node is stopping: the sweep ends here.
    Stop,
    /// A portal's purge ends here (the portal was installed again, or its chats could not be
    /// deleted); the sweep goes on with the next portal.
    PurgeCancelled,
    Db(DbErr),
}

impl From<DbErr> for Halt {
    fn from(e: DbErr) -> Self {
        Halt::Db(e)
    }
}

type Step = Result<(), Halt>;

impl Sweep<'_> {
    /// Runs the sweep as of `now` (epoch ms; tests pass a later time instead of waiting),
    /// committing at most `max_batches` transactions when given.
    pub async fn run(&self, now: i64, max_batches: Option<usize>) -> Result<Report, SweepError> {
        let mut pass = Pass {
            sweep: self,
            now,
            batch: self.settings.retention_batch.max(1),
            budget: max_batches,
            report: Report::default(),
        };
        pass.report.finished = match pass.all().await {
            // (`all` takes a purge's own end, at its portal.)
            Ok(()) | Err(Halt::PurgeCancelled) => true,
            Err(Halt::Stop) => false,
            Err(Halt::Db(e)) => return Err(e.into()),
        };
        match rows::stored_bytes(self.db).await {
            Ok(bytes) => metrics::media_store_bytes(bytes),
            Err(e) => tracing::warn!(error = %e, "media store size not read"),
        }
        Ok(pass.report)
    }
}

/// The metric a table's deleted rows count under.
fn table_metric(table: Table) -> &'static str {
    match table {
        Table::Inbox => metrics::TABLE_INBOX,
        Table::Jobs => metrics::TABLE_JOBS,
    }
}

impl Pass<'_, '_> {
    fn db(&self) -> &DatabaseConnection {
        self.sweep.db
    }

    /// Counts a committed batch; [`Halt::Stop`] once the budget is spent or the node is stopping.
    fn tick(&mut self) -> Step {
        self.report.batches += 1;
        if self.budget.is_some_and(|b| self.report.batches >= b) || (self.sweep.stop)() {
            return Err(Halt::Stop);
        }
        Ok(())
    }

    fn count(&mut self, table: &'static str, n: u64) {
        if n > 0 {
            *self.report.rows.entry(table).or_default() += n;
            metrics::rows_purged(table, n);
        }
    }

    async fn all(&mut self) -> Step {
        // What a cut-off sweep left half done first.
        self.finish_files().await?;
        let portals = rows::live_portals(self.db()).await?;
        let tenants: HashMap<i64, entity::tenants::Model> = entity::tenants::Entity::find()
            .all(self.db())
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        for p in &portals {
            if rows::purge_due(self.db(), p.id, self.now).await? {
                match self.purge_portal(p.id).await {
                    Ok(()) | Err(Halt::PurgeCancelled) => continue,
                    Err(halt) => return Err(halt),
                }
            }
            let tenant = p.tenant_id.and_then(|id| tenants.get(&id));
            let plan = tenant.and_then(|t| self.sweep.plans.get(&t.plan));
            let policy = Policy::of(self.sweep.settings, plan, tenant);
            self.portal(p.id, policy).await?;
        }
        let work = Policy {
            messages_days: 0,
            media_days: 0,
        }
        .work_days(self.sweep.settings);
        if let Some(before) = cutoff(self.now, work) {
            // The transcriber's jobs (one owner for every tenant).
            let owners = [TRANSCRIBER_OWNER.to_string()];
            let batch = Batch::Jobs(JobScope::Finished(&owners), before);
            self.drain(batch, None).await?;
        }
        Ok(())
    }

    /// One portal's rows and files past its tenant's retention.
    async fn portal(&mut self, portal_id: i64, policy: Policy) -> Step {
        let numbers = rows::number_ids(self.db(), portal_id).await?;
        let owners = rows::owners(portal_id, &numbers);
        let work = cutoff(self.now, policy.work_days(self.sweep.settings));
        let batches = [
            cutoff(self.now, policy.messages_days).map(|t| Batch::MessagesBefore(&numbers, t)),
            cutoff(self.now, policy.media_days).map(|t| Batch::MediaBefore(&numbers, t)),
            work.map(|t| Batch::Inbox(&owners, t, false)),
            work.map(|t| Batch::Jobs(JobScope::Finished(&owners), t)),
        ];
        for batch in batches.into_iter().flatten() {
            self.drain(batch, None).await?;
        }
        Ok(())
    }

    /// Deletes what `batch` finds, a batch at a time, until nothing is left. With `purge`,
    /// before each batch: that portal must still be due its purge.
    async fn drain(&mut self, batch: Batch<'_>, purge: Option<i64>) -> Step {
        loop {
            if let Some(portal_id) = purge {
                self.still_due(portal_id).await?;
            }
            let found = rows::find(self.db(), batch, self.batch).await?;
            if found.is_empty() {
                return Ok(());
            }
            match found {
                Found::Messages(found) => self.delete_messages(&found).await?,
                Found::Media(ids) => {
                    rows::mark_purging(self.db(), &ids).await?;
                    self.tick()?;
                    self.finish_files().await?;
                }
                Found::Rows(table, ids) => {
                    let n = rows::delete_rows(self.db(), table, &ids).await?;
                    self.count(table_metric(table), n);
                    self.tick()?;
                }
            }
        }
    }

    /// Deletes messages (with hops, transcripts and, after the commit, their files).
    async fn delete_messages(&mut self, found: &[(i64, Option<i64>)]) -> Step {
        let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
        let files: Vec<i64> = found.iter().filter_map(|(_, f)| *f).collect();
        let txn = self.db().begin().await?;
        let removed = rows::delete_messages(&txn, &ids, &files).await?;
        txn.commit().await?;
        self.count(metrics::TABLE_MESSAGES, removed.messages);
        self.count(metrics::TABLE_TRANSCRIPTS, removed.transcripts);
        self.count(metrics::TABLE_HOPS, removed.hops);
        self.tick()?;
        self.finish_files().await
    }

    /// Deletes the files of rows marked `purging`, then finishes their rows.
    async fn finish_files(&mut self) -> Step {
        loop {
            let found = rows::purging(self.db(), self.batch).await?;
            if found.is_empty() {
                return Ok(());
            }
            let mut done = Vec::with_capacity(found.len());
            let mut failed = false;
            for (id, key, _size) in &found {
                if key.is_empty() {
                    done.push(*id);
                    continue;
                }
                match self.sweep.media.delete(key).await {
                    Ok(()) => {
                        done.push(*id);
                        self.report.files += 1;
                        metrics::files_purged(1);
                    }
                    Err(e) => {
                        // Left `purging`: the next sweep tries again.
                        tracing::warn!(media = id, error = %e, "media file not deleted");
                        failed = true;
                    }
                }
            }
            let n = rows::finish_purged(self.db(), &done).await?;
            self.count(metrics::TABLE_MEDIA, n);
            self.tick()?;
            if failed {
                // Not over and over within one sweep.
                return Ok(());
            }
        }
    }

    /// Portal `id` is still due its purge ([`Halt::PurgeCancelled`]: a reinstall cancelled it).
    async fn still_due(&self, id: i64) -> Step {
        if rows::purge_due(self.db(), id, self.now).await? {
            Ok(())
        } else {
            Err(Halt::PurgeCancelled)
        }
    }

    /// An uninstall with `CLEAN=1` whose grace period is over: every message, chat, file,
    /// inbox item, job and hop of the portal, and its numbers. The portal row stays (billing),
    /// marked purged.
    async fn purge_portal(&mut self, portal_id: i64) -> Step {
        let numbers = rows::number_ids(self.db(), portal_id).await?;
        let owners = rows::owners(portal_id, &numbers);
        let due = Some(portal_id);
        tracing::info!(
            portal = portal_id,
            "purging the data of an uninstalled portal"
        );
        loop {
            self.still_due(portal_id).await?;
            let chats = rows::chats_of_numbers(self.db(), &numbers, PURGE_CHATS).await?;
            if chats.is_empty() {
                break;
            }
            let queues = Batch::Jobs(JobScope::All(&[], &chats), i64::MAX);
            self.drain(queues, None).await?;
            self.drain(Batch::MessagesOfChats(&chats), due).await?;
            let n = rows::delete_empty_chats(self.db(), &chats).await?;
            self.count(metrics::TABLE_CHATS, n);
            self.tick()?;
            if n == 0 {
                tracing::warn!(
                    portal = portal_id,
                    "chats not purged; the next sweep tries again"
                );
                return Err(Halt::PurgeCancelled);
            }
        }
        let all_jobs = Batch::Jobs(JobScope::All(&owners, &[]), i64::MAX);
        let all_inbox = Batch::Inbox(&owners, i64::MAX, true);
        self.drain(all_jobs, due).await?;
        self.drain(all_inbox, due).await?;
        let n = rows::delete_purged_media_of_numbers(self.db(), &numbers).await?;
        self.count(metrics::TABLE_MEDIA, n);
        self.drain(Batch::MediaOfNumbers(&numbers), due).await?;
        let txn = self.db().begin().await?;
        if !rows::purge_due(&txn, portal_id, self.now).await? {
            return Err(Halt::PurgeCancelled);
        }
        // Anything stored for them since their batches (a transcript finishing meanwhile).
        let mut late = Vec::new();
        for batch in [all_inbox, all_jobs] {
            if let Found::Rows(table, ids) = rows::find(&txn, batch, LEFTOVERS).await? {
                late.push((table, rows::delete_rows(&txn, table, &ids).await?));
            }
        }
        let n = rows::delete_numbers(&txn, &numbers).await?;
        rows::mark_purged(&txn, portal_id, self.now).await?;
        txn.commit().await?;
        for (table, n) in late {
            self.count(table_metric(table), n);
        }
        self.count(metrics::TABLE_NUMBERS, n);
        tracing::info!(portal = portal_id, "uninstalled portal's data purged");
        self.tick()
    }
}

/// Starts the periodic sweep on this node: soon after start, then every
/// `retention_sweep_secs` (`0`: never, e.g. on nodes that leave it to others). It stops with
/// the node (between two batches).
pub fn start(services: Ctx) {
    if services.settings.retention_sweep_secs == 0 {
        return;
    }
    let every = Duration::from_secs(services.settings.retention_sweep_secs);
    actix::spawn(async move {
        let mut wait = every.min(Duration::from_secs(60));
        loop {
            actix::clock::sleep(wait).await;
            wait = every;
            let Some(_guard) = services.lifecycle.enter() else {
                return;
            };
            let stop = || services.lifecycle.is_stopping();
            let sweep = Sweep {
                db: &services.db,
                media: services.media.as_ref(),
                settings: &services.settings,
                plans: services.billing.plans(),
                stop: &stop,
            };
            match sweep.run(crate::store::now_ms(), None).await {
                Ok(r) if r.batches > 0 => tracing::info!(
                    rows = r.rows.values().sum::<u64>(),
                    files = r.files,
                    batches = r.batches,
                    finished = r.finished,
                    "retention sweep"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed; the next one goes on")
                }
            }
        }
    });
}
