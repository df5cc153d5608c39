//! Templates: list, detail and `POST /v3/templates/{id}` (generate).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::AssetInput;

/// A template in `GET /v3/templates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSummary {
    /// Template id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Thumbnail.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// Aspect ratio.
    #[serde(default)]
    pub aspect_ratio: Option<String>,
    /// Creation time, unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /v3/templates/{id}`: the template with its variables and scenes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDetail {
    /// Template id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Thumbnail.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// Aspect ratio.
    #[serde(default)]
    pub aspect_ratio: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Variables with their current defaults, keyed by name, in the shape
    /// the generate request takes.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Scene ids in template order.
    #[serde(default)]
    pub scene_ids: Vec<String>,
    /// Scenes.
    #[serde(default)]
    pub scenes: Vec<TemplateScene>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A scene of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateScene {
    /// Scene id, usable in `scene_ids`.
    pub scene_id: String,
    /// Script with placeholders unreplaced.
    #[serde(default)]
    pub script: Option<String>,
    /// Variables used in this scene.
    #[serde(default)]
    pub variables: Vec<TemplateSceneVariable>,
}

/// A variable used by a template scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSceneVariable {
    /// Variable name.
    pub name: String,
    /// `text`, `image`, `video`, `audio`, `character` or `voice`.
    pub variable_type: String,
}

/// How a replaced image or video is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaFit {
    /// Fill, cropping.
    Cover,
    /// Fit inside (default).
    Contain,
    /// Crop.
    Crop,
    /// Keep native size.
    None,
}

/// How a replaced video plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlayStyle {
    /// Stretch to the scene.
    FitToScene,
    /// Freeze the last frame.
    Freeze,
    /// Loop (default).
    Loop,
    /// Play once.
    Once,
    /// Play the full clip.
    FullVideo,
}

/// Whether a `character` variable is an avatar or a talking photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CharacterType {
    /// An avatar.
    Avatar,
    /// A talking photo.
    TalkingPhoto,
}

/// A variable value in a generate request, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TemplateVariable {
    /// Replacement text.
    Text {
        /// The text.
        content: String,
    },
    /// Replacement image.
    Image {
        /// The image.
        asset: AssetInput,
        /// Fit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fit: Option<MediaFit>,
    },
    /// Replacement video.
    Video {
        /// The video.
        asset: AssetInput,
        /// Fit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fit: Option<MediaFit>,
        /// Play style.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        play_style: Option<PlayStyle>,
        /// Volume.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume: Option<f64>,
    },
    /// Replacement audio.
    Audio {
        /// The audio.
        asset: AssetInput,
    },
    /// Replacement avatar.
    Character {
        /// Avatar look id or talking-photo id.
        character_id: String,
        /// Which of the two.
        character_type: CharacterType,
    },
    /// Replacement voice.
    Voice {
        /// Voice id.
        voice_id: String,
        /// Locale.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locale: Option<String>,
    },
}

impl TemplateVariable {
    /// The `type` discriminator, as templates name their variable types.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Video { .. } => "video",
            Self::Audio { .. } => "audio",
            Self::Character { .. } => "character",
            Self::Voice { .. } => "voice",
        }
    }
}

/// Output size override; must keep the template's aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// Even, 128–4096.
    pub width: u32,
    /// Even, 128–4096.
    pub height: u32,
}

/// Subtitle position override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtitlePosition {
    /// Horizontal.
    #[serde(default)]
    pub x: f64,
    /// Vertical.
    #[serde(default)]
    pub y: f64,
}

/// Subtitle styling; implies captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subtitles {
    /// Preset, e.g. `classic`, `bold`, `bright`.
    pub preset_name: String,
    /// Alignment (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<i64>,
    /// Font size override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<i64>,
    /// Turn off word highlighting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_highlight: Option<bool>,
    /// Position override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<SubtitlePosition>,
}

/// The body of `POST /v3/templates/{template_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateFromTemplate {
    /// Replacements keyed by variable name.
    pub variables: BTreeMap<String, TemplateVariable>,
    /// Scenes to render, in order (repeats allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_ids: Option<Vec<String>>,
    /// Output size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<Dimension>,
    /// 25, 30 or 60 (default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<u32>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    /// Burn in captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<bool>,
    /// Subtitle styling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<Subtitles>,
    /// One-off webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Brand voice controlling pronunciation. Deprecated since the
    /// November 2026 schemas (still accepted): use `brand_glossary_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_voice_id: Option<String>,
    /// Brand glossary: how custom terms are pronounced in synthesized
    /// speech (captions keep the original wording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// Background music follows its scenes (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_music: Option<bool>,
    /// Re-centre replaced text vertically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_text_vertically_centered: Option<bool>,
    /// GIF preview in the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_gif: Option<bool>,
    /// Public share page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_sharing: Option<bool>,
}
