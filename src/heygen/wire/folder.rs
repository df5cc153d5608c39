//! Folders (`POST /v3/folders`, `GET /v3/folders/{id}`) and asset uploads
//! (`POST /v3/assets`, `POST /v3/assets/direct-uploads`, `POST
//! /v3/assets/{id}/complete`).
//!
//! Folders follow v3-cli-specs-2026-11.json (`FolderCreate`, `FolderGet`;
//! gen/folder.go is new in that file). Assets are unchanged since
//! v3-cli-specs-2026-07.json (`AssetCreate`, `AssetDirectUploadsCreate`,
//! `AssetCompleteCreate`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of `POST /v3/folders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFolder {
    /// Folder name, 1–256 characters. Sibling folders may share a name, so
    /// the id is what identifies a folder.
    pub name: String,
    /// Containing folder; the workspace root when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `mixed` (the default, what the web app creates), `video` or
    /// `video_translate`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A folder, as `POST /v3/folders` and `GET /v3/folders/{id}` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Folder {
    /// Folder id: pass it as `folder_id` on creates.
    pub folder_id: String,
    /// Name.
    pub name: String,
    /// `mixed`, `video`, `video_translate` or `asset`.
    #[serde(rename = "type")]
    pub kind: String,
    /// In the trash: creates cannot file videos there.
    #[serde(default)]
    pub is_trash: bool,
    /// Containing folder; absent at the workspace root.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Creation time, unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Who created it.
    #[serde(default)]
    pub creator_username: Option<String>,
    /// Fields added by HeyGen after this version.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `data` of `POST /v3/assets` (multipart, one part named `file`, ≤ 32 MB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedAsset {
    /// Reusable asset id.
    pub asset_id: String,
    /// Public URL of the stored asset.
    pub url: String,
    /// MIME type HeyGen detected.
    pub mime_type: String,
    /// Stored size.
    pub size_bytes: u64,
}

/// The body of `POST /v3/assets/direct-uploads` (files over 32 MB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDirectUpload {
    /// Original file name (metadata only).
    pub filename: String,
    /// Declared MIME type, verified against the bytes at completion.
    pub content_type: String,
    /// Exact size; signed into the upload URL.
    pub size_bytes: u64,
    /// Optional SHA-256 (hex) the storage enforces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
}

/// `data` of `POST /v3/assets/direct-uploads`: where to PUT the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectUpload {
    /// The asset id, usable after completion.
    pub asset_id: String,
    /// Presigned URL: PUT the raw bytes here.
    pub upload_url: String,
    /// Headers to send verbatim on the PUT.
    #[serde(default)]
    pub upload_headers: Map<String, Value>,
    /// Seconds the URL stays valid.
    pub expires_in_seconds: u64,
    /// Largest upload allowed.
    pub max_bytes: u64,
    /// Always `pending_upload` here.
    pub status: String,
}

/// The body of `POST /v3/assets/{id}/complete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteUpload {
    /// Optional SHA-256 (hex) cross-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
}

/// `data` of `POST /v3/assets/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedUpload {
    /// The reusable asset id.
    pub asset_id: String,
    /// Public URL.
    pub url: String,
    /// MIME type detected from the stored bytes.
    pub mime_type: String,
    /// Stored size.
    pub size_bytes: u64,
    /// e.g. `processing`.
    pub status: String,
}
