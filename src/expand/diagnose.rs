//! Step 4, diagnosis: template errors located in the manifest, and
//! duplicate keys and download paths across rows.

use std::collections::HashMap;

use super::compile::Field;
use super::job::Job;
use crate::diag::{Diagnostic, Location, RowRef};
use crate::manifest::{LoadedManifest, locate};

pub(super) fn template_error(
    m: &LoadedManifest,
    f: &Field,
    e: &minijinja::Error,
    row: Option<&RowRef>,
) -> Diagnostic {
    let found = locate::locate(&m.text, &f.path);
    let location = found.map(|fd| {
        // The error's line is inside the template; the template starts on
        // the value's line (the next line for `|` block scalars).
        let t_line = e.line().unwrap_or(1);
        let line = fd.value_line + t_line.saturating_sub(1);
        let yaml_line = m.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        // Column of the error inside its template line, when known.
        let in_line = e.range().map(|r| {
            let before = &f.source[..r.start.min(f.source.len())];
            r.start - before.rfind('\n').map_or(0, |i| i + 1)
        });
        let col = match in_line {
            Some(c) if line != fd.line => yaml_line.len() - yaml_line.trim_start().len() + c + 1,
            Some(c) => {
                // Inline value: the template starts after `key:` and an optional quote.
                let after_key = yaml_line.find(':').map_or(0, |i| i + 1);
                let rest = &yaml_line[after_key..];
                let start = after_key + (rest.len() - rest.trim_start().len());
                let quoted = yaml_line[start..].starts_with(['"', '\'']);
                start + usize::from(quoted) + c + 1
            }
            None => fd.column,
        };
        let width = e.range().map_or(1, |r| r.len().clamp(1, 40));
        Location::in_text(&m.path, &m.text, line, col, width)
    });
    let what = e.detail().map(str::to_owned).unwrap_or_else(|| e.kind().to_string());
    let message = match e.kind() {
        minijinja::ErrorKind::SyntaxError => format!("template syntax error: {what}"),
        minijinja::ErrorKind::UndefinedError => format!("undefined value in template: {what}"),
        _ => format!("template error: {what}"),
    };
    let mut d = Diagnostic::error(message).field(f.path.clone()).at(location);
    if let Some(r) = row {
        d = d.row(r.clone());
    }
    d
}

/// Keys and download paths seen so far: duplicates are errors naming both
/// rows. Stores 8-byte hashes, not the strings, so memory stays small.
#[derive(Debug, Default)]
pub struct Uniqueness {
    keys: HashMap<u64, u64, PreHashed>,
    /// Path → the line and folded key of the first row with it, packed
    /// (see [`pack`]): 16 bytes a row instead of 24.
    paths: HashMap<u64, u64, PreHashed>,
}

/// Bits of the folded key kept beside a path's line. The folded keys only
/// choose the wording of a clash's explanation, never whether a clash is
/// reported, so a 1 in 16 million chance of a wrong choice is fine.
const FOLDED_BITS: u32 = 24;

/// A line (up to 2^40, far beyond any CSV) and the low bits of a folded key.
fn pack(line: u64, folded: u64) -> u64 {
    (line.min((1 << (64 - FOLDED_BITS)) - 1) << FOLDED_BITS) | (folded & ((1 << FOLDED_BITS) - 1))
}

/// [`pack`]'s line and folded-key bits.
fn unpack(packed: u64) -> (u64, u64) {
    (packed >> FOLDED_BITS, packed & ((1 << FOLDED_BITS) - 1))
}

/// The keys are already hashes: hashing them again is wasted work.
type PreHashed = std::hash::BuildHasherDefault<PassThrough>;

/// A hasher that passes a `u64` through.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// 64 bits of SipHash with fixed keys: the chance of any collision among a
/// million rows is below 1 in 10^7, at a fraction of a cryptographic hash.
fn hash64(s: &str) -> u64 {
    use std::hash::BuildHasher;
    std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(s)
}

/// The hashes the checks across rows need, computed where the job is
/// built (on any thread) so the in-order check is a few map inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowIds {
    key: u64,
    /// The key with letter case folded: tells a case-only difference.
    key_folded: u64,
    path: Option<u64>,
}

impl RowIds {
    /// The ids of `job`.
    pub fn of(job: &Job) -> RowIds {
        let key = hash64(&job.key);
        let key_folded = if job.key.bytes().any(|b| b.is_ascii_uppercase()) || !job.key.is_ascii() {
            hash64(&job.key.to_lowercase())
        } else {
            key
        };
        let path = job.download.as_ref().map(|p| hash64(&p.to_string_lossy()));
        RowIds { key, key_folded, path }
    }
}

impl Uniqueness {
    /// Records a job; returns the problems if its key or path was seen.
    pub fn check(&mut self, job: &Job, m: &LoadedManifest) -> Vec<Diagnostic> {
        self.check_ids(job, &RowIds::of(job), m)
    }

    /// [`Uniqueness::check`] with the job's ids already computed.
    pub fn check_ids(&mut self, job: &Job, ids: &RowIds, m: &LoadedManifest) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let same_key = self.keys.insert(ids.key, job.line);
        if let Some(prev) = same_key {
            out.push(
                m.error_at("data.key", format!("duplicate row key {:?}: CSV lines {prev} and {} render the same key", job.key, job.line))
                    .row(job.row_ref())
                    .hint("keys identify rows across runs; make the key template include something unique (an email, an id column)"),
            );
        }
        if let (Some(path), Some(path_id)) = (&job.download, ids.path)
            && let Some((prev, prev_folded)) =
                self.paths.insert(path_id, pack(job.line, ids.key_folded)).map(unpack)
        {
            let slugged = m.manifest.output.download.as_deref().is_some_and(|d| d.contains("slug"));
            let clash = format!(
                "CSV lines {prev} and {} download to the same file {}",
                job.line,
                path.display()
            );
            let d = if !slugged || same_key.is_some() {
                m.error_at("output.download", clash).hint(
                    "include the key in the download path, e.g. out/videos/{{ key | slug }}.mp4",
                )
            } else if prev_folded == unpack(pack(0, ids.key_folded)).1 {
                m.error_at(
                    "output.download",
                    format!("{clash}: both rows slug to the same name, because their keys differ only in letter case and `slug` lower-cases"),
                )
                .hint("keys like ADA@x.com and ada@x.com are different rows but one file name; put a column that is unique without case into the path, e.g. an id, or fix the duplicate in the data")
            } else {
                m.error_at(
                    "output.download",
                    format!("{clash}: both rows slug to the same name, because `slug` keeps only letters and digits (accents and other scripts transliterated, everything else one `-`)"),
                )
                .hint("values that differ only in punctuation, spacing or case give one file name; put a column that stays unique after `slug` into the path, e.g. an id")
            };
            out.push(d.row(job.row_ref()));
        }
        out
    }

    /// Makes room for `rows` rows in all, when that is more than there is
    /// room for: growing straight to the final size skips the doublings on
    /// the way, each a new table to fill and fresh memory to fault in.
    pub fn expect(&mut self, rows: usize) {
        let more = rows.saturating_sub(self.keys.len());
        if rows > self.keys.capacity() {
            self.keys.reserve(more);
            if !self.paths.is_empty() {
                self.paths.reserve(more);
            }
        }
    }

    /// Whether the next new key makes the tables grow.
    pub fn full(&self) -> bool {
        self.keys.len() >= self.keys.capacity()
    }

    /// Rows seen.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no row was seen.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
