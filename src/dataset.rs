//! The CSV dataset, streamed one row at a time (never loaded whole).
//!
//! UTF-8 with or without a BOM, quoted fields with commas, quotes and
//! newlines, LF or CRLF line ends. A ragged row, an empty or duplicate
//! header name, or bytes that are not UTF-8 are errors naming the line.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

use crate::diag::{Diagnostic, Location};

/// The header: column names and their positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Names, in file order.
    pub names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// Position of a column.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line where the row starts (the header is line 1).
    pub line: u64,
    /// Values, one per header column.
    pub values: Vec<String>,
}

/// Where the line breaks of the file are, as far as the CSV parser has read.
///
/// The csv crate's line numbers lag after CRLF line ends and blank lines
/// (a record's reported start is where the parser began scanning, before
/// the line breaks it skipped). So reelflow counts lines itself: this index
/// notes each `\r` and `\n` offset as bytes pass through, and
/// [`LineIndex::line_at`] skips the breaks at a record's reported start.
/// Offsets already passed are dropped, so memory stays at one read-ahead
/// buffer's worth.
#[derive(Debug, Default)]
struct LineIndex {
    /// (offset, is `\n`) of line-break bytes not yet passed.
    pending: VecDeque<(u64, bool)>,
    passed: u64,
    read: u64,
}

impl LineIndex {
    /// The 1-based line of a record the parser reports at `offset`
    /// (queries must not go back).
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&(off, nl)) = self.pending.front() {
            // Breaks before the offset, and the run of breaks starting at it
            // (a record never starts with a line break), are behind the record.
            if off <= at {
                if off == at {
                    at += 1;
                }
                self.pending.pop_front();
                self.passed += u64::from(nl);
            } else {
                break;
            }
        }
        self.passed + 1
    }
}

/// A reader that feeds a [`LineIndex`].
struct Counting<R> {
    inner: R,
    index: Arc<Mutex<LineIndex>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let base = idx.read;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                idx.pending.push_back((base + i as u64, *b == b'\n'));
            }
        }
        idx.read += n as u64;
        Ok(n)
    }
}

/// A CSV file being read.
pub struct Dataset {
    path: PathBuf,
    reader: csv::Reader<Counting<BufReader<File>>>,
    lines: Arc<Mutex<LineIndex>>,
    header: Arc<Header>,
    record: csv::ByteRecord,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("header", &self.header.names)
            .finish()
    }
}

impl Dataset {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Dataset, Diagnostic> {
        let file = File::open(path).map_err(|e| {
            Diagnostic::error(format!("cannot open the dataset {}: {e}", path.display()))
                .hint("`data.csv` is relative to the manifest's folder")
        })?;
        let lines = Arc::new(Mutex::new(LineIndex::default()));
        let counting =
            Counting { inner: BufReader::with_capacity(1 << 16, file), index: lines.clone() };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(counting);
        let mut first = csv::ByteRecord::new();
        let got = reader.read_byte_record(&mut first).map_err(|e| csv_error(path, &e))?;
        if !got {
            return Err(Diagnostic::error(format!("{} is empty", path.display()))
                .hint("the first line must name the columns"));
        }
        let mut names = Vec::with_capacity(first.len());
        let mut index = HashMap::new();
        for (i, raw) in first.iter().enumerate() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| {
                    at(path, 1, format!("column {} of the header is not valid UTF-8", i + 1))
                        .hint("save the file as UTF-8")
                })?
                .trim()
                .to_owned();
            if name.is_empty() {
                return Err(at(path, 1, format!("column {} of the header has no name", i + 1))
                    .hint("every column needs a name: templates refer to columns by name"));
            }
            if let Some(prev) = index.insert(name.clone(), i) {
                return Err(at(
                    path,
                    1,
                    format!("the header names `{name}` twice (columns {} and {})", prev + 1, i + 1),
                )
                .hint("rename one of them: templates refer to columns by name"));
            }
            names.push(name);
        }
        Ok(Dataset {
            path: path.to_owned(),
            reader,
            lines,
            header: Arc::new(Header { names, index }),
            record: csv::ByteRecord::new(),
        })
    }

    /// The header.
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where in the file the last row read starts, in bytes: progress.
    pub fn offset(&self) -> u64 {
        self.record.position().map_or(0, |p| p.byte())
    }

    /// The next row, `None` at the end. Blank lines are skipped.
    pub fn next_row(&mut self) -> Option<Result<Row, Diagnostic>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(csv_error(&self.path, &e))),
            }
            let offset = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let line = self.lines.lock().unwrap_or_else(|p| p.into_inner()).line_at(offset);
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            return Some(self.convert(line));
        }
    }

    fn convert(&self, line: u64) -> Result<Row, Diagnostic> {
        row_of(&self.path, &self.header, line, self.record.iter())
    }

    /// Reads up to `max` more rows into `out` as raw bytes, as
    /// [`Dataset::next_row`] would read them; fewer at the end of the data.
    pub fn read_raw(&mut self, max: usize, out: &mut RawRows) {
        while out.rows.len() < max {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return,
                Ok(true) => {}
                Err(e) => {
                    out.rows.push(Err(Box::new(csv_error(&self.path, &e))));
                    continue;
                }
            }
            let offset = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let line = self.lines.lock().unwrap_or_else(|p| p.into_inner()).line_at(offset);
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            for field in &self.record {
                out.bytes.extend_from_slice(field);
                out.ends.push(out.bytes.len());
            }
            out.rows.push(Ok((line, out.ends.len())));
        }
    }
}

/// Rows read from the file but not yet checked as UTF-8 nor made into
/// strings, in three shared buffers. The thread that parses the CSV hands
/// a chunk of rows to another at the cost of a few allocations instead of
/// one per value, and the strings are made and freed on the thread that
/// uses them (an allocator frees fastest on the thread that allocated).
#[derive(Debug, Default)]
pub struct RawRows {
    bytes: Vec<u8>,
    /// Where each field ends in `bytes`.
    ends: Vec<usize>,
    /// Each row's line and where its fields end in `ends`, or the error
    /// reading it.
    rows: Vec<Result<(u64, usize), Box<Diagnostic>>>,
}

impl RawRows {
    /// Rows (and read errors) held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empties it, keeping the buffers for the next rows.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.rows.clear();
    }

    /// The rows as [`Dataset::next_row`] returns them, for the dataset at
    /// `path` with this `header`.
    pub fn rows<'a>(
        &'a self,
        path: &'a Path,
        header: &'a Header,
    ) -> impl Iterator<Item = Result<Row, Diagnostic>> + 'a {
        let mut first = 0;
        self.rows.iter().map(move |row| {
            let (line, last) = *row.as_ref().map_err(|d| (**d).clone())?;
            let fields = (first..last).map(|k| {
                let start = if k == 0 { 0 } else { self.ends[k - 1] };
                &self.bytes[start..self.ends[k]]
            });
            first = last;
            row_of(path, header, line, fields)
        })
    }
}

/// A row from its raw fields: every one UTF-8, as many as the header has.
fn row_of<'a>(
    path: &Path,
    header: &Header,
    line: u64,
    fields: impl ExactSizeIterator<Item = &'a [u8]>,
) -> Result<Row, Diagnostic> {
    let want = header.names.len();
    if fields.len() != want {
        return Err(at(path, line, format!("line {line} has {} fields, the header has {want}", fields.len())).hint(
            "quote values that contain commas (\"Smith, Jr.\"), and check for a missing or extra comma",
        ));
    }
    let mut values = Vec::with_capacity(want);
    for (i, raw) in fields.enumerate() {
        match std::str::from_utf8(raw) {
            Ok(s) => values.push(s.to_owned()),
            Err(_) => {
                return Err(at(
                    path,
                    line,
                    format!("column `{}` on line {line} is not valid UTF-8", header.names[i]),
                )
                .hint("save the file as UTF-8 (spreadsheet apps: \"CSV UTF-8\")"));
            }
        }
    }
    Ok(Row { line, values })
}

fn at(path: &Path, line: u64, message: String) -> Diagnostic {
    Diagnostic::error(message).at(Some(Location {
        file: path.to_owned(),
        line: line as usize,
        column: 1,
        source: None,
        width: 1,
    }))
}

fn csv_error(path: &Path, e: &csv::Error) -> Diagnostic {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::Io(io) => {
            Diagnostic::error(format!("cannot read {}: {io}", path.display()))
        }
        _ => at(path, line, format!("malformed CSV: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<(Vec<String>, Vec<Row>), Diagnostic> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, bytes).unwrap();
        let mut ds = Dataset::open(&p)?;
        let mut rows = Vec::new();
        while let Some(r) = ds.next_row() {
            rows.push(r?);
        }
        Ok((ds.header().names.clone(), rows))
    }

    #[test]
    fn bom_crlf_and_quoted_newlines() {
        let (h, rows) =
            read(b"\xef\xbb\xbfname,note\r\nAda,\"a, \"\"b\"\"\r\nc\"\r\n\r\nBo,x\r\nCy,y\r\n")
                .unwrap();
        assert_eq!(h, ["name", "note"]);
        assert_eq!(rows[0].values, ["Ada", "a, \"b\"\r\nc"]);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5, 6]);
        let (_, plain) = read(b"id\n1\n2\r\n3\n").unwrap();
        assert_eq!(plain.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn broken_files_name_the_line() {
        assert!(read(b"a,b\n1,2,3\n").unwrap_err().message.contains("line 2 has 3 fields"));
        assert!(
            read(b"a,,c\n").unwrap_err().message.contains("column 2 of the header has no name")
        );
        assert!(
            read(b"a,b,a\n").unwrap_err().message.contains("names `a` twice (columns 1 and 3)")
        );
        assert!(read(b"a\nok\n\xff\n").unwrap_err().message.contains("line 3 is not valid UTF-8"));
        assert!(read(b"").unwrap_err().message.contains("is empty"));
    }

    #[test]
    fn raw_rows_convert_to_exactly_the_rows_read_one_by_one() {
        let bytes: &[u8] = b"name,note\r\nAda,\"a, \"\"b\"\"\r\nc\"\r\n\r\nBo,x\r\n,\nCy\nD\xff,y\n\"\",\"\"\nEve,\xc3\xa9\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, bytes).unwrap();
        let mut one = Dataset::open(&p).unwrap();
        let mut want = Vec::new();
        while let Some(r) = one.next_row() {
            want.push(r.map_err(|d| d.message));
        }
        // Any chunk size, down to one row.
        for max in [1, 2, 3, 100] {
            let mut ds = Dataset::open(&p).unwrap();
            let mut got = Vec::new();
            loop {
                let mut raw = RawRows::default();
                ds.read_raw(max, &mut raw);
                let n = raw.len();
                got.extend(raw.rows(&p, ds.header()).map(|r| r.map_err(|d| d.message)));
                if n < max {
                    break;
                }
            }
            assert_eq!(got, want, "chunks of {max}");
        }
        assert_eq!(want.len(), 7, "{want:?}");
        assert!(want.iter().any(|r| r.is_err()));
    }
}
