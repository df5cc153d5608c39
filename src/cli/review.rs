//! `reelflow review`: a local page to watch each video and approve or
//! reject it with a note.

use std::sync::Arc;

use super::args::ReviewArgs;
use super::context::Context;
use super::failure::Failure;
use super::manifests::{load_manifest, no_results};
use super::report::{build_report, catalog_names};
use crate::exit;
use crate::report::{self, html};
use crate::review::reviews_path;
use crate::review::server::{ReviewConfig, ReviewServer, new_token};

/// Runs the command: serves until Ctrl-C.
pub async fn run(ctx: &Context, args: &ReviewArgs) -> Result<u8, Failure> {
    let m = load_manifest(&args.manifest)?;
    let results = m.results_path();
    if report::load_results(&results).map_err(Failure::from)?.is_none() {
        return Err(no_results(ctx, &results, &args.manifest));
    }
    let names = Arc::new(catalog_names(ctx, &m, args.offline).await);
    let reviews = reviews_path(&results);
    let base_dir = m.resolve(".");
    let manifest = m.clone();
    let page: crate::review::server::PageFn = Arc::new(move |token: &str| {
        let media = |file: &str| {
            let segments: Vec<String> = file.split('/').map(report::url_segment).collect();
            format!("/media/{}", segments.join("/"))
        };
        let r = build_report(&manifest, &names, &media).map_err(Box::new)?;
        Ok(html::render(&r, &html::HtmlOptions { review_token: Some(token.to_owned()) }))
    });
    let config = ReviewConfig {
        results,
        reviews: reviews.clone(),
        base_dir,
        token: new_token(),
        page,
        reviewer: ctx.config.reviewer.clone(),
    };
    let mut server = ReviewServer::start(config, args.port)
        .await
        .map_err(|e| Failure::new(exit::FAILURE, "bind", format!("cannot listen: {e}")))?;
    let url = server.url();
    if ctx.global.json {
        super::output::print_json(&serde_json::json!({
            "url": url,
            "reviews": reviews.display().to_string(),
        }));
    } else {
        println!("reviewing {} at {url}", m.manifest.name);
        println!("decisions are saved to {} (Ctrl-C to stop)", reviews.display());
    }
    if args.open {
        open_browser(&url);
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(exit::SUCCESS)
}

/// Opens `url` in the default browser; a failure only prints a note.
fn open_browser(url: &str) {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    if let Err(e) = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        super::output::note(format!(
            "could not open a browser ({program}: {e}); open {url} yourself"
        ));
    }
}

/// `run --retry-rejected`: the rejected rows about to run (unchanged
/// since their render) are made again, with a fresh Idempotency-Key
/// generation so HeyGen makes a new video instead of replaying the
/// rejected one. Rows not in `jobs` (outside a sample or shard) keep their
/// entries untouched.
pub fn rerender_rejected(
    jobs: &mut [crate::plan::PlannedJob],
    previous: &mut crate::results::ResultsFile,
    reviews: &crate::review::Reviews,
) {
    use crate::plan::Change;
    for job in jobs.iter_mut().filter(|j| j.change == Change::Unchanged) {
        if let Some(e) = previous.entries.iter_mut().find(|e| e.key == job.job.key)
            && reviews.state(e) == crate::review::ReviewState::Rejected
        {
            e.status = crate::results::EntryStatus::NotSubmitted;
            e.key_generation += 1;
            job.change = Change::Pending;
        }
    }
}

/// What a run of `jobs` submits.
pub fn submit_totals(jobs: &[crate::plan::PlannedJob], retry_failed: bool) -> crate::plan::Totals {
    let mut totals = crate::plan::Totals::default();
    for j in jobs.iter().filter(|j| j.change.submits(retry_failed)) {
        totals.add(&j.estimate);
    }
    totals
}

/// Voice id → language, from the catalog (for sampling by language).
pub async fn voice_languages(
    source: &crate::validate::pipeline::CatalogSource,
) -> std::collections::HashMap<String, String> {
    match crate::validate::catalog::load(&source.client, source.cache.clone(), source.ttl, false)
        .await
    {
        Ok((c, _)) => c
            .voices
            .iter()
            .filter(|v| !v.language.is_empty())
            .map(|v| (v.voice_id.clone(), v.language.clone()))
            .collect(),
        Err(_) => Default::default(),
    }
}

/// Keeps only the sampled jobs; returns the sample's keys, sorted.
pub fn take_sample(
    jobs: &mut Vec<crate::plan::PlannedJob>,
    n: u64,
    languages: &std::collections::HashMap<String, String>,
) -> Vec<String> {
    let lang = |voice: &str| languages.get(voice).cloned();
    let candidates: Vec<crate::sample::Candidate> =
        jobs.iter().map(|j| crate::sample::candidate(&j.job, &lang)).collect();
    let mut picked = crate::sample::pick(&candidates, usize::try_from(n).unwrap_or(usize::MAX));
    let keep: std::collections::HashSet<&str> = picked.iter().map(String::as_str).collect();
    jobs.retain(|j| keep.contains(j.job.key.as_str()));
    picked.sort();
    picked
}

/// `review.require_approval`: a full run waits for an approved sample.
pub fn approval_gate(
    m: &crate::manifest::LoadedManifest,
    reviews: &crate::review::Reviews,
    manifest_arg: &std::path::Path,
) -> Result<(), Failure> {
    let merged = crate::report::load_results(&m.results_path()).map_err(Failure::from)?;
    let shown = manifest_arg.display();
    match reviews.sample_unapproved(merged.as_ref()) {
        None => Err(Failure::new(
            exit::APPROVAL_REQUIRED,
            "approval_required",
            "review.require_approval is set and no sample has been rendered yet; nothing was submitted",
        )
        .hint(format!("`reelflow run {shown} --sample 12`, then approve it in `reelflow review {shown}`"))),
        Some(open) if !open.is_empty() => {
            let list: Vec<&str> = open.iter().take(5).map(String::as_str).collect();
            Err(Failure::new(
                exit::APPROVAL_REQUIRED,
                "approval_required",
                format!(
                    "review.require_approval is set and {} of {} sampled video(s) are not approved yet ({}{}); nothing was submitted",
                    open.len(),
                    reviews.sample.len(),
                    list.join(", "),
                    if open.len() > list.len() { ", …" } else { "" }
                ),
            )
            .hint(format!(
                "approve them in `reelflow review {shown}`; rejected ones render again with `reelflow run {shown} --sample {} --retry-rejected`",
                reviews.sample.len()
            )))
        }
        Some(_) => Ok(()),
    }
}
