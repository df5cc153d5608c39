//! `reelflow status`: follow videos a run left rendering, fetch their
//! details and downloads. Submits nothing new.

use super::args::StatusArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{load_manifest, load_state, lock_state, no_results, plan_jobs};
use super::run::{drive, manifest_options, results_path, retry_channel};
use crate::engine::{RunInput, RunOptions};

/// Runs the command.
pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let shard = args.shard;
    let results = results_path(&m, shard);
    if load_state(&m)?.is_empty() {
        // Nothing to follow; and no lock file left behind for nothing.
        return Err(no_results(ctx, &results, &args.manifest));
    }
    // `status` writes results too: one writer per row. The state is read
    // again under the lock.
    let _lock = lock_state(&m, shard)?;
    // Every shard file and journal counts: a video known only to the
    // journal of a killed run is followed like any other.
    let Some(previous) = load_state(&m)?.results_file(shard) else {
        return Err(no_results(ctx, &results, &args.manifest));
    };
    let (observer, retries) = retry_channel();
    let client = ctx.client_with(Some(&account), Some(observer))?;
    // Offline: following needs the rows' download paths, not the catalog.
    let (jobs, _, orphans) =
        plan_jobs(ctx, &m, None, Some(&previous), &account, shard, false).await?;
    let opts =
        RunOptions { follow_only: true, wait: args.wait, ..manifest_options(&m, args.no_download) };
    let input = RunInput {
        campaign: m.manifest.name.clone(),
        account,
        shard: shard.map(|s| s.to_string()),
        jobs,
        previous: Some(previous),
        orphans,
        results_path: results,
        base_dir: m.resolve("."),
        retry_failed: false,
        // The previous results' header names the campaign folder.
        folder_id: None,
    };
    let results_file = input.results_path.clone();
    let code =
        drive(ctx, &m, &client, retries, input, opts, &args.manifest, shard, args.accept_failed)
            .await?;
    if let Some(junit) = &args.report_junit {
        super::report::write_junit(&results_file, junit)?;
    }
    Ok(code)
}
