//! The run engine: submit → follow → collect, with at most N render jobs
//! in flight, every create idempotent, and the state on disk (results file
//! + journal) always consistent.
//!
//! One coordinator owns all state; creates, status calls, detail fetches
//! and downloads are futures it polls, which report back as messages. That
//! keeps the bookkeeping single-threaded and makes the order of journal
//! writes obvious: an intent is fsynced before its create future exists.
//!
//! Each phase is a file, its decisions pure functions with unit tests:
//! [`reconcile`] (previous results + plan + journal → what to do),
//! [`submit`] (launch, classify create outcomes), [`follow`] and [`poll`]
//! (when to ask, what an answer means), [`limit`] (jobs in flight),
//! [`collect`] (details and downloads), [`ledger`] (entries and writing).
//! This file keeps the drive loop.

mod collect;
pub mod download;
pub mod events;
mod follow;
mod ledger;
pub mod limit;
pub mod poll;
mod reconcile;
mod submit;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::heygen::client::Counters;
use crate::heygen::wire::VideoDetail;
use crate::heygen::{Client, Error, RetryNotice, RetryPolicy};
use crate::plan::PlannedJob;
use crate::results::journal::{self, Journal, Record, Replayed, journal_path};
use crate::results::{Entry, EntryStatus, ResultsFile, Summary};

pub use events::{Event, EventSink, NullSink, Progress};
use limit::InFlightLimit;
use poll::PollSchedule;

/// Results rewrites take at most 1 / this of a run's wall time (each waits
/// this many times as long as the last one took; the journal holds every
/// change in between). A 100,000-row file takes ~0.3 s to rewrite, so
/// late in such a run it is rewritten every ~20 s.
const CHECKPOINT_RATIO: u32 = 60;

/// Most answers handled in one turn of the drive loop before it launches.
const READY_BATCH: usize = 256;

use ledger::Entries;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Most render jobs in flight.
    pub concurrency: usize,
    /// Stop launching when this run's estimated spend would pass this.
    pub max_cost_usd: Option<f64>,
    /// Download finished videos (when the manifest names a path).
    pub download: bool,
    /// Also download SRT captions.
    pub captions: bool,
    /// Longest wait between status checks of a job.
    pub poll_every: Duration,
    /// Shortest wait between status calls.
    pub min_poll_gap: Duration,
    /// Stop waiting after this long; unfinished videos stay "rendering".
    pub timeout: Duration,
    /// Submit nothing; only follow videos already accepted (`status`).
    pub follow_only: bool,
    /// With `follow_only`: keep following until every video is done
    /// (otherwise one pass).
    pub wait: bool,
    /// Downloads at once.
    pub download_concurrency: usize,
    /// Retry policy for creates (429 is left to the engine).
    pub create_retry: RetryPolicy,
    /// Stop (exit 11) after this long with nothing but connection
    /// failures: an outage is not a wait.
    pub outage_after: Duration,
    /// Least gap between two rewrites of the results file (the journal
    /// holds every change in between).
    pub checkpoint_every: Duration,
    /// What a status call is worth, as a share of a render (see
    /// [`poll`]): lower finds finished jobs sooner at more calls.
    pub poll_call_worth: f64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 8,
            max_cost_usd: None,
            download: true,
            captions: false,
            poll_every: Duration::from_secs(30),
            min_poll_gap: Duration::from_millis(200),
            timeout: Duration::from_secs(3600),
            follow_only: false,
            wait: true,
            download_concurrency: 4,
            create_retry: RetryPolicy { retry_rate_limited: false, ..RetryPolicy::default() },
            outage_after: Duration::from_secs(300),
            checkpoint_every: Duration::from_secs(5),
            poll_call_worth: poll::DEFAULT_CALL_WORTH,
        }
    }
}

/// What a run works on.
#[derive(Debug)]
pub struct RunInput {
    /// Campaign name (part of Idempotency-Keys).
    pub campaign: String,
    /// Account the videos are made with.
    pub account: String,
    /// `I/N` for a shard.
    pub shard: Option<String>,
    /// Every job of the run, planned against the previous results.
    pub jobs: Vec<PlannedJob>,
    /// The previous results (for this file).
    pub previous: Option<ResultsFile>,
    /// Keys of previous entries no longer in the data.
    pub orphans: Vec<String>,
    /// The results file.
    pub results_path: PathBuf,
    /// Folder download paths are relative to.
    pub base_dir: PathBuf,
    /// Resubmit failed rows.
    pub retry_failed: bool,
    /// The campaign folder new videos are filed in (`output.folder`):
    /// videos in flight are followed by listing it (see [`follow`]).
    /// `None` falls back to the folder of the previous results' header.
    pub folder_id: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything done.
    Finished,
    /// Done, but some videos failed or were refused.
    JobsFailed,
    /// Every video rendered, but some files could not be downloaded (the
    /// next `run` or `status` fetches them).
    FilesMissing,
    /// The timeout passed with videos still rendering.
    TimedOut,
    /// Stopped launching: out of credit or the cost cap.
    CreditStop,
    /// Stopped by Ctrl-C.
    Interrupted,
    /// The credential stopped working.
    AuthFailed,
    /// HeyGen could not be reached for `outage_after`: stopped, state
    /// intact.
    Unreachable,
    /// The journal could not be written, so nothing more was sent.
    StateError,
}

impl Outcome {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::JobsFailed => "jobs_failed",
            Outcome::FilesMissing => "files_missing",
            Outcome::TimedOut => "timed_out",
            Outcome::CreditStop => "credit_stop",
            Outcome::Interrupted => "interrupted",
            Outcome::AuthFailed => "auth_failed",
            Outcome::Unreachable => "unreachable",
            Outcome::StateError => "state_error",
        }
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The results as written.
    pub results: ResultsFile,
    /// Spent in this run (completed videos at HeyGen's rates), USD.
    pub spent_usd: f64,
    /// Creates accepted in this run.
    pub accepted: u64,
    /// 429s received in this run, every endpoint.
    pub rate_limited: u64,
    /// API requests sent in this run (every attempt, every endpoint).
    pub requests: u64,
    /// Status calls made.
    pub status_calls: u64,
    /// Detail calls made.
    pub detail_calls: u64,
    /// Rows whose video rendered but whose file is not on disk.
    pub missing_files: u64,
    /// Time spent writing state: journal appends and results rewrites.
    pub state_time: Duration,
    /// The part of `state_time` spent at checkpoints (results rewrites and
    /// journal compactions).
    pub checkpoint_time: Duration,
    /// Checkpoints written (the final write included).
    pub checkpoints: u64,
    /// Journal flushes of intents: creates launched together share one.
    pub intent_flushes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Rows whose create outcome stays unknown (resolved by the next run).
    pub unresolved: Vec<String>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
}

/// Why a run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The journal cannot be read or opened: nothing was sent.
    #[error("cannot {action} the journal {}", path.display())]
    Journal {
        /// `read` or `open`.
        action: &'static str,
        /// The journal's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The results file could not be written at the end of the run; the
    /// journal still holds what happened, and the next run replays it.
    #[error("cannot write the results file {}", path.display())]
    Results {
        /// The results file's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Where a job stands in this run.
#[derive(Debug, Clone)]
enum Phase {
    /// Nothing to do.
    Idle,
    /// Waiting to be submitted.
    Queued,
    /// Its create is on the wire since `sent`.
    Creating { sent: Instant },
    /// Accepted, rendering (boxed: at most the jobs in flight are, and
    /// every slot of a large campaign would carry its size).
    Rendering(Box<Rendering>),
    /// Terminal; fetching details or downloading.
    Finishing,
}

/// A job HeyGen accepted, while it renders.
#[derive(Debug, Clone)]
struct Rendering {
    video_id: String,
    accepted: Instant,
    /// When a status call (its send time) last found it unfinished;
    /// `None`: not asked yet in this run.
    checked: Option<Instant>,
    last_miss: Option<Instant>,
    last_status: String,
    /// Accepted in this run, so its render time is worth learning from.
    learn: bool,
}

impl Phase {
    fn rendering(
        video_id: String,
        accepted: Instant,
        checked: Option<Instant>,
        learn: bool,
    ) -> Phase {
        Phase::Rendering(Box::new(Rendering {
            video_id,
            accepted,
            checked,
            last_miss: None,
            last_status: if learn { "waiting".into() } else { String::new() },
            learn,
        }))
    }
}

struct Slot {
    /// The create and its identity while it may still be sent; dropped
    /// once accepted (request bodies are most of a large campaign's memory).
    pending: Option<Box<submit::Pending>>,
    /// A row of the plan (not an orphan followed to its end).
    planned: bool,
    estimate: crate::pricing::Estimate,
    download: Option<PathBuf>,
    key: String,
    phase: Phase,
    /// A create for this slot was sent and its outcome is not known.
    unanswered: bool,
    create_failures: u32,
    detail_failures: u32,
    download_failures: u32,
    /// Holds one of the download pool's places.
    download_token: bool,
}

enum Msg {
    Created {
        slot: usize,
        result: Result<String, Error>,
        took: Duration,
    },
    Statuses {
        sent: Instant,
        took: Duration,
        slots: Vec<usize>,
        result: Result<follow::Answers, Error>,
    },
    Details {
        slot: usize,
        result: Box<Result<VideoDetail, Error>>,
        then_download: bool,
    },
    Downloaded {
        slot: usize,
        fetched: Box<collect::Fetched>,
    },
}

type Work<'a> = FuturesUnordered<Pin<Box<dyn std::future::Future<Output = Msg> + Send + 'a>>>;

/// A run in progress.
struct Coordinator<'a> {
    client: &'a Client,
    opts: RunOptions,
    input_base: PathBuf,
    results_path: PathBuf,
    journal: Option<Journal>,
    /// Intents of earlier runs this run cannot resolve (rows changed or
    /// gone): kept in the journal across compactions.
    stale_intents: Vec<Record>,
    /// The results file's header (campaign, account, shard).
    results: ResultsFile,
    entries: Entries,
    summary: Summary,
    slots: Vec<Slot>,
    queue: VecDeque<usize>,
    limit: InFlightLimit,
    schedule: PollSchedule,
    /// Jobs counted against the limit: creates on the wire + rendering.
    in_flight: usize,
    /// Slots rendering (index, so following is O(in flight)).
    rendering: BTreeSet<usize>,
    creating: usize,
    finishing: usize,
    polling: bool,
    last_poll: Option<Instant>,
    next_poll: Option<Instant>,
    poll_failures: u32,
    poll_backoff_until: Option<Instant>,
    read_latency: Option<Duration>,
    /// The campaign folder, when videos are followed by listing it.
    folder: Option<String>,
    /// What the last folder listing cost (decides listing vs statuses).
    listing: Option<follow::ListingCost>,
    create_latency: Option<Duration>,
    /// Since when nothing but connection failures came back.
    unreachable_since: Option<Instant>,
    /// Creates that got no answer at all, in a row.
    create_failures_in_row: u32,
    /// No create leaves before this (HeyGen was unreachable).
    create_backoff_until: Option<Instant>,
    downloads_active: usize,
    download_queue: VecDeque<usize>,
    ready_downloads: VecDeque<collect::ReadyDownload>,
    sink: &'a mut dyn EventSink,
    started: Instant,
    deadline: Instant,
    stop_reason: Option<(String, String, Outcome)>,
    committed_usd: f64,
    spent_usd: f64,
    accepted: u64,
    status_calls: u64,
    detail_calls: u64,
    failed_this_run: u64,
    done_this_run: u64,
    total_to_submit: u64,
    counters_at_start: Counters,
    /// Entries changed since the results file was last written.
    changed: bool,
    /// Why the last results write failed, until one succeeds.
    write_failed: Option<std::io::Error>,
    checkpoints: ledger::Checkpoints,
    state_time: Duration,
    checkpoint_time: Duration,
    checkpoint_count: u64,
    intent_flushes: u64,
    warnings: Vec<String>,
    retry_rx: Option<mpsc::UnboundedReceiver<RetryNotice>>,
}

/// Runs `input` to completion (or timeout, credit stop, interrupt, outage).
pub async fn run(
    client: &Client,
    input: RunInput,
    opts: RunOptions,
    sink: &mut dyn EventSink,
    retries: Option<mpsc::UnboundedReceiver<RetryNotice>>,
    mut interrupt: watch::Receiver<bool>,
) -> Result<RunReport, EngineError> {
    let jpath = journal_path(&input.results_path);
    let records = Journal::read(&jpath).map_err(|source| EngineError::Journal {
        action: "read",
        path: jpath.clone(),
        source,
    })?;
    let journal = Journal::open(&jpath).map_err(|source| EngineError::Journal {
        action: "open",
        path: jpath.clone(),
        source,
    })?;
    let now = Instant::now();
    let mut c = Coordinator {
        client,
        input_base: input.base_dir.clone(),
        results_path: input.results_path.clone(),
        journal: Some(journal),
        stale_intents: Vec::new(),
        results: ResultsFile::new(&input.campaign, &input.account, input.shard.clone()),
        entries: Entries::default(),
        summary: Summary::default(),
        slots: Vec::new(),
        queue: VecDeque::new(),
        limit: InFlightLimit::new(opts.concurrency),
        schedule: PollSchedule::new(opts.min_poll_gap, opts.poll_every)
            .with_call_worth(opts.poll_call_worth),
        in_flight: 0,
        rendering: BTreeSet::new(),
        creating: 0,
        finishing: 0,
        polling: false,
        last_poll: None,
        next_poll: None,
        poll_failures: 0,
        poll_backoff_until: None,
        read_latency: None,
        folder: input
            .folder_id
            .clone()
            .or_else(|| {
                input.previous.as_ref().and_then(|p| p.folder.as_ref()).map(|f| f.id.clone())
            })
            .filter(|f| !f.is_empty()),
        listing: None,
        create_latency: None,
        unreachable_since: None,
        create_failures_in_row: 0,
        create_backoff_until: None,
        downloads_active: 0,
        download_queue: VecDeque::new(),
        ready_downloads: VecDeque::new(),
        sink,
        started: now,
        // A timeout too large for the clock means "no timeout".
        deadline: now
            .checked_add(opts.timeout)
            .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
        stop_reason: None,
        committed_usd: 0.0,
        spent_usd: 0.0,
        accepted: 0,
        status_calls: 0,
        detail_calls: 0,
        failed_this_run: 0,
        done_this_run: 0,
        total_to_submit: 0,
        counters_at_start: client.counters(),
        changed: true,
        write_failed: None,
        checkpoints: ledger::Checkpoints::new(now, opts.checkpoint_every, CHECKPOINT_RATIO),
        state_time: Duration::ZERO,
        checkpoint_time: Duration::ZERO,
        checkpoint_count: 0,
        intent_flushes: 0,
        warnings: Vec::new(),
        retry_rx: retries,
        opts,
    };
    c.prepare(input, records);
    let mut work: Work<'_> = FuturesUnordered::new();
    c.emit_planned();
    let outcome = c.drive(&mut work, &mut interrupt).await;
    drop(work);
    c.finish(outcome)
}

impl<'a> Coordinator<'a> {
    /// Builds the slots from the previous results, the plan and the journal.
    fn prepare(&mut self, input: RunInput, records: Vec<Record>) {
        let now = Instant::now();
        let mut previous = input.previous;
        if let Some(prev) = &previous {
            // The campaign folder and uploads carry over to the new results.
            self.results.carry_state(prev);
        }
        // Outcomes the journal holds beyond the results file's last rewrite.
        if let Some(prev) = &mut previous {
            let mut by_key: BTreeMap<String, Entry> =
                std::mem::take(&mut prev.entries).into_iter().map(|e| (e.key.clone(), e)).collect();
            journal::apply_all(&mut by_key, &records);
            prev.entries = by_key.into_values().collect();
        }
        let replayed = Journal::replay(records);
        let settings = reconcile::Settings {
            campaign: &input.campaign,
            follow_only: self.opts.follow_only,
            download: self.opts.download,
            retry_failed: input.retry_failed,
        };
        let base = self.input_base.clone();
        // Intents this run will not resend keep the journal alive (the
        // map is built only when there are unanswered intents at all).
        let unanswered = replayed.values().any(|r| matches!(r, Replayed::Unanswered { .. }));
        let plan_hashes: std::collections::HashMap<&str, &str> = if unanswered {
            input.jobs.iter().map(|j| (j.job.key.as_str(), j.hash.as_str())).collect()
        } else {
            Default::default()
        };
        for (key, r) in &replayed {
            if let Replayed::Unanswered { hash, idempotency_key, path, body } = r
                && plan_hashes.get(key.as_str()) != Some(&hash.as_str())
            {
                self.stale_intents.push(Record::Intent {
                    key: key.clone(),
                    hash: hash.clone(),
                    idempotency_key: idempotency_key.clone(),
                    path: path.clone(),
                    body: body.clone(),
                    at: crate::results::now_rfc3339(),
                });
            }
        }
        drop(plan_hashes);
        self.slots.reserve_exact(input.jobs.len());
        let out = reconcile::reconcile_each(
            settings,
            previous,
            input.jobs,
            &input.orphans,
            replayed,
            |e, p| ledger::file_present(&base, e, p),
            |row| self.add_slot(row, now),
        );
        self.entries = out.entries;
        self.warnings.extend(out.warnings);
    }

    /// Takes on a reconciled row.
    fn add_slot(&mut self, row: reconcile::Row, now: Instant) {
        let slot = self.slots.len();
        let phase = match row.start {
            reconcile::Start::Idle => Phase::Idle,
            reconcile::Start::Queue => {
                self.queue.push_back(slot);
                self.total_to_submit += 1;
                Phase::Queued
            }
            reconcile::Start::Follow(v) => {
                self.in_flight += 1;
                Phase::rendering(v, now, None, false)
            }
            reconcile::Start::Collect => {
                self.download_queue.push_back(slot);
                Phase::Finishing
            }
        };
        let queued = matches!(phase, Phase::Queued) || row.unanswered;
        let (planned, estimate, download, pending) = match row.job {
            Some(j) => {
                let pending = j.create.filter(|_| queued).map(|create| {
                    Box::new(submit::Pending {
                        hash: j.hash,
                        idempotency_key: row.idempotency_key,
                        create,
                    })
                });
                (true, j.estimate, j.download, pending)
            }
            None => (false, Default::default(), None, None),
        };
        self.slots.push(Slot {
            pending,
            planned,
            estimate,
            download,
            key: row.key,
            phase: Phase::Idle,
            unanswered: row.unanswered,
            create_failures: 0,
            detail_failures: 0,
            download_failures: 0,
            download_token: false,
        });
        self.set_phase(slot, phase);
    }

    /// Changes a slot's phase, keeping the indexes in step.
    fn set_phase(&mut self, slot: usize, phase: Phase) {
        match self.slots[slot].phase {
            Phase::Creating { .. } => self.creating -= 1,
            Phase::Rendering(_) => {
                self.rendering.remove(&slot);
            }
            Phase::Finishing => self.finishing -= 1,
            Phase::Idle | Phase::Queued => {}
        }
        match phase {
            Phase::Creating { .. } => self.creating += 1,
            Phase::Rendering(_) => {
                self.rendering.insert(slot);
            }
            Phase::Finishing => self.finishing += 1,
            Phase::Idle | Phase::Queued => {}
        }
        if matches!(phase, Phase::Rendering(_))
            || matches!(self.slots[slot].phase, Phase::Rendering(_))
        {
            self.next_poll = None;
        }
        self.slots[slot].phase = phase;
    }

    /// Jobs accepted and not seen finished.
    fn rendering_count(&self) -> usize {
        self.rendering.len()
    }

    /// An answer came from HeyGen (`transport_failure`: none came at all).
    fn reachable(&mut self, now: Instant, transport_failure: bool) {
        if transport_failure {
            self.unreachable_since.get_or_insert(now);
        } else {
            self.unreachable_since = None;
        }
    }

    fn emit(&mut self, e: Event) {
        self.sink.event(&e);
    }

    fn emit_planned(&mut self) {
        // An empty f64 sum is -0.0; start from +0.0 so "$0.00" prints.
        let est: f64 = self
            .queue
            .iter()
            .filter(|&&i| self.slots[i].pending.is_some())
            .map(|&i| self.slots[i].estimate.usd)
            .fold(0.0, |a, b| a + b);
        let e = Event::Planned {
            rows: self.slots.iter().filter(|s| s.planned).count() as u64,
            to_submit: self.queue.len() as u64,
            to_follow: self.rendering.len() as u64,
            estimated_usd: ledger::round4(est),
            concurrency: self.limit.current(),
        };
        self.emit(e);
    }

    fn progress(&self) -> Progress {
        Progress {
            queued: self.queue.len() as u64,
            submitting: self.creating as u64,
            rendering: self.rendering.len() as u64,
            done: self.done_this_run,
            failed: self.failed_this_run,
            limit: self.limit.current(),
            spent_usd: self.spent_usd,
            elapsed: self.started.elapsed(),
            total: self.total_to_submit,
        }
    }

    async fn drive(
        &mut self,
        work: &mut Work<'a>,
        interrupt: &mut watch::Receiver<bool>,
    ) -> Outcome {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut interrupted = *interrupt.borrow();
        loop {
            self.drain_retries();
            let now = Instant::now();
            if interrupted && self.stop_reason.is_none() {
                self.stop(
                    "interrupted",
                    "stopped by Ctrl-C: no new jobs are launched",
                    Outcome::Interrupted,
                );
            }
            if now >= self.deadline && self.stop_reason.is_none() && !self.queue.is_empty() {
                self.stop(
                    "timed_out",
                    "the run's timeout passed: no new jobs are launched",
                    Outcome::TimedOut,
                );
            }
            if let Some(since) = self.unreachable_since
                && now.saturating_duration_since(since) >= self.opts.outage_after
            {
                let msg = format!(
                    "HeyGen could not be reached for {}; stopping with the state saved: `reelflow status --wait` picks up where this run stopped",
                    humantime::format_duration(Duration::from_secs(
                        self.opts.outage_after.as_secs()
                    ))
                );
                self.stop("unreachable", &msg, Outcome::Unreachable);
                return Outcome::Unreachable;
            }
            if matches!(&self.stop_reason, Some((_, _, Outcome::StateError))) {
                return Outcome::StateError;
            }
            self.launch(work, now);
            self.poll_if_due(work, now);
            self.start_downloads(work);
            self.flush_if_due(now, false);
            let creating = self.creating > 0;
            let rendering = !self.rendering.is_empty();
            let finishing = !self.download_queue.is_empty()
                || !self.ready_downloads.is_empty()
                || self.finishing > 0;
            let launching = !self.queue.is_empty() && self.stop_reason.is_none();
            if !creating && !finishing && work.is_empty() {
                if !launching && !rendering {
                    return self.natural_outcome();
                }
                if interrupted {
                    return Outcome::Interrupted;
                }
                if self.opts.follow_only
                    && !self.opts.wait
                    && !self.polling
                    && self.status_calls > 0
                {
                    return Outcome::TimedOut;
                }
            }
            if now >= self.deadline && !creating && !finishing {
                return Outcome::TimedOut;
            }
            let wake = self.next_wake(now);
            tokio::select! {
                msg = work.next(), if !work.is_empty() => {
                    if let Some(m) = msg {
                        self.handle(m, work);
                    }
                    // Answers already in are handled before launching
                    // again, so the creates they free share one journal
                    // flush (see `launch`).
                    for _ in 0..READY_BATCH {
                        match work.next().now_or_never() {
                            Some(Some(m)) => self.handle(m, work),
                            _ => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
                _ = tick.tick() => {
                    let p = self.progress();
                    self.sink.tick(&p);
                }
                changed = interrupt.changed(), if !interrupted => {
                    interrupted = changed.is_err() || *interrupt.borrow();
                }
            }
        }
    }

    fn natural_outcome(&self) -> Outcome {
        if let Some((_, _, o)) = &self.stop_reason {
            return *o;
        }
        // A video whose details never came back is still counted rendering.
        let unfinished = self.slots.iter().any(|s| {
            s.planned
                && self.entries.get(&s.key).is_some_and(|e| e.status == EntryStatus::Rendering)
        });
        if unfinished {
            Outcome::TimedOut
        } else if self.failed_this_run > 0 {
            Outcome::JobsFailed
        } else {
            Outcome::Finished
        }
    }

    fn next_wake(&mut self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_secs(1);
        if self.deadline > now {
            wake = wake.min(self.deadline);
        }
        if let Some(t) = self.limit.paused_until(now) {
            wake = wake.min(t);
        }
        if let Some(t) = self.create_backoff_until.filter(|t| *t > now) {
            wake = wake.min(t);
        }
        if let Some(t) = self.next_poll(now) {
            wake = wake.min(t.max(now + Duration::from_millis(1)));
        }
        wake
    }

    fn drain_retries(&mut self) {
        let mut notices = Vec::new();
        if let Some(rx) = &mut self.retry_rx {
            while let Ok(n) = rx.try_recv() {
                notices.push(n);
            }
        }
        for n in notices {
            self.emit(Event::Retrying {
                request: n.request,
                error: n.error,
                delay_secs: n.delay.as_secs_f64(),
            });
        }
    }

    fn stop(&mut self, reason: &str, message: &str, outcome: Outcome) {
        if self.stop_reason.is_none() {
            self.stop_reason = Some((reason.into(), message.into(), outcome));
            self.emit(Event::Stopped { reason: reason.into(), message: message.into() });
        }
    }

    fn handle(&mut self, msg: Msg, work: &mut Work<'a>) {
        match msg {
            Msg::Created { slot, result, took } => self.on_created(slot, result, took),
            Msg::Statuses { sent, took, slots, result } => {
                self.on_statuses(sent, took, slots, result, work)
            }
            Msg::Details { slot, result, then_download } => {
                self.on_details(slot, *result, then_download, work)
            }
            Msg::Downloaded { slot, fetched } => self.on_downloaded(slot, *fetched, work),
        }
    }
}
