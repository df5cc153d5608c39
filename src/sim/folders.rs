//! Simulated folders: `POST /v3/folders` (with Idempotency-Key replay) and
//! `GET /v3/folders/{id}`, per v3-cli-specs-2026-11.json. A control route,
//! `POST /_sim/folders/{id}/trash`, lets tests trash a folder. Folders live
//! in the world (the SQLite file when there is one), written in the same
//! transaction as the create's idempotency entry, so every simulator on
//! the file, and the next one, sees them.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::routes::{ApiFault, Caller, Shared, parse_body, with_idempotency};
use super::state::SimFolder;
use crate::heygen::wire::CreateFolder;

/// The folder routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v3/folders", post(create))
        .route("/v3/folders/{folder_id}", get(read))
        .route("/_sim/folders/{folder_id}/trash", post(trash))
}

async fn create(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_idempotency(&s, &caller, &headers, "POST /v3/folders".into(), move |w, s2, who, _| {
        let req: CreateFolder = parse_body(&body, "body")?;
        let n = req.name.chars().count();
        if req.name.trim().is_empty() || n > 256 {
            return Err(ApiFault::invalid("name", "'name' must be 1-256 characters."));
        }
        let kind = req.kind.clone().unwrap_or_else(|| "mixed".into());
        if !["mixed", "video", "video_translate"].contains(&kind.as_str()) {
            return Err(ApiFault::invalid(
                "type",
                "Input should be 'mixed', 'video' or 'video_translate'.",
            ));
        }
        let parent = req.parent_id.clone().filter(|p| !p.is_empty());
        if let Some(p) = &parent
            && !w.folders.get(p).is_some_and(|f| f.usable_by(who))
        {
            return Err(ApiFault::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Parent folder not found.",
            )
            .param("parent_id"));
        }
        let (id, seq) = w.next_id("fld", s2.config.seed);
        let at = s2.now() as i64;
        let folder = SimFolder {
            id,
            owner: who.to_owned(),
            seq,
            name: req.name,
            kind,
            parent_id: parent,
            is_trash: false,
            created_at: at,
            updated_at: at,
        };
        let answer = folder.json();
        w.put_folder(folder);
        Ok(answer)
    })
    .await
}

async fn read(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let w = s.world();
    match w.folders.get(&id) {
        // A trashed folder is still found (`is_trash: true`).
        Some(f) if f.owner == caller.0 => axum::Json(json!({ "data": f.json() })).into_response(),
        _ => ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Folder not found.")
            .param("folder_id")
            .into_response(),
    }
}

async fn trash(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let mut w = s.world();
    let Some(mut folder) = w.folders.get(&id).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    folder.is_trash = true;
    folder.updated_at = s.now() as i64;
    w.put_folder(folder);
    match w.commit() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
