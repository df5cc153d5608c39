//! Templates simple enough to render without the template engine: text and
//! `{{ name | filter | … }}` with reelflow's string filters, and `where`
//! comparisons of a column with a literal. They are most manifest fields,
//! and a million rows run each once: the engine's per-render setup is the
//! larger part of the cost. Anything else (blocks, other filters, numbers,
//! whitespace control) is left to minijinja. In debug builds every fast
//! render is compared with minijinja's (see `build.rs`), so the test corpus
//! checks the two agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::dataset::Header;
use crate::manifest::model::VarValue;
use crate::slug::slug;

/// A compiled fast template.
#[derive(Debug, Clone)]
pub(super) enum Fast {
    /// Text and expressions, in order.
    Parts(Vec<Part>),
    /// `column == 'text'` (or `!=`): renders `true` or nothing.
    Compare {
        /// The column.
        column: usize,
        /// `==` (true) or `!=` (false).
        equal: bool,
        /// The literal.
        text: String,
    },
}

/// A piece of a template.
#[derive(Debug, Clone)]
pub(super) enum Part {
    Text(String),
    Expr(Src, Vec<Filter>),
}

/// Where an expression's value comes from.
#[derive(Debug, Clone)]
pub(super) enum Src {
    Column(usize),
    Key,
    Text(String),
}

/// The string filters the fast path knows, with reelflow's or minijinja's
/// exact meaning.
#[derive(Debug, Clone)]
pub(super) enum Filter {
    Slug,
    Trim,
    FirstWord,
    Lower,
    Upper,
    NameCase,
    Default(String),
}

impl Fast {
    /// Compiles `source`, or `None` when it needs the template engine.
    /// `key` says whether `key` is defined (every field but `data.key`).
    pub(super) fn parse(
        source: &str,
        header: &Header,
        vars: &BTreeMap<String, VarValue>,
        key: bool,
    ) -> Option<Fast> {
        if source.contains("{%") || source.contains("{#") || source.ends_with("\r\n") {
            return None;
        }
        // minijinja drops one trailing newline (keep_trailing_newline off).
        let mut rest = source.strip_suffix('\n').unwrap_or(source);
        let mut parts = Vec::new();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}")?;
            let expr = &after[..close];
            if expr.starts_with('-') || expr.ends_with('-') {
                return None;
            }
            parts.push(expression(expr, header, vars, key)?);
            rest = &after[close + 2..];
        }
        let stray = |p: &Part| matches!(p, Part::Text(t) if t.contains("}}"));
        if rest.contains("}}") || parts.iter().any(stray) {
            // Only templates that are clearly simple go fast.
            return None;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Some(Fast::Parts(parts))
    }

    /// Compiles a `data.where` expression of the form `column == 'text'`
    /// or `column != 'text'`.
    pub(super) fn parse_where(inner: &str, header: &Header) -> Option<Fast> {
        let (name, equal, lit) = if let Some((n, l)) = inner.split_once("==") {
            (n, true, l)
        } else {
            let (n, l) = inner.split_once("!=")?;
            (n, false, l)
        };
        let column = header.position(ident(name.trim())?)?;
        let text = literal(lit.trim())?;
        Some(Fast::Compare { column, equal, text })
    }

    /// A comparison's outcome without rendering it: `Some(true)` where
    /// [`Fast::render`] renders `true`; `None` for other templates.
    pub(super) fn test(&self, values: &[String]) -> Option<bool> {
        match self {
            Fast::Compare { column, equal, text } => Some((values[*column] == *text) == *equal),
            Fast::Parts(_) => None,
        }
    }

    /// Renders one row.
    pub(super) fn render(&self, values: &[String], key: Option<&str>) -> String {
        match self {
            Fast::Compare { column, equal, text } => {
                if (values[*column] == *text) == *equal {
                    "true".into()
                } else {
                    String::new()
                }
            }
            Fast::Parts(parts) => {
                // Room for the text and the raw values: filters seldom grow them.
                let room = parts
                    .iter()
                    .map(|p| match p {
                        Part::Text(t) => t.len(),
                        Part::Expr(Src::Column(c), _) => values[*c].len(),
                        Part::Expr(Src::Key, _) => key.map_or(0, str::len),
                        Part::Expr(Src::Text(t), _) => t.len(),
                    })
                    .sum();
                let mut out = String::with_capacity(room);
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(src, filters) => {
                            let value: &str = match src {
                                Src::Column(c) => &values[*c],
                                Src::Key => key.unwrap_or(""),
                                Src::Text(t) => t,
                            };
                            out.push_str(&apply(value, filters));
                        }
                    }
                }
                out
            }
        }
    }
}

/// Runs the filters; the ones that only cut (`trim`, `first_word`) or
/// replace (`default`) borrow instead of allocating.
fn apply<'a>(value: &'a str, filters: &'a [Filter]) -> Cow<'a, str> {
    let mut v = Cow::Borrowed(value);
    for f in filters {
        v = match f {
            Filter::Slug => Cow::Owned(slug(&v)),
            Filter::Trim => cut(v, str::trim),
            Filter::FirstWord => cut(v, |s| s.split_whitespace().next().unwrap_or("")),
            Filter::Lower => Cow::Owned(v.to_lowercase()),
            Filter::Upper => Cow::Owned(v.to_uppercase()),
            Filter::NameCase => name_case(v),
            Filter::Default(text) => {
                if v.trim().is_empty() {
                    Cow::Borrowed(text.as_str())
                } else {
                    v
                }
            }
        };
    }
    v
}

/// [`crate::filters::name_case`], without copying ASCII text that is
/// already capitalized (most names in a CSV).
fn name_case(v: Cow<'_, str>) -> Cow<'_, str> {
    if !v.is_ascii() {
        return Cow::Owned(crate::filters::name_case(&v));
    }
    // For ASCII, `char::is_whitespace` is exactly 9..=13 and space.
    let breaks = |b: u8| matches!(b, b'\t'..=b'\r' | b' ' | b'-');
    let starts = |s: &str| {
        let mut at_start = true;
        s.bytes()
            .enumerate()
            .filter_map(|(i, b)| {
                let lower = at_start && b.is_ascii_lowercase();
                at_start = breaks(b);
                lower.then_some(i)
            })
            .collect::<Vec<_>>()
    };
    let lower = starts(&v);
    if lower.is_empty() {
        return v;
    }
    let mut out = v.into_owned();
    for i in lower {
        if let Some(c) = out.get_mut(i..=i) {
            c.make_ascii_uppercase();
        }
    }
    Cow::Owned(out)
}

/// A part of `v`: borrowed when `v` is, copied only when `v` was owned.
fn cut<'a>(v: Cow<'a, str>, part: impl for<'s> Fn(&'s str) -> &'s str) -> Cow<'a, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(part(s)),
        Cow::Owned(s) => Cow::Owned(part(&s).to_owned()),
    }
}

/// `name | filter | default('x')`.
fn expression(
    expr: &str,
    header: &Header,
    vars: &BTreeMap<String, VarValue>,
    key: bool,
) -> Option<Part> {
    let mut pieces = expr.split('|');
    let name = ident(pieces.next()?.trim())?;
    // The row context's order: a column, then `key`, then `vars`.
    let src = if let Some(c) = header.position(name) {
        Src::Column(c)
    } else if name == "key" && key {
        Src::Key
    } else {
        match vars.get(name)? {
            VarValue::Text(t) => Src::Text(t.clone()),
            _ => return None,
        }
    };
    let mut filters = Vec::new();
    for f in pieces {
        let f = f.trim();
        filters.push(match f {
            "slug" => Filter::Slug,
            "trim" => Filter::Trim,
            "first_word" => Filter::FirstWord,
            "lower" => Filter::Lower,
            "upper" => Filter::Upper,
            "name_case" => Filter::NameCase,
            _ => {
                let args = f.strip_prefix("default").or_else(|| f.strip_prefix('d'))?;
                let arg = args.trim().strip_prefix('(')?.strip_suffix(')')?;
                Filter::Default(literal(arg.trim())?)
            }
        });
    }
    Some(Part::Expr(src, filters))
}

fn ident(s: &str) -> Option<&str> {
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(s)
}

/// A quoted string without escapes or braces.
fn literal(s: &str) -> Option<String> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let text = s.strip_prefix(quote)?.strip_suffix(quote)?;
    let plain = !text.contains(quote) && !text.contains(['\\', '{', '}']);
    plain.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with the one column `name`.
    fn header() -> (tempfile::TempDir, Header) {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("d.csv");
        std::fs::write(&csv, "name\nx\n").unwrap();
        let header = crate::dataset::Dataset::open(&csv).unwrap().header().as_ref().clone();
        (dir, header)
    }

    #[test]
    fn fast_filters_render_exactly_what_minijinja_renders() {
        let (_dir, header) = header();
        let env = super::super::env::environment();
        let templates = [
            "Welcome, {{ name | name_case }}",
            "{{ name | trim | name_case }}!",
            "Hi {{ name | trim | first_word }}! Bye",
            "{{ name | first_word | name_case }}",
            "{{ name | default('Friend') | name_case }}",
            "{{ name | name_case | default('Friend') }}",
            "{{ name | d(\"x\") | upper }}",
            "{{ name | lower }}/{{ name | slug }}.mp4",
            "{{ name | trim | default('a b') | first_word }}",
        ];
        let values = [
            "O'Neil",
            "o'neil",
            "  shaun \"sonny\" o'neil  ",
            "",
            "   ",
            "\t\n",
            "josé álvarez",
            "mary-jane mcDonald",
            "ǆemal ǉubović",
            "straße",
            "ﬁsh ﬂour",
            "i̇stanbul",
            "ß",
            "日本 語",
            "a\u{00A0}b\u{2003}c",
            "-dash --double",
            "a\x0bb\x0cc\rd\x1fe",
            "Already Capitalized",
            "x",
            "Ωmega ωmega",
        ];
        for t in templates {
            let fast = Fast::parse(t, &header, &BTreeMap::new(), true)
                .unwrap_or_else(|| panic!("{t} should be fast"));
            for v in values {
                let engine = env
                    .render_str(t, minijinja::context! { name => v })
                    .unwrap_or_else(|e| panic!("{t}: {e}"));
                assert_eq!(fast.render(&[v.to_owned()], None), engine, "{t} on {v:?}");
            }
        }
    }

    #[test]
    fn name_case_keeps_the_rest_of_the_name_unlike_title() {
        let (_dir, header) = header();
        let fast = Fast::parse("{{ name | name_case }}", &header, &BTreeMap::new(), true).unwrap();
        assert_eq!(fast.render(&["o'Neil mcDonald".into()], None), "O'Neil McDonald");
        // `title` is Jinja's, with other rules: left to the engine.
        assert!(Fast::parse("{{ name | title }}", &header, &BTreeMap::new(), true).is_none());
    }
}
