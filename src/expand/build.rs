//! Step 3, building: one row rendered into the typed v3 request.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use minijinja::value::Value;

use super::compile::{At, Compiled};
use super::diagnose::template_error;
use super::env::RowCtx;
use super::job::{Job, JobRequest};
use crate::assets::{LocalFile, MediaKind};
use crate::dataset::Row;
use crate::diag::{Diagnostic, RowRef};
use crate::heygen::wire::{
    AssetInput, AvatarSceneInput, AvatarVideo, Background, BackgroundType, Caption, CharacterType,
    CreateVideoRequest, Engine, GenerateFromTemplate, ImageVideo, SceneBackground, SceneInput,
    StudioScene, StudioVideo, TemplateVariable, VoiceSettings,
};
use crate::manifest::load::is_studio;
use crate::manifest::model::{
    AssetObject, AssetSpec, CaptionSpec, EngineName, EngineSpec, Num, SceneSpec, TemplateVarSpec,
    VarKind,
};

impl Compiled {
    fn render_field(&self, i: usize, ctx: &Value, row: &RowRef) -> Result<String, Diagnostic> {
        let f = &self.fields[i];
        if !f.templated {
            return Ok(f.source.clone());
        }
        if let (Some(fast), Some(row_ctx)) = (&f.fast, ctx.downcast_object_ref::<RowCtx>()) {
            let out = fast.render(&row_ctx.values, row.key.as_deref());
            // The fast path must agree with the engine byte for byte: every
            // test run checks it on every row it renders.
            #[cfg(debug_assertions)]
            if let Ok(engine) = self.render_engine(f, ctx, row) {
                assert_eq!(out, engine, "fast render of {} disagrees with minijinja", f.path);
            }
            return Ok(out);
        }
        self.render_engine(f, ctx, row)
    }

    /// Whether the row passes `data.where` (field `i`).
    fn passes(&self, i: usize, ctx: &Value, row: &RowRef) -> Result<bool, Diagnostic> {
        if let (Some(fast), Some(row_ctx)) =
            (&self.fields[i].fast, ctx.downcast_object_ref::<RowCtx>())
            && let Some(pass) = fast.test(&row_ctx.values)
        {
            // Debug builds also render it (and so compare with the engine).
            #[cfg(debug_assertions)]
            assert_eq!(Some(pass), self.render_field(i, ctx, row).ok().map(|s| s == "true"));
            return Ok(pass);
        }
        Ok(self.render_field(i, ctx, row)? == "true")
    }

    fn render_engine(
        &self,
        f: &super::compile::Field,
        ctx: &Value,
        row: &RowRef,
    ) -> Result<String, Diagnostic> {
        let tmpl = self
            .env
            .get_template(&f.path)
            .map_err(|e| template_error(&self.manifest, f, &e, Some(row)))?;
        tmpl.render(ctx).map_err(|e| template_error(&self.manifest, f, &e, Some(row)))
    }

    /// Renders one row into a job; `Ok(None)` when `data.where` skips it.
    /// Every problem of the row is reported at once.
    pub fn render(&self, row: Row) -> Result<Option<Job>, Vec<Diagnostic>> {
        let line = row.line;
        let mut row_ref = RowRef { line, key: None };
        let mut ctx = Arc::new(RowCtx {
            header: self.header.clone(),
            values: row.values,
            vars: self.vars.clone(),
            key: None,
        });
        let key_idx = self.index["data.key"];
        let key = self
            .render_field(key_idx, &Value::from_dyn_object(ctx.clone()), &row_ref)
            .map_err(|d| vec![d])?;
        if key.trim().is_empty() {
            return Err(vec![
                self.row_error("data.key", "the row key rendered empty", &row_ref)
                    .hint("every row needs a non-empty key: check the key column for blank cells"),
            ]);
        }
        // Only the template engine reads `key` from the context (fast
        // renders take it from the row reference); debug builds run the
        // engine beside every fast render.
        if self.engine_renders || cfg!(debug_assertions) {
            match Arc::get_mut(&mut ctx) {
                Some(ctx_mut) => ctx_mut.key = Some(key.clone()),
                // A template kept a reference to the context; copy it once.
                None => {
                    let values = ctx.values.clone();
                    ctx = Arc::new(RowCtx {
                        header: self.header.clone(),
                        values,
                        vars: self.vars.clone(),
                        key: Some(key.clone()),
                    });
                }
            }
        }
        row_ref.key = Some(key);
        let ctx_value = Value::from_dyn_object(ctx);
        if let Some(fi) = self.filter
            && !self.passes(fi, &ctx_value, &row_ref).map_err(|d| vec![d])?
        {
            return Ok(None);
        }
        let mut rendered: Vec<Option<String>> = vec![None; self.fields.len()];
        let mut problems = Vec::new();
        for (i, f) in self.fields.iter().enumerate() {
            // Plain fields are read from the manifest by the builder.
            if !f.templated || i == key_idx || Some(i) == self.filter {
                continue;
            }
            match self.render_field(i, &ctx_value, &row_ref) {
                Ok(s) => rendered[i] = Some(s),
                Err(d) => problems.push(d),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut b = Builder {
            c: self,
            rendered,
            #[cfg(debug_assertions)]
            taken: vec![false; self.fields.len()],
            row: &row_ref,
            problems: Vec::new(),
            uploads: Vec::new(),
        };
        let request = match (&self.manifest.manifest.video, &self.manifest.manifest.template) {
            (Some(_), _) => b.video().map(|v| JobRequest::Video(Box::new(v))),
            (None, Some(_)) => b.template(),
            (None, None) => None,
        };
        let download = b.download();
        if !b.problems.is_empty() {
            return Err(b.problems);
        }
        let request = request.expect("a request exists when the builder reported no problem");
        // Every field the builder put in the request must have recorded
        // provenance, or a rule's problem with it would point nowhere:
        // every test run checks it on every job it builds.
        #[cfg(debug_assertions)]
        {
            let mut paths = Vec::new();
            super::provenance::body_paths("", &request.body_json(), &mut paths);
            for wire in paths {
                assert!(
                    self.provenance().lookup(&wire).is_some(),
                    "request field `{wire}` has no recorded provenance"
                );
            }
        }
        let uploads = b.uploads;
        let key = row_ref.key.unwrap_or_default();
        Ok(Some(Job { key, line, request, download, uploads, digest: None }))
    }

    pub(super) fn row_error(
        &self,
        field: &str,
        message: impl Into<String>,
        row: &RowRef,
    ) -> Diagnostic {
        self.manifest.error_at(field, message).row(row.clone())
    }
}

/// Builds the typed request from rendered fields.
struct Builder<'a> {
    c: &'a Compiled,
    /// Rendered fields, moved into the request as it is built.
    rendered: Vec<Option<String>>,
    /// Which fields were moved out: each is read once per row.
    #[cfg(debug_assertions)]
    taken: Vec<bool>,
    row: &'a RowRef,
    problems: Vec<Diagnostic>,
    uploads: Vec<Arc<LocalFile>>,
}

impl Builder<'_> {
    /// The rendered text of a field; empty renders count as absent.
    /// Each field is read once per row: its rendered text moves into the
    /// request instead of being copied.
    fn text<'p>(&mut self, at: impl Into<At<'p>>) -> Option<String> {
        let i = self.c.lookup(at.into())?;
        let f = &self.c.fields[i];
        #[cfg(debug_assertions)]
        {
            assert!(!self.taken[i], "field {} read twice", f.path);
            self.taken[i] = true;
        }
        let s = if f.templated { self.rendered[i].take()? } else { f.source.clone() };
        if s.trim().is_empty() { None } else { Some(s) }
    }

    fn required<'p>(&mut self, at: impl Into<At<'p>>, what: &str) -> String {
        let at = at.into();
        match self.text(at) {
            Some(s) => s,
            None => {
                let d = self.c.row_error(&at.path(), format!("{what} rendered empty"), self.row);
                self.problems.push(
                    d.hint("check the CSV cell this field uses, or give it a `default` filter"),
                );
                String::new()
            }
        }
    }

    fn number(&mut self, at: At<'_>, n: Option<&Num>) -> Option<f64> {
        match n? {
            Num::Value(v) => Some(*v),
            Num::Template(_) => {
                let s = self.text(at)?;
                match s.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => Some(v),
                    _ => {
                        let d = self.c.row_error(
                            &at.path(),
                            format!("{s:?} is not a number"),
                            self.row,
                        );
                        self.problems.push(d);
                        None
                    }
                }
            }
        }
    }

    /// A local file named in `field`: checked, remembered for upload, and
    /// stood in for by its placeholder asset id.
    fn local_file(&mut self, field: &str, file: &str, kind: MediaKind) -> Option<String> {
        match self.c.files.check(&self.c.manifest.dir, file.trim(), kind) {
            Ok(f) => {
                let id = f.placeholder();
                if !self.uploads.iter().any(|u| u.hash == f.hash) {
                    self.uploads.push(f);
                }
                Some(id)
            }
            Err(p) => {
                let d = self.c.row_error(field, p.message, self.row).hint(p.hint);
                self.problems.push(d);
                None
            }
        }
    }

    /// A media URL or local file as an asset input.
    fn url_or_file(&mut self, field: &str, value: String, kind: MediaKind) -> Option<AssetInput> {
        if crate::assets::is_local(&value) {
            let asset_id = self.local_file(field, &value, kind)?;
            Some(AssetInput::AssetId { asset_id })
        } else {
            Some(AssetInput::Url { url: value })
        }
    }

    /// An audio URL or local file: `(audio_url, audio_asset_id)`.
    fn audio(&mut self, i: usize) -> (Option<String>, Option<String>) {
        let field = At::Scene(i, "audio_url");
        let url = self.text(field);
        let asset = self.text(At::Scene(i, "audio_asset_id"));
        match url {
            Some(u) if crate::assets::is_local(&u) => {
                let id = self.local_file(&field.path(), &u, MediaKind::Audio);
                // A bad file is reported; keep a source so rules do not
                // add a second, misleading "no audio" error.
                match id {
                    Some(id) => (None, Some(id)),
                    None => (None, asset.or(Some(String::from("-")))),
                }
            }
            url => (url, asset),
        }
    }

    fn asset(&mut self, path: &str, a: Option<&AssetSpec>, kind: MediaKind) -> Option<AssetInput> {
        match a? {
            AssetSpec::Url(_) => {
                let value = self.required(path, "the URL or file");
                if value.is_empty() {
                    return None;
                }
                self.url_or_file(path, value, kind)
            }
            AssetSpec::Object(AssetObject { .. }) => {
                let url = self.text(&format!("{path}.url"));
                let id = self.text(&format!("{path}.asset_id"));
                match (url, id) {
                    (Some(url), None) => self.url_or_file(&format!("{path}.url"), url, kind),
                    (None, Some(asset_id)) => Some(AssetInput::AssetId { asset_id }),
                    (u, _) => {
                        let msg = if u.is_some() {
                            "set `url` or `asset_id`, not both"
                        } else {
                            "neither `url` nor `asset_id` rendered a value"
                        };
                        self.problems.push(self.c.row_error(path, msg, self.row));
                        None
                    }
                }
            }
        }
    }

    fn voice_settings(&mut self, i: usize, s: &SceneSpec) -> Option<VoiceSettings> {
        let vs = s.voice_settings.as_ref()?;
        Some(VoiceSettings {
            speed: self.number(At::Scene(i, "voice_settings.speed"), vs.speed.as_ref()),
            pitch: self.number(At::Scene(i, "voice_settings.pitch"), vs.pitch.as_ref()),
            volume: self.number(At::Scene(i, "voice_settings.volume"), vs.volume.as_ref()),
            locale: self.text(At::Scene(i, "voice_settings.locale")),
            engine_settings: vs.engine_settings.clone(),
        })
    }

    fn video(&mut self) -> Option<CreateVideoRequest> {
        let v = self.c.manifest.manifest.video.as_ref()?;
        let engine = |spec: Option<&EngineSpec>| {
            spec.map(|e| match e {
                EngineSpec::Name(EngineName::AvatarIv) => Engine::AvatarIv,
                EngineSpec::Name(EngineName::AvatarV) => {
                    Engine::AvatarV { reference_look_id: None }
                }
                EngineSpec::Name(EngineName::AvatarIii) => Engine::AvatarIii,
                EngineSpec::Object(o) => o.clone(),
            })
        };
        let caption = match &v.caption {
            None | Some(CaptionSpec::Enabled(false)) => None,
            Some(CaptionSpec::Enabled(true)) => Some(Caption {
                file_format: Some(crate::heygen::wire::CaptionFileFormat::Srt),
                style: None,
            }),
            Some(CaptionSpec::Settings(c)) => Some(c.clone()),
        };
        let title = self.text("video.title");
        let callback_url = self.text("video.callback_url");
        let callback_id = self.text("video.callback_id");
        let brand_glossary_id =
            self.text("video.brand_glossary_id").or_else(|| self.text("brand_glossary_id"));
        if !is_studio(&v.scenes) {
            let s = &v.scenes[0];
            let (i, at) = (0, "video.scenes[0]");
            let background = match &v.background {
                Some(_) => self.background(),
                None => self.text(At::Scene(i, "background.color")).map(|value| Background {
                    kind: BackgroundType::Color,
                    value: Some(value),
                    url: None,
                    asset_id: None,
                }),
            };
            let script = self.text(At::Scene(i, "script"));
            let voice_id = self.text(At::Scene(i, "voice"));
            let (audio_url, audio_asset_id) = self.audio(i);
            let voice_settings = self.voice_settings(i, s);
            let motion_prompt = self.text(At::Scene(i, "motion_prompt"));
            if s.avatar.is_some() {
                let avatar_id = self.required(At::Scene(i, "avatar"), "the avatar look id");
                return Some(CreateVideoRequest::Avatar(AvatarVideo {
                    avatar_id,
                    script,
                    voice_id,
                    audio_url,
                    audio_asset_id,
                    voice_settings,
                    title,
                    resolution: v.resolution,
                    aspect_ratio: v.aspect_ratio,
                    fit: v.fit,
                    background,
                    remove_background: v.remove_background,
                    output_format: v.output_format,
                    caption,
                    callback_url,
                    callback_id,
                    watermark: v.watermark.clone(),
                    engine: engine(s.engine.as_ref().or(v.engine.as_ref())),
                    motion_prompt,
                    expressiveness: s.expressiveness,
                    brand_glossary_id,
                    folder_id: None,
                }));
            }
            let image = self.asset(
                &format!("{at}.animated_image"),
                s.animated_image.as_ref(),
                MediaKind::Image,
            )?;
            return Some(CreateVideoRequest::Image(ImageVideo {
                image,
                script,
                voice_id,
                audio_url,
                audio_asset_id,
                voice_settings,
                title,
                resolution: v.resolution,
                aspect_ratio: v.aspect_ratio,
                fit: v.fit,
                background,
                remove_background: v.remove_background,
                output_format: v.output_format,
                caption,
                callback_url,
                callback_id,
                watermark: v.watermark.clone(),
                motion_prompt,
                expressiveness: s.expressiveness,
                brand_glossary_id,
                folder_id: None,
            }));
        }
        let mut scenes = Vec::with_capacity(v.scenes.len());
        for (i, s) in v.scenes.iter().enumerate() {
            let at = format!("video.scenes[{i}]");
            let script = self.text(At::Scene(i, "script"));
            let voice_id = self.text(At::Scene(i, "voice"));
            let (audio_url, audio_asset_id) = self.audio(i);
            let voice_settings = self.voice_settings(i, s);
            let scene = if s.avatar.is_some() {
                StudioScene::AvatarVideo {
                    input: SceneInput::Avatar(AvatarSceneInput {
                        avatar_id: self.required(At::Scene(i, "avatar"), "the avatar look id"),
                        script,
                        voice_id,
                        audio_url,
                        audio_asset_id,
                        voice_settings,
                        engine: engine(s.engine.as_ref().or(v.engine.as_ref())),
                        motion_prompt: self.text(At::Scene(i, "motion_prompt")),
                        expressiveness: s.expressiveness,
                        background: self
                            .text(At::Scene(i, "background.color"))
                            .map(|color| SceneBackground::Color { color }),
                    }),
                }
            } else if s.animated_image.is_some() {
                // Refused when the manifest loads (HeyGen removed the
                // image input of studio scenes); never reached.
                let d = self.c.row_error(
                    &format!("{at}.animated_image"),
                    "a multi-scene video cannot animate an image",
                    self.row,
                );
                self.problems.push(d);
                return None;
            } else if s.image.is_some() {
                StudioScene::Image {
                    source: self.asset(
                        &format!("{at}.image"),
                        s.image.as_ref(),
                        MediaKind::Image,
                    )?,
                    duration: self.number(At::Scene(i, "duration"), s.duration.as_ref()),
                    script,
                    voice_id,
                    voice_settings,
                    audio_url,
                    audio_asset_id,
                }
            } else {
                StudioScene::Video {
                    source: self.asset(
                        &format!("{at}.video"),
                        s.video.as_ref(),
                        MediaKind::Video,
                    )?,
                    playback: s.playback.clone(),
                    script,
                    voice_id,
                    voice_settings,
                    audio_url,
                    audio_asset_id,
                }
            };
            scenes.push(scene);
        }
        Some(CreateVideoRequest::Studio(StudioVideo {
            scenes,
            title,
            aspect_ratio: v.aspect_ratio,
            resolution: v.resolution,
            caption,
            callback_url,
            callback_id,
            watermark: v.watermark.clone(),
            brand_glossary_id,
            folder_id: None,
        }))
    }

    fn background(&mut self) -> Option<Background> {
        if let Some(value) = self.text("video.background.color") {
            return Some(Background {
                kind: BackgroundType::Color,
                value: Some(value),
                url: None,
                asset_id: None,
            });
        }
        let mut url = self.text("video.background.image_url");
        let mut asset_id = self.text("video.background.image_asset_id");
        if let Some(file) = url.take_if(|u| crate::assets::is_local(u)) {
            asset_id = self.local_file("video.background.image_url", &file, MediaKind::Image);
            asset_id.as_ref()?;
        }
        (url.is_some() || asset_id.is_some()).then_some(Background {
            kind: BackgroundType::Image,
            value: None,
            url,
            asset_id,
        })
    }

    fn template(&mut self) -> Option<JobRequest> {
        let t = self.c.manifest.manifest.template.as_ref()?;
        let mut variables = BTreeMap::new();
        for (name, spec) in &t.variables {
            let at = format!("template.variables.{name}");
            let var = match spec {
                TemplateVarSpec::Text(_) => {
                    TemplateVariable::Text { content: self.text(&at).unwrap_or_default() }
                }
                TemplateVarSpec::Typed(tv) => {
                    let kind = match tv.kind {
                        VarKind::Video => MediaKind::Video,
                        VarKind::Audio => MediaKind::Audio,
                        _ => MediaKind::Image,
                    };
                    let asset = |b: &mut Self| {
                        let url = b.text(&format!("{at}.url"));
                        let id = b.text(&format!("{at}.asset_id"));
                        match (url, id) {
                            (Some(url), None) => b.url_or_file(&format!("{at}.url"), url, kind),
                            (None, Some(asset_id)) => Some(AssetInput::AssetId { asset_id }),
                            _ => {
                                let d = b.c.row_error(
                                    &at,
                                    "a media variable needs exactly one of `url` and `asset_id`",
                                    b.row,
                                );
                                b.problems.push(d);
                                None
                            }
                        }
                    };
                    match tv.kind {
                        VarKind::Text => TemplateVariable::Text {
                            content: self.required(&format!("{at}.content"), "`content`"),
                        },
                        VarKind::Image => {
                            TemplateVariable::Image { asset: asset(self)?, fit: tv.fit }
                        }
                        VarKind::Video => TemplateVariable::Video {
                            asset: asset(self)?,
                            fit: tv.fit,
                            play_style: tv.play_style,
                            volume: tv.volume,
                        },
                        VarKind::Audio => TemplateVariable::Audio { asset: asset(self)? },
                        VarKind::Character => TemplateVariable::Character {
                            character_id: self
                                .required(&format!("{at}.character_id"), "`character_id`"),
                            character_type: tv.character_type.unwrap_or(CharacterType::Avatar),
                        },
                        VarKind::Voice => TemplateVariable::Voice {
                            voice_id: self.required(&format!("{at}.voice_id"), "`voice_id`"),
                            locale: self.text(&format!("{at}.locale")),
                        },
                    }
                }
            };
            variables.insert(name.clone(), var);
        }
        let body = GenerateFromTemplate {
            variables,
            scene_ids: t.scene_ids.clone(),
            dimension: t.dimension,
            fps: t.fps,
            title: self.text("template.title"),
            folder_id: t.folder_id.clone(),
            caption: t.caption,
            subtitles: t.subtitles.clone(),
            callback_url: self.text("template.callback_url"),
            callback_id: self.text("template.callback_id"),
            brand_voice_id: t.brand_voice_id.clone(),
            brand_glossary_id: self
                .text("template.brand_glossary_id")
                .or_else(|| self.text("brand_glossary_id")),
            reorder_music: None,
            keep_text_vertically_centered: None,
            include_gif: None,
            enable_sharing: t.enable_sharing,
        };
        Some(JobRequest::Template { template_id: t.id.clone(), body: Box::new(body) })
    }

    /// The download path: relative, inside the manifest's folder.
    fn download(&mut self) -> Option<PathBuf> {
        let raw = self.text("output.download")?;
        let trimmed = raw.trim();
        // Most paths are plain relative `a/b/c.mp4`: already in the form
        // the general case below normalizes to, at a fraction of the cost.
        let plain = !trimmed.contains(['\\', ':'])
            && trimmed.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
        if plain {
            let path = PathBuf::from(trimmed);
            debug_assert_eq!(
                path,
                path.components().filter(|c| !matches!(c, Component::CurDir)).collect::<PathBuf>()
            );
            return Some(path);
        }
        let p = Path::new(trimmed);
        let escapes = p.is_absolute()
            || p.components().any(|c| {
                matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_))
            });
        if escapes {
            let d = self.c.row_error(
                "output.download",
                format!("the download path {raw:?} leaves the output folder"),
                self.row,
            );
            self.problems.push(d.hint("row values must not put `..` or an absolute path into file names; use the `slug` filter"));
            return None;
        }
        if raw.ends_with('/') || p.file_name().is_none() {
            let d = self.c.row_error(
                "output.download",
                format!("the download path {raw:?} names a folder, not a file"),
                self.row,
            );
            self.problems.push(d);
            return None;
        }
        Some(p.components().filter(|c| !matches!(c, Component::CurDir)).collect())
    }
}
