//! Results as a JUnit XML report, the shape CI systems read (GitHub
//! Actions test reporters, GitLab, Jenkins): one `<testsuite>` per
//! campaign, one `<testcase>` per row. A failed render is a `<failure>`,
//! a row that was never submitted (credit, cost cap, a refused create) an
//! `<error>`, a video still rendering is `<skipped>`. Orphaned rows are
//! no longer part of the campaign and are left out.

use std::fmt::Write;

use super::model::{hint, render_secs};
use crate::results::{EntryStatus, ResultsFile};

/// Escapes text for XML content and attributes (the HTML escapes are
/// XML's too), dropping characters XML 1.0 cannot carry at all (C0
/// controls other than tab and line ends).
pub fn xml_escape(s: &str) -> String {
    let carried = |c: &char| {
        matches!(c, '\t' | '\n' | '\r')
            || !((*c as u32) < 0x20 || *c == '\u{FFFE}' || *c == '\u{FFFF}')
    };
    if s.chars().all(|c| carried(&c)) {
        return super::html::escape(s);
    }
    super::html::escape(&s.chars().filter(carried).collect::<String>())
}

/// The JUnit XML for a results file.
pub fn render(results: &ResultsFile) -> String {
    let entries: Vec<_> = results.entries.iter().filter(|e| !e.orphaned).collect();
    let count = |s: EntryStatus| entries.iter().filter(|e| e.status == s).count();
    let (failures, errors, skipped) = (
        count(EntryStatus::Failed),
        count(EntryStatus::NotSubmitted),
        count(EntryStatus::Rendering),
    );
    let total_time: f64 = entries.iter().filter_map(|e| render_secs(e)).sum();
    let name = xml_escape(&results.campaign);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"reelflow\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_time:.3}\">",
        entries.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{total_time:.3}\">",
        entries.len()
    );
    let _ = writeln!(
        x,
        "    <properties>\n      <property name=\"account\" value=\"{}\"/>\n      <property name=\"cost_usd\" value=\"{:.4}\"/>\n    </properties>",
        xml_escape(&results.account),
        results.summary.cost_usd
    );
    for e in entries {
        let time = render_secs(e).unwrap_or(0.0);
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{name}\" time=\"{time:.3}\"",
            xml_escape(&e.key)
        );
        let (code, message) = e
            .error
            .as_ref()
            .map(|x| (x.code.as_str(), x.message.as_str()))
            .unwrap_or(("unknown", "no error recorded"));
        let body = |kind: &str| {
            format!(
                "      <{kind} message=\"{}\" type=\"{}\">{}: {}\nrow: CSV line {}\nhint: {}</{kind}>\n",
                xml_escape(message),
                xml_escape(code),
                xml_escape(code),
                xml_escape(message),
                e.row,
                xml_escape(hint(code))
            )
        };
        let inner = match e.status {
            EntryStatus::Completed => String::new(),
            EntryStatus::Failed => body("failure"),
            EntryStatus::NotSubmitted => body("error"),
            EntryStatus::Rendering => format!(
                "      <skipped message=\"still rendering{}\"/>\n",
                e.video_id.as_deref().map(|v| format!(" ({})", xml_escape(v))).unwrap_or_default()
            ),
        };
        let mut out = Vec::new();
        if let Some(v) = &e.video_id {
            out.push(format!("video_id: {v}"));
        }
        if let Some(f) = &e.file {
            out.push(format!("file: {f}"));
        }
        if let Some(d) = e.duration_secs {
            out.push(format!("duration_secs: {d}"));
        }
        if inner.is_empty() && out.is_empty() {
            x.push_str("/>\n");
            continue;
        }
        x.push_str(">\n");
        x.push_str(&inner);
        if !out.is_empty() {
            let _ = writeln!(x, "      <system-out>{}</system-out>", xml_escape(&out.join("\n")));
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Entry, EntryError};

    #[test]
    fn escapes_markup_and_drops_what_xml_cannot_carry() {
        assert_eq!(
            xml_escape("O'Neil & <Co>\t\u{1}\u{FFFF}\"x\""),
            "O&#39;Neil &amp; &lt;Co&gt;\t&quot;x&quot;"
        );
        assert_eq!(xml_escape("plain"), "plain");
    }

    #[test]
    fn one_case_per_row_with_failures_carrying_the_error() {
        let mut r = ResultsFile::new("camp<1>", "default", None);
        let mut ok = Entry::new("a".into(), 2, "h".into());
        ok.status = EntryStatus::Completed;
        let mut bad = Entry::new("b&\u{1}".into(), 3, "h".into());
        bad.status = EntryStatus::Failed;
        bad.error = Some(EntryError { code: "rendering_failed".into(), message: "<bad>".into() });
        let mut gone = Entry::new("c".into(), 4, "h".into());
        gone.orphaned = true;
        r.entries = vec![ok, bad, gone];
        r.normalize();
        let x = render(&r);
        assert!(x.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\""), "{x}");
        assert!(x.contains("<testcase name=\"b&amp;\" classname=\"camp&lt;1&gt;\""), "{x}");
        assert!(x.contains("<failure message=\"&lt;bad&gt;\" type=\"rendering_failed\">"), "{x}");
        assert!(!x.contains("name=\"c\""), "orphans are not test cases");
    }
}
