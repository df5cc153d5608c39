//! Simulated folders: `POST /v3/folders` (with Idempotency-Key replay) and
//! `GET /v3/folders/{id}`, per v3-cli-specs-2026-11.json. A control route,
//! `POST /_sim/folders/{id}/trash`, lets tests trash a folder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::routes::{ApiFault, Caller, Shared, with_idempotency};
use crate::heygen::wire::CreateFolder;

#[derive(Debug, Default)]
struct Folders {
    /// id → (owner, folder JSON).
    by_id: HashMap<String, (String, Value)>,
    counter: u64,
}

type Store = Arc<Mutex<Folders>>;

/// The folder routes, with their own store.
pub fn routes() -> Router<Shared> {
    let store: Store = Arc::default();
    Router::new()
        .route("/v3/folders", post(create))
        .route("/v3/folders/{folder_id}", get(read))
        .route("/_sim/folders/{folder_id}/trash", post(trash))
        .layer(Extension(store))
}

fn invalid(param: &str, message: impl Into<String>) -> ApiFault {
    ApiFault::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).param(param)
}

async fn create(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Extension(store): Extension<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let who = caller.0.clone();
    let clock = s.config.clock.clone();
    with_idempotency(&s, &caller, &headers, "POST /v3/folders".into(), move |_, _| {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| invalid("body", format!("Invalid JSON body: {e}")))?;
        let req: CreateFolder = serde_path_to_error::deserialize(value).map_err(|e| {
            let param = e.path().to_string();
            invalid(if param == "." { "body" } else { &param }, e.inner().to_string())
        })?;
        let n = req.name.chars().count();
        if req.name.trim().is_empty() || n > 256 {
            return Err(invalid("name", "'name' must be 1-256 characters."));
        }
        let kind = req.kind.clone().unwrap_or_else(|| "mixed".into());
        if !["mixed", "video", "video_translate"].contains(&kind.as_str()) {
            return Err(invalid("type", "Input should be 'mixed', 'video' or 'video_translate'."));
        }
        let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
        let parent = req.parent_id.clone().filter(|p| !p.is_empty());
        if let Some(p) = &parent {
            let found =
                st.by_id.get(p).filter(|(owner, f)| *owner == who && f["is_trash"] == false);
            if found.is_none() {
                return Err(ApiFault::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Parent folder not found.",
                )
                .param("parent_id"));
            }
        }
        st.counter += 1;
        let id = format!(
            "fld_{}",
            &blake3::hash(format!("{who}/{}/{}", st.counter, req.name).as_bytes()).to_hex()[..20]
        );
        let at = clock.now() as i64;
        let folder = json!({
            "folder_id": id,
            "name": req.name,
            "type": kind,
            "is_trash": false,
            "parent_id": parent,
            "created_at": at,
            "updated_at": at,
            "creator_username": "sim_user",
        });
        st.by_id.insert(id, (who.clone(), folder.clone()));
        Ok(folder)
    })
    .await
}

async fn read(
    Extension(caller): Extension<Caller>,
    Extension(store): Extension<Store>,
    Path(id): Path<String>,
) -> Response {
    let st = store.lock().unwrap_or_else(|p| p.into_inner());
    match st.by_id.get(&id) {
        Some((owner, f)) if *owner == caller.0 => axum::Json(json!({ "data": f })).into_response(),
        _ => ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Folder not found.")
            .param("folder_id")
            .into_response(),
    }
}

async fn trash(Extension(store): Extension<Store>, Path(id): Path<String>) -> Response {
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    match st.by_id.get_mut(&id) {
        Some((_, f)) => {
            f["is_trash"] = Value::Bool(true);
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
