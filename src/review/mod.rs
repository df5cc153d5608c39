//! Human review of rendered videos: approve or reject each row, with a
//! note. Decisions live in a reviews file beside the results
//! (`out/x.results.json` → `out/x.reviews.yaml`): plain YAML, one entry per
//! row sorted by key, meant to be committed with the manifest.
//!
//! A decision is about one rendered video: it records the job hash and the
//! video id it was made on. When the row or the manifest changes (a new
//! hash) or the video is rendered again (a new id), the old decision no
//! longer applies and the row is unreviewed again.

pub mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::results::{Entry, ResultsFile, write_atomic};

/// Format version of reviews files.
pub const REVIEWS_FORMAT: u32 = 1;

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fit to send.
    Approved,
    /// Not fit to send; `run --retry-rejected` renders it again.
    Rejected,
}

impl Verdict {
    /// `approved` / `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approved => "approved",
            Verdict::Rejected => "rejected",
        }
    }
}

/// Where a row stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Approved (for the video as it is now).
    Approved,
    /// Rejected (for the video as it is now).
    Rejected,
    /// No decision, or one about an earlier render.
    Unreviewed,
}

impl ReviewState {
    /// `approved` / `rejected` / `unreviewed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
            ReviewState::Unreviewed => "unreviewed",
        }
    }
}

/// One decision. Field order is fixed so diffs stay small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Row key.
    pub key: String,
    /// What was decided.
    pub decision: Verdict,
    /// Who decided (`REELFLOW_REVIEWER`, else the login name).
    pub by: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Why; may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The job hash of the reviewed render.
    pub hash: String,
    /// The reviewed video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
}

impl Decision {
    /// Whether this decision is about the render `entry` records now.
    pub fn applies_to(&self, entry: &Entry) -> bool {
        self.hash == entry.hash && self.video_id == entry.video_id
    }
}

/// A reviews file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviews {
    /// Format version (1).
    pub reelflow_reviews: u32,
    /// Keys the last `run --sample` picked: with `review.require_approval`
    /// a full run waits until each is approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<String>,
    /// One decision per reviewed row, sorted by key.
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

impl Default for Reviews {
    fn default() -> Self {
        Reviews { reelflow_reviews: REVIEWS_FORMAT, sample: Vec::new(), decisions: Vec::new() }
    }
}

/// Reading or writing a reviews file failed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewsError {
    /// Cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a reviews file.
    #[error("{path} is not a reelflow reviews file: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `out/x.results.json` → `out/x.reviews.yaml` (shards share one file).
pub fn reviews_path(results: &Path) -> PathBuf {
    let name = results.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name
        .strip_suffix(".results.json")
        .or_else(|| name.rsplit_once('.').map(|(s, _)| s))
        .unwrap_or(&name)
        .to_owned();
    results.with_file_name(format!("{stem}.reviews.yaml"))
}

impl Reviews {
    /// Reads a reviews file; an absent file is an empty one.
    pub fn read(path: &Path) -> Result<Reviews, ReviewsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reviews::default()),
            Err(source) => return Err(ReviewsError::Io { path: path.to_owned(), source }),
        };
        let r: Reviews = serde_yaml::from_str(&text)
            .map_err(|e| ReviewsError::Invalid { path: path.to_owned(), message: e.to_string() })?;
        if r.reelflow_reviews != REVIEWS_FORMAT {
            return Err(ReviewsError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "format {}, this reelflow reads {REVIEWS_FORMAT}",
                    r.reelflow_reviews
                ),
            });
        }
        Ok(r)
    }

    /// Writes atomically, decisions sorted by key (one per key).
    pub fn write(&mut self, path: &Path) -> Result<(), ReviewsError> {
        self.normalize();
        let text = serde_yaml::to_string(self)
            .map_err(|e| ReviewsError::Invalid { path: path.to_owned(), message: e.to_string() })?;
        let header = "# reelflow reviews: approve/reject decisions per row (`reelflow review`).\n# Plain YAML, sorted by key: commit it with the manifest.\n";
        write_atomic(path, format!("{header}{text}").as_bytes())
            .map_err(|source| ReviewsError::Io { path: path.to_owned(), source })
    }

    /// Sorts decisions and the sample, keeping the last decision per key.
    pub fn normalize(&mut self) {
        let by_key: BTreeMap<String, Decision> =
            self.decisions.drain(..).map(|d| (d.key.clone(), d)).collect();
        self.decisions = by_key.into_values().collect();
        self.sample.sort();
        self.sample.dedup();
    }

    /// The decision recorded for a key (current or stale).
    pub fn decision(&self, key: &str) -> Option<&Decision> {
        self.decisions.iter().rev().find(|d| d.key == key)
    }

    /// Where a row's current render stands.
    pub fn state(&self, entry: &Entry) -> ReviewState {
        match self.decision(&entry.key) {
            Some(d) if d.applies_to(entry) => match d.decision {
                Verdict::Approved => ReviewState::Approved,
                Verdict::Rejected => ReviewState::Rejected,
            },
            _ => ReviewState::Unreviewed,
        }
    }

    /// Records a decision about `entry`'s current render, replacing any
    /// earlier one for the row.
    pub fn decide(&mut self, entry: &Entry, verdict: Verdict, by: &str, at: &str, note: &str) {
        self.decisions.retain(|d| d.key != entry.key);
        self.decisions.push(Decision {
            key: entry.key.clone(),
            decision: verdict,
            by: by.to_owned(),
            at: at.to_owned(),
            note: note.trim().to_owned(),
            hash: entry.hash.clone(),
            video_id: entry.video_id.clone(),
        });
        self.normalize();
    }

    /// Counts of approved / rejected / unreviewed over the results' rows.
    pub fn counts(&self, results: &ResultsFile) -> BTreeMap<ReviewState, u64> {
        let mut c = BTreeMap::new();
        for s in [ReviewState::Approved, ReviewState::Rejected, ReviewState::Unreviewed] {
            c.insert(s, 0);
        }
        for e in &results.entries {
            *c.entry(self.state(e)).or_default() += 1;
        }
        c
    }

    /// Keys of the sample that are not approved yet (all of them when no
    /// sample was run). `None` when there is no sample.
    pub fn sample_unapproved(&self, results: Option<&ResultsFile>) -> Option<Vec<String>> {
        if self.sample.is_empty() {
            return None;
        }
        let entries: BTreeMap<&str, &Entry> = results
            .map(|r| r.entries.iter().map(|e| (e.key.as_str(), e)).collect())
            .unwrap_or_default();
        Some(
            self.sample
                .iter()
                .filter(|k| {
                    entries.get(k.as_str()).is_none_or(|e| self.state(e) != ReviewState::Approved)
                })
                .cloned()
                .collect(),
        )
    }
}

/// Who is reviewing, from an environment lookup: `REELFLOW_REVIEWER`,
/// else `USER` / `USERNAME`, else "unknown". The caller supplies the
/// lookup so the library reads no environment itself.
pub fn reviewer(get: impl Fn(&str) -> Option<String>) -> String {
    ["REELFLOW_REVIEWER", "USER", "USERNAME"]
        .iter()
        .find_map(|k| get(k).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, hash: &str, video: &str) -> Entry {
        let mut e = Entry::new(key.into(), 2, hash.into());
        e.video_id = Some(video.into());
        e
    }

    #[test]
    fn decisions_apply_to_one_render_only() {
        let mut r = Reviews::default();
        let e = entry("b", "h1", "v1");
        r.decide(&e, Verdict::Rejected, "ana", "2026-11-28T10:00:00Z", " lisp \n");
        r.decide(&entry("a", "h", "v"), Verdict::Approved, "ana", "2026-11-28T10:00:01Z", "");
        assert_eq!(r.state(&e), ReviewState::Rejected);
        assert_eq!(r.decision("b").unwrap().note, "lisp");
        assert_eq!(r.state(&entry("b", "h2", "v1")), ReviewState::Unreviewed, "row changed");
        assert_eq!(r.state(&entry("b", "h1", "v2")), ReviewState::Unreviewed, "rendered again");
        let keys: Vec<&str> = r.decisions.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"], "sorted by key");
        r.decide(&e, Verdict::Approved, "bo", "2026-11-28T10:00:02Z", "");
        assert_eq!(r.decisions.len(), 2, "one decision per row");
        assert_eq!(r.state(&e), ReviewState::Approved);
    }

    #[test]
    fn the_file_round_trips_and_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("c.results.json");
        let path = reviews_path(&results);
        assert_eq!(path, dir.path().join("c.reviews.yaml"));
        assert_eq!(Reviews::read(&path).unwrap(), Reviews::default());
        let mut r = Reviews { sample: vec!["z".into(), "a".into()], ..Reviews::default() };
        r.decide(&entry("k", "h", "v"), Verdict::Approved, "ana", "2026-11-28T10:00:00Z", "ok");
        r.write(&path).unwrap();
        let first = std::fs::read_to_string(&path).unwrap();
        let mut back = Reviews::read(&path).unwrap();
        assert_eq!(back.sample, ["a", "z"]);
        back.write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first, "rewriting changes nothing");
    }

    #[test]
    fn the_sample_gate() {
        let mut results = ResultsFile::new("c", "default", None);
        results.entries = vec![entry("a", "h", "v1"), entry("b", "h", "v2")];
        let mut r = Reviews::default();
        assert_eq!(r.sample_unapproved(Some(&results)), None, "no sample yet");
        r.sample = vec!["a".into(), "b".into()];
        r.decide(&results.entries[0], Verdict::Approved, "x", "t", "");
        assert_eq!(r.sample_unapproved(Some(&results)), Some(vec!["b".to_owned()]));
        r.decide(&results.entries[1], Verdict::Approved, "x", "t", "");
        assert_eq!(r.sample_unapproved(Some(&results)), Some(vec![]));
    }
}
