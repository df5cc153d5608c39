//! `slug`: safe, readable ASCII file and folder names from any text.
//!
//! A leaf module (it depends on nothing in the crate) so that both the
//! manifest (the results file's default name) and expansion (the `slug`
//! template filter) can use it without depending on each other.

/// Longest slug, in bytes: file names stay well under any file system's
/// limit even after a prefix and an extension.
const MAX_LEN: usize = 80;

/// Lower-case ASCII words joined by `-`, for file names: `José O'Neil` →
/// `jose-o-neil`, `Дмитрий` → `dmitrii`, `北京` → `bei-jing`.
///
/// Non-Latin scripts are transliterated (deunicode), so names written in
/// Cyrillic, CJK or Arabic do not all slug to `""` and collide. Case is
/// folded: `ADA` and `ada` give the same slug (see [`differs_only_by_case`]).
pub fn slug(s: &str) -> String {
    let mut w = Words::with_capacity(s.len().min(MAX_LEN + 8));
    for c in s.chars() {
        if c.is_ascii() {
            w.push(c);
        } else {
            // A transliteration is a word of its own (`北京` → `bei jing`);
            // `None` (emoji and other symbols) separates words.
            match deunicode::deunicode_char(c) {
                Some(t) => t.chars().for_each(|c| w.push(c)),
                None => w.push(' '),
            }
        }
        if w.len() >= MAX_LEN {
            break;
        }
    }
    let mut out = w.into_truncated(MAX_LEN);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Lower-case ASCII letters and digits, one `-` wherever anything else
/// came between them (never leading): the core of every slug reelflow
/// makes, including the frozen one in Idempotency-Keys.
pub(crate) struct Words {
    out: String,
    dash: bool,
}

impl Words {
    /// An empty slug with room for `n` bytes.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Words { out: String::with_capacity(n), dash: false }
    }

    /// Adds one character: kept (lower-cased) if ASCII alphanumeric, else
    /// a word break.
    pub(crate) fn push(&mut self, c: char) {
        if c.is_ascii_alphanumeric() {
            if self.dash && !self.out.is_empty() {
                self.out.push('-');
            }
            self.dash = false;
            self.out.push(c.to_ascii_lowercase());
        } else {
            self.dash = true;
        }
    }

    /// Bytes so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The slug, cut to `max` bytes (all ASCII, so any cut is a boundary).
    pub(crate) fn into_truncated(mut self, max: usize) -> String {
        self.out.truncate(max);
        self.out
    }
}

/// Why two different texts gave the same slug, for diagnostics: `None` when
/// they are the same text.
pub fn why_same(a: &str, b: &str) -> Option<&'static str> {
    if a == b {
        None
    } else if differs_only_by_case(a, b) {
        Some("they differ only in letter case, and slugs are lower-case")
    } else {
        Some(
            "slugs keep only letters and digits (accents and other scripts transliterated, everything else a `-`)",
        )
    }
}

/// Whether `a` and `b` differ, but only in letter case.
pub fn differs_only_by_case(a: &str, b: &str) -> bool {
    a != b && a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("José O'Neil <ceo@acme.com>"), "jose-o-neil-ceo-acme-com");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(slug("  "), "");
        assert_eq!(slug("Straße Æsir"), "strasse-aesir");
    }

    #[test]
    fn other_scripts_are_transliterated_not_dropped() {
        let names = ["Дмитрий Иванов", "Мария Петрова", "北京", "東京", "محمد", "علي"];
        let slugs: Vec<String> = names.iter().map(|n| slug(n)).collect();
        for (n, s) in names.iter().zip(&slugs) {
            assert!(!s.is_empty(), "{n} slugged to nothing");
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
        let mut unique = slugs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{slugs:?}");
        assert_eq!(slugs[0], "dmitrii-ivanov");
    }

    #[test]
    fn long_names_are_cut_without_a_trailing_dash() {
        let s = slug(&"ab ".repeat(100));
        assert!(s.len() <= MAX_LEN && !s.ends_with('-'), "{s}");
    }

    #[test]
    fn case_collisions_are_explained() {
        assert_eq!(slug("ADA@x"), slug("ada@x"));
        assert!(why_same("ADA@x", "ada@x").unwrap().contains("letter case"));
        assert!(why_same("a b", "a-b").unwrap().contains("letters and digits"));
        assert_eq!(why_same("a", "a"), None);
    }
}
