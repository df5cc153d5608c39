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
    let mut rows: Vec<(String, u64, Change)> = Vec::new();
    let mut uploads = crate::assets::UploadSet::default();
    let folder = m.manifest.output.folder.clone();
    let checked = check(ctx, m, source, |job, catalog| {
        uploads.add(&job.uploads);
        let p = planner.add(job, catalog);
        if args.rows && p.change != Change::Unchanged {
            rows.push((p.job.key, p.job.line, p.change));
        }
    })
    .await?;
    let resources =
        crate::assets::plan_lines(&uploads, folder.as_ref(), previous.as_ref(), &account);
    if checked.problems.error_count() > 0 {
        return Err(validation_failure(&checked.problems, &checked.csv, checked.rows));
    }
    let (mut summary, orphans) = planner.finish();
    if args.rows {
        rows.extend(orphans.iter().map(|k| (k.clone(), 0, Change::Orphaned)));
    }
    let row_list: Vec<serde_json::Value> = rows
        .iter()
        .map(|(key, line, change)| {
            json!({
                "key": key,
                "line": line,
                "change": change,
                "why": why(*change, previous.as_ref().and_then(|p| p.entries.iter().find(|e| &e.key == key)), args.retry_failed),
            })
        })
        .collect();
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
    let review = review_counts(&results_path)?;
    if ctx.global.json {
        print_json(&json!({
            "review": review,
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
            "rows": if args.rows { Some(&row_list) } else { None },
            "pricing_table": {
                "id": crate::pricing::active_table().id,
                "label": crate::pricing::active_table().label,
                "source": crate::pricing::active_table().source,
            },
            "resources": resources,
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
    println!("pricing: {}", crate::pricing::active_table().describe());
    for line in &resources {
        println!("{line}");
    }
    match balance {
        Some(b) => println!("balance: ${b:.2}{}", if est <= b { " (enough)" } else { "" }),
        None if args.catalog.offline => println!("balance: not checked (--offline)"),
        None => println!("balance: not reported for this billing type"),
    }
    if let Some(c) = cap {
        println!("cost cap (run.max_cost_usd): ${c:.2}{}", if est <= c { " (within)" } else { "" });
    }
    if args.rows {
        println!();
        if row_list.is_empty() {
            println!("rows: every row is already rendered");
        } else {
            let mut t = Table::new(&["KEY", "LINE", "CHANGE", "WHY"]);
            for r in &row_list {
                t.row(vec![
                    r["key"].as_str().unwrap_or_default().to_owned(),
                    match r["line"].as_u64() {
                        Some(0) | None => "-".into(),
                        Some(n) => n.to_string(),
                    },
                    r["change"].as_str().unwrap_or_default().replace('_', " "),
                    r["why"].as_str().unwrap_or_default().to_owned(),
                ]);
            }
            t.print();
        }
    }
    // Shown once review is in use (a reviews file exists), so campaigns
    // that never review are not told about it on every plan.
    if let Some(r) = review.as_ref().filter(|_| crate::review::reviews_path(&results_path).exists())
    {
        println!(
            "review: {} approved, {} rejected, {} unreviewed{}",
            r["approved"],
            r["rejected"],
            r["unreviewed"],
            if r["rejected"].as_u64().unwrap_or(0) > 0 {
                " (`reelflow run --retry-rejected` renders the rejected again)"
            } else {
                ""
            }
        );
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    Ok(exit::SUCCESS)
}

/// Approved / rejected / unreviewed rows of the last results (shards
/// merged), when there are results.
fn review_counts(results: &std::path::Path) -> Result<Option<serde_json::Value>, Failure> {
    let Some(merged) = crate::report::load_results(results).map_err(Failure::from)? else {
        return Ok(None);
    };
    let reviews = super::report::read_reviews(results)?;
    let counts: serde_json::Map<String, serde_json::Value> = reviews
        .counts(&merged)
        .into_iter()
        .map(|(state, n)| (state.as_str().to_owned(), n.into()))
        .collect();
    Ok(Some(counts.into()))
}

/// Why a row is listed by `plan --rows`.
fn why(change: Change, prev: Option<&crate::results::Entry>, retry_failed: bool) -> String {
    let error = || {
        prev.and_then(|e| e.error.as_ref())
            .map(|x| format!(": {} ({})", x.message, x.code))
            .unwrap_or_default()
    };
    match change {
        Change::New => "not rendered before: will be created".into(),
        Change::Changed => {
            "the row or the manifest changed since it was rendered: made again".into()
        }
        Change::Pending => format!("not submitted last time{}: will be created", error()),
        Change::Failed if retry_failed => {
            format!("failed last time{}: will be resubmitted", error())
        }
        Change::Failed => {
            format!("failed last time{}: skipped (--retry-failed resubmits)", error())
        }
        Change::InFlight => format!(
            "accepted earlier, still rendering{}: followed, not recreated",
            prev.and_then(|e| e.video_id.as_deref()).map(|v| format!(" ({v})")).unwrap_or_default()
        ),
        Change::Unchanged => "already rendered: skipped".into(),
        Change::Orphaned => "no longer in the data: kept in the results, not touched".into(),
    }
}
