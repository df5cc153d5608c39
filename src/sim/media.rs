//! Media the simulator serves itself, behind presigned-style URLs that
//! expire like HeyGen's.

use serde::Deserialize;

/// A media file of a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// The video (`.mp4` or `.webm`).
    Video,
    /// The version with burned-in captions.
    Captioned,
    /// The SRT sidecar.
    Subtitle,
    /// Thumbnail (plain URL).
    Thumbnail,
    /// GIF preview (plain URL).
    Gif,
}

impl MediaKind {
    /// Presigned kinds expire; thumbnails and GIFs are plain URLs.
    pub fn is_presigned(self) -> bool {
        matches!(self, Self::Video | Self::Captioned | Self::Subtitle)
    }
}

/// Splits `v_abc.mp4` / `v_abc_captioned.mp4` / `v_abc.srt` into id and kind.
pub fn parse_file(file: &str) -> Option<(&str, MediaKind)> {
    let (stem, ext) = file.rsplit_once('.')?;
    match ext {
        "mp4" | "webm" => match stem.strip_suffix("_captioned") {
            Some(id) => Some((id, MediaKind::Captioned)),
            None => Some((stem, MediaKind::Video)),
        },
        "srt" => Some((stem, MediaKind::Subtitle)),
        "jpg" => Some((stem, MediaKind::Thumbnail)),
        "gif" => Some((stem, MediaKind::Gif)),
        _ => None,
    }
}

/// Query of a presigned URL.
#[derive(Debug, Deserialize)]
pub struct Presign {
    /// Unix seconds after which the URL is dead.
    #[serde(rename = "Expires")]
    pub expires: Option<u64>,
    /// Keyed hash of path and expiry.
    #[serde(rename = "Signature")]
    pub signature: Option<String>,
}

/// The signature of a media path valid until `expires`.
pub fn sign(key: &[u8; 32], path: &str, expires: u64) -> String {
    let mut h = blake3::Hasher::new_keyed(key);
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(expires.to_string().as_bytes());
    h.finalize().to_hex()[..32].to_owned()
}

/// Bytes of a fake MP4: a real `ftyp` box, then filler derived from the id,
/// `bytes_per_sec × seconds` long, so sizes differ per video.
pub fn fake_mp4(video_id: &str, seconds: f64, bytes_per_sec: usize) -> Vec<u8> {
    let len = ((seconds * bytes_per_sec as f64) as usize).max(1024);
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&[0, 0, 0, 0x18]);
    out.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    let mut reader = blake3::Hasher::new().update(video_id.as_bytes()).finalize_xof();
    let mut chunk = [0u8; 4096];
    while out.len() < len {
        reader.fill(&mut chunk);
        let take = (len - out.len()).min(chunk.len());
        out.extend_from_slice(&chunk[..take]);
    }
    out
}

/// An SRT file with the script split into cues of about eight words.
pub fn srt(script: &str, seconds: f64) -> String {
    let words: Vec<&str> = script.split_whitespace().collect();
    let cues: Vec<String> = words.chunks(8).map(|c| c.join(" ")).collect();
    let per = if cues.is_empty() { seconds } else { seconds / cues.len() as f64 };
    let stamp = |t: f64| {
        let ms = (t * 1000.0) as u64;
        format!(
            "{:02}:{:02}:{:02},{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        let start = per * i as f64;
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(start),
            stamp(start + per),
            cue
        ));
    }
    out
}
