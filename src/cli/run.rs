//! `reelflow run`: validate → plan → confirm → submit → poll → download →
//! results, safely resumable at any point.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::args::RunArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{catalog_source, load_manifest, plan_jobs};
use super::output::{Table, note};
use super::progress::{Human, JsonLines};
use crate::engine::{self, EventSink, Outcome, RunInput, RunOptions, RunReport};
use crate::exit;
use crate::heygen::RetryNotice;
use crate::manifest::LoadedManifest;
use crate::plan::Shard;
use crate::results::{ResultsFile, shard_path};

/// Where a manifest's (or a shard's) results live.
pub fn results_path(m: &LoadedManifest, shard: Option<Shard>) -> std::path::PathBuf {
    match shard {
        Some(s) => shard_path(&m.results_path(), s.index, s.count),
        None => m.results_path(),
    }
}

/// Listens for Ctrl-C: the first stops launching, the second exits at once
/// (the journal is consistent after every record).
pub fn interrupt_handler() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            note("Ctrl-C: no new jobs are launched; saving state (Ctrl-C again to quit at once)");
            let _ = tx.send(true);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            note("Ctrl-C again: quitting; the journal is consistent, `reelflow run` resumes");
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
    rx
}

/// A retry observer feeding the engine's event stream.
pub fn retry_channel()
-> (crate::heygen::client::RetryObserver, mpsc::UnboundedReceiver<RetryNotice>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let observer: crate::heygen::client::RetryObserver = Arc::new(move |n: &RetryNotice| {
        let _ = tx.send(n.clone());
    });
    (observer, rx)
}

/// The display for a run.
pub fn sink(ctx: &Context) -> Box<dyn EventSink> {
    if ctx.global.json {
        Box::new(JsonLines)
    } else {
        Box::new(Human::new(std::io::stderr().is_terminal(), ctx.global.verbose))
    }
}

/// Runs the command.
pub async fn run(ctx: &Context, args: &RunArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose().map_err(Failure::usage)?;
    let results = results_path(&m, shard);
    let previous = ResultsFile::read(&results)
        .map_err(|e| Failure::new(exit::INVALID_INPUT, "invalid_results", e))?;
    let (observer, retries) = retry_channel();
    let client = ctx.client_with(Some(&account), Some(observer))?;
    let source = catalog_source(ctx, &m, args.catalog.offline, args.catalog.refresh_catalog)?;
    let (jobs, summary, orphans) =
        plan_jobs(ctx, &m, source, previous.as_ref(), &account, shard, args.retry_failed).await?;
    let to_submit = summary.to_submit.videos;
    let cap = args.max_cost.or(m.manifest.run.max_cost_usd);
    if to_submit > 0
        && ctx.sim().is_none()
        && !args.yes
        && !confirm(&client, &summary.to_submit, cap).await?
    {
        // The user's choice, not an error: exit 0.
        note("declined: nothing was submitted");
        return Ok(exit::SUCCESS);
    }
    if summary.skipped_by_filter > 0 && !ctx.global.json {
        let n = summary.skipped_by_filter;
        let filter = m.manifest.data.filter.as_deref().unwrap_or_default();
        note(format!("{n} row{} skipped by data.where ({filter})", if n == 1 { "" } else { "s" }));
    }
    if !orphans.is_empty() && !ctx.global.json {
        note(format!(
            "{} row(s) in the last results are no longer in the data; kept in the results, not touched",
            orphans.len()
        ));
    }
    let base = manifest_options(&m, args.no_download);
    let opts = RunOptions {
        concurrency: args.concurrency.or(m.manifest.run.concurrency).unwrap_or(8) as usize,
        max_cost_usd: cap,
        timeout: args.timeout.unwrap_or(base.timeout),
        ..base
    };
    if let Some(text) = super::context::concurrency_note(opts.concurrency) {
        note(text);
    }
    let input = RunInput {
        campaign: m.manifest.name.clone(),
        account,
        shard: shard.map(|s| s.to_string()),
        jobs,
        previous,
        orphans,
        results_path: results.clone(),
        base_dir: m.resolve("."),
        retry_failed: args.retry_failed,
    };
    drive(ctx, &m, &client, retries, input, opts, &args.manifest, shard).await
}

/// The engine options a manifest sets: downloads, captions, poll cadence
/// and timeout.
pub fn manifest_options(m: &LoadedManifest, no_download: bool) -> RunOptions {
    let (every, timeout) = m.poll();
    RunOptions {
        download: !no_download && m.manifest.output.download.is_some(),
        captions: m.manifest.output.captions,
        poll_every: every,
        timeout,
        ..RunOptions::default()
    }
}

/// Runs the engine with the display and Ctrl-C handling, then reports and
/// returns the exit code.
#[allow(clippy::too_many_arguments)] // each is a distinct input of one run
pub async fn drive(
    ctx: &Context,
    m: &LoadedManifest,
    client: &crate::heygen::Client,
    retries: mpsc::UnboundedReceiver<RetryNotice>,
    input: RunInput,
    opts: RunOptions,
    manifest_arg: &std::path::Path,
    shard: Option<Shard>,
) -> Result<u8, Failure> {
    let mut display = sink(ctx);
    let checked_once = opts.follow_only && !opts.wait;
    let report =
        engine::run(client, input, opts, display.as_mut(), Some(retries), interrupt_handler())
            .await
            .map_err(|e| Failure::new(exit::FAILURE, "state", e.to_string()))?;
    Ok(finish(ctx, m, &report, &manifest_arg.display().to_string(), shard, checked_once))
}

/// Asks before spending real money.
async fn confirm(
    client: &crate::heygen::Client,
    est: &crate::plan::Totals,
    cap: Option<f64>,
) -> Result<bool, Failure> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(Failure::usage(format!(
            "this run submits {} video(s), estimated ${:.2}; off a terminal reelflow does not spend without --yes",
            est.videos, est.usd
        ))
        .hint("add --yes (CI), or `reelflow plan` first to see what it would do"));
    }
    let balance = client.me().await.ok().and_then(|u| u.spendable_usd());
    let mut prompt = format!(
        "Submit {} video(s), about {:.0}s of output, estimated ${:.2}",
        est.videos, est.seconds, est.usd
    );
    if let Some(b) = balance {
        prompt.push_str(&format!(" (balance ${b:.2})"));
    }
    if let Some(c) = cap {
        prompt.push_str(&format!(", cost cap ${c:.2}"));
    }
    prompt.push_str("? [y/N] ");
    eprint!("{prompt}");
    let answer = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        std::io::stdin().read_line(&mut s).map(|_| s)
    })
    .await
    .map_err(|e| Failure::new(exit::FAILURE, "prompt", e.to_string()))??;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Prints the final summary and returns the exit code.
pub fn finish(
    ctx: &Context,
    m: &LoadedManifest,
    report: &RunReport,
    manifest_arg: &str,
    shard: Option<Shard>,
    checked_once: bool,
) -> u8 {
    let code = match report.outcome {
        Outcome::Finished => exit::SUCCESS,
        Outcome::JobsFailed => exit::JOBS_FAILED,
        Outcome::TimedOut => exit::STILL_RENDERING,
        Outcome::CreditStop => exit::CREDIT_STOP,
        Outcome::Interrupted => exit::INTERRUPTED,
        Outcome::AuthFailed => exit::AUTH_ERROR,
        Outcome::StateError => exit::FAILURE,
    };
    for w in &report.warnings {
        note(format!("warning: {w}"));
    }
    if ctx.global.json {
        return code;
    }
    let s = &report.results.summary;
    // `status` without --wait looks once: it did not time out.
    let how = match report.outcome {
        Outcome::TimedOut if checked_once => "checked once".to_owned(),
        o => format!(
            "{} in {}",
            o.name().replace('_', " "),
            humantime::format_duration(Duration::from_secs(report.elapsed.as_secs()))
        ),
    };
    println!("{}: {how}", m.manifest.name);
    let mut t = Table::new(&["STATUS", "ROWS"]);
    t.row(vec!["completed".into(), s.completed.to_string()]);
    t.row(vec!["rendering".into(), s.rendering.to_string()]);
    t.row(vec!["failed".into(), s.failed.to_string()]);
    t.row(vec!["not submitted".into(), s.not_submitted.to_string()]);
    if s.orphaned > 0 {
        t.row(vec!["(orphaned)".into(), s.orphaned.to_string()]);
    }
    t.print();
    println!(
        "this run: {} accepted, ${:.2} spent; {} status calls, {} 429s",
        report.accepted, report.spent_usd, report.status_calls, report.rate_limited
    );
    println!("results: {}", report.results_path_hint(&results_path(m, shard)));
    let shard_flag = shard.map(|s| format!(" --shard {s}")).unwrap_or_default();
    match report.outcome {
        Outcome::TimedOut => {
            println!(
                "still rendering (not failed): follow them with `reelflow status {manifest_arg}{shard_flag} --wait`"
            )
        }
        Outcome::Interrupted => println!(
            "interrupted: `reelflow run {manifest_arg}{shard_flag}` resumes without creating anything twice"
        ),
        Outcome::CreditStop => println!(
            "stopped launching (credit or cost cap); top up or raise the cap, then `reelflow run {manifest_arg}{shard_flag}` submits the rest"
        ),
        Outcome::JobsFailed => println!(
            "some videos failed (not charged): `reelflow run {manifest_arg}{shard_flag} --retry-failed` resubmits them"
        ),
        Outcome::AuthFailed => {
            println!("the credential was rejected: check `reelflow accounts --check`")
        }
        Outcome::StateError => println!(
            "the journal could not be written: free disk space or fix permissions, then run again"
        ),
        Outcome::Finished => {}
    }
    if !report.unresolved.is_empty() {
        println!(
            "{} create(s) got no answer; the next run resends them with the same Idempotency-Key (HeyGen replays, nothing is billed twice)",
            report.unresolved.len()
        );
    }
    code
}

impl RunReport {
    fn results_path_hint(&self, path: &std::path::Path) -> String {
        path.display().to_string()
    }
}
