//! Validation: expanding rows into jobs and checking each one offline
//! (HeyGen's documented rules) and against the account's catalog, so that a
//! run never spends credit on a request HeyGen would reject.

pub mod catalog;
mod fields;
pub mod pipeline;

use std::path::PathBuf;

use crate::dataset::Dataset;
use crate::diag::Diagnostic;
use crate::heygen::rules;
use crate::manifest::LoadedManifest;
use crate::render::{Compiled, Job, JobRequest, Uniqueness};

pub use fields::manifest_field;

/// Streams a manifest's dataset as checked jobs, one row at a time.
pub struct Expansion {
    compiled: Compiled,
    dataset: Dataset,
    unique: Uniqueness,
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
        Ok(Expansion { compiled, dataset, unique: Uniqueness::default(), rows: 0, skipped: 0 })
    }

    /// The compiled manifest.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The manifest.
    pub fn manifest(&self) -> &LoadedManifest {
        self.compiled.manifest()
    }

    /// The dataset file.
    pub fn csv_path(&self) -> PathBuf {
        self.dataset.path().to_owned()
    }

    /// The next row's outcome; `None` at the end of the data.
    pub fn next_row(&mut self) -> Option<RowOutcome> {
        let row = self.dataset.next_row()?;
        self.rows += 1;
        let row = match row {
            Ok(row) => row,
            Err(d) => return Some(RowOutcome::Invalid(vec![d])),
        };
        let job = match self.compiled.render(row) {
            Ok(Some(job)) => job,
            Ok(None) => {
                self.skipped += 1;
                return Some(RowOutcome::Skipped);
            }
            Err(problems) => return Some(RowOutcome::Invalid(problems)),
        };
        let mut problems = self.unique.check(&job, self.compiled.manifest());
        problems.extend(offline_checks(&job, self.manifest()));
        Some(RowOutcome::Job(Box::new(job), problems))
    }
}

/// HeyGen's documented rules on the rendered request, reported against the
/// manifest field each value came from.
pub fn offline_checks(job: &Job, m: &LoadedManifest) -> Vec<Diagnostic> {
    let violations = match &job.request {
        JobRequest::Video(r) => rules::check_create(r),
        JobRequest::Template { body, .. } => rules::check_generate(body),
    };
    violations
        .into_iter()
        .map(|v| {
            let field = manifest_field(m, &job.request, &v.param);
            m.error_at(&field, v.message).row(job.row_ref())
        })
        .collect()
}
