//! Finds where a field path (`video.scenes[1].script`) sits in the YAML
//! text, for diagnostics. yaml_serde reports locations only for its own
//! errors, so later stages (template compilation, rendering, validation)
//! ask this locator. It understands block-style YAML, which is what
//! manifests are written in; inside flow collections (`{a: 1}`) it answers
//! with the enclosing key.

pub use super::path::Seg;

/// Splits `video.scenes[1].script` into segments (see
/// [`FieldPath::segments`](super::path::FieldPath::segments)).
pub fn parse_path(path: &str) -> Vec<Seg> {
    super::path::parse_segments(path)
}

/// Where a field was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// 1-based line of the key (or sequence dash).
    pub line: usize,
    /// 1-based column of the key.
    pub column: usize,
    /// Length of the key, for underlining.
    pub width: usize,
    /// 1-based line where the value's text starts (the next line for `|`
    /// and `>` block scalars).
    pub value_line: usize,
}

/// A block of lines: from `(start, col)` to before `end`.
#[derive(Clone, Copy)]
struct Block {
    start: usize,
    col: usize,
    end: usize,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Text of line `i` inside `b` (the first line starts at `b.col`).
fn text<'a>(lines: &[&'a str], b: Block, i: usize) -> (usize, &'a str) {
    let line = lines[i];
    if i == b.start && b.col > 0 && b.col <= line.len() {
        (b.col, &line[b.col..])
    } else {
        (0, line)
    }
}

/// Finds `path` in `yaml`.
pub fn locate(yaml: &str, path: &str) -> Option<Found> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut block = Block { start: 0, col: 0, end: lines.len() };
    let mut found = None;
    for seg in parse_path(path) {
        // The indentation of the block's children: its first content line.
        let first = (block.start..block.end).find(|&i| !is_blank(text(&lines, block, i).1))?;
        let (off, t) = text(&lines, block, first);
        let child = off + indent_of(t);
        match seg {
            Seg::Key(key) => {
                let (line, col) = (first..block.end).find_map(|i| {
                    let (off, t) = text(&lines, block, i);
                    if is_blank(t) || off + indent_of(t) != child {
                        return None;
                    }
                    let body = t.trim_start_matches(' ');
                    let k = body.strip_prefix(&key).or_else(|| {
                        body.strip_prefix(&format!("\"{key}\""))
                            .or_else(|| body.strip_prefix(&format!("'{key}'")))
                    })?;
                    k.trim_start().starts_with(':').then_some((i, child))
                })?;
                let after = lines[line][col..].split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
                let block_scalar = after.starts_with('|') || after.starts_with('>');
                let end = (line + 1..block.end)
                    .find(|&i| !is_blank(lines[i]) && indent_of(lines[i]) <= child)
                    .unwrap_or(block.end);
                found = Some(Found {
                    line: line + 1,
                    column: col + 1,
                    width: key.chars().count(),
                    value_line: if block_scalar { line + 2 } else { line + 1 },
                });
                block = Block { start: line + 1, col: 0, end };
                // An inline value (`key: value`) has no block below it.
                if !after.is_empty() && !block_scalar && !after.starts_with('#') {
                    block = Block { start: line, col: lines[line].len(), end: line + 1 };
                }
            }
            Seg::Index(n) => {
                let items: Vec<usize> = (first..block.end)
                    .filter(|&i| {
                        let (off, t) = text(&lines, block, i);
                        !is_blank(t)
                            && off + indent_of(t) == child
                            && t.trim_start().starts_with('-')
                    })
                    .collect();
                let line = *items.get(n)?;
                let end = items.get(n + 1).copied().unwrap_or_else(|| {
                    (line + 1..block.end)
                        .find(|&i| {
                            !is_blank(lines[i])
                                && indent_of(lines[i]) <= child
                                && !lines[i].trim_start().starts_with('-')
                        })
                        .unwrap_or(block.end)
                });
                found = Some(Found {
                    line: line + 1,
                    column: child + 1,
                    width: 1,
                    value_line: line + 1,
                });
                // The item's content starts after "- ".
                let dash_text = &lines[line][child..];
                let content = dash_text[1..].len() - dash_text[1..].trim_start().len();
                block = Block { start: line, col: child + 1 + content, end };
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
version: 1
name: demo
data:
  csv: leads.csv
  key: \"{{ email }}\"
video:
  title: \"Hi {{ name }}\"
  scenes:
    - avatar: Abigail
      script: |
        Hello {{ name }}.
        Second line.
    # a comment
    - image: https://x.example/a.png
      duration: 3
";

    #[test]
    fn finds_keys_items_and_block_scalars() {
        assert_eq!(locate(YAML, "data.key").map(|f| (f.line, f.column)), Some((5, 3)));
        assert_eq!(
            locate(YAML, "video.scenes[0].avatar").map(|f| (f.line, f.column)),
            Some((9, 7))
        );
        let script = locate(YAML, "video.scenes[0].script").unwrap();
        assert_eq!((script.line, script.value_line), (10, 11));
        assert_eq!(locate(YAML, "video.scenes[1].duration").map(|f| f.line), Some(15));
        assert_eq!(locate(YAML, "video.scenes[1]").map(|f| f.line), Some(14));
        assert!(locate(YAML, "video.scenes[2]").is_none());
        assert!(locate(YAML, "video.nope").is_none());
        assert_eq!(
            parse_path("a.b[2].c"),
            vec![Seg::Key("a".into()), Seg::Key("b".into()), Seg::Index(2), Seg::Key("c".into())]
        );
    }
}
