//! Template filters beyond minijinja's, and the check that every filter a
//! manifest names exists.
//!
//! minijinja looks filters up only when a template runs, so a typo such as
//! `{{ first_name | titel }}` used to fail once per row with no suggestion.
//! [`unknown_filters`] finds it once, at compile time, with a did-you-mean.

use minijinja::{Environment, ErrorKind};

use crate::diag::{Diagnostic, did_you_mean};
use crate::manifest::LoadedManifest;

/// Filters reelflow adds to minijinja's (besides `slug`, `first_word` and
/// `default`, registered with the environment).
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("name_case", |v: String| name_case(&v));
}

/// Upper-cases the first letter of each word and keeps the rest as
/// written: `grace` → `Grace`, `O'Neil` stays `O'Neil`, `McDonald` stays
/// `McDonald`. Jinja's `title` lower-cases the rest (`O'neil`, `Mcdonald`),
/// which mangles names.
pub fn name_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = c.is_whitespace() || c == '-';
    }
    out
}

/// Filters a manifest commonly means; the suggestions for a typo (only
/// those the environment really has are offered).
const COMMON: &[&str] = &[
    "slug",
    "first_word",
    "name_case",
    "default",
    "title",
    "capitalize",
    "lower",
    "upper",
    "trim",
    "replace",
    "join",
    "split",
    "length",
    "first",
    "last",
    "round",
    "int",
    "float",
    "string",
    "truncate",
    "urlencode",
    "tojson",
    "indent",
    "format",
];

/// One error per unknown filter name in the template `source` of manifest
/// field `path`, located at the field, with a did-you-mean.
pub fn unknown_filters(
    env: &Environment<'_>,
    m: &LoadedManifest,
    path: &str,
    source: &str,
) -> Vec<Diagnostic> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for name in filter_names(source) {
        if seen.contains(&name) || exists(env, &name) {
            continue;
        }
        let known: Vec<&str> = COMMON.iter().copied().filter(|f| exists(env, f)).collect();
        let hint = match did_you_mean(&name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? Filters: {}", known.join(", ")),
            None => format!("filters: {}", known.join(", ")),
        };
        out.push(m.error_at(path, format!("unknown filter `{name}`")).hint(hint));
        seen.push(name);
    }
    out
}

/// Whether `env` has a filter called `name`.
fn exists(env: &Environment<'_>, name: &str) -> bool {
    match env.render_str(&format!("{{{{ none | {name} }}}}"), ()) {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::UnknownFilter,
    }
}

/// The names after `|` inside `{{ … }}` and `{% … %}`, skipping string
/// literals. Over-reporting is harmless: each name is checked against the
/// environment.
fn filter_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &rest[start + 1..];
            continue;
        };
        let body = &after[2..];
        let end = body.find(close).unwrap_or(body.len());
        scan_expression(&body[..end], &mut names);
        rest = &body[end..];
    }
    names
}

fn scan_expression(expr: &str, names: &mut Vec<String>) {
    let mut chars = expr.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(_) if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '|' => {
                let tail = expr[i + 1..].trim_start();
                let name: String =
                    tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_case_keeps_inner_capitals() {
        assert_eq!(name_case("grace"), "Grace");
        assert_eq!(name_case("Shaun \"Sonny\" O'Neil"), "Shaun \"Sonny\" O'Neil");
        assert_eq!(name_case("mary-jane mcDonald"), "Mary-Jane McDonald");
        assert_eq!(name_case("josé"), "José");
    }

    #[test]
    fn filter_names_skip_strings_and_text() {
        let names =
            filter_names("a | b {{ x | titel | default('a|b') }} {% if y|lower %}{% endif %}");
        assert_eq!(names, ["titel", "default", "lower"]);
    }
}
