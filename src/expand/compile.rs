//! Step 2, compilation: every templated field of the manifest, compiled
//! once and checked against the CSV header and `vars` before any row.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::Environment;
use minijinja::value::Value;

use super::diagnose::template_error;
use super::env::{BUILTIN_NAMES, environment};
pub(super) use super::fast::Fast;
use super::provenance::Provenance;
use crate::assets::FileCache;
use crate::dataset::Header;
use crate::diag::{Diagnostic, did_you_mean};
use crate::manifest::model::{AssetSpec, Num, TemplateVarSpec, VarValue};
use crate::manifest::{FieldPath, LoadedManifest};

/// A templated (or literal) string field of the manifest.
#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) path: FieldPath,
    pub(super) source: String,
    pub(super) templated: bool,
    /// A field that is exactly `{{ column }}` or
    /// `{{ column | default('text') }}` is read straight from the row: the
    /// common cases cost no template run.
    pub(super) fast: Option<Fast>,
}

/// Every field of a scene the collector may add and the builder may read,
/// in one list: a builder lookup of a leaf that is not here is a bug that
/// debug builds (every test) catch, instead of a field silently dropped.
pub(super) const SCENE_LEAVES: &[&str] = &[
    "avatar",
    "animated_image",
    "animated_image.url",
    "animated_image.asset_id",
    "image",
    "image.url",
    "image.asset_id",
    "video",
    "video.url",
    "video.asset_id",
    "script",
    "voice",
    "audio_url",
    "audio_asset_id",
    "motion_prompt",
    "background.color",
    "duration",
    "voice_settings.speed",
    "voice_settings.pitch",
    "voice_settings.volume",
    "voice_settings.locale",
];

/// `video.scenes[i].<leaf>`, for a leaf of [`SCENE_LEAVES`].
pub(super) fn scene_field(i: usize, leaf: &str) -> FieldPath {
    debug_assert!(SCENE_LEAVES.contains(&leaf), "unknown scene field `{leaf}`");
    FieldPath::parse(&format!("video.scenes[{i}].{leaf}"))
}

/// Where the builder reads a field: a whole path, or a leaf of scene `i`
/// (`At::Scene(1, "voice")` is `video.scenes[1].voice`), which is looked
/// up without formatting a path for every row.
#[derive(Debug, Clone, Copy)]
pub(super) enum At<'p> {
    /// A full path.
    Path(&'p str),
    /// A field of `video.scenes[i]`.
    Scene(usize, &'static str),
}

impl At<'_> {
    /// The full field path, for diagnostics.
    pub(super) fn path(self) -> String {
        match self {
            At::Path(p) => p.to_owned(),
            At::Scene(i, leaf) => scene_field(i, leaf).into(),
        }
    }
}

impl<'p> From<&'p str> for At<'p> {
    fn from(p: &'p str) -> Self {
        At::Path(p)
    }
}

impl<'p> From<&'p String> for At<'p> {
    fn from(p: &'p String) -> Self {
        At::Path(p)
    }
}

/// The expression of `data.where`: `{{ … }}` around it is optional.
fn where_inner(filter: &str) -> Option<&str> {
    let inner = filter.trim();
    Some(inner.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")).unwrap_or(inner).trim())
}

/// The manifest compiled for rendering.
pub struct Compiled {
    pub(super) env: Environment<'static>,
    pub(super) fields: Vec<Field>,
    /// Looked up a dozen times per row: a fast hasher, not SipHash.
    pub(super) index: foldhash::HashMap<FieldPath, usize>,
    pub(super) vars: Value,
    pub(super) header: Arc<Header>,
    pub(super) manifest: LoadedManifest,
    pub(super) filter: Option<usize>,
    /// Some templated field needs the template engine (no fast path).
    pub(super) engine_renders: bool,
    pub(super) files: FileCache,
    /// Per scene, `(leaf, field)` for the builder's [`At::Scene`] lookups.
    pub(super) scene_fields: Vec<Vec<(String, usize)>>,
    /// Which manifest field each request field comes from, recorded once.
    pub(super) provenance: Option<Provenance>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled").field("fields", &self.fields.len()).finish_non_exhaustive()
    }
}

/// Collects a manifest's string fields, in a stable order.
struct Collector {
    fields: Vec<Field>,
}

impl Collector {
    fn add(&mut self, path: impl Into<FieldPath>, source: Option<&String>) {
        if let Some(s) = source {
            let templated = s.contains("{{") || s.contains("{%");
            self.fields.push(Field { path: path.into(), source: s.clone(), templated, fast: None });
        }
    }

    fn num(&mut self, path: FieldPath, n: Option<&Num>) {
        if let Some(Num::Template(s)) = n {
            self.add(path, Some(s));
        }
    }

    fn asset(&mut self, path: FieldPath, a: Option<&AssetSpec>) {
        match a {
            Some(AssetSpec::Url(u)) => self.add(path, Some(u)),
            Some(AssetSpec::Object(o)) => {
                self.add(path.key("url"), o.url.as_ref());
                self.add(path.key("asset_id"), o.asset_id.as_ref());
            }
            None => {}
        }
    }
}

impl Compiled {
    /// Compiles every field of `manifest` against the dataset `header`.
    /// Reports every problem at once.
    pub fn new(manifest: LoadedManifest, header: Arc<Header>) -> Result<Compiled, Vec<Diagnostic>> {
        let man = &manifest.manifest;
        let mut c = Collector { fields: Vec::new() };
        c.add("data.key", Some(&man.data.key));
        c.add("brand_glossary_id", man.brand_glossary_id.as_ref());
        if let Some(f) = &man.data.filter {
            // `where` is an expression; `{{ … }}` around it is optional.
            let inner = where_inner(f).unwrap_or_default();
            c.fields.push(Field {
                path: "data.where".into(),
                source: format!("{{% if {inner} %}}true{{% endif %}}"),
                templated: true,
                fast: None,
            });
        }
        if let Some(v) = &man.video {
            c.add("video.title", v.title.as_ref());
            c.add("video.callback_url", v.callback_url.as_ref());
            c.add("video.callback_id", v.callback_id.as_ref());
            c.add("video.brand_glossary_id", v.brand_glossary_id.as_ref());
            if let Some(bg) = &v.background {
                c.add("video.background.color", bg.color.as_ref());
                c.add("video.background.image_url", bg.image_url.as_ref());
                c.add("video.background.image_asset_id", bg.image_asset_id.as_ref());
            }
            for (i, s) in v.scenes.iter().enumerate() {
                let leaf = |leaf: &str| scene_field(i, leaf);
                c.add(leaf("avatar"), s.avatar.as_ref());
                c.asset(leaf("animated_image"), s.animated_image.as_ref());
                c.asset(leaf("image"), s.image.as_ref());
                c.asset(leaf("video"), s.video.as_ref());
                c.add(leaf("script"), s.script.as_ref());
                c.add(leaf("voice"), s.voice.as_ref());
                c.add(leaf("audio_url"), s.audio_url.as_ref());
                c.add(leaf("audio_asset_id"), s.audio_asset_id.as_ref());
                c.add(leaf("motion_prompt"), s.motion_prompt.as_ref());
                if let Some(bg) = &s.background {
                    c.add(leaf("background.color"), Some(&bg.color));
                }
                c.num(leaf("duration"), s.duration.as_ref());
                if let Some(vs) = &s.voice_settings {
                    c.num(leaf("voice_settings.speed"), vs.speed.as_ref());
                    c.num(leaf("voice_settings.pitch"), vs.pitch.as_ref());
                    c.num(leaf("voice_settings.volume"), vs.volume.as_ref());
                    c.add(leaf("voice_settings.locale"), vs.locale.as_ref());
                }
            }
        }
        if let Some(t) = &man.template {
            c.add("template.title", t.title.as_ref());
            c.add("template.callback_url", t.callback_url.as_ref());
            c.add("template.callback_id", t.callback_id.as_ref());
            c.add("template.brand_glossary_id", t.brand_glossary_id.as_ref());
            for (name, var) in &t.variables {
                let at = format!("template.variables.{name}");
                match var {
                    TemplateVarSpec::Text(s) => c.add(at, Some(s)),
                    TemplateVarSpec::Typed(tv) => {
                        for (f, v) in [
                            ("content", &tv.content),
                            ("url", &tv.url),
                            ("asset_id", &tv.asset_id),
                            ("character_id", &tv.character_id),
                            ("voice_id", &tv.voice_id),
                            ("locale", &tv.locale),
                        ] {
                            c.add(format!("{at}.{f}"), v.as_ref());
                        }
                    }
                }
            }
        }
        c.add("output.download", man.output.download.as_ref());

        let mut env = environment();
        let mut problems = Vec::new();
        let vars: BTreeMap<String, Value> = man
            .vars
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    VarValue::Text(s) => Value::from(s.as_str()),
                    VarValue::Number(n) => Value::from(*n),
                    VarValue::Bool(b) => Value::from(*b),
                };
                (k.clone(), value)
            })
            .collect();
        for name in man.vars.keys() {
            if header.position(name).is_some() {
                problems.push(
                    manifest
                        .error_at(&format!("vars.{name}"), format!("`vars.{name}` has the same name as a CSV column"))
                        .hint("rename the var, or drop the column: a name must mean one thing in templates"),
                );
            }
        }
        let known: Vec<&str> = header
            .names
            .iter()
            .map(String::as_str)
            .chain(man.vars.keys().map(String::as_str))
            .collect();
        for field in c.fields.iter_mut().filter(|f| f.templated) {
            field.fast = if field.path == "data.where" {
                where_inner(man.data.filter.as_deref().unwrap_or_default())
                    .and_then(|inner| Fast::parse_where(inner, &header))
            } else {
                Fast::parse(&field.source, &header, &man.vars, field.path != "data.key")
            };
        }
        for field in c.fields.iter().filter(|f| f.templated) {
            if let Err(e) = env.add_template_owned(field.path.to_string(), field.source.clone()) {
                problems.push(template_error(&manifest, field, &e, None));
                continue;
            }
            problems.extend(crate::filters::unknown_filters(
                &env,
                &manifest,
                &field.path,
                &field.source,
            ));
            let Ok(tmpl) = env.get_template(&field.path) else { continue };
            let mut used: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
            used.sort();
            for name in used {
                let builtin = BUILTIN_NAMES.contains(&name.as_str())
                    && !(name == "key" && field.path == "data.key");
                if builtin || known.contains(&name.as_str()) {
                    continue;
                }
                let mut d = manifest
                    .error_at(&field.path, format!("`{name}` is not a CSV column or a var"));
                d = match did_you_mean(&name, known.iter().copied()) {
                    Some(s) => {
                        d.hint(format!("did you mean `{s}`? Columns: {}", header.names.join(", ")))
                    }
                    None if name == "key" => d.hint("the key template cannot use `key` itself"),
                    None => d.hint(format!(
                        "columns: {}; a column name with spaces is written row[\"First Name\"]",
                        header.names.join(", ")
                    )),
                };
                problems.push(d);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let index = c
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect::<foldhash::HashMap<_, _>>();
        let filter = index.get("data.where").copied();
        let mut scene_fields: Vec<Vec<(String, usize)>> = Vec::new();
        for (fi, f) in c.fields.iter().enumerate() {
            let Some(rest) = f.path.strip_prefix("video.scenes[") else { continue };
            let Some((n, leaf)) = rest.split_once("].") else { continue };
            let Ok(n) = n.parse::<usize>() else { continue };
            if scene_fields.len() <= n {
                scene_fields.resize_with(n + 1, Vec::new);
            }
            scene_fields[n].push((leaf.to_owned(), fi));
        }
        let engine_renders = c.fields.iter().any(|f| f.templated && f.fast.is_none());
        let mut compiled = Compiled {
            engine_renders,
            env,
            fields: c.fields,
            index,
            vars: Value::from(vars),
            header,
            manifest,
            filter,
            files: FileCache::default(),
            scene_fields,
            provenance: None,
        };
        compiled.provenance = Some(Provenance::record(&compiled));
        Ok(compiled)
    }

    /// The field a builder lookup names, if the manifest has it.
    pub(super) fn lookup(&self, at: At<'_>) -> Option<usize> {
        match at {
            At::Path(p) => self.index.get(p).copied(),
            At::Scene(i, leaf) => {
                debug_assert!(SCENE_LEAVES.contains(&leaf), "unknown scene field `{leaf}`");
                self.scene_fields.get(i)?.iter().find(|(l, _)| l == leaf).map(|(_, f)| *f)
            }
        }
    }

    /// The dataset header.
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// The manifest.
    pub fn manifest(&self) -> &LoadedManifest {
        &self.manifest
    }

    /// Which manifest field each field of this manifest's requests was
    /// built from.
    pub fn provenance(&self) -> &Provenance {
        self.provenance.as_ref().expect("recorded when the manifest compiles")
    }
}
