//! Provenance: which manifest field each v3 request-body field was built
//! from (`scenes[1].input.voice_id` → `video.scenes[1].voice`), so that a
//! rule's `param` is reported against what the user wrote.
//!
//! The mapping depends only on the manifest's structure (single or
//! multi-scene video, avatar or image, where the background comes from),
//! never on a row, so it is recorded once per compiled manifest, beside the
//! builder that makes the same structural decisions, and costs nothing per
//! row.

use crate::manifest::FieldPath;
use crate::manifest::load::is_studio;
use crate::manifest::model::SceneSpec;

use super::compile::Compiled;

/// v3 names of a speaking input's fields → the scene fields they come
/// from. A wire name not listed is spelt the same in the manifest.
const SCENE_WIRE: &[(&str, &str)] = &[
    ("avatar_id", "avatar"),
    ("voice_id", "voice"),
    ("image", "animated_image"),
    ("script", "script"),
    ("audio_url", "audio_url"),
    ("audio_asset_id", "audio_asset_id"),
    ("voice_settings", "voice_settings"),
    ("engine", "engine"),
    ("motion_prompt", "motion_prompt"),
    ("expressiveness", "expressiveness"),
    ("duration", "duration"),
    ("playback", "playback"),
    ("background", "background"),
];

/// Request-level fields of a video that sit under `video.` as spelt.
const VIDEO_TOP: &[&str] = &[
    "title",
    "resolution",
    "aspect_ratio",
    "fit",
    "remove_background",
    "output_format",
    "caption",
    "callback_url",
    "callback_id",
    "watermark",
    "folder_id",
];

/// One recorded request field.
#[derive(Debug, Clone)]
struct Entry {
    /// The request-body path (`scenes[0].input.voice_id`).
    wire: String,
    /// The manifest field it came from.
    field: FieldPath,
    /// Fields below `wire` come from `field` itself (a colour the builder
    /// wraps into an object), not from a child of it.
    whole: bool,
}

/// Request field → manifest field, for one compiled manifest.
#[derive(Debug, Clone)]
pub struct Provenance {
    entries: Vec<Entry>,
    /// The request as a whole (`video` or `template`).
    root: FieldPath,
}

impl Provenance {
    fn add(&mut self, wire: impl Into<String>, field: impl Into<FieldPath>) {
        self.entries.push(Entry { wire: wire.into(), field: field.into(), whole: false });
    }

    fn add_whole(&mut self, wire: &str, field: &str) {
        self.entries.push(Entry { wire: wire.into(), field: field.into(), whole: true });
    }

    /// Records the fields of scene `i` under the request path `at`.
    fn scene(&mut self, at: &str, i: usize, s: &SceneSpec, video_engine: bool) {
        let scene = format!("video.scenes[{i}]");
        // The builder takes the scene's engine, else the video's.
        if s.engine.is_none() && video_engine {
            self.add(join(at, "engine"), "video.engine");
        }
        for (wire, name) in SCENE_WIRE {
            if *wire == "engine" && s.engine.is_none() && video_engine {
                continue;
            }
            // A single scene's colour is the request's `background`,
            // recorded by the caller.
            if at.is_empty() && *wire == "background" {
                continue;
            }
            self.add(join(at, wire), format!("{scene}.{name}"));
        }
        // A studio scene's media comes from `video` or `image`.
        let source = if s.video.is_some() { "video" } else { "image" };
        self.add(join(at, "source"), format!("{scene}.{source}"));
    }

    /// The provenance of `c`'s requests, recorded once when it compiles.
    pub(super) fn record(c: &Compiled) -> Provenance {
        let m = &c.manifest.manifest;
        let has = |p: &str| c.index.contains_key(p);
        if let Some(v) = &m.video {
            let mut p = Provenance { entries: Vec::new(), root: FieldPath::root("video") };
            for top in VIDEO_TOP {
                p.add(*top, FieldPath::root("video").key(top));
            }
            // The builder falls back to the top-level glossary.
            let glossary = if !has("video.brand_glossary_id") && has("brand_glossary_id") {
                "brand_glossary_id"
            } else {
                "video.brand_glossary_id"
            };
            p.add("brand_glossary_id", glossary);
            if is_studio(&v.scenes) {
                p.add("scenes", "video.scenes");
                // `type` (studio) is the choice of several scenes.
                p.add("type", "video.scenes");
                for (i, s) in v.scenes.iter().enumerate() {
                    let at = format!("scenes[{i}]");
                    p.add(at.clone(), format!("video.scenes[{i}]"));
                    p.add(format!("{at}.input"), format!("video.scenes[{i}]"));
                    p.scene(&format!("{at}.input"), i, s, v.engine.is_some());
                    p.scene(&at, i, s, v.engine.is_some());
                }
            } else if let Some(s) = v.scenes.first() {
                // One scene: its fields sit at the top of the request.
                p.scene("", 0, s, v.engine.is_some());
                // `type` (avatar or image) is the kind of that scene.
                p.add("type", "video.scenes[0]");
                if v.background.is_none() && s.background.is_some() {
                    // The scene's colour becomes the request's background.
                    for wire in ["background", "background.value", "background.url"] {
                        p.add_whole(wire, "video.scenes[0].background.color");
                    }
                    p.add_whole("background.asset_id", "video.scenes[0].background.color");
                } else {
                    p.add("background", "video.background");
                    p.add("background.value", "video.background.color");
                    p.add("background.url", "video.background.image_url");
                    p.add("background.asset_id", "video.background.image_asset_id");
                }
            }
            return p;
        }
        let mut p = Provenance { entries: Vec::new(), root: FieldPath::root("template") };
        if let Some(t) = &m.template {
            for top in ["title", "callback_url", "callback_id", "variables", "scene_ids"] {
                p.add(top, FieldPath::root("template").key(top));
            }
            for top in ["dimension", "fps", "folder_id", "caption", "subtitles"] {
                p.add(top, FieldPath::root("template").key(top));
            }
            for top in ["brand_voice_id", "enable_sharing"] {
                p.add(top, FieldPath::root("template").key(top));
            }
            let glossary = if !has("template.brand_glossary_id") && has("brand_glossary_id") {
                "brand_glossary_id"
            } else {
                "template.brand_glossary_id"
            };
            p.add("brand_glossary_id", glossary);
            for name in t.variables.keys() {
                p.add(format!("variables.{name}"), format!("template.variables.{name}"));
            }
        }
        p
    }

    /// The manifest field a request field was recorded from, `None` when
    /// the builder recorded nothing for it (or anything enclosing it).
    pub fn lookup(&self, wire: &str) -> Option<FieldPath> {
        let e = self
            .entries
            .iter()
            .filter(|e| {
                wire.strip_prefix(e.wire.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|e| e.wire.len())?;
        let rest = &wire[e.wire.len()..];
        if e.whole || rest.is_empty() {
            return Some(e.field.clone());
        }
        Some(FieldPath::from(format!("{}{}", e.field, rest)))
    }

    /// The manifest field to report a problem with request field `wire`
    /// against: its recorded provenance, else the request as a whole.
    pub fn field(&self, wire: &str) -> FieldPath {
        self.lookup(wire).unwrap_or_else(|| {
            if wire.is_empty() {
                self.root.clone()
            } else {
                FieldPath::from(join(&self.root, wire))
            }
        })
    }
}

fn join(at: &str, field: &str) -> String {
    if at.is_empty() { field.to_owned() } else { format!("{at}.{field}") }
}

/// Every path in a request body: objects, arrays and leaves, as a
/// rule's `param` spells them (`scenes[0].input.voice_id`).
#[cfg(debug_assertions)]
pub(super) fn body_paths(at: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    if !at.is_empty() {
        out.push(at.to_owned());
    }
    match v {
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                body_paths(&join(at, k), v, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                body_paths(&format!("{at}[{i}]"), v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::body_paths;
    use crate::validate::{Expansion, RowOutcome};

    fn examples() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests");
        let mut out = Vec::new();
        for dir in std::fs::read_dir(root).unwrap() {
            for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "yaml") {
                    out.push(f);
                }
            }
        }
        out.sort();
        out
    }

    /// Every field of every request the examples build has a recorded
    /// manifest field, and that field sits on a manifest line of its own
    /// (not just the `video:`/`template:` line of the request as a whole).
    #[test]
    fn every_request_field_of_the_examples_has_provenance() {
        let examples = examples();
        assert!(examples.len() >= 5, "examples not found: {examples:?}");
        let mut checked = 0;
        for path in examples {
            let m = crate::manifest::load(&path).unwrap();
            let mut x = Expansion::open(m).unwrap();
            let root = x.provenance().root.clone();
            let root_line = x.manifest().location(&root).map(|l| l.line);
            while let Some(outcome) = x.next_row() {
                let RowOutcome::Job(job, _) = outcome else { continue };
                let mut paths = Vec::new();
                body_paths("", &job.request.body_json(), &mut paths);
                for wire in paths {
                    let Some(field) = x.provenance().lookup(&wire) else {
                        panic!("{}: request field `{wire}` has no provenance", path.display())
                    };
                    let at = x.manifest().location(&field).map(|l| l.line);
                    assert!(
                        at.is_some() && at != root_line,
                        "{}: `{wire}` → `{field}` is not on a line of its own ({at:?})",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "only {checked} request fields checked");
    }

    /// The spellings that differ between the request and the manifest.
    #[test]
    fn renamed_fields_map_back_to_what_the_user_wrote() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d.csv"), "k,v\na,b\n").unwrap();
        let manifest = "version: 1\nname: t\ndata:\n  csv: d.csv\n  key: \"{{ k }}\"\nvideo:\n  scenes:\n    - avatar: \"{{ v }}\"\n      voice: v1\n      script: hi\n    - video: https://example.com/a.mp4\n      script: there\n      voice: v2\n      voice_settings:\n        speed: 1.5\n";
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, manifest).unwrap();
        let x = Expansion::open(crate::manifest::load(&path).unwrap()).unwrap();
        let p = x.provenance();
        for (wire, field) in [
            ("scenes[0].input.avatar_id", "video.scenes[0].avatar"),
            ("scenes[0].input.voice_id", "video.scenes[0].voice"),
            ("scenes[1].voice_settings.speed", "video.scenes[1].voice_settings.speed"),
            ("scenes[1].source.url", "video.scenes[1].video.url"),
            ("scenes[1]", "video.scenes[1]"),
            ("title", "video.title"),
        ] {
            assert_eq!(p.lookup(wire).unwrap(), field, "{wire}");
        }
        assert_eq!(p.lookup("unknown.x"), None);
        assert_eq!(p.field("unknown.x"), "video.unknown.x");
        assert_eq!(p.field(""), "video");
    }
}
