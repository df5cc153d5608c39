//! One truth about a campaign: the union of its results file, every shard
//! file beside it, and the journals of all of them.
//!
//! Every command that reads state (`plan`, `run`, `status`, `results`, the
//! report) loads it through [`CampaignState::load`], so a video accepted by
//! another shard, or known only to the journal of a killed run, is followed
//! and never submitted again.
//!
//! How files are merged: each file is first brought up to date with its own
//! journal (records appended after its last write), then files are applied
//! oldest first, so for every row the most recently written word wins. A
//! file's age is its `updated_at` (which survives a git checkout, unlike a
//! modification time), or its journal's modification time when that is
//! later. Every writer starts from this union, so the newest file that
//! mentions a row knows everything older files knew about it; that is what
//! makes a changed shard layout (`2/2`, then `3/3`, then no shards) safe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::journal::{self, Journal, journal_path};
use super::{Entry, ResultsError, ResultsFile};
use crate::plan::Shard;

/// The merged state of one campaign.
#[derive(Debug, Clone, Default)]
pub struct CampaignState {
    /// Campaign name, from the newest file (`None`: journals only).
    pub campaign: Option<String>,
    /// Account, from the newest file.
    pub account: Option<String>,
    /// The campaign's HeyGen folder, from the newest file that names one.
    pub folder: Option<crate::folders::FolderState>,
    /// Local files uploaded as assets, from every file (newest wins).
    pub uploads: BTreeMap<String, crate::assets::UploadRecord>,
    /// Every row's latest entry, by key.
    pub entries: BTreeMap<String, Entry>,
    /// The files (results and journals) the state was read from.
    pub sources: Vec<PathBuf>,
}

/// One results file (a shard's or the main one) with its journal applied.
struct Source {
    written: SystemTime,
    /// Main file before shard files when two are equally old.
    order: (u8, PathBuf),
    file: Option<ResultsFile>,
    entries: BTreeMap<String, Entry>,
}

impl CampaignState {
    /// Loads the union of the results file at `path` (the main one, not a
    /// shard's), its shard files and all their journals.
    pub fn load(path: &Path) -> Result<CampaignState, ResultsError> {
        let mut sources = Vec::new();
        let mut read_from = Vec::new();
        for (rank, file_path) in campaign_files(path)? {
            let file = ResultsFile::read(&file_path)?;
            let jpath = journal_path(&file_path);
            let records = Journal::read(&jpath)
                .map_err(|source| ResultsError::Journal { path: jpath.clone(), source })?;
            if file.is_none() && records.is_empty() {
                continue;
            }
            let mut written = file
                .as_ref()
                .and_then(|f| humantime::parse_rfc3339_weak(&f.updated_at).ok())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            if file.is_some() {
                read_from.push(file_path.clone());
            }
            if !records.is_empty() {
                read_from.push(jpath.clone());
                if let Ok(m) = std::fs::metadata(&jpath).and_then(|m| m.modified()) {
                    written = written.max(m);
                }
            }
            let mut entries: BTreeMap<String, Entry> = file
                .as_ref()
                .map(|f| f.entries.iter().map(|e| (e.key.clone(), e.clone())).collect())
                .unwrap_or_default();
            // The engine's own replay: one meaning of a journal record.
            journal::apply_all(&mut entries, &records);
            sources.push(Source { written, order: (rank, file_path), file, entries });
        }
        sources.sort_by(|a, b| a.written.cmp(&b.written).then_with(|| a.order.cmp(&b.order)));
        let mut state = CampaignState { sources: read_from, ..CampaignState::default() };
        for s in sources {
            if let Some(f) = s.file {
                state.campaign = Some(f.campaign);
                state.account = Some(f.account);
                if f.folder.is_some() {
                    state.folder = f.folder;
                }
                state.uploads.extend(f.uploads);
            }
            state.entries.extend(s.entries);
        }
        Ok(state)
    }

    /// Whether no file and no journal holds anything.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.sources.is_empty()
    }

    /// The state as a results file: every row, or the rows of `shard`.
    /// `None` when there is no state at all.
    pub fn results_file(&self, shard: Option<Shard>) -> Option<ResultsFile> {
        if self.is_empty() {
            return None;
        }
        let mut f = ResultsFile::new(
            self.campaign.as_deref().unwrap_or_default(),
            self.account.as_deref().unwrap_or_default(),
            shard.map(|s| s.to_string()),
        );
        f.folder = self.folder.clone();
        f.uploads = self.uploads.clone();
        f.entries = self
            .entries
            .values()
            .filter(|e| shard.is_none_or(|s| s.contains(&e.key)))
            .cloned()
            .collect();
        f.normalize();
        Some(f)
    }
}

/// The main results file and every shard file of the campaign that exists
/// (or whose journal does), main first, then shards by name.
fn campaign_files(path: &Path) -> Result<Vec<(u8, PathBuf)>, ResultsError> {
    let mut out = vec![(0u8, path.to_owned())];
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => return Err(ResultsError::List { dir, source }),
    };
    let mut shards: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let name = name.strip_suffix(".journal").unwrap_or(&name);
            parse_shard_name(path, name).map(|(i, n)| super::shard_path(path, i, n))
        })
        .collect();
    shards.sort();
    shards.dedup();
    out.extend(shards.into_iter().map(|p| (1, p)));
    Ok(out)
}

/// `(I, N)` when `name` is the file name of shard I/N of the results file
/// at `main` (`x.results.shard-2-of-4.json` for `x.results.json`).
pub fn parse_shard_name(main: &Path, name: &str) -> Option<(u32, u32)> {
    let main_name = main.file_name()?.to_string_lossy().into_owned();
    let (stem, ext) = match main_name.rsplit_once('.') {
        Some((s, e)) => (s.to_owned(), format!(".{e}")),
        None => (main_name.clone(), String::new()),
    };
    let rest = name.strip_prefix(&format!("{stem}.shard-"))?.strip_suffix(ext.as_str())?;
    let (i, n) = rest.split_once("-of-")?;
    let (i, n): (u32, u32) = (i.parse().ok()?, n.parse().ok()?);
    (i >= 1 && i <= n).then_some((i, n))
}

#[cfg(test)]
mod tests {
    use super::super::journal::Record;
    use super::super::{EntryStatus, shard_path};
    use super::*;

    fn entry(key: &str, hash: &str, status: EntryStatus, video: Option<&str>) -> Entry {
        Entry {
            status,
            video_id: video.map(str::to_owned),
            ..Entry::new(key.into(), 2, hash.into())
        }
    }

    fn write(path: &Path, shard: Option<&str>, entries: Vec<Entry>) {
        let mut f = ResultsFile::new("c", "default", shard.map(str::to_owned));
        f.entries = entries;
        f.write(path).unwrap();
    }

    #[test]
    fn shard_names_parse_only_for_their_campaign() {
        let main = Path::new("out/c.results.json");
        assert_eq!(parse_shard_name(main, "c.results.shard-2-of-4.json"), Some((2, 4)));
        assert_eq!(parse_shard_name(main, "c.results.shard-5-of-4.json"), None);
        assert_eq!(parse_shard_name(main, "d.results.shard-1-of-2.json"), None);
        assert_eq!(parse_shard_name(main, "c.results.shard-1-of-2.json.lock"), None);
    }

    #[test]
    fn the_newest_file_wins_per_row_and_shards_of_any_layout_merge() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("c.results.json");
        write(
            &shard_path(&main, 1, 2),
            Some("1/2"),
            vec![entry("a", "h", EntryStatus::Rendering, Some("v1"))],
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        // A later file (another layout) knows `a` finished, and has `b`.
        write(
            &shard_path(&main, 3, 3),
            Some("3/3"),
            vec![
                entry("a", "h", EntryStatus::Completed, Some("v1")),
                entry("b", "h", EntryStatus::Failed, Some("v2")),
            ],
        );
        let s = CampaignState::load(&main).unwrap();
        assert_eq!(s.entries["a"].status, EntryStatus::Completed);
        assert_eq!(s.entries["b"].status, EntryStatus::Failed);
        assert_eq!(s.sources.len(), 2);
        let all = s.results_file(None).unwrap();
        assert_eq!(all.summary.total, 2);
        assert!(all.shard.is_none());
    }

    #[test]
    fn a_journal_without_a_results_file_is_state() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("c.results.json");
        let mut j = Journal::open(&journal_path(&main)).unwrap();
        for (key, accepted) in [("a", true), ("b", false)] {
            j.append(&Record::Intent {
                key: key.into(),
                hash: "h".into(),
                idempotency_key: format!("rf:c:{key}:h"),
                path: "/v3/videos".into(),
                body: serde_json::json!({}),
                at: "2026-11-28T10:00:00Z".into(),
            })
            .unwrap();
            if accepted {
                j.append(&Record::Accepted {
                    key: key.into(),
                    hash: "h".into(),
                    video_id: "v1".into(),
                    at: "2026-11-28T10:00:01Z".into(),
                    idempotency_key: format!("rf:c:{key}:h"),
                })
                .unwrap();
            }
        }
        let s = CampaignState::load(&main).unwrap();
        assert!(!s.is_empty());
        assert_eq!(s.entries["a"].status, EntryStatus::Rendering);
        assert_eq!(s.entries["a"].video_id.as_deref(), Some("v1"));
        // An intent without an answer is no entry: the next run sends the
        // row with the very same Idempotency-Key, so HeyGen replays it.
        assert!(!s.entries.contains_key("b"));
    }

    #[test]
    fn an_unchanged_write_leaves_the_file_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.results.json");
        let mut e = entry("a", "h", EntryStatus::Completed, Some("v1"));
        e.video_url = Some("https://x/v.mp4?Expires=1".into());
        write(&p, None, vec![e.clone()]);
        let first = std::fs::read(&p).unwrap();
        assert!(
            !String::from_utf8_lossy(&first).contains("Expires"),
            "presigned links are not written"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        e.video_url = Some("https://x/v.mp4?Expires=2".into());
        write(&p, None, vec![e.clone()]);
        assert_eq!(std::fs::read(&p).unwrap(), first);
        e.status = EntryStatus::Failed;
        write(&p, None, vec![e]);
        assert_ne!(std::fs::read(&p).unwrap(), first);
    }
}
