//! Human tables and JSON on stdout.

use std::io::Write;

use serde::Serialize;
use serde_json::json;

/// A plain aligned table. Cells longer than `max_width` are shortened so a
/// long name cannot push the columns off screen; the last column is whole.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    max_width: usize,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            max_width: 56,
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders to a string.
    pub fn render(&self) -> String {
        let fit = |s: &str| -> String {
            if s.chars().count() <= self.max_width {
                s.to_owned()
            } else {
                let mut t: String = s.chars().take(self.max_width - 1).collect();
                t.push('…');
                t
            }
        };
        // The last column pushes nothing off screen, so it is never cut
        // (plan's MEANING column was cut even on a 160-column terminal).
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let last = r.len().saturating_sub(1);
                r.iter()
                    .enumerate()
                    .map(|(i, c)| if i == last { c.clone() } else { fit(c) })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    out.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
                }
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.headers);
        for r in &rows {
            out.push_str(&line(r));
        }
        out
    }

    /// Prints to stdout.
    pub fn print(&self) {
        write_stdout(self.render().as_bytes());
    }
}

/// Writes to stdout. When the reader has gone away (`reelflow … | head -1`)
/// there is nobody left to tell anything: the process ends quietly with
/// exit 0, as `cat` or `ripgrep` do, instead of panicking.
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        stop_if_closed(&e);
    }
}

/// Locked stdout for writers that stream (CSV, JSON lines): a closed pipe
/// ends the process quietly, as in [`write_stdout`].
pub fn stdout() -> QuietStdout {
    QuietStdout(std::io::stdout().lock())
}

/// See [`stdout`].
pub struct QuietStdout(std::io::StdoutLock<'static>);

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).inspect_err(stop_if_closed)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().inspect_err(stop_if_closed)
    }
}

/// Ends the process quietly (exit 0) if `e` says stdout's reader is gone.
pub fn stop_if_closed(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(crate::exit::SUCCESS));
    }
}

/// Makes every `println!` end quietly on a closed pipe too. `println!`
/// panics when stdout's reader is gone; rather than route every print
/// site through [`write_stdout`], that one panic ends the process with
/// exit 0 before any message is printed. Every other panic is reported as
/// before.
pub fn end_quietly_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let closed = info.payload_as_str().is_some_and(|m| {
            m.starts_with("failed printing to stdout") && m.contains("Broken pipe")
        });
        if closed {
            std::process::exit(i32::from(crate::exit::SUCCESS));
        }
        previous(info);
    }));
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    let mut text = serde_json::to_vec_pretty(value).unwrap_or_default();
    text.push(b'\n');
    write_stdout(&text);
}

/// Prints `{"data": value}`, the v3 envelope.
pub fn print_data<T: Serialize>(value: &T) {
    print_json(&json!({ "data": value }));
}

/// Prints a merged list in the v3 list envelope.
pub fn print_list<T: Serialize>(items: &[T], has_more: bool) {
    print_json(&json!({ "data": items, "has_more": has_more, "next_token": null }));
}

/// `-` for a missing value.
pub fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

/// A unix timestamp as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn unix_time(secs: Option<i64>) -> String {
    match secs {
        Some(s) if s > 0 => {
            let s = s.min(253_402_300_799);
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(s as u64);
            let text = humantime::format_rfc3339_seconds(t).to_string();
            text.trim_end_matches('Z').replace('T', " ")
        }
        _ => "-".into(),
    }
}

/// Prints a line to stderr (progress and notes never go to stdout).
pub fn note(msg: impl AsRef<str>) {
    let _ = writeln!(std::io::stderr().lock(), "{}", msg.as_ref());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inner_columns_are_shortened() {
        let long = "request changed since the last run: will be created again, and more words";
        let mut t = Table::new(&["A", "B", "C"]);
        t.row(vec!["x".repeat(80), "y".into(), long.into()]);
        let text = t.render();
        assert!(text.contains(long), "{text}");
        assert!(text.contains('…'), "{text}");
    }
}
