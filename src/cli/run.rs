//! `reelflow run`: validate → plan → confirm → submit → poll → download →
//! results, safely resumable at any point.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::args::RunArgs;
use super::context::Context;
use super::failure::{Failure, command_line};
use super::manifests::{catalog_source, load_manifest, load_state, lock_state, plan_jobs};
use super::output::{Table, note};
use super::progress::{Human, JsonLines};
use crate::engine::{self, EventSink, Outcome, RunInput, RunOptions, RunReport};
use crate::exit;
use crate::heygen::RetryNotice;
use crate::manifest::LoadedManifest;
use crate::plan::Shard;
use crate::results::{EntryStatus, ResultsFile, shard_path};

/// Where a manifest's (or a shard's) results live.
pub fn results_path(m: &LoadedManifest, shard: Option<Shard>) -> std::path::PathBuf {
    match shard {
        Some(s) => shard_path(&m.results_path(), s.index, s.count),
        None => m.results_path(),
    }
}

/// Listens for Ctrl-C: the first stops launching, the second exits at once
/// (the journal is consistent after every record). `resume` is the command
/// that picks up where this one stops.
pub fn interrupt_handler(resume: String) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            note("Ctrl-C: no new jobs are launched; saving state (Ctrl-C again to quit at once)");
            let _ = tx.send(true);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            note(format!("Ctrl-C again: quitting; the journal is consistent, `{resume}` resumes"));
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
    let shard = args.shard;
    let results = results_path(&m, shard);
    // One writer per row: held until the run's last results write.
    let _lock = lock_state(&m, shard)?;
    // The union of every results file, shard and journal of the campaign:
    // a row another shard or a killed run already submitted is followed,
    // never submitted again.
    let mut previous = load_state(&m)?.results_file(shard);
    let mut reviews = super::report::read_reviews(&m.results_path())?;
    if args.sample.is_none() && m.manifest.review.require_approval {
        super::review::approval_gate(&m, &reviews, &args.manifest)?;
    }
    if m.manifest.output.download.is_none() && !args.no_download && !ctx.global.json {
        note(
            "warning: output.download is not set: no video is saved locally (`reelflow videos get ID --output FILE` fetches one later)",
        );
    }
    let (observer, retries) = retry_channel();
    let client = ctx.client_with(Some(&account), Some(observer))?;
    let source = catalog_source(ctx, &m, args.catalog.offline, args.catalog.refresh_catalog)?;
    let languages = match (&source, args.sample) {
        (Some(s), Some(_)) => super::review::voice_languages(s).await,
        _ => Default::default(),
    };
    let (mut jobs, mut summary, orphans) =
        plan_jobs(ctx, &m, source, previous.as_ref(), &account, shard, args.retry_failed).await?;
    if let Some(n) = args.sample {
        reviews.sample = super::review::take_sample(&mut jobs, n, &languages);
    }
    if args.retry_rejected
        && let Some(p) = previous.as_mut()
    {
        super::review::rerender_rejected(&mut jobs, p, &reviews);
    }
    if args.sample.is_some() || args.retry_rejected {
        summary.to_submit = super::review::submit_totals(&jobs, args.retry_failed);
    }
    if args.sample.is_some() {
        reviews
            .write(&crate::review::reviews_path(&m.results_path()))
            .map_err(|e| Failure::new(exit::FAILURE, "io", e.to_string()))?;
        if !ctx.global.json {
            note(format!(
                "sample: {} row(s) covering every avatar, voice, scene layout and language; review them with `reelflow review {}`",
                reviews.sample.len(),
                args.manifest.display()
            ));
        }
    }
    let to_submit = summary.to_submit.videos;
    let cap = args.max_cost.or(m.manifest.run.max_cost_usd);
    if to_submit > 0
        && !ctx.simulated()
        && !args.yes
        && !confirm(ctx, &client, &summary.to_submit, cap, &args.manifest).await?
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
    // Folder, uploads and kept template values: ids known only now.
    let (mut jobs, mut previous) = (jobs, previous);
    let prepared = crate::prepare::prepare(
        &client,
        &m,
        &account,
        shard.map(|s| s.to_string()),
        &mut previous,
        &results,
        &mut jobs,
        args.retry_failed,
    )
    .await
    .map_err(|e| Failure::of(exit::FAILURE, "prepare", &e))?;
    if !ctx.global.json {
        prepared.notes.iter().for_each(note);
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
        // Videos filed in the campaign folder are followed by listing it.
        folder_id: m
            .manifest
            .output
            .folder
            .as_ref()
            .and(previous.as_ref())
            .and_then(|p| p.folder.as_ref())
            .map(|f| f.id.clone()),
        previous,
        orphans,
        results_path: results.clone(),
        base_dir: m.resolve("."),
        retry_failed: args.retry_failed,
    };
    let code =
        drive(ctx, &m, &client, retries, input, opts, &args.manifest, shard, args.accept_failed)
            .await?;
    if let Some(junit) = &args.report_junit {
        super::report::write_junit(&results, junit)?;
    }
    Ok(code)
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
    accept_failed: bool,
) -> Result<u8, Failure> {
    let mut display = sink(ctx);
    let checked_once = opts.follow_only && !opts.wait;
    let manifest_arg = manifest_arg.display().to_string();
    let resume = command_line(&ctx.global, &rerun_words("run", &manifest_arg, shard, &[]));
    let report = engine::run(
        client,
        input,
        opts,
        display.as_mut(),
        Some(retries),
        interrupt_handler(resume),
    )
    .await
    .map_err(|e| Failure::of(exit::FAILURE, "state", &e))?;
    Ok(finish(ctx, m, &report, &manifest_arg, shard, accept_failed, checked_once))
}

/// `command manifest [--shard I/N] extra…`, for hints.
fn rerun_words<'a>(
    command: &'a str,
    manifest_arg: &'a str,
    shard: Option<Shard>,
    extra: &[&'a str],
) -> Vec<String> {
    let mut w = vec![command.to_owned(), manifest_arg.to_owned()];
    if let Some(s) = shard {
        w.push("--shard".into());
        w.push(s.to_string());
    }
    w.extend(extra.iter().map(|e| (*e).to_owned()));
    w
}

/// Error codes of rows not submitted *yet* (the run stopped before them,
/// or never heard the answer): a later run submits them. Any other code on
/// a not-submitted row is HeyGen refusing the create.
const NOT_YET: &[&str] =
    &["interrupted", "timed_out", "not_submitted", "create_outcome_unknown", "journal", "auth"];
/// Codes of rows not submitted for lack of credit or the cost cap.
const NO_CREDIT: &[&str] =
    &["insufficient_credit", "insufficient_balance", "quota_exceeded", "cost_cap"];

/// A results file of one entry (to ask [`state_exit_code`] about a row).
fn one(e: &crate::results::Entry) -> ResultsFile {
    ResultsFile { entries: vec![e.clone()], ..ResultsFile::new("", "", None) }
}

/// The exit code of the state a run or `status` leaves, not of its last
/// event: a row that failed in an earlier run still fails CI until it is
/// retried, or accepted with `--accept-failed`. Orphaned rows (no longer
/// in the data) do not count. A code the run itself ended with wins.
pub fn state_exit_code(code: u8, results: &ResultsFile, accept_failed: bool) -> u8 {
    if accept_failed && code == exit::JOBS_FAILED {
        return state_exit_code(exit::SUCCESS, results, true);
    }
    if code != exit::SUCCESS {
        return code;
    }
    let mut out = exit::SUCCESS;
    for e in results.entries.iter().filter(|e| !e.orphaned) {
        let reason = e.error.as_ref().map(|x| x.code.as_str()).unwrap_or("not_submitted");
        let this = match e.status {
            EntryStatus::Completed => exit::SUCCESS,
            EntryStatus::Rendering => exit::STILL_RENDERING,
            EntryStatus::Failed if accept_failed => exit::SUCCESS,
            EntryStatus::Failed => exit::JOBS_FAILED,
            EntryStatus::NotSubmitted if NO_CREDIT.contains(&reason) => exit::CREDIT_STOP,
            EntryStatus::NotSubmitted if NOT_YET.contains(&reason) => exit::STILL_RENDERING,
            EntryStatus::NotSubmitted if accept_failed => exit::SUCCESS,
            EntryStatus::NotSubmitted => exit::JOBS_FAILED,
        };
        // Failures first: they need a decision; the rest only time.
        let rank = |c: u8| match c {
            exit::JOBS_FAILED => 3,
            exit::CREDIT_STOP => 2,
            exit::STILL_RENDERING => 1,
            _ => 0,
        };
        if rank(this) > rank(out) {
            out = this;
        }
    }
    out
}

/// Asks before spending real money.
async fn confirm(
    ctx: &Context,
    client: &crate::heygen::Client,
    est: &crate::plan::Totals,
    cap: Option<f64>,
    manifest: &std::path::Path,
) -> Result<bool, Failure> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(Failure::usage(format!(
            "this run submits {} video(s), estimated ${:.2}; off a terminal reelflow does not spend without --yes",
            est.videos, est.usd
        ))
        .hint(format!(
            "add --yes (CI), or `{}` first to see what it would do",
            command_line(&ctx.global, &["plan", &manifest.display().to_string()])
        )));
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
    accept_failed: bool,
    checked_once: bool,
) -> u8 {
    let code = match report.outcome {
        Outcome::Finished => exit::SUCCESS,
        Outcome::JobsFailed | Outcome::FilesMissing => exit::JOBS_FAILED,
        Outcome::Unreachable => exit::UNREACHABLE,
        Outcome::TimedOut => exit::STILL_RENDERING,
        Outcome::CreditStop => exit::CREDIT_STOP,
        Outcome::Interrupted => exit::INTERRUPTED,
        Outcome::AuthFailed => exit::AUTH_ERROR,
        Outcome::StateError => exit::FAILURE,
    };
    // A missing download is not a failed row: --accept-failed does not hide it.
    let code = if report.outcome == Outcome::FilesMissing {
        code
    } else {
        state_exit_code(code, &report.results, accept_failed)
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
        "this run: {} accepted, ${:.2} spent; {} API requests ({} status calls), {} 429s",
        report.accepted,
        report.spent_usd,
        report.requests,
        report.status_calls,
        report.rate_limited
    );
    if report.missing_files > 0 && report.outcome != Outcome::FilesMissing {
        println!("{} finished video(s) have no file yet (download failed)", report.missing_files);
    }
    println!("results: {}", report.results_path_hint(&results_path(m, shard)));
    let hint = |command: &str, extra: &[&str]| {
        command_line(&ctx.global, &rerun_words(command, manifest_arg, shard, extra))
    };
    match report.outcome {
        Outcome::TimedOut => println!(
            "still rendering (not failed): follow them with `{}`",
            hint("status", &["--wait"])
        ),
        Outcome::Interrupted => {
            println!("interrupted: `{}` resumes without creating anything twice", hint("run", &[]))
        }
        Outcome::CreditStop => println!(
            "stopped launching (credit or cost cap); top up or raise the cap, then `{}` submits the rest",
            hint("run", &[])
        ),
        Outcome::JobsFailed => println!(
            "some videos failed (not charged): `{}` resubmits them",
            hint("run", &["--retry-failed"])
        ),
        Outcome::AuthFailed => println!(
            "the credential was rejected: check `{}`",
            command_line(&ctx.global, &["accounts", "--check"])
        ),
        Outcome::StateError => println!(
            "the journal could not be written: free disk space or fix permissions, then run again"
        ),
        Outcome::FilesMissing => println!(
            "{} finished video(s) have no file yet (download failed): `{}` fetches them",
            report.missing_files,
            hint("status", &[])
        ),
        Outcome::Unreachable => println!(
            "HeyGen could not be reached; nothing is lost: `{}` follows the videos in flight, `{}` submits the rest",
            hint("status", &["--wait"]),
            hint("run", &[])
        ),
        Outcome::Finished => {}
    }
    let pending = report
        .results
        .entries
        .iter()
        .filter(|e| !e.orphaned && e.status == EntryStatus::NotSubmitted)
        .count();
    if report.outcome == Outcome::Finished && code == exit::STILL_RENDERING && pending > 0 {
        println!(
            "{pending} row(s) not submitted yet (exit {code}): `{}` submits them",
            hint("run", &[])
        );
    }
    if report.outcome == Outcome::Finished && code == exit::CREDIT_STOP {
        println!(
            "rows were left unsubmitted for credit or the cost cap (exit {code}): top up or raise the cap, then `{}`",
            hint("run", &[])
        );
    }
    if report.outcome != Outcome::JobsFailed && code == exit::JOBS_FAILED {
        println!(
            "{} row(s) failed or were refused in earlier runs (exit {code}): `{}` resubmits them, or add --accept-failed to accept them",
            report
                .results
                .entries
                .iter()
                .filter(|e| !e.orphaned)
                .filter(|e| state_exit_code(exit::SUCCESS, &one(e), false) == exit::JOBS_FAILED)
                .count(),
            hint("run", &["--retry-failed"])
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Entry, EntryError};

    fn state(rows: &[(EntryStatus, Option<&str>, bool)]) -> ResultsFile {
        let mut f = ResultsFile::new("c", "default", None);
        f.entries = rows
            .iter()
            .enumerate()
            .map(|(i, (status, code, orphaned))| Entry {
                status: *status,
                orphaned: *orphaned,
                error: code.map(|c| EntryError { code: c.into(), message: "m".into() }),
                ..Entry::new(format!("k{i}"), 2, "h".into())
            })
            .collect();
        f
    }

    #[test]
    fn the_exit_code_is_the_state_not_the_last_event() {
        use EntryStatus::*;
        let done = state(&[(Completed, None, false), (Failed, Some("x"), true)]);
        assert_eq!(
            state_exit_code(exit::SUCCESS, &done, false),
            exit::SUCCESS,
            "orphans do not count"
        );
        let failed = state(&[(Completed, None, false), (Failed, Some("rendering_failed"), false)]);
        assert_eq!(state_exit_code(exit::SUCCESS, &failed, false), exit::JOBS_FAILED);
        assert_eq!(state_exit_code(exit::SUCCESS, &failed, true), exit::SUCCESS);
        assert_eq!(state_exit_code(exit::JOBS_FAILED, &failed, true), exit::SUCCESS);
        assert_eq!(state_exit_code(exit::INTERRUPTED, &failed, false), exit::INTERRUPTED);
        let refused = state(&[(NotSubmitted, Some("invalid_parameter"), false)]);
        assert_eq!(state_exit_code(exit::SUCCESS, &refused, false), exit::JOBS_FAILED);
        let pending =
            state(&[(NotSubmitted, Some("interrupted"), false), (NotSubmitted, None, false)]);
        assert_eq!(state_exit_code(exit::SUCCESS, &pending, true), exit::STILL_RENDERING);
        let broke = state(&[(NotSubmitted, Some("cost_cap"), false), (Failed, Some("x"), false)]);
        assert_eq!(state_exit_code(exit::SUCCESS, &broke, false), exit::JOBS_FAILED);
        assert_eq!(state_exit_code(exit::SUCCESS, &broke, true), exit::CREDIT_STOP);
    }
}
