//! What the engine reports. It never prints: the progress display, the
//! JSON-lines output and the tests consume these events.

use std::time::Duration;

use serde::Serialize;

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run starts.
    Planned {
        /// Rows in this run (this shard).
        rows: u64,
        /// Creates it will send.
        to_submit: u64,
        /// Videos accepted earlier that it follows.
        to_follow: u64,
        /// Estimated cost of the creates, USD.
        estimated_usd: f64,
        /// Jobs in flight at most.
        concurrency: usize,
    },
    /// A create is about to leave (its intent is on disk).
    Submitting {
        /// Row key.
        key: String,
        /// Idempotency-Key.
        idempotency_key: String,
    },
    /// HeyGen accepted a create.
    Accepted {
        /// Row key.
        key: String,
        /// Video id.
        video_id: String,
    },
    /// HeyGen refused a create (the row is not submitted).
    Rejected {
        /// Row key.
        key: String,
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
    /// A request is being retried.
    Retrying {
        /// Which request.
        request: String,
        /// Why.
        error: String,
        /// After how long, seconds.
        delay_secs: f64,
    },
    /// 429: fewer jobs in flight from now on.
    RateLimited {
        /// The new bound.
        limit: usize,
        /// Pause before launching again, seconds.
        retry_after_secs: f64,
    },
    /// A status check failed; jobs are unaffected and checked again later.
    PollFailed {
        /// Why.
        error: String,
    },
    /// A video changed status.
    StatusChanged {
        /// Row key.
        key: String,
        /// Video id.
        video_id: String,
        /// New status.
        status: String,
    },
    /// A video rendered.
    Completed {
        /// Row key.
        key: String,
        /// Video id.
        video_id: String,
        /// Length, seconds.
        duration_secs: Option<f64>,
        /// Cost at HeyGen's rates, USD.
        cost_usd: Option<f64>,
    },
    /// A video failed to render (not charged).
    Failed {
        /// Row key.
        key: String,
        /// Video id.
        video_id: String,
        /// HeyGen's failure code.
        code: String,
        /// HeyGen's message.
        message: String,
    },
    /// A file was saved.
    Downloaded {
        /// Row key.
        key: String,
        /// Where.
        path: String,
        /// Size.
        bytes: u64,
    },
    /// A download failed; the video is still recorded as completed.
    DownloadFailed {
        /// Row key.
        key: String,
        /// Why.
        error: String,
    },
    /// No more jobs are launched.
    Stopped {
        /// Why (`insufficient_credit`, `cost_cap`, `interrupted`, …).
        reason: String,
        /// Details.
        message: String,
    },
    /// The results file was written.
    ResultsWritten {
        /// Where.
        path: String,
    },
    /// The run ended.
    Finished {
        /// How.
        outcome: String,
        /// Completed videos (all time, this results file).
        completed: u64,
        /// Failed.
        failed: u64,
        /// Still rendering.
        rendering: u64,
        /// Not submitted.
        not_submitted: u64,
        /// Spent in this run, USD.
        spent_usd: f64,
        /// Wall time, seconds.
        elapsed_secs: f64,
    },
}

/// Receives events (a display, a JSON writer, a test recorder).
pub trait EventSink {
    /// Handles one event.
    fn event(&mut self, event: &Event);
    /// Called periodically with a snapshot, for live displays.
    fn tick(&mut self, _progress: &Progress) {}
}

/// Counts for a live display.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    /// Waiting to be submitted.
    pub queued: u64,
    /// Creates on the wire.
    pub submitting: u64,
    /// Accepted, not finished.
    pub rendering: u64,
    /// Completed this run.
    pub done: u64,
    /// Failed or refused this run.
    pub failed: u64,
    /// Current bound on jobs in flight.
    pub limit: usize,
    /// Spent this run, USD.
    pub spent_usd: f64,
    /// Since the run started.
    pub elapsed: Duration,
    /// Creates this run will send in total.
    pub total: u64,
}

/// Discards everything.
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn event(&mut self, _: &Event) {}
}
