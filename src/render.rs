//! Rendering: the manifest's template fields × one CSV row → one job with
//! the exact v3 request body.
//!
//! The YAML is parsed first; each templated *field* is then compiled on its
//! own and rendered per row, so a CSV value containing `:`, `#`, quotes,
//! `{{` or a newline lands in the request body byte for byte and cannot
//! change the manifest's structure. Before any row is rendered, every
//! variable each template uses is checked against the CSV header and `vars`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{Environment, UndefinedBehavior};

use crate::assets::{FileCache, LocalFile, MediaKind};
use crate::dataset::{Header, Row};
use crate::diag::{Diagnostic, Location, RowRef, did_you_mean};
use crate::heygen::wire::{
    AssetInput, AvatarSceneInput, AvatarVideo, Background, BackgroundType, Caption, CharacterType,
    CreateVideoRequest, Engine, GenerateFromTemplate, ImageVideo, SceneBackground, SceneInput,
    StudioScene, StudioVideo, TemplateVariable, VoiceSettings,
};
use crate::manifest::load::is_studio;
use crate::manifest::model::{
    AssetObject, AssetSpec, CaptionSpec, EngineName, EngineSpec, Num, SceneSpec, TemplateVarSpec,
    VarKind, VarValue,
};
use crate::manifest::{LoadedManifest, locate};

/// Names every template may use besides columns and `vars` entries.
const BUILTIN_NAMES: &[&str] =
    &["row", "key", "vars", "range", "dict", "namespace", "debug", "cycler", "joiner", "loop"];

/// What a job sends.
#[derive(Debug, Clone, PartialEq)]
pub enum JobRequest {
    /// `POST /v3/videos`.
    Video(Box<CreateVideoRequest>),
    /// `POST /v3/templates/{template_id}`.
    Template {
        /// Template id.
        template_id: String,
        /// Body.
        body: Box<GenerateFromTemplate>,
    },
}

impl JobRequest {
    /// `(method, path)` of the create call.
    pub fn endpoint(&self) -> (&'static str, String) {
        match self {
            JobRequest::Video(_) => ("POST", "/v3/videos".into()),
            JobRequest::Template { template_id, .. } => {
                ("POST", format!("/v3/templates/{template_id}"))
            }
        }
    }

    /// The body as JSON.
    pub fn body_json(&self) -> serde_json::Value {
        match self {
            JobRequest::Video(r) => serde_json::to_value(r),
            JobRequest::Template { body, .. } => serde_json::to_value(body),
        }
        .unwrap_or_default()
    }

    /// The dashboard title.
    pub fn title(&self) -> Option<&str> {
        match self {
            JobRequest::Video(r) => r.title(),
            JobRequest::Template { body, .. } => body.title.as_deref(),
        }
    }

    /// Files the video in a folder (`folder_id`, on every kind of create).
    pub fn set_folder(&mut self, folder_id: &str) {
        let id = Some(folder_id.to_owned());
        match self {
            JobRequest::Video(r) => match r.as_mut() {
                CreateVideoRequest::Avatar(v) => v.folder_id = id,
                CreateVideoRequest::Image(v) => v.folder_id = id,
                CreateVideoRequest::CinematicAvatar(v) => v.folder_id = id,
                CreateVideoRequest::Studio(v) => v.folder_id = id,
            },
            JobRequest::Template { body, .. } => body.folder_id = id,
        }
    }
}

/// One row's video: identity, request and where it will be saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The rendered `data.key`.
    pub key: String,
    /// CSV line of the row.
    pub line: u64,
    /// The exact request.
    pub request: JobRequest,
    /// Download path relative to the manifest's folder.
    pub download: Option<PathBuf>,
    /// Local files the request uses (as `reelflow-local:` placeholders),
    /// uploaded by `reelflow run` before the engine starts.
    pub uploads: Vec<Arc<LocalFile>>,
}

impl Job {
    /// The row reference for diagnostics.
    pub fn row_ref(&self) -> RowRef {
        RowRef { line: self.line, key: Some(self.key.clone()) }
    }
}

/// A templated (or literal) string field of the manifest.
#[derive(Debug, Clone)]
struct Field {
    path: String,
    source: String,
    templated: bool,
    /// A field that is exactly `{{ column }}` is read straight from the
    /// row: the common case costs no template run.
    column: Option<usize>,
}

/// `{{ name }}` → `name`, when that is the whole template.
fn bare_variable(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let ident = !inner.is_empty()
        && inner.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ident.then_some(inner)
}

/// The manifest compiled for rendering.
pub struct Compiled {
    env: Environment<'static>,
    fields: Vec<Field>,
    index: HashMap<String, usize>,
    vars: Value,
    header: Arc<Header>,
    manifest: LoadedManifest,
    filter: Option<usize>,
    files: FileCache,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled").field("fields", &self.fields.len()).finish_non_exhaustive()
    }
}

/// Lower-case ASCII words joined by `-`, for file names: `José O'Neil` →
/// `jose-o-neil`.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
        if out.len() >= 80 {
            break;
        }
    }
    out
}

fn fold_accent(c: char) -> impl Iterator<Item = char> {
    let folded: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        _ => "",
    };
    let single = if folded.is_empty() { Some(c) } else { None };
    folded.chars().chain(single)
}

/// The template environment: strict about undefined names, no escaping,
/// and the filters campaigns need.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A runaway template must not hang a million-row run.
    env.set_fuel(Some(100_000));
    env.add_filter("slug", |v: String| slug(&v));
    env.add_filter("first_word", |v: String| v.split_whitespace().next().unwrap_or("").to_owned());
    // Jinja's `default` only replaces undefined values; a CSV cell is never
    // undefined, just empty, so empty counts as missing too.
    let default = |v: Value, fallback: Option<Value>| -> Value {
        let missing =
            v.is_undefined() || v.is_none() || v.as_str().is_some_and(|s| s.trim().is_empty());
        if missing { fallback.unwrap_or_else(|| Value::from("")) } else { v }
    };
    env.add_filter("default", default);
    env.add_filter("d", default);
    crate::filters::register(&mut env);
    env
}

/// The template context of one row.
#[derive(Debug)]
struct RowCtx {
    header: Arc<Header>,
    values: Vec<String>,
    vars: Value,
    key: Option<String>,
}

impl Object for RowCtx {
    fn get_value_by_str(self: &Arc<Self>, name: &str) -> Option<Value> {
        if let Some(i) = self.header.position(name) {
            return Some(Value::from(self.values[i].as_str()));
        }
        match name {
            "row" => Some(Value::from_object(RowMap(self.clone()))),
            "key" => self.key.as_deref().map(Value::from),
            "vars" => Some(self.vars.clone()),
            _ => self.vars.get_attr(name).ok().filter(|v| !v.is_undefined()),
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }
}

/// `row`: every column by name, for names that are not identifiers
/// (`row["First Name"]`).
#[derive(Debug)]
struct RowMap(Arc<RowCtx>);

impl Object for RowMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = self.0.header.position(key.as_str()?)?;
        Some(Value::from(self.0.values[i].as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.header.names.iter().map(|n| Value::from(n.as_str())).collect())
    }
}

/// Collects a manifest's string fields, in a stable order.
struct Collector {
    fields: Vec<Field>,
}

impl Collector {
    fn add(&mut self, path: impl Into<String>, source: Option<&String>) {
        if let Some(s) = source {
            let templated = s.contains("{{") || s.contains("{%");
            self.fields.push(Field {
                path: path.into(),
                source: s.clone(),
                templated,
                column: None,
            });
        }
    }

    fn num(&mut self, path: String, n: Option<&Num>) {
        if let Some(Num::Template(s)) = n {
            self.add(path, Some(s));
        }
    }

    fn asset(&mut self, path: &str, a: Option<&AssetSpec>) {
        match a {
            Some(AssetSpec::Url(u)) => self.add(path, Some(u)),
            Some(AssetSpec::Object(o)) => {
                self.add(format!("{path}.url"), o.url.as_ref());
                self.add(format!("{path}.asset_id"), o.asset_id.as_ref());
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
            let inner = f.trim();
            let inner =
                inner.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")).unwrap_or(inner).trim();
            c.fields.push(Field {
                path: "data.where".into(),
                source: format!("{{% if {inner} %}}true{{% endif %}}"),
                templated: true,
                column: None,
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
                let at = format!("video.scenes[{i}]");
                c.add(format!("{at}.avatar"), s.avatar.as_ref());
                c.asset(&format!("{at}.animated_image"), s.animated_image.as_ref());
                c.asset(&format!("{at}.image"), s.image.as_ref());
                c.asset(&format!("{at}.video"), s.video.as_ref());
                c.add(format!("{at}.script"), s.script.as_ref());
                c.add(format!("{at}.voice"), s.voice.as_ref());
                c.add(format!("{at}.audio_url"), s.audio_url.as_ref());
                c.add(format!("{at}.audio_asset_id"), s.audio_asset_id.as_ref());
                c.add(format!("{at}.motion_prompt"), s.motion_prompt.as_ref());
                if let Some(bg) = &s.background {
                    c.add(format!("{at}.background.color"), Some(&bg.color));
                }
                c.num(format!("{at}.duration"), s.duration.as_ref());
                if let Some(vs) = &s.voice_settings {
                    c.num(format!("{at}.voice_settings.speed"), vs.speed.as_ref());
                    c.num(format!("{at}.voice_settings.pitch"), vs.pitch.as_ref());
                    c.num(format!("{at}.voice_settings.volume"), vs.volume.as_ref());
                    c.add(format!("{at}.voice_settings.locale"), vs.locale.as_ref());
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
            field.column = bare_variable(&field.source).and_then(|n| header.position(n));
        }
        for field in c.fields.iter().filter(|f| f.templated) {
            if let Err(e) = env.add_template_owned(field.path.clone(), field.source.clone()) {
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
            .collect::<HashMap<_, _>>();
        let filter = index.get("data.where").copied();
        Ok(Compiled {
            env,
            fields: c.fields,
            index,
            vars: Value::from(vars),
            header,
            manifest,
            filter,
            files: FileCache::default(),
        })
    }

    /// The dataset header.
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// The manifest.
    pub fn manifest(&self) -> &LoadedManifest {
        &self.manifest
    }

    fn render_field(&self, i: usize, ctx: &Value, row: &RowRef) -> Result<String, Diagnostic> {
        let f = &self.fields[i];
        if !f.templated {
            return Ok(f.source.clone());
        }
        if let (Some(col), Some(row_ctx)) = (f.column, ctx.downcast_object_ref::<RowCtx>()) {
            return Ok(row_ctx.values[col].clone());
        }
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
        row_ref.key = Some(key.clone());
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
        let ctx_value = Value::from_dyn_object(ctx);
        if let Some(fi) = self.filter
            && self.render_field(fi, &ctx_value, &row_ref).map_err(|d| vec![d])? != "true"
        {
            return Ok(None);
        }
        let mut rendered: Vec<Option<String>> = vec![None; self.fields.len()];
        let mut problems = Vec::new();
        for (i, f) in self.fields.iter().enumerate() {
            if f.path == "data.key" || f.path == "data.where" {
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
            rendered: &rendered,
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
        let uploads = b.uploads;
        Ok(Some(Job { key, line, request, download, uploads }))
    }

    fn row_error(&self, field: &str, message: impl Into<String>, row: &RowRef) -> Diagnostic {
        self.manifest.error_at(field, message).row(row.clone())
    }
}

fn template_error(
    m: &LoadedManifest,
    f: &Field,
    e: &minijinja::Error,
    row: Option<&RowRef>,
) -> Diagnostic {
    let found = locate::locate(&m.text, &f.path);
    let location = found.map(|fd| {
        // The error's line is inside the template; the template starts on
        // the value's line (the next line for `|` block scalars).
        let t_line = e.line().unwrap_or(1);
        let line = fd.value_line + t_line.saturating_sub(1);
        let yaml_line = m.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        // Column of the error inside its template line, when known.
        let in_line = e.range().map(|r| {
            let before = &f.source[..r.start.min(f.source.len())];
            r.start - before.rfind('\n').map_or(0, |i| i + 1)
        });
        let col = match in_line {
            Some(c) if line != fd.line => yaml_line.len() - yaml_line.trim_start().len() + c + 1,
            Some(c) => {
                // Inline value: the template starts after `key:` and an optional quote.
                let after_key = yaml_line.find(':').map_or(0, |i| i + 1);
                let rest = &yaml_line[after_key..];
                let start = after_key + (rest.len() - rest.trim_start().len());
                let quoted = yaml_line[start..].starts_with(['"', '\'']);
                start + usize::from(quoted) + c + 1
            }
            None => fd.column,
        };
        let width = e.range().map_or(1, |r| r.len().clamp(1, 40));
        Location::in_text(&m.path, &m.text, line, col, width)
    });
    let what = e.detail().map(str::to_owned).unwrap_or_else(|| e.kind().to_string());
    let message = match e.kind() {
        minijinja::ErrorKind::SyntaxError => format!("template syntax error: {what}"),
        minijinja::ErrorKind::UndefinedError => format!("undefined value in template: {what}"),
        _ => format!("template error: {what}"),
    };
    let mut d = Diagnostic::error(message).field(f.path.clone()).at(location);
    if let Some(r) = row {
        d = d.row(r.clone());
    }
    d
}

/// Builds the typed request from rendered fields.
struct Builder<'a> {
    c: &'a Compiled,
    rendered: &'a [Option<String>],
    row: &'a RowRef,
    problems: Vec<Diagnostic>,
    uploads: Vec<Arc<LocalFile>>,
}

impl Builder<'_> {
    /// The rendered text of a field; empty renders count as absent.
    fn text(&self, path: &str) -> Option<String> {
        let i = *self.c.index.get(path)?;
        let f = &self.c.fields[i];
        let s = if f.templated { self.rendered[i].clone()? } else { f.source.clone() };
        if s.trim().is_empty() { None } else { Some(s) }
    }

    fn required(&mut self, path: &str, what: &str) -> String {
        match self.text(path) {
            Some(s) => s,
            None => {
                let d = self.c.row_error(path, format!("{what} rendered empty"), self.row);
                self.problems.push(
                    d.hint("check the CSV cell this field uses, or give it a `default` filter"),
                );
                String::new()
            }
        }
    }

    fn number(&mut self, path: &str, n: Option<&Num>) -> Option<f64> {
        match n? {
            Num::Value(v) => Some(*v),
            Num::Template(_) => {
                let s = self.text(path)?;
                match s.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => Some(v),
                    _ => {
                        let d = self.c.row_error(path, format!("{s:?} is not a number"), self.row);
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
    fn audio(&mut self, at: &str) -> (Option<String>, Option<String>) {
        let field = format!("{at}.audio_url");
        let url = self.text(&field);
        let asset = self.text(&format!("{at}.audio_asset_id"));
        match url {
            Some(u) if crate::assets::is_local(&u) => {
                let id = self.local_file(&field, &u, MediaKind::Audio);
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

    fn voice_settings(&mut self, at: &str, s: &SceneSpec) -> Option<VoiceSettings> {
        let vs = s.voice_settings.as_ref()?;
        Some(VoiceSettings {
            speed: self.number(&format!("{at}.voice_settings.speed"), vs.speed.as_ref()),
            pitch: self.number(&format!("{at}.voice_settings.pitch"), vs.pitch.as_ref()),
            volume: self.number(&format!("{at}.voice_settings.volume"), vs.volume.as_ref()),
            locale: self.text(&format!("{at}.voice_settings.locale")),
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
            let at = "video.scenes[0]";
            let background = match &v.background {
                Some(_) => self.background(),
                None => self.text(&format!("{at}.background.color")).map(|value| Background {
                    kind: BackgroundType::Color,
                    value: Some(value),
                    url: None,
                    asset_id: None,
                }),
            };
            let script = self.text(&format!("{at}.script"));
            let voice_id = self.text(&format!("{at}.voice"));
            let (audio_url, audio_asset_id) = self.audio(at);
            let voice_settings = self.voice_settings(at, s);
            let motion_prompt = self.text(&format!("{at}.motion_prompt"));
            if s.avatar.is_some() {
                let avatar_id = self.required(&format!("{at}.avatar"), "the avatar look id");
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
            let script = self.text(&format!("{at}.script"));
            let voice_id = self.text(&format!("{at}.voice"));
            let (audio_url, audio_asset_id) = self.audio(&at);
            let voice_settings = self.voice_settings(&at, s);
            let scene = if s.avatar.is_some() {
                StudioScene::AvatarVideo {
                    input: SceneInput::Avatar(AvatarSceneInput {
                        avatar_id: self.required(&format!("{at}.avatar"), "the avatar look id"),
                        script,
                        voice_id,
                        audio_url,
                        audio_asset_id,
                        voice_settings,
                        engine: engine(s.engine.as_ref().or(v.engine.as_ref())),
                        motion_prompt: self.text(&format!("{at}.motion_prompt")),
                        expressiveness: s.expressiveness,
                        background: self
                            .text(&format!("{at}.background.color"))
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
                    duration: self.number(&format!("{at}.duration"), s.duration.as_ref()),
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
        let p = Path::new(raw.trim());
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

/// Keys and download paths seen so far: duplicates are errors naming both
/// rows. Stores 8-byte hashes, not the strings, so memory stays small.
#[derive(Debug, Default)]
pub struct Uniqueness {
    keys: HashMap<u64, u64, PreHashed>,
    paths: HashMap<u64, u64, PreHashed>,
}

/// The keys are already blake3 hashes: hashing them again is wasted work.
type PreHashed = std::hash::BuildHasherDefault<PassThrough>;

/// A hasher that passes a `u64` through.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn hash64(s: &str) -> u64 {
    let h = blake3::hash(s.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

impl Uniqueness {
    /// Records a job; returns the problems if its key or path was seen.
    pub fn check(&mut self, job: &Job, m: &LoadedManifest) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some(prev) = self.keys.insert(hash64(&job.key), job.line) {
            out.push(
                m.error_at("data.key", format!("duplicate row key {:?}: CSV lines {prev} and {} render the same key", job.key, job.line))
                    .row(job.row_ref())
                    .hint("keys identify rows across runs; make the key template include something unique (an email, an id column)"),
            );
        }
        if let Some(path) = &job.download
            && let Some(prev) = self.paths.insert(hash64(&path.to_string_lossy()), job.line)
        {
            out.push(
                m.error_at(
                    "output.download",
                    format!(
                        "CSV lines {prev} and {} download to the same file {}",
                        job.line,
                        path.display()
                    ),
                )
                .row(job.row_ref())
                .hint("include the key in the download path, e.g. out/videos/{{ key | slug }}.mp4"),
            );
        }
        out
    }

    /// Rows seen.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no row was seen.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("José O'Neil <ceo@acme.com>"), "jose-o-neil-ceo-acme-com");
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(slug("  "), "");
    }
}
