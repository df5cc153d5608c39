//! The results manifest: one entry per row, sorted by key, written
//! atomically. It is both the report of a run and the state the next
//! `plan`/`run` compares against.
//!
//! It is meant to be committed: entries are sorted, the formatting is
//! fixed, nothing in it changes while the video does not (presigned links
//! expire, so they are not written), and a write that changes nothing
//! leaves the file byte-identical.

pub mod journal;
pub mod lock;
pub mod state;

pub use state::CampaignState;

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Format version of results files.
pub const RESULTS_FORMAT: u32 = 1;

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Accepted by HeyGen; waiting or rendering.
    Rendering,
    /// Rendered (and downloaded, when downloads are on).
    Completed,
    /// Rendering failed (not charged); `--retry-failed` resubmits.
    Failed,
    /// Not submitted: out of credit, cost cap, interrupted, or a create
    /// that HeyGen refused. `error` says why.
    NotSubmitted,
}

/// An error recorded for a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryError {
    /// Machine code (HeyGen's `failure_code`, or an API error code).
    pub code: String,
    /// Human message.
    pub message: String,
}

/// One row's result. Field order is fixed so diffs stay small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Row key.
    pub key: String,
    /// CSV line of the row (at the last run).
    pub row: u64,
    /// Job hash (request body + account + endpoint).
    pub hash: String,
    /// Status.
    pub status: EntryStatus,
    /// The row is no longer in the data; the entry is kept for the record
    /// (and its video is not made again if the row comes back unchanged).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphaned: bool,
    /// HeyGen video id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// The Idempotency-Key the create carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// How many creates of this request ended for good (a failed render, a
    /// refusal). A resubmission needs a fresh Idempotency-Key, or HeyGen
    /// would replay the old answer; this counter makes the next key.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub key_generation: u32,
    /// Video title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Downloaded file, relative to the manifest's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    /// Downloaded captions file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captions_file: Option<String>,
    /// Downloaded thumbnail (`.jpg` beside the video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_file: Option<String>,
    /// Link to the video in HeyGen's app (does not expire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_page_url: Option<String>,
    /// Presigned video URL as last fetched. Not written: it expires, and
    /// a committed results file must not change while the video does not
    /// (`reelflow status` or `videos get` fetch fresh ones).
    #[serde(default, skip_serializing)]
    pub video_url: Option<String>,
    /// Presigned captioned-video URL as last fetched (not written).
    #[serde(default, skip_serializing)]
    pub captioned_video_url: Option<String>,
    /// Presigned SRT URL as last fetched (not written).
    #[serde(default, skip_serializing)]
    pub subtitle_url: Option<String>,
    /// Presigned thumbnail URL as last fetched (not written).
    #[serde(default, skip_serializing)]
    pub thumbnail_url: Option<String>,
    /// Output length, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Estimated cost before the run, USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    /// Cost at HeyGen's rates for the actual length, USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Why it failed or was not submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EntryError>,
    /// Create attempts that reached HeyGen.
    #[serde(default)]
    pub attempts: u32,
    /// When it was accepted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    /// When rendering finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

impl Entry {
    /// A fresh entry for a row.
    pub fn new(key: String, row: u64, hash: String) -> Self {
        Entry {
            key,
            row,
            hash,
            status: EntryStatus::NotSubmitted,
            orphaned: false,
            video_id: None,
            idempotency_key: None,
            key_generation: 0,
            title: None,
            file: None,
            file_bytes: None,
            captions_file: None,
            thumbnail_file: None,
            video_page_url: None,
            video_url: None,
            captioned_video_url: None,
            subtitle_url: None,
            thumbnail_url: None,
            duration_secs: None,
            estimated_cost_usd: None,
            cost_usd: None,
            error: None,
            attempts: 0,
            submitted_at: None,
            completed_at: None,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Totals over entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Entries.
    pub total: u64,
    /// Completed.
    pub completed: u64,
    /// Still rendering.
    pub rendering: u64,
    /// Failed.
    pub failed: u64,
    /// Not submitted.
    pub not_submitted: u64,
    /// Entries whose row left the data (counted in their status too).
    pub orphaned: u64,
    /// Output seconds of completed videos.
    pub duration_secs: f64,
    /// Cost of completed videos, USD.
    pub cost_usd: f64,
}

impl Summary {
    /// Totals over `entries`: one definition for every writer of a results
    /// file (the engine streams its entries, `normalize` holds a list).
    pub fn of<'e>(entries: impl Iterator<Item = &'e Entry>) -> Summary {
        let mut s = Summary::default();
        for e in entries {
            s.total += 1;
            if e.orphaned {
                s.orphaned += 1;
            }
            match e.status {
                EntryStatus::Completed => {
                    s.completed += 1;
                    s.duration_secs += e.duration_secs.unwrap_or(0.0);
                    s.cost_usd += e.cost_usd.unwrap_or(0.0);
                }
                EntryStatus::Rendering => s.rendering += 1,
                EntryStatus::Failed => s.failed += 1,
                EntryStatus::NotSubmitted => s.not_submitted += 1,
            }
        }
        s.duration_secs = (s.duration_secs * 100.0).round() / 100.0;
        s.cost_usd = (s.cost_usd * 10_000.0).round() / 10_000.0;
        s
    }
}

/// A results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// Format version (1).
    pub reelflow_results: u32,
    /// Campaign name.
    pub campaign: String,
    /// Account the videos were made with.
    pub account: String,
    /// `I/N` when this file holds one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The HeyGen folder the campaign's videos are filed in (`output.folder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<crate::folders::FolderState>,
    /// Local files uploaded as assets, by blake3 of their content.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub uploads: std::collections::BTreeMap<String, crate::assets::UploadRecord>,
    /// Last write (RFC 3339).
    pub updated_at: String,
    /// Totals.
    pub summary: Summary,
    /// One entry per row, sorted by key.
    pub entries: Vec<Entry>,
}

impl ResultsFile {
    /// An empty results file.
    pub fn new(campaign: &str, account: &str, shard: Option<String>) -> Self {
        ResultsFile {
            reelflow_results: RESULTS_FORMAT,
            campaign: campaign.to_owned(),
            account: account.to_owned(),
            shard,
            folder: None,
            uploads: Default::default(),
            updated_at: now_rfc3339(),
            summary: Summary::default(),
            entries: Vec::new(),
        }
    }

    /// Takes the account-wide state (folder, uploads) of an earlier file.
    pub fn carry_state(&mut self, from: &ResultsFile) {
        self.folder = from.folder.clone();
        self.uploads = from.uploads.clone();
    }

    /// Sorts entries by key and recomputes the summary.
    pub fn normalize(&mut self) {
        self.entries.sort_by(|a, b| a.key.cmp(&b.key));
        self.summary = Summary::of(self.entries.iter());
    }

    /// Reads a results file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<ResultsFile>, ResultsError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ResultsError::Read { path: path.to_owned(), source }),
        };
        let file: ResultsFile = serde_json::from_slice(&bytes)
            .map_err(|source| ResultsError::Parse { path: path.to_owned(), source })?;
        if file.reelflow_results != RESULTS_FORMAT {
            return Err(ResultsError::Format {
                path: path.to_owned(),
                found: file.reelflow_results,
            });
        }
        Ok(Some(file))
    }

    /// Writes atomically (temp file, fsync, rename): readers and a crash
    /// mid-write only ever see a complete file. When the entries are what
    /// the file already holds, nothing is written (not even `updated_at`),
    /// so a rerun that changed nothing leaves a committed file untouched.
    pub fn write(&mut self, path: &Path) -> std::io::Result<()> {
        self.normalize();
        let mut file = self.clone();
        let written = write_unless_unchanged(path, |updated_at, w| {
            file.updated_at = updated_at.to_owned();
            serde_json::to_writer_pretty(&mut *w, &file).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })?;
        self.updated_at = written;
        Ok(())
    }
}

/// Writes a results file atomically, unless the file on disk already holds
/// exactly these contents: then it is left alone, `updated_at` included, so
/// a rerun that changed nothing leaves a committed file byte-identical.
///
/// `render(updated_at, out)` serializes the file with that `updated_at`.
/// It runs once against the file on disk (with its `updated_at`), streamed
/// and stopped at the first differing byte (the summary comes first, so a
/// changed count stops it within a few hundred bytes), and once more into
/// the temp file when something changed. Memory stays O(1) in the file's
/// size. Returns the `updated_at` the file now has.
pub fn write_unless_unchanged(
    path: &Path,
    mut render: impl FnMut(&str, &mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    if let Some(old_updated) = read_updated_at(path)
        && let Ok(old) = std::fs::File::open(path)
    {
        let mut cmp = SameBytes { old: std::io::BufReader::new(old), differs: false };
        let rendered = render(&old_updated, &mut cmp);
        if rendered.is_ok() && !cmp.differs && cmp.at_end() {
            return Ok(old_updated);
        }
        if let Err(e) = rendered
            && !cmp.differs
        {
            return Err(e);
        }
    }
    let updated_at = now_rfc3339_millis();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new().prefix(".reelflow-").suffix(".tmp").tempfile_in(dir)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp);
    render(&updated_at, &mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    // Temp files are created private; results are ordinary project files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(updated_at)
}

/// A writer that compares what is written with a file, failing at the
/// first difference (which stops the serializer early).
struct SameBytes<R: std::io::BufRead> {
    old: R,
    differs: bool,
}

impl<R: std::io::BufRead> SameBytes<R> {
    fn at_end(&mut self) -> bool {
        self.old.fill_buf().is_ok_and(|b| b.is_empty())
    }
}

impl<R: std::io::BufRead> Write for SameBytes<R> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let old = self.old.fill_buf()?;
            let n = old.len().min(rest.len());
            if n == 0 || old[..n] != rest[..n] {
                self.differs = true;
                return Err(std::io::Error::other("differs from the file on disk"));
            }
            self.old.consume(n);
            rest = &rest[n..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The `updated_at` of the results file at `path`, read from its head
/// (the field comes before the summary and the entries).
fn read_updated_at(path: &Path) -> Option<String> {
    let mut head = Vec::with_capacity(4096);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path).ok()?, 4096),
        &mut head,
    )
    .ok()?;
    updated_at_of(&head)
}

/// The `updated_at` of a results file's bytes, read from its head (the
/// field comes before the entries).
fn updated_at_of(bytes: &[u8]) -> Option<String> {
    const FIELD: &[u8] = b"\"updated_at\": \"";
    let head = &bytes[..bytes.len().min(4096)];
    let start = head.windows(FIELD.len()).position(|w| w == FIELD)? + FIELD.len();
    let len = head[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(head[start..start + len].to_vec()).ok()
}

/// Writes `bytes` to `path` via a temp file in the same folder, fsynced,
/// then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".reelflow-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // Temp files are created private; results are ordinary project files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Now, RFC 3339 in UTC with second precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Now, RFC 3339 in UTC with millisecond precision: `updated_at` orders
/// the files of one campaign (see [`CampaignState`]), and two can be
/// written within one second.
pub fn now_rfc3339_millis() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// `out/x.results.json` → `out/x.results.shard-2-of-4.json`.
pub fn shard_path(path: &Path, index: u32, count: u32) -> std::path::PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_owned(), format!(".{e}")),
        None => (name.clone(), String::new()),
    };
    path.with_file_name(format!("{stem}.shard-{index}-of-{count}{ext}"))
}

/// The campaign's state as one results file: the results file, every
/// shard file beside it and their journals, merged (see [`CampaignState`]).
/// `Ok(None)` when there is no state at all.
pub fn read_merged(path: &Path) -> Result<Option<ResultsFile>, ResultsError> {
    Ok(CampaignState::load(path)?.results_file(None))
}

/// Why a campaign's state (results files, shard files, journals) cannot be
/// read. Every one is the user's file being unreadable or not reelflow's:
/// exit 3 (see [`crate::exit`]).
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON of a results file.
    #[error("{} is not a reelflow results file: {source}", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// The JSON error (line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A results file of another format version.
    #[error("{} has results format {found}, this reelflow reads {RESULTS_FORMAT}", path.display())]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// Its `reelflow_results`.
        found: u32,
    },
    /// A journal beside a results file cannot be read.
    #[error("cannot read the journal {}: {source}", path.display())]
    Journal {
        /// The journal.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The folder holding the results cannot be listed (for shard files).
    #[error("cannot list {}: {source}", dir.display())]
    List {
        /// The folder.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_results_file_of_another_format_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, r#"{"reelflow_results": 99}"#).unwrap();
        assert!(matches!(ResultsFile::read(&p), Err(ResultsError::Parse { .. })));
        let mut f = ResultsFile::new("c", "default", None);
        f.reelflow_results = 99;
        std::fs::write(&p, serde_json::to_string(&f).unwrap()).unwrap();
        let e = ResultsFile::read(&p).unwrap_err();
        assert!(matches!(e, ResultsError::Format { found: 99, .. }), "{e}");
        assert!(e.to_string().ends_with("has results format 99, this reelflow reads 1"), "{e}");
        std::fs::write(&p, "{").unwrap();
        let e = ResultsFile::read(&p).unwrap_err();
        assert!(std::error::Error::source(&e).is_some(), "the JSON error is kept as the source");
    }

    #[test]
    fn shards_merge_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("c.results.json");
        assert_eq!(shard_path(&main, 2, 4), dir.path().join("c.results.shard-2-of-4.json"));
        for (i, keys) in [(1, ["a", "c"]), (2, ["b", "d"])] {
            let mut f = ResultsFile::new("c", "default", Some(format!("{i}/2")));
            f.entries = keys.iter().map(|k| Entry::new((*k).into(), 2, "h".into())).collect();
            f.write(&shard_path(&main, i, 2)).unwrap();
        }
        let merged = read_merged(&main).unwrap().unwrap();
        let keys: Vec<&str> = merged.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        assert_eq!(merged.summary.total, 4);
    }
}
