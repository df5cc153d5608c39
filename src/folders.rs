//! The campaign folder (`output.folder`): every video of a campaign filed
//! in one HeyGen folder, so the team finds them in the HeyGen app and
//! reelflow can follow them by folder (`GET /v3/videos?folder_id=…`).
//!
//! Folder names need not be unique in HeyGen, so the id is what counts: a
//! folder given by name is created once (`POST /v3/folders` with an
//! Idempotency-Key) and its id remembered in the results file; later runs
//! check it still exists (`GET /v3/folders/{id}`) and make a new one only
//! when it was deleted or trashed.

use serde::{Deserialize, Serialize};

use crate::heygen::wire::CreateFolder;
use crate::heygen::{ApiErrorKind, Client};
use crate::manifest::model::FolderSpec;

/// The folder as remembered in the results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderState {
    /// Its name when reelflow created or found it.
    pub name: String,
    /// Its id.
    pub id: String,
}

/// What resolving did, for the run's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderAction {
    /// The remembered (or given) folder exists.
    Reused,
    /// A folder was created.
    Created,
    /// The remembered folder was deleted or trashed; a new one was created.
    Recreated,
}

/// Why the folder could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A folder given by id does not exist (or is in the trash).
    #[error("folder `{0}` does not exist in this account (or is in the trash)")]
    Missing(String),
    /// The API failed.
    #[error("{0}")]
    Api(#[from] crate::heygen::Error),
}

/// The Idempotency-Key of the folder create: the same campaign and name
/// always send the same key (a retry or a crash-and-rerun within 24 h is
/// replayed, not duplicated); after a deletion the dead id is mixed in, or
/// HeyGen would replay the deleted folder.
pub fn folder_key(campaign: &str, name: &str, replacing: Option<&str>) -> String {
    let slug: String = crate::render::slug(campaign).chars().take(64).collect();
    let name_hash = blake3::hash(name.as_bytes()).to_hex();
    match replacing {
        None => format!("rf-folder:{slug}:{}", &name_hash[..16]),
        Some(old) => {
            format!(
                "rf-folder:{slug}:{}:{}",
                &name_hash[..16],
                &blake3::hash(old.as_bytes()).to_hex()[..8]
            )
        }
    }
}

/// Resolves `spec` to a folder id, creating the folder when needed.
pub async fn resolve(
    client: &Client,
    campaign: &str,
    spec: &FolderSpec,
    remembered: Option<&FolderState>,
) -> Result<(FolderState, FolderAction), FolderError> {
    match spec {
        FolderSpec::Id(r) => match live(client, &r.id).await? {
            Some(f) => Ok((FolderState { name: f.name, id: f.folder_id }, FolderAction::Reused)),
            None => Err(FolderError::Missing(r.id.clone())),
        },
        FolderSpec::Name(name) => {
            let mut replacing = None;
            if let Some(s) = remembered.filter(|s| s.name == *name) {
                if live(client, &s.id).await?.is_some() {
                    return Ok((s.clone(), FolderAction::Reused));
                }
                replacing = Some(s.id.as_str());
            }
            let key = folder_key(campaign, name, replacing);
            let body = CreateFolder { name: name.clone(), parent_id: None, kind: None };
            let f = client.create_folder(&body, Some(&key)).await?;
            let action =
                if replacing.is_some() { FolderAction::Recreated } else { FolderAction::Created };
            Ok((FolderState { name: name.clone(), id: f.folder_id }, action))
        }
    }
}

/// The folder, when it exists and is not in the trash.
async fn live(
    client: &Client,
    id: &str,
) -> Result<Option<crate::heygen::wire::Folder>, FolderError> {
    match client.get_folder(id).await {
        Ok(f) if !f.is_trash => Ok(Some(f)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == Some(ApiErrorKind::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
