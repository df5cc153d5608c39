//! `reelflow render`: the exact v3 bodies a manifest produces.

use std::io::Write;

use serde_json::json;

use super::args::RenderArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{check, load_manifest, validation_failure};
use crate::exit;
use crate::plan::{idempotency_key, job_hash};

/// Runs the command.
pub async fn run(ctx: &Context, args: &RenderArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let unfiltered = args.row.is_some().then(|| m.clone());
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let campaign = m.manifest.name.clone();
    let json = ctx.global.json;
    let mut printed = 0u64;
    let mut out = std::io::BufWriter::new(super::output::stdout());
    let checked = check(ctx, m, None, |job, _| {
        if args.row.as_deref().is_some_and(|k| k != job.key) {
            return;
        }
        printed += 1;
        let hash = job_hash(&job, &account);
        let key = idempotency_key(&campaign, &job.key, &hash);
        let (method, path) = job.request.endpoint();
        let body = job.request.body_json();
        if json {
            let line = json!({
                "key": job.key,
                "row": job.line,
                "method": method,
                "path": path,
                "idempotency_key": key,
                "hash": hash,
                "download": job.download.as_ref().map(|p| p.display().to_string()),
                "body": body,
            });
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "# row {} · key {:?} · {method} {path} · Idempotency-Key: {key}",
                job.line, job.key
            );
            let _ = writeln!(out, "{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
    })
    .await?;
    let _ = out.flush();
    drop(out);
    if checked.problems.error_count() > 0 {
        return Err(validation_failure(&checked.problems, &checked.csv, checked.rows));
    }
    if let Some(k) = &args.row
        && printed == 0
    {
        if checked.skipped > 0
            && let Some(m) = unfiltered
            && let Some((line, filter)) = skipped_row(m, k).await
        {
            return Err(Failure::new(
                exit::USAGE,
                "row_skipped",
                format!("the row with key {k:?} (line {line}) is skipped by data.where: {filter}"),
            )
            .hint("nothing is rendered for it; change `data.where` (or the row) to include it"));
        }
        return Err(Failure::new(exit::USAGE, "no_such_row", format!("no row has the key {k:?}"))
            .hint(
                "keys are the rendered `data.key`; `reelflow render MANIFEST --json` lists them",
            ));
    }
    Ok(exit::SUCCESS)
}

/// The line of the row keyed `key` when only `data.where` hides it, with
/// the filter. Asked only after `--row` found nothing, so the second pass
/// over the data costs nothing in the usual case.
async fn skipped_row(mut m: crate::manifest::LoadedManifest, key: &str) -> Option<(u64, String)> {
    let filter = m.manifest.data.filter.take()?;
    let mut line = None;
    let _ = crate::validate::pipeline::check(
        m,
        None,
        |job, _| {
            if job.key == key {
                line.get_or_insert(job.line);
            }
        },
        |_| {},
    )
    .await;
    line.map(|l| (l, filter))
}
