//! Shared steps of the manifest commands: loading with diagnostics,
//! choosing the catalog source, running the checks with progress.

use std::path::Path;
use std::time::Duration;

use super::context::Context;
use super::failure::Failure;
use crate::diag::Problems;
use crate::exit;
use crate::manifest::{LoadedManifest, load};
use crate::render::Job;
use crate::validate::catalog::{CatalogIndex, DEFAULT_TTL};
use crate::validate::pipeline::{self, CatalogSource, CheckError, Checked};

/// Loads a manifest; a broken one is exit 3 with every problem shown.
pub fn load_manifest(path: &Path) -> Result<LoadedManifest, Failure> {
    load(path).map_err(|e| invalid_manifest(path, &e.diagnostics))
}

/// Exit 3: the manifest (or its templates, or its CSV's header) cannot be
/// used; every problem is shown.
fn invalid_manifest(path: &Path, problems: &[crate::diag::Diagnostic]) -> Failure {
    let n = problems.len();
    let mut f = Failure::new(
        exit::INVALID_INPUT,
        "invalid_manifest",
        format!("{} cannot be used ({n} problem{})", path.display(), plural(n)),
    );
    f.report = Some(problems.iter().map(|d| d.render(None) + "\n").collect());
    f.json_detail = Some(serde_json::json!({ "problems": problems }));
    f
}

/// Exit 2: a command that needs a run's results before there are any.
pub fn no_results(ctx: &Context, results: &Path, manifest: &Path) -> Failure {
    Failure::new(exit::USAGE, "no_results", format!("no results at {} yet", results.display()))
        .hint(format!(
            "`{}` makes them",
            super::failure::command_line(&ctx.global, &["run", &manifest.display().to_string()])
        ))
}

/// The campaign's state: its results file, shard files and journals,
/// merged. Every command that reads state goes through here.
pub fn load_state(m: &LoadedManifest) -> Result<crate::results::CampaignState, Failure> {
    crate::results::CampaignState::load(&m.results_path()).map_err(Failure::from)
}

/// Locks the campaign's state for a process that writes the rows of
/// `shard` (every row: `None`); refuses while another one writes them.
pub fn lock_state(
    m: &LoadedManifest,
    shard: Option<crate::plan::Shard>,
) -> Result<crate::results::lock::StateLock, Failure> {
    use crate::results::lock::LockError;
    crate::results::lock::lock_state(&m.results_path(), shard).map_err(|e| match e {
        LockError::Busy { message, hint } => {
            Failure::new(exit::FAILURE, "state_locked", message).hint(hint)
        }
        e @ LockError::Io { .. } => Failure::new(exit::FAILURE, "io_error", e.to_string()),
    })
}

/// Checks a manifest and plans each valid job (of `shard`) against the
/// previous results. Row problems are exit 4, and nothing is planned.
pub async fn plan_jobs(
    ctx: &Context,
    m: &LoadedManifest,
    source: Option<CatalogSource>,
    previous: Option<&crate::results::ResultsFile>,
    account: &str,
    shard: Option<crate::plan::Shard>,
    retry_failed: bool,
) -> Result<(Vec<crate::plan::PlannedJob>, crate::plan::PlanSummary, Vec<String>), Failure> {
    let mut planner = crate::plan::Planner::new(previous, account, retry_failed);
    let mut jobs = Vec::new();
    let checked = check(ctx, m.clone(), source, |job, catalog| {
        if shard.is_none_or(|s| s.contains(&job.key)) {
            jobs.push(planner.add(job, catalog));
        }
    })
    .await?;
    if checked.problems.error_count() > 0 {
        return Err(validation_failure(&checked.problems, &checked.csv, checked.rows));
    }
    let (mut summary, orphans) = planner.finish();
    summary.skipped_by_filter = checked.skipped;
    Ok((jobs, summary, orphans))
}

/// `s` when `n` is not 1.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The catalog source for a manifest, or `None` when offline.
pub fn catalog_source(
    ctx: &Context,
    m: &LoadedManifest,
    offline: bool,
    refresh: bool,
) -> Result<Option<CatalogSource>, Failure> {
    if offline {
        return Ok(None);
    }
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let client = ctx.client(Some(&account)).map_err(|f| {
        // Keep the account's own hint (it names the variable to set).
        let first = f.hint.clone().map(|h| format!("{h}; ")).unwrap_or_default();
        let sim = if first.contains("--sim") { "" } else { ", or --sim" };
        f.hint(format!("{first}or pass --offline to check without the catalog{sim}"))
    })?;
    let ttl = ctx.config.catalog_ttl.unwrap_or(DEFAULT_TTL);
    let cache = if ctx.simulated() { None } else { ctx.config.cache_dir.clone() };
    Ok(Some(CatalogSource { client, cache, ttl, refresh }))
}

/// Runs every check; manifest-level problems are exit 3, API trouble the
/// API's code. Row problems are left in the result for the caller.
pub async fn check(
    ctx: &Context,
    m: LoadedManifest,
    source: Option<CatalogSource>,
    on_job: impl FnMut(Job, Option<&CatalogIndex>),
) -> Result<Checked, Failure> {
    let path = m.path.clone();
    let bar = progress(ctx);
    let account = ctx.manifest_account(m.manifest.account.as_deref()).ok();
    let result = pipeline::check_for(m, account.as_deref(), source, on_job, |n| {
        if let Some(b) = &bar {
            b.set_message(format!("{n} rows checked"));
        }
    })
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(c) => Ok(c),
        Err(CheckError::Invalid(ds)) => Err(invalid_manifest(&path, &ds)),
        Err(CheckError::Api(e)) => {
            let f = Failure::from(e);
            // A rejected key is fixed by fixing the key, not by skipping the catalog.
            if f.exit == exit::AUTH_ERROR {
                return Err(f);
            }
            Err(f.hint("fetching the catalog failed; --offline checks without it"))
        }
    }
}

/// The failure for rows with problems: exit 4, nothing submitted.
pub fn validation_failure(problems: &Problems, csv: &Path, rows: u64) -> Failure {
    let n = problems.error_count();
    let mut f = Failure::new(
        exit::VALIDATION_FAILED,
        "validation_failed",
        format!(
            "{n} problem{} in {rows} row{}; nothing was submitted",
            plural(n as usize),
            plural(rows as usize)
        ),
    );
    f.report = Some(problems.render(Some(csv)));
    f.json_detail = Some(problems.to_json());
    f
}

/// A spinner on stderr for long checks (TTY only, never with `--json`).
fn progress(ctx: &Context) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if ctx.global.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("checking rows");
    Some(bar)
}
