//! Local files anywhere the manifest takes a media URL: scene images and
//! videos, backgrounds, audio, template image/video/audio variables.
//!
//! A value without `://` is a path relative to the manifest (templated:
//! `assets/{{ company | slug }}.png`). Rendering checks the file (exists,
//! a media type the field takes, within HeyGen's size limits) and puts a
//! placeholder asset id, `reelflow-local:<blake3>`, into the request: the
//! job's hash then depends on the file's content, never on an asset id
//! known only after uploading. `reelflow run` uploads each distinct content
//! once per account (`POST /v3/assets` up to 32 MB, the direct-upload flow
//! beyond), remembers the asset ids in the results file, and swaps the
//! placeholders for them just before the engine starts.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::heygen::Client;
use crate::heygen::wire::{CompleteUpload, CreateDirectUpload};

/// Prefix of the placeholder asset id standing for a local file until it
/// is uploaded.
pub const LOCAL_PREFIX: &str = "reelflow-local:";

/// Largest file `POST /v3/assets` takes; bigger ones use direct uploads.
pub const MULTIPART_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// What a media field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// Still images.
    Image,
    /// Video clips.
    Video,
    /// Audio.
    Audio,
}

impl MediaKind {
    /// The word for messages.
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }

    /// HeyGen's documented input limit for the kind (usage limits page:
    /// images and audio ≤ 50 MB, video ≤ 100 MB under 2K).
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaKind::Image | MediaKind::Audio => 50 * 1024 * 1024,
            MediaKind::Video => 100 * 1024 * 1024,
        }
    }

    fn extensions(self) -> &'static str {
        match self {
            MediaKind::Image => "png, jpg, jpeg, webp",
            MediaKind::Video => "mp4, webm, mov",
            MediaKind::Audio => "mp3, wav, m4a, aac, ogg",
        }
    }
}

/// The MIME type and kind of a file, by extension.
pub fn media_type(path: &Path) -> Option<(&'static str, MediaKind)> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => ("image/png", MediaKind::Image),
        "jpg" | "jpeg" => ("image/jpeg", MediaKind::Image),
        "webp" => ("image/webp", MediaKind::Image),
        "mp4" => ("video/mp4", MediaKind::Video),
        "webm" => ("video/webm", MediaKind::Video),
        "mov" => ("video/quicktime", MediaKind::Video),
        "mp3" => ("audio/mpeg", MediaKind::Audio),
        "wav" => ("audio/wav", MediaKind::Audio),
        "m4a" => ("audio/mp4", MediaKind::Audio),
        "aac" => ("audio/aac", MediaKind::Audio),
        "ogg" => ("audio/ogg", MediaKind::Audio),
        _ => return None,
    })
}

/// Whether a rendered media value names a local file rather than a URL.
pub fn is_local(value: &str) -> bool {
    !value.contains("://") && !value.starts_with("data:")
}

/// A checked local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// As the manifest names it (relative to the manifest's folder).
    pub file: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// blake3 of the content, hex.
    pub hash: String,
    /// Size.
    pub bytes: u64,
    /// MIME type.
    pub mime_type: &'static str,
    /// Media kind.
    pub kind: MediaKind,
}

impl LocalFile {
    /// The placeholder asset id that stands for it in request bodies.
    pub fn placeholder(&self) -> String {
        format!("{LOCAL_PREFIX}{}", self.hash)
    }
}

/// Why a local file cannot be used; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// Checked files by path, so that a file many rows share is read and
/// hashed once.
#[derive(Debug, Default)]
pub struct FileCache {
    files: Mutex<HashMap<PathBuf, Result<Arc<LocalFile>, FileProblem>>>,
}

impl FileCache {
    /// Checks `file` (relative to `base`) for a field taking `kind`.
    pub fn check(
        &self,
        base: &Path,
        file: &str,
        kind: MediaKind,
    ) -> Result<Arc<LocalFile>, FileProblem> {
        let path = base.join(file);
        let cached = self.files.lock().ok().and_then(|m| m.get(&path).cloned());
        let found = match cached {
            Some(found) => found,
            None => {
                let found = read_file(&path, file).map(Arc::new);
                if let Ok(mut m) = self.files.lock() {
                    m.insert(path.clone(), found.clone());
                }
                found
            }
        };
        let f = found?;
        if f.kind != kind {
            return Err(FileProblem {
                message: format!(
                    "{file:?} is {} ({}), this field takes {}",
                    with_a(f.kind.name()),
                    f.mime_type,
                    with_a(kind.name())
                ),
                hint: format!("use {} file ({})", with_a(kind.name()), kind.extensions()),
            });
        }
        if f.bytes > kind.max_bytes() {
            return Err(FileProblem {
                message: format!(
                    "{file:?} is {}, over HeyGen's {} MB limit for {} inputs",
                    human_bytes(f.bytes),
                    kind.max_bytes() / (1024 * 1024),
                    kind.name()
                ),
                hint: "compress or shorten the file".into(),
            });
        }
        Ok(f)
    }
}

fn with_a(word: &str) -> String {
    let an = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {word}", if an { "an" } else { "a" })
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{n} bytes")
    }
}

fn read_file(path: &Path, file: &str) -> Result<LocalFile, FileProblem> {
    let Some((mime_type, kind)) = media_type(path) else {
        return Err(FileProblem {
            message: format!("{file:?} is not a media file reelflow can upload"),
            hint: "use an image (png, jpg, webp), a video (mp4, webm, mov) or audio (mp3, wav, m4a, aac, ogg), or an https:// URL".into(),
        });
    };
    let mut f = std::fs::File::open(path).map_err(|e| FileProblem {
        message: if e.kind() == std::io::ErrorKind::NotFound {
            format!("file {file:?} does not exist ({})", path.display())
        } else {
            format!("cannot read {file:?}: {e}")
        },
        hint: "local files are relative to the manifest's folder; check the CSV value and the template that builds the path".into(),
    })?;
    let meta = f.metadata().map_err(|e| FileProblem {
        message: format!("cannot read {file:?}: {e}"),
        hint: "check the file's permissions".into(),
    })?;
    if !meta.is_file() {
        return Err(FileProblem {
            message: format!("{file:?} is not a file"),
            hint: "name a file, not a folder".into(),
        });
    }
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| FileProblem {
            message: format!("cannot read {file:?}: {e}"),
            hint: "check the file".into(),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(LocalFile {
        file: file.to_owned(),
        path: path.to_owned(),
        hash: hasher.finalize().to_hex().to_string(),
        bytes: meta.len(),
        mime_type,
        kind,
    })
}

/// An upload remembered in the results file, keyed by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    /// The asset id HeyGen gave it.
    pub asset_id: String,
    /// The file it was uploaded from (the first name it had).
    pub file: String,
    /// Size.
    pub bytes: u64,
}

/// The distinct files a set of jobs uses, by content hash.
#[derive(Debug, Clone, Default)]
pub struct UploadSet {
    files: BTreeMap<String, Arc<LocalFile>>,
}

impl UploadSet {
    /// Adds a job's files.
    pub fn add(&mut self, files: &[Arc<LocalFile>]) {
        for f in files {
            self.files.entry(f.hash.clone()).or_insert_with(|| f.clone());
        }
    }

    /// Files not yet uploaded according to `known`, in hash order.
    pub fn pending<'a>(
        &'a self,
        known: &'a BTreeMap<String, UploadRecord>,
    ) -> impl Iterator<Item = &'a LocalFile> + 'a {
        self.files.values().filter(move |f| !known.contains_key(&f.hash)).map(|f| f.as_ref())
    }

    /// Every distinct file.
    pub fn files(&self) -> impl Iterator<Item = &LocalFile> {
        self.files.values().map(|f| f.as_ref())
    }

    /// Whether no job uses a local file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// What a run would do about the folder and local files, one line each,
/// for `reelflow plan`.
pub fn plan_lines(
    set: &UploadSet,
    folder: Option<&crate::manifest::model::FolderSpec>,
    previous: Option<&crate::results::ResultsFile>,
    account: &str,
) -> Vec<String> {
    use crate::manifest::model::FolderSpec;
    let state = previous.filter(|p| p.account == account);
    let mut out = Vec::new();
    match folder {
        None => {}
        Some(FolderSpec::Id(r)) => out.push(format!("folder: files videos in folder {}", r.id)),
        Some(FolderSpec::Name(n)) => match state.and_then(|p| p.folder.as_ref()) {
            Some(f) if f.name == *n => {
                out.push(format!("folder: files videos in {n:?} ({}, checked at run time)", f.id))
            }
            _ => out.push(format!(
                "folder: a run creates the folder {n:?} once and files videos in it"
            )),
        },
    }
    if set.is_empty() {
        return out;
    }
    let empty = BTreeMap::new();
    let known = state.map_or(&empty, |p| &p.uploads);
    let pending: Vec<&LocalFile> = set.pending(known).collect();
    let reused = set.files().count() - pending.len();
    let bytes: u64 = pending.iter().map(|f| f.bytes).sum();
    out.push(format!(
        "uploads: {} local file{} to upload ({}), {reused} already uploaded",
        pending.len(),
        if pending.len() == 1 { "" } else { "s" },
        human_bytes(bytes)
    ));
    for f in pending {
        let how = if f.bytes > MULTIPART_MAX_BYTES { "direct upload" } else { "POST /v3/assets" };
        out.push(format!("  upload {} ({}, {}, {how})", f.file, f.mime_type, human_bytes(f.bytes)));
    }
    out
}

/// Why uploading failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file vanished or became unreadable since validation.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file's content changed since validation (its hash differs).
    #[error("cannot read {file}: the file changed since it was validated; run again")]
    Changed {
        /// The file.
        file: String,
    },
    /// HeyGen refused or failed.
    #[error("uploading {file} failed: {source}")]
    Api {
        /// The file.
        file: String,
        /// The API error.
        #[source]
        source: crate::heygen::Error,
    },
}

/// The Idempotency-Key of an upload: one per content, so a retried or
/// repeated upload of the same bytes is replayed by HeyGen (within 24 h).
pub fn upload_key(hash: &str) -> String {
    format!("rf-asset:{}", &hash[..hash.len().min(40)])
}

/// Uploads one file and returns its record.
pub async fn upload(client: &Client, f: &LocalFile) -> Result<UploadRecord, UploadError> {
    let bytes = std::fs::read(&f.path)
        .map_err(|source| UploadError::Read { file: f.file.clone(), source })?;
    if blake3::hash(&bytes).to_hex().as_str() != f.hash {
        return Err(UploadError::Changed { file: f.file.clone() });
    }
    let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let key = upload_key(&f.hash);
    let api = |source| UploadError::Api { file: f.file.clone(), source };
    let asset_id = if f.bytes <= MULTIPART_MAX_BYTES {
        client.upload_asset(&name, f.mime_type, &bytes, Some(&key)).await.map_err(api)?.asset_id
    } else {
        let body = CreateDirectUpload {
            filename: name,
            content_type: f.mime_type.to_owned(),
            size_bytes: f.bytes,
            checksum_sha256: None,
        };
        let up = client.create_direct_upload(&body, Some(&key)).await.map_err(api)?;
        client.put_upload(&up, bytes).await.map_err(api)?;
        client
            .complete_upload(&up.asset_id, &CompleteUpload::default())
            .await
            .map_err(api)?
            .asset_id
    };
    Ok(UploadRecord { asset_id, file: f.file.clone(), bytes: f.bytes })
}

/// Replaces every placeholder asset id in `body` with its uploaded id.
/// Returns false when a placeholder has no upload (a bug upstream).
pub fn substitute(body: &mut Value, uploads: &BTreeMap<String, UploadRecord>) -> bool {
    match body {
        Value::String(s) => match s.strip_prefix(LOCAL_PREFIX) {
            Some(hash) => match uploads.get(hash) {
                Some(r) => {
                    *s = r.asset_id.clone();
                    true
                }
                None => false,
            },
            None => true,
        },
        Value::Array(a) => a.iter_mut().map(|v| substitute(v, uploads)).fold(true, |a, b| a & b),
        Value::Object(o) => o.values_mut().map(|v| substitute(v, uploads)).fold(true, |a, b| a & b),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_values_are_paths_not_urls() {
        assert!(is_local("assets/acme.png"));
        assert!(!is_local("https://cdn.example.com/a.png"));
        assert!(!is_local("http://x/a.png"));
    }

    #[test]
    fn files_are_checked_for_kind_size_and_existence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.png"), b"png bytes").unwrap();
        let cache = FileCache::default();
        let f = cache.check(dir.path(), "a.png", MediaKind::Image).unwrap();
        assert_eq!((f.bytes, f.mime_type), (9, "image/png"));
        assert_eq!(f.hash, blake3::hash(b"png bytes").to_hex().to_string());
        let wrong = cache.check(dir.path(), "a.png", MediaKind::Audio).unwrap_err();
        assert!(wrong.message.contains("takes an audio"), "{}", wrong.message);
        let missing = cache.check(dir.path(), "b.png", MediaKind::Image).unwrap_err();
        assert!(missing.message.contains("does not exist"), "{}", missing.message);
        let odd = cache.check(dir.path(), "notes.txt", MediaKind::Image).unwrap_err();
        assert!(odd.message.contains("not a media file"), "{}", odd.message);
    }

    #[test]
    fn placeholders_are_replaced_everywhere() {
        let mut uploads = BTreeMap::new();
        uploads.insert(
            "abc".to_owned(),
            UploadRecord { asset_id: "asset_1".into(), file: "a.png".into(), bytes: 1 },
        );
        let mut v = serde_json::json!({"scenes": [{"source": {"type": "asset_id", "asset_id": "reelflow-local:abc"}}]});
        assert!(substitute(&mut v, &uploads));
        assert_eq!(v["scenes"][0]["source"]["asset_id"], "asset_1");
        let mut missing = serde_json::json!({"asset_id": "reelflow-local:zzz"});
        assert!(!substitute(&mut missing, &uploads));
    }
}
