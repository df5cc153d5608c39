//! The run engine: submit → poll → collect, with at most N render jobs in
//! flight, every create idempotent, and the journal and results file always
//! consistent on disk.
//!
//! One coordinator owns all state; creates, status calls, detail fetches
//! and downloads are futures it polls, which report back as messages. That
//! keeps the bookkeeping single-threaded and makes the order of journal
//! writes obvious: an intent is fsynced before its create future exists.

pub mod download;
pub mod events;
pub mod limit;
pub mod poll;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::heygen::wire::{StatusEntry, VideoDetail, VideoStatus};
use crate::heygen::{ApiErrorKind, Client, Error, RetryNotice, RetryPolicy};
use crate::plan::{Change, PlannedJob};
use crate::render::JobRequest;
use crate::results::journal::{Journal, Record, Replayed, journal_path};
use crate::results::{Entry, EntryError, EntryStatus, ResultsFile, now_rfc3339};

pub use events::{Event, EventSink, NullSink, Progress};
use limit::InFlightLimit;
use poll::PollSchedule;

/// The least time between two bulk status calls, whatever the schedule says.
const MIN_POLL_SPACING: Duration = Duration::from_millis(10);

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
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything done.
    Finished,
    /// Done, but some videos failed or were refused.
    JobsFailed,
    /// The timeout passed with videos still rendering.
    TimedOut,
    /// Stopped launching: out of credit or the cost cap.
    CreditStop,
    /// Stopped by Ctrl-C.
    Interrupted,
    /// The credential stopped working.
    AuthFailed,
    /// The journal could not be written, so nothing more was sent.
    StateError,
}

impl Outcome {
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::JobsFailed => "jobs_failed",
            Outcome::TimedOut => "timed_out",
            Outcome::CreditStop => "credit_stop",
            Outcome::Interrupted => "interrupted",
            Outcome::AuthFailed => "auth_failed",
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
    /// 429s received on creates.
    pub rate_limited: u64,
    /// Status calls made.
    pub status_calls: u64,
    /// Detail calls made.
    pub detail_calls: u64,
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
    /// The journal or results file cannot be read or written.
    #[error("{0}")]
    State(String),
}

/// Where a job stands in this run.
#[derive(Debug, Clone)]
enum Phase {
    /// Nothing to do.
    Idle,
    /// Waiting to be submitted.
    Queued,
    /// Its create is on the wire.
    Creating,
    /// Accepted, rendering.
    Rendering {
        video_id: String,
        accepted: Instant,
        next_check: Instant,
        misses: u32,
        last_miss: Option<Instant>,
        last_status: String,
        /// Accepted in this run, so its render time is worth learning from.
        learn: bool,
    },
    /// Terminal; fetching details or downloading.
    Finishing,
}

/// A finished video waiting for a place in the download pool.
struct ReadyDownload {
    slot: usize,
    rel: PathBuf,
    url: String,
    captions: Option<String>,
    video_id: String,
}

struct Slot {
    job: Option<PlannedJob>,
    key: String,
    idempotency_key: String,
    phase: Phase,
    /// A create for this slot was sent and its outcome is not known.
    unanswered: bool,
    create_failures: u32,
    detail_failures: u32,
    /// Holds one of the download pool's places.
    download_token: bool,
}

enum Msg {
    Created {
        slot: usize,
        result: Result<String, Error>,
    },
    Statuses {
        slots: Vec<usize>,
        result: Result<Vec<StatusEntry>, Error>,
    },
    Details {
        slot: usize,
        result: Box<Result<VideoDetail, Error>>,
        then_download: bool,
    },
    Downloaded {
        slot: usize,
        video: Option<(PathBuf, u64)>,
        captions: Option<(PathBuf, u64)>,
        error: Option<String>,
    },
}

type Work<'a> = FuturesUnordered<Pin<Box<dyn std::future::Future<Output = Msg> + Send + 'a>>>;

/// A run in progress.
struct Coordinator<'a> {
    client: &'a Client,
    opts: RunOptions,
    input_base: PathBuf,
    campaign: String,
    results_path: PathBuf,
    journal: Option<Journal>,
    results: ResultsFile,
    entries: BTreeMap<String, Entry>,
    slots: Vec<Slot>,
    queue: VecDeque<usize>,
    limit: InFlightLimit,
    schedule: PollSchedule,
    in_flight: usize,
    polling: bool,
    last_poll: Instant,
    downloads_active: usize,
    download_queue: VecDeque<usize>,
    ready_downloads: VecDeque<ReadyDownload>,
    sink: &'a mut dyn EventSink,
    started: Instant,
    deadline: Instant,
    stop_reason: Option<(String, String, Outcome)>,
    committed_usd: f64,
    spent_usd: f64,
    accepted: u64,
    rate_limited: u64,
    status_calls: u64,
    detail_calls: u64,
    failed_this_run: u64,
    done_this_run: u64,
    total_to_submit: u64,
    dirty: bool,
    last_flush: Instant,
    warnings: Vec<String>,
    retry_rx: Option<mpsc::UnboundedReceiver<RetryNotice>>,
}

/// Runs `input` to completion (or timeout, credit stop, interrupt).
pub async fn run(
    client: &Client,
    input: RunInput,
    opts: RunOptions,
    sink: &mut dyn EventSink,
    retries: Option<mpsc::UnboundedReceiver<RetryNotice>>,
    mut interrupt: watch::Receiver<bool>,
) -> Result<RunReport, EngineError> {
    let jpath = journal_path(&input.results_path);
    let replayed = Journal::replay(Journal::read(&jpath).map_err(|e| {
        EngineError::State(format!("cannot read the journal {}: {e}", jpath.display()))
    })?);
    let journal = if opts.follow_only {
        None
    } else {
        Some(Journal::open(&jpath).map_err(|e| {
            EngineError::State(format!("cannot open the journal {}: {e}", jpath.display()))
        })?)
    };
    let now = Instant::now();
    let mut c = Coordinator {
        client,
        input_base: input.base_dir.clone(),
        campaign: input.campaign.clone(),
        results_path: input.results_path.clone(),
        journal,
        results: ResultsFile::new(&input.campaign, &input.account, input.shard.clone()),
        entries: BTreeMap::new(),
        slots: Vec::new(),
        queue: VecDeque::new(),
        limit: InFlightLimit::new(opts.concurrency),
        schedule: PollSchedule::new(opts.min_poll_gap, opts.poll_every),
        in_flight: 0,
        polling: false,
        last_poll: now.checked_sub(Duration::from_secs(1)).unwrap_or(now),
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
        rate_limited: 0,
        status_calls: 0,
        detail_calls: 0,
        failed_this_run: 0,
        done_this_run: 0,
        total_to_submit: 0,
        dirty: true,
        last_flush: now,
        warnings: Vec::new(),
        retry_rx: retries,
        opts,
    };
    c.prepare(input, replayed);
    let mut work: Work<'_> = FuturesUnordered::new();
    c.emit_planned();
    let outcome = c.drive(&mut work, &mut interrupt).await;
    c.finish(outcome).map_err(EngineError::State)
}

impl<'a> Coordinator<'a> {
    /// Builds the slots from the plan, the previous results and the journal.
    fn prepare(&mut self, input: RunInput, mut replayed: HashMap<String, Replayed>) {
        let now = Instant::now();
        if let Some(prev) = input.previous {
            self.results.carry_state(&prev);
            for e in prev.entries {
                self.entries.insert(e.key.clone(), e);
            }
        }
        for key in &input.orphans {
            if let Some(e) = self.entries.get_mut(key) {
                e.orphaned = true;
            }
        }
        for planned in input.jobs {
            let key = planned.job.key.clone();
            let entry = self
                .entries
                .entry(key.clone())
                .or_insert_with(|| Entry::new(key.clone(), planned.job.line, planned.hash.clone()));
            if entry.hash != planned.hash {
                entry.key_generation = 0;
            }
            entry.orphaned = false;
            entry.row = planned.job.line;
            let mut phase = Phase::Idle;
            let mut unanswered = false;
            let submit = planned.change.submits(input.retry_failed) && !self.opts.follow_only;
            if submit {
                let same = entry.hash == planned.hash;
                *entry = Entry {
                    attempts: if same { entry.attempts } else { 0 },
                    key_generation: if same { entry.key_generation } else { 0 },
                    ..Entry::new(key.clone(), planned.job.line, planned.hash.clone())
                };
                phase = Phase::Queued;
            } else if planned.change == Change::InFlight
                || (self.opts.follow_only && entry.status == EntryStatus::Rendering)
            {
                // Accepted earlier: follow it. `status` follows a rendering
                // video even if the row has changed since.
                if let Some(v) = entry.video_id.clone() {
                    phase = Self::rendering(v, now);
                }
            }
            let key_for = |generation: u32| {
                crate::plan::idempotency_key_gen(&self.campaign, &key, &planned.hash, generation)
            };
            // The journal knows more than the results file after a crash.
            // Attempts are matched by their Idempotency-Key, not the hash.
            if let Some(Replayed::Refused { hash, idempotency_key, .. }) = replayed.get(&key)
                && *hash == planned.hash
                && *idempotency_key == key_for(entry.key_generation)
            {
                // Refused for good: that key must not be sent again.
                entry.key_generation += 1;
            }
            let mut idem = key_for(entry.key_generation);
            match replayed.remove(&key) {
                Some(Replayed::Accepted { hash, video_id, at, idempotency_key })
                    if hash == planned.hash
                        && (idempotency_key.is_empty() || idempotency_key == idem) =>
                {
                    // This attempt was accepted, perhaps before a crash lost
                    // the results write: follow it, never create it again.
                    let known_done = entry.video_id.as_deref() == Some(video_id.as_str())
                        && matches!(entry.status, EntryStatus::Completed | EntryStatus::Failed);
                    if !known_done {
                        entry.video_id = Some(video_id.clone());
                        entry.status = EntryStatus::Rendering;
                        entry.error = None;
                        entry.submitted_at.get_or_insert(at);
                        phase = Self::rendering(video_id, now);
                    }
                }
                Some(Replayed::Unanswered { hash, idempotency_key, .. })
                    if hash == planned.hash =>
                {
                    // Sent before a crash, answer unknown: send again with the
                    // very key it carried; HeyGen replays instead of creating.
                    unanswered = true;
                    idem = idempotency_key;
                    if !self.opts.follow_only {
                        phase = Phase::Queued;
                    }
                }
                Some(Replayed::Unanswered { idempotency_key, .. }) => {
                    // A create for an earlier version of the row, answer
                    // unknown. Resending it could create an outdated video,
                    // so it is only reported.
                    self.warnings.push(format!(
                        "row {key:?}: an earlier run sent a create for a version of this row that has changed since \
                         (Idempotency-Key {idempotency_key}) and never got the answer; if it reached HeyGen, that video exists but is not tracked"
                    ));
                }
                _ => {}
            }
            entry.title = planned.job.request.title().map(str::to_owned);
            entry.estimated_cost_usd = Some(round4(planned.estimate.usd));
            entry.idempotency_key = Some(idem.clone());
            if matches!(phase, Phase::Idle)
                && self.opts.download
                && entry.status == EntryStatus::Completed
                && planned.job.download.is_some()
                && !file_present(&self.input_base, entry, planned.job.download.as_ref())
            {
                phase = Phase::Finishing;
            }
            let slot = self.slots.len();
            let queued = matches!(phase, Phase::Queued);
            let finishing = matches!(phase, Phase::Finishing);
            if let Phase::Rendering { .. } = phase {
                self.in_flight += 1;
            }
            self.slots.push(Slot {
                job: Some(planned),
                key,
                idempotency_key: idem,
                phase,
                unanswered,
                create_failures: 0,
                detail_failures: 0,
                download_token: false,
            });
            if queued {
                self.queue.push_back(slot);
                self.total_to_submit += 1;
            }
            if finishing {
                self.download_queue.push_back(slot);
            }
        }
        // Journal records of rows no longer planned (dropped from the data
        // after a crash): an accepted video is recorded and followed as an
        // orphan, so its id is not lost when the journal goes.
        for (key, state) in replayed {
            match state {
                Replayed::Accepted { hash, video_id, at, idempotency_key } => {
                    let e = self.entries.entry(key.clone()).or_insert_with(|| Entry::new(key.clone(), 0, hash.clone()));
                    if e.video_id.as_deref() != Some(video_id.as_str()) {
                        e.video_id = Some(video_id);
                        e.status = EntryStatus::Rendering;
                        e.submitted_at = Some(at);
                        e.idempotency_key = (!idempotency_key.is_empty()).then_some(idempotency_key);
                    }
                    e.orphaned = true;
                }
                Replayed::Unanswered { idempotency_key, .. } => self.warnings.push(format!(
                    "row {key:?} is no longer in the data, but an earlier run sent its create (Idempotency-Key \
                     {idempotency_key}) and never got the answer; if it reached HeyGen, that video exists but is not tracked"
                )),
                Replayed::Refused { .. } => {}
            }
        }
        // Videos accepted earlier whose rows are no longer planned (orphans
        // still rendering) are followed too, so their results complete.
        let orphan_rendering: Vec<(String, String)> = self
            .entries
            .values()
            .filter(|e| e.orphaned && e.status == EntryStatus::Rendering)
            .filter_map(|e| e.video_id.clone().map(|v| (e.key.clone(), v)))
            .collect();
        for (key, video_id) in orphan_rendering {
            let phase = Self::rendering(video_id, now);
            self.in_flight += 1;
            self.slots.push(Slot {
                job: None,
                key,
                idempotency_key: String::new(),
                phase,
                unanswered: false,
                create_failures: 0,
                detail_failures: 0,
                download_token: false,
            });
        }
    }

    fn rendering(video_id: String, now: Instant) -> Phase {
        Phase::Rendering {
            video_id,
            accepted: now,
            next_check: now,
            misses: 0,
            last_miss: None,
            last_status: String::new(),
            learn: false,
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
            .filter_map(|&i| self.slots[i].job.as_ref())
            .map(|j| j.estimate.usd)
            .fold(0.0, |a, b| a + b);
        let follow =
            self.slots.iter().filter(|s| matches!(s.phase, Phase::Rendering { .. })).count() as u64;
        let e = Event::Planned {
            rows: self.slots.iter().filter(|s| s.job.is_some()).count() as u64,
            to_submit: self.queue.len() as u64,
            to_follow: follow,
            estimated_usd: round4(est),
            concurrency: self.limit.current(),
        };
        self.emit(e);
    }

    fn progress(&self) -> Progress {
        let count =
            |f: fn(&Phase) -> bool| self.slots.iter().filter(|s| f(&s.phase)).count() as u64;
        Progress {
            queued: self.queue.len() as u64,
            submitting: count(|p| matches!(p, Phase::Creating)),
            rendering: count(|p| matches!(p, Phase::Rendering { .. })),
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
            self.launch(work, now);
            self.poll_if_due(work, now);
            self.start_downloads(work);
            self.flush_if_due(false);
            let creating = self.slots.iter().any(|s| matches!(s.phase, Phase::Creating));
            let rendering = self.slots.iter().any(|s| matches!(s.phase, Phase::Rendering { .. }));
            let finishing = !self.download_queue.is_empty()
                || !self.ready_downloads.is_empty()
                || self.slots.iter().any(|s| matches!(s.phase, Phase::Finishing));
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
            s.job.is_some()
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

    fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_secs(1);
        if self.deadline > now {
            wake = wake.min(self.deadline);
        }
        if let Some(t) = self.limit.paused_until(now) {
            wake = wake.min(t);
        }
        if !self.polling {
            for s in &self.slots {
                if let Phase::Rendering { next_check, .. } = s.phase {
                    wake = wake.min(next_check.max(now + Duration::from_millis(1)));
                }
            }
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

    fn launch(&mut self, work: &mut Work<'a>, now: Instant) {
        while self.stop_reason.is_none() && self.limit.allows(self.in_flight, now) {
            let Some(&slot) = self.queue.front() else { break };
            let est = self.slots[slot].job.as_ref().map_or(0.0, |j| j.estimate.usd);
            if let Some(cap) = self.opts.max_cost_usd
                && self.committed_usd + est > cap + 1e-9
            {
                let msg = format!(
                    "the cost cap ${cap:.2} is reached (${:.2} committed); no more jobs are launched",
                    self.committed_usd
                );
                self.stop("cost_cap", &msg, Outcome::CreditStop);
                break;
            }
            self.queue.pop_front();
            let s = &self.slots[slot];
            let Some(job) = s.job.as_ref() else { continue };
            let (_, path) = job.job.request.endpoint();
            let record = Record::Intent {
                key: s.key.clone(),
                hash: job.hash.clone(),
                idempotency_key: s.idempotency_key.clone(),
                path,
                body: job.job.request.body_json(),
                at: now_rfc3339(),
            };
            if let Some(j) = &mut self.journal
                && let Err(e) = j.append(&record)
            {
                self.queue.push_front(slot);
                let msg = format!("cannot write the journal ({e}); nothing more is sent");
                self.stop("journal", &msg, Outcome::Interrupted);
                break;
            }
            self.committed_usd += est;
            self.in_flight += 1;
            let key = s.key.clone();
            let idem = s.idempotency_key.clone();
            let request = job.job.request.clone();
            self.slots[slot].phase = Phase::Creating;
            self.slots[slot].unanswered = true;
            if let Some(e) = self.entries.get_mut(&key) {
                e.attempts += 1;
            }
            self.emit(Event::Submitting { key, idempotency_key: idem.clone() });
            let client = self.client;
            let policy = self.opts.create_retry;
            work.push(Box::pin(async move {
                let result = match &request {
                    JobRequest::Video(r) => {
                        client.create_video_with(r, Some(&idem), policy).await.map(|v| v.video_id)
                    }
                    JobRequest::Template { template_id, body } => client
                        .generate_from_template(template_id, body, Some(&idem), Some(policy))
                        .await
                        .map(|v| v.id),
                };
                Msg::Created { slot, result }
            }));
        }
    }

    fn poll_if_due(&mut self, work: &mut Work<'a>, now: Instant) {
        if self.polling || now < self.last_poll + MIN_POLL_SPACING {
            return;
        }
        let due = self
            .slots
            .iter()
            .any(|s| matches!(s.phase, Phase::Rendering { next_check, .. } if next_check <= now));
        if !due {
            return;
        }
        // Every job in flight rides along: one bulk call answers them all.
        let rendering: Vec<(usize, String)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.phase {
                Phase::Rendering { video_id, .. } => Some((i, video_id.clone())),
                _ => None,
            })
            .collect();
        self.polling = true;
        self.last_poll = now;
        let chunks: Vec<Vec<(usize, String)>> =
            rendering.chunks(crate::heygen::rules::STATUSES_MAX_IDS).map(|c| c.to_vec()).collect();
        let n = chunks.len();
        self.status_calls += n as u64;
        let client = self.client;
        work.push(Box::pin(async move {
            // Every polled slot comes back, answered or not, so none keeps a
            // check time in the past.
            let slots: Vec<usize> = chunks.iter().flatten().map(|(i, _)| *i).collect();
            let mut all = Vec::new();
            for chunk in chunks {
                let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
                match client.video_statuses(&ids).await {
                    Ok(entries) => all.extend(entries),
                    Err(e) => return Msg::Statuses { slots, result: Err(e) },
                }
            }
            Msg::Statuses { slots, result: Ok(all) }
        }));
    }

    fn start_downloads(&mut self, work: &mut Work<'a>) {
        // Downloads whose links are in hand go first.
        while self.downloads_active < self.opts.download_concurrency.max(1) {
            let Some(ready) = self.ready_downloads.pop_front() else { break };
            self.spawn_download(ready, work);
        }
        while self.downloads_active < self.opts.download_concurrency.max(1) {
            let Some(slot) = self.download_queue.pop_front() else { break };
            // Fresh URLs come from the details call.
            self.detail_calls += 1;
            self.take_token(slot);
            let client = self.client;
            let video_id = self
                .entries
                .get(&self.slots[slot].key)
                .and_then(|e| e.video_id.clone())
                .unwrap_or_default();
            work.push(Box::pin(async move {
                let result = client.get_video(&video_id).await;
                Msg::Details { slot, result: Box::new(result), then_download: true }
            }));
        }
    }

    fn handle(&mut self, msg: Msg, work: &mut Work<'a>) {
        match msg {
            Msg::Created { slot, result } => self.on_created(slot, result),
            Msg::Statuses { slots, result } => self.on_statuses(slots, result, work),
            Msg::Details { slot, result, then_download } => {
                self.on_details(slot, *result, then_download, work)
            }
            Msg::Downloaded { slot, video, captions, error } => {
                self.on_downloaded(slot, video, captions, error)
            }
        }
    }

    fn on_created(&mut self, slot: usize, result: Result<String, Error>) {
        let now = Instant::now();
        self.in_flight -= 1;
        let key = self.slots[slot].key.clone();
        let hash = self.slots[slot].job.as_ref().map(|j| j.hash.clone()).unwrap_or_default();
        let est = self.slots[slot].job.as_ref().map_or(0.0, |j| j.estimate.usd);
        match result {
            Ok(video_id) => {
                let record = Record::Accepted {
                    key: key.clone(),
                    hash,
                    video_id: video_id.clone(),
                    at: now_rfc3339(),
                    idempotency_key: self.slots[slot].idempotency_key.clone(),
                };
                if let Some(j) = &mut self.journal
                    && let Err(e) = j.append(&record)
                {
                    self.warnings.push(format!("cannot write the journal: {e}"));
                }
                self.slots[slot].unanswered = false;
                self.accepted += 1;
                self.limit.on_accepted();
                self.in_flight += 1;
                let next_check = self.schedule.first_check(now);
                self.slots[slot].phase = Phase::Rendering {
                    video_id: video_id.clone(),
                    accepted: now,
                    next_check,
                    misses: 0,
                    last_miss: None,
                    last_status: "waiting".into(),
                    learn: true,
                };
                if let Some(e) = self.entries.get_mut(&key) {
                    e.video_id = Some(video_id.clone());
                    e.status = EntryStatus::Rendering;
                    e.error = None;
                    e.submitted_at = Some(now_rfc3339());
                }
                self.dirty = true;
                self.emit(Event::Accepted { key, video_id });
            }
            Err(e) => {
                self.committed_usd -= est;
                let api = e.api().cloned();
                let kind = e.kind();
                match kind {
                    Some(ApiErrorKind::RateLimited) => {
                        let wait = api
                            .as_ref()
                            .and_then(|a| a.retry_after)
                            .unwrap_or(Duration::from_secs(1));
                        self.rate_limited += 1;
                        self.limit.on_rate_limited(wait, now);
                        self.slots[slot].phase = Phase::Queued;
                        self.queue.push_front(slot);
                        let limit = self.limit.current();
                        self.emit(Event::RateLimited {
                            limit,
                            retry_after_secs: wait.as_secs_f64(),
                        });
                    }
                    Some(
                        ApiErrorKind::InsufficientCredit
                        | ApiErrorKind::QuotaExceeded
                        | ApiErrorKind::Auth,
                    ) => {
                        let a = api.expect("classified errors are API errors");
                        self.refuse(slot, &a.body.code, &a.body.message);
                        let (reason, outcome) = if matches!(kind, Some(ApiErrorKind::Auth)) {
                            ("auth", Outcome::AuthFailed)
                        } else {
                            ("insufficient_credit", Outcome::CreditStop)
                        };
                        let msg = format!(
                            "HeyGen answered {} {}: {}; no more jobs are launched",
                            a.status, a.body.code, a.body.message
                        );
                        self.stop(reason, &msg, outcome);
                    }
                    // A 403 names one row's resource (a voice it may not use):
                    // that row is refused, the others go on.
                    Some(
                        ApiErrorKind::InvalidParameter
                        | ApiErrorKind::NotFound
                        | ApiErrorKind::Forbidden
                        | ApiErrorKind::Conflict
                        | ApiErrorKind::Other,
                    ) => {
                        let a = api.expect("classified errors are API errors");
                        let message = match &a.body.param {
                            Some(p) if !p.is_empty() => format!("{} (field {p})", a.body.message),
                            _ => a.body.message.clone(),
                        };
                        self.refuse(slot, &a.body.code, &message);
                        self.failed_this_run += 1;
                        self.emit(Event::Rejected { key, code: a.body.code.clone(), message });
                    }
                    _ => {
                        // 5xx, timeouts, lost connections, 409 in progress:
                        // the create may or may not have happened. Send it
                        // again later with the same key; HeyGen replays.
                        self.slots[slot].create_failures += 1;
                        if self.slots[slot].create_failures >= 5 {
                            self.slots[slot].phase = Phase::Idle;
                            if let Some(en) = self.entries.get_mut(&key) {
                                en.status = EntryStatus::NotSubmitted;
                                en.error = Some(EntryError {
                                    code: "create_outcome_unknown".into(),
                                    message: format!(
                                        "{e}; the next run resends it with the same Idempotency-Key"
                                    ),
                                });
                            }
                            self.failed_this_run += 1;
                            self.dirty = true;
                        } else {
                            self.slots[slot].phase = Phase::Queued;
                            self.queue.push_back(slot);
                            self.emit(Event::Retrying {
                                request: format!("create {key}"),
                                error: e.to_string(),
                                delay_secs: 0.0,
                            });
                        }
                    }
                }
            }
        }
    }

    /// A create HeyGen refused: no video exists, the row is not submitted.
    fn refuse(&mut self, slot: usize, code: &str, message: &str) {
        let key = self.slots[slot].key.clone();
        let hash = self.slots[slot].job.as_ref().map(|j| j.hash.clone()).unwrap_or_default();
        let idempotency_key = self.slots[slot].idempotency_key.clone();
        if let Some(j) = &mut self.journal {
            let _ = j.append(&Record::Refused {
                key: key.clone(),
                hash,
                idempotency_key,
                code: code.into(),
                message: message.into(),
            });
        }
        self.slots[slot].unanswered = false;
        self.slots[slot].phase = Phase::Idle;
        if let Some(e) = self.entries.get_mut(&key) {
            e.status = EntryStatus::NotSubmitted;
            e.error = Some(EntryError { code: code.into(), message: message.into() });
            e.key_generation += 1;
        }
        self.dirty = true;
    }

    fn on_statuses(
        &mut self,
        slots: Vec<usize>,
        result: Result<Vec<StatusEntry>, Error>,
        work: &mut Work<'a>,
    ) {
        self.polling = false;
        let now = Instant::now();
        let entries = match result {
            Ok(e) => e,
            Err(e) => {
                // A failed status call never fails a job: check again later.
                self.emit(Event::PollFailed { error: e.to_string() });
                for i in slots {
                    if let Phase::Rendering { next_check, misses, .. } = &mut self.slots[i].phase {
                        *misses += 1;
                        *next_check = self.schedule.recheck(now, *misses);
                    }
                }
                return;
            }
        };
        let by_id: HashMap<&str, &StatusEntry> =
            entries.iter().filter_map(|e| e.video_id.as_deref().map(|id| (id, e))).collect();
        for i in slots {
            let Phase::Rendering {
                video_id, accepted, misses, last_miss, last_status, learn, ..
            } = self.slots[i].phase.clone()
            else {
                continue;
            };
            let Some(entry) = by_id.get(video_id.as_str()) else {
                // Not in the answer: ask again later like any unfinished job.
                if let Phase::Rendering { next_check, misses, .. } = &mut self.slots[i].phase {
                    *misses += 1;
                    *next_check = self.schedule.recheck(now, *misses);
                }
                continue;
            };
            let status = entry.status.clone();
            if status.as_str() != last_status {
                let key = self.slots[i].key.clone();
                self.emit(Event::StatusChanged {
                    key,
                    video_id: video_id.clone(),
                    status: status.to_string(),
                });
            }
            match status {
                VideoStatus::Completed | VideoStatus::Failed | VideoStatus::NotFound => {
                    // The slot is free the moment the render is over.
                    self.in_flight -= 1;
                    if status != VideoStatus::NotFound && learn {
                        self.schedule.observe(accepted, now, last_miss);
                    }
                    self.slots[i].phase = Phase::Finishing;
                    if status == VideoStatus::NotFound {
                        self.finish_failed(
                            i,
                            &video_id,
                            "not_found",
                            "HeyGen no longer knows this video (deleted?)",
                        );
                        continue;
                    }
                    self.detail_calls += 1;
                    let client = self.client;
                    let download = status == VideoStatus::Completed;
                    work.push(Box::pin(async move {
                        let result = client.get_video(&video_id).await;
                        Msg::Details { slot: i, result: Box::new(result), then_download: download }
                    }));
                }
                other => {
                    let next = self.schedule.recheck(now, misses);
                    self.slots[i].phase = Phase::Rendering {
                        video_id,
                        accepted,
                        next_check: next,
                        misses: misses + 1,
                        last_miss: Some(now),
                        last_status: other.to_string(),
                        learn,
                    };
                }
            }
        }
    }

    fn finish_failed(&mut self, slot: usize, video_id: &str, code: &str, message: &str) {
        let key = self.slots[slot].key.clone();
        if let Some(e) = self.entries.get_mut(&key) {
            e.status = EntryStatus::Failed;
            e.error = Some(EntryError { code: code.into(), message: message.into() });
            e.completed_at = Some(now_rfc3339());
            // A resubmission must not be answered with this failed video.
            e.key_generation += 1;
        }
        self.slots[slot].phase = Phase::Idle;
        self.failed_this_run += 1;
        self.dirty = true;
        self.emit(Event::Failed {
            key,
            video_id: video_id.into(),
            code: code.into(),
            message: message.into(),
        });
    }

    fn on_details(
        &mut self,
        slot: usize,
        result: Result<VideoDetail, Error>,
        then_download: bool,
        work: &mut Work<'a>,
    ) {
        let key = self.slots[slot].key.clone();
        let v = match result {
            Ok(v) => v,
            Err(e) => {
                self.slots[slot].detail_failures += 1;
                let gone = e.kind() == Some(ApiErrorKind::NotFound);
                if !gone && self.slots[slot].detail_failures < 5 {
                    // Try again shortly; the video is done either way.
                    let video_id =
                        self.entries.get(&key).and_then(|e| e.video_id.clone()).unwrap_or_default();
                    let client = self.client;
                    self.detail_calls += 1;
                    work.push(Box::pin(async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let result = client.get_video(&video_id).await;
                        Msg::Details { slot, result: Box::new(result), then_download }
                    }));
                } else {
                    self.warnings.push(format!(
                        "row {key:?}: could not fetch the finished video's details: {e}"
                    ));
                    self.release_token(slot);
                    self.slots[slot].phase = Phase::Idle;
                }
                return;
            }
        };
        if !v.status.is_terminal()
            && self.entries.get(&key).is_none_or(|e| e.status != EntryStatus::Completed)
        {
            // The detail endpoint can lag the bulk one: follow it again.
            self.release_token(slot);
            let video_id = v.id.clone();
            let now = Instant::now();
            self.in_flight += 1;
            self.slots[slot].phase = Phase::Rendering {
                video_id,
                accepted: now,
                next_check: self.schedule.recheck(now, 0),
                misses: 1,
                last_miss: None,
                last_status: v.status.to_string(),
                learn: false,
            };
            return;
        }
        if v.status == VideoStatus::Failed {
            let code = v.failure_code.clone().unwrap_or_else(|| "failed".into());
            let message = v.failure_message.clone().unwrap_or_else(|| "rendering failed".into());
            self.release_token(slot);
            self.finish_failed(slot, &v.id, &code, &message);
            return;
        }
        let was_completed =
            self.entries.get(&key).is_some_and(|e| e.status == EntryStatus::Completed);
        let rate = self.slots[slot].job.as_ref().map(|j| {
            if j.estimate.seconds > 0.0 { j.estimate.usd / j.estimate.seconds } else { 0.0 }
        });
        let cost = match (v.duration, rate) {
            (Some(d), Some(r)) => Some(round4(d * r)),
            _ => None,
        };
        if let Some(e) = self.entries.get_mut(&key) {
            e.status = EntryStatus::Completed;
            e.error = None;
            e.duration_secs = v.duration;
            if !was_completed {
                e.cost_usd = cost;
            }
            e.video_url = v.video_url.clone();
            e.captioned_video_url = v.captioned_video_url.clone();
            e.subtitle_url = v.subtitle_url.clone();
            e.thumbnail_url = v.thumbnail_url.clone();
            e.video_page_url = v.video_page_url.clone();
            if e.completed_at.is_none() {
                e.completed_at = v.completed_at.map(unix_rfc3339).or_else(|| Some(now_rfc3339()));
            }
        }
        self.dirty = true;
        if !was_completed {
            self.done_this_run += 1;
            self.spent_usd += cost.unwrap_or(0.0);
            self.emit(Event::Completed {
                key: key.clone(),
                video_id: v.id.clone(),
                duration_secs: v.duration,
                cost_usd: cost,
            });
        }
        let target = self.slots[slot].job.as_ref().and_then(|j| j.job.download.clone());
        match (then_download && self.opts.download, target, v.video_url.clone()) {
            (true, Some(rel), Some(url)) => {
                let captions = if self.opts.captions { v.subtitle_url.clone() } else { None };
                let ready = ReadyDownload { slot, rel, url, captions, video_id: v.id.clone() };
                if self.slots[slot].download_token
                    || self.downloads_active < self.opts.download_concurrency.max(1)
                {
                    self.spawn_download(ready, work);
                } else {
                    // The pool is full: wait with the fresh links in hand.
                    self.ready_downloads.push_back(ready);
                }
            }
            _ => {
                self.release_token(slot);
                self.slots[slot].phase = Phase::Idle;
            }
        }
    }

    /// Streams a finished video (and its captions) to disk.
    fn spawn_download(&mut self, d: ReadyDownload, work: &mut Work<'a>) {
        self.take_token(d.slot);
        let client = self.client;
        let base = self.input_base.clone();
        let ReadyDownload { slot, rel, url, captions, video_id } = d;
        work.push(Box::pin(async move {
            let target = base.join(&rel);
            let refresh = || async { client.get_video(&video_id).await.map(|d| d.video_url) };
            let (video, mut error) = match download::download(client, url, &target, refresh).await {
                Ok(d) => (Some((rel.clone(), d.bytes)), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let mut cap = None;
            if let (Some(srt_url), None) = (captions, &error) {
                let srt_rel = rel.with_extension("srt");
                let srt_target = base.join(&srt_rel);
                let refresh =
                    || async { client.get_video(&video_id).await.map(|d| d.subtitle_url) };
                match download::download(client, srt_url, &srt_target, refresh).await {
                    Ok(d) => cap = Some((srt_rel, d.bytes)),
                    Err(e) => error = Some(format!("captions: {e}")),
                }
            }
            Msg::Downloaded { slot, video, captions: cap, error }
        }));
    }

    /// Takes a place in the download pool for `slot` (once).
    fn take_token(&mut self, slot: usize) {
        if !self.slots[slot].download_token {
            self.slots[slot].download_token = true;
            self.downloads_active += 1;
        }
    }

    /// Gives back `slot`'s place in the download pool, if it holds one.
    fn release_token(&mut self, slot: usize) {
        if self.slots[slot].download_token {
            self.slots[slot].download_token = false;
            self.downloads_active -= 1;
        }
    }

    fn on_downloaded(
        &mut self,
        slot: usize,
        video: Option<(PathBuf, u64)>,
        captions: Option<(PathBuf, u64)>,
        error: Option<String>,
    ) {
        self.release_token(slot);
        self.slots[slot].phase = Phase::Idle;
        let key = self.slots[slot].key.clone();
        if let Some(e) = self.entries.get_mut(&key) {
            if let Some((p, n)) = &video {
                e.file = Some(p.to_string_lossy().into_owned());
                e.file_bytes = Some(*n);
            }
            if let Some((p, _)) = &captions {
                e.captions_file = Some(p.to_string_lossy().into_owned());
            }
        }
        self.dirty = true;
        if let Some((p, n)) = video {
            self.emit(Event::Downloaded {
                key: key.clone(),
                path: p.to_string_lossy().into_owned(),
                bytes: n,
            });
        }
        if let Some(err) = error {
            self.warnings.push(format!("row {key:?}: download failed: {err}"));
            self.emit(Event::DownloadFailed { key, error: err });
        }
    }

    fn flush_if_due(&mut self, force: bool) {
        if !self.dirty || (!force && self.last_flush.elapsed() < Duration::from_millis(500)) {
            return;
        }
        self.results.entries = self.entries.values().cloned().collect();
        match self.results.write(&self.results_path) {
            Ok(()) => {
                self.dirty = false;
                self.last_flush = Instant::now();
            }
            Err(e) => {
                self.warnings.push(format!("cannot write {}: {e}", self.results_path.display()))
            }
        }
    }

    fn finish(mut self, outcome: Outcome) -> Result<RunReport, String> {
        // Rows never launched carry the reason they were not.
        let (code, message) = match &self.stop_reason {
            Some((reason, message, _)) => (reason.clone(), message.clone()),
            None if outcome == Outcome::TimedOut => (
                "timed_out".into(),
                "the run's timeout passed before this row was submitted".into(),
            ),
            None => ("not_submitted".into(), "not submitted".into()),
        };
        let unlaunched: Vec<usize> = self.queue.drain(..).collect();
        for slot in unlaunched {
            let key = self.slots[slot].key.clone();
            if let Some(e) = self.entries.get_mut(&key) {
                e.status = EntryStatus::NotSubmitted;
                e.error = Some(EntryError { code: code.clone(), message: message.clone() });
            }
        }
        self.dirty = true;
        self.flush_if_due(true);
        if self.dirty {
            return Err(format!("cannot write the results file {}", self.results_path.display()));
        }
        self.emit(Event::ResultsWritten { path: self.results_path.display().to_string() });
        let unresolved: Vec<String> =
            self.slots.iter().filter(|s| s.unanswered).map(|s| s.key.clone()).collect();
        // The results now hold everything the journal knew, except creates
        // whose answer never came: those keep the journal alive.
        if unresolved.is_empty() && self.journal.is_some() {
            let path = journal_path(&self.results_path);
            drop(self.journal.take());
            let _ = Journal::remove(&path);
        }
        let s = &self.results.summary;
        let finished = Event::Finished {
            outcome: outcome.name().into(),
            completed: s.completed,
            failed: s.failed,
            rendering: s.rendering,
            not_submitted: s.not_submitted,
            spent_usd: round4(self.spent_usd),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
        };
        self.emit(finished);
        Ok(RunReport {
            outcome,
            results: self.results.clone(),
            spent_usd: round4(self.spent_usd),
            accepted: self.accepted,
            rate_limited: self.rate_limited,
            status_calls: self.status_calls,
            detail_calls: self.detail_calls,
            elapsed: self.started.elapsed(),
            unresolved,
            warnings: std::mem::take(&mut self.warnings),
        })
    }
}

/// Whether the entry's recorded download is on disk at the expected size.
fn file_present(base: &std::path::Path, entry: &Entry, path: Option<&PathBuf>) -> bool {
    let (Some(p), Some(size)) = (path, entry.file_bytes) else { return false };
    entry.file.as_deref() == Some(&*p.to_string_lossy())
        && std::fs::metadata(base.join(p)).is_ok_and(|m| m.len() == size)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn unix_rfc3339(secs: i64) -> String {
    // humantime formats years up to 9999; a millisecond timestamp would
    // be far past that.
    let secs = secs.clamp(0, 253_402_300_799);
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}
