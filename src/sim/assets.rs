//! Simulated asset uploads: `POST /v3/assets` (multipart, one part named
//! `file`, ≤ 32 MB), and for larger files `POST /v3/assets/direct-uploads`
//! → `PUT` the bytes to the presigned URL (served here under
//! `/_sim/uploads/{id}`, which carries no credential, like S3) → `POST
//! /v3/assets/{id}/complete`. Shapes follow v3-cli-specs-2026-07.json
//! (`AssetCreate`, `AssetDirectUploadsCreate`, `AssetCompleteCreate`).
//! Assets live in the world (the SQLite file when there is one), so an
//! asset id a run remembers is still known to the next process.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde_json::json;

use super::routes::{ApiFault, Caller, Shared, parse_body, with_idempotency};
use super::state::{Inner, SimAsset};
use crate::heygen::wire::{CompleteUpload, CreateDirectUpload};

/// `POST /v3/assets` takes files up to this size.
const MULTIPART_MAX: usize = 32 * 1024 * 1024;

/// The asset routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/assets", post(create))
        .route("/v3/assets/direct-uploads", post(direct))
        .route("/v3/assets/{asset_id}/complete", post(complete))
        .route("/_sim/uploads/{asset_id}", put(receive))
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
}

/// Records a new asset of `owner` in the world; returns its id.
fn new_asset(
    w: &mut Inner,
    s: &Shared,
    owner: &str,
    mime_type: &str,
    size_bytes: u64,
    received: bool,
) -> String {
    let (id, seq) = w.next_id("asset", s.config.seed);
    w.put_asset(SimAsset {
        id: id.clone(),
        owner: owner.to_owned(),
        seq,
        mime_type: mime_type.to_owned(),
        size_bytes,
        received,
        created: s.now(),
    });
    id
}

fn asset_url(s: &Shared, id: &str) -> String {
    format!("{}/_sim/media/{id}", s.config.public_base.as_deref().unwrap_or(""))
}

/// The `file` part of a multipart body: (filename, content type, bytes).
fn file_part<'b>(
    headers: &HeaderMap,
    body: &'b [u8],
) -> Result<(String, String, &'b [u8]), ApiFault> {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = ct
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .filter(|_| ct.starts_with("multipart/form-data"))
        .ok_or_else(|| {
            ApiFault::invalid("file", "Expected multipart/form-data with a 'file' part.")
        })?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let mut rest = body;
    while let Some(start) = find(rest, delim.as_bytes()) {
        rest = &rest[start + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else { break };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delim}").as_bytes()).unwrap_or(content.len());
        if head.contains("name=\"file\"") {
            let filename = head
                .split("filename=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("upload")
                .to_owned();
            let ctype = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Content-Type:").or_else(|| l.strip_prefix("content-type:"))
                })
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| "application/octet-stream".into());
            return Ok((filename, ctype, &content[..end]));
        }
        rest = &content[end..];
    }
    Err(ApiFault::invalid("file", "Field required: 'file'."))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn create(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h2 = headers.clone();
    with_idempotency(&s, &caller, &headers, "POST /v3/assets".into(), move |w, s2, who, _| {
        let (_, ctype, bytes) = file_part(&h2, &body)?;
        if bytes.len() > MULTIPART_MAX {
            return Err(ApiFault::invalid(
                "file",
                "File exceeds 32 MB; upload larger files with POST /v3/assets/direct-uploads.",
            ));
        }
        if bytes.is_empty() {
            return Err(ApiFault::invalid("file", "'file' must not be empty."));
        }
        let id = new_asset(w, s2, who, &ctype, bytes.len() as u64, true);
        Ok(json!({
            "asset_id": id,
            "url": asset_url(s2, &id),
            "mime_type": ctype,
            "size_bytes": bytes.len(),
        }))
    })
    .await
}

async fn direct(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_idempotency(
        &s,
        &caller,
        &headers,
        "POST /v3/assets/direct-uploads".into(),
        move |w, s2, who, _| {
            let req: CreateDirectUpload = parse_body(&body, "body")?;
            if req.size_bytes == 0 {
                return Err(ApiFault::invalid(
                    "size_bytes",
                    "'size_bytes' must be greater than 0.",
                ));
            }
            let id = new_asset(w, s2, who, &req.content_type, req.size_bytes, false);
            let base = s2.config.public_base.as_deref().unwrap_or("");
            Ok(json!({
                "asset_id": id,
                "upload_url": format!("{base}/_sim/uploads/{id}?X-Sim-Signature=1"),
                "upload_headers": {"Content-Type": req.content_type},
                "expires_in_seconds": 3600,
                "max_bytes": req.size_bytes,
                "status": "pending_upload",
            }))
        },
    )
    .await
}

async fn receive(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut w = s.world();
    let Some(mut asset) = w.assets.get(&id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if body.len() as u64 != asset.size_bytes {
        return (StatusCode::BAD_REQUEST, "size does not match the signed size").into_response();
    }
    asset.received = true;
    w.put_asset(asset);
    match w.commit() {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn complete(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !body.is_empty()
        && let Err(e) = serde_json::from_slice::<CompleteUpload>(&body)
    {
        return ApiFault::invalid("body", e.to_string()).into_response();
    }
    let w = s.world();
    match w.assets.get(&id) {
        Some(a) if a.owner == caller.0 && a.received => axum::Json(json!({"data": {
            "asset_id": id,
            "url": asset_url(&s, &id),
            "mime_type": a.mime_type,
            "size_bytes": a.size_bytes,
            "status": "processing",
        }}))
        .into_response(),
        Some(a) if a.owner == caller.0 => {
            ApiFault::invalid("asset_id", "The upload has not been received yet.").into_response()
        }
        _ => ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Asset not found.")
            .param("asset_id")
            .into_response(),
    }
}
