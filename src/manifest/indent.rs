//! Explains "missing field" errors that are really indentation mistakes.
//!
//! When `scenes:` is written one level too far left it leaves `video` and
//! lands at the top level; serde then says only "missing field `scenes`",
//! which sends the user looking for a key that is right there.

use std::path::Path;

use crate::diag::{Diagnostic, Location};

/// If `d` says a field is missing while a line of `text` has that key at
/// another indentation, points at that line and says how to indent it.
/// Any other diagnostic is returned unchanged.
pub fn explain_missing(path: &Path, text: &str, d: Diagnostic) -> Diagnostic {
    let Some(name) = d
        .message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
        .map(str::to_owned)
    else {
        return d;
    };
    // serde points at the mapping's first key: its indentation is where
    // the missing key belongs.
    let Some(expected) = d.location.as_ref().map(|l| l.column.saturating_sub(1)) else {
        return d;
    };
    let sibling_line = d.location.as_ref().map_or(0, |l| l.line);
    let Some((line, indent)) = text.lines().enumerate().find_map(|(i, l)| {
        let body = l.trim_start();
        let key = body.strip_prefix("- ").unwrap_or(body);
        let indent = l.len() - body.len();
        (key.strip_prefix(&name).is_some_and(|rest| rest.trim_start().starts_with(':'))
            && indent != expected)
            .then_some((i + 1, indent))
    }) else {
        return d;
    };
    let parent = d.field.clone().unwrap_or_else(|| "the mapping".into());
    let mut out = Diagnostic::error(format!(
        "`{parent}` has no `{name}`: the `{name}:` on line {line} is indented {indent} space{}, not {expected} like `{parent}`'s other keys (line {sibling_line})",
        if indent == 1 { "" } else { "s" }
    ))
    .at(Some(Location::in_text(path, text, line, indent + 1, name.chars().count())))
    .hint(format!(
        "indent `{name}:` (and everything under it) to {expected} spaces so it belongs to `{parent}`"
    ));
    out.field = d.field;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dedented_key_is_pointed_at() {
        let text = "video:\n  title: x\nscenes:\n  - script: hi\n";
        let d = Diagnostic::error("missing field `scenes`")
            .field("video")
            .at(Some(Location::in_text(Path::new("m.yaml"), text, 2, 3, 1)));
        let out = explain_missing(Path::new("m.yaml"), text, d);
        assert!(out.message.contains("line 3 is indented 0 spaces, not 2"), "{}", out.message);
        assert_eq!(out.location.map(|l| l.line), Some(3));
    }

    #[test]
    fn a_truly_missing_key_is_left_alone() {
        let text = "video:\n  title: x\n";
        let d = Diagnostic::error("missing field `scenes`").at(Some(Location::in_text(
            Path::new("m.yaml"),
            text,
            2,
            3,
            1,
        )));
        let out = explain_missing(Path::new("m.yaml"), text, d);
        assert_eq!(out.message, "missing field `scenes`");
    }
}
