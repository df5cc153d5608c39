//! The seven functions of the KosmoKrator HeyGen integration
//! (seed/kosmokrator-heygen-lua-api.txt), mapped onto v3.
//!
//! | seed function      | v3                                                     |
//! |--------------------|--------------------------------------------------------|
//! | `list_videos`      | `GET /v3/videos`; offset/limit emulated over cursors   |
//! | `get_video`        | `GET /v3/videos/{id}`                                  |
//! | `create_video`     | `POST /v3/videos` (v3 body, or the seed's v2-style one) |
//! | `list_avatars`     | `GET /v3/avatars/looks`, all pages (look ids are what videos use) |
//! | `list_voices`      | `GET /v3/voices`, public and private, all pages        |
//! | `get_current_user` | `GET /v3/users/me`                                     |
//! | `list_templates`   | `GET /v3/templates`; offset/limit emulated             |
//!
//! v3 has no test mode. `test: true` therefore never creates anything: it
//! checks the request against HeyGen's rules and catalog and returns a dry
//! run result instead.

mod legacy;
mod wait;

use serde::Serialize;
use serde_json::Value;

use crate::heygen::paging::{self, LookQuery, TemplateQuery, VideoListQuery, VoiceQuery, Window};
use crate::heygen::wire::{
    AvatarLook, CreateVideoRequest, CreatedVideo, TemplateSummary, User, VideoDetail, Voice,
};
use crate::heygen::{ApiErrorKind, Client, rules};
use crate::pricing::{self, Estimate};

pub use legacy::{SeedCreate, dimension_to_v3};
pub use wait::{WaitOutcome, WaitPolicy, wait_for_video};

/// Errors of the seven functions.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// A parameter is out of range or malformed; nothing was sent.
    #[error("invalid parameter `{param}`: {message}")]
    InvalidParam {
        /// Parameter path.
        param: String,
        /// What is wrong.
        message: String,
    },
    /// The API call failed.
    #[error(transparent)]
    Api(#[from] crate::heygen::Error),
}

impl IntegrationError {
    fn param(param: impl Into<String>, message: impl Into<String>) -> Self {
        IntegrationError::InvalidParam { param: param.into(), message: message.into() }
    }
}

/// The largest `limit` the seed's list functions take.
pub const MAX_LIMIT: i64 = 100;
/// The `limit` when none is given.
pub const DEFAULT_LIMIT: i64 = 10;

/// Offset paging as the seed takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffsetParams {
    /// Items to return (1–100; default 10).
    pub limit: Option<i64>,
    /// Items to skip (≥ 0; default 0).
    pub offset: Option<i64>,
}

impl OffsetParams {
    fn checked(self) -> Result<(u64, u64), IntegrationError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(IntegrationError::param(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(IntegrationError::param(
                "offset",
                format!("must be 0 or more, got {offset}"),
            ));
        }
        Ok((limit as u64, offset as u64))
    }
}

/// `list_videos`: videos at `offset..offset+limit`, newest first.
pub async fn list_videos(
    client: &Client,
    params: OffsetParams,
) -> Result<Window<VideoDetail>, IntegrationError> {
    let (limit, offset) = params.checked()?;
    Ok(paging::window(VideoListQuery::default(), offset, limit, |q| async move {
        client.list_videos(&q).await
    })
    .await?)
}

/// `get_video`: status, URLs and failure details of one video.
pub async fn get_video(client: &Client, video_id: &str) -> Result<VideoDetail, IntegrationError> {
    if video_id.trim().is_empty() {
        return Err(IntegrationError::param("video_id", "is required"));
    }
    Ok(client.get_video(video_id).await?)
}

/// `list_avatars`: every look (public and private), the ids videos use.
pub async fn list_avatars(client: &Client) -> Result<Vec<AvatarLook>, IntegrationError> {
    Ok(paging::collect_all(LookQuery::default(), |q| async move { client.list_looks(&q).await })
        .await?)
}

/// `list_voices`: every public voice, then the account's private ones.
pub async fn list_voices(client: &Client) -> Result<Vec<Voice>, IntegrationError> {
    let mut all = Vec::new();
    for kind in ["public", "private"] {
        let q = VoiceQuery { kind: Some(kind.into()), ..Default::default() };
        all.extend(paging::collect_all(q, |q| async move { client.list_voices(&q).await }).await?);
    }
    Ok(all)
}

/// `get_current_user`: profile and balance.
pub async fn get_current_user(client: &Client) -> Result<User, IntegrationError> {
    Ok(client.me().await?)
}

/// `list_templates`: templates at `offset..offset+limit`.
pub async fn list_templates(
    client: &Client,
    params: OffsetParams,
) -> Result<Window<TemplateSummary>, IntegrationError> {
    let (limit, offset) = params.checked()?;
    Ok(paging::window(TemplateQuery::default(), offset, limit, |q| async move {
        client.list_templates(&q).await
    })
    .await?)
}

/// What `create_video` takes: a v3 body, or the seed's v2-style body.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateVideoInput {
    /// A `POST /v3/videos` body.
    V3(Box<CreateVideoRequest>),
    /// `{video_inputs, dimension, test}`.
    Seed(SeedCreate),
}

impl CreateVideoInput {
    /// Reads either form: a body with `type` is v3, one with `video_inputs`
    /// is the seed's.
    pub fn from_json(value: Value) -> Result<Self, IntegrationError> {
        if value.get("type").is_some() {
            return CreateVideoRequest::from_value(value)
                .map(|r| CreateVideoInput::V3(Box::new(r)))
                .map_err(|e| IntegrationError::param(e.param, e.message));
        }
        if value.get("video_inputs").is_some() {
            return serde_path_to_error::deserialize(value)
                .map(CreateVideoInput::Seed)
                .map_err(|e| IntegrationError::param(e.path().to_string(), e.inner().to_string()));
        }
        Err(IntegrationError::param(
            "type",
            "expected a v3 body (with `type`: avatar, image, cinematic_avatar or studio) or the seed's body (with `video_inputs`)",
        ))
    }

    /// The seed's `test` flag (false for v3 bodies).
    pub fn test(&self) -> bool {
        matches!(self, CreateVideoInput::Seed(s) if s.test == Some(true))
    }
}

/// The v3 body a create will send, and notes on what the mapping changed.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedCreate {
    /// The body.
    pub request: CreateVideoRequest,
    /// What was mapped approximately or dropped (seed bodies only).
    pub notes: Vec<String>,
}

/// Maps the input onto v3 and checks HeyGen's documented rules.
pub fn prepare_create(input: CreateVideoInput) -> Result<PreparedCreate, IntegrationError> {
    let (request, notes) = match input {
        CreateVideoInput::V3(r) => (*r, Vec::new()),
        CreateVideoInput::Seed(seed) => seed.to_v3()?,
    };
    if let Some(v) = rules::check_create(&request).into_iter().next() {
        return Err(IntegrationError::param(v.param, v.message));
    }
    Ok(PreparedCreate { request, notes })
}

/// A create that was checked but not sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    /// A stable id for the would-be video (`dryrun_…`); not a HeyGen id.
    pub video_id: String,
    /// Always `dry_run`.
    pub status: String,
    /// True.
    pub dry_run: bool,
    /// What was checked.
    pub message: String,
    /// The exact body a real create would send.
    pub request: CreateVideoRequest,
    /// Estimated output seconds.
    pub estimated_seconds: f64,
    /// Estimated cost, USD.
    pub estimated_cost_usd: f64,
    /// Mapping notes.
    pub notes: Vec<String>,
}

/// What `create_video` did.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// HeyGen accepted the job.
    Created {
        /// The create answer.
        video: CreatedVideo,
        /// Mapping notes.
        notes: Vec<String>,
    },
    /// Test mode or `--dry-run`: validated, nothing created, nothing spent.
    DryRun(Box<DryRun>),
}

/// `create_video`. With `dry_run` (or the seed's `test: true`) the request
/// is validated against HeyGen's rules and the account's catalog (each
/// look and voice fetched by id) and nothing is created.
pub async fn create_video(
    client: &Client,
    input: CreateVideoInput,
    dry_run: bool,
    idempotency_key: Option<&str>,
) -> Result<CreateOutcome, IntegrationError> {
    let dry_run = dry_run || input.test();
    let prepared = prepare_create(input)?;
    if !dry_run {
        let video = client.create_video(&prepared.request, idempotency_key).await?;
        return Ok(CreateOutcome::Created { video, notes: prepared.notes });
    }
    let mut types = std::collections::HashMap::new();
    for r in rules::references(&prepared.request) {
        match r.kind {
            rules::RefKind::Look { engine, motion_prompt } => {
                let look = client
                    .get_look(r.id)
                    .await
                    .map_err(|e| not_found_as_param(e, &r.param, "avatar look"))?;
                if let Some(problem) =
                    rules::look_problem(&look, engine, motion_prompt, prepared.request.resolution())
                {
                    return Err(IntegrationError::param(r.param, problem));
                }
                types.insert(look.id.clone(), look.avatar_type.clone());
            }
            rules::RefKind::Voice => {
                client
                    .get_voice(r.id)
                    .await
                    .map_err(|e| not_found_as_param(e, &r.param, "voice"))?;
            }
        }
    }
    let est: Estimate = pricing::estimate_create(&prepared.request, &|id| types.get(id).cloned());
    let body = serde_json::to_vec(&prepared.request).unwrap_or_default();
    Ok(CreateOutcome::DryRun(Box::new(DryRun {
        video_id: format!("dryrun_{}", &blake3::hash(&body).to_hex()[..16]),
        status: "dry_run".into(),
        dry_run: true,
        message: "HeyGen v3 has no test mode: the request was validated against the API's rules and this \
                  account's avatars and voices, and nothing was created or charged."
            .into(),
        request: prepared.request,
        estimated_seconds: (est.seconds * 100.0).round() / 100.0,
        estimated_cost_usd: (est.usd * 10_000.0).round() / 10_000.0,
        notes: prepared.notes,
    })))
}

fn not_found_as_param(e: crate::heygen::Error, param: &str, what: &str) -> IntegrationError {
    match e.kind() {
        Some(ApiErrorKind::NotFound) => {
            IntegrationError::param(param, format!("{what} not found in this account's catalog"))
        }
        _ => IntegrationError::Api(e),
    }
}
