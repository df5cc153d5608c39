//! Reports: what a campaign rendered, for people ([`html`]) and for CI
//! ([`junit`]), all pure functions of one [`model::Report`] (or the
//! results), in the manner of hurl's report modules.

pub mod html;
pub mod junit;
pub mod model;

use std::path::Path;

use crate::dataset::Dataset;
use crate::diag::Diagnostic;
use crate::manifest::LoadedManifest;
use crate::results::ResultsFile;
use crate::validate::{Expansion, RowOutcome};

pub use model::{Names, Report, RowSource, build};

/// The results of a manifest, shards merged. Every report, review and
/// export reads results through here, so the merge rule lives in one place.
pub fn load_results(path: &Path) -> Result<Option<ResultsFile>, crate::results::ResultsError> {
    crate::results::read_merged(path)
}

/// Every data row of a manifest as the report sees it: its job (with the
/// offline checks applied) or why it is invalid, and the values of the
/// columns the templates use. Rows `data.where` skips are left out.
pub fn rows(manifest: LoadedManifest) -> Result<Vec<RowSource>, Vec<Diagnostic>> {
    let columns_used = {
        let header = Dataset::open(&manifest.csv_path()).map_err(|d| vec![d])?;
        let names = header.header().names.clone();
        (model::used_columns(&manifest.text, &names), names)
    };
    let (used, names) = columns_used;
    // A second reader walks the data in step with the expansion (one
    // record per row either way), so each job gets its row's values
    // without the renderer having to keep them.
    let mut data = Dataset::open(&manifest.csv_path()).map_err(|d| vec![d])?;
    let mut expansion = Expansion::open(manifest)?;
    let mut out = Vec::new();
    while let Some(outcome) = expansion.next_row() {
        let raw = data.next_row();
        let (line, variables) = match raw {
            Some(Ok(row)) => (
                row.line,
                used.iter()
                    .map(|&i| (names[i].clone(), row.values.get(i).cloned().unwrap_or_default()))
                    .collect(),
            ),
            _ => (0, Vec::new()),
        };
        match outcome {
            RowOutcome::Skipped => {}
            RowOutcome::Job(job, problems) if problems.is_empty() => {
                out.push(RowSource::Job { job, variables });
            }
            RowOutcome::Job(job, problems) => out.push(RowSource::Invalid {
                key: Some(job.key.clone()),
                line: job.line,
                message: messages(&problems),
                variables,
            }),
            RowOutcome::Invalid(problems) => out.push(RowSource::Invalid {
                key: problems.iter().find_map(|d| d.row.as_ref().and_then(|r| r.key.clone())),
                line: problems.iter().find_map(|d| d.row.as_ref().map(|r| r.line)).unwrap_or(line),
                message: messages(&problems),
                variables,
            }),
        }
    }
    Ok(out)
}

fn messages(problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .map(|d| match (&d.field, &d.hint) {
            (Some(f), Some(h)) => format!("{f}: {} ({h})", d.message),
            (Some(f), None) => format!("{f}: {}", d.message),
            (None, Some(h)) => format!("{} ({h})", d.message),
            (None, None) => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `target` as a link relative to the folder `from` (both made absolute
/// first); `/`-separated, each segment percent-encoded where a URL needs it.
pub fn relative_link(from: &Path, target: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let (from, target) = (abs(from), abs(target));
    let norm = |p: &Path| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                std::path::Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
                _ => {}
            }
        }
        out
    };
    let (f, t) = (norm(&from), norm(&target));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_owned(), f.len() - common).collect();
    parts.extend(t[common..].iter().map(|s| url_segment(s)));
    parts.join("/")
}

/// Percent-encodes a path segment (keeps unreserved characters).
pub fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_and_encoded() {
        assert_eq!(
            relative_link(Path::new("/p/out"), Path::new("/p/out/videos/a b.mp4")),
            "videos/a%20b.mp4"
        );
        assert_eq!(
            relative_link(Path::new("/p/reports"), Path::new("/p/out/v.mp4")),
            "../out/v.mp4"
        );
    }
}
