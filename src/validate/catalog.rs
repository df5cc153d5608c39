//! Catalog checks: every avatar look, voice and template a job uses must
//! exist in the account and fit the request (engine support, readiness).
//! The catalog (all pages of looks, groups and voices, public and private)
//! is fetched once and cached on disk per account with a TTL.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::manifest_field;
use crate::diag::{Diagnostic, did_you_mean};
use crate::heygen::paging::{self, AvatarGroupQuery, LookQuery, TemplateQuery, VoiceQuery};
use crate::heygen::wire::{
    AvatarGroup, AvatarLook, AvatarType, TemplateDetail, TemplateSummary, Voice,
};
use crate::heygen::{ApiErrorKind, Client, rules};
use crate::manifest::LoadedManifest;
use crate::render::{Job, JobRequest};

fn with_article(kind: &str) -> String {
    let an = kind.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {kind}", if an { "an" } else { "a" })
}

/// How long a cached catalog is trusted.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Everything an account can render with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// When it was fetched, unix seconds.
    pub fetched_at: u64,
    /// Avatar looks, public and private.
    pub looks: Vec<AvatarLook>,
    /// Avatar groups, public and private.
    pub groups: Vec<AvatarGroup>,
    /// Voices, public and private.
    pub voices: Vec<Voice>,
    /// Templates (summaries).
    pub templates: Vec<TemplateSummary>,
}

/// Fetches the whole catalog (every page).
pub async fn fetch(client: &Client) -> Result<Catalog, crate::heygen::Error> {
    let looks =
        paging::collect_all(LookQuery::default(), |q| async move { client.list_looks(&q).await });
    let groups = paging::collect_all(AvatarGroupQuery::default(), |q| async move {
        client.list_avatar_groups(&q).await
    });
    let public = paging::collect_all(
        VoiceQuery { kind: Some("public".into()), ..Default::default() },
        |q| async move { client.list_voices(&q).await },
    );
    let private = paging::collect_all(
        VoiceQuery { kind: Some("private".into()), ..Default::default() },
        |q| async move { client.list_voices(&q).await },
    );
    let templates = paging::collect_all(TemplateQuery::default(), |q| async move {
        client.list_templates(&q).await
    });
    let (looks, groups, public, private, templates) =
        tokio::try_join!(looks, groups, public, private, templates)?;
    let mut voices = public;
    voices.extend(private);
    let fetched_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Ok(Catalog { fetched_at, looks, groups, voices, templates })
}

/// How a catalog was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Fetched from the API now.
    Fetched,
    /// Read from the cache.
    Cached {
        /// Its age in seconds.
        age_secs: u64,
    },
}

/// The catalog from the cache when fresh, else fetched (and cached).
/// `cache` is `None` to skip the disk (the in-process simulator).
pub async fn load(
    client: &Client,
    cache: Option<PathBuf>,
    ttl: Duration,
    refresh: bool,
) -> Result<(Catalog, Source), crate::heygen::Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let file = cache.map(|d| d.join(format!("catalog-{}.json", client.fingerprint())));
    if let (Some(f), false) = (&file, refresh)
        && let Some(c) =
            std::fs::read(f).ok().and_then(|b| serde_json::from_slice::<Catalog>(&b).ok())
    {
        let age = now.saturating_sub(c.fetched_at);
        if age < ttl.as_secs() {
            return Ok((c, Source::Cached { age_secs: age }));
        }
    }
    let catalog = fetch(client).await?;
    if let Some(f) = file {
        // A cache that cannot be written is only slower, never wrong.
        let _ = crate::results::write_atomic(&f, &serde_json::to_vec(&catalog).unwrap_or_default());
    }
    Ok((catalog, Source::Fetched))
}

/// Lookups over a catalog, with per-id answers memoized: a million rows
/// using three looks cost three checks.
#[derive(Debug)]
pub struct CatalogIndex {
    catalog: Catalog,
    looks: HashMap<String, usize>,
    groups: HashMap<String, usize>,
    voices: HashMap<String, usize>,
    memo: HashMap<String, Option<(String, Option<String>)>>,
    templates: BTreeMap<String, TemplateDetail>,
}

impl CatalogIndex {
    /// Indexes a catalog.
    pub fn new(catalog: Catalog) -> Self {
        let looks = catalog.looks.iter().enumerate().map(|(i, l)| (l.id.clone(), i)).collect();
        let groups = catalog.groups.iter().enumerate().map(|(i, g)| (g.id.clone(), i)).collect();
        let voices =
            catalog.voices.iter().enumerate().map(|(i, v)| (v.voice_id.clone(), i)).collect();
        CatalogIndex {
            catalog,
            looks,
            groups,
            voices,
            memo: HashMap::new(),
            templates: BTreeMap::new(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A look by id.
    pub fn look(&self, id: &str) -> Option<&AvatarLook> {
        self.looks.get(id).map(|&i| &self.catalog.looks[i])
    }

    /// The avatar type of a look, for cost estimates.
    pub fn avatar_type(&self, id: &str) -> Option<AvatarType> {
        self.look(id).map(|l| l.avatar_type.clone())
    }

    /// A template's detail, once fetched with [`CatalogIndex::load_template`].
    pub fn template(&self, id: &str) -> Option<&TemplateDetail> {
        self.templates.get(id)
    }

    /// Fetches a template's detail. A missing template is a diagnostic.
    pub async fn load_template(
        &mut self,
        client: &Client,
        m: &LoadedManifest,
    ) -> Result<Vec<Diagnostic>, crate::heygen::Error> {
        let Some(spec) = &m.manifest.template else { return Ok(Vec::new()) };
        match client.get_template(&spec.id).await {
            Ok(t) => {
                let problems = self.check_template(&t, m);
                self.templates.insert(t.id.clone(), t);
                Ok(problems)
            }
            Err(e) if e.kind() == Some(ApiErrorKind::NotFound) => {
                let ids: Vec<&str> = self.catalog.templates.iter().map(|t| t.id.as_str()).collect();
                let mut d = m.error_at(
                    "template.id",
                    format!("template `{}` is not in this account", spec.id),
                );
                d = match did_you_mean(&spec.id, ids.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None if ids.is_empty() => {
                        d.hint("this account has no API-ready templates (templates need variables)")
                    }
                    None => d.hint(format!("templates: {}", ids.join(", "))),
                };
                Ok(vec![d])
            }
            Err(e) => Err(e),
        }
    }

    /// The manifest's template variables and scenes against the template.
    fn check_template(&self, t: &TemplateDetail, m: &LoadedManifest) -> Vec<Diagnostic> {
        let Some(spec) = &m.manifest.template else { return Vec::new() };
        let mut out = Vec::new();
        let declared: BTreeMap<&str, &str> = t
            .scenes
            .iter()
            .flat_map(|s| &s.variables)
            .map(|v| (v.name.as_str(), v.variable_type.as_str()))
            .chain(t.variables.iter().filter_map(|(k, v)| {
                v.get("type").and_then(|t| t.as_str()).map(|ty| (k.as_str(), ty))
            }))
            .collect();
        for (name, var) in &spec.variables {
            let field = format!("template.variables.{name}");
            let kind = match var {
                crate::manifest::model::TemplateVarSpec::Text(_) => "text",
                crate::manifest::model::TemplateVarSpec::Typed(tv) => match tv.kind {
                    crate::manifest::model::VarKind::Text => "text",
                    crate::manifest::model::VarKind::Image => "image",
                    crate::manifest::model::VarKind::Video => "video",
                    crate::manifest::model::VarKind::Audio => "audio",
                    crate::manifest::model::VarKind::Character => "character",
                    crate::manifest::model::VarKind::Voice => "voice",
                },
            };
            match declared.get(name.as_str()) {
                None => {
                    let names: Vec<&str> = declared.keys().copied().collect();
                    let mut d = m.error_at(&field, format!("template `{}` has no variable `{name}`", t.id));
                    d = match did_you_mean(name, names.iter().copied()) {
                        Some(s) => d.hint(format!("did you mean `{s}`? Its variables: {}", names.join(", "))),
                        None => d.hint(format!("its variables: {}", names.join(", "))),
                    };
                    out.push(d);
                }
                Some(declared_kind) if *declared_kind != kind => out.push(
                    m.error_at(&field, format!("variable `{name}` of template `{}` takes {}, the manifest gives {kind}", t.id, with_article(declared_kind)))
                        .hint(format!("write it as {{type: {declared_kind}, …}}")),
                ),
                Some(_) => {}
            }
        }
        // HeyGen leaves an omitted text variable's literal `{{name}}` in
        // the script or on screen: every one must be set, or kept on purpose.
        let mut unset: Vec<(&str, Vec<String>)> = declared
            .iter()
            .filter(|(name, kind)| {
                **kind == "text"
                    && !spec.variables.contains_key(**name)
                    && !spec.keep_template_value.iter().any(|k| k == **name)
            })
            .map(|(name, _)| (*name, text_variable_places(t, name)))
            .collect();
        unset.sort();
        if !unset.is_empty() {
            let names: Vec<&str> = unset.iter().map(|(n, _)| *n).collect();
            let places: Vec<String> = unset
                .iter()
                .map(|(n, at)| {
                    if at.is_empty() {
                        format!("`{n}` (declared by the template)")
                    } else {
                        format!("`{n}` in {}", at.join(", "))
                    }
                })
                .collect();
            out.push(
                m.error_at(
                    "template.variables",
                    format!(
                        "template `{}` has text variable{} the manifest does not set: {}; HeyGen leaves an unset text variable as its literal {{{{name}}}} placeholder in the video",
                        t.id,
                        if names.len() == 1 { "" } else { "s" },
                        places.join("; "),
                    ),
                )
                .hint(format!(
                    "set {} under `template.variables`, or list {} in `template.keep_template_value` to send the template's current value on purpose",
                    names.join(", "),
                    if names.len() == 1 { "it" } else { "them" }
                )),
            );
        }
        for (i, name) in spec.keep_template_value.iter().enumerate() {
            if declared.get(name.as_str()) != Some(&"text") {
                out.push(
                    m.error_at(
                        &format!("template.keep_template_value[{i}]"),
                        format!("template `{}` has no text variable `{name}`", t.id),
                    )
                    .hint("only text variables are kept; media, character and voice variables keep their template value when omitted"),
                );
            }
        }
        if spec.brand_voice_id.is_some() {
            out.push(
                Diagnostic::warning(
                    "`template.brand_voice_id` is deprecated by HeyGen (still accepted)",
                )
                .field("template.brand_voice_id")
                .at(m.location("template.brand_voice_id"))
                .hint(
                    "use `brand_glossary_id` (HeyGen lists glossaries at GET /v3/brand-glossaries)",
                ),
            );
        }
        for (i, sid) in spec.scene_ids.iter().flatten().enumerate() {
            if !t.scene_ids.contains(sid) {
                out.push(
                    m.error_at(
                        &format!("template.scene_ids[{i}]"),
                        format!("template `{}` has no scene `{sid}`", t.id),
                    )
                    .hint(format!("its scenes: {}", t.scene_ids.join(", "))),
                );
            }
        }
        out
    }

    /// Every catalog problem of one job.
    pub fn check_job(
        &mut self,
        job: &Job,
        m: &LoadedManifest,
        prov: &crate::expand::Provenance,
    ) -> Vec<Diagnostic> {
        let resolution = match &job.request {
            JobRequest::Video(r) => r.resolution(),
            JobRequest::Template { .. } => crate::heygen::wire::Resolution::P1080,
        };
        let refs = match &job.request {
            JobRequest::Video(r) => rules::references(r),
            JobRequest::Template { body, .. } => rules::template_references(body),
        };
        let mut out = Vec::new();
        for r in &refs {
            let memo_key = format!("{:?}|{}|{:?}", r.kind, r.id, resolution);
            if !self.memo.contains_key(&memo_key) {
                let answer = self.judge(r, resolution);
                self.memo.insert(memo_key.clone(), answer);
            }
            if let Some((message, hint)) = &self.memo[&memo_key] {
                let field = manifest_field(prov, &r.param);
                let mut d = m.error_at(&field, message.clone()).row(job.row_ref());
                if let Some(h) = hint {
                    d = d.hint(h.clone());
                }
                out.push(d);
            }
        }
        if let JobRequest::Video(v) = &job.request {
            let looks = &self.catalog.looks;
            let group =
                |g: &str| looks.iter().filter(|l| l.group_id.as_deref() == Some(g)).collect();
            for p in rules::avatar_v_problems(v, &|id| self.look(id), &group) {
                let field = manifest_field(prov, &p.param);
                out.push(
                    m.error_at(&field, p.message)
                        .row(job.row_ref())
                        .hint("`reelflow avatars` lists looks with their type and group"),
                );
            }
        }
        // A script without a voice uses the look's default voice; it must have one.
        if let JobRequest::Video(v) = &job.request
            && let crate::heygen::wire::CreateVideoRequest::Avatar(a) = v.as_ref()
            && a.script.is_some()
            && a.voice_id.is_none()
            && let Some(l) = self.look(&a.avatar_id)
            && l.default_voice_id.is_none()
        {
            out.push(
                m.error_at(
                    &manifest_field(prov, "voice_id"),
                    format!("look `{}` has no default voice, so this scene needs a `voice`", l.id),
                )
                .row(job.row_ref())
                .hint("`reelflow voices` lists voice ids"),
            );
        }
        out
    }

    /// Whether one reference is usable: `None`, or (message, hint).
    fn judge(
        &self,
        r: &rules::Reference<'_>,
        resolution: crate::heygen::wire::Resolution,
    ) -> Option<(String, Option<String>)> {
        match r.kind {
            rules::RefKind::Look { engine, motion_prompt } => {
                if let Some(look) = self.look(r.id) {
                    return rules::look_problem(look, engine, motion_prompt, resolution).map(|p| {
                        let hint = if !look.is_usable() {
                            "this private look is not finished training; wait until `reelflow avatars --ownership private` shows it ready, or use another look".to_owned()
                        } else {
                            let engines: Vec<String> = look.engines().iter().map(|e| e.as_str().to_owned()).collect();
                            format!("this look supports: {}; set the scene's `engine` to one of them", engines.join(", "))
                        };
                        (p, Some(hint))
                    });
                }
                if let Some(&gi) = self.groups.get(r.id) {
                    let g = &self.catalog.groups[gi];
                    let looks: Vec<&str> = self
                        .catalog
                        .looks
                        .iter()
                        .filter(|l| l.group_id.as_deref() == Some(g.id.as_str()))
                        .map(|l| l.id.as_str())
                        .collect();
                    return Some((
                        format!("`{}` is an avatar group ({}), not a look", r.id, g.name),
                        Some(format!(
                            "videos take a look id; this group's looks are: {}",
                            looks.join(", ")
                        )),
                    ));
                }
                let hint =
                    match did_you_mean(r.id, self.catalog.looks.iter().map(|l| l.id.as_str())) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "`reelflow avatars` lists the looks this account can use".to_owned()
                        }
                    };
                Some((
                    format!("avatar look `{}` is not in this account's catalog", r.id),
                    Some(hint),
                ))
            }
            rules::RefKind::Voice => {
                if self.voices.contains_key(r.id) {
                    return None;
                }
                let by_name: Vec<&Voice> = self
                    .catalog
                    .voices
                    .iter()
                    .filter(|v| v.name.eq_ignore_ascii_case(r.id))
                    .collect();
                let hint = if let Some(v) = by_name.first() {
                    format!(
                        "`{}` is a voice name; its id is `{}` ({})",
                        r.id, v.voice_id, v.language
                    )
                } else {
                    match did_you_mean(
                        r.id,
                        self.catalog.voices.iter().map(|v| v.voice_id.as_str()),
                    ) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "`reelflow voices` lists the voice ids this account can use".to_owned()
                        }
                    }
                };
                Some((format!("voice `{}` is not in this account's catalog", r.id), Some(hint)))
            }
        }
    }
}

/// Where a text variable appears in a template: scene scripts and
/// on-screen elements (`elements[].text_variables`, present for workspaces
/// with the template authoring API).
fn text_variable_places(t: &TemplateDetail, name: &str) -> Vec<String> {
    let placeholder = format!("{{{{{name}}}}}");
    let mut out: Vec<String> = t
        .scenes
        .iter()
        .filter(|s| {
            s.script.as_deref().is_some_and(|x| x.contains(&placeholder))
                || s.variables.iter().any(|v| v.name == name)
        })
        .map(|s| match s.script.as_deref() {
            Some(x) if x.contains(&placeholder) => {
                let short: String = x.chars().take(60).collect();
                let more = if x.chars().count() > 60 { "…" } else { "" };
                format!("scene {} script \"{short}{more}\"", s.scene_id)
            }
            _ => format!("scene {}", s.scene_id),
        })
        .collect();
    if let Some(serde_json::Value::Array(elements)) = t.extra.get("elements") {
        for e in elements {
            let uses = e
                .get("text_variables")
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(name)));
            if uses {
                let kind = e.get("element_type").and_then(|v| v.as_str()).unwrap_or("element");
                let id = e.get("element_id").and_then(|v| v.as_str()).unwrap_or("?");
                let scene = e.get("scene_id").and_then(|v| v.as_str());
                out.push(match scene {
                    Some(sc) => format!("{kind} element {id} (scene {sc})"),
                    None => format!("{kind} element {id}"),
                });
            }
        }
    }
    out
}
