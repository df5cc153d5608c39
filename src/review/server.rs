//! The local review server: serves the report page in review mode on
//! 127.0.0.1, the downloaded videos it links, and records decisions.
//!
//! Only loopback is bound. A decision must carry the page's random token in
//! a custom header (a cross-site form or `fetch` cannot add one without a
//! CORS preflight this server never answers), and the `Host` header must
//! name the loopback address (no DNS rebinding). Media are served only
//! when the results record them as a row's download.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::{Reviews, Verdict};
use crate::results::now_rfc3339;

/// Builds the page (fresh on every load, so it shows the latest decisions).
pub type PageFn = Arc<dyn Fn(&str) -> Result<String, PageError> + Send + Sync>;

/// Why the page could not be built (the caller's own error, kept whole).
pub type PageError = Box<dyn std::error::Error + Send + Sync>;

/// Why the server refused or failed a request; each maps to one HTTP
/// status and is sent as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    /// Only 127.0.0.1 / localhost on our port (DNS rebinding).
    #[error("unexpected Host header")]
    Host,
    /// Decisions must carry the page's token.
    #[error("missing or wrong review token; reload the page")]
    Token,
    /// The decision's JSON did not parse.
    #[error("bad request body: {0}")]
    Body(#[source] serde_json::Error),
    /// There is no results file yet.
    #[error("no results yet")]
    NoResults,
    /// The key is not a row of the results.
    #[error("no row with key {0}")]
    NoRow(String),
    /// Only completed rows have a video to judge.
    #[error("only rendered videos can be reviewed")]
    NotRendered,
    /// The path is not a download this campaign's results name.
    #[error("not a download of this campaign")]
    NotADownload,
    /// The download is named but missing on disk.
    #[error("file not found")]
    NoFile(#[source] std::io::Error),
    /// The results file could not be read.
    #[error(transparent)]
    Results(#[from] crate::results::ResultsError),
    /// The reviews file could not be read or written.
    #[error(transparent)]
    Reviews(#[from] super::ReviewsError),
    /// The page could not be built.
    #[error("the page could not be built: {0}")]
    Page(#[source] PageError),
    /// The blocking worker stopped (it panicked).
    #[error("the server's worker stopped")]
    Worker(#[from] tokio::task::JoinError),
}

impl ServeError {
    fn status(&self) -> StatusCode {
        match self {
            ServeError::Host | ServeError::Token => StatusCode::FORBIDDEN,
            ServeError::Body(_) => StatusCode::BAD_REQUEST,
            ServeError::NoResults
            | ServeError::NoRow(_)
            | ServeError::NotADownload
            | ServeError::NoFile(_) => StatusCode::NOT_FOUND,
            ServeError::NotRendered => StatusCode::CONFLICT,
            ServeError::Results(_)
            | ServeError::Reviews(_)
            | ServeError::Page(_)
            | ServeError::Worker(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let message = match &self {
            // Which path was missing is the server's business, not the page's.
            ServeError::NoFile(_) => self.to_string(),
            _ => crate::diag::chain(&self),
        };
        (self.status(), axum::Json(json!({ "error": message }))).into_response()
    }
}

/// What the server needs.
#[derive(Clone)]
pub struct ReviewConfig {
    /// The merged results file path (the main one; shards are merged).
    pub results: PathBuf,
    /// The reviews file.
    pub reviews: PathBuf,
    /// The manifest's folder: results' `file` paths are relative to it.
    pub base_dir: PathBuf,
    /// Token the page must send back with decisions.
    pub token: String,
    /// The page, given the token.
    pub page: PageFn,
    /// Who records the decisions (resolved by the caller, e.g. from
    /// `REELFLOW_REVIEWER`; the library reads no environment).
    pub reviewer: String,
}

struct Shared {
    config: ReviewConfig,
    port: u16,
    /// Decisions are read-modify-write on one file: one at a time.
    lock: Mutex<()>,
}

/// A running review server.
pub struct ReviewServer {
    addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl ReviewServer {
    /// Binds `127.0.0.1:port` (0 picks a free port) and serves in the
    /// background.
    pub async fn start(config: ReviewConfig, port: u16) -> std::io::Result<ReviewServer> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { config, port: addr.port(), lock: Mutex::new(()) });
        let app = Router::new()
            .route("/", get(page))
            .route("/api/review", post(decide))
            .route("/media/{*path}", get(media))
            .with_state(shared);
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ReviewServer { addr, handle })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the task ends (Ctrl-C ends the process).
    pub async fn wait(&mut self) {
        let _ = (&mut self.handle).await;
    }
}

impl Drop for ReviewServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

fn host_ok(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let port = shared.port;
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

async fn page(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ServeError> {
    if !host_ok(&s, &headers) {
        return Err(ServeError::Host);
    }
    let build = s.config.page.clone();
    let token = s.config.token.clone();
    let html =
        tokio::task::spawn_blocking(move || build(&token)).await?.map_err(ServeError::Page)?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        html,
    )
        .into_response())
}

#[derive(Deserialize)]
struct DecideBody {
    key: String,
    decision: Verdict,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ServeError> {
    if !host_ok(&s, &headers) {
        return Err(ServeError::Host);
    }
    let token = headers.get("x-reelflow-token").and_then(|h| h.to_str().ok());
    if token != Some(s.config.token.as_str()) {
        return Err(ServeError::Token);
    }
    let body: DecideBody = serde_json::from_slice(&body).map_err(ServeError::Body)?;
    let _guard = s.lock.lock().await;
    let config = s.config.clone();
    let v = tokio::task::spawn_blocking(move || record(&config, &body)).await??;
    Ok(axum::Json(v).into_response())
}

fn record(config: &ReviewConfig, body: &DecideBody) -> Result<serde_json::Value, ServeError> {
    let results = crate::report::load_results(&config.results)?.ok_or(ServeError::NoResults)?;
    let entry = results
        .entries
        .iter()
        .find(|e| e.key == body.key)
        .ok_or_else(|| ServeError::NoRow(body.key.clone()))?;
    if entry.status != crate::results::EntryStatus::Completed {
        return Err(ServeError::NotRendered);
    }
    let mut reviews = Reviews::read(&config.reviews)?;
    reviews.decide(entry, body.decision, &config.reviewer, &now_rfc3339(), &body.note);
    reviews.write(&config.reviews)?;
    let d = reviews.decision(&body.key).cloned();
    Ok(json!({
        "key": body.key,
        "review": {
            "state": body.decision.as_str(),
            "by": d.as_ref().map(|d| d.by.clone()),
            "at": d.as_ref().map(|d| d.at.clone()),
            "note": d.map(|d| d.note).unwrap_or_default(),
        }
    }))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("srt") => "text/plain; charset=utf-8",
        Some("vtt") => "text/vtt",
        _ => "application/octet-stream",
    }
}

async fn media(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    UrlPath(path): UrlPath<String>,
) -> Result<Response, ServeError> {
    if !host_ok(&s, &headers) {
        return Err(ServeError::Host);
    }
    // Only files the results name as a row's download are served.
    let results = crate::report::load_results(&s.config.results)?.ok_or(ServeError::NoResults)?;
    let known = results.entries.iter().any(|e| {
        e.file.as_deref() == Some(path.as_str())
            || serde_json::to_value(e)
                .ok()
                .and_then(|v| v.get("thumbnail_file").and_then(|t| t.as_str().map(str::to_owned)))
                .as_deref()
                == Some(path.as_str())
    });
    if !known {
        return Err(ServeError::NotADownload);
    }
    let file = s.config.base_dir.join(&path);
    let bytes = tokio::fs::read(&file).await.map_err(ServeError::NoFile)?;
    Ok((
        [(header::CONTENT_TYPE, content_type(&file)), (header::CACHE_CONTROL, "no-store")],
        Body::from(bytes),
    )
        .into_response())
}

/// A random token for one server's lifetime.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
