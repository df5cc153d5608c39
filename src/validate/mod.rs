//! Validation: expanding rows into jobs and checking each one offline
//! (HeyGen's documented rules) and against the account's catalog, so that a
//! run never spends credit on a request HeyGen would reject.

pub mod catalog;
mod fields;
pub mod pipeline;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::dataset::{Dataset, RawRows, Row};
use crate::diag::Diagnostic;
use crate::expand::{Provenance, RowIds};
use crate::heygen::rules;
use crate::manifest::LoadedManifest;
use crate::render::{Compiled, Job, JobRequest, Uniqueness};

pub use fields::manifest_field;

/// Rows per unit of work handed to a worker: large enough that channel
/// traffic is noise, small enough that memory stays flat.
const CHUNK: usize = 256;

/// Chunk buffers kept for reuse: more than are in flight at once on a
/// machine of a few cores; beyond that they are freed.
const SPARE: usize = 16;

/// Chunks in flight per worker (read ahead, being expanded, waiting to be
/// taken in order): bounds memory whatever the row count.
const IN_FLIGHT: usize = 2;

/// Streams a manifest's dataset as checked jobs, one row at a time.
///
/// Rows are expanded on every core: one thread reads the CSV in chunks,
/// workers render, build, check and hash each chunk, and [`next_row`]
/// hands the outcomes back in file order. Only the checks across rows
/// (duplicate keys and paths) run on the caller's thread, in order, so
/// outcomes and diagnostics are the same as a sequential run's.
///
/// [`next_row`]: Expansion::next_row
pub struct Expansion {
    compiled: Arc<Compiled>,
    dataset: Option<Dataset>,
    csv: PathBuf,
    unique: Uniqueness,
    account: Option<Arc<str>>,
    threads: usize,
    pipeline: Option<Pipeline>,
    /// Chunks that arrived before their turn, and where each ends.
    early: BTreeMap<u64, (Vec<Expanded>, u64)>,
    /// Where in the file the rows taken so far end, of `size` bytes.
    offset: u64,
    size: u64,
    current: VecDeque<Expanded>,
    next_chunk: u64,
    /// Data rows read.
    pub rows: u64,
    /// Rows `data.where` skipped.
    pub skipped: u64,
}

impl std::fmt::Debug for Expansion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expansion").field("rows", &self.rows).finish_non_exhaustive()
    }
}

/// What one row became.
#[derive(Debug)]
pub enum RowOutcome {
    /// A job, with the problems the offline checks found (none when valid).
    Job(Box<Job>, Vec<Diagnostic>),
    /// Skipped by `data.where`.
    Skipped,
    /// Problems; the row yields no job.
    Invalid(Vec<Diagnostic>),
}

/// A row as a worker left it: everything but the checks across rows.
enum Expanded {
    Job(Box<Job>, Vec<Diagnostic>, RowIds),
    Skipped,
    Invalid(Vec<Diagnostic>),
}

/// Rows as the reader hands them to workers (raw: a few buffers), and how
/// far into the file they go.
struct Chunk {
    rows: RawRows,
    offset: u64,
}

/// Chunk buffers workers are done with, for the reader to fill again:
/// buffers freed on one thread and allocated anew on another would keep
/// the allocator taking fresh pages from the system.
type Spare = Mutex<Vec<RawRows>>;

/// A worker's chunk, or the panic that stopped it (re-raised on the
/// caller's thread: a bug must not pass for the end of the data), and how
/// far into the file it goes.
type Done = (std::thread::Result<Vec<Expanded>>, u64);

/// The reader and worker threads, and where their results arrive.
struct Pipeline {
    results: Receiver<(u64, Done)>,
}

/// Expands one row: render, build, offline checks. A pure function of the
/// row, so any thread may run it.
fn expand(compiled: &Compiled, row: Result<Row, Diagnostic>) -> Expanded {
    let row = match row {
        Ok(row) => row,
        Err(d) => return Expanded::Invalid(vec![d]),
    };
    let job = match compiled.render(row) {
        Ok(Some(job)) => job,
        Ok(None) => return Expanded::Skipped,
        Err(problems) => return Expanded::Invalid(problems),
    };
    let problems = offline_checks(&job, compiled.manifest(), compiled.provenance());
    let ids = RowIds::of(&job);
    Expanded::Job(Box::new(job), problems, ids)
}

/// Expands a chunk of rows, then hashes its jobs for `account` together:
/// hashing many short bodies at once is several times faster than one by
/// one (see [`crate::expand::lanes`]), and the hashes are the same.
fn expand_chunk(
    compiled: &Compiled,
    account: Option<&str>,
    csv: &Path,
    rows: &RawRows,
) -> Vec<Expanded> {
    let rows = rows.rows(csv, compiled.header());
    let mut out: Vec<Expanded> = rows.map(|row| expand(compiled, row)).collect();
    let Some(account) = account else { return out };
    thread_local! {
        /// The chunk's hashed bytes, reused chunk after chunk: a fresh
        /// buffer this size would be fresh pages from the system each time.
        static INPUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let hashes = INPUT.with_borrow_mut(|input| {
        input.clear();
        let mut ends = Vec::with_capacity(out.len());
        for e in &out {
            if let Expanded::Job(job, ..) = e {
                crate::plan::job_hash_input(job, account, input);
                ends.push(input.len());
            }
        }
        let mut start = 0;
        let messages: Vec<&[u8]> = ends
            .iter()
            .map(|&end| {
                let m = &input[start..end];
                start = end;
                m
            })
            .collect();
        crate::expand::lanes::hash_many(&messages)
    });
    let mut hashes = hashes.into_iter();
    let tag = crate::expand::account_tag(account);
    for e in &mut out {
        if let Expanded::Job(job, ..) = e {
            let hash = hashes.next().map(|h| h.to_hex().to_string());
            job.digest = hash.map(|h| (tag, h));
        }
    }
    out
}

impl Expansion {
    /// Opens the dataset and compiles the manifest's templates against its
    /// header. Problems here concern the whole manifest.
    pub fn open(manifest: LoadedManifest) -> Result<Expansion, Vec<Diagnostic>> {
        let csv = manifest.csv_path();
        let dataset = Dataset::open(&csv).map_err(|d| {
            vec![if d.location.is_none() {
                d.field("data.csv").at(manifest.location("data.csv"))
            } else {
                d
            }]
        })?;
        let compiled = Compiled::new(manifest, dataset.header().clone())?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let size = std::fs::metadata(dataset.path()).map_or(0, |m| m.len());
        Ok(Expansion {
            compiled: Arc::new(compiled),
            csv: dataset.path().to_owned(),
            dataset: Some(dataset),
            unique: Uniqueness::default(),
            account: None,
            threads,
            pipeline: None,
            early: BTreeMap::new(),
            offset: 0,
            size,
            current: VecDeque::new(),
            next_chunk: 0,
            rows: 0,
            skipped: 0,
        })
    }

    /// Hashes each job for `account` on the workers (see
    /// [`crate::plan::job_hash`]). Call before the first row.
    pub fn hash_for(&mut self, account: &str) {
        self.account = Some(Arc::from(account));
    }

    /// Expands on `n` threads (at least one); the default is one per core.
    /// Call before the first row.
    pub fn threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// The compiled manifest.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The manifest.
    pub fn manifest(&self) -> &LoadedManifest {
        self.compiled.manifest()
    }

    /// Which manifest field each request field was built from.
    pub fn provenance(&self) -> &Provenance {
        self.compiled.provenance()
    }

    /// The dataset file.
    pub fn csv_path(&self) -> PathBuf {
        self.csv.clone()
    }

    /// Starts the reader and the workers.
    fn start(&mut self) -> Option<&Pipeline> {
        if self.pipeline.is_none() {
            let mut dataset = self.dataset.take()?;
            let workers = self.threads;
            let (work_tx, work_rx) = sync_channel::<(u64, Chunk)>(IN_FLIGHT * workers);
            let (done_tx, done_rx) = sync_channel::<(u64, Done)>(IN_FLIGHT * workers);
            let spare: Arc<Spare> = Arc::default();
            let reader_spare = spare.clone();
            std::thread::spawn(move || read_chunks(&mut dataset, &work_tx, &reader_spare));
            let work_rx = Arc::new(Mutex::new(work_rx));
            let csv: Arc<Path> = Arc::from(self.csv.as_path());
            for _ in 0..workers {
                let (work, done) = (work_rx.clone(), done_tx.clone());
                let (compiled, account) = (self.compiled.clone(), self.account.clone());
                let (csv, spare) = (csv.clone(), spare.clone());
                std::thread::spawn(move || {
                    work_chunks(&compiled, account.as_deref(), &csv, &work, &done, &spare)
                });
            }
            self.pipeline = Some(Pipeline { results: done_rx });
        }
        self.pipeline.as_ref()
    }

    /// The next expanded row, in file order.
    fn next_expanded(&mut self) -> Option<Expanded> {
        loop {
            if let Some(e) = self.current.pop_front() {
                return Some(e);
            }
            if let Some((chunk, offset)) = self.early.remove(&self.next_chunk) {
                self.next_chunk += 1;
                self.current.extend(chunk);
                self.offset = offset;
                continue;
            }
            // Every sender gone: the data is exhausted.
            let (seq, (chunk, offset)) = self.start()?.results.recv().ok()?;
            match chunk {
                Ok(chunk) => self.early.insert(seq, (chunk, offset)),
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
    }

    /// The next row's outcome; `None` at the end of the data.
    pub fn next_row(&mut self) -> Option<RowOutcome> {
        let expanded = self.next_expanded()?;
        self.rows += 1;
        Some(match expanded {
            Expanded::Skipped => {
                self.skipped += 1;
                RowOutcome::Skipped
            }
            Expanded::Invalid(problems) => RowOutcome::Invalid(problems),
            Expanded::Job(job, mut offline, ids) => {
                if self.unique.full() {
                    self.expect_rows();
                }
                let mut problems = self.unique.check_ids(&job, &ids, self.compiled.manifest());
                problems.append(&mut offline);
                RowOutcome::Job(job, problems)
            }
        })
    }
}

impl Expansion {
    /// Before the duplicate checks' tables grow: once a tenth of the file
    /// is read, the rows so far tell how many jobs the whole file holds
    /// (rows have similar lengths), and the tables grow to that at once.
    fn expect_rows(&mut self) {
        if self.offset > 0 && self.offset >= self.size / 10 {
            let seen = self.unique.len() as u128;
            let total = seen * u128::from(self.size) / u128::from(self.offset);
            self.unique.expect(usize::try_from(total).unwrap_or(usize::MAX));
        }
    }
}

/// The reader thread: the CSV in numbered chunks. Stops at the end of the
/// data or when the expansion is dropped.
fn read_chunks(dataset: &mut Dataset, work: &SyncSender<(u64, Chunk)>, spare: &Spare) {
    for seq in 0u64.. {
        let mut rows = spare.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default();
        rows.clear();
        dataset.read_raw(CHUNK, &mut rows);
        let last = rows.len() < CHUNK;
        let chunk = Chunk { rows, offset: dataset.offset() };
        if (!chunk.rows.is_empty() && work.send((seq, chunk)).is_err()) || last {
            return;
        }
    }
}

/// A worker thread: expands chunks until the reader is done or the
/// expansion is dropped.
fn work_chunks(
    compiled: &Compiled,
    account: Option<&str>,
    csv: &Path,
    work: &Mutex<Receiver<(u64, Chunk)>>,
    done: &SyncSender<(u64, Done)>,
    spare: &Spare,
) {
    loop {
        let next = work.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((seq, chunk)) = next else { return };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            expand_chunk(compiled, account, csv, &chunk.rows)
        }));
        let mut spare = spare.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE {
            spare.push(chunk.rows);
        }
        drop(spare);
        let stop = out.is_err();
        if done.send((seq, (out, chunk.offset))).is_err() || stop {
            return;
        }
    }
}

/// HeyGen's documented rules on the rendered request, reported against the
/// manifest field each value came from.
pub fn offline_checks(job: &Job, m: &LoadedManifest, p: &Provenance) -> Vec<Diagnostic> {
    let violations = match &job.request {
        JobRequest::Video(r) => rules::check_create(r),
        JobRequest::Template { body, .. } => rules::check_generate(body),
    };
    violations
        .into_iter()
        .map(|v| {
            let field = manifest_field(p, &v.param);
            m.error_at(&field, v.message).row(job.row_ref())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest over `rows` generated rows, in a temporary folder.
    fn expansion(csv: &str, download: &str) -> (tempfile::TempDir, Expansion) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), csv).unwrap();
        let manifest = format!(
            "version: 1\nname: t\ndata:\n  csv: data.csv\n  key: \"{{{{ email }}}}\"\nvideo:\n  scenes:\n    - avatar: \"{{{{ look }}}}\"\n      script: \"Hi {{{{ name | trim }}}}\"\noutput:\n  download: \"{download}\"\n"
        );
        let path = dir.path().join("manifest.yaml");
        std::fs::write(&path, manifest).unwrap();
        let loaded = crate::manifest::load(&path).unwrap();
        let e = Expansion::open(loaded).unwrap();
        (dir, e)
    }

    /// Every outcome in file order, with its problems' messages.
    fn outcomes(mut e: Expansion) -> Vec<(usize, Vec<String>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(o) = e.next_row() {
            i += 1;
            let messages = match o {
                RowOutcome::Job(job, ps) => {
                    assert_eq!(job.line as usize, i + 1, "rows come back in file order");
                    ps.into_iter().map(|d| d.message).collect()
                }
                RowOutcome::Invalid(ps) => ps.into_iter().map(|d| d.message).collect(),
                RowOutcome::Skipped => vec!["skipped".into()],
            };
            out.push((i, messages));
        }
        out
    }

    #[test]
    fn parallel_expansion_matches_one_thread_in_order_and_diagnostics() {
        let mut csv = String::from("email,name,look\n");
        for i in 0..5000 {
            // Blank looks (a problem), a duplicate key and a duplicate path.
            let look = if i % 7 == 0 { "" } else { "Abigail" };
            let email =
                if i == 4000 { "user10@x.com".to_owned() } else { format!("user{i}@x.com") };
            csv.push_str(&format!("{email},N{},{look}\n", i % 4321));
        }
        let (_d1, many) = expansion(&csv, "out/{{ name }}.mp4");
        let (_d2, mut one) = expansion(&csv, "out/{{ name }}.mp4");
        one.threads(1);
        let (a, b) = (outcomes(many), outcomes(one));
        assert_eq!(a.len(), 5000);
        assert_eq!(a, b);
        let dup = &a[4000].1;
        assert!(dup.iter().any(|m| m.contains("duplicate row key")), "{dup:?}");
        assert!(
            a[4322].1.iter().any(|m| m.contains("CSV lines 3 and 4324 download to the same file"))
        );
        assert!(a[7].1.iter().any(|m| m.contains("rendered empty")), "{:?}", a[7]);
    }

    #[test]
    fn a_slug_collision_says_both_rows_slug_to_the_same_name_and_why() {
        let csv =
            "email,name,look\nADA@x.com,Ada,A\nada@x.com,Ada,A\nbo.b@x.com,Bo,A\nbo-b@x.com,Bo,A\n";
        let (_d, e) = expansion(csv, "out/{{ key | slug }}.mp4");
        let out = outcomes(e);
        let case = out[1].1.join("\n");
        assert!(case.contains("CSV lines 2 and 3 download to the same file out/ada-x-com.mp4: both rows slug to the same name, because their keys differ only in letter case"), "{case}");
        let punct = out[3].1.join("\n");
        assert!(
            punct.contains(
                "both rows slug to the same name, because `slug` keeps only letters and digits"
            ),
            "{punct}"
        );
    }
}
