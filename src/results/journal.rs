//! The run journal: append-only JSON lines beside the results file, each
//! record flushed and fsynced before the run goes on.
//!
//! The one rule it exists for: an `intent` is on disk *before* its create
//! request leaves. After a crash, an intent without an `accepted` is sent
//! again with the same Idempotency-Key, so HeyGen replays its first answer
//! instead of creating (and billing) a second video; a row with a video id
//! is followed, never created again.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

impl Record {
    fn key(&self) -> &str {
        match self {
            Record::Intent { key, .. }
            | Record::Accepted { key, .. }
            | Record::Refused { key, .. } => key,
        }
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
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write per record: a crash leaves at most one torn last line,
        // which replay ignores.
        self.file.write_all(&line)?;
        self.file.sync_data()
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
        let state = Journal::replay(Journal::read(&p).unwrap());
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
}
