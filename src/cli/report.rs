//! `reelflow report`: one self-contained HTML file of a campaign.

use std::path::{Path, PathBuf};

use super::args::ReportArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{catalog_source, load_manifest};
use super::output::note;
use crate::exit;
use crate::manifest::LoadedManifest;
use crate::report::{self, Names, Report, html};
use crate::review::{Reviews, reviews_path};

/// Runs the command.
pub async fn run(ctx: &Context, args: &ReportArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let out = args.output.clone().unwrap_or_else(|| default_output(&m));
    let names = catalog_names(ctx, &m, args.offline).await;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let report = build_report(&m, &names, &|file| report::relative_link(&dir, &m.resolve(file)))?;
    let page = html::render(&report, &html::HtmlOptions::default());
    crate::results::write_atomic(&out, page.as_bytes())
        .map_err(|e| Failure::new(exit::FAILURE, "io", format!("{}: {e}", out.display())))?;
    if ctx.global.json {
        super::output::print_json(&serde_json::json!({
            "report": out.display().to_string(),
            "summary": report.summary,
        }));
    } else {
        println!("report: {} ({} rows)", out.display(), report.summary.total);
    }
    Ok(exit::SUCCESS)
}

/// `out/x.results.json` → `out/x.report.html`.
fn default_output(m: &LoadedManifest) -> PathBuf {
    let results = m.results_path();
    let name = results.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name
        .strip_suffix(".results.json")
        .map(str::to_owned)
        .unwrap_or_else(|| crate::render::slug(&m.manifest.name));
    results.with_file_name(format!("{stem}.report.html"))
}

/// The report of a manifest: its rows, the results (shards merged) and
/// the review decisions. `media` makes a download's link.
pub fn build_report(
    m: &LoadedManifest,
    names: &Names,
    media: &dyn Fn(&str) -> String,
) -> Result<Report, Failure> {
    let results_path = m.results_path();
    let results = report::load_results(&results_path).map_err(Failure::from)?;
    let reviews = read_reviews(&results_path)?;
    let rows = report::rows(m.clone()).map_err(|ds| {
        let mut f = Failure::new(
            exit::INVALID_INPUT,
            "invalid_manifest",
            format!("{} cannot be used", m.path.display()),
        );
        f.report = Some(ds.iter().map(|d| d.render(None) + "\n").collect());
        f
    })?;
    Ok(report::build(&m.manifest.name, rows, results.as_ref(), &reviews, names, media))
}

/// The reviews beside a results file.
pub fn read_reviews(results: &Path) -> Result<Reviews, Failure> {
    Reviews::read(&reviews_path(results))
        .map_err(|e| Failure::new(exit::INVALID_INPUT, "invalid_reviews", e.to_string()))
}

/// Avatar and voice names from the account's catalog; ids only when it
/// cannot be had (offline, no credential, no network).
pub async fn catalog_names(ctx: &Context, m: &LoadedManifest, offline: bool) -> Names {
    if offline {
        return Names::default();
    }
    let source = match catalog_source(ctx, m, false, false) {
        Ok(Some(s)) => s,
        Ok(None) => return Names::default(),
        Err(f) => {
            if !ctx.global.json {
                note(format!("avatar and voice names not shown (ids are): {}", f.message));
            }
            return Names::default();
        }
    };
    match crate::validate::catalog::load(&source.client, source.cache, source.ttl, false).await {
        Ok((catalog, _)) => Names::from_catalog(&catalog),
        Err(e) => {
            if !ctx.global.json {
                note(format!("avatar and voice names not shown (ids are): {e}"));
            }
            Names::default()
        }
    }
}

/// Writes the JUnit XML of a results file.
pub fn write_junit(results: &std::path::Path, out: &std::path::Path) -> Result<(), Failure> {
    let file = crate::results::ResultsFile::read(results)
        .map_err(Failure::from)?
        .unwrap_or_else(|| crate::results::ResultsFile::new("", "", None));
    crate::results::write_atomic(out, crate::report::junit::render(&file).as_bytes())
        .map_err(|e| Failure::new(exit::FAILURE, "io", format!("{}: {e}", out.display())))
}
