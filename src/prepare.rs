//! What `reelflow run` settles after validation and before the engine
//! starts: the campaign folder, the uploads of local files and the text
//! variables a template render keeps at their template value. Their ids
//! are known only now, so they are substituted into the request bodies
//! here, after each job's hash was computed from the body with
//! placeholders: a rerun hashes the same and is not re-rendered because a
//! folder or asset id is new.

use std::collections::BTreeMap;

use crate::assets::{self, UploadSet};
use crate::folders::{self, FolderAction};
use crate::heygen::Client;
use crate::heygen::wire::{CreateVideoRequest, TemplateVariable};
use crate::manifest::LoadedManifest;
use crate::plan::PlannedJob;
use crate::render::JobRequest;
use crate::results::ResultsFile;

/// Why preparing failed; nothing was created for the videos yet.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The folder.
    #[error("output.folder: {0}")]
    Folder(#[from] folders::FolderError),
    /// An upload.
    #[error("{0}")]
    Upload(#[from] assets::UploadError),
    /// The template's current values could not be read.
    #[error("template.keep_template_value: cannot read template `{id}`: {source}")]
    TemplateRead {
        /// The template.
        id: String,
        /// HeyGen's answer.
        #[source]
        source: crate::heygen::Error,
    },
    /// The template holds no text value for a variable to keep.
    #[error("template.keep_template_value: template `{id}` holds no text value for `{name}`")]
    TemplateValue {
        /// The template.
        id: String,
        /// The variable.
        name: String,
    },
    /// The results file (which remembers the folder and uploads) could not
    /// be written.
    #[error("cannot write {}", path.display())]
    State {
        /// The results file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A body names a local file that has no upload (a reelflow bug).
    #[error("cannot put the uploaded asset ids into a request: a local file has no upload")]
    NoUpload,
    /// A body no longer parses once its run-time ids are in (a reelflow bug).
    #[error("cannot put the uploaded asset ids into a request")]
    Body(#[source] crate::heygen::wire::BodyError),
    /// A template body no longer parses once its run-time ids are in.
    #[error("cannot put the uploaded asset ids into a request")]
    TemplateBody(#[source] serde_json::Error),
}

/// What preparing did, for the run's notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// One line per thing done.
    pub notes: Vec<String>,
    /// Files uploaded now.
    pub uploaded: usize,
}

/// Settles folder, uploads and kept template values for the jobs a run
/// submits, records folder and uploads in `state` (created when `None`,
/// and written to `results_path` at once so an interrupted run does not
/// upload again), and substitutes the ids into the jobs' bodies.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the run
pub async fn prepare(
    client: &Client,
    m: &LoadedManifest,
    account: &str,
    shard: Option<String>,
    state: &mut Option<ResultsFile>,
    results_path: &std::path::Path,
    jobs: &mut [PlannedJob],
    retry_failed: bool,
) -> Result<Prepared, PrepareError> {
    let mut out = Prepared::default();
    let submitting = |j: &PlannedJob| j.change.submits(retry_failed);
    if !jobs.iter().any(submitting) {
        return Ok(out);
    }
    let campaign = &m.manifest.name;
    // State of another account names folders and assets it cannot use.
    let same_account = state.as_ref().is_none_or(|s| s.account == account);
    let mut remembered_folder =
        state.as_ref().filter(|_| same_account).and_then(|s| s.folder.clone());
    let mut known =
        state.as_ref().filter(|_| same_account).map(|s| s.uploads.clone()).unwrap_or_default();

    let folder_id = match &m.manifest.output.folder {
        None => None,
        Some(spec) => {
            let (f, action) =
                folders::resolve(client, campaign, spec, remembered_folder.as_ref()).await?;
            out.notes.push(match action {
                FolderAction::Reused => format!("folder: filing videos in {:?} ({})", f.name, f.id),
                FolderAction::Created => format!("folder: created {:?} ({})", f.name, f.id),
                FolderAction::Recreated => format!(
                    "folder: the remembered folder was deleted; created {:?} again ({})",
                    f.name, f.id
                ),
            });
            let id = f.id.clone();
            remembered_folder = Some(f);
            Some(id)
        }
    };

    let mut set = UploadSet::default();
    for j in jobs.iter().filter(|j| submitting(j)) {
        set.add(&j.job.uploads);
    }
    let pending: Vec<assets::LocalFile> = set.pending(&known).cloned().collect();
    let mut upload_error = None;
    for f in &pending {
        match assets::upload(client, f).await {
            Ok(rec) => {
                out.notes
                    .push(format!("uploaded {} ({} bytes) as {}", f.file, f.bytes, rec.asset_id));
                known.insert(f.hash.clone(), rec);
                out.uploaded += 1;
            }
            Err(e) => {
                upload_error = Some(e);
                break;
            }
        }
    }
    // Remember what exists now, even when an upload failed: the next run
    // must not upload the others again.
    let file = state.get_or_insert_with(|| ResultsFile::new(campaign, account, shard));
    if same_account {
        file.folder = remembered_folder;
        file.uploads = known.clone();
    }
    if folder_id.is_some() || out.uploaded > 0 {
        file.write(results_path)
            .map_err(|source| PrepareError::State { path: results_path.to_owned(), source })?;
    }
    if let Some(e) = upload_error {
        return Err(e.into());
    }

    let kept = kept_values(client, m).await?;
    for j in jobs.iter_mut().filter(|j| submitting(j)) {
        substitute(&mut j.job.request, folder_id.as_deref(), &known, &kept)?;
    }
    Ok(out)
}

/// The current values of the text variables a template render keeps.
async fn kept_values(
    client: &Client,
    m: &LoadedManifest,
) -> Result<BTreeMap<String, String>, PrepareError> {
    let Some(t) = &m.manifest.template else { return Ok(BTreeMap::new()) };
    if t.keep_template_value.is_empty() {
        return Ok(BTreeMap::new());
    }
    let detail = client
        .get_template(&t.id)
        .await
        .map_err(|source| PrepareError::TemplateRead { id: t.id.clone(), source })?;
    let mut out = BTreeMap::new();
    for name in &t.keep_template_value {
        let content = detail
            .variables
            .get(name)
            .and_then(|v| v.get("content"))
            .and_then(|c| c.as_str())
            .ok_or_else(|| PrepareError::TemplateValue { id: t.id.clone(), name: name.clone() })?;
        out.insert(name.clone(), content.to_owned());
    }
    Ok(out)
}

/// Puts the run-time ids into one request.
fn substitute(
    request: &mut JobRequest,
    folder_id: Option<&str>,
    uploads: &BTreeMap<String, assets::UploadRecord>,
    kept: &BTreeMap<String, String>,
) -> Result<(), PrepareError> {
    if !uploads.is_empty() {
        let mut body = request.body_json();
        if body.to_string().contains(assets::LOCAL_PREFIX) {
            if !assets::substitute(&mut body, uploads) {
                return Err(PrepareError::NoUpload);
            }
            *request = match request {
                JobRequest::Video(_) => JobRequest::Video(Box::new(
                    CreateVideoRequest::from_value(body).map_err(PrepareError::Body)?,
                )),
                JobRequest::Template { template_id, .. } => JobRequest::Template {
                    template_id: template_id.clone(),
                    body: Box::new(
                        serde_json::from_value(body).map_err(PrepareError::TemplateBody)?,
                    ),
                },
            };
        }
    }
    if let Some(id) = folder_id {
        request.set_folder(id);
    }
    if let JobRequest::Template { body, .. } = request {
        for (name, content) in kept {
            body.variables
                .entry(name.clone())
                .or_insert_with(|| TemplateVariable::Text { content: content.clone() });
        }
    }
    Ok(())
}
