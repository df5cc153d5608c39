//! Avatar groups (`GET /v3/avatars`) and looks (`GET /v3/avatars/looks`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ApiEngine, AvatarType};

/// Error details of a private avatar whose training failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceError {
    /// Machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// An avatar group (a character). Its looks carry the ids videos use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvatarGroup {
    /// Group id. Not usable as `avatar_id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Number of looks in the group.
    pub looks_count: u32,
    /// Preview image.
    #[serde(default)]
    pub preview_image_url: Option<String>,
    /// Preview video.
    #[serde(default)]
    pub preview_video_url: Option<String>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<String>,
    /// Default voice.
    #[serde(default)]
    pub default_voice_id: Option<String>,
    /// Consent status; null when consent is not required.
    #[serde(default)]
    pub consent_status: Option<String>,
    /// Training status (private avatars only).
    #[serde(default)]
    pub status: Option<String>,
    /// Failure details when `status` is `failed`.
    #[serde(default)]
    pub error: Option<ResourceError>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An avatar look: an outfit or pose of a group. `id` is the `avatar_id`
/// to pass to `POST /v3/videos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvatarLook {
    /// Look id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Studio avatar, digital twin or photo avatar.
    pub avatar_type: AvatarType,
    /// The group this look belongs to.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Preview image.
    #[serde(default)]
    pub preview_image_url: Option<String>,
    /// Preview video.
    #[serde(default)]
    pub preview_video_url: Option<String>,
    /// Gender.
    #[serde(default)]
    pub gender: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Default voice, used when a request omits `voice_id`.
    #[serde(default)]
    pub default_voice_id: Option<String>,
    /// Engines this look supports, as HeyGen spells them.
    #[serde(default)]
    pub supported_api_engines: Vec<String>,
    /// Native width in pixels.
    #[serde(default)]
    pub image_width: Option<u32>,
    /// Native height in pixels.
    #[serde(default)]
    pub image_height: Option<u32>,
    /// `portrait`, `landscape` or `square`.
    #[serde(default)]
    pub preferred_orientation: Option<String>,
    /// Training status (private looks only).
    #[serde(default)]
    pub status: Option<String>,
    /// Failure details when `status` is `failed`.
    #[serde(default)]
    pub error: Option<ResourceError>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AvatarLook {
    /// Supported engines with spelling variants folded together.
    pub fn engines(&self) -> Vec<ApiEngine> {
        let mut out: Vec<ApiEngine> = Vec::new();
        for e in self.supported_api_engines.iter().map(|s| ApiEngine::parse(s)) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    /// Whether the look supports `engine` (by its canonical name).
    pub fn supports(&self, engine: &ApiEngine) -> bool {
        self.engines().contains(engine)
    }

    /// A private look that is not ready to render.
    pub fn is_usable(&self) -> bool {
        matches!(self.status.as_deref(), None | Some("completed"))
    }
}
