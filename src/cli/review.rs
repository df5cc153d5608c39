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
    if report::load_results(&results)
        .map_err(|e| Failure::new(exit::INVALID_INPUT, "invalid_results", e))?
        .is_none()
    {
        return Err(no_results(&results, &args.manifest));
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
        let r = build_report(&manifest, &names, &media).map_err(|f| f.message)?;
        Ok(html::render(&r, &html::HtmlOptions { review_token: Some(token.to_owned()) }))
    });
    let config =
        ReviewConfig { results, reviews: reviews.clone(), base_dir, token: new_token(), page };
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
