//! `reelflow results`: export the results manifest, shards merged.

use super::args::{ResultsArgs, ResultsFormat};
use super::context::Context;
use super::failure::Failure;
use super::manifests::{load_manifest, load_state, no_results};
use crate::exit;

/// Runs the command.
pub fn run(ctx: &Context, args: &ResultsArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let path = m.results_path();
    let Some(mut results) = load_state(&m)?.results_file(None) else {
        return Err(no_results(ctx, &path, &args.manifest));
    };
    if results.campaign.is_empty() {
        // Known only from a journal (a run killed before its first write).
        results.campaign = m.manifest.name.clone();
    }
    if args.approved {
        // Only videos a reviewer approved as they are now (a decision about
        // an earlier render, or a changed row, does not count).
        let reviews = super::report::read_reviews(&path)?;
        results.entries.retain(|e| reviews.state(e) == crate::review::ReviewState::Approved);
        results.normalize();
    }
    let json = if ctx.global.json { ResultsFormat::Json } else { ResultsFormat::Csv };
    match args.format.unwrap_or(json) {
        ResultsFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&results).map_err(|e| Failure::new(
                    exit::FAILURE,
                    "encode",
                    e.to_string()
                ))?
            )
        }
        ResultsFormat::Yaml => {
            print!(
                "{}",
                serde_yaml::to_string(&results).map_err(|e| Failure::new(
                    exit::FAILURE,
                    "encode",
                    e.to_string()
                ))?
            )
        }
        ResultsFormat::Csv => {
            let mut w = csv::Writer::from_writer(super::output::stdout());
            let header = [
                "key",
                "row",
                "status",
                "orphaned",
                "video_id",
                "title",
                "file",
                "file_bytes",
                "captions_file",
                "duration_secs",
                "estimated_cost_usd",
                "cost_usd",
                "error_code",
                "error_message",
                "video_page_url",
                "attempts",
                "submitted_at",
                "completed_at",
            ];
            let io = |e: csv::Error| Failure::new(exit::FAILURE, "io", e.to_string());
            w.write_record(header).map_err(io)?;
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            let num = |v: Option<f64>| v.map(|n| n.to_string()).unwrap_or_default();
            for e in &results.entries {
                let status = serde_json::to_value(e.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                w.write_record([
                    e.key.clone(),
                    e.row.to_string(),
                    status,
                    e.orphaned.to_string(),
                    opt(&e.video_id),
                    opt(&e.title),
                    opt(&e.file),
                    e.file_bytes.map(|n| n.to_string()).unwrap_or_default(),
                    opt(&e.captions_file),
                    num(e.duration_secs),
                    num(e.estimated_cost_usd),
                    num(e.cost_usd),
                    e.error.as_ref().map(|x| x.code.clone()).unwrap_or_default(),
                    e.error.as_ref().map(|x| x.message.clone()).unwrap_or_default(),
                    opt(&e.video_page_url),
                    e.attempts.to_string(),
                    opt(&e.submitted_at),
                    opt(&e.completed_at),
                ])
                .map_err(io)?;
            }
            w.flush().map_err(|e| Failure::new(exit::FAILURE, "io", e.to_string()))?;
        }
    }
    Ok(exit::SUCCESS)
}
