//! One writer per campaign state: OS file locks beside the results file,
//! released by the OS when the process ends (even by SIGKILL).
//!
//! A run or `status` without `--shard` writes the main results file from
//! the union of every file, so it excludes every other writer. Shard runs
//! of one layout (`1/4` … `4/4`) run side by side (a CI matrix on one
//! machine), but never two processes on the same shard, and never shards
//! of two layouts at once (`1/2` and `1/3` share rows).
//!
//! Locks: `<results>.lock` is held by a run without `--shard` for its whole
//! life, and by a shard run only while it checks the others (a gate);
//! `<shard file>.lock` is held by that shard's run. Lock files stay on
//! disk (removing one would race with a process about to lock it); they
//! are not state and belong in `.gitignore`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::plan::Shard;

/// Why the state could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another reelflow process is writing this campaign's state.
    #[error("{message}")]
    Busy {
        /// What is running.
        message: String,
        /// What to do.
        hint: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Held while a process may write the campaign's state; dropping it (or
/// the process ending) releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _held: File,
}

/// The lock file of a results file (the main one or a shard's).
pub fn lock_path(results: &Path) -> PathBuf {
    let mut name = results.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    results.with_file_name(name)
}

/// How long to wait for the gate: shard runs hold it for milliseconds, so
/// a longer wait means a run without `--shard` holds it.
const GATE_WAIT: Duration = Duration::from_secs(3);

/// Locks the campaign whose main results file is `main` for writing by a
/// run (or `status`) of `shard` (`None`: every row). Refuses, without
/// waiting, when another process writes rows this one would.
pub fn lock_state(main: &Path, shard: Option<Shard>) -> Result<StateLock, LockError> {
    let gate_path = lock_path(main);
    let gate = open(&gate_path)?;
    let deadline = Instant::now() + GATE_WAIT;
    loop {
        match gate.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Busy {
                    message: format!(
                        "another reelflow process (a `run` or `status` without --shard) is writing {}",
                        main.display()
                    ),
                    hint: "wait for it to finish, then run again; nothing was submitted".into(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(LockError::Io { path: gate_path, source });
            }
        }
    }
    // With the gate held, no other process can start; see who is running.
    for (path, (i, n)) in shard_lock_files(main) {
        if shard.is_some_and(|s| s.count == n && s.index != i) {
            continue; // a sibling of the same layout: its rows are not ours
        }
        let f = open(&path)?;
        match f.try_lock() {
            Ok(()) => drop(f),
            Err(TryLockError::WouldBlock) => {
                let message = match shard {
                    Some(s) if s.count == n => {
                        format!("shard {i}/{n} is already running in another reelflow process")
                    }
                    Some(s) => format!(
                        "shard {i}/{n} is running in another reelflow process; shard {s} would share rows with it (a different shard layout)"
                    ),
                    None => format!(
                        "shard {i}/{n} is running in another reelflow process; a run without --shard would share its rows"
                    ),
                };
                return Err(LockError::Busy {
                    message,
                    hint: format!(
                        "wait for it to finish (or run with --shard I/{n} for the other shards); nothing was submitted"
                    ),
                });
            }
            Err(TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
        }
    }
    let Some(s) = shard else { return Ok(StateLock { _held: gate }) };
    let own_path = lock_path(&super::shard_path(main, s.index, s.count));
    let own = open(&own_path)?;
    match own.try_lock() {
        Ok(()) => Ok(StateLock { _held: own }),
        Err(TryLockError::WouldBlock) => Err(LockError::Busy {
            message: format!("shard {s} is already running in another reelflow process"),
            hint: "wait for it to finish; nothing was submitted".into(),
        }),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path: own_path, source }),
    }
    // The gate is released here, when `gate` drops.
}

fn open(path: &Path) -> Result<File, LockError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| LockError::Io { path: path.to_owned(), source })?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| LockError::Io { path: path.to_owned(), source })
}

/// The lock files of the campaign's shards that exist, with their shard.
fn shard_lock_files(main: &Path) -> Vec<(PathBuf, (u32, u32))> {
    let dir = match main.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut out: Vec<(PathBuf, (u32, u32))> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let shard = super::state::parse_shard_name(main, name.strip_suffix(".lock")?)?;
                    Some((e.path(), shard))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(s: &str) -> Option<Shard> {
        Some(Shard::parse(s).unwrap())
    }

    #[test]
    fn shards_of_one_layout_share_and_everything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("c.results.json");
        let one = lock_state(&main, shard("1/2")).unwrap();
        let two = lock_state(&main, shard("2/2")).unwrap();
        for (other, what) in [
            (shard("1/2"), "already running"),
            (shard("1/3"), "different shard layout"),
            (None, "without --shard would share"),
        ] {
            let err = lock_state(&main, other).unwrap_err();
            assert!(err.to_string().contains(what), "{other:?}: {err}");
        }
        drop((one, two));
        let all = lock_state(&main, None).unwrap();
        assert!(lock_state(&main, shard("1/3")).is_err(), "a run without --shard excludes shards");
        drop(all);
        assert!(lock_state(&main, shard("1/3")).is_ok(), "released on drop");
    }
}
