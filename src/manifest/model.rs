//! The manifest: what a campaign renders, from which data, where results go.
//!
//! Every string field marked *template* is a minijinja template rendered per
//! CSV row, with the row's columns, `vars`, `row` (all columns by name) and
//! `key` (the rendered row key) in scope. Fields are rendered one by one
//! after the YAML is parsed, so a CSV value can never change the manifest's
//! structure. An optional template field that renders empty is left out of
//! the request (so `voice: "{{ voice_id }}"` with an empty cell falls back
//! to the avatar's default voice).
//!
//! These types generate `schema.json` (see [`crate::manifest::schema`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::heygen::wire::{
    AspectRatio, Caption, Dimension, EngineSettings, Expressiveness, Fit, MediaFit, OutputFormat,
    PlayStyle, Playback, Resolution, Subtitles, Watermark,
};

/// A reelflow campaign manifest (version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "reelflow manifest")]
pub struct Manifest {
    /// Manifest format version. Always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Campaign name. Part of every job's identity and Idempotency-Key, so
    /// renaming a campaign regenerates its videos.
    #[schemars(length(min = 1, max = 64), pattern(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$"))]
    pub name: String,
    /// Named HeyGen account (see `reelflow accounts`). The default account
    /// (or `--account`) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The dataset: one video per CSV row.
    pub data: DataSpec,
    /// Constants available to every template, e.g. `{company: Acme}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, VarValue>,
    /// Brand glossary for the whole campaign (template): how brand terms,
    /// and customers' names where the glossary holds them, are pronounced
    /// in synthesized speech. `video.brand_glossary_id` or
    /// `template.brand_glossary_id` override it. `GET /v3/brand-glossaries`
    /// lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// The video to render for each row. Exactly one of `video` and `template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoSpec>,
    /// Render each row from a HeyGen template instead (`POST /v3/templates/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateSpec>,
    /// Where results and downloads go.
    #[serde(default)]
    pub output: OutputSpec,
    /// How runs behave.
    #[serde(default)]
    pub run: RunSpec,
    /// Human review before the whole campaign is rendered.
    #[serde(default, skip_serializing_if = "ReviewSpec::is_default")]
    pub review: ReviewSpec,
}

/// Review settings (`reelflow review`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSpec {
    /// A full run refuses (exit 10) until a `run --sample N` has been
    /// rendered and every video of that sample approved in `reelflow review`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_approval: bool,
}

impl ReviewSpec {
    fn is_default(&self) -> bool {
        *self == ReviewSpec::default()
    }
}

/// A constant in `vars`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VarValue {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A flag.
    Bool(bool),
}

/// The CSV dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// CSV file, relative to the manifest. UTF-8 (a BOM is fine), comma
    /// separated, first line is the header.
    #[schemars(length(min = 1))]
    pub csv: String,
    /// Template of each row's identity, e.g. `"{{ email }}"`. Must be unique
    /// and non-empty per row: results, resume and `plan` key on it.
    #[schemars(length(min = 1))]
    pub key: String,
    /// Optional filter expression; rows where it is false are skipped, e.g.
    /// `"{{ plan == 'pro' }}"` or `"plan == 'pro'"`.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// A number, or a template that renders to one (e.g. `"{{ speed }}"`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Num {
    /// A literal number.
    Value(f64),
    /// A template rendering to a number.
    Template(#[schemars(pattern(r"\{\{"))] String),
}

/// A video built from scenes. One scene with an `avatar` (or an
/// `animated_image`) becomes a v3 `avatar` (or `image`) video; several
/// scenes, or an `image`/`video` scene, become a v3 `studio` video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoSpec {
    /// Dashboard title (template), e.g. `"Welcome, {{ first_name }}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Output resolution. HeyGen renders 1080p when omitted; 4k costs more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Output aspect ratio (HeyGen default 16:9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Captions: `true` for a sidecar SRT, `{style: default}` to also burn
    /// them into `captioned_video_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<CaptionSpec>,
    /// Default engine for avatar scenes: `avatar_iv` (HeyGen's default),
    /// `avatar_v`, `avatar_iii`, or `{type: avatar_v, reference_look_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineSpec>,
    /// `mp4` (default) or `webm` (alpha channel; single-scene only, no background).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// How the avatar fits the frame (single-scene only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
    /// Remove the avatar's background (single-scene only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_background: Option<bool>,
    /// Background of a single-scene video. Multi-scene videos take a colour
    /// per scene instead (`scenes[].background`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<BackgroundSpec>,
    /// Webhook called when the video is ready (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in the webhook (template), e.g. `"{{ key }}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Logo overlay (an Enterprise option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<Watermark>,
    /// Brand glossary for this video's synthesized speech (template);
    /// overrides the campaign's `brand_glossary_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// The scenes, in order: 1 to 50.
    #[schemars(length(min = 1, max = 50))]
    pub scenes: Vec<SceneSpec>,
}

/// Caption settings.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CaptionSpec {
    /// `true`: sidecar SRT; `false`: none.
    Enabled(bool),
    /// HeyGen's caption object.
    Settings(Caption),
}

/// An engine: its name, or the full object.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EngineSpec {
    /// `avatar_iv`, `avatar_v` or `avatar_iii`.
    Name(EngineName),
    /// `{type: avatar_v, reference_look_id: …}`.
    Object(crate::heygen::wire::Engine),
}

/// Engine names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineName {
    /// Avatar IV, HeyGen's default.
    AvatarIv,
    /// Avatar V.
    AvatarV,
    /// Avatar III.
    AvatarIii,
}

/// Background of a single-scene video: exactly one of the three. An
/// `image_url` that is not a URL is a local file, uploaded once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackgroundSpec {
    /// Hex colour (template), e.g. `"#0B1F3A"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^(#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3}|.*\{\{.*)$"))]
    pub color: Option<String>,
    /// Background image URL (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Uploaded background image asset (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_asset_id: Option<String>,
}

/// An image or video input: a URL, a local file (any value without
/// `://`, relative to the manifest, e.g. `assets/{{ company | slug }}.png`;
/// uploaded once per account and content), or `{url}` / `{asset_id}`
/// (templates).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AssetSpec {
    /// A public URL (template).
    Url(String),
    /// Explicit form.
    Object(AssetObject),
}

/// Explicit asset: exactly one of `url` and `asset_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetObject {
    /// Public URL (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Uploaded asset id (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
}

/// One scene. Its kind is set by which of `avatar`, `animated_image`,
/// `image` and `video` it has (exactly one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SceneSpec {
    /// An avatar look id (template), e.g. `Abigail_expressive_2024112501`
    /// (`reelflow avatars` lists them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// An image to animate as the speaker (single-scene videos only: HeyGen
    /// removed the image input of studio scenes; for a talking photo in a
    /// multi-scene video use a photo-avatar look id as `avatar`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated_image: Option<AssetSpec>,
    /// A whole-frame still image: silent for `duration`, or narrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<AssetSpec>,
    /// A whole-frame video clip; with a `script` or audio it gets a
    /// voiceover that sets the scene's length (`playback.mode` fits the clip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<AssetSpec>,
    /// What is said (template), 1–5000 characters after rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Voice id (template). An avatar's default voice when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Audio to lip-sync instead of a script (template): a URL, or a local
    /// file uploaded once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
    /// Uploaded audio asset instead of a script (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_asset_id: Option<String>,
    /// Voice tuning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_settings: Option<VoiceSettingsSpec>,
    /// Engine for this scene (overrides `video.engine`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineSpec>,
    /// Body-motion prompt (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_prompt: Option<String>,
    /// Photo-avatar expressiveness (Avatar IV only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expressiveness: Option<Expressiveness>,
    /// Colour behind the avatar in a multi-scene video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<SceneBackgroundSpec>,
    /// Seconds a silent `image` scene is held, (0, 300].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Num>,
    /// Audio of a `video` scene: `volume`, `mute`, and `mode` (freeze, loop
    /// or fit_to_scene; needs a voiceover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playback: Option<Playback>,
}

/// A scene background colour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SceneBackgroundSpec {
    /// `#RRGGBB` (template).
    #[schemars(pattern(r"^(#[0-9A-Fa-f]{6}|.*\{\{.*)$"))]
    pub color: String,
}

/// Voice tuning; numbers may be templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSettingsSpec {
    /// 0.5–1.5 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<Num>,
    /// −50..50 semitones (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<Num>,
    /// 0–1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Num>,
    /// Locale hint (template), e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Engine-specific settings, as HeyGen takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_settings: Option<EngineSettings>,
}

/// Render from a HeyGen template (made in HeyGen's web editor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// Template id (`reelflow templates` lists them).
    #[schemars(length(min = 1))]
    pub id: String,
    /// Video title (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Replacements keyed by the template's variable names. A string is a
    /// text replacement (template); the object form sets the type.
    pub variables: BTreeMap<String, TemplateVarSpec>,
    /// Scenes to render, in order (repeats allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_ids: Option<Vec<String>>,
    /// Output size; must keep the template's aspect ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<Dimension>,
    /// 25, 30 or 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<u32>,
    /// Burn in captions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<bool>,
    /// Subtitle styling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<Subtitles>,
    /// Webhook (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Echoed in the webhook (template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Brand voice controlling pronunciation. Deprecated by HeyGen: use
    /// `brand_glossary_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_voice_id: Option<String>,
    /// Brand glossary (template); overrides the campaign's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_glossary_id: Option<String>,
    /// Text variables of the template the manifest leaves out on purpose:
    /// each keeps the value the template holds now (read with `GET
    /// /v3/templates/{id}` and sent explicitly). Any other text variable
    /// left out is an error, because HeyGen would leave its literal
    /// `{{name}}` placeholder in the video.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_template_value: Vec<String>,
    /// Folder for the generated videos (an id). `output.folder` is the
    /// campaign-wide way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    /// Public share page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_sharing: Option<bool>,
}

/// A template variable replacement.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TemplateVarSpec {
    /// Text (template).
    Text(String),
    /// Typed replacement.
    Typed(TypedVar),
}

/// Variable types a template can replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VarKind {
    /// `content`.
    Text,
    /// `url` or `asset_id`, `fit`.
    Image,
    /// `url` or `asset_id`, `fit`, `play_style`, `volume`.
    Video,
    /// `url` or `asset_id`.
    Audio,
    /// `character_id`, `character_type`.
    Character,
    /// `voice_id`, `locale`.
    Voice,
}

/// A typed template variable; string fields are templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedVar {
    /// What kind of element it replaces.
    #[serde(rename = "type")]
    pub kind: VarKind,
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Media URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Media asset id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// Media fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<MediaFit>,
    /// Video play style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_style: Option<PlayStyle>,
    /// Video volume, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<f64>,
    /// Avatar look id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_id: Option<String>,
    /// `avatar` or `talking_photo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_type: Option<crate::heygen::wire::CharacterType>,
    /// Voice id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// Voice locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// Outputs, relative to the manifest's folder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Results manifest (JSON): one entry per row, and the state of the next
    /// run. Default `out/<name>.results.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
    /// Download path per video (template, relative, inside the manifest's
    /// folder), e.g. `"out/videos/{{ key | slug }}.mp4"`. No downloads when
    /// omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<String>,
    /// Also download the SRT captions next to each video.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub captions: bool,
    /// The HeyGen folder the campaign's videos are filed in: a name (the
    /// folder is created once, `POST /v3/folders`, and its id remembered
    /// in the results) or `{id: …}` for an existing folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderSpec>,
}

/// A campaign folder: a name, or an existing folder's id.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum FolderSpec {
    /// Folder name, 1–256 characters; created when the state has no id.
    Name(#[schemars(length(min = 1, max = 256))] String),
    /// An existing folder.
    Id(FolderRef),
}

/// An existing folder by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderRef {
    /// Folder id (`GET /v3/folders/{id}` must find it).
    #[schemars(length(min = 1))]
    pub id: String,
}

/// Run settings; command-line flags override them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Most render jobs in flight at once (HeyGen pay-as-you-go allows 10).
    /// Default 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub concurrency: Option<u32>,
    /// Status polling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollSpec>,
    /// Stop launching jobs once the estimated spend of this run would pass
    /// this many USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub max_cost_usd: Option<f64>,
}

/// Polling cadence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    /// Longest wait between status checks, e.g. `30s` (checks start fast and
    /// back off to this). Default 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^\d+\s*(ms|s|m|h)$"))]
    pub every: Option<String>,
    /// Give up waiting after this long, e.g. `45m`; unfinished videos are
    /// recorded as still rendering. Default 60m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^\d+\s*(ms|s|m|h)$"))]
    pub timeout: Option<String>,
}

/// Why the scalar form of a scalar-or-object field is refused (serde
/// carries it as its message, with the field's path and line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    /// An engine name HeyGen does not have.
    #[error("unknown engine `{0}`, expected avatar_iv, avatar_v or avatar_iii")]
    UnknownEngine(String),
}

// Scalar-or-object fields are deserialized by hand: serde's untagged enums
// would turn a typo inside the object form into "data did not match any
// variant", losing the field name and its location.
macro_rules! scalar_or_map {
    ($ty:ident, $expecting:literal, map => $map:ident($map_ty:ty) $(, str => $s:expr)? $(, bool => $b:expr)? $(, num => $n:expr)?) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        <$map_ty>::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map($ty::$map)
                    }
                    $(fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        let f: fn(&str) -> Result<$ty, ScalarError> = $s;
                        f(v).map_err(E::custom)
                    })?
                    $(fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<$ty, E> {
                        let f: fn(bool) -> $ty = $b;
                        Ok(f(v))
                    })?
                    $(fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$ty, E> {
                        let f: fn(f64) -> $ty = $n;
                        Ok(f(v))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        self.visit_f64(v as f64)
                    })?
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// Num has no map form; this is its own small visitor.
impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, or a template such as \"{{ speed }}\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Value(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Value(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num::Value(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Num, E> {
                match v.trim().parse::<f64>() {
                    Ok(n) => Ok(Num::Value(n)),
                    Err(_) => Ok(Num::Template(v.to_owned())),
                }
            }
        }
        d.deserialize_any(V)
    }
}

scalar_or_map!(FolderSpec, "a folder name, or {id: …}", map => Id(FolderRef), str => |s| Ok(FolderSpec::Name(s.to_owned())));
scalar_or_map!(CaptionSpec, "true, false, or {file_format, style}", map => Settings(Caption), bool => CaptionSpec::Enabled);
scalar_or_map!(
    EngineSpec,
    "an engine name (avatar_iv, avatar_v, avatar_iii) or {type: …}",
    map => Object(crate::heygen::wire::Engine),
    str => |s| match s {
        "avatar_iv" => Ok(EngineSpec::Name(EngineName::AvatarIv)),
        "avatar_v" => Ok(EngineSpec::Name(EngineName::AvatarV)),
        "avatar_iii" => Ok(EngineSpec::Name(EngineName::AvatarIii)),
        other => Err(ScalarError::UnknownEngine(other.to_owned())),
    }
);
scalar_or_map!(AssetSpec, "a URL, or {url} / {asset_id}", map => Object(AssetObject), str => |s| Ok(AssetSpec::Url(s.to_owned())));
scalar_or_map!(
    TemplateVarSpec,
    "text (a template), or {type: text|image|video|audio|character|voice, …}",
    map => Typed(TypedVar),
    str => |s| Ok(TemplateVarSpec::Text(s.to_owned()))
);
