//! What one row becomes: the job and its exact v3 request.

use std::path::PathBuf;
use std::sync::Arc;

use crate::assets::LocalFile;
use crate::diag::RowRef;
use crate::heygen::wire::{CreateVideoRequest, GenerateFromTemplate};

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
    /// `(account tag, hash)` computed by the expansion worker that built the
    /// job, so the hash (a serialization and a blake3 pass) is paid on
    /// every core instead of on the one thread that plans. Only expansion
    /// sets it; [`crate::plan::job_hash`] uses it when the account matches.
    /// Nothing changes a job's request between expansion and planning.
    pub(crate) digest: Option<(u64, String)>,
}

impl Job {
    /// The row reference for diagnostics.
    pub fn row_ref(&self) -> RowRef {
        RowRef { line: self.line, key: Some(self.key.clone()) }
    }
}

/// A short tag naming an account in [`Job`]'s stored hash: comparing tags
/// costs no allocation per row.
pub(crate) fn account_tag(account: &str) -> u64 {
    use std::hash::BuildHasher;
    std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(account)
}
