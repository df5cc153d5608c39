//! Keys repeated in one YAML mapping.
//!
//! YAML says a mapping's keys are unique, but deserializing into the
//! manifest's structs keeps the last value silently: a second
//! `renewal_date:` under `template.variables` would quietly replace the
//! first. Parsing into a generic YAML value does notice; this turns that
//! into a located error naming both lines.

use std::path::Path;

use crate::diag::{Diagnostic, Location};

/// An error for the first key repeated within one mapping of `text`, if
/// any. Other YAML problems are left to the manifest's own parse, which
/// reports them with more context.
pub fn check(path: &Path, text: &str) -> Result<(), Diagnostic> {
    let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Ok(());
    };
    let message = e.to_string();
    // "template.variables: duplicate entry with key \"renewal_date\" at line 4 column 5"
    let (mapping, rest) = match message.split_once("duplicate entry with key ") {
        Some((before, rest)) => (before.trim_end().trim_end_matches(':').to_owned(), rest),
        None => return Ok(()),
    };
    let shown = rest.split(" at line ").next().unwrap_or(rest);
    // String keys are shown quoted ("renewal_date"), others as written.
    let key = shown
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| shown.strip_prefix('`').and_then(|s| s.strip_suffix('`')))
        .unwrap_or(shown)
        .to_owned();
    let whose =
        if mapping.is_empty() { "the top level".to_owned() } else { format!("`{mapping}`") };
    let plain = || {
        Diagnostic::error(format!("{whose} has the key `{key}` twice"))
            .hint("YAML keys are unique within a mapping and only the last would count: keep one")
    };
    // The parser reports where the mapping starts: its first key, whose
    // column is the indentation of every key of that mapping.
    let Some(start) = e.location() else {
        return Err(plain());
    };
    let indent = start.column().saturating_sub(1);
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate().skip(start.line().saturating_sub(1)) {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let this_indent = line.len() - body.len();
        if i + 1 > start.line() && this_indent < indent && !body.starts_with("- ") {
            break;
        }
        if key_indent(line, &key) == Some(indent) {
            found.push(i + 1);
        }
        if found.len() == 2 {
            break;
        }
    }
    let [first, second] = found[..] else {
        return Err(plain());
    };
    let location = Location::in_text(path, text, second, indent + 1, key.chars().count());
    let mut d = Diagnostic::error(format!(
        "{whose} has the key `{key}` twice: line {first} and line {second}"
    ))
    .at(Some(location))
    .hint("YAML keys are unique within a mapping and only the last would count: keep one");
    if !mapping.is_empty() {
        d = d.field(mapping);
    }
    Err(d)
}

/// The indentation of `line` when it is `key:` (or `- key:`), else `None`.
fn key_indent(line: &str, key: &str) -> Option<usize> {
    let body = line.trim_start();
    let mut indent = line.len() - body.len();
    let mut body = body;
    if let Some(item) = body.strip_prefix("- ") {
        indent += 2 + (item.len() - item.trim_start().len());
        body = item.trim_start();
    }
    let unquoted = [key.to_owned(), format!("\"{key}\""), format!("'{key}'")];
    unquoted
        .iter()
        .any(|k| body.strip_prefix(k.as_str()).is_some_and(|r| r.trim_start().starts_with(':')))
        .then_some(indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_variable_names_both_lines() {
        let text = "template:\n  id: t\n  variables:\n    renewal_date: a\n    name: b\n    renewal_date: c\n";
        let d = check(Path::new("m.yaml"), text).unwrap_err();
        assert!(
            d.message.contains("`template.variables` has the key `renewal_date` twice"),
            "{}",
            d.message
        );
        assert!(d.message.contains("line 4 and line 6"), "{}", d.message);
        assert_eq!(d.location.map(|l| (l.line, l.column)), Some((6, 5)));
    }

    #[test]
    fn the_same_key_in_different_mappings_is_fine() {
        let text = "a:\n  name: x\nb:\n  name: y\nlist:\n  - name: 1\n  - name: 2\n";
        assert!(check(Path::new("m.yaml"), text).is_ok());
    }

    #[test]
    fn a_repeat_in_a_list_item_is_found() {
        let text = "scenes:\n  - script: a\n    voice: v\n    script: b\n";
        let d = check(Path::new("m.yaml"), text).unwrap_err();
        assert!(d.message.contains("line 2 and line 4"), "{}", d.message);
    }
}
