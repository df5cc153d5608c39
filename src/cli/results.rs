//! `reelflow results`: export the results manifest, shards merged.

use super::args::{ResultsArgs, ResultsFormat};
use super::context::Context;
use super::failure::Failure;
use super::manifests::{load_manifest, no_results};
use crate::exit;
use crate::results::read_merged;

/// Runs the command.
pub fn run(ctx: &Context, args: &ResultsArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let path = m.results_path();
    let Some(results) =
        read_merged(&path).map_err(|e| Failure::new(exit::INVALID_INPUT, "invalid_results", e))?
    else {
        return Err(no_results(&path, &args.manifest));
    };
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
