//! The simulator's v3 endpoints and its `/_sim` control plane.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use super::faults::FaultRule;
use super::media::{self, MediaKind, Presign};
use super::state::{IN_FLIGHT_STALE_SECS, IdemEntry, Inner, Phase, SimState, SimVideo};
use super::timing::unit_hash;
use crate::heygen::rules;
use crate::heygen::wire::{
    AvatarLook, AvatarType, Caption, CaptionStyle, CreateVideoRequest, GenerateFromTemplate,
    TemplateVariable,
};
use crate::pricing;

/// The caller's account key (the API key or token), set by the front door.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

pub(super) type Shared = Arc<SimState>;

/// An error answer in the v3 envelope.
#[derive(Debug)]
pub struct ApiFault {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiFault {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiFault { status, code, message: message.into(), param: None, retry_after: None }
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400 `invalid_parameter` naming `param`.
    pub(super) fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).param(param)
    }

    pub fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "doc_url": format!("https://developers.heygen.com/docs/error-codes#{}", self.code.replace('_', "-")),
        }})
    }
}

impl IntoResponse for ApiFault {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

type ApiResult = Result<Response, ApiFault>;

fn ok<T: Serialize>(data: T) -> ApiResult {
    Ok(axum::Json(json!({ "data": data })).into_response())
}

/// All routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/v3/videos", get(list_videos).post(create_video))
        .route("/v3/videos/statuses", get(video_statuses))
        .route("/v3/videos/{video_id}", get(get_video).delete(delete_video))
        .route("/v3/avatars", get(list_groups))
        .route("/v3/avatars/looks", get(list_looks))
        .route("/v3/avatars/looks/{look_id}", get(get_look))
        .route("/v3/avatars/{group_id}", get(get_group))
        .route("/v3/voices", get(list_voices))
        .route("/v3/voices/{voice_id}", get(get_voice))
        .route("/v3/users/me", get(me))
        .route("/v3/templates", get(list_templates))
        .route("/v3/templates/{template_id}", get(get_template).post(generate_from_template))
        .route("/_sim/stats", get(stats))
        .route("/_sim/requests", get(requests))
        .route("/_sim/faults", post(add_faults))
        .route("/_sim/wallet", post(set_wallet))
        .route("/_sim/media/{file}", get(media_file))
        .merge(super::folders::routes())
        .merge(super::assets::routes())
        .fallback(|| async {
            ApiFault::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint in HeyGen API v3.")
        })
        .with_state(state)
}

// ---- paging ---------------------------------------------------------------

fn parse_limit(q: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, ApiFault> {
    match q.get("limit") {
        None => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiFault::invalid("limit", format!("'limit' must be between 1 and {max}."))),
        },
    }
}

fn token_for(route: &str, offset: usize) -> String {
    let check = &blake3::hash(format!("{route}#{offset}").as_bytes()).to_hex()[..8];
    format!("{offset:x}.{check}")
}

fn parse_token(route: &str, q: &HashMap<String, String>) -> Result<usize, ApiFault> {
    let Some(raw) = q.get("token").filter(|t| !t.is_empty()) else { return Ok(0) };
    let bad = || ApiFault::invalid("token", "Invalid or expired pagination token.");
    let (hex, _) = raw.split_once('.').ok_or_else(bad)?;
    let offset = usize::from_str_radix(hex, 16).map_err(|_| bad())?;
    if token_for(route, offset) == *raw { Ok(offset) } else { Err(bad()) }
}

fn page<T: Serialize>(
    route: &str,
    items: Vec<T>,
    q: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> ApiResult {
    let limit = parse_limit(q, default, max)?;
    let offset = parse_token(route, q)?;
    let total = items.len();
    let data: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let end = offset + data.len();
    let has_more = end < total;
    Ok(axum::Json(json!({
        "data": data,
        "has_more": has_more,
        "next_token": if has_more { Some(token_for(route, end)) } else { None },
    }))
    .into_response())
}

fn enum_param(
    q: &HashMap<String, String>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, ApiFault> {
    match q.get(name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v.clone())),
        Some(v) => Err(ApiFault::invalid(
            name,
            format!("Invalid '{name}' value '{v}'. Allowed: {}.", allowed.join(", ")),
        )),
    }
}

// ---- catalog --------------------------------------------------------------

async fn list_groups(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let ownership = enum_param(&q, "ownership", &["public", "private"])?;
    let groups: Vec<_> = s
        .catalog
        .groups
        .iter()
        .filter(|g| match ownership.as_deref() {
            Some("public") => !s.catalog.group_is_private(g),
            Some("private") => s.catalog.group_is_private(g),
            _ => true,
        })
        .collect();
    page("avatars", groups, &q, 20, 50)
}

async fn get_group(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    match s.catalog.groups.iter().find(|g| g.id == id) {
        Some(g) => ok(g),
        None => Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Avatar group not found.")),
    }
}

async fn list_looks(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let ownership = enum_param(&q, "ownership", &["public", "private"])?;
    let kind = enum_param(&q, "avatar_type", &["studio_avatar", "digital_twin", "photo_avatar"])?;
    let group = q.get("group_id");
    let looks: Vec<&AvatarLook> = s
        .catalog
        .looks
        .iter()
        .filter(|l| group.is_none_or(|g| l.group_id.as_ref() == Some(g)))
        .filter(|l| kind.as_deref().is_none_or(|k| AvatarType::parse(k) == l.avatar_type))
        .filter(|l| match ownership.as_deref() {
            Some("public") => l.status.is_none(),
            Some("private") => l.status.is_some(),
            _ => true,
        })
        .collect();
    page("looks", looks, &q, 20, 50)
}

async fn get_look(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    match s.catalog.look(&id) {
        Some(l) => ok(l),
        None => Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Avatar look not found.")),
    }
}

async fn list_voices(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let kind = enum_param(&q, "type", &["public", "private"])?.unwrap_or_else(|| "public".into());
    let language = q.get("language").map(|l| l.to_lowercase());
    let gender = enum_param(&q, "gender", &["male", "female"])?;
    let voices: Vec<_> = s
        .catalog
        .voices
        .iter()
        .filter(|v| v.kind == kind)
        .filter(|v| language.as_ref().is_none_or(|l| v.language.to_lowercase() == *l))
        .filter(|v| gender.as_ref().is_none_or(|g| v.gender == *g))
        .collect();
    page("voices", voices, &q, 20, 100)
}

async fn get_voice(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    match s.catalog.voice(&id) {
        Some(v) => ok(json!({
            "voice_id": v.voice_id,
            "support_pause": v.support_pause,
            "support_interactive_avatar": false,
            "name": v.name,
            "language": v.language,
            "gender": v.gender,
            "preview_audio_url": v.preview_audio_url,
            "created_at": null,
            "status": if v.kind == "private" { Some("complete") } else { None },
            "failure_message": null,
        })),
        None => Err(ApiFault::new(StatusCode::NOT_FOUND, "voice_not_found", "Voice not found.")),
    }
}

async fn list_templates(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    page("templates", s.catalog.template_summaries(), &q, 10, 100)
}

async fn get_template(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    match s.catalog.template(&id) {
        Some(t) => ok(t),
        None => Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Template not found.")),
    }
}

async fn me(State(s): State<Shared>, Extension(caller): Extension<Caller>) -> ApiResult {
    let balance = {
        let mut inner = s.world();
        inner.settle(&caller.0, &s.config, s.now());
        inner.account(&caller.0, &s.config).wallet_usd()
    };
    ok(json!({
        "username": "sim_user",
        "email": "sim@reelflow.invalid",
        "first_name": "Sim",
        "last_name": "User",
        "billing_type": "wallet",
        "wallet": {
            "currency": "usd",
            "remaining_balance": (balance * 100.0).round() / 100.0,
            "auto_reload": {"enabled": false, "threshold_usd": null, "amount_usd": null},
        },
        "subscription": null,
        "usage_based": null,
    }))
}

// ---- videos ---------------------------------------------------------------

fn video_json(s: &SimState, v: &SimVideo, at: f64) -> Value {
    let phase = v.phase(at);
    let status = match phase {
        Phase::Queued => "pending",
        Phase::Processing => "processing",
        Phase::Completed => "completed",
        Phase::Failed => "failed",
    };
    let done = phase == Phase::Completed;
    let base = s.config.public_base.as_deref().unwrap_or("");
    let expires = (at + s.config.url_ttl_secs).ceil() as u64;
    let signed = |file: String| {
        let path = format!("/_sim/media/{file}");
        let sig = media::sign(&s.media_key, &path, expires);
        format!("{base}{path}?Expires={expires}&Signature={sig}")
    };
    let plain = |file: String| format!("{base}/_sim/media/{file}");
    let (code, message) = match (&v.failure, phase) {
        (Some((c, m)), Phase::Failed) => (Some(c.clone()), Some(m.clone())),
        _ => (None, None),
    };
    json!({
        "id": v.id,
        "title": v.title,
        "status": status,
        "created_at": v.created as i64,
        "completed_at": if phase == Phase::Completed || phase == Phase::Failed { Some(v.done_at() as i64) } else { None },
        "video_url": done.then(|| signed(format!("{}.{}", v.id, v.extension))),
        "thumbnail_url": done.then(|| plain(format!("{}.jpg", v.id))),
        "gif_url": done.then(|| plain(format!("{}.gif", v.id))),
        "captioned_video_url": (done && v.burned_captions).then(|| signed(format!("{}_captioned.mp4", v.id))),
        "subtitle_url": (done && v.subtitles).then(|| signed(format!("{}.srt", v.id))),
        "duration": done.then_some((v.output_secs * 100.0).round() / 100.0),
        "folder_id": v.folder_id,
        "output_language": null,
        "failure_code": code,
        "failure_message": message,
        "video_page_url": format!("https://app.heygen.com/videos/{}", v.id),
    })
}

async fn get_video(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let at = s.now();
    let mut inner = s.world();
    inner.settle(&caller.0, &s.config, at);
    let account = inner.account(&caller.0, &s.config);
    match account.video(&id) {
        Some(v) => ok(video_json(&s, v, at)),
        None => Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Video not found.")),
    }
}

async fn delete_video(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut inner = s.world();
    let account = inner.account(&caller.0, &s.config);
    // A deleted job stops counting against the job cap and is never charged.
    if !account.delete(&id) {
        return Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Video not found."));
    }
    inner.owners.remove(&id);
    ok(json!({"id": id, "deleted": true}))
}

async fn list_videos(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let limit = parse_limit(&q, 10, 100)?;
    // An empty filter is no filter (what the CLI sends for an unset flag).
    let folder = q.get("folder_id").filter(|f| !f.is_empty());
    let title = q.get("title").filter(|t| !t.is_empty()).map(|t| t.to_lowercase());
    // A token belongs to the account and filters it was made for.
    let route = format!(
        "videos/{}/{}/{}",
        short_key(&caller.0),
        folder.map(String::as_str).unwrap_or(""),
        title.as_deref().unwrap_or("")
    );
    let after = parse_video_token(&route, &q)?;
    let at = s.now();
    let mut inner = s.world();
    inner.settle(&caller.0, &s.config, at);
    let account = inner.account(&caller.0, &s.config);
    let mut live: Vec<&SimVideo> = account
        .index
        .values()
        .map(|&i| &account.videos[i])
        .filter(|v| folder.is_none_or(|f| v.folder_id.as_ref() == Some(f)))
        .filter(|v| {
            title
                .as_ref()
                .is_none_or(|t| v.title.as_deref().is_some_and(|vt| vt.to_lowercase().contains(t)))
        })
        .collect();
    // Newest first. The token is the position of the last item sent, not
    // an offset, so videos created between pages do not shift the pages
    // (a campaign followed by folder while it is still creating).
    live.sort_by(|a, b| b.created.total_cmp(&a.created).then_with(|| b.seq.cmp(&a.seq)));
    let rest: Vec<&SimVideo> = match after {
        None => live,
        Some((created, seq)) => live
            .into_iter()
            .filter(|v| v.created.total_cmp(&created).then_with(|| v.seq.cmp(&seq)).is_lt())
            .collect(),
    };
    let has_more = rest.len() > limit;
    let data: Vec<Value> = rest.iter().take(limit).map(|v| video_json(&s, v, at)).collect();
    let next_token = has_more
        .then(|| rest.get(limit - 1).map(|v| video_token(&route, v.created, v.seq)))
        .flatten();
    Ok(axum::Json(json!({"data": data, "has_more": has_more, "next_token": next_token}))
        .into_response())
}

/// A `GET /v3/videos` cursor: after the video created at `created` with
/// sequence number `seq`, checked against the route it was made for.
fn video_token(route: &str, created: f64, seq: u64) -> String {
    let bits = created.to_bits();
    let check = &blake3::hash(format!("{route}#{bits:x}#{seq:x}").as_bytes()).to_hex()[..8];
    format!("{bits:x}.{seq:x}.{check}")
}

fn parse_video_token(
    route: &str,
    q: &HashMap<String, String>,
) -> Result<Option<(f64, u64)>, ApiFault> {
    let Some(raw) = q.get("token").filter(|t| !t.is_empty()) else { return Ok(None) };
    let bad = || ApiFault::invalid("token", "Invalid or expired pagination token.");
    let mut parts = raw.split('.');
    let (Some(bits), Some(seq)) = (parts.next(), parts.next()) else { return Err(bad()) };
    let bits = u64::from_str_radix(bits, 16).map_err(|_| bad())?;
    let seq = u64::from_str_radix(seq, 16).map_err(|_| bad())?;
    let created = f64::from_bits(bits);
    if video_token(route, created, seq) == *raw { Ok(Some((created, seq))) } else { Err(bad()) }
}

async fn video_statuses(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let split = |name: &str| -> Vec<String> {
        q.get(name)
            .map(|v| {
                v.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
            })
            .unwrap_or_default()
    };
    let ids = split("video_ids");
    let batches = split("batch_ids");
    if ids.is_empty() && batches.is_empty() {
        return Err(ApiFault::invalid("video_ids", "Provide 'video_ids' or 'batch_ids'."));
    }
    if ids.len() > rules::STATUSES_MAX_IDS {
        return Err(ApiFault::invalid(
            "video_ids",
            format!("At most {} video ids per request.", rules::STATUSES_MAX_IDS),
        ));
    }
    let at = s.now();
    let mut inner = s.world();
    inner.settle(&caller.0, &s.config, at);
    let account = inner.account(&caller.0, &s.config);
    let mut data: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (status, error) = match account.video(id) {
                None => ("not_found", Value::Null),
                Some(v) => match v.phase(at) {
                    Phase::Queued => ("queued", Value::Null),
                    Phase::Processing => ("processing", Value::Null),
                    Phase::Completed => ("completed", Value::Null),
                    Phase::Failed => {
                        let (code, message) = v.failure.clone().unwrap_or_default();
                        ("failed", json!({"code": code, "message": message}))
                    }
                },
            };
            json!({"video_id": id, "status": status, "batch_id": null, "item_index": null, "error": error})
        })
        .collect();
    // The simulator has no batches; their ids are unknown.
    data.extend(batches.iter().map(|b| {
        json!({"video_id": null, "status": "not_found", "batch_id": b, "item_index": null, "error": null})
    }));
    Ok(axum::Json(json!({"data": data, "has_more": false, "next_token": null})).into_response())
}

// ---- creating -------------------------------------------------------------

/// What the idempotency store says about a keyed request.
enum Idem {
    Fresh,
    Replay(u16, Value),
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiFault> {
    let Some(raw) = headers.get("idempotency-key") else { return Ok(None) };
    let key = raw.to_str().unwrap_or("");
    if !rules::is_valid_idempotency_key(key) {
        return Err(ApiFault::invalid(
            "Idempotency-Key",
            "Idempotency-Key must be 1-255 characters of [A-Za-z0-9_-:.].",
        ));
    }
    Ok(Some(key.to_owned()))
}

fn idem_begin(s: &SimState, caller: &str, scope: &str) -> Result<Idem, ApiFault> {
    let at = s.now();
    let mut inner = s.world();
    let account = inner.account(caller, &s.config);
    let entry = account.idem(scope).cloned();
    match entry {
        Some(IdemEntry::InFlight { since }) if at - since < IN_FLIGHT_STALE_SECS => {
            inner.stats.in_progress_409 += 1;
            Err(ApiFault::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed. Retry shortly.",
            ))
        }
        Some(IdemEntry::Done { status, body, at: when })
            if at - when < s.config.idempotency_ttl_secs =>
        {
            inner.stats.idempotent_replays += 1;
            Ok(Idem::Replay(status, body))
        }
        _ => {
            account.set_idem(scope, Some(IdemEntry::InFlight { since: at }));
            Ok(Idem::Fresh)
        }
    }
}

/// Stores a processed answer for replay. Answers that say "not processed"
/// (402, 409, 429, 5xx) are not stored, so a retry after a top-up or a
/// wait is processed afresh.
fn idem_finish(s: &SimState, w: &mut Inner, caller: &str, scope: &str, status: u16, body: &Value) {
    let at = s.now();
    let account = w.account(caller, &s.config);
    if (200..300).contains(&status) || status == 400 || status == 404 {
        account.set_idem(scope, Some(IdemEntry::Done { status, body: body.clone(), at }));
    } else {
        account.set_idem(scope, None);
    }
}

/// Runs a create handler under the Idempotency-Key protocol. The work
/// runs in its own task: like a real server, it finishes (and its answer is
/// stored for replay) even when the client hangs up mid-request. The job,
/// its charge hold and its replayable answer are written to the world in
/// one transaction, so a crash cannot keep one without the others.
pub(super) async fn with_idempotency(
    s: &Shared,
    caller: &Caller,
    headers: &HeaderMap,
    scope_prefix: String,
    process: impl FnOnce(&mut Inner, &Shared, &str, Option<&str>) -> Result<Value, ApiFault>
    + Send
    + 'static,
) -> Response {
    let key = match idempotency_key(headers) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let scope = key.as_ref().map(|k| format!("{scope_prefix} {k}"));
    if let Some(scope) = &scope {
        match idem_begin(s, &caller.0, scope) {
            Err(e) => return e.into_response(),
            Ok(Idem::Replay(status, body)) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                return (status, axum::Json(body)).into_response();
            }
            Ok(Idem::Fresh) => {}
        }
    }
    let state = s.clone();
    let who = caller.0.clone();
    let task = tokio::spawn(async move {
        if state.config.create_latency_ms > 0 {
            state.config.clock.sleep(state.config.create_latency_ms as f64 / 1000.0).await;
        }
        let mut w = state.world();
        let (status, body) = if !w.in_sync() {
            let f = world_unavailable();
            (f.status, f.body())
        } else {
            match process(&mut w, &state, &who, key.as_deref()) {
                Ok(data) => (StatusCode::OK, json!({ "data": data })),
                Err(f) => (f.status, f.body()),
            }
        };
        if let Some(scope) = &scope {
            idem_finish(&state, &mut w, &who, scope, status.as_u16(), &body);
        }
        // The job cap's Retry-After: when the next slot frees.
        let next_slot = w.accounts.get(&who).map(|a| a.next_slot_in(state.now()));
        if let Err(e) = w.commit() {
            let f = ApiFault::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("The simulator could not save its world: {e}"),
            );
            return (f.status, f.body(), next_slot);
        }
        (status, body, next_slot)
    });
    match task.await {
        Ok((status, body, next_slot)) => {
            let mut resp = (status, axum::Json(body)).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(s, next_slot.unwrap_or(1.0));
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            resp
        }
        Err(_) => ApiFault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The simulator failed.",
        )
        .into_response(),
    }
}

/// The answer when the world file could not be read (another process held
/// it too long): nothing was done, so a retry is safe.
fn world_unavailable() -> ApiFault {
    ApiFault::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal_error",
        "The simulator's world file is busy. Retry shortly.",
    )
}

/// A JSON body as `T`, refused as HeyGen does: 400 `invalid_parameter`
/// naming the field (`root` when the body as a whole is wrong).
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    root: &str,
) -> Result<T, ApiFault> {
    serde_path_to_error::deserialize(parse_json(body)?).map_err(|e| {
        let path = e.path().to_string();
        ApiFault::invalid(if path == "." { root.to_owned() } else { path }, e.inner().to_string())
    })
}

fn parse_json(body: &Bytes) -> Result<Value, ApiFault> {
    serde_json::from_slice(body)
        .map_err(|e| ApiFault::invalid("body", format!("Invalid JSON body: {e}")))
}

async fn create_video(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_idempotency(&s, &caller, &headers, "POST /v3/videos".into(), move |w, s2, who, key| {
        let req = CreateVideoRequest::from_value(parse_json(&body)?)
            .map_err(|e| ApiFault::invalid(e.param, e.message))?;
        if let Some(v) = rules::check_create(&req).into_iter().next() {
            return Err(ApiFault::invalid(v.param, v.message));
        }
        check_catalog_refs(s2, &req)?;
        let folder_id = check_folder(w, who, create_folder_id(&req))?;
        let est = pricing::estimate_create(&req, &|id| s2.catalog.look(id).map(|l| l.avatar_type.clone()));
        let script = collect_script(&req);
        let caption = req.caption().cloned();
        let spec = NewVideo {
            title: req.title().map(str::to_owned),
            output_secs: est.seconds,
            cost_usd: est.usd,
            caption,
            extension: req.output_format().extension().to_owned(),
            script,
            folder_id,
        };
        let video = admit(s2, w, who, key, spec)?;
        Ok(json!({"video_id": video, "status": "waiting", "output_format": req.output_format().extension()}))
    })
    .await
}

/// The create's destination folder, if it names one.
fn create_folder_id(req: &CreateVideoRequest) -> Option<&str> {
    match req {
        CreateVideoRequest::Avatar(v) => v.folder_id.as_deref(),
        CreateVideoRequest::Image(v) => v.folder_id.as_deref(),
        CreateVideoRequest::CinematicAvatar(v) => v.folder_id.as_deref(),
        CreateVideoRequest::Studio(v) => v.folder_id.as_deref(),
    }
}

/// Checks a create's `folder_id`: omitted, null or empty files the video
/// at the workspace root; otherwise it must name one of the caller's
/// folders that is not in the trash. HeyGen (v3-cli-specs-2026-11,
/// `folder_id` on `POST /v3/videos` and template generate): "an unknown
/// id, a folder in another workspace, … or a trashed folder is rejected
/// with 404 before anything is created".
fn check_folder(w: &Inner, caller: &str, id: Option<&str>) -> Result<Option<String>, ApiFault> {
    let Some(id) = id.filter(|id| !id.is_empty()) else { return Ok(None) };
    match w.folders.get(id) {
        Some(f) if f.usable_by(caller) => Ok(Some(id.to_owned())),
        _ => Err(ApiFault::new(StatusCode::NOT_FOUND, "not_found", "Folder not found.")
            .param("folder_id")),
    }
}

fn collect_script(req: &CreateVideoRequest) -> String {
    use crate::heygen::wire::{SceneInput, StudioScene};
    match req {
        CreateVideoRequest::Avatar(v) => v.script.clone().unwrap_or_default(),
        CreateVideoRequest::Image(v) => v.script.clone().unwrap_or_default(),
        CreateVideoRequest::CinematicAvatar(v) => v.prompt.clone(),
        CreateVideoRequest::Studio(v) => v
            .scenes
            .iter()
            .filter_map(|sc| match sc {
                StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => a.script.clone(),
                StudioScene::Image { script, .. } | StudioScene::Video { script, .. } => {
                    script.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn check_catalog_refs(s: &SimState, req: &CreateVideoRequest) -> Result<(), ApiFault> {
    let looks = &s.catalog.looks;
    let group = |g: &str| looks.iter().filter(|l| l.group_id.as_deref() == Some(g)).collect();
    if let Some(v) =
        rules::avatar_v_problems(req, &|id| s.catalog.look(id), &group).into_iter().next()
    {
        return Err(ApiFault::invalid(v.param, v.message));
    }
    for r in rules::references(req) {
        match r.kind {
            rules::RefKind::Look { engine, motion_prompt } => {
                let Some(look) = s.catalog.look(r.id) else {
                    return Err(ApiFault::new(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        "Avatar look not found.",
                    )
                    .param(r.param));
                };
                if let Some(problem) =
                    rules::look_problem(look, engine, motion_prompt, req.resolution())
                {
                    let param = if problem.contains("engine '") {
                        r.param.replace("avatar_id", "engine")
                    } else {
                        r.param
                    };
                    return Err(ApiFault::invalid(param, problem));
                }
            }
            rules::RefKind::Voice => {
                if s.catalog.voice(r.id).is_none() {
                    return Err(ApiFault::new(
                        StatusCode::NOT_FOUND,
                        "voice_not_found",
                        "Voice not found.",
                    )
                    .param(r.param));
                }
            }
        }
    }
    Ok(())
}

struct NewVideo {
    title: Option<String>,
    output_secs: f64,
    cost_usd: f64,
    caption: Option<Caption>,
    extension: String,
    script: String,
    folder_id: Option<String>,
}

/// Admits a render job: job cap, then wallet, then creation. Returns the id.
fn admit(
    s: &SimState,
    inner: &mut Inner,
    caller: &str,
    key: Option<&str>,
    spec: NewVideo,
) -> Result<String, ApiFault> {
    let at = s.now();
    let cfg = &s.config;
    inner.settle(caller, cfg, at);
    let account = inner.account(caller, cfg);
    if account.in_flight.len() >= cfg.max_jobs {
        let wait = retry_after(s, account.next_slot_in(at));
        inner.stats.rate_limited_429 += 1;
        let mut f = ApiFault::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            format!(
                "Too many concurrent jobs: {} of {} render jobs are in progress. Retry after the duration specified in the Retry-After header.",
                cfg.max_jobs, cfg.max_jobs
            ),
        );
        f.retry_after = Some(wait);
        return Err(f);
    }
    let available = account.wallet_usd() - account.reserved_usd();
    if spec.cost_usd > available + 1e-9 {
        inner.stats.insufficient_credit_402 += 1;
        return Err(ApiFault::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credit",
            format!(
                "Your account has ${:.2} available but this video requires an estimated ${:.2}.",
                available.max(0.0),
                spec.cost_usd
            ),
        ));
    }
    let (id, seq) = inner.next_video_id(cfg.seed);
    let render_secs = cfg.render_secs_of(&id);
    let fails = spec.script.contains(super::FAIL_MARKER)
        || spec.title.as_deref().is_some_and(|t| t.contains(super::FAIL_MARKER))
        || unit_hash(&format!("{id}/fail"), cfg.seed) < cfg.fail_rate;
    let video = SimVideo {
        id: id.clone(),
        seq,
        title: spec.title,
        created: at,
        render_secs: render_secs.max(0.0),
        output_secs: (spec.output_secs * 100.0).round() / 100.0,
        cost_usd: spec.cost_usd,
        failure: fails
            .then(|| ("rendering_failed".to_owned(), "Avatar rendering timed out".to_owned())),
        subtitles: spec.caption.is_some(),
        burned_captions: spec
            .caption
            .as_ref()
            .is_some_and(|c| c.style == Some(CaptionStyle::Default)),
        extension: spec.extension,
        script: spec.script,
        settled: false,
        deleted: false,
        folder_id: spec.folder_id,
    };
    let account = inner.account(caller, cfg);
    account.push_video(video);
    let in_flight = account.in_flight.len() as u64;
    inner.owners.insert(id.clone(), caller.to_owned());
    let stats = &mut inner.stats;
    stats.videos_created += 1;
    *stats.creates_by_idempotency_key.entry(key.unwrap_or("-").to_owned()).or_default() += 1;
    stats.max_jobs_in_flight = stats.max_jobs_in_flight.max(in_flight);
    Ok(id)
}

/// `Retry-After` for a wait of `secs` by the simulator's clock: whole real
/// seconds (what HeyGen sends), at least 1.
fn retry_after(s: &SimState, secs: f64) -> u64 {
    s.config.clock.real_secs(secs).ceil().max(1.0) as u64
}

async fn generate_from_template(
    State(s): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(template_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tid = template_id.clone();
    with_idempotency(
        &s,
        &caller,
        &headers,
        format!("POST /v3/templates/{template_id}"),
        move |w, s2, who, key| {
            let Some(template) = s2.catalog.template(&tid) else {
                return Err(ApiFault::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Template not found.",
                ));
            };
            let req: GenerateFromTemplate = parse_body(&body, "")?;
            if let Some(v) = rules::check_generate(&req).into_iter().next() {
                return Err(ApiFault::invalid(v.param, v.message));
            }
            check_template_vars(s2, template, &req)?;
            let folder_id = check_folder(w, who, req.folder_id.as_deref())?;
            let est = pricing::estimate_template(&req, template.scenes.len());
            let script = req
                .variables
                .values()
                .filter_map(|v| match v {
                    TemplateVariable::Text { content } => Some(content.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(" ");
            let spec = NewVideo {
                title: req.title.clone().or_else(|| Some(template.name.clone())),
                output_secs: est.seconds,
                cost_usd: est.usd,
                caption: (req.caption == Some(true) || req.subtitles.is_some())
                    .then_some(Caption { file_format: None, style: Some(CaptionStyle::Default) }),
                extension: "mp4".to_owned(),
                script,
                folder_id,
            };
            let id = admit(s2, w, who, key, spec)?;
            let account = w.accounts.get(who).expect("admitted above");
            let video = account.video(&id).expect("admitted above");
            Ok(video_json(s2, video, s2.now()))
        },
    )
    .await
}

fn check_template_vars(
    s: &SimState,
    template: &crate::heygen::wire::TemplateDetail,
    req: &GenerateFromTemplate,
) -> Result<(), ApiFault> {
    let declared = |name: &str| {
        template
            .scenes
            .iter()
            .flat_map(|sc| &sc.variables)
            .find(|v| v.name == name)
            .map(|v| v.variable_type.clone())
    };
    for (name, var) in &req.variables {
        match declared(name) {
            None => {
                let known: Vec<&str> = template.variables.keys().map(String::as_str).collect();
                return Err(ApiFault::invalid(
                    format!("variables.{name}"),
                    format!("Template has no variable '{name}'. Variables: {}.", known.join(", ")),
                ));
            }
            Some(t) if t != var.kind() => {
                return Err(ApiFault::invalid(
                    format!("variables.{name}.type"),
                    format!("Variable '{name}' has type '{t}', got '{}'.", var.kind()),
                ));
            }
            Some(_) => {}
        }
    }
    for (i, id) in req.scene_ids.iter().flatten().enumerate() {
        if !template.scene_ids.contains(id) {
            return Err(ApiFault::invalid(
                format!("scene_ids[{i}]"),
                format!("Scene '{id}' is not in this template."),
            ));
        }
    }
    for r in rules::template_references(req) {
        let missing = match r.kind {
            rules::RefKind::Look { .. } => s.catalog.look(r.id).is_none(),
            rules::RefKind::Voice => s.catalog.voice(r.id).is_none(),
        };
        if missing {
            let (code, msg) = match r.kind {
                rules::RefKind::Voice => ("voice_not_found", "Voice not found."),
                _ => ("not_found", "Avatar look not found."),
            };
            return Err(ApiFault::new(StatusCode::NOT_FOUND, code, msg).param(r.param));
        }
    }
    Ok(())
}

// ---- media ----------------------------------------------------------------

async fn media_file(
    State(s): State<Shared>,
    Path(file): Path<String>,
    Query(p): Query<Presign>,
) -> Response {
    let denied = |s: &SimState, why: &str| {
        s.lock().stats.media_refused_403 += 1;
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/xml")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{why}</Message></Error>"),
        )
            .into_response()
    };
    let Some((id, kind)) = media::parse_file(&file) else {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    };
    if kind.is_presigned() {
        let path = format!("/_sim/media/{file}");
        let (Some(expires), Some(sig)) = (p.expires, p.signature.as_deref()) else {
            return denied(
                &s,
                "Query-string authentication requires the Signature and Expires parameters",
            );
        };
        if media::sign(&s.media_key, &path, expires) != sig {
            return denied(
                &s,
                "The request signature we calculated does not match the signature you provided",
            );
        }
        if (expires as f64) < s.now() {
            return denied(&s, "Request has expired");
        }
    }
    let at = s.now();
    let found = {
        let inner = s.world();
        inner
            .owners
            .get(id)
            .and_then(|owner| inner.accounts.get(owner))
            .and_then(|a| a.video(id))
            .filter(|v| v.phase(at) == Phase::Completed)
            .map(|v| (v.output_secs, v.script.clone()))
    };
    let Some((secs, script)) = found else {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    };
    s.lock().stats.media_served += 1;
    let (ctype, bytes): (&str, Vec<u8>) = match kind {
        MediaKind::Video | MediaKind::Captioned => {
            let ct = if file.ends_with(".webm") { "video/webm" } else { "video/mp4" };
            (ct, media::fake_mp4(&file, secs, s.config.media_bytes_per_sec))
        }
        MediaKind::Subtitle => ("application/x-subrip", media::srt(&script, secs).into_bytes()),
        MediaKind::Thumbnail => ("image/jpeg", media::fake_mp4(&file, 0.0, 0)),
        MediaKind::Gif => ("image/gif", media::fake_mp4(&file, 0.0, 0)),
    };
    ([(header::CONTENT_TYPE, ctype)], bytes).into_response()
}

// ---- control plane --------------------------------------------------------

async fn stats(State(s): State<Shared>) -> Response {
    let at = s.now();
    let mut inner = s.world();
    inner.settle_all(&s.config, at);
    axum::Json(inner.stats.clone()).into_response()
}

async fn requests(State(s): State<Shared>) -> Response {
    let inner = s.lock();
    axum::Json(inner.requests.iter().cloned().collect::<Vec<_>>()).into_response()
}

async fn add_faults(
    State(s): State<Shared>,
    axum::Json(rules): axum::Json<Vec<FaultRule>>,
) -> Response {
    let n = rules.len();
    s.lock().rules.extend(rules);
    axum::Json(json!({"added": n})).into_response()
}

#[derive(serde::Deserialize)]
struct WalletUpdate {
    balance_usd: f64,
}

async fn set_wallet(State(s): State<Shared>, axum::Json(w): axum::Json<WalletUpdate>) -> Response {
    s.world().set_balance(w.balance_usd);
    axum::Json(json!({"balance_usd": w.balance_usd})).into_response()
}

/// A short, non-reversible label for an account key.
pub fn short_key(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..8].to_owned()
}
