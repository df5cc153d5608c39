//! The report model: one row per data row (and per orphaned result), built
//! from the manifest's jobs, the results (shards merged) and the review
//! decisions. A pure function: the same inputs give the same report, with
//! no clock and no randomness, so reports diff cleanly.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::render::Job;
use crate::results::{Entry, EntryStatus, ResultsFile};
use crate::review::{ReviewState, Reviews};

/// A report: a summary and one row per data row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Campaign name.
    pub campaign: String,
    /// Account of the results, when there are any.
    pub account: Option<String>,
    /// Totals.
    pub summary: ReportSummary,
    /// Rows, in data order; orphaned results last, by key.
    pub rows: Vec<ReportRow>,
}

/// Totals over the report's rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportSummary {
    /// Rows.
    pub total: u64,
    /// Rows per status (`completed`, `rendering`, `failed`,
    /// `not_submitted`, `not_run`, `invalid`).
    pub by_status: BTreeMap<String, u64>,
    /// Rows per review state (`approved`, `rejected`, `unreviewed`).
    pub by_review: BTreeMap<String, u64>,
    /// Spend on completed videos, USD.
    pub cost_usd: f64,
    /// Output seconds of completed videos.
    pub duration_secs: f64,
    /// Render times (submitted → completed) in buckets, for the chart.
    pub render_time: Vec<Bucket>,
    /// Median render time, seconds.
    pub render_p50_secs: Option<f64>,
    /// 90th percentile render time, seconds.
    pub render_p90_secs: Option<f64>,
}

/// One bar of the render-time chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// `< 1m`, `1–2m`, …
    pub label: String,
    /// Videos in it.
    pub count: u64,
}

/// An id with its catalog name, when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The id sent.
    pub id: String,
    /// The catalog's name for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What one scene (or template variable group) sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SceneSummary {
    /// Avatar look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Named>,
    /// Voice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<Named>,
    /// What is said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// An error with what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    /// Machine code.
    pub code: String,
    /// Message.
    pub message: String,
    /// What to do.
    pub hint: String,
}

/// A review decision as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowReview {
    /// `approved`, `rejected` or `unreviewed`.
    pub state: String,
    /// Who.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Row key.
    pub key: String,
    /// CSV line (0 for an orphaned result with no row).
    pub line: u64,
    /// `completed`, `rendering`, `failed`, `not_submitted`, `not_run`
    /// (no result yet) or `invalid` (the row does not validate).
    pub status: String,
    /// The row left the data; kept for the record.
    pub orphaned: bool,
    /// The request now differs from the one this result was rendered from
    /// (the row or the manifest changed): the next run makes it again, and
    /// the request shown is the new one.
    pub changed: bool,
    /// Video title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The row's values the manifest's templates use.
    pub variables: Vec<(String, String)>,
    /// `POST /v3/videos` or `POST /v3/templates/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The exact request body sent (or to be sent).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub request: Value,
    /// Avatars, voices and scripts, scene by scene.
    pub scenes: Vec<SceneSummary>,
    /// Output length, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Cost, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Estimated cost, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    /// Render time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub render_secs: Option<f64>,
    /// Create attempts.
    pub attempts: u32,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RowError>,
    /// HeyGen video id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// HeyGen's page for the video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_page_url: Option<String>,
    /// Downloaded video, as a link relative to the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<String>,
    /// Downloaded thumbnail, as a link relative to the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// Review state.
    pub review: RowReview,
}

/// One data row as the report sees it.
#[derive(Debug, Clone)]
pub enum RowSource {
    /// A valid row and its job.
    Job {
        /// The job.
        job: Box<Job>,
        /// The row's values the templates use.
        variables: Vec<(String, String)>,
    },
    /// A row that does not validate.
    Invalid {
        /// Its key, when it rendered.
        key: Option<String>,
        /// Its CSV line.
        line: u64,
        /// The problems, one per line.
        message: String,
        /// The row's values the templates use.
        variables: Vec<(String, String)>,
    },
}

/// Catalog names of avatar looks and voices.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Look id → name.
    pub avatars: HashMap<String, String>,
    /// Voice id → name (with its language).
    pub voices: HashMap<String, String>,
}

impl Names {
    /// Names from a catalog.
    pub fn from_catalog(c: &crate::validate::catalog::Catalog) -> Names {
        Names {
            avatars: c.looks.iter().map(|l| (l.id.clone(), l.name.clone())).collect(),
            voices: c
                .voices
                .iter()
                .map(|v| {
                    let name = if v.language.is_empty() {
                        v.name.clone()
                    } else {
                        format!("{} ({})", v.name, v.language)
                    };
                    (v.voice_id.clone(), name)
                })
                .collect(),
        }
    }

    fn avatar(&self, id: &str) -> Named {
        Named { id: id.to_owned(), name: self.avatars.get(id).cloned() }
    }

    fn voice(&self, id: &str) -> Named {
        Named { id: id.to_owned(), name: self.voices.get(id).cloned() }
    }
}

/// Builds the report. `media` turns a path relative to the manifest's
/// folder (a result's `file`) into the link the page uses.
pub fn build(
    campaign: &str,
    rows: Vec<RowSource>,
    results: Option<&ResultsFile>,
    reviews: &Reviews,
    names: &Names,
    media: &dyn Fn(&str) -> String,
) -> Report {
    let mut entries: BTreeMap<&str, &Entry> = results
        .map(|r| r.entries.iter().map(|e| (e.key.as_str(), e)).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for source in rows {
        let row = match source {
            RowSource::Job { job, variables } => {
                let entry = entries.remove(job.key.as_str());
                let (method, path) = job.request.endpoint();
                let request = job.request.body_json();
                let mut r = blank(&job.key, job.line, variables);
                r.title = job.request.title().map(str::to_owned);
                r.endpoint = Some(format!("{method} {path}"));
                r.scenes = scenes(&request, names);
                r.request = request;
                if let Some(e) = entry {
                    fill(&mut r, e, reviews, media);
                    let account = results.map(|x| x.account.as_str()).unwrap_or_default();
                    r.changed = crate::plan::job_hash(&job, account) != e.hash;
                }
                r
            }
            RowSource::Invalid { key, line, message, variables } => {
                let key = key.unwrap_or_else(|| format!("line {line}"));
                let entry = entries.remove(key.as_str());
                let mut r = blank(&key, line, variables);
                if let Some(e) = entry {
                    fill(&mut r, e, reviews, media);
                }
                r.status = "invalid".into();
                r.error = Some(RowError {
                    code: "invalid_row".into(),
                    message,
                    hint: "fix the row or the manifest; `reelflow validate` shows each problem with its place".into(),
                });
                r
            }
        };
        out.push(row);
    }
    // Results whose row left the data: kept, as the results keep them.
    for (key, e) in entries {
        let mut r = blank(key, e.row, Vec::new());
        r.title = e.title.clone();
        fill(&mut r, e, reviews, media);
        r.orphaned = true;
        out.push(r);
    }
    let summary = summarize(&out);
    Report {
        campaign: campaign.to_owned(),
        account: results.map(|r| r.account.clone()),
        summary,
        rows: out,
    }
}

fn blank(key: &str, line: u64, variables: Vec<(String, String)>) -> ReportRow {
    ReportRow {
        key: key.to_owned(),
        line,
        status: "not_run".into(),
        orphaned: false,
        changed: false,
        title: None,
        variables,
        endpoint: None,
        request: Value::Null,
        scenes: Vec::new(),
        duration_secs: None,
        cost_usd: None,
        estimated_cost_usd: None,
        render_secs: None,
        attempts: 0,
        error: None,
        video_id: None,
        video_page_url: None,
        video: None,
        thumbnail: None,
        review: RowReview {
            state: ReviewState::Unreviewed.as_str().into(),
            by: None,
            at: None,
            note: String::new(),
        },
    }
}

/// A status's name as results files spell it.
pub fn status_name(s: EntryStatus) -> &'static str {
    match s {
        EntryStatus::Completed => "completed",
        EntryStatus::Rendering => "rendering",
        EntryStatus::Failed => "failed",
        EntryStatus::NotSubmitted => "not_submitted",
    }
}

fn fill(r: &mut ReportRow, e: &Entry, reviews: &Reviews, media: &dyn Fn(&str) -> String) {
    r.status = status_name(e.status).into();
    r.orphaned = e.orphaned;
    r.duration_secs = e.duration_secs;
    r.cost_usd = e.cost_usd;
    r.estimated_cost_usd = e.estimated_cost_usd;
    r.attempts = e.attempts;
    r.video_id = e.video_id.clone();
    r.video_page_url = e.video_page_url.clone();
    r.render_secs = render_secs(e);
    if e.status == EntryStatus::Completed {
        r.video = e.file.as_deref().map(media);
        r.thumbnail = thumbnail_file(e).map(|f| media(&f));
    }
    r.error = e.error.as_ref().map(|x| RowError {
        code: x.code.clone(),
        message: x.message.clone(),
        hint: hint(&x.code).into(),
    });
    let state = reviews.state(e);
    r.review.state = state.as_str().into();
    if state != ReviewState::Unreviewed
        && let Some(d) = reviews.decision(&e.key)
    {
        r.review.by = Some(d.by.clone());
        r.review.at = Some(d.at.clone());
        r.review.note = d.note.clone();
    }
}

/// The downloaded thumbnail, if the results record one. Read as an
/// optional extra field so results written before thumbnails were
/// downloaded, and after, both work.
fn thumbnail_file(e: &Entry) -> Option<String> {
    let v = serde_json::to_value(e).ok()?;
    v.get("thumbnail_file")?.as_str().map(str::to_owned)
}

/// Seconds from accepted to completed.
pub fn render_secs(e: &Entry) -> Option<f64> {
    let a = humantime::parse_rfc3339_weak(e.submitted_at.as_deref()?).ok()?;
    let b = humantime::parse_rfc3339_weak(e.completed_at.as_deref()?).ok()?;
    b.duration_since(a).ok().map(|d| d.as_secs_f64())
}

/// What to do about a recorded error code.
pub fn hint(code: &str) -> &'static str {
    match code {
        "insufficient_credit" | "trial_limit_exceeded" | "plan_upgrade_required" => {
            "top up the HeyGen API wallet, then `reelflow run` submits the rest"
        }
        "cost_cap" | "max_cost" => "raise run.max_cost_usd (or --max-cost), then run again",
        "interrupted" => "`reelflow run` resumes without creating anything twice",
        "rate_limit_exceeded" => "lower run.concurrency; reelflow retries 429s on its own",
        "unauthorized" | "authentication_failed" => {
            "check the account's API key (`reelflow accounts --check`)"
        }
        "invalid_parameter" | "invalid_request" => {
            "fix the field named in the message; `reelflow validate` checks before sending"
        }
        "not_found" | "avatar_not_found" | "voice_not_found" => {
            "check the id with `reelflow avatars` / `reelflow voices`"
        }
        "download_failed" | "download_expired" => {
            "`reelflow status` fetches fresh links and downloads again"
        }
        _ => {
            "failed renders are not charged: `reelflow run --retry-failed` resubmits; if it fails again, change the script or avatar"
        }
    }
}

/// Avatars, voices and scripts found in a request body, in order. Walks the
/// JSON so every request shape (avatar, studio, template) is covered.
fn scenes(body: &Value, names: &Names) -> Vec<SceneSummary> {
    let mut out = Vec::new();
    walk(body, names, &mut out);
    out
}

fn walk(v: &Value, names: &Names, out: &mut Vec<SceneSummary>) {
    match v {
        Value::Object(map) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
            let avatar = text("avatar_id").or_else(|| text("character_id"));
            let voice = text("voice_id");
            let script = text("script");
            if avatar.is_some() || voice.is_some() || script.is_some() {
                out.push(SceneSummary {
                    avatar: avatar.map(|a| names.avatar(&a)),
                    voice: voice.map(|a| names.voice(&a)),
                    script,
                });
            }
            for (k, child) in map {
                if !matches!(k.as_str(), "avatar_id" | "character_id" | "voice_id" | "script") {
                    walk(child, names, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, names, out)),
        _ => {}
    }
}

const BUCKETS: [(f64, &str); 7] = [
    (30.0, "< 30s"),
    (60.0, "30s–1m"),
    (120.0, "1–2m"),
    (300.0, "2–5m"),
    (600.0, "5–10m"),
    (1800.0, "10–30m"),
    (f64::INFINITY, "≥ 30m"),
];

fn summarize(rows: &[ReportRow]) -> ReportSummary {
    let mut s = ReportSummary { total: rows.len() as u64, ..ReportSummary::default() };
    for state in ["approved", "rejected", "unreviewed"] {
        s.by_review.insert(state.into(), 0);
    }
    let mut times = Vec::new();
    for r in rows {
        *s.by_status.entry(r.status.clone()).or_default() += 1;
        *s.by_review.entry(r.review.state.clone()).or_default() += 1;
        if r.status == "completed" {
            s.cost_usd += r.cost_usd.unwrap_or(0.0);
            s.duration_secs += r.duration_secs.unwrap_or(0.0);
            if let Some(t) = r.render_secs {
                times.push(t);
            }
        }
    }
    s.cost_usd = (s.cost_usd * 10_000.0).round() / 10_000.0;
    s.duration_secs = (s.duration_secs * 100.0).round() / 100.0;
    s.render_time = BUCKETS
        .iter()
        .enumerate()
        .map(|(i, (hi, label))| {
            let lo = if i == 0 { f64::NEG_INFINITY } else { BUCKETS[i - 1].0 };
            Bucket {
                label: (*label).into(),
                count: times.iter().filter(|t| **t >= lo && **t < *hi).count() as u64,
            }
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| -> Option<f64> {
        if times.is_empty() {
            return None;
        }
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        Some(times[i])
    };
    s.render_p50_secs = pct(0.5);
    s.render_p90_secs = pct(0.9);
    s
}

/// The CSV columns a manifest's templates use, found in its `{{ … }}` and
/// `{% … %}` blocks (as names or as `row["…"]` strings). Shown per row as
/// "variables used"; all columns when none are found.
pub fn used_columns(manifest_text: &str, columns: &[String]) -> Vec<usize> {
    let mut tokens = std::collections::HashSet::new();
    let mut rest = manifest_text;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        let block = &body[..end];
        let mut word = String::new();
        let mut quoted: Option<char> = None;
        for c in block.chars().chain(std::iter::once(' ')) {
            match quoted {
                Some(q) if c == q => {
                    tokens.insert(std::mem::take(&mut word));
                    quoted = None;
                }
                Some(_) => word.push(c),
                None if c == '"' || c == '\'' => {
                    word.clear();
                    quoted = Some(c);
                }
                None if c.is_alphanumeric() || c == '_' => word.push(c),
                None => {
                    if !word.is_empty() {
                        tokens.insert(std::mem::take(&mut word));
                    }
                }
            }
        }
        rest = &body[end.min(body.len())..];
    }
    let used: Vec<usize> =
        (0..columns.len()).filter(|i| tokens.contains(columns[*i].as_str())).collect();
    if used.is_empty() { (0..columns.len()).collect() } else { used }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_columns_finds_names_and_quoted_columns() {
        let cols: Vec<String> =
            ["email", "First Name", "plan", "unused"].iter().map(|s| s.to_string()).collect();
        let text = "key: \"{{ email }}\"\nscript: Hi {{ row[\"First Name\"] | title }}\nwhere: \"{% if plan == 'pro' %}\"\nnote: unused outside braces\n";
        assert_eq!(used_columns(text, &cols), [0, 1, 2]);
        assert_eq!(used_columns("no templates", &cols), [0, 1, 2, 3], "all when none found");
    }

    #[test]
    fn render_time_buckets_and_percentiles() {
        let mut rows = Vec::new();
        for (i, secs) in [10.0, 45.0, 50.0, 200.0].iter().enumerate() {
            let mut r = blank(&format!("k{i}"), i as u64 + 2, vec![]);
            r.status = "completed".into();
            r.render_secs = Some(*secs);
            r.cost_usd = Some(0.5);
            rows.push(r);
        }
        let s = summarize(&rows);
        let counts: Vec<u64> = s.render_time.iter().map(|b| b.count).collect();
        assert_eq!(counts, [1, 2, 0, 1, 0, 0, 0]);
        assert_eq!(s.render_p50_secs, Some(50.0));
        assert_eq!(s.cost_usd, 2.0);
        assert_eq!(s.by_review["unreviewed"], 4);
    }

    #[test]
    fn scenes_are_found_in_any_request_shape() {
        let body = serde_json::json!({"type": "studio", "scenes": [
            {"type": "avatar_video", "input": {"avatar_id": "A1", "voice_id": "V1", "script": "hi"}},
            {"type": "image"},
            {"input": {"avatar_id": "A2", "script": "bye"}}
        ]});
        let mut names = Names::default();
        names.avatars.insert("A1".into(), "Abigail".into());
        let s = scenes(&body, &names);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].avatar.as_ref().unwrap().name.as_deref(), Some("Abigail"));
        assert_eq!(s[1].avatar.as_ref().unwrap().name, None);
        assert_eq!(s[1].script.as_deref(), Some("bye"));
    }
}
