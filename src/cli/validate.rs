//! `reelflow validate`: every row, every rule, nothing submitted.

use serde_json::json;

use super::args::ValidateArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{catalog_source, check, load_manifest, plural, validation_failure};
use super::output::{note, print_json};
use crate::exit;
use crate::validate::catalog::Source;
use crate::validate::pipeline::Checked;

/// Runs the command.
pub async fn run(ctx: &Context, args: &ValidateArgs) -> Result<u8, Failure> {
    let checked = checked(ctx, args).await;
    // With --json the report is the command's output, valid or not: stdout
    // carries it, stderr the error envelope.
    let (checked, account) = match checked {
        Ok(c) => c,
        Err(f) => {
            if ctx.global.json
                && let Some(detail) = &f.json_detail
            {
                let mut report = json!({ "valid": false });
                if let (Some(r), Some(d)) = (report.as_object_mut(), detail.as_object()) {
                    r.extend(d.clone());
                }
                print_json(&report);
            }
            return Err(f);
        }
    };
    let catalog = match (&checked.catalog, checked.catalog_source) {
        (Some(c), Some(how)) => {
            let how = match how {
                Source::Fetched => "fetched".to_owned(),
                Source::Cached { age_secs } => format!("cached {}s ago", age_secs),
            };
            format!(
                "{} looks, {} voices ({how})",
                c.catalog().looks.len(),
                c.catalog().voices.len()
            )
        }
        _ => "not checked (--offline)".to_owned(),
    };
    if ctx.global.json {
        print_json(&json!({
            "valid": true,
            "rows": checked.rows,
            "jobs": checked.valid_jobs,
            "skipped_by_filter": checked.skipped,
            "account": account,
            "catalog": catalog,
            "warnings": checked.problems.to_json()["problems"],
        }));
    } else {
        if checked.problems.warning_count() > 0 {
            note(checked.problems.render(Some(&checked.csv)));
        }
        println!(
            "valid: {} row{} → {} video{}{}",
            checked.rows,
            plural(checked.rows as usize),
            checked.valid_jobs,
            plural(checked.valid_jobs as usize),
            if checked.skipped > 0 {
                format!(" ({} skipped by data.where)", checked.skipped)
            } else {
                String::new()
            }
        );
        println!("account: {account}; catalog: {catalog}");
    }
    Ok(exit::SUCCESS)
}

/// Loads and checks the manifest; every failure carries its report.
async fn checked(ctx: &Context, args: &ValidateArgs) -> Result<(Checked, String), Failure> {
    let m = load_manifest(&args.manifest)?;
    let source = catalog_source(ctx, &m, args.catalog.offline, args.catalog.refresh_catalog)?;
    let account = ctx.manifest_account(m.manifest.account.as_deref())?;
    let checked = check(ctx, m, source, |_, _| {}).await?;
    if checked.problems.error_count() > 0 {
        return Err(validation_failure(&checked.problems, &checked.csv, checked.rows));
    }
    Ok((checked, account))
}
