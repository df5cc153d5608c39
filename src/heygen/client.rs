//! The HeyGen v3 HTTP client: authentication, timeouts, retries, decoding.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::Credential;
use super::error::{ApiError, Error, RequestError};
use super::paging::{AvatarGroupQuery, LookQuery, TemplateQuery, VideoListQuery, VoiceQuery};
use super::retry::{Replay, RetryPolicy, hedged, parse_retry_after};
use super::wire::*;

/// The public HeyGen API.
pub const DEFAULT_BASE_URL: &str = "https://api.heygen.com";

/// Timeouts per request class (v3-reference §12: GET 30 s, writes 120 s,
/// sized from the ~31 s p99 of `POST /v3/videos`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// Reads.
    pub read: Duration,
    /// Writes.
    pub write: Duration,
    /// TCP connect.
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            read: Duration::from_secs(30),
            write: Duration::from_secs(120),
            connect: Duration::from_secs(10),
        }
    }
}

/// Told about each retry, so callers can show or count them.
#[derive(Debug, Clone)]
pub struct RetryNotice {
    /// `GET /v3/videos/statuses`, …
    pub request: String,
    /// The error being retried.
    pub error: String,
    /// Retry number, from 1.
    pub attempt: u32,
    /// The wait before it.
    pub delay: Duration,
}

/// Requests a client (and its clones) sent, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// API requests sent (every attempt, every endpoint; media excluded).
    pub requests: u64,
    /// Of those, answered 429.
    pub rate_limited: u64,
}

/// How one idempotent read is sent when its latency matters (the run
/// engine's status and detail calls): a shorter timeout than
/// [`Timeouts::read`], its own retries, and a hedge: when no answer came
/// after `hedge_after`, the same request is sent again (up to `copies` in
/// all) and the first answer wins, so one slow or hung response does not
/// hold up everything waiting on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadOptions {
    /// Timeout of each attempt.
    pub timeout: Duration,
    /// Retries (each copy retries on its own).
    pub retry: RetryPolicy,
    /// Send another copy after this long without an answer.
    pub hedge_after: Option<Duration>,
    /// Copies at most, the first included.
    pub copies: usize,
}

/// The error of a non-success answer from a host outside the API
/// envelope (a media link, an upload URL), with its request id.
async fn refused(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let request_id = header(&resp, "x-request-id");
    let body = resp.bytes().await.unwrap_or_default();
    Error::from(ApiError::new(status, ErrorBody::from_response(status, &body), request_id, None))
}

/// One page (the most, 100) of a folder's videos.
fn folder_page(folder_id: &str, token: Option<String>) -> VideoListQuery {
    VideoListQuery {
        folder_id: Some(folder_id.to_owned()),
        limit: Some(100),
        token,
        ..VideoListQuery::default()
    }
}

/// A callback told about each retry.
pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// A callback told about each HTTP exchange: `GET /v3/users/me -> 200 (12 ms)`.
/// It sees the method, path and outcome only: never headers, bodies or the
/// secret.
pub type RequestLog = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything a [`Client`] needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://api.heygen.com`, or a simulator.
    pub base_url: String,
    /// API key or OAuth token.
    pub credential: Credential,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Told about each retry (progress displays, verbose logs).
    pub observer: Option<RetryObserver>,
    /// Told about each request (`-v`).
    pub log: Option<RequestLog>,
}

impl ClientConfig {
    /// Defaults for everything but where and who.
    pub fn new(base_url: impl Into<String>, credential: Credential) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            credential,
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            observer: None,
            log: None,
        }
    }
}

/// A HeyGen v3 client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    credential: Credential,
    retry: RetryPolicy,
    timeouts: Timeouts,
    observer: Option<RetryObserver>,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    log: Option<RequestLog>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("credential", &self.inner.credential)
            .finish_non_exhaustive()
    }
}

/// One request as the retry loop sees it.
struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    /// `None` for JSON; multipart uploads set their own.
    content_type: Option<String>,
    idempotency_key: Option<&'a str>,
    retry: RetryPolicy,
    /// Overrides the timeout of the request class.
    timeout: Option<Duration>,
}

impl Client {
    /// Builds a client. Fails on a malformed base URL.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| {
            base.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
        // Plain HTTP would send the key in clear text; it is for a simulator
        // on this machine only.
        if !(base.starts_with("https://") || loopback) {
            return Err(RequestError::InsecureBaseUrl(base).into());
        }
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("reelflow/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.timeouts.connect)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(RequestError::HttpClient)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credential: config.credential,
                retry: config.retry,
                timeouts: config.timeouts,
                observer: config.observer,
                requests: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
                log: config.log,
            }),
        })
    }

    /// Requests sent so far by this client and its clones.
    pub fn counters(&self) -> Counters {
        Counters {
            requests: self.inner.requests.load(Ordering::Relaxed),
            rate_limited: self.inner.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// A stable, non-reversible id of (base URL, credential), for naming
    /// per-account caches without writing the secret anywhere.
    pub fn fingerprint(&self) -> String {
        let (_, secret) = self.inner.credential.header();
        let mut h = blake3::Hasher::new();
        h.update(self.inner.base.as_bytes());
        h.update(b"\n");
        h.update(secret.as_bytes());
        h.finalize().to_hex()[..16].to_owned()
    }

    /// How this client authenticates.
    pub fn auth_method(&self) -> &'static str {
        self.inner.credential.method()
    }

    // ---- videos -------------------------------------------------------

    /// `POST /v3/videos`. With an `idempotency_key`, a retry after a
    /// timeout or 5xx is safe: HeyGen replays the first answer.
    pub async fn create_video(
        &self,
        body: &CreateVideoRequest,
        idempotency_key: Option<&str>,
    ) -> Result<CreatedVideo, Error> {
        self.create_video_with(body, idempotency_key, self.inner.retry).await
    }

    /// [`Client::create_video`] with a retry policy of the caller's.
    pub async fn create_video_with(
        &self,
        body: &CreateVideoRequest,
        idempotency_key: Option<&str>,
        retry: RetryPolicy,
    ) -> Result<CreatedVideo, Error> {
        let call = Call {
            method: Method::POST,
            path: "/v3/videos".into(),
            query: Vec::new(),
            body: Some(to_body(body)?),
            content_type: None,
            idempotency_key,
            retry,
            timeout: None,
        };
        self.data(call).await
    }

    /// A create whose JSON body is already serialized: `POST /v3/videos`,
    /// or `POST /v3/templates/{template_id}` with a template. The run
    /// engine holds each body as the bytes planning hashed (a fraction of
    /// the request tree's memory) and sends exactly those. Returns the
    /// video id.
    pub async fn create_serialized(
        &self,
        template_id: Option<&str>,
        body: &[u8],
        idempotency_key: Option<&str>,
        retry: RetryPolicy,
    ) -> Result<String, Error> {
        let path = match template_id {
            Some(t) => format!("/v3/templates/{}", segment(t)?),
            None => "/v3/videos".into(),
        };
        let call = Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body.to_vec()),
            content_type: None,
            idempotency_key,
            retry,
            timeout: None,
        };
        match template_id {
            Some(_) => self.data::<VideoDetail>(call).await.map(|v| v.id),
            None => self.data::<CreatedVideo>(call).await.map(|v| v.video_id),
        }
    }

    /// `GET /v3/videos/{id}`: status, fresh presigned URLs, failure details.
    pub async fn get_video(&self, video_id: &str) -> Result<VideoDetail, Error> {
        self.data(self.get(format!("/v3/videos/{}", segment(video_id)?), Vec::new())).await
    }

    /// [`Client::get_video`] sent as `opts` say (timeout, retries, hedge).
    pub async fn get_video_with(
        &self,
        video_id: &str,
        opts: &ReadOptions,
    ) -> Result<VideoDetail, Error> {
        let call = self.read(format!("/v3/videos/{}", segment(video_id)?), Vec::new(), opts);
        let value = self.execute_hedged(&call, opts).await?;
        let envelope: Data<VideoDetail> = decode(&call.path, value)?;
        Ok(envelope.data)
    }

    /// `GET /v3/videos`: one page.
    pub async fn list_videos(&self, query: &VideoListQuery) -> Result<Page<VideoDetail>, Error> {
        self.page("/v3/videos", query.pairs()).await
    }

    /// `DELETE /v3/videos/{id}`.
    pub async fn delete_video(&self, video_id: &str) -> Result<DeletedVideo, Error> {
        let call = Call {
            method: Method::DELETE,
            path: format!("/v3/videos/{}", segment(video_id)?),
            query: Vec::new(),
            body: None,
            content_type: None,
            idempotency_key: None,
            retry: self.inner.retry,
            timeout: None,
        };
        self.data(call).await
    }

    /// `GET /v3/videos/statuses` for up to 100 ids, sent as `opts` say.
    pub async fn video_statuses_with(
        &self,
        video_ids: &[String],
        opts: &ReadOptions,
    ) -> Result<Vec<StatusEntry>, Error> {
        check_status_ids(video_ids)?;
        if video_ids.is_empty() {
            return Ok(Vec::new());
        }
        let call =
            self.read("/v3/videos/statuses".into(), vec![("video_ids", video_ids.join(","))], opts);
        let value = self.execute_hedged(&call, opts).await?;
        let page: Page<StatusEntry> = decode(&call.path, value)?;
        Ok(page.data)
    }

    /// `GET /v3/videos/statuses` for up to 100 ids.
    pub async fn video_statuses(&self, video_ids: &[String]) -> Result<Vec<StatusEntry>, Error> {
        check_status_ids(video_ids)?;
        if video_ids.is_empty() {
            return Ok(Vec::new());
        }
        let page: Page<StatusEntry> =
            self.page("/v3/videos/statuses", vec![("video_ids", video_ids.join(","))]).await?;
        Ok(page.data)
    }

    // ---- avatars and voices --------------------------------------------

    /// `GET /v3/avatars`: one page of avatar groups.
    pub async fn list_avatar_groups(
        &self,
        query: &AvatarGroupQuery,
    ) -> Result<Page<AvatarGroup>, Error> {
        self.page("/v3/avatars", query.pairs()).await
    }

    /// `GET /v3/avatars/looks`: one page of looks.
    pub async fn list_looks(&self, query: &LookQuery) -> Result<Page<AvatarLook>, Error> {
        self.page("/v3/avatars/looks", query.pairs()).await
    }

    /// `GET /v3/avatars/looks/{id}`.
    pub async fn get_look(&self, look_id: &str) -> Result<AvatarLook, Error> {
        self.data(self.get(format!("/v3/avatars/looks/{}", segment(look_id)?), Vec::new())).await
    }

    /// `GET /v3/voices`: one page.
    pub async fn list_voices(&self, query: &VoiceQuery) -> Result<Page<Voice>, Error> {
        self.page("/v3/voices", query.pairs()).await
    }

    /// `GET /v3/voices/{id}`.
    pub async fn get_voice(&self, voice_id: &str) -> Result<VoiceDetail, Error> {
        self.data(self.get(format!("/v3/voices/{}", segment(voice_id)?), Vec::new())).await
    }

    // ---- account and templates -----------------------------------------

    /// `GET /v3/users/me`.
    pub async fn me(&self) -> Result<User, Error> {
        self.data(self.get("/v3/users/me".into(), Vec::new())).await
    }

    /// `GET /v3/templates`: one page.
    pub async fn list_templates(
        &self,
        query: &TemplateQuery,
    ) -> Result<Page<TemplateSummary>, Error> {
        self.page("/v3/templates", query.pairs()).await
    }

    /// `GET /v3/templates/{id}`.
    pub async fn get_template(&self, template_id: &str) -> Result<TemplateDetail, Error> {
        self.data(self.get(format!("/v3/templates/{}", segment(template_id)?), Vec::new())).await
    }

    /// `POST /v3/templates/{id}`: render a video from a template.
    pub async fn generate_from_template(
        &self,
        template_id: &str,
        body: &GenerateFromTemplate,
        idempotency_key: Option<&str>,
        retry: Option<RetryPolicy>,
    ) -> Result<VideoDetail, Error> {
        let call = Call {
            method: Method::POST,
            path: format!("/v3/templates/{}", segment(template_id)?),
            query: Vec::new(),
            body: Some(to_body(body)?),
            content_type: None,
            idempotency_key,
            retry: retry.unwrap_or(self.inner.retry),
            timeout: None,
        };
        self.data(call).await
    }

    /// Downloads a presigned media URL (no auth header: the URL is the
    /// credential). Returns the response for streaming.
    pub async fn fetch_media(&self, url: &str) -> Result<reqwest::Response, Error> {
        let resp =
            self.inner.http.get(url).timeout(Duration::from_secs(600)).send().await.map_err(
                |e| transport_error("GET", &redact_query(url), e, Duration::from_secs(600)),
            )?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(refused(resp).await)
    }

    // ---- folders and assets ---------------------------------------------

    /// `POST /v3/folders`. Names need not be unique: keep the returned id.
    /// With an `idempotency_key` a retry replays the first answer instead
    /// of making a second folder.
    pub async fn create_folder(
        &self,
        body: &CreateFolder,
        idempotency_key: Option<&str>,
    ) -> Result<Folder, Error> {
        self.data(self.post("/v3/folders".into(), to_body(body)?, None, idempotency_key)).await
    }

    /// `GET /v3/folders/{id}` (404 once deleted).
    pub async fn get_folder(&self, folder_id: &str) -> Result<Folder, Error> {
        self.data(self.get(format!("/v3/folders/{}", segment(folder_id)?), Vec::new())).await
    }

    /// `GET /v3/videos?folder_id=…`: one page of the videos filed in a
    /// folder (status, URLs, duration, failure fields).
    pub async fn list_videos_in_folder(
        &self,
        folder_id: &str,
        token: Option<String>,
    ) -> Result<Page<VideoDetail>, Error> {
        self.list_videos(&folder_page(folder_id, token)).await
    }

    /// [`Client::list_videos_in_folder`] sent as `opts` say (timeout,
    /// retries, hedge): the run engine follows a campaign by this listing,
    /// so one slow page must not hold up following.
    pub async fn list_videos_in_folder_with(
        &self,
        folder_id: &str,
        token: Option<String>,
        opts: &ReadOptions,
    ) -> Result<Page<VideoDetail>, Error> {
        let query = folder_page(folder_id, token);
        let call = self.read("/v3/videos".into(), query.pairs(), opts);
        let value = self.execute_hedged(&call, opts).await?;
        decode(&call.path, value)
    }

    /// `POST /v3/assets`: multipart upload of one file (≤ 32 MB) as the
    /// part named `file`.
    pub async fn upload_asset(
        &self,
        filename: &str,
        mime_type: &str,
        bytes: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<UploadedAsset, Error> {
        let boundary = format!("reelflow-{}", &blake3::hash(bytes).to_hex()[..24]);
        let safe_name: String =
            filename.chars().map(|c| if c == '"' || c.is_control() { '_' } else { c }).collect();
        let mut body = Vec::with_capacity(bytes.len() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {mime_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.data(self.post("/v3/assets".into(), body, Some(ct), idempotency_key)).await
    }

    /// `POST /v3/assets/direct-uploads`: a presigned URL for a large file.
    pub async fn create_direct_upload(
        &self,
        body: &CreateDirectUpload,
        idempotency_key: Option<&str>,
    ) -> Result<DirectUpload, Error> {
        self.data(self.post(
            "/v3/assets/direct-uploads".into(),
            to_body(body)?,
            None,
            idempotency_key,
        ))
        .await
    }

    /// PUTs the bytes of a direct upload to its presigned URL (no auth
    /// header: the URL is the credential).
    pub async fn put_upload(&self, upload: &DirectUpload, bytes: Vec<u8>) -> Result<(), Error> {
        let timeout = Duration::from_secs(600);
        let mut req = self.inner.http.put(&upload.upload_url).timeout(timeout).body(bytes);
        for (name, value) in &upload.upload_headers {
            if let Some(v) = value.as_str() {
                req = req.header(name.as_str(), v);
            }
        }
        let url = redact_query(&upload.upload_url);
        let resp = req.send().await.map_err(|e| transport_error("PUT", &url, e, timeout))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        Err(refused(resp).await)
    }

    /// `POST /v3/assets/{id}/complete`: finalizes a direct upload.
    pub async fn complete_upload(
        &self,
        asset_id: &str,
        body: &CompleteUpload,
    ) -> Result<CompletedUpload, Error> {
        let path = format!("/v3/assets/{}/complete", segment(asset_id)?);
        self.data(self.post(path, to_body(body)?, None, None)).await
    }

    // ---- plumbing -------------------------------------------------------

    fn post<'k>(
        &self,
        path: String,
        body: Vec<u8>,
        content_type: Option<String>,
        idempotency_key: Option<&'k str>,
    ) -> Call<'k> {
        Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body),
            content_type,
            idempotency_key,
            retry: self.inner.retry,
            timeout: None,
        }
    }

    fn get(&self, path: String, query: Vec<(&'static str, String)>) -> Call<'static> {
        Call {
            method: Method::GET,
            path,
            query,
            body: None,
            content_type: None,
            idempotency_key: None,
            retry: self.inner.retry,
            timeout: None,
        }
    }

    fn read(
        &self,
        path: String,
        query: Vec<(&'static str, String)>,
        opts: &ReadOptions,
    ) -> Call<'static> {
        Call { retry: opts.retry, timeout: Some(opts.timeout), ..self.get(path, query) }
    }

    /// Sends `call` (a read), hedged as `opts` say.
    async fn execute_hedged(&self, call: &Call<'_>, opts: &ReadOptions) -> Result<Value, Error> {
        match opts.hedge_after {
            Some(after) if opts.copies > 1 => {
                hedged(after, opts.copies, || self.execute(call)).await
            }
            _ => self.execute(call).await,
        }
    }

    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(&'static str, String)>,
    ) -> Result<Page<T>, Error> {
        let call = self.get(path.to_owned(), query);
        let value = self.execute(&call).await?;
        decode(&call.path, value)
    }

    async fn data<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let value = self.execute(&call).await?;
        let envelope: Data<T> = decode(&call.path, value)?;
        Ok(envelope.data)
    }

    /// Sends `call`, retrying as its policy allows; returns the JSON body.
    async fn execute(&self, call: &Call<'_>) -> Result<Value, Error> {
        let replay = if call.method == Method::GET || call.idempotency_key.is_some() {
            Replay::Safe
        } else {
            Replay::Unsafe
        };
        let mut attempt = 0;
        loop {
            let err = match self.send_once(call).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some(delay) = call.retry.delay_for(attempt, &err, replay) else {
                return Err(err);
            };
            attempt += 1;
            if let Some(observer) = &self.inner.observer {
                observer(&RetryNotice {
                    request: format!("{} {}", call.method, call.path),
                    error: err.to_string(),
                    attempt,
                    delay,
                });
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<Value, Error> {
        let inner = &self.inner;
        let timeout = call.timeout.unwrap_or(if call.method == Method::GET {
            inner.timeouts.read
        } else {
            inner.timeouts.write
        });
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let (auth_name, auth_value) = inner.credential.header();
        let mut req = inner
            .http
            .request(call.method.clone(), format!("{}{}", inner.base, call.path))
            .timeout(timeout)
            .header(auth_name, auth_value)
            .header("accept", "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(key) = call.idempotency_key {
            req = req.header("idempotency-key", key);
        }
        if let Some(body) = &call.body {
            let ct = call.content_type.as_deref().unwrap_or("application/json");
            req = req.header("content-type", ct).body(body.clone());
        }
        let method = call.method.as_str();
        let started = std::time::Instant::now();
        let log = |outcome: &dyn std::fmt::Display| {
            if let Some(log) = &inner.log {
                let ms = started.elapsed().as_millis();
                log(&format!("{method} {} -> {outcome} ({ms} ms)", call.path));
            }
        };
        let resp = req.send().await.map_err(|e| {
            let e = transport_error(method, &call.path, e, timeout);
            log(&e);
            e
        })?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            inner.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        log(&status);
        let request_id = header(&resp, "x-request-id");
        let retry_after = header(&resp, "retry-after").and_then(|v| parse_retry_after(&v));
        let bytes =
            resp.bytes().await.map_err(|e| transport_error(method, &call.path, e, timeout))?;
        if status.is_success() {
            let value: Value = serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
                path: call.path.clone(),
                at: None,
                source,
            })?;
            if ErrorBody::is_error_body(&value) {
                let body = ErrorBody::from_response(status.as_u16(), &bytes);
                return Err(ApiError::new(status.as_u16(), body, request_id, retry_after).into());
            }
            return Ok(value);
        }
        let body = ErrorBody::from_response(status.as_u16(), &bytes);
        Err(ApiError::new(status.as_u16(), body, request_id, retry_after).into())
    }
}

fn check_status_ids(video_ids: &[String]) -> Result<(), Error> {
    if video_ids.len() > super::rules::STATUSES_MAX_IDS {
        return Err(RequestError::TooManyIds {
            max: super::rules::STATUSES_MAX_IDS,
            got: video_ids.len(),
        }
        .into());
    }
    Ok(())
}

/// Installs ring as the process's TLS crypto provider (once). reqwest is
/// built without a default provider to avoid aws-lc's C build; anything
/// that builds its own `reqwest::Client` must call this first.
pub fn ensure_crypto_provider() {
    // An error means a provider is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn decode<T: DeserializeOwned>(path: &str, value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Decode {
        path: path.to_owned(),
        at: Some(e.path().to_string()),
        source: e.into_inner(),
    })
}

fn to_body<T: Serialize>(body: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|e| RequestError::Encode(e).into())
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn transport_error(method: &str, path: &str, e: reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        return Error::Timeout { method: method.to_owned(), path: path.to_owned(), after: timeout };
    }
    Error::Network {
        method: method.to_owned(),
        path: path.to_owned(),
        source: Box::new(e.without_url()),
    }
}

/// Media URLs carry their signature in the query: keep it out of messages.
fn redact_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// Percent-encodes an id for use as one path segment.
fn segment(id: &str) -> Result<String, Error> {
    if id.is_empty() {
        return Err(RequestError::EmptyId.into());
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// Whether an HTTP status from a presigned URL means "expired".
pub fn is_expired_url_status(status: u16) -> bool {
    status == StatusCode::FORBIDDEN.as_u16() || status == StatusCode::NOT_FOUND.as_u16()
}
