//! How a run looks: a live line on a terminal, a line every few seconds
//! elsewhere, or JSON events for machines. The engine never prints; these
//! sinks do.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::engine::{Event, EventSink, Progress};

/// JSON lines on stdout, one per event.
#[derive(Debug, Default)]
pub struct JsonLines;

impl EventSink for JsonLines {
    fn event(&mut self, event: &Event) {
        let mut out = super::output::stdout();
        if serde_json::to_writer(&mut out, event).is_ok() {
            let _ = writeln!(out);
        }
    }
}

/// A human display on stderr: a redrawn line on a TTY, periodic lines
/// otherwise. Notable events (failures, 429s, stops) print as lines above.
pub struct Human {
    bar: Option<indicatif::ProgressBar>,
    last_line: Instant,
    every: Duration,
    verbose: bool,
}

impl Human {
    /// A display; `tty` chooses the live line.
    pub fn new(tty: bool, verbose: bool) -> Self {
        let bar = tty.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                // `wide_msg` is cut at the terminal's width: a line that
                // wraps cannot be redrawn in place.
                indicatif::ProgressStyle::with_template("{spinner} {wide_msg}")
                    .expect("a valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Human { bar, last_line: Instant::now(), every: Duration::from_secs(5), verbose }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(b) => b.println(text),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }

    fn summary(p: &Progress) -> String {
        let secs = p.elapsed.as_secs_f64().max(0.001);
        let rate = p.done as f64 / secs * 60.0;
        let left = p.queued + p.submitting + p.rendering;
        let eta = if p.done > 0 && left > 0 {
            format!(
                " · ETA {}",
                humantime::format_duration(Duration::from_secs(
                    (left as f64 / (p.done as f64 / secs)) as u64
                ))
            )
        } else {
            String::new()
        };
        // Most telling first: the live line is cut at the terminal's width
        // (`wide_msg`), so a narrow terminal loses only the tail. Zero
        // counts are left out.
        let mut parts = vec![format!("done {}/{}", p.done, p.total)];
        for (what, n) in [("rendering", p.rendering), ("failed", p.failed)] {
            if n > 0 {
                parts.push(format!("{what} {n}"));
            }
        }
        if !eta.is_empty() {
            parts.push(eta.trim_start_matches(" · ").to_owned());
        }
        parts.push(format!("${:.2} spent", p.spent_usd));
        for (what, n) in [("queued", p.queued), ("submitting", p.submitting)] {
            if n > 0 {
                parts.push(format!("{what} {n}"));
            }
        }
        parts.push(format!("{rate:.1}/min · limit {}", p.limit));
        parts.join(" · ")
    }
}

impl EventSink for Human {
    fn event(&mut self, event: &Event) {
        let text = match event {
            Event::Planned { rows, to_submit, to_follow, estimated_usd, concurrency } => {
                Some(planned_line(*rows, *to_submit, *to_follow, *estimated_usd, *concurrency))
            }
            Event::Rejected { key, code, message } => {
                Some(format!("refused {key}: {code}: {message}"))
            }
            Event::Failed { key, code, message, .. } => {
                Some(format!("failed {key}: {code}: {message} (not charged)"))
            }
            Event::RateLimited { limit, retry_after_secs } => Some(format!(
                "429 from HeyGen: at most {limit} in flight now, pausing {retry_after_secs:.0}s"
            )),
            Event::PollFailed { error } => {
                Some(format!("status check failed ({error}); jobs are checked again"))
            }
            Event::DownloadFailed { key, error } => {
                Some(format!("download failed for {key}: {error}"))
            }
            Event::Stopped { message, .. } => Some(format!("stopping: {message}")),
            Event::Retrying { request, error, delay_secs } if self.verbose => {
                Some(format!("retrying {request} in {delay_secs:.1}s: {error}"))
            }
            Event::Completed { key, duration_secs, .. } if self.verbose => {
                Some(format!("completed {key} ({:.1}s)", duration_secs.unwrap_or(0.0)))
            }
            Event::Downloaded { key, path, bytes } if self.verbose => {
                Some(format!("saved {key} → {path} ({bytes} bytes)"))
            }
            Event::Finished { .. } => {
                if let Some(b) = &self.bar {
                    b.finish_and_clear();
                }
                None
            }
            _ => None,
        };
        if let Some(t) = text {
            self.line(t);
        }
    }

    fn tick(&mut self, p: &Progress) {
        let text = Self::summary(p);
        match &self.bar {
            Some(b) => b.set_message(text),
            None if self.last_line.elapsed() >= self.every => {
                self.last_line = Instant::now();
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            None => {}
        }
    }
}

/// The plan line, naming only what happens: `status` submits nothing, so
/// "submitting 0 (est. $0.00)" and a concurrency would only puzzle.
fn planned_line(
    rows: u64,
    to_submit: u64,
    to_follow: u64,
    estimated_usd: f64,
    concurrency: usize,
) -> String {
    let mut parts = Vec::new();
    if to_submit > 0 {
        parts.push(format!(
            "submitting {to_submit} (est. ${estimated_usd:.2}, at most {concurrency} in flight)"
        ));
    }
    if to_follow > 0 {
        parts.push(format!("following {to_follow} already submitted"));
    }
    if parts.is_empty() {
        parts.push("nothing to submit or follow".into());
    }
    format!("{rows} rows: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_fits_an_80_column_terminal() {
        let p = Progress {
            queued: 120,
            submitting: 8,
            rendering: 10,
            done: 4_862,
            failed: 12,
            limit: 10,
            spent_usd: 2_431.55,
            elapsed: Duration::from_secs(3_000),
            total: 5_000,
        };
        let line = Human::summary(&p);
        // What an 80-column terminal shows after the spinner and a space.
        let shown: String = line.chars().take(78).collect();
        for essential in ["done 4862/5000", "rendering 10", "failed 12", "ETA", "$2431.55 spent"] {
            assert!(shown.contains(essential), "{essential} missing from {shown:?}");
        }
        assert!(line.contains("queued 120") && line.contains("limit 10"), "{line}");
        let quiet = Progress { queued: 0, submitting: 0, failed: 0, ..p };
        assert!(!Human::summary(&quiet).contains("queued"));
    }
}
