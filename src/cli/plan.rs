//! `reelflow plan`: what a run would do, and what it would cost.

use serde_json::json;

use super::args::PlanArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{catalog_source, check, load_manifest, load_state, validation_failure};
use super::output::{Table, print_json};
use crate::exit;
use crate::plan::{Change, Planner};

/// Runs the command.
pub async fn run(ctx: &Context, args: &PlanArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let results_path = m.results_path();
    // The union of the results file, its shards and journals: what a run
    // would start from.
    let state = load_state(&m)?;
    let previous = state.results_file(None);
    // Files beside the results file that the state also comes from.
    let others: Vec<String> = state
        .sources
        .iter()
        .filter(|p| **p != results_path)
        .map(|p| p.display().to_string())
        .collect();
    let source = catalog_source(ctx, &m, args.catalog.offline, args.catalog.refresh_catalog)?;
    let client = source.as_ref().map(|s| s.client.clone());
    let cap = m.manifest.run.max_cost_usd;
    let campaign = m.manifest.name.clone();
    let mut planner = Planner::new(previous.as_ref(), &account, args.retry_failed);
    let checked = check(ctx, m, source, |job, catalog| {
        planner.add(job, catalog);
    })
    .await?;
    if checked.problems.error_count() > 0 {
        return Err(validation_failure(&checked.problems, &checked.csv, checked.rows));
    }
    let (mut summary, orphans) = planner.finish();
    summary.skipped_by_filter = checked.skipped;
    let balance = match &client {
        Some(c) => c.me().await.map_err(Failure::from)?.spendable_usd(),
        None => None,
    };
    let est = summary.to_submit.usd;
    let mut warnings = Vec::new();
    if let Some(b) = balance
        && est > b
    {
        warnings.push(format!(
                "the estimate ${est:.2} exceeds the balance ${b:.2}: a run will stop launching when HeyGen answers 402 insufficient_credit"
            ));
    }
    if let Some(c) = cap
        && est > c
    {
        warnings.push(format!("the estimate ${est:.2} exceeds run.max_cost_usd ${c:.2}: a run will stop launching at the cap"));
    }
    if summary.to_submit.approximate {
        warnings.push("some lengths are estimates reelflow cannot measure (audio or video inputs, HeyGen templates); the cost is approximate".into());
    }
    if ctx.global.json {
        print_json(&json!({
            "campaign": campaign,
            "account": account,
            "results_file": results_path.display().to_string(),
            "state_files": state.sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "rows": checked.rows,
            "counts": summary.counts,
            "skipped_by_filter": summary.skipped_by_filter,
            "to_submit": summary.to_submit,
            "by_product": summary.by_product,
            "orphaned": orphans,
            "balance_usd": balance,
            "max_cost_usd": cap,
            "warnings": warnings,
        }));
        return Ok(exit::SUCCESS);
    }
    println!("plan: {campaign} on account {account} (results: {})", results_path.display());
    if !others.is_empty() {
        println!("state also read from: {}", others.join(", "));
    }
    println!();
    let mut t = Table::new(&["CHANGE", "ROWS", "MEANING"]);
    for (change, meaning) in [
        (Change::New, "not rendered before: will be created"),
        (Change::Changed, "request changed since the last run: will be created again"),
        (Change::Pending, "never submitted last time: will be created"),
        (Change::InFlight, "accepted earlier, still rendering: followed, not recreated"),
        (
            Change::Failed,
            if args.retry_failed {
                "failed last time: will be resubmitted"
            } else {
                "failed last time: skipped (--retry-failed resubmits)"
            },
        ),
        (Change::Unchanged, "already rendered: skipped"),
        (Change::Orphaned, "no longer in the data: kept in results, not touched"),
    ] {
        let n = summary.counts.get(&change).copied().unwrap_or(0);
        if n > 0 || matches!(change, Change::New | Change::Unchanged) {
            t.row(vec![
                format!("{change:?}").to_lowercase().replace("inflight", "in flight"),
                n.to_string(),
                meaning.into(),
            ]);
        }
    }
    t.print();
    if checked.skipped > 0 {
        println!(
            "({} row{} skipped by data.where)",
            checked.skipped,
            if checked.skipped == 1 { "" } else { "s" }
        );
    }
    if !summary.by_product.is_empty() {
        println!();
        let mut p = Table::new(&[
            "PRODUCT (engine · avatar · resolution)",
            "VIDEOS",
            "SECONDS",
            "EST. USD",
        ]);
        for (label, tot) in &summary.by_product {
            p.row(vec![
                label.clone(),
                tot.videos.to_string(),
                format!("{:.1}", tot.seconds),
                format!("{:.2}", tot.usd),
            ]);
        }
        p.print();
    }
    println!();
    let s = &summary.to_submit;
    println!(
        "a run submits {} video{}: ~{:.0}s of output, ~${:.2} at HeyGen's per-second rates",
        s.videos,
        if s.videos == 1 { "" } else { "s" },
        s.seconds,
        s.usd
    );
    match balance {
        Some(b) => println!("balance: ${b:.2}{}", if est <= b { " (enough)" } else { "" }),
        None if args.catalog.offline => println!("balance: not checked (--offline)"),
        None => println!("balance: not reported for this billing type"),
    }
    if let Some(c) = cap {
        println!("cost cap (run.max_cost_usd): ${c:.2}{}", if est <= c { " (within)" } else { "" });
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    Ok(exit::SUCCESS)
}
