//! Reading a manifest: YAML → [`Manifest`], with every problem reported as
//! a diagnostic that points into the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::locate::locate;
use super::model::{Manifest, SceneSpec};
use crate::diag::{Diagnostic, Location, did_you_mean};

/// A manifest with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The manifest file.
    pub path: PathBuf,
    /// Its folder: relative paths resolve against it.
    pub dir: PathBuf,
    /// The YAML text, for diagnostics.
    pub text: String,
    /// The parsed manifest.
    pub manifest: Manifest,
}

impl LoadedManifest {
    /// The location of a field, with its source line.
    /// Falls back to the nearest enclosing field the locator can find
    /// (flow-style `[a, b]` lists, for instance).
    pub fn location(&self, field: &str) -> Option<Location> {
        let mut path = field;
        loop {
            if let Some(f) = locate(&self.text, path) {
                return Some(Location::in_text(&self.path, &self.text, f.line, f.column, f.width));
            }
            path = &path[..path.rfind(['.', '['])?];
        }
    }

    /// A diagnostic about `field`, located in the file.
    pub fn error_at(&self, field: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(message).field(field).at(self.location(field))
    }

    /// The CSV file.
    pub fn csv_path(&self) -> PathBuf {
        self.resolve(&self.manifest.data.csv)
    }

    /// A path relative to the manifest's folder.
    pub fn resolve(&self, relative: impl AsRef<Path>) -> PathBuf {
        if self.dir == Path::new(".") {
            relative.as_ref().to_owned()
        } else {
            self.dir.join(relative)
        }
    }

    /// The results manifest file.
    pub fn results_path(&self) -> PathBuf {
        match &self.manifest.output.results {
            Some(p) => self.resolve(p),
            None => self.resolve(
                Path::new("out")
                    .join(format!("{}.results.json", crate::slug::slug(&self.manifest.name))),
            ),
        }
    }

    /// Poll cadence cap and timeout from `run.poll`.
    pub fn poll(&self) -> (Duration, Duration) {
        let p = self.manifest.run.poll.clone().unwrap_or_default();
        let parse = |s: Option<&String>, d: u64| {
            s.and_then(|s| humantime::parse_duration(s).ok()).unwrap_or(Duration::from_secs(d))
        };
        (parse(p.every.as_ref(), 30), parse(p.timeout.as_ref(), 3600))
    }
}

/// Every problem of a manifest that cannot be loaded.
#[derive(Debug)]
pub struct LoadError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<LoadedManifest, LoadError> {
    let fail = |d: Diagnostic| LoadError { diagnostics: vec![d] };
    let text =
        std::fs::read_to_string(path).map_err(|e| {
            fail(Diagnostic::error(format!("cannot read manifest {}: {e}", path.display())).hint(
                "pass the path of a manifest YAML file, e.g. manifests/onboarding/manifest.yaml",
            ))
        })?;
    super::dupkeys::check(path, &text).map_err(fail)?;
    let manifest: Manifest = serde_yaml::from_str(&text).map_err(|e| {
        fail(super::indent::explain_missing(path, &text, yaml_error(path, &text, &e)))
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let loaded = LoadedManifest { path: path.to_owned(), dir, text, manifest };
    let diagnostics = check(&loaded);
    if diagnostics.is_empty() { Ok(loaded) } else { Err(LoadError { diagnostics }) }
}

/// Turns a YAML/serde error into a diagnostic with the source line and, for
/// a misspelt key, a suggestion.
fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let full = e.to_string();
    let without_pos = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    // "video.scenes[0]: unknown field `scirpt`, expected one of …"
    let (field, message) = match without_pos.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (Some(p.to_owned()), m.to_owned()),
        _ => (None, without_pos.to_owned()),
    };
    let mut d = Diagnostic::error(message.clone());
    if let Some(loc) = e.location() {
        let width = unknown_name(&message).map(|n| n.chars().count()).unwrap_or(1);
        d = d.at(Some(Location::in_text(path, text, loc.line(), loc.column(), width)));
    }
    if let Some(f) = field {
        d = d.field(f);
    }
    if let Some(name) = unknown_name(&message) {
        let expected: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
        d.message = format!("unknown field `{name}`");
        d = match did_you_mean(name, expected.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("expected one of: {}", expected.join(", "))),
        };
    } else if message.contains("unknown variant") {
        let expected: Vec<&str> = message.split('`').skip(3).step_by(2).collect();
        if let Some(bad) = message.split('`').nth(1) {
            if let Some(s) = did_you_mean(bad, expected.iter().copied()) {
                d = d.hint(format!("did you mean `{s}`?"));
            } else {
                d = d.hint(format!("expected one of: {}", expected.join(", ")));
            }
        }
    }
    d
}

fn unknown_name(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// Manifest-level rules that the types alone cannot express.
fn check(m: &LoadedManifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let man = &m.manifest;
    if man.version != 1 {
        out.push(
            m.error_at("version", format!("unsupported manifest version {}", man.version))
                .hint("this reelflow reads version: 1"),
        );
    }
    let name_ok = !man.name.is_empty()
        && man.name.len() <= 64
        && man.name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && man.name.chars().all(|c| c.is_ascii_alphanumeric() || " _.-".contains(c));
    if !name_ok {
        out.push(m.error_at("name", format!("campaign name {:?} is not usable", man.name)).hint(
            "use 1-64 letters, digits, spaces, `_`, `.` or `-`, starting with a letter or digit; it becomes part of every Idempotency-Key",
        ));
    }
    if let Some(a) = &man.account
        && crate::accounts::normalize_name(a).is_err()
    {
        out.push(
            m.error_at("account", format!("invalid account name {a:?}"))
                .hint("account names look like `marketing` or `agency-eu`"),
        );
    }
    match (&man.video, &man.template) {
        (Some(_), Some(_)) => out
            .push(m.error_at("template", "a manifest has either `video` or `template`, not both")),
        (None, None) => out.push(
            Diagnostic::error("the manifest says nothing to render")
                .hint("add `video:` with scenes, or `template:` with a HeyGen template id"),
        ),
        _ => {}
    }
    if let Some(v) = &man.video {
        let n = v.scenes.len();
        if n == 0 || n > 50 {
            out.push(
                m.error_at("video.scenes", format!("a video has 1 to 50 scenes, this one has {n}")),
            );
        }
        for (i, s) in v.scenes.iter().enumerate() {
            out.extend(check_scene(m, i, s));
        }
        let studio = is_studio(&v.scenes);
        if studio {
            for (i, s) in v.scenes.iter().enumerate() {
                if s.animated_image.is_some() {
                    out.push(removed_studio_image(m, i));
                }
            }
            for (field, set) in [
                ("output_format", v.output_format.is_some()),
                ("fit", v.fit.is_some()),
                ("remove_background", v.remove_background.is_some()),
                ("background", v.background.is_some()),
            ] {
                if set {
                    out.push(
                        m.error_at(&format!("video.{field}"), format!("`video.{field}` applies to single-scene videos only; this video is a multi-scene (studio) video"))
                            .hint(if field == "background" { "give each avatar scene a `background: {color: \"#RRGGBB\"}`" } else { "remove it, or render one scene" }),
                    );
                }
            }
        }
        if let Some(bg) = &v.background {
            let set = [bg.color.is_some(), bg.image_url.is_some(), bg.image_asset_id.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if set != 1 {
                out.push(m.error_at(
                    "video.background",
                    "a background has exactly one of `color`, `image_url`, `image_asset_id`",
                ));
            }
            if !studio && v.scenes.first().is_some_and(|s| s.background.is_some()) {
                out.push(m.error_at(
                    "video.scenes[0].background",
                    "both `video.background` and the scene's `background` are set; keep one",
                ));
            }
        }
    }
    if let Some(t) = &man.template {
        if t.variables.is_empty() {
            out.push(
                m.error_at("template.variables", "a template render needs at least one variable")
                    .hint("`reelflow templates ID` lists a template's variables"),
            );
        }
        for (i, name) in t.keep_template_value.iter().enumerate() {
            if t.variables.contains_key(name) {
                out.push(
                    m.error_at(
                        &format!("template.keep_template_value[{i}]"),
                        format!(
                            "`{name}` is both set in `variables` and kept at its template value"
                        ),
                    )
                    .hint("keep one: set it, or list it in `keep_template_value`"),
                );
            }
        }
        if t.folder_id.is_some() && man.output.folder.is_some() {
            out.push(
                m.error_at(
                    "template.folder_id",
                    "both `template.folder_id` and `output.folder` are set",
                )
                .hint("keep `output.folder` (a name or {id: …}) and remove `template.folder_id`"),
            );
        }
    }
    if let Some(crate::manifest::model::FolderSpec::Name(n)) = &man.output.folder
        && (n.trim().is_empty() || n.chars().count() > 256)
    {
        out.push(
            m.error_at("output.folder", "a folder name has 1 to 256 characters")
                .hint("or give an existing folder as {id: …}"),
        );
    }
    if let Some(p) = &man.run.poll {
        for (field, v) in [("every", &p.every), ("timeout", &p.timeout)] {
            if let Some(s) = v
                && humantime::parse_duration(s).is_err()
            {
                out.push(
                    m.error_at(&format!("run.poll.{field}"), format!("`{s}` is not a duration"))
                        .hint("write durations like 30s, 5m or 1h"),
                );
            }
        }
    }
    if man.run.concurrency == Some(0) {
        out.push(m.error_at("run.concurrency", "concurrency must be at least 1"));
    }
    if let Some(dl) = &man.output.download
        && (Path::new(dl).is_absolute() || dl.split(['/', '\\']).any(|p| p == ".."))
    {
        out.push(
            m.error_at(
                "output.download",
                "the download path must stay inside the manifest's folder",
            )
            .hint("use a relative path such as out/videos/{{ key | slug }}.mp4"),
        );
    }
    out
}

/// Whether scenes make a studio (multi-scene) video.
pub fn is_studio(scenes: &[SceneSpec]) -> bool {
    scenes.len() != 1 || scenes[0].image.is_some() || scenes[0].video.is_some()
}

fn check_scene(m: &LoadedManifest, i: usize, s: &SceneSpec) -> Vec<Diagnostic> {
    let at = format!("video.scenes[{i}]");
    let mut out = Vec::new();
    let kinds = [
        ("avatar", s.avatar.is_some()),
        ("animated_image", s.animated_image.is_some()),
        ("image", s.image.is_some()),
        ("video", s.video.is_some()),
    ];
    let set: Vec<&str> = kinds.iter().filter(|(_, on)| *on).map(|(k, _)| *k).collect();
    if set.len() != 1 {
        out.push(
            m.error_at(
                &at,
                if set.is_empty() {
                    "this scene shows nothing".to_owned()
                } else {
                    format!("a scene shows one thing; this one has {}", set.join(" and "))
                },
            )
            .hint(
                "give it exactly one of `avatar` (a look id), `animated_image`, `image` or `video`",
            ),
        );
        return out;
    }
    let kind = set[0];
    let speaks = kind == "avatar" || kind == "animated_image";
    let field_err = |f: &str, why: &str| m.error_at(&format!("{at}.{f}"), format!("`{f}` {why}"));
    if kind == "video" && s.duration.is_some() {
        out.push(field_err(
            "duration",
            "does not apply to a video scene (it lasts as long as the clip, or its voiceover)",
        ));
    }
    if !speaks {
        for (f, on) in [
            ("engine", s.engine.is_some()),
            ("motion_prompt", s.motion_prompt.is_some()),
            ("expressiveness", s.expressiveness.is_some()),
            ("background", s.background.is_some()),
        ] {
            if on {
                out.push(field_err(
                    f,
                    &format!("applies to avatar scenes, not to an {kind} scene"),
                ));
            }
        }
    }
    if kind != "video" && s.playback.is_some() {
        out.push(field_err("playback", "applies to video scenes only"));
    }
    if kind != "image" && s.duration.is_some() {
        out.push(field_err(
            "duration",
            "applies to silent image scenes only; speaking scenes last as long as their audio",
        ));
    }
    if kind == "animated_image" && s.engine.is_some() {
        out.push(field_err("engine", "cannot be set for an animated image"));
    }
    out
}

/// `animated_image` in a multi-scene video: HeyGen removed the image input
/// of studio `avatar_video` scenes (November 2026 schemas).
fn removed_studio_image(m: &LoadedManifest, i: usize) -> Diagnostic {
    m.error_at(
        &format!("video.scenes[{i}].animated_image"),
        "a multi-scene video cannot animate an image: HeyGen removed the image input of studio avatar scenes",
    )
    .hint("for a talking photo, create a photo avatar and use its look id as `avatar` (`reelflow avatars` lists looks); an image-only video of one scene still works")
}
