//! [`FieldPath`]: the one spelling of a manifest field path
//! (`video.scenes[1].script`), shared by expansion (which field a template
//! came from), the locator (where it sits in the YAML) and validation
//! (which manifest field a request field was built from).

use std::fmt;
use std::sync::Arc;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A manifest field path, built from its parts rather than formatted by
/// hand: `FieldPath::root("video").key("scenes").index(1).key("script")`.
///
/// Cheap to clone (the text is shared), so a path can be recorded per row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Arc<str>);

impl FieldPath {
    /// A top-level key (`data`, `video`, `output`, …).
    pub fn root(key: &str) -> FieldPath {
        FieldPath(Arc::from(key))
    }

    /// Parses a dotted path as written in diagnostics and docs
    /// (`video.scenes[0].script`).
    pub fn parse(path: &str) -> FieldPath {
        FieldPath(Arc::from(path))
    }

    /// The child `key` of this mapping.
    pub fn key(&self, key: &str) -> FieldPath {
        FieldPath(Arc::from(format!("{}.{key}", self.0)))
    }

    /// Item `i` of this sequence.
    pub fn index(&self, i: usize) -> FieldPath {
        FieldPath(Arc::from(format!("{}[{i}]", self.0)))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The enclosing field (`video.scenes[0]` for `video.scenes[0].script`),
    /// `None` at the top.
    pub fn parent(&self) -> Option<FieldPath> {
        let i = self.0.rfind(['.', '['])?;
        Some(FieldPath(Arc::from(&self.0[..i])))
    }

    /// Whether `other` is this field or inside it.
    pub fn contains(&self, other: &FieldPath) -> bool {
        other
            .0
            .strip_prefix(&*self.0)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }

    /// The steps of the path.
    pub fn segments(&self) -> Vec<Seg> {
        parse_segments(&self.0)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FieldPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for FieldPath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for FieldPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.0.to_string()
    }
}

impl From<String> for FieldPath {
    fn from(s: String) -> FieldPath {
        FieldPath(Arc::from(s))
    }
}

impl From<&str> for FieldPath {
    fn from(s: &str) -> FieldPath {
        FieldPath::parse(s)
    }
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// Splits `video.scenes[1].script` into segments.
pub(crate) fn parse_segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Seg::Key(rest[..i].to_owned()));
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                if let Ok(n) = rest[1..end].parse() {
                    out.push(Seg::Index(n));
                }
                rest = &rest[end + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_paths_match_their_spelling() {
        let p = FieldPath::root("video").key("scenes").index(1).key("script");
        assert_eq!(p, "video.scenes[1].script");
        assert_eq!(p, FieldPath::parse("video.scenes[1].script"));
        assert_eq!(p.parent().unwrap(), "video.scenes[1]");
        assert!(FieldPath::root("video").key("scenes").index(1).contains(&p));
        assert!(!FieldPath::root("video").key("scenes").index(10).contains(&p));
        assert_eq!(
            p.segments(),
            vec![
                Seg::Key("video".into()),
                Seg::Key("scenes".into()),
                Seg::Index(1),
                Seg::Key("script".into())
            ]
        );
    }
}
