//! The v3 API's documented limits on request bodies, as one set of checks.
//!
//! Both sides use these: the simulator answers `400 invalid_parameter` with
//! the first violation, and reelflow's validator reports every violation of
//! every row before anything is sent. Sources are in v3-reference §3, §10
//! and §14. Limits the reference does not state are reelflow's own
//! assumptions, kept conservative: the title length, 0–1 for ElevenLabs'
//! and Fish's tuning values (their own APIs' ranges), a positive watermark
//! scale and watermark offsets within ±1 frame.
//!
//! The November 2026 schemas (v3-cli-specs-2026-11.json) win over the July
//! ones: `avatar_video` scene inputs are avatar objects only, `video` scenes
//! take an optional voiceover and `playback.mode`, and `eleven_v3` takes a
//! stability of 0, 0.5 or 1 only. That last rule comes from a newer HeyGen
//! page (v3-changes-2026-11.md); the schema's own description still says
//! any value in [0, 1], so reelflow keeps to the stricter reading.

use super::wire::{
    AspectRatio, AssetInput, Background, BackgroundType, CreateBatchRequest, CreateVideoRequest,
    ElevenLabsModel, Engine, EngineSettings, GenerateFromTemplate, OutputFormat, Resolution,
    SceneBackground, SceneInput, StudioScene, VoiceSettings, Watermark,
};

/// Longest script HeyGen accepts, in characters.
pub const SCRIPT_MAX_CHARS: usize = 5000;
/// Most scenes in a studio video.
pub const STUDIO_MAX_SCENES: usize = 50;
/// Longest silent image scene, seconds.
pub const IMAGE_SCENE_MAX_SECS: f64 = 300.0;
/// `voice_settings.speed` range.
pub const SPEED_RANGE: (f64, f64) = (0.5, 1.5);
/// `voice_settings.pitch` range (semitones).
pub const PITCH_RANGE: (f64, f64) = (-50.0, 50.0);
/// Longest title reelflow sends. HeyGen documents no limit; 255 is
/// reelflow's own guard against runaway templates.
pub const TITLE_MAX_CHARS: usize = 255;
/// Longest Cinematic Avatar prompt.
pub const PROMPT_MAX_CHARS: usize = 10_000;
/// Most video ids one `GET /v3/videos/statuses` call answers.
pub const STATUSES_MAX_IDS: usize = 100;

/// One broken rule: the field path (as HeyGen's `param`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted path, e.g. `scenes[2].input.voice_settings.speed`.
    pub param: String,
    /// What is wrong, in HeyGen's style.
    pub message: String,
}

struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, param: impl Into<String>, message: impl Into<String>) {
        self.out.push(Violation { param: param.into(), message: message.into() });
    }

    /// `param` is built only for a failure: checks run on every row.
    fn range(&mut self, param: impl FnOnce() -> String, value: Option<f64>, (lo, hi): (f64, f64)) {
        if let Some(v) = value
            && (!(lo..=hi).contains(&v) || v.is_nan())
        {
            self.fail(param(), format!("Input should be between {lo} and {hi}, got {v}."));
        }
    }

    fn title(&mut self, title: Option<&str>) {
        if let Some(t) = title
            && t.chars().count() > TITLE_MAX_CHARS
        {
            self.fail("title", format!("'title' must be at most {TITLE_MAX_CHARS} characters."));
        }
    }

    fn asset(&mut self, at: &str, asset: &AssetInput) {
        match asset {
            AssetInput::Url { url } if !is_https_url(url) => {
                self.fail(format!("{at}.url"), "URL must be a public https:// URL.")
            }
            AssetInput::AssetId { asset_id } if asset_id.trim().is_empty() => {
                self.fail(format!("{at}.asset_id"), "'asset_id' must not be empty.")
            }
            AssetInput::Base64 { media_type, data } => {
                if !media_type.contains('/') {
                    self.fail(format!("{at}.media_type"), "'media_type' must be a MIME type.");
                }
                if data.is_empty() {
                    self.fail(format!("{at}.data"), "'data' must not be empty.");
                }
            }
            _ => {}
        }
    }

    /// `at` builds the path of `voice_settings` when a check fails.
    fn voice_settings(&mut self, at: &dyn Fn() -> String, vs: &VoiceSettings) {
        self.range(|| format!("{}.speed", at()), vs.speed, SPEED_RANGE);
        self.range(|| format!("{}.pitch", at()), vs.pitch, PITCH_RANGE);
        self.range(|| format!("{}.volume", at()), vs.volume, (0.0, 1.0));
        let es = || format!("{}.engine_settings", at());
        match &vs.engine_settings {
            Some(EngineSettings::Elevenlabs {
                model, similarity_boost, stability, style, ..
            }) => {
                self.range(|| format!("{}.similarity_boost", es()), *similarity_boost, (0.0, 1.0));
                match (model, stability) {
                    (Some(ElevenLabsModel::ElevenV3), Some(v)) if ![0.0, 0.5, 1.0].contains(v) => {
                        self.fail(
                            format!("{}.stability", es()),
                            format!("For eleven_v3, stability must be 0, 0.5, or 1, got {v}."),
                        )
                    }
                    _ => self.range(|| format!("{}.stability", es()), *stability, (0.0, 1.0)),
                }
                self.range(|| format!("{}.style", es()), *style, (0.0, 1.0));
            }
            Some(EngineSettings::Fish { similarity, stability, .. }) => {
                self.range(|| format!("{}.similarity", es()), *similarity, (0.0, 1.0));
                self.range(|| format!("{}.stability", es()), *stability, (0.0, 1.0));
            }
            Some(EngineSettings::Starfish) | None => {}
        }
    }

    /// Exactly one audio source: script (+voice) or audio_url or audio_asset_id.
    fn speech(&mut self, at: &str, s: Speech<'_>) {
        let p = |f: &str| join(at, f);
        let sources = [s.script.is_some(), s.audio_url.is_some(), s.audio_asset_id.is_some()];
        match sources.iter().filter(|x| **x).count() {
            0 if s.required => self.fail(
                p("script"),
                "Exactly one audio source required: script, audio_url, or audio_asset_id.",
            ),
            0 | 1 => {}
            _ => self.fail(
                p(if s.script.is_some() { "script" } else { "audio_url" }),
                "script, audio_url and audio_asset_id are mutually exclusive; provide exactly one.",
            ),
        }
        if let Some(script) = s.script {
            let n = script.chars().count();
            if script.trim().is_empty() {
                self.fail(p("script"), "'script' must not be empty.");
            } else if n > SCRIPT_MAX_CHARS {
                self.fail(
                    p("script"),
                    format!("'script' must be at most {SCRIPT_MAX_CHARS} characters, got {n}."),
                );
            }
            if s.voice_id.is_none() && !s.has_default_voice {
                self.fail(p("voice_id"), "'voice_id' is required when 'script' is provided.");
            }
        }
        if let Some(url) = s.audio_url
            && !is_https_url(url)
        {
            self.fail(p("audio_url"), "'audio_url' must be a public https:// URL.");
        }
        if let Some(vs) = s.voice_settings {
            self.voice_settings(&|| p("voice_settings"), vs);
        }
    }

    fn background(&mut self, bg: &Background, output_format: Option<OutputFormat>) {
        if output_format == Some(OutputFormat::Webm) {
            self.fail(
                "background",
                "'background' cannot be used with output_format 'webm' (the background is removed automatically).",
            );
        }
        match bg.kind {
            BackgroundType::Color => {
                match bg.value.as_deref() {
                    None => {
                        self.fail("background.value", "'value' is required when type is 'color'.")
                    }
                    Some(v) if !is_hex_colour(v, true) => self.fail(
                        "background.value",
                        format!("'{v}' is not a hex colour such as '#0B1F3A'."),
                    ),
                    Some(_) => {}
                }
                if bg.url.is_some() || bg.asset_id.is_some() {
                    self.fail(
                        if bg.url.is_some() { "background.url" } else { "background.asset_id" },
                        "'url' and 'asset_id' are used only when type is 'image'.",
                    );
                }
            }
            BackgroundType::Image => {
                match (&bg.url, &bg.asset_id) {
                    (Some(_), Some(_)) => {
                        self.fail("background.url", "'url' and 'asset_id' are mutually exclusive.")
                    }
                    (None, None) => self
                        .fail("background.url", "An image background needs 'url' or 'asset_id'."),
                    (Some(url), None) if !is_https_url(url) => {
                        self.fail("background.url", "'url' must be a public https:// URL.")
                    }
                    _ => {}
                }
                if bg.value.is_some() {
                    self.fail("background.value", "'value' is used only when type is 'color'.");
                }
            }
        }
    }

    fn watermark(&mut self, wm: &Watermark) {
        self.asset("watermark.image", &wm.image);
        self.range(|| "watermark.opacity".into(), wm.opacity, (0.0, 1.0));
        if let Some(scale) = wm.scale
            && (scale <= 0.0 || scale.is_nan())
        {
            self.fail("watermark.scale", "'scale' must be greater than 0.");
        }
        if let Some(pl) = &wm.placement {
            self.range(|| "watermark.placement.offset_x".into(), pl.offset_x, (-1.0, 1.0));
            self.range(|| "watermark.placement.offset_y".into(), pl.offset_y, (-1.0, 1.0));
        }
    }

    fn engine_options(
        &mut self,
        at: &str,
        engine: Option<&Engine>,
        expressiveness: bool,
        motion_prompt: bool,
    ) {
        if let Some(Engine::AvatarV { reference_look_id: Some(r) }) = engine
            && r.trim().is_empty()
        {
            self.fail(
                join(at, "engine.reference_look_id"),
                "'reference_look_id' must not be empty; omit it to let HeyGen choose the reference.",
            );
        }
        match engine {
            Some(Engine::AvatarV { .. }) if expressiveness => self.fail(
                join(at, "expressiveness"),
                "'expressiveness' is rejected when engine.type is 'avatar_v' (Avatar IV only).",
            ),
            Some(Engine::AvatarIii) if expressiveness => self.fail(
                join(at, "expressiveness"),
                "'expressiveness' is rejected when engine.type is 'avatar_iii' (Avatar IV only).",
            ),
            Some(Engine::AvatarIii) if motion_prompt => self.fail(
                join(at, "motion_prompt"),
                "'motion_prompt' is not supported with engine 'avatar_iii'.",
            ),
            _ => {}
        }
    }
}

/// The audio-source fields every speaking input shares.
struct Speech<'a> {
    script: Option<&'a str>,
    voice_id: Option<&'a str>,
    audio_url: Option<&'a str>,
    audio_asset_id: Option<&'a str>,
    voice_settings: Option<&'a VoiceSettings>,
    /// An audio source is required (false for image scenes in silent mode).
    required: bool,
    /// An avatar look supplies a default voice when `voice_id` is omitted.
    has_default_voice: bool,
}

/// Every rule `POST /v3/videos` enforces on `req`, in field order.
pub fn check_create(req: &CreateVideoRequest) -> Vec<Violation> {
    let mut c = Checker { out: Vec::new() };
    c.title(req.title());
    match req {
        CreateVideoRequest::Avatar(v) => {
            if v.avatar_id.trim().is_empty() {
                c.fail("avatar_id", "'avatar_id' must not be empty.");
            }
            c.speech(
                "",
                Speech {
                    script: v.script.as_deref(),
                    voice_id: v.voice_id.as_deref(),
                    audio_url: v.audio_url.as_deref(),
                    audio_asset_id: v.audio_asset_id.as_deref(),
                    voice_settings: v.voice_settings.as_ref(),
                    required: true,
                    has_default_voice: true,
                },
            );
            if let Some(bg) = &v.background {
                c.background(bg, v.output_format);
            }
            if let Some(wm) = &v.watermark {
                c.watermark(wm);
            }
            c.engine_options(
                "",
                v.engine.as_ref(),
                v.expressiveness.is_some(),
                v.motion_prompt.is_some(),
            );
        }
        CreateVideoRequest::Image(v) => {
            c.asset("image", &v.image);
            c.speech(
                "",
                Speech {
                    script: v.script.as_deref(),
                    voice_id: v.voice_id.as_deref(),
                    audio_url: v.audio_url.as_deref(),
                    audio_asset_id: v.audio_asset_id.as_deref(),
                    voice_settings: v.voice_settings.as_ref(),
                    required: true,
                    has_default_voice: false,
                },
            );
            if let Some(bg) = &v.background {
                c.background(bg, v.output_format);
            }
            if let Some(wm) = &v.watermark {
                c.watermark(wm);
            }
        }
        CreateVideoRequest::CinematicAvatar(v) => {
            if v.prompt.trim().is_empty() || v.prompt.chars().count() > PROMPT_MAX_CHARS {
                c.fail("prompt", format!("'prompt' must be 1–{PROMPT_MAX_CHARS} characters."));
            }
            if !(1..=3).contains(&v.avatar_id.len()) {
                c.fail("avatar_id", "Provide 1 to 3 look ids in 'avatar_id'.");
            }
            if let Some(d) = v.duration {
                if !(4..=15).contains(&d) {
                    c.fail("duration", "'duration' must be between 4 and 15 seconds.");
                }
                if v.auto_duration == Some(true) {
                    c.fail("duration", "Omit 'duration' when 'auto_duration' is true.");
                }
            }
            if let Some(ar) = v.aspect_ratio
                && !matches!(
                    ar,
                    AspectRatio::Landscape | AspectRatio::Portrait | AspectRatio::Square
                )
            {
                c.fail(
                    "aspect_ratio",
                    "Cinematic Avatar supports aspect_ratio '16:9', '9:16' or '1:1'.",
                );
            }
            if v.resolution == Some(Resolution::FourK) {
                c.fail("resolution", "Cinematic Avatar supports resolution '720p' or '1080p'.");
            }
            for (i, r) in v.references.iter().flatten().enumerate() {
                c.asset(&format!("references[{i}]"), r);
            }
        }
        CreateVideoRequest::Studio(v) => {
            let n = v.scenes.len();
            if n == 0 || n > STUDIO_MAX_SCENES {
                c.fail("scenes", format!("Must contain 1 to {STUDIO_MAX_SCENES} scenes, got {n}."));
            }
            for (i, scene) in v.scenes.iter().enumerate() {
                check_scene(&mut c, &format!("scenes[{i}]"), scene);
            }
            if let Some(wm) = &v.watermark {
                c.watermark(wm);
            }
        }
    }
    c.out
}

fn check_scene(c: &mut Checker, at: &str, scene: &StudioScene) {
    match scene {
        StudioScene::AvatarVideo { input } => {
            let at = format!("{at}.input");
            match input {
                SceneInput::Avatar(a) => {
                    if a.avatar_id.trim().is_empty() {
                        c.fail(join(&at, "avatar_id"), "'avatar_id' must not be empty.");
                    }
                    c.speech(
                        &at,
                        Speech {
                            script: a.script.as_deref(),
                            voice_id: a.voice_id.as_deref(),
                            audio_url: a.audio_url.as_deref(),
                            audio_asset_id: a.audio_asset_id.as_deref(),
                            voice_settings: a.voice_settings.as_ref(),
                            required: true,
                            has_default_voice: true,
                        },
                    );
                    if let Some(SceneBackground::Color { color }) = &a.background
                        && !is_hex_colour(color, false)
                    {
                        c.fail(
                            join(&at, "background.color"),
                            format!("'{color}' is not a 6-digit hex colour such as '#1a2b3c'."),
                        );
                    }
                    c.engine_options(
                        &at,
                        a.engine.as_ref(),
                        a.expressiveness.is_some(),
                        a.motion_prompt.is_some(),
                    );
                }
            }
        }
        StudioScene::Image {
            source,
            duration,
            script,
            voice_id,
            voice_settings,
            audio_url,
            audio_asset_id,
        } => {
            c.asset(&join(at, "source"), source);
            let narrated = script.is_some() || audio_url.is_some() || audio_asset_id.is_some();
            match duration {
                Some(_) if narrated => c.fail(
                    join(at, "duration"),
                    "An image scene is either silent ('duration') or narrated (script, audio_url or audio_asset_id), not both.",
                ),
                Some(d) if !(*d > 0.0 && *d <= IMAGE_SCENE_MAX_SECS) => c.fail(
                    join(at, "duration"),
                    format!("'duration' must be > 0 and <= {IMAGE_SCENE_MAX_SECS}, got {d}."),
                ),
                None if !narrated => c.fail(
                    join(at, "duration"),
                    "An image scene needs 'duration' (silent) or a script or audio (narrated).",
                ),
                _ => {}
            }
            c.speech(
                at,
                Speech {
                    script: script.as_deref(),
                    voice_id: voice_id.as_deref(),
                    audio_url: audio_url.as_deref(),
                    audio_asset_id: audio_asset_id.as_deref(),
                    voice_settings: voice_settings.as_ref(),
                    required: false,
                    has_default_voice: false,
                },
            );
        }
        StudioScene::Video {
            source,
            playback,
            script,
            voice_id,
            voice_settings,
            audio_url,
            audio_asset_id,
        } => {
            c.asset(&join(at, "source"), source);
            let narrated = script.is_some() || audio_url.is_some() || audio_asset_id.is_some();
            if let Some(pb) = playback {
                c.range(|| join(at, "playback.volume"), pb.volume, (0.0, 1.0));
                if pb.mode.is_some() && !narrated {
                    c.fail(
                        join(at, "playback.mode"),
                        "'playback.mode' requires a video-scene voiceover (script, audio_url or audio_asset_id).",
                    );
                }
            }
            if voice_settings.is_some() && script.is_none() {
                c.fail(
                    join(at, "voice_settings"),
                    "'voice_settings' tunes a script voiceover; set 'script' and 'voice_id'.",
                );
            }
            c.speech(
                at,
                Speech {
                    script: script.as_deref(),
                    voice_id: voice_id.as_deref(),
                    audio_url: audio_url.as_deref(),
                    audio_asset_id: audio_asset_id.as_deref(),
                    voice_settings: voice_settings.as_ref(),
                    required: false,
                    has_default_voice: false,
                },
            );
        }
    }
}

/// Every rule `POST /v3/videos/batches` enforces: each item's, under
/// `videos[i]`, and no per-item `folder_id` (a batch takes one folder).
pub fn check_batch(req: &CreateBatchRequest) -> Vec<Violation> {
    let mut out = Vec::new();
    if req.videos.is_empty() || req.videos.len() > 100 {
        out.push(Violation {
            param: "videos".into(),
            message: format!("Must contain 1 to 100 videos, got {}.", req.videos.len()),
        });
    }
    for (i, v) in req.videos.iter().enumerate() {
        let folder = match v {
            CreateVideoRequest::Avatar(a) => a.folder_id.is_some(),
            CreateVideoRequest::Image(a) => a.folder_id.is_some(),
            CreateVideoRequest::CinematicAvatar(a) => a.folder_id.is_some(),
            CreateVideoRequest::Studio(a) => a.folder_id.is_some(),
        };
        if folder {
            out.push(Violation {
                param: format!("videos[{i}].folder_id"),
                message: "Extra inputs are not permitted: batch items cannot carry 'folder_id'; set 'folder_id' once on the batch.".into(),
            });
        }
        out.extend(check_create(v).into_iter().map(|x| Violation {
            param: if x.param.is_empty() {
                format!("videos[{i}]")
            } else {
                format!("videos[{i}].{}", x.param)
            },
            message: x.message,
        }));
    }
    out
}

/// Every rule `POST /v3/templates/{id}` enforces on `req`.
pub fn check_generate(req: &GenerateFromTemplate) -> Vec<Violation> {
    let mut c = Checker { out: Vec::new() };
    c.title(req.title.as_deref());
    if req.variables.is_empty() {
        c.fail("variables", "'variables' must name at least one template variable.");
    }
    if let Some(d) = req.dimension {
        for (name, v) in [("width", d.width), ("height", d.height)] {
            if !(128..=4096).contains(&v) || v % 2 != 0 {
                c.fail(
                    format!("dimension.{name}"),
                    format!("'{name}' must be an even number between 128 and 4096, got {v}."),
                );
            }
        }
    }
    if let Some(fps) = req.fps
        && ![25, 30, 60].contains(&fps)
    {
        c.fail("fps", format!("'fps' must be 25, 30 or 60, got {fps}."));
    }
    if let Some(ids) = &req.scene_ids
        && ids.is_empty()
    {
        c.fail("scene_ids", "'scene_ids' must not be empty when given.");
    }
    for (name, var) in &req.variables {
        let at = format!("variables.{name}");
        match var {
            super::wire::TemplateVariable::Image { asset, .. }
            | super::wire::TemplateVariable::Audio { asset } => {
                c.asset(&format!("{at}.asset"), asset)
            }
            super::wire::TemplateVariable::Video { asset, volume, .. } => {
                c.asset(&format!("{at}.asset"), asset);
                c.range(|| format!("{at}.volume"), *volume, (0.0, 1.0));
            }
            _ => {}
        }
    }
    c.out
}

/// `#RRGGBB` (and `#RGB` where `allow_short`).
pub fn is_hex_colour(s: &str, allow_short: bool) -> bool {
    let Some(hex) = s.strip_prefix('#') else { return false };
    (hex.len() == 6 || (allow_short && hex.len() == 3))
        && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A syntactically plausible absolute https URL. HeyGen fetches inputs
/// from "publicly accessible HTTPS" URLs (v3-reference §3.5).
pub fn is_https_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://");
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// `Idempotency-Key` syntax: 1–255 of `[A-Za-z0-9_\-:.]`.
pub fn is_valid_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b))
}

fn join(at: &str, field: &str) -> String {
    if at.is_empty() { field.to_owned() } else { format!("{at}.{field}") }
}

/// What a request refers to in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// An avatar look, with the engine it will render on.
    Look {
        /// Engine name (`avatar_iv` when the request names none); `None`
        /// where no engine applies (template characters).
        engine: Option<&'static str>,
        /// A motion prompt is set.
        motion_prompt: bool,
    },
    /// A voice.
    Voice,
}

/// One catalog id a request uses, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    /// Path of the id field, e.g. `scenes[0].input.avatar_id`.
    pub param: String,
    /// The id.
    pub id: &'a str,
    /// Look or voice.
    pub kind: RefKind,
}

/// Every look and voice id `req` uses, in field order.
pub fn references(req: &CreateVideoRequest) -> Vec<Reference<'_>> {
    fn engine(e: Option<&Engine>) -> Option<&'static str> {
        Some(e.map(Engine::name).unwrap_or("avatar_iv"))
    }
    fn look<'a>(
        out: &mut Vec<Reference<'a>>,
        at: &str,
        id: &'a str,
        engine: Option<&'static str>,
        motion_prompt: bool,
    ) {
        out.push(Reference {
            param: join(at, "avatar_id"),
            id,
            kind: RefKind::Look { engine, motion_prompt },
        });
    }
    fn voice<'a>(out: &mut Vec<Reference<'a>>, at: &str, id: Option<&'a str>) {
        if let Some(id) = id {
            out.push(Reference { param: join(at, "voice_id"), id, kind: RefKind::Voice });
        }
    }
    let mut out = Vec::new();
    match req {
        CreateVideoRequest::Avatar(v) => {
            look(&mut out, "", &v.avatar_id, engine(v.engine.as_ref()), v.motion_prompt.is_some());
            voice(&mut out, "", v.voice_id.as_deref());
        }
        CreateVideoRequest::Image(v) => voice(&mut out, "", v.voice_id.as_deref()),
        CreateVideoRequest::CinematicAvatar(v) => {
            for (i, id) in v.avatar_id.iter().enumerate() {
                out.push(Reference {
                    param: format!("avatar_id[{i}]"),
                    id,
                    kind: RefKind::Look { engine: None, motion_prompt: false },
                });
            }
        }
        CreateVideoRequest::Studio(v) => {
            for (i, scene) in v.scenes.iter().enumerate() {
                let at = format!("scenes[{i}]");
                match scene {
                    StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => {
                        let at = format!("{at}.input");
                        look(
                            &mut out,
                            &at,
                            &a.avatar_id,
                            engine(a.engine.as_ref()),
                            a.motion_prompt.is_some(),
                        );
                        voice(&mut out, &at, a.voice_id.as_deref());
                    }
                    StudioScene::Image { voice_id, .. } | StudioScene::Video { voice_id, .. } => {
                        voice(&mut out, &at, voice_id.as_deref())
                    }
                }
            }
        }
    }
    out
}

/// Why `look` cannot render on `engine` at `resolution`, if it cannot.
pub fn look_problem(
    look: &super::wire::AvatarLook,
    engine: Option<&str>,
    motion_prompt: bool,
    resolution: Resolution,
) -> Option<String> {
    use super::wire::{ApiEngine, AvatarType};
    if !look.is_usable() {
        return Some(format!(
            "Avatar look '{}' is not ready (status: {}).",
            look.id,
            look.status.as_deref().unwrap_or("unknown")
        ));
    }
    let engine = engine?;
    let wanted = ApiEngine::parse(engine);
    if !look.engines().is_empty() && !look.supports(&wanted) {
        let names: Vec<String> = look.engines().iter().map(|e| e.as_str().to_owned()).collect();
        return Some(format!(
            "Avatar look '{}' does not support engine '{engine}'. Supported engines: {}.",
            look.id,
            names.join(", ")
        ));
    }
    let photo = look.avatar_type == AvatarType::PhotoAvatar;
    if motion_prompt && !photo && wanted == ApiEngine::AvatarIv {
        return Some(
            "'motion_prompt' is supported for video avatars only with engine 'avatar_v'.".into(),
        );
    }
    if photo && wanted == ApiEngine::AvatarIii && resolution == Resolution::FourK {
        return Some("Photo avatars on engine 'avatar_iii' cannot render in 4k.".into());
    }
    None
}

/// Every look and voice id a template render uses (character and voice
/// variables).
pub fn template_references(req: &GenerateFromTemplate) -> Vec<Reference<'_>> {
    use super::wire::{CharacterType, TemplateVariable};
    let mut out = Vec::new();
    for (name, var) in &req.variables {
        match var {
            TemplateVariable::Character { character_id, character_type: CharacterType::Avatar } => {
                out.push(Reference {
                    param: format!("variables.{name}.character_id"),
                    id: character_id,
                    kind: RefKind::Look { engine: None, motion_prompt: false },
                })
            }
            TemplateVariable::Voice { voice_id, .. } => out.push(Reference {
                param: format!("variables.{name}.voice_id"),
                id: voice_id,
                kind: RefKind::Voice,
            }),
            _ => {}
        }
    }
    out
}

/// Every avatar speaker of a request: (path prefix, look id, engine,
/// motion prompt set).
fn speakers(req: &CreateVideoRequest) -> Vec<(String, &str, Option<&Engine>, bool)> {
    match req {
        CreateVideoRequest::Avatar(v) => {
            vec![(
                String::new(),
                v.avatar_id.as_str(),
                v.engine.as_ref(),
                v.motion_prompt.is_some(),
            )]
        }
        CreateVideoRequest::Studio(v) => v
            .scenes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => Some((
                    format!("scenes[{i}].input"),
                    a.avatar_id.as_str(),
                    a.engine.as_ref(),
                    a.motion_prompt.is_some(),
                )),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The Avatar V rules that need the catalog (November 2026 schemas):
/// `engine.reference_look_id` must be a `digital_twin` look in the same
/// avatar group as `avatar_id`; a photo avatar on `avatar_v` whose group
/// has no animation reference (no digital twin or studio look) takes no
/// `motion_prompt`. `look` finds a look by id; `group_looks` lists a
/// group's looks.
pub fn avatar_v_problems<'l>(
    req: &CreateVideoRequest,
    look: &dyn Fn(&str) -> Option<&'l super::wire::AvatarLook>,
    group_looks: &dyn Fn(&str) -> Vec<&'l super::wire::AvatarLook>,
) -> Vec<Violation> {
    use super::wire::AvatarType;
    let mut out = Vec::new();
    for (at, avatar_id, engine, motion_prompt) in speakers(req) {
        let Some(Engine::AvatarV { reference_look_id }) = engine else { continue };
        let Some(subject) = look(avatar_id) else { continue };
        if let Some(rid) = reference_look_id.as_deref().filter(|r| !r.trim().is_empty()) {
            let param = join(&at, "engine.reference_look_id");
            match look(rid) {
                None => out.push(Violation {
                    param,
                    message: format!("Reference look '{rid}' not found."),
                }),
                Some(r) if r.avatar_type != AvatarType::DigitalTwin => out.push(Violation {
                    param,
                    message: format!(
                        "'reference_look_id' must be a digital_twin look; '{rid}' is a {} look.",
                        r.avatar_type.as_str()
                    ),
                }),
                Some(r) if r.group_id.is_none() || r.group_id != subject.group_id => {
                    out.push(Violation {
                        param,
                        message: format!(
                            "'reference_look_id' must be in the same avatar group as 'avatar_id' ('{}'); '{rid}' is not.",
                            subject.group_id.as_deref().unwrap_or("none")
                        ),
                    })
                }
                Some(_) => {}
            }
        } else if motion_prompt && subject.avatar_type == AvatarType::PhotoAvatar {
            let has_reference = subject.group_id.as_deref().is_some_and(|g| {
                group_looks(g).iter().any(|l| {
                    matches!(l.avatar_type, AvatarType::DigitalTwin | AvatarType::StudioAvatar)
                })
            });
            if !has_reference {
                out.push(Violation {
                    param: join(&at, "motion_prompt"),
                    message: "'motion_prompt' is rejected for a photo avatar on 'avatar_v' when its group has no animation reference (no digital twin or studio look).".into(),
                });
            }
        }
    }
    out
}
