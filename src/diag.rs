//! Diagnostics: an error is data (where, what, how to fix it), rendered in
//! one place with the offending source line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// An error and its causes as one line, `what: why: root cause`. A cause
/// whose text the line already holds is skipped, so an error that quotes
/// its source (or is transparent over it) is not said twice.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks the run.
    Error,
    /// Worth a look; does not block.
    Warning,
}

/// A CSV row a problem belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// Line in the CSV file where the row starts (1-based; the header is 1).
    pub line: u64,
    /// The row's rendered key, when it got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The text of that line, for the excerpt.
    #[serde(skip)]
    pub source: Option<String>,
    /// How many characters to underline.
    #[serde(skip)]
    pub width: usize,
}

impl Location {
    /// A location with its source line taken from `text`.
    pub fn in_text(file: &Path, text: &str, line: usize, column: usize, width: usize) -> Self {
        Location {
            file: file.to_owned(),
            line,
            column,
            source: text.lines().nth(line.saturating_sub(1)).map(str::to_owned),
            width: width.max(1),
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// Manifest field path, e.g. `video.scenes[1].script`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Where in the manifest (or CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The CSV row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<RowRef>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            field: None,
            location: None,
            row: None,
            hint: None,
        }
    }

    /// A warning.
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(message) }
    }

    /// Sets the field path.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the location.
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Sets the row.
    pub fn row(mut self, row: RowRef) -> Self {
        self.row = Some(row);
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders for a terminal.
    pub fn render(&self, csv: Option<&Path>) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", self.message);
        if let Some(row) = &self.row {
            let file = csv.map(|p| p.display().to_string()).unwrap_or_else(|| "data".into());
            match &row.key {
                Some(k) => {
                    let _ = writeln!(out, "  --> {file}:{} (row key {k:?})", row.line);
                }
                None => {
                    let _ = writeln!(out, "  --> {file}:{}", row.line);
                }
            }
        }
        if let Some(loc) = &self.location {
            let _ = writeln!(out, "  --> {}:{}:{}", loc.file.display(), loc.line, loc.column);
            if let Some(src) = &loc.source {
                let num = loc.line.to_string();
                let pad = " ".repeat(num.len());
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{num} | {src}");
                let caret_pad = " ".repeat(loc.column.saturating_sub(1));
                let _ = writeln!(out, "{pad} | {caret_pad}{}", "^".repeat(loc.width));
            }
        }
        if let Some(f) = &self.field {
            let _ = writeln!(out, "   = field: {f}");
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "   = hint: {h}");
        }
        out
    }
}

/// The closest of `candidates` to `word`, when close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Problems of many rows, grouped so that one mistake repeated over
/// thousands of rows reads as one entry with a count.
#[derive(Debug, Default)]
pub struct Problems {
    groups: BTreeMap<(Option<String>, String), Group>,
    order: Vec<(Option<String>, String)>,
    /// Problems not attached to rows (manifest-level), in order.
    pub general: Vec<Diagnostic>,
    dropped: u64,
}

#[derive(Debug)]
struct Group {
    first: Diagnostic,
    rows: Vec<RowRef>,
    count: u64,
}

/// Rows listed per group; the rest are counted.
const ROWS_SHOWN: usize = 5;
/// Distinct problems kept; more are counted.
const GROUPS_KEPT: usize = 500;

impl Problems {
    /// Adds a problem.
    pub fn push(&mut self, d: Diagnostic) {
        let Some(row) = d.row.clone() else {
            self.general.push(d);
            return;
        };
        let id = (d.field.clone(), d.message.clone());
        if let Some(g) = self.groups.get_mut(&id) {
            g.count += 1;
            if g.rows.len() < ROWS_SHOWN {
                g.rows.push(row);
            }
            return;
        }
        if self.groups.len() >= GROUPS_KEPT {
            self.dropped += 1;
            return;
        }
        self.order.push(id.clone());
        self.groups.insert(id, Group { first: d, rows: vec![row], count: 1 });
    }

    /// Errors counted (warnings excluded).
    pub fn error_count(&self) -> u64 {
        let grouped: u64 = self
            .groups
            .values()
            .filter(|g| g.first.severity == Severity::Error)
            .map(|g| g.count)
            .sum();
        grouped
            + self.dropped
            + self.general.iter().filter(|d| d.severity == Severity::Error).count() as u64
    }

    /// Warnings counted.
    pub fn warning_count(&self) -> u64 {
        let grouped: u64 = self
            .groups
            .values()
            .filter(|g| g.first.severity == Severity::Warning)
            .map(|g| g.count)
            .sum();
        grouped + self.general.iter().filter(|d| d.severity == Severity::Warning).count() as u64
    }

    /// Whether nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.general.is_empty() && self.dropped == 0
    }

    /// Renders every problem for a terminal.
    pub fn render(&self, csv: Option<&Path>) -> String {
        let mut out = String::new();
        for d in &self.general {
            out.push_str(&d.render(csv));
            out.push('\n');
        }
        for id in &self.order {
            let g = &self.groups[id];
            out.push_str(&g.first.render(csv));
            if g.count > 1 {
                let lines: Vec<String> = g.rows.iter().map(|r| r.line.to_string()).collect();
                let more = g.count - g.rows.len() as u64;
                let _ = write!(out, "   = in {} rows (CSV lines {}", g.count, lines.join(", "));
                if more > 0 {
                    let _ = write!(out, " and {more} more");
                }
                out.push_str(")\n");
            }
            out.push('\n');
        }
        if self.dropped > 0 {
            let _ = writeln!(out, "… and {} more problems not shown", self.dropped);
        }
        out
    }

    /// Every problem as JSON-ready values (one per group, with its rows).
    pub fn to_json(&self) -> serde_json::Value {
        let mut list: Vec<serde_json::Value> =
            self.general.iter().map(|d| serde_json::to_value(d).unwrap_or_default()).collect();
        for id in &self.order {
            let g = &self.groups[id];
            let mut v = serde_json::to_value(&g.first).unwrap_or_default();
            v["count"] = g.count.into();
            v["rows"] = serde_json::to_value(&g.rows).unwrap_or_default();
            list.push(v);
        }
        serde_json::json!({ "problems": list, "errors": self.error_count(), "warnings": self.warning_count(), "not_shown": self.dropped })
    }
}
