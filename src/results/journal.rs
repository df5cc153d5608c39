//! The run journal: append-only JSON lines beside the results file, each
//! record flushed and fsynced before the run goes on.
//!
//! The one rule it exists for: an `intent` is on disk *before* its create
//! request leaves. After a crash, an intent without an `accepted` is sent
//! again with the same Idempotency-Key, so HeyGen replays its first answer
//! instead of creating (and billing) a second video; a row with a video id
//! is followed, never created again.
//!
//! Between two rewrites of the results file, the journal is also the
//! durable record of what changed (`completed`, `failed`, `downloaded`):
//! [`apply`] replays records onto results entries, so the state on disk is
//! always results file + journal, and each change costs one appended line.
//! Only intents are fsynced one by one (the rule above); the other records
//! are fsynced in groups ([`Journal::sync`]), since losing one costs a
//! status call, never a duplicate video.

use std::borrow::BorrowMut;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Entry, EntryError, EntryStatus};

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// A create is about to be sent.
    Intent {
        /// Row key.
        key: String,
        /// Job hash.
        hash: String,
        /// The Idempotency-Key it carries.
        idempotency_key: String,
        /// `POST` path (`/v3/videos` or `/v3/templates/{id}`).
        path: String,
        /// The exact body, so a stale intent can be resolved by replaying it.
        body: serde_json::Value,
        /// When (RFC 3339).
        at: String,
    },
    /// HeyGen accepted the create.
    Accepted {
        /// Row key.
        key: String,
        /// Job hash.
        hash: String,
        /// The video.
        video_id: String,
        /// When (RFC 3339).
        at: String,
        /// The accepted Idempotency-Key.
        #[serde(default)]
        idempotency_key: String,
    },
    /// HeyGen refused the create for good; no video exists.
    Refused {
        /// Row key.
        key: String,
        /// Job hash.
        hash: String,
        /// The refused Idempotency-Key (the next attempt needs another).
        #[serde(default)]
        idempotency_key: String,
        /// Error code.
        code: String,
        /// Error message.
        message: String,
    },
    /// The video rendered; what its details said.
    Completed {
        /// Row key.
        key: String,
        /// The video.
        video_id: String,
        /// Output length, seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_secs: Option<f64>,
        /// Cost at HeyGen's rates, USD.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_usd: Option<f64>,
        /// Presigned video URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        video_url: Option<String>,
        /// Presigned captioned-video URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        captioned_video_url: Option<String>,
        /// Presigned SRT URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subtitle_url: Option<String>,
        /// Thumbnail URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thumbnail_url: Option<String>,
        /// Link to the video in HeyGen's app.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        video_page_url: Option<String>,
        /// When rendering finished (RFC 3339).
        at: String,
    },
    /// The video failed to render (not charged).
    Failed {
        /// Row key.
        key: String,
        /// The video.
        video_id: String,
        /// Failure code.
        code: String,
        /// Failure message.
        message: String,
        /// When (RFC 3339).
        at: String,
    },
    /// Files of a finished video were saved (paths relative to the
    /// manifest's folder).
    Downloaded {
        /// Row key.
        key: String,
        /// The video.
        video_id: String,
        /// The video file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// Its size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_bytes: Option<u64>,
        /// The captions file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        captions_file: Option<String>,
        /// The thumbnail file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thumbnail_file: Option<String>,
    },
}

impl Record {
    /// The row the record is about.
    pub fn key(&self) -> &str {
        match self {
            Record::Intent { key, .. }
            | Record::Accepted { key, .. }
            | Record::Refused { key, .. }
            | Record::Completed { key, .. }
            | Record::Failed { key, .. }
            | Record::Downloaded { key, .. } => key,
        }
    }

    /// Whether the record must be on disk before the run goes on (an
    /// intent precedes its create request).
    pub fn must_sync(&self) -> bool {
        matches!(self, Record::Intent { .. })
    }
}

/// Results entries by key, as [`apply`] updates them.
pub trait EntryMap {
    /// The entry of `key`.
    fn entry_mut(&mut self, key: &str) -> Option<&mut Entry>;
    /// The entry of `key`, made by `new` when there is none.
    fn entry_or_insert(&mut self, key: &str, new: impl FnOnce() -> Entry) -> &mut Entry;
}

impl<E: BorrowMut<Entry> + From<Entry>> EntryMap for BTreeMap<String, E> {
    fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.get_mut(key).map(BorrowMut::borrow_mut)
    }

    fn entry_or_insert(&mut self, key: &str, new: impl FnOnce() -> Entry) -> &mut Entry {
        self.entry(key.to_owned()).or_insert_with(|| new().into()).borrow_mut()
    }
}

/// Applies one record onto the results entries; returns whether anything
/// changed. Pure and idempotent: replaying a record the results file
/// already reflects changes nothing, so results file + whole journal is
/// always the current state. Intents change no entry (they say a create
/// may exist, which [`Journal::replay`] resolves).
///
/// Entries may be held in a map or in the run engine's compact store
/// ([`EntryMap`]).
pub fn apply(entries: &mut impl EntryMap, record: &Record) -> bool {
    match record {
        Record::Intent { .. } => false,
        Record::Accepted { key, hash, video_id, at, idempotency_key } => {
            let e = entries.entry_or_insert(key, || Entry::new(key.clone(), 0, hash.clone()));
            if e.video_id.as_deref() == Some(video_id.as_str()) {
                return false;
            }
            if e.hash != *hash {
                // The create was for a new version of the row.
                *e = Entry { key_generation: 0, ..Entry::new(key.clone(), e.row, hash.clone()) };
            }
            e.video_id = Some(video_id.clone());
            e.status = EntryStatus::Rendering;
            e.error = None;
            e.submitted_at = Some(at.clone());
            e.completed_at = None;
            if !idempotency_key.is_empty() {
                e.idempotency_key = Some(idempotency_key.clone());
            }
            true
        }
        Record::Refused { key, hash, code, message, .. } => {
            let Some(e) = entries.entry_mut(key) else { return false };
            let error = Some(EntryError { code: code.clone(), message: message.clone() });
            if e.hash != *hash || (e.status == EntryStatus::NotSubmitted && e.error == error) {
                return false;
            }
            e.status = EntryStatus::NotSubmitted;
            e.error = error;
            true
        }
        Record::Completed {
            key,
            video_id,
            duration_secs,
            cost_usd,
            video_url,
            captioned_video_url,
            subtitle_url,
            thumbnail_url,
            video_page_url,
            at,
        } => {
            let Some(e) = entries.entry_mut(key) else { return false };
            if e.video_id.as_deref() != Some(video_id.as_str()) {
                return false;
            }
            if e.status != EntryStatus::Completed {
                // The first sighting prices it; fresh links later do not.
                e.cost_usd = *cost_usd;
            }
            e.status = EntryStatus::Completed;
            e.error = None;
            e.duration_secs = *duration_secs;
            e.video_url = video_url.clone();
            e.captioned_video_url = captioned_video_url.clone();
            e.subtitle_url = subtitle_url.clone();
            e.thumbnail_url = thumbnail_url.clone();
            e.video_page_url = video_page_url.clone();
            e.completed_at.get_or_insert_with(|| at.clone());
            true
        }
        Record::Failed { key, video_id, code, message, at } => {
            let Some(e) = entries.entry_mut(key) else { return false };
            if e.video_id.as_deref() != Some(video_id.as_str()) || e.status == EntryStatus::Failed {
                return false;
            }
            e.status = EntryStatus::Failed;
            e.error = Some(EntryError { code: code.clone(), message: message.clone() });
            e.completed_at = Some(at.clone());
            // A resubmission must not be answered with this failed video.
            e.key_generation += 1;
            true
        }
        Record::Downloaded { key, video_id, file, file_bytes, captions_file, thumbnail_file } => {
            let Some(e) = entries.entry_mut(key) else { return false };
            if e.video_id.as_deref() != Some(video_id.as_str()) {
                return false;
            }
            if file.is_some() {
                e.file = file.clone();
                e.file_bytes = *file_bytes;
            }
            if captions_file.is_some() {
                e.captions_file = captions_file.clone();
            }
            if thumbnail_file.is_some() {
                e.thumbnail_file = thumbnail_file.clone();
            }
            true
        }
    }
}

/// Applies every record in order (see [`apply`]).
pub fn apply_all(entries: &mut impl EntryMap, records: &[Record]) {
    for r in records {
        apply(entries, r);
    }
}

/// A [`Record::Intent`] borrowing its parts, with the body as the
/// serialized JSON that is sent.
#[derive(Debug, Clone, Copy)]
pub struct Intent<'a> {
    /// Row key.
    pub key: &'a str,
    /// Job hash.
    pub hash: &'a str,
    /// The Idempotency-Key it carries.
    pub idempotency_key: &'a str,
    /// `POST` path.
    pub path: &'a str,
    /// The exact body (one JSON value).
    pub body: &'a [u8],
    /// When (RFC 3339).
    pub at: &'a str,
}

impl Intent<'_> {
    /// The journal line (with its newline), field for field what
    /// serializing a [`Record::Intent`] writes.
    fn line(&self, line: &mut Vec<u8>) -> std::io::Result<()> {
        line.reserve(self.body.len() + 256);
        let field = |line: &mut Vec<u8>, name: &[u8], value: &str| {
            line.extend_from_slice(name);
            serde_json::to_writer(&mut *line, value).map_err(std::io::Error::other)
        };
        field(line, br#"{"event":"intent","key":"#, self.key)?;
        field(line, br#","hash":"#, self.hash)?;
        field(line, br#","idempotency_key":"#, self.idempotency_key)?;
        field(line, br#","path":"#, self.path)?;
        line.extend_from_slice(br#","body":"#);
        line.extend_from_slice(self.body);
        field(line, br#","at":"#, self.at)?;
        line.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// What the journal says about one row, after replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// A create may have reached HeyGen: resend with this key (and body).
    Unanswered {
        /// Job hash of the intent.
        hash: String,
        /// Idempotency-Key to resend with.
        idempotency_key: String,
        /// Create path.
        path: String,
        /// Body to resend.
        body: serde_json::Value,
    },
    /// Accepted as this video.
    Accepted {
        /// Job hash.
        hash: String,
        /// Video id.
        video_id: String,
        /// When.
        at: String,
        /// The key of the accepted create.
        idempotency_key: String,
    },
    /// Refused: no video exists.
    Refused {
        /// Job hash.
        hash: String,
        /// The refused key.
        idempotency_key: String,
        /// Code.
        code: String,
        /// Message.
        message: String,
    },
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// The journal path for a results file: `<results>.journal`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".journal");
    results.with_file_name(name)
}

impl Journal {
    /// Opens (creating) the journal for appending.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).read(true).open(path)?;
        // A crash can leave a torn last line without its newline; start on a
        // fresh line so the next record is not glued to it.
        let len = file.metadata()?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Journal { path: path.to_owned(), file })
    }

    /// Appends a record as one line and fsyncs it.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        self.write(record)?;
        self.file.sync_data()
    }

    /// Appends a record as one line; fsyncs only records that must be on
    /// disk before the run goes on ([`Record::must_sync`]). The others are
    /// made durable by the next [`Journal::sync`].
    pub fn record(&mut self, record: &Record) -> std::io::Result<()> {
        self.write(record)?;
        if record.must_sync() { self.file.sync_data() } else { Ok(()) }
    }

    /// Appends an intent whose body is already serialized JSON (copied as
    /// it is, no tree built) and fsyncs it: the same line
    /// [`Record::Intent`] reads back, at a fraction of the cost.
    pub fn append_intent(&mut self, intent: &Intent<'_>) -> std::io::Result<()> {
        self.append_intents(std::iter::once(*intent))
    }

    /// Appends intents in one write and one fsync (group commit: creates
    /// launched together share a disk flush). None is sent before this
    /// returns, so each is on disk before its request leaves.
    pub fn append_intents<'i>(
        &mut self,
        intents: impl Iterator<Item = Intent<'i>>,
    ) -> std::io::Result<()> {
        let mut lines = Vec::new();
        for i in intents {
            i.line(&mut lines)?;
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.file.write_all(&lines)?;
        self.file.sync_data()
    }

    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write per record: a crash leaves at most one torn last line,
        // which replay ignores.
        self.file.write_all(&line)
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    /// Replaces the journal by `keep` (temp file, fsync, rename), once the
    /// results file holds everything else it said. Keeps it O(pending)
    /// rather than O(run).
    pub fn compact(&mut self, keep: &[Record]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for r in keep {
            serde_json::to_writer(&mut bytes, r).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
        }
        super::write_atomic(&self.path, &bytes)?;
        self.file = OpenOptions::new().append(true).read(true).open(&self.path)?;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every record; a torn last line (a crash mid-write) is skipped.
    pub fn read(path: &Path) -> std::io::Result<Vec<Record>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            if let Ok(r) = serde_json::from_str::<Record>(&line) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The latest state per row key.
    pub fn replay(records: Vec<Record>) -> HashMap<String, Replayed> {
        let mut out = HashMap::new();
        for r in records {
            let key = r.key().to_owned();
            let state = match r {
                Record::Intent { hash, idempotency_key, path, body, .. } => {
                    // An intent with the key of an accepted create is a resend
                    // of that request (HeyGen replays it): the answer stands.
                    if let Some(Replayed::Accepted { hash: h, idempotency_key: k, .. }) =
                        out.get(&key)
                        && *h == hash
                        && (k.is_empty() || *k == idempotency_key)
                    {
                        continue;
                    }
                    Replayed::Unanswered { hash, idempotency_key, path, body }
                }
                Record::Accepted { hash, video_id, at, idempotency_key, .. } => {
                    Replayed::Accepted { hash, video_id, at, idempotency_key }
                }
                Record::Refused { hash, idempotency_key, code, message, .. } => {
                    Replayed::Refused { hash, idempotency_key, code, message }
                }
                // Outcomes of accepted videos are applied onto entries
                // ([`apply`]); the create question is settled.
                Record::Completed { .. } | Record::Failed { .. } | Record::Downloaded { .. } => {
                    continue;
                }
            };
            out.insert(key, state);
        }
        out
    }

    /// Removes the journal once the results file holds everything in it.
    pub fn remove(path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(key: &str, hash: &str) -> Record {
        Record::Intent {
            key: key.into(),
            hash: hash.into(),
            idempotency_key: format!("rf:x:{key}:{hash}"),
            path: "/v3/videos".into(),
            body: serde_json::json!({"type": "avatar"}),
            at: "t".into(),
        }
    }

    #[test]
    fn intents_written_from_bytes_read_back_as_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json.journal");
        let body = br#"{"type":"avatar","script":"say \"hi\"","n":1.5,"z":[1,{"a":null}]}"#;
        let intent = |key| Intent {
            key,
            hash: "h",
            idempotency_key: "rf:c:k:h",
            path: "/v3/videos",
            body,
            at: "2026-01-01T00:00:00Z",
        };
        let mut j = Journal::open(&p).unwrap();
        j.append_intents([intent("a\"1"), intent("b")].into_iter()).unwrap();
        j.append_intent(&intent("c")).unwrap();
        let want = |key: &str| Record::Intent {
            key: key.into(),
            hash: "h".into(),
            idempotency_key: "rf:c:k:h".into(),
            path: "/v3/videos".into(),
            body: serde_json::from_slice(body).unwrap(),
            at: "2026-01-01T00:00:00Z".into(),
        };
        let text = std::fs::read_to_string(&p).unwrap();
        let expected: String = ["a\"1", "b", "c"]
            .iter()
            .map(|k| serde_json::to_string(&want(k)).unwrap() + "\n")
            .collect();
        assert_eq!(text, expected, "the same bytes as serializing the records");
        assert_eq!(Journal::read(&p).unwrap(), vec![want("a\"1"), want("b"), want("c")]);
    }

    #[test]
    fn replay_keeps_the_latest_word_per_row_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json.journal");
        let mut j = Journal::open(&p).unwrap();
        j.append(&intent("a", "h1")).unwrap();
        j.append(&Record::Accepted {
            key: "a".into(),
            hash: "h1".into(),
            video_id: "v1".into(),
            at: "t".into(),
            idempotency_key: "rf:x:a:h1".into(),
        })
        .unwrap();
        j.append(&intent("a", "h1")).unwrap();
        j.append(&intent("b", "h2")).unwrap();
        j.append(&intent("c", "h3")).unwrap();
        j.append(&Record::Refused {
            key: "c".into(),
            hash: "h3".into(),
            idempotency_key: "rf:x:c:h3".into(),
            code: "invalid_parameter".into(),
            message: "m".into(),
        })
        .unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"event":"accepted","key":"b","ha"#).unwrap();
        drop(f);
        // The next run appends after the torn line without losing a record.
        let mut again = Journal::open(&p).unwrap();
        again.append(&intent("d", "h4")).unwrap();
        let records = Journal::read(&p).unwrap();
        let state = Journal::replay(records);
        assert!(
            matches!(&state["d"], Replayed::Unanswered { .. }),
            "the record after a torn line survives"
        );
        assert!(matches!(&state["a"], Replayed::Accepted { video_id, .. } if video_id == "v1"));
        assert!(
            matches!(&state["b"], Replayed::Unanswered { idempotency_key, .. } if idempotency_key == "rf:x:b:h2")
        );
        assert!(matches!(&state["c"], Replayed::Refused { .. }));
        assert_eq!(
            journal_path(Path::new("out/x.results.json")),
            Path::new("out/x.results.json.journal")
        );
    }

    #[test]
    fn apply_replays_outcomes_onto_entries_and_is_idempotent() {
        let mut entries = BTreeMap::new();
        entries.insert("a".to_string(), Entry::new("a".into(), 2, "h1".into()));
        let records = vec![
            intent("a", "h1"),
            Record::Accepted {
                key: "a".into(),
                hash: "h1".into(),
                video_id: "v1".into(),
                at: "t0".into(),
                idempotency_key: "k".into(),
            },
            Record::Completed {
                key: "a".into(),
                video_id: "v1".into(),
                duration_secs: Some(3.0),
                cost_usd: Some(0.2),
                video_url: Some("u".into()),
                captioned_video_url: None,
                subtitle_url: None,
                thumbnail_url: Some("t".into()),
                video_page_url: None,
                at: "t1".into(),
            },
            Record::Downloaded {
                key: "a".into(),
                video_id: "v1".into(),
                file: Some("out/a.mp4".into()),
                file_bytes: Some(10),
                captions_file: None,
                thumbnail_file: Some("out/a.jpg".into()),
            },
            // An outcome for another video of the row is stale: ignored.
            Record::Failed {
                key: "a".into(),
                video_id: "v0".into(),
                code: "x".into(),
                message: "m".into(),
                at: "t".into(),
            },
        ];
        apply_all(&mut entries, &records);
        let once = entries.clone();
        let e = &once["a"];
        assert_eq!(e.status, EntryStatus::Completed);
        assert_eq!(e.video_id.as_deref(), Some("v1"));
        assert_eq!((e.file.as_deref(), e.file_bytes), (Some("out/a.mp4"), Some(10)));
        assert_eq!(e.thumbnail_file.as_deref(), Some("out/a.jpg"));
        assert_eq!(e.cost_usd, Some(0.2));
        apply_all(&mut entries, &records);
        assert_eq!(entries, once, "replaying onto a state that has it changes nothing");
        let failed = Record::Failed {
            key: "a".into(),
            video_id: "v1".into(),
            code: "rendering_failed".into(),
            message: "m".into(),
            at: "t".into(),
        };
        let mut f = BTreeMap::new();
        let mut rendering = Entry::new("a".into(), 2, "h1".into());
        rendering.video_id = Some("v1".into());
        rendering.status = EntryStatus::Rendering;
        f.insert("a".to_string(), rendering);
        assert!(apply(&mut f, &failed));
        assert!(!apply(&mut f, &failed), "a failure bumps the key generation once");
        assert_eq!(f["a"].key_generation, 1);
    }
}
