//! The seed's v2-style create body and its mapping onto v3
//! (v3-reference §3.6).

use serde::{Deserialize, Serialize};

use super::IntegrationError;
use crate::heygen::wire::{
    AspectRatio, AvatarSceneInput, AvatarVideo, Background, BackgroundType, CreateVideoRequest,
    Resolution, SceneBackground, SceneInput, StudioScene, StudioVideo, VoiceSettings,
};

/// `{video_inputs, dimension, test}` as the seed documents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCreate {
    /// One entry per scene.
    pub video_inputs: Vec<SeedInput>,
    /// `{width, height}`; 1920×1080 when omitted.
    #[serde(default)]
    pub dimension: Option<SeedDimension>,
    /// Test mode: v3 has none, so this validates without creating.
    #[serde(default)]
    pub test: Option<bool>,
    /// Video title (v2 had it; v3 keeps it).
    #[serde(default)]
    pub title: Option<String>,
}

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDimension {
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

/// One scene of the seed body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInput {
    /// Who speaks.
    pub character: SeedCharacter,
    /// What they say (seed form).
    #[serde(default)]
    pub script: Option<String>,
    /// v2 form of the speech: `{type: "text", input_text, voice_id, speed, pitch}`.
    #[serde(default)]
    pub voice: Option<SeedVoice>,
    /// Voice tuning.
    #[serde(default)]
    pub voice_settings: Option<SeedVoiceSettings>,
    /// Background.
    #[serde(default)]
    pub background: Option<SeedBackground>,
}

/// The speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCharacter {
    /// `avatar` or `talking_photo` (v2).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Avatar id (a v3 look id).
    #[serde(default)]
    pub avatar_id: Option<String>,
    /// v2 talking photo id (a v3 photo-avatar look id).
    #[serde(default)]
    pub talking_photo_id: Option<String>,
    /// Voice id.
    #[serde(default)]
    pub voice_id: Option<String>,
    /// v2 avatar style; v3 looks carry their own framing.
    #[serde(default)]
    pub avatar_style: Option<String>,
}

/// v2 `voice` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVoice {
    /// `text` or `audio`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Script.
    #[serde(default)]
    pub input_text: Option<String>,
    /// Voice id.
    #[serde(default)]
    pub voice_id: Option<String>,
    /// Speed.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Pitch.
    #[serde(default)]
    pub pitch: Option<f64>,
    /// Audio URL (type audio).
    #[serde(default)]
    pub audio_url: Option<String>,
}

/// Seed voice settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVoiceSettings {
    /// Speed, 0.5–1.5.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Pitch.
    #[serde(default)]
    pub pitch: Option<f64>,
    /// Volume.
    #[serde(default)]
    pub volume: Option<f64>,
    /// ElevenLabs-style stability; v3 takes it only inside engine settings.
    #[serde(default)]
    pub stability: Option<f64>,
}

/// Seed background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBackground {
    /// `color` or `image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Colour.
    #[serde(default)]
    pub value: Option<String>,
    /// Image URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// Maps a pixel size onto v3's resolution tier and aspect ratio. The
/// second value says what was approximated, if anything.
pub fn dimension_to_v3(
    width: u32,
    height: u32,
) -> Result<(Resolution, AspectRatio, Option<String>), IntegrationError> {
    if width == 0 || height == 0 {
        return Err(IntegrationError::param("dimension", "width and height must be positive"));
    }
    let g = gcd(width, height);
    let aspect = match (width / g, height / g) {
        (16, 9) => AspectRatio::Landscape,
        (9, 16) => AspectRatio::Portrait,
        (1, 1) => AspectRatio::Square,
        (4, 5) => AspectRatio::FourFive,
        (5, 4) => AspectRatio::FiveFour,
        (w, h) => {
            return Err(IntegrationError::param(
                "dimension",
                format!(
                    "{width}x{height} ({w}:{h}) has no v3 aspect ratio; v3 renders 16:9, 9:16, 1:1, 4:5 or 5:4"
                ),
            ));
        }
    };
    let short = width.min(height);
    let resolution = if short >= 2160 {
        Resolution::FourK
    } else if short >= 1080 {
        Resolution::P1080
    } else {
        Resolution::P720
    };
    let exact = matches!(short, 720 | 1080 | 2160);
    let note = (!exact).then(|| {
        format!(
            "dimension {width}x{height} renders at {} {} (v3 has fixed resolution tiers)",
            resolution.as_str(),
            aspect.as_str()
        )
    });
    Ok((resolution, aspect, note))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// One scene's parts, normalised from either seed form.
struct Scene {
    look: String,
    voice_id: Option<String>,
    script: Option<String>,
    audio_url: Option<String>,
    settings: Option<VoiceSettings>,
    background: Option<SeedBackground>,
}

impl SeedCreate {
    /// The v3 body and notes on what had no exact equivalent.
    pub fn to_v3(&self) -> Result<(CreateVideoRequest, Vec<String>), IntegrationError> {
        let mut notes = Vec::new();
        if self.video_inputs.is_empty() {
            return Err(IntegrationError::param("video_inputs", "needs at least one scene"));
        }
        let (resolution, aspect, note) = match self.dimension {
            Some(d) => dimension_to_v3(d.width, d.height)?,
            None => (Resolution::P1080, AspectRatio::Landscape, None),
        };
        notes.extend(note);
        let mut scenes = Vec::new();
        for (i, input) in self.video_inputs.iter().enumerate() {
            scenes.push(scene(i, input, &mut notes)?);
        }
        if self.test == Some(true) {
            notes.push(
                "test mode: v3 has no test videos, so the request was validated and not created"
                    .into(),
            );
        }
        let request = if scenes.len() == 1 {
            let s = scenes.remove(0);
            let background = s.background.map(|b| Background {
                kind: if b.kind == "image" { BackgroundType::Image } else { BackgroundType::Color },
                value: b.value,
                url: b.url,
                asset_id: None,
            });
            CreateVideoRequest::Avatar(AvatarVideo {
                avatar_id: s.look,
                script: s.script,
                voice_id: s.voice_id,
                audio_url: s.audio_url,
                voice_settings: s.settings,
                title: self.title.clone(),
                resolution: Some(resolution),
                aspect_ratio: Some(aspect),
                background,
                ..Default::default()
            })
        } else {
            let mut studio = Vec::new();
            for (i, s) in scenes.into_iter().enumerate() {
                let background = match s.background {
                    None => None,
                    Some(b) if b.kind == "color" => {
                        b.value.map(|color| SceneBackground::Color { color })
                    }
                    Some(_) => {
                        notes.push(format!("video_inputs[{i}].background: studio scenes take colour backgrounds only; image background dropped"));
                        None
                    }
                };
                studio.push(StudioScene::AvatarVideo {
                    input: SceneInput::Avatar(AvatarSceneInput {
                        avatar_id: s.look,
                        script: s.script,
                        voice_id: s.voice_id,
                        audio_url: s.audio_url,
                        voice_settings: s.settings,
                        background,
                        ..Default::default()
                    }),
                });
            }
            CreateVideoRequest::Studio(StudioVideo {
                scenes: studio,
                title: self.title.clone(),
                aspect_ratio: Some(aspect),
                resolution: Some(resolution),
                caption: None,
                callback_url: None,
                callback_id: None,
                watermark: None,
                brand_glossary_id: None,
                folder_id: None,
            })
        };
        Ok((request, notes))
    }
}

fn scene(i: usize, input: &SeedInput, notes: &mut Vec<String>) -> Result<Scene, IntegrationError> {
    let at = format!("video_inputs[{i}]");
    let c = &input.character;
    let look = c.avatar_id.clone().or_else(|| c.talking_photo_id.clone()).ok_or_else(|| {
        IntegrationError::param(format!("{at}.character.avatar_id"), "is required")
    })?;
    if c.avatar_style.is_some() {
        notes.push(format!(
            "{at}.character.avatar_style: v3 looks carry their own framing; ignored"
        ));
    }
    let voice = input.voice.as_ref();
    let script = input.script.clone().or_else(|| voice.and_then(|v| v.input_text.clone()));
    let voice_id = c.voice_id.clone().or_else(|| voice.and_then(|v| v.voice_id.clone()));
    let audio_url = voice.and_then(|v| v.audio_url.clone());
    let vs = input.voice_settings.as_ref();
    let speed = vs.and_then(|s| s.speed).or_else(|| voice.and_then(|v| v.speed));
    let pitch = vs.and_then(|s| s.pitch).or_else(|| voice.and_then(|v| v.pitch));
    let volume = vs.and_then(|s| s.volume);
    if vs.and_then(|s| s.stability).is_some() {
        notes.push(format!(
            "{at}.voice_settings.stability: v3 takes stability only in engine-specific settings of an ElevenLabs or Fish voice; ignored"
        ));
    }
    let settings = (speed.is_some() || pitch.is_some() || volume.is_some())
        .then(|| VoiceSettings { speed, pitch, volume, ..Default::default() });
    Ok(Scene { look, voice_id, script, audio_url, settings, background: input.background.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_map_to_tiers_and_ratios() {
        assert_eq!(
            dimension_to_v3(1920, 1080).unwrap(),
            (Resolution::P1080, AspectRatio::Landscape, None)
        );
        assert_eq!(dimension_to_v3(720, 1280).unwrap().0, Resolution::P720);
        assert_eq!(dimension_to_v3(2160, 3840).unwrap().1, AspectRatio::Portrait);
        assert!(dimension_to_v3(1000, 1000).unwrap().2.is_some());
        assert!(dimension_to_v3(1000, 700).is_err());
    }
}
