//! Ledger: how results entries change and when they are written.
//!
//! Every change to an entry is a journal [`Record`], applied in memory by
//! [`journal::apply`] (the same function that replays a journal after a
//! crash) and appended to the journal: one line per change. The results
//! file itself is rewritten only at checkpoints, spaced by how long the
//! last write took ([`Checkpoints`]), so writing stays a few per cent of a
//! run however large the file grows, and at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Coordinator, Event, Outcome, RunReport};
use crate::heygen::wire::VideoDetail;
use crate::results::journal::{self, Journal, Record, journal_path};
use crate::results::{
    Entry, EntryError, EntryStatus, RESULTS_FORMAT, ResultsFile, Summary, now_rfc3339,
};

/// The results entries of a run: one vector, which the report takes whole
/// at the end (no copy of ~500 bytes a row while everything else is still
/// held), and an index by key, whose order is the file's. Inline in a
/// B-tree, entries would leave its nodes half full (keys arrive in order).
#[derive(Debug, Default)]
pub(super) struct Entries {
    index: BTreeMap<String, usize>,
    list: Vec<Entry>,
}

impl Entries {
    /// Room for `n` more entries.
    pub fn reserve(&mut self, n: usize) {
        self.list.reserve_exact(n);
    }

    /// Adds or replaces the entry of `e.key`.
    pub fn insert(&mut self, e: Entry) {
        match self.index.get(&e.key) {
            Some(&i) => self.list[i] = e,
            None => {
                self.index.insert(e.key.clone(), self.list.len());
                self.list.push(e);
            }
        }
    }

    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.list[i])
    }

    /// The entry of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.index.get(key).map(|&i| &mut self.list[i])
    }

    /// Entries in key order.
    pub fn values(&self) -> impl Iterator<Item = &Entry> {
        self.index.values().map(|&i| &self.list[i])
    }

    /// The entries in key order, the index dropped first.
    pub fn into_sorted(self) -> Vec<Entry> {
        drop(self.index);
        let mut list = self.list;
        // Keys are unique, so an unstable (in-place, allocation-free) sort
        // gives the same order as the index.
        list.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        list
    }
}

impl journal::EntryMap for Entries {
    fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.get_mut(key)
    }

    fn entry_or_insert(&mut self, key: &str, new: impl FnOnce() -> Entry) -> &mut Entry {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                let e = new();
                debug_assert_eq!(e.key, key, "an entry is made for its key");
                self.insert(e);
                self.list.len() - 1
            }
        };
        &mut self.list[i]
    }
}

impl std::ops::Index<&str> for Entries {
    type Output = Entry;

    fn index(&self, key: &str) -> &Entry {
        self.get(key).unwrap_or_else(|| panic!("no entry {key:?}"))
    }
}

/// When the results file is rewritten. Its cost grows with the file, so
/// the gap between rewrites grows with the measured cost of the last one.
#[derive(Debug, Clone)]
pub(super) struct Checkpoints {
    /// The least gap between two rewrites.
    pub min_gap: Duration,
    /// Rewrites take at most 1 / `ratio` of the wall time.
    pub ratio: u32,
    last: Instant,
    cost: Duration,
}

impl Checkpoints {
    /// A policy starting at `now`.
    pub fn new(now: Instant, min_gap: Duration, ratio: u32) -> Self {
        Checkpoints { min_gap, ratio: ratio.max(1), last: now, cost: Duration::ZERO }
    }

    /// Whether a rewrite is due at `now` (something changed since the last).
    pub fn due(&self, now: Instant, changed: bool) -> bool {
        changed && now.saturating_duration_since(self.last) >= self.gap()
    }

    /// The current gap between rewrites.
    pub fn gap(&self) -> Duration {
        self.min_gap.max(self.cost * self.ratio)
    }

    /// A rewrite ended at `now` after taking `took`.
    pub fn written(&mut self, now: Instant, took: Duration) {
        self.last = now;
        self.cost = took;
    }
}

/// Cost of a video of `duration` seconds at the estimate's rate.
pub(super) fn cost_of(
    duration: Option<f64>,
    estimate: Option<&crate::pricing::Estimate>,
) -> Option<f64> {
    let rate = estimate.map(|e| if e.seconds > 0.0 { e.usd / e.seconds } else { 0.0 });
    match (duration, rate) {
        (Some(d), Some(r)) => Some(round4(d * r)),
        _ => None,
    }
}

/// The record of a video HeyGen reports completed.
pub(super) fn completed(key: &str, v: &VideoDetail, cost: Option<f64>) -> Record {
    Record::Completed {
        key: key.to_owned(),
        video_id: v.id.clone(),
        duration_secs: v.duration,
        cost_usd: cost,
        video_url: v.video_url.clone(),
        captioned_video_url: v.captioned_video_url.clone(),
        subtitle_url: v.subtitle_url.clone(),
        thumbnail_url: v.thumbnail_url.clone(),
        video_page_url: v.video_page_url.clone(),
        at: v.completed_at.map(unix_rfc3339).unwrap_or_else(now_rfc3339),
    }
}

/// The record of a failed render.
pub(super) fn failed(key: &str, video_id: &str, code: &str, message: &str) -> Record {
    Record::Failed {
        key: key.to_owned(),
        video_id: video_id.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
        at: now_rfc3339(),
    }
}

/// Marks a row not submitted, with the reason (kept in memory until the
/// next rewrite: it is derived again by the next run if lost).
pub(super) fn not_submitted(e: &mut Entry, code: &str, message: &str) {
    e.status = EntryStatus::NotSubmitted;
    e.error = Some(EntryError { code: code.into(), message: message.into() });
}

/// Whether the entry's recorded download is on disk at the expected size.
pub(super) fn file_present(base: &Path, entry: &Entry, path: Option<&PathBuf>) -> bool {
    let (Some(p), Some(size)) = (path, entry.file_bytes) else { return false };
    entry.file.as_deref() == Some(&*p.to_string_lossy())
        && std::fs::metadata(base.join(p)).is_ok_and(|m| m.len() == size)
}

/// Totals over entries (the one definition, [`Summary::of`]).
pub(super) fn summarize<'e>(entries: impl Iterator<Item = &'e Entry>) -> Summary {
    Summary::of(entries)
}

/// A results file borrowing its entries, so a rewrite streams them to disk
/// without a copy of the whole file in memory.
#[derive(Serialize)]
struct View<'a> {
    reelflow_results: u32,
    campaign: &'a str,
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folder: Option<&'a crate::folders::FolderState>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    uploads: &'a BTreeMap<String, crate::assets::UploadRecord>,
    updated_at: String,
    summary: &'a Summary,
    #[serde(serialize_with = "entries_seq")]
    entries: &'a Entries,
}

fn entries_seq<S: serde::Serializer>(entries: &&super::Entries, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(entries.values())
}

/// Writes a results file atomically (temp file, fsync, rename), streaming
/// the entries. Same bytes as [`crate::results::ResultsFile::write`].
pub(super) fn write_results(
    path: &Path,
    header: &ResultsFile,
    summary: &Summary,
    entries: &Entries,
) -> std::io::Result<()> {
    // Unchanged contents leave the file (and its `updated_at`) untouched.
    crate::results::write_unless_unchanged(path, |updated_at, w| {
        let view = View {
            reelflow_results: RESULTS_FORMAT,
            campaign: &header.campaign,
            account: &header.account,
            shard: header.shard.as_deref(),
            folder: header.folder.as_ref(),
            uploads: &header.uploads,
            updated_at: updated_at.to_owned(),
            summary,
            entries,
        };
        serde_json::to_writer_pretty(&mut *w, &view).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

/// Rounds to 4 decimals (USD).
pub(super) fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// A Unix time as RFC 3339.
pub(super) fn unix_rfc3339(secs: i64) -> String {
    // humantime formats years up to 9999; a millisecond timestamp would
    // be far past that.
    let secs = secs.clamp(0, 253_402_300_799);
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Coordinator<'_> {
    /// Applies a change to the entries and appends it to the journal. A
    /// journal that cannot be written stops the run (nothing more is sent).
    pub(super) fn record(&mut self, record: Record) {
        journal::apply(&mut self.entries, &record);
        if let Record::Completed { key, .. } = &record
            && let Some(e) = self.entries.get_mut(key)
        {
            // Presigned links are never written to the results file, and
            // collecting works from the details it fetched: the journal
            // keeps them, the run's memory need not (~300 bytes a row).
            e.video_url = None;
            e.captioned_video_url = None;
            e.subtitle_url = None;
            e.thumbnail_url = None;
        }
        self.changed = true;
        let started = Instant::now();
        let written = self.journal.as_mut().map_or(Ok(()), |j| j.record(&record));
        self.state_time += started.elapsed();
        if let Err(e) = written {
            self.journal_failed(&e);
        }
    }

    /// The journal cannot be written: stop launching, exit 1.
    pub(super) fn journal_failed(&mut self, e: &std::io::Error) {
        let msg = format!("cannot write the journal ({e}); nothing more is sent");
        self.stop("journal", &msg, Outcome::StateError);
    }

    /// Rewrites the results file when a checkpoint is due (or `force`),
    /// then shrinks the journal to what the file does not hold.
    pub(super) fn flush_if_due(&mut self, now: Instant, force: bool) {
        if !force && !self.checkpoints.due(now, self.changed) {
            return;
        }
        let started = Instant::now();
        // Appended records become durable before the file that holds them
        // replaces the old one.
        if let Some(j) = &mut self.journal {
            let _ = j.sync();
        }
        self.summary = summarize(self.entries.values());
        let written =
            write_results(&self.results_path, &self.results, &self.summary, &self.entries);
        match written {
            Ok(()) => {
                self.changed = false;
                self.write_failed = None;
                let keep = if self.journal.is_some() { self.pending_intents() } else { Vec::new() };
                if let Some(j) = &mut self.journal
                    && let Err(e) = j.compact(&keep)
                {
                    self.warnings.push(format!("cannot compact the journal: {e}"));
                }
            }
            Err(e) => {
                self.warnings.push(format!("cannot write {}: {e}", self.results_path.display()));
                self.write_failed = Some(e);
            }
        }
        let end = Instant::now();
        self.state_time += end - started;
        self.checkpoint_time += end - started;
        self.checkpoint_count += 1;
        self.checkpoints.written(end, end - started);
    }

    /// Intents whose answer is not in the entries: creates on the wire, or
    /// sent by an earlier run and not resolved yet. They must survive a
    /// journal compaction.
    fn pending_intents(&self) -> Vec<Record> {
        let mut keep: Vec<Record> = self
            .slots
            .iter()
            .filter(|s| s.unanswered)
            .filter_map(|s| {
                let p = s.pending.as_ref()?;
                Some(Record::Intent {
                    key: s.key.clone(),
                    hash: p.hash.clone(),
                    idempotency_key: p.idempotency_key.clone(),
                    path: p.create.path.to_string(),
                    body: p.create.body_json(),
                    at: now_rfc3339(),
                })
            })
            .collect();
        keep.extend(self.stale_intents.iter().cloned());
        keep
    }

    /// Writes the final results and builds the report.
    pub(super) fn finish(mut self, outcome: Outcome) -> Result<RunReport, super::EngineError> {
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
                not_submitted(e, &code, &message);
            }
        }
        self.changed = true;
        self.flush_if_due(Instant::now(), true);
        if let Some(source) = self.write_failed.take() {
            return Err(super::EngineError::Results { path: self.results_path.clone(), source });
        }
        self.emit(Event::ResultsWritten { path: self.results_path.display().to_string() });
        let unresolved: Vec<String> =
            self.slots.iter().filter(|s| s.unanswered).map(|s| s.key.clone()).collect();
        // The results now hold everything the journal knew, except creates
        // whose answer never came: those keep the journal alive.
        if unresolved.is_empty() && self.stale_intents.is_empty() && self.journal.is_some() {
            let path = journal_path(&self.results_path);
            drop(self.journal.take());
            let _ = Journal::remove(&path);
        }
        let missing_files = self.missing_files();
        let outcome = match outcome {
            Outcome::Finished if missing_files > 0 => Outcome::FilesMissing,
            o => o,
        };
        let s = self.summary.clone();
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
        let counters = self.client.counters();
        self.slots = Vec::new();
        self.results.entries = std::mem::take(&mut self.entries).into_sorted();
        self.results.summary = s;
        Ok(RunReport {
            outcome,
            results: self.results,
            spent_usd: round4(self.spent_usd),
            accepted: self.accepted,
            rate_limited: counters.rate_limited.saturating_sub(self.counters_at_start.rate_limited),
            requests: counters.requests.saturating_sub(self.counters_at_start.requests),
            status_calls: self.status_calls,
            detail_calls: self.detail_calls,
            missing_files,
            state_time: self.state_time,
            checkpoint_time: self.checkpoint_time,
            checkpoints: self.checkpoint_count,
            intent_flushes: self.intent_flushes,
            elapsed: self.started.elapsed(),
            unresolved,
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    /// Rows of this run whose video finished but whose file is not on disk.
    fn missing_files(&self) -> u64 {
        if !self.opts.download {
            return 0;
        }
        self.slots
            .iter()
            .filter(|s| {
                let Some(target) = s.download.as_ref() else {
                    return false;
                };
                self.entries.get(&s.key).is_some_and(|e| {
                    e.status == EntryStatus::Completed
                        && !file_present(&self.input_base, e, Some(target))
                })
            })
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_space_out_as_writes_get_slower() {
        let t0 = Instant::now();
        let mut c = Checkpoints::new(t0, Duration::from_secs(2), 30);
        assert!(!c.due(t0 + Duration::from_secs(5), false), "nothing changed");
        assert!(!c.due(t0 + Duration::from_secs(1), true));
        assert!(c.due(t0 + Duration::from_secs(2), true));
        // A 0.5 s rewrite: the next waits 15 s, so writing stays ≤ 1/30.
        c.written(t0, Duration::from_millis(500));
        assert_eq!(c.gap(), Duration::from_secs(15));
        assert!(!c.due(t0 + Duration::from_secs(10), true));
        assert!(c.due(t0 + Duration::from_secs(15), true));
    }

    #[test]
    fn streamed_results_read_back_like_the_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        let mut entries = Entries::default();
        for k in ["b", "a"] {
            let mut e = Entry::new(k.into(), 2, "h".into());
            e.status = EntryStatus::Completed;
            e.duration_secs = Some(1.5);
            e.cost_usd = Some(0.1);
            entries.insert(e);
        }
        let s = summarize(entries.values());
        let header = ResultsFile::new("c", "default", Some("1/2".into()));
        write_results(&p, &header, &s, &entries).unwrap();
        let back = crate::results::ResultsFile::read(&p).unwrap().unwrap();
        let mut normalized = back.clone();
        normalized.normalize();
        assert_eq!(back.summary, normalized.summary, "the same totals as normalize()");
        assert_eq!(back.summary.completed, 2);
        assert_eq!(back.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(back.shard.as_deref(), Some("1/2"));
    }

    #[test]
    fn entries_keep_key_order_for_writing_and_for_the_report() {
        use crate::results::journal::EntryMap;
        let mut entries = Entries::default();
        entries.reserve(3);
        for k in ["row2", "row10", "row1"] {
            entries.insert(Entry::new(k.into(), 2, "h".into()));
        }
        entries.entry_or_insert("row0", || Entry::new("row0".into(), 5, "h".into())).row = 7;
        entries.entry_or_insert("row2", || unreachable!("row2 exists")).attempts = 3;
        entries.insert(Entry { attempts: 1, ..Entry::new("row10".into(), 9, "h2".into()) });
        let order: Vec<String> = entries.values().map(|e| e.key.clone()).collect();
        assert_eq!(order, ["row0", "row1", "row10", "row2"]);
        assert_eq!(entries["row0"].row, 7);
        assert_eq!(entries.get("row2").map(|e| e.attempts), Some(3));
        assert_eq!(entries["row10"].hash, "h2", "insert replaces");
        let sorted = entries.into_sorted();
        assert_eq!(sorted.iter().map(|e| e.key.clone()).collect::<Vec<_>>(), order);
    }

    #[test]
    fn cost_follows_the_estimates_rate() {
        let e = crate::pricing::Estimate { seconds: 10.0, usd: 1.0, ..Default::default() };
        assert_eq!(cost_of(Some(3.0), Some(&e)), Some(0.3));
        assert_eq!(cost_of(None, Some(&e)), None);
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
