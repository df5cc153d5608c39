//! Voices (`GET /v3/voices`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A voice usable as `voice_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Voice {
    /// Voice id.
    pub voice_id: String,
    /// Display name.
    pub name: String,
    /// Primary language, e.g. `English`.
    pub language: String,
    /// Gender.
    pub gender: String,
    /// Short audio preview.
    #[serde(default)]
    pub preview_audio_url: Option<String>,
    /// Whether SSML `<break>` tags are honoured.
    pub support_pause: bool,
    /// Whether locale variants are supported.
    pub support_locale: bool,
    /// `public` or `private`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /v3/voices/{voice_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceDetail {
    /// Voice id.
    pub voice_id: String,
    /// SSML break support.
    pub support_pause: bool,
    /// Usable by interactive avatars.
    #[serde(default)]
    pub support_interactive_avatar: bool,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Language.
    #[serde(default)]
    pub language: Option<String>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<String>,
    /// Preview.
    #[serde(default)]
    pub preview_audio_url: Option<String>,
    /// Creation time (clones).
    #[serde(default)]
    pub created_at: Option<i64>,
    /// `processing|complete|failed` (clones only).
    #[serde(default)]
    pub status: Option<String>,
    /// Why a clone failed.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
