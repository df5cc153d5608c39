//! The whole check of a manifest: load → expand → offline checks →
//! catalog checks, reporting every problem of every row at once.

use std::path::PathBuf;
use std::time::Duration;

use super::catalog::{self, CatalogIndex, Source};
use super::{Expansion, RowOutcome};
use crate::diag::{Diagnostic, Problems};
use crate::heygen::Client;
use crate::manifest::LoadedManifest;
use crate::render::Job;

/// Where the catalog comes from (absent with `--offline`).
#[derive(Debug, Clone)]
pub struct CatalogSource {
    /// The account's client.
    pub client: Client,
    /// Cache folder; `None` to skip the disk.
    pub cache: Option<PathBuf>,
    /// Cache lifetime.
    pub ttl: Duration,
    /// Ignore the cache.
    pub refresh: bool,
}

/// What checking found.
#[derive(Debug)]
pub struct Checked {
    /// Every problem, grouped.
    pub problems: Problems,
    /// Data rows read.
    pub rows: u64,
    /// Rows skipped by `data.where`.
    pub skipped: u64,
    /// Jobs that passed every check.
    pub valid_jobs: u64,
    /// The catalog, when one was consulted.
    pub catalog: Option<CatalogIndex>,
    /// How the catalog was obtained.
    pub catalog_source: Option<Source>,
    /// The dataset file.
    pub csv: PathBuf,
}

/// Why checking could not even start.
#[derive(Debug)]
pub enum CheckError {
    /// The manifest, its templates or the dataset's header are broken.
    Invalid(Vec<Diagnostic>),
    /// The catalog could not be fetched.
    Api(crate::heygen::Error),
}

/// Checks `manifest`. Each job that passes every check goes to `on_job`
/// (with the catalog, when consulted); `progress` hears the row count now
/// and then.
pub async fn check(
    manifest: LoadedManifest,
    source: Option<CatalogSource>,
    on_job: impl FnMut(Job, Option<&CatalogIndex>),
    progress: impl FnMut(u64),
) -> Result<Checked, CheckError> {
    check_for(manifest, None, source, on_job, progress).await
}

/// [`check`] for jobs that will be planned on `account`: each job's hash
/// is computed on the expansion workers (every core) instead of by the
/// planner.
pub async fn check_for(
    manifest: LoadedManifest,
    account: Option<&str>,
    source: Option<CatalogSource>,
    mut on_job: impl FnMut(Job, Option<&CatalogIndex>),
    mut progress: impl FnMut(u64),
) -> Result<Checked, CheckError> {
    let mut expansion = Expansion::open(manifest).map_err(CheckError::Invalid)?;
    if let Some(account) = account {
        expansion.hash_for(account);
    }
    let mut problems = Problems::default();
    let (mut index, catalog_source) = match &source {
        None => (None, None),
        Some(s) => {
            let (cat, how) = catalog::load(&s.client, s.cache.clone(), s.ttl, s.refresh)
                .await
                .map_err(CheckError::Api)?;
            let mut idx = CatalogIndex::new(cat);
            for d in
                idx.load_template(&s.client, expansion.manifest()).await.map_err(CheckError::Api)?
            {
                problems.push(d);
            }
            (Some(idx), Some(how))
        }
    };
    let mut valid = 0u64;
    while let Some(outcome) = expansion.next_row() {
        if expansion.rows % 10_000 == 0 {
            progress(expansion.rows);
        }
        match outcome {
            RowOutcome::Skipped => {}
            RowOutcome::Invalid(ds) => ds.into_iter().for_each(|d| problems.push(d)),
            RowOutcome::Job(job, mut found) => {
                // Catalog checks run even when offline checks failed, so
                // one pass reports every problem of the row.
                if let Some(idx) = index.as_mut() {
                    found.extend(idx.check_job(&job, expansion.manifest(), expansion.provenance()));
                }
                if found.is_empty() {
                    valid += 1;
                    on_job(*job, index.as_ref());
                } else {
                    found.into_iter().for_each(|d| problems.push(d));
                }
            }
        }
    }
    progress(expansion.rows);
    Ok(Checked {
        problems,
        rows: expansion.rows,
        skipped: expansion.skipped,
        valid_jobs: valid,
        catalog: index,
        catalog_source,
        csv: expansion.csv_path(),
    })
}
