//! `POST /v3/videos` bodies and the video resources the API returns.
//!
//! Field names, nullability and enums follow HeyGen's generated spec
//! (v3-cli-specs-2026-11.json, `VideoCreate`, which supersedes the July
//! file; `VideoGet` and `VideoStatusesList` are unchanged since July).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::VideoStatus;

/// Output resolution (`resolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Resolution {
    /// 3840 on the long edge; a separate price tier.
    #[serde(rename = "4k")]
    FourK,
    /// Full HD; HeyGen's default output.
    #[serde(rename = "1080p")]
    P1080,
    /// HD.
    #[serde(rename = "720p")]
    P720,
}

impl Resolution {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FourK => "4k",
            Self::P1080 => "1080p",
            Self::P720 => "720p",
        }
    }
}

/// Output aspect ratio (`aspect_ratio`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AspectRatio {
    /// Landscape, the API default.
    #[serde(rename = "16:9")]
    Landscape,
    /// Portrait.
    #[serde(rename = "9:16")]
    Portrait,
    /// Feed portrait.
    #[serde(rename = "4:5")]
    FourFive,
    /// Feed landscape.
    #[serde(rename = "5:4")]
    FiveFour,
    /// Square.
    #[serde(rename = "1:1")]
    Square,
    /// Keep the source's aspect ratio.
    #[serde(rename = "auto")]
    Auto,
}

impl AspectRatio {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landscape => "16:9",
            Self::Portrait => "9:16",
            Self::FourFive => "4:5",
            Self::FiveFour => "5:4",
            Self::Square => "1:1",
            Self::Auto => "auto",
        }
    }
}

/// How the subject is fitted to the canvas (`fit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Scale to fit entirely inside the frame.
    Contain,
    /// Scale to fill the frame, cropping edges.
    Cover,
}

/// Output container (`output_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Standard video (default).
    Mp4,
    /// Video with an alpha channel; needs a matting-capable avatar.
    Webm,
}

impl OutputFormat {
    /// File extension for downloads.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Mp4 => "mp4",
            Self::Webm => "webm",
        }
    }
}

/// Photo-avatar expressiveness (`expressiveness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expressiveness {
    /// Most movement.
    High,
    /// Some movement.
    Medium,
    /// The API default.
    Low,
}

/// An image, video or audio input: by URL, uploaded asset id, or inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssetInput {
    /// A publicly reachable HTTPS URL.
    Url {
        /// The URL.
        url: String,
    },
    /// An asset uploaded with `POST /v3/assets`.
    AssetId {
        /// The asset id.
        asset_id: String,
    },
    /// Inline base64 content.
    Base64 {
        /// MIME type, e.g. `image/png`.
        media_type: String,
        /// Base64-encoded bytes.
        data: String,
    },
}

/// Rendering engine selection (`engine`). Avatar IV when omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Engine {
    /// Avatar V.
    #[serde(rename = "avatar_v")]
    AvatarV {
        /// Optional look used as the animation reference: a `digital_twin`
        /// look in the same avatar group as `avatar_id` (November 2026).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference_look_id: Option<String>,
    },
    /// Avatar IV (the default).
    #[serde(rename = "avatar_iv")]
    AvatarIv,
    /// Avatar III.
    #[serde(rename = "avatar_iii")]
    AvatarIii,
}

impl Engine {
    /// The engine name as looks list it in `supported_api_engines`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AvatarV { .. } => "avatar_v",
            Self::AvatarIv => "avatar_iv",
            Self::AvatarIii => "avatar_iii",
        }
    }
}

/// Voice tuning (`voice_settings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSettings {
    /// Playback speed, 0.5–1.5 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Pitch in semitones, −50..+50 (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<f64>,
    /// Volume, 0.0–1.0 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// Locale hint for multilingual voices, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Engine-specific tuning; must match the voice's engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_settings: Option<EngineSettings>,
}

/// ElevenLabs model choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElevenLabsModel {
    /// eleven_multilingual_v2
    ElevenMultilingualV2,
    /// eleven_turbo_v2_5
    #[serde(rename = "eleven_turbo_v2_5")]
    ElevenTurboV25,
    /// eleven_flash_v2_5
    #[serde(rename = "eleven_flash_v2_5")]
    ElevenFlashV25,
    /// eleven_v3 (stability must be 0, 0.5 or 1)
    ElevenV3,
    /// eleven_v4 (added in the November 2026 schemas)
    ElevenV4,
}

/// Fish Audio model choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FishModel {
    /// s1 (default)
    #[serde(rename = "s1")]
    S1,
    /// s2-pro
    #[serde(rename = "s2-pro")]
    S2Pro,
}

/// Engine-specific voice tuning, discriminated by `engine_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "engine_type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EngineSettings {
    /// ElevenLabs-backed voices.
    Elevenlabs {
        /// Model id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<ElevenLabsModel>,
        /// Similarity boost.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        similarity_boost: Option<f64>,
        /// Stability.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stability: Option<f64>,
        /// Style exaggeration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        style: Option<f64>,
        /// Speaker boost.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        use_speaker_boost: Option<bool>,
    },
    /// Fish Audio-backed voices.
    Fish {
        /// Model version.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<FishModel>,
        /// Similarity to the source voice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        similarity: Option<f64>,
        /// Stability.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stability: Option<f64>,
    },
    /// Forces Starfish routing; no settings.
    Starfish,
}

/// Top-level background type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackgroundType {
    /// A solid colour in `value`.
    Color,
    /// An image from `url` or `asset_id`.
    Image,
}

/// Background of an `avatar` or `image` video (`background`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Background {
    /// `color` or `image`.
    #[serde(rename = "type")]
    pub kind: BackgroundType,
    /// Hex colour, required for `color`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Image URL (exclusive with `asset_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Uploaded image asset (exclusive with `url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
}

/// Background of a studio `avatar_video` scene: colour only, and spelled
/// `color` rather than `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SceneBackground {
    /// A solid colour.
    Color {
        /// `#RRGGBB`.
        color: String,
    },
}

/// Sidecar caption file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptionFileFormat {
    /// SubRip.
    Srt,
}

/// Burned-in caption style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptionStyle {
    /// HeyGen's default style.
    Default,
}

/// Caption settings (`caption`). A sidecar SRT always comes back in
/// `subtitle_url`; `style` additionally burns captions in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Caption {
    /// Sidecar format (default `srt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_format: Option<CaptionFileFormat>,
    /// Set to burn captions into `captioned_video_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<CaptionStyle>,
}

/// Watermark anchor corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatermarkPosition {
    /// Top left.
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right (default).
    BottomRight,
}

/// Watermark placement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatermarkPlacement {
    /// Anchor corner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<WatermarkPosition>,
    /// Horizontal shift as a fraction of the frame width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_x: Option<f64>,
    /// Vertical shift as a fraction of the frame height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_y: Option<f64>,
}

/// Custom logo overlay (an Enterprise option).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Watermark {
    /// The overlay image.
    pub image: AssetInput,
    /// 0.0–1.0 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
    /// Scale multiplier (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<WatermarkPlacement>,
}

/// The body of `POST /v3/videos`: a union on `type`.
///
/// Deserialization is by hand (see [`CreateVideoRequest::from_value`]) so
/// that error paths survive into the variant; serde's internally tagged
/// enums buffer the content and lose them.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CreateVideoRequest {
    /// One talking-head clip from an avatar look.
    Avatar(AvatarVideo),
    /// One talking-head clip animated from an image.
    Image(ImageVideo),
    /// A prompt-driven Cinematic Avatar clip.
    CinematicAvatar(CinematicAvatarVideo),
    /// A multi-scene video.
    Studio(StudioVideo),
}

/// Why a JSON body is not a valid create request: the field path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct BodyError {
    /// Dotted path of the offending field (`scenes[1].input.script`).
    pub param: String,
    /// What is wrong.
    pub message: String,
}

impl CreateVideoRequest {
    /// Parses a create body, reporting the path of the first problem.
    pub fn from_value(value: Value) -> Result<Self, BodyError> {
        let kind = match value.get("type") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(body_error("type", "'type' must be a string.")),
            None => {
                return Err(body_error(
                    "type",
                    "Field required: 'type' (one of avatar, image, cinematic_avatar, studio).",
                ));
            }
        };
        let Value::Object(mut fields) = value else {
            return Err(body_error("", "The request body must be a JSON object."));
        };
        fields.remove("type");
        let rest = Value::Object(fields);
        match kind.as_str() {
            "avatar" => variant(rest).map(Self::Avatar),
            "image" => variant(rest).map(Self::Image),
            "cinematic_avatar" => variant(rest).map(Self::CinematicAvatar),
            "studio" => variant(rest).map(Self::Studio),
            other => Err(body_error(
                "type",
                &format!(
                    "Input tag '{other}' found using 'type' does not match any of the expected tags: 'avatar', 'image', 'cinematic_avatar', 'studio'."
                ),
            )),
        }
    }

    /// The `type` discriminator.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Avatar(_) => "avatar",
            Self::Image(_) => "image",
            Self::CinematicAvatar(_) => "cinematic_avatar",
            Self::Studio(_) => "studio",
        }
    }

    /// The dashboard title, if set.
    pub fn title(&self) -> Option<&str> {
        match self {
            Self::Avatar(v) => v.title.as_deref(),
            Self::Image(v) => v.title.as_deref(),
            Self::CinematicAvatar(v) => v.title.as_deref(),
            Self::Studio(v) => v.title.as_deref(),
        }
    }

    /// Output container the video will have.
    pub fn output_format(&self) -> OutputFormat {
        match self {
            Self::Avatar(v) => v.output_format.unwrap_or(OutputFormat::Mp4),
            Self::Image(v) => v.output_format.unwrap_or(OutputFormat::Mp4),
            Self::CinematicAvatar(_) | Self::Studio(_) => OutputFormat::Mp4,
        }
    }

    /// Caption settings, if captions were requested.
    pub fn caption(&self) -> Option<&Caption> {
        match self {
            Self::Avatar(v) => v.caption.as_ref(),
            Self::Image(v) => v.caption.as_ref(),
            Self::CinematicAvatar(_) => None,
            Self::Studio(v) => v.caption.as_ref(),
        }
    }

    /// The resolution the video renders at (the API's default is 1080p,
    /// 720p for Cinematic Avatar).
    pub fn resolution(&self) -> Resolution {
        match self {
            Self::Avatar(v) => v.resolution.unwrap_or(Resolution::P1080),
            Self::Image(v) => v.resolution.unwrap_or(Resolution::P1080),
            Self::CinematicAvatar(v) => v.resolution.unwrap_or(Resolution::P720),
            Self::Studio(v) => v.resolution.unwrap_or(Resolution::P1080),
        }
    }
}

/// Deserializes a variant body, keeping the path of the first error.
fn variant<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, BodyError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut param = err.path().to_string();
        let message = err.inner().to_string();
        // A nested union reported its own path (see `nested`): join them.
        if let Some(inner) = message.strip_prefix(NESTED)
            && let Some((inner_param, inner_message)) = inner.split_once(NESTED)
        {
            let param = match (param.as_str(), inner_param) {
                ("." | "", p) => p.to_owned(),
                (outer, "") => outer.to_owned(),
                (outer, p) if p.starts_with('[') => format!("{outer}{p}"),
                (outer, p) => format!("{outer}.{p}"),
            };
            return BodyError { param, message: inner_message.to_owned() };
        }
        // Inside nested tagged unions the path stops at the union; the
        // message still names an unknown field, so finish the path with it.
        if let Some(field) = unknown_field(&message)
            && !param.ends_with(field) {
                param = if param == "." || param.is_empty() {
                    field.to_owned()
                } else {
                    format!("{param}.{field}")
                };
            }
        if param == "." {
            param.clear();
        }
        let message = match unknown_field(&message) {
            Some(field) => match suggest(field, &message) {
                Some(close) => format!("Extra inputs are not permitted: unknown field `{field}`; did you mean `{close}`?"),
                None => format!("Extra inputs are not permitted: {message}"),
            },
            None => message,
        };
        BodyError { param, message }
    })
}

/// Why `input.type: image` is refused: HeyGen removed that variant.
pub const REMOVED_IMAGE_INPUT: &str = "Input tag 'image' found using 'type' does not match any of the expected tags: 'avatar'. The image input of avatar_video scenes was removed (November 2026): for a talking photo pass a photo-avatar look id as 'avatar_id' with type 'avatar'; to animate an arbitrary image use a single-scene video of type 'image'.";

/// Marks an error raised inside a nested union, carrying that union's own
/// path: serde's buffering would otherwise lose everything below it.
const NESTED: char = '\u{1}';

/// Splits a union's JSON into its `type` tag and the rest.
fn split_tag(value: Value, expected: &[&str]) -> Result<(String, Value), BodyError> {
    let Value::Object(mut fields) = value else {
        return Err(body_error("", "Input should be an object."));
    };
    match fields.remove("type") {
        Some(Value::String(tag)) if expected.contains(&tag.as_str()) => {
            Ok((tag, Value::Object(fields)))
        }
        Some(Value::String(tag)) => Err(body_error(
            "type",
            &format!(
                "Input tag '{tag}' found using 'type' does not match any of the expected tags: {}.",
                expected.iter().map(|e| format!("'{e}'")).collect::<Vec<_>>().join(", ")
            ),
        )),
        Some(_) => Err(body_error("type", "'type' must be a string.")),
        None => Err(body_error(
            "type",
            &format!("Field required: 'type' (one of {}).", expected.join(", ")),
        )),
    }
}

/// A nested union's error, with its path, as a serde error.
fn nested<E: serde::de::Error>(e: BodyError) -> E {
    E::custom(format!("{NESTED}{}{NESTED}{}", e.param, e.message))
}

/// The expected field closest to `field`, from serde's "expected one of"
/// list, when it is close enough to be a typo.
fn suggest<'m>(field: &str, message: &'m str) -> Option<&'m str> {
    let (_, expected) = message.split_once("expected")?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (strsim::jaro_winkler(field, cand), cand))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn body_error(param: &str, message: &str) -> BodyError {
    BodyError { param: param.to_owned(), message: message.to_owned() }
}

/// `type: "avatar"`: one clip of an avatar look speaking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvatarVideo {
    /// A look id from `GET /v3/avatars/looks` (not a group id).
    pub avatar_id: String,
    /// Text to speak, 1–5000 characters; exclusive with audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// TTS voice; the look's default voice when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// Public audio URL to lip-sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    /// Uploaded audio asset to lip-sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_asset_id: Option<String>,
    /// Voice tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_settings: Option<VoiceSettings>,
    /// Dashboard title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Output resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Output aspect ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Subject fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// Background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
    /// Remove the avatar's background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_background: Option<bool>,
    /// Output container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// Captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Caption>,
    /// One-off webhook for this video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in the webhook payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Logo overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// Rendering engine (Avatar IV when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Body-motion prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_prompt: Option<String>,
    /// Photo-avatar expressiveness (Avatar IV only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressiveness: Option<Expressiveness>,
    /// Brand glossary: how custom terms are pronounced in speech
    /// synthesized from `script` (captions keep the original wording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// Destination folder (`POST /v3/folders`); the workspace root when
    /// omitted. Single creates only: batch items cannot carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
}

/// `type: "image"`: one clip animated from an arbitrary image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageVideo {
    /// The image to animate.
    pub image: AssetInput,
    /// Text to speak; needs `voice_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// TTS voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// Public audio URL to lip-sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    /// Uploaded audio asset to lip-sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_asset_id: Option<String>,
    /// Voice tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_settings: Option<VoiceSettings>,
    /// Dashboard title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Output resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Output aspect ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Subject fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// Background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
    /// Remove the background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_background: Option<bool>,
    /// Output container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// Captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Caption>,
    /// One-off webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in the webhook payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Logo overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// Body-motion prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_prompt: Option<String>,
    /// Expressiveness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressiveness: Option<Expressiveness>,
    /// Brand glossary for synthesized speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// Destination folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
}

/// `type: "cinematic_avatar"`: a prompt-driven clip of 1–3 looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CinematicAvatarVideo {
    /// What should happen in the video.
    pub prompt: String,
    /// 1–3 look ids.
    pub avatar_id: Vec<String>,
    /// Reference assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<AssetInput>>,
    /// Length in seconds, 4–15 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Let the model choose the length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_duration: Option<bool>,
    /// Server-side prompt enhancement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhance_prompt: Option<bool>,
    /// 16:9, 9:16 or 1:1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// 720p (default) or 1080p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Dashboard title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Destination folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
}

/// `type: "studio"`: 1–50 whole-frame scenes rendered as one MP4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StudioVideo {
    /// The scenes, in order.
    pub scenes: Vec<StudioScene>,
    /// Dashboard title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Global aspect ratio; scenes are centre-cropped to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Global resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Caption>,
    /// One-off webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in the webhook payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Logo overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// Brand glossary for every scene whose speech is synthesized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// Destination folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
}

/// One studio scene, discriminated by `type`. Deserialized by hand so that
/// errors keep their full path (`scenes[1].input.script`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StudioScene {
    /// An avatar look speaking (a photo-avatar look for a talking photo).
    AvatarVideo {
        /// The speaking source.
        input: SceneInput,
    },
    /// A still image, silent for `duration` or narrated.
    Image {
        /// The image.
        source: AssetInput,
        /// Silent mode: seconds to hold, (0, 300].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<f64>,
        /// Narrated mode: text, with `voice_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script: Option<String>,
        /// Narrated mode: voice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice_id: Option<String>,
        /// Voice tuning.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice_settings: Option<VoiceSettings>,
        /// Narrated mode: audio URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_url: Option<String>,
        /// Narrated mode: audio asset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_asset_id: Option<String>,
    },
    /// An existing video clip, optionally with a voiceover that sets the
    /// scene's length (`playback.mode` says how the clip fits it).
    Video {
        /// The clip.
        source: AssetInput,
        /// Alignment mode, audio volume and mute.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        playback: Option<Playback>,
        /// Voiceover text, with `voice_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script: Option<String>,
        /// Voiceover voice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice_id: Option<String>,
        /// Voiceover tuning.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voice_settings: Option<VoiceSettings>,
        /// Voiceover audio URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_url: Option<String>,
        /// Voiceover audio asset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_asset_id: Option<String>,
    },
}

/// How a narrated clip aligns to the voiceover-driven scene length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaybackMode {
    /// Play once, then hold the last frame (the default).
    Freeze,
    /// Repeat the clip.
    Loop,
    /// Change the playback speed to match the scene exactly.
    FitToScene,
}

/// Audio playback of a video scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Playback {
    /// How a narrated clip fits the voiceover (freeze when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PlaybackMode>,
    /// 0.0–1.0 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// Force silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<bool>,
}

/// The speaking source of an `avatar_video` scene (deserialized by hand,
/// like [`StudioScene`]). Since the November 2026 schemas it is one avatar
/// object: the `type: image` variant was removed (a talking photo is a
/// photo-avatar look id), and reelflow rejects it with that hint.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SceneInput {
    /// An avatar look (video or photo avatar).
    Avatar(AvatarSceneInput),
}

/// An avatar look speaking in a studio scene.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvatarSceneInput {
    /// Look id.
    pub avatar_id: String,
    /// Text to speak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Voice (the look's default voice when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// Audio URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    /// Audio asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_asset_id: Option<String>,
    /// Voice tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_settings: Option<VoiceSettings>,
    /// Engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Body-motion prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_prompt: Option<String>,
    /// Expressiveness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressiveness: Option<Expressiveness>,
    /// Colour behind the avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<SceneBackground>,
}

/// `data` of the create response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedVideo {
    /// The new video's id.
    pub video_id: String,
    /// Initial status, `waiting` in the docs.
    pub status: VideoStatus,
    /// Resolved output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
}

/// A video as `GET /v3/videos/{id}`, `GET /v3/videos` and template
/// generation return it. Every field but `id` and `status` may be null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoDetail {
    /// Video id.
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Status.
    pub status: VideoStatus,
    /// Creation time, unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Completion time, unix seconds.
    #[serde(default)]
    pub completed_at: Option<i64>,
    /// Presigned download URL.
    #[serde(default)]
    pub video_url: Option<String>,
    /// Thumbnail URL.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// GIF preview URL.
    #[serde(default)]
    pub gif_url: Option<String>,
    /// Presigned URL of the version with burned-in captions.
    #[serde(default)]
    pub captioned_video_url: Option<String>,
    /// Presigned SRT URL.
    #[serde(default)]
    pub subtitle_url: Option<String>,
    /// Length in seconds.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Folder.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// BCP-47 language of translated videos.
    #[serde(default)]
    pub output_language: Option<String>,
    /// Machine-readable failure reason.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Human-readable failure reason.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Link to the video in HeyGen's app.
    #[serde(default)]
    pub video_page_url: Option<String>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `GET /v3/videos/statuses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusEntry {
    /// Video id; null for batch items not created yet.
    #[serde(default)]
    pub video_id: Option<String>,
    /// `queued|processing|completed|failed|not_found`.
    pub status: VideoStatus,
    /// Set for entries expanded from a batch.
    #[serde(default)]
    pub batch_id: Option<String>,
    /// Position in the batch.
    #[serde(default)]
    pub item_index: Option<u32>,
    /// Failure details (shape unspecified by HeyGen).
    #[serde(default)]
    pub error: Option<Value>,
}

/// `data` of `DELETE /v3/videos/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedVideo {
    /// The deleted video's id.
    pub id: String,
    /// Always true on success.
    #[serde(default = "yes")]
    pub deleted: bool,
}

fn yes() -> bool {
    true
}

impl<'de> Deserialize<'de> for CreateVideoRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(value).map_err(|e| {
            serde::de::Error::custom(if e.param.is_empty() {
                e.message
            } else {
                format!("{}: {}", e.param, e.message)
            })
        })
    }
}

// The variants of `StudioScene` as plain structs, for reading them with
// their paths intact.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvatarVideoFields {
    input: SceneInput,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageSceneFields {
    source: AssetInput,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    script: Option<String>,
    #[serde(default)]
    voice_id: Option<String>,
    #[serde(default)]
    voice_settings: Option<VoiceSettings>,
    #[serde(default)]
    audio_url: Option<String>,
    #[serde(default)]
    audio_asset_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VideoSceneFields {
    source: AssetInput,
    #[serde(default)]
    playback: Option<Playback>,
    #[serde(default)]
    script: Option<String>,
    #[serde(default)]
    voice_id: Option<String>,
    #[serde(default)]
    voice_settings: Option<VoiceSettings>,
    #[serde(default)]
    audio_url: Option<String>,
    #[serde(default)]
    audio_asset_id: Option<String>,
}

impl<'de> Deserialize<'de> for StudioScene {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let read = || -> Result<StudioScene, BodyError> {
            let (tag, rest) = split_tag(value, &["avatar_video", "image", "video"])?;
            Ok(match tag.as_str() {
                "avatar_video" => {
                    StudioScene::AvatarVideo { input: variant::<AvatarVideoFields>(rest)?.input }
                }
                "image" => {
                    let f: ImageSceneFields = variant(rest)?;
                    StudioScene::Image {
                        source: f.source,
                        duration: f.duration,
                        script: f.script,
                        voice_id: f.voice_id,
                        voice_settings: f.voice_settings,
                        audio_url: f.audio_url,
                        audio_asset_id: f.audio_asset_id,
                    }
                }
                _ => {
                    let f: VideoSceneFields = variant(rest)?;
                    StudioScene::Video {
                        source: f.source,
                        playback: f.playback,
                        script: f.script,
                        voice_id: f.voice_id,
                        voice_settings: f.voice_settings,
                        audio_url: f.audio_url,
                        audio_asset_id: f.audio_asset_id,
                    }
                }
            })
        };
        read().map_err(nested)
    }
}

impl<'de> Deserialize<'de> for SceneInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let read = || -> Result<SceneInput, BodyError> {
            if value.get("type").and_then(Value::as_str) == Some("image") {
                return Err(body_error("type", REMOVED_IMAGE_INPUT));
            }
            let (_, rest) = split_tag(value, &["avatar"])?;
            variant(rest).map(SceneInput::Avatar)
        };
        read().map_err(nested)
    }
}
