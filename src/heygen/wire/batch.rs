//! Server-side batches (`POST /v3/videos/batches`, `GET /v3/videos/batches/{id}`).
//! reelflow runs its own bounded fan-out instead (see the run engine), but
//! the types are here so batch bodies parse and can be inspected.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CreateVideoRequest, VideoStatus};

/// The body of `POST /v3/videos/batches` (up to 100 videos).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBatchRequest {
    /// Create bodies, one per video.
    pub videos: Vec<CreateVideoRequest>,
    /// Batch title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Called once when every item is terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// One destination folder for the whole batch (items cannot carry one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
}

/// `data` of `GET /v3/videos/batches/{id}`; its cursor sits inside `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoBatch {
    /// Batch id.
    pub batch_id: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// `processing|completed|failed`.
    pub status: VideoStatus,
    /// Items in the batch.
    pub total_items: u32,
    /// Items per status.
    #[serde(default)]
    pub counts_by_status: std::collections::BTreeMap<String, u32>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// This page of items.
    #[serde(default)]
    pub items: Vec<BatchItem>,
    /// More items follow.
    #[serde(default)]
    pub has_more: bool,
    /// Cursor.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchItem {
    /// Position in `videos[]`.
    pub item_index: u32,
    /// `queued|processing|completed|failed`.
    pub status: VideoStatus,
    /// Null until created.
    #[serde(default)]
    pub video_id: Option<String>,
    /// Failure details.
    #[serde(default)]
    pub error: Option<Value>,
}
