//! A local HeyGen v3 simulator.
//!
//! It serves the endpoints reelflow uses with the real envelopes and
//! answers: strict body validation, a job cap per key with 429 and
//! `Retry-After`, a wallet charged per output second with 402 when short,
//! `Idempotency-Key` replay and 409, bulk statuses, cursor paging, a
//! deterministic catalog, presigned media URLs that expire, and injectable
//! faults. Counters under `/_sim/stats` let tests check what really
//! happened (how many videos each key created, how many 429s were sent).
//!
//! A render fails when its script or title contains [`FAIL_MARKER`], or at
//! random with [`SimConfig::fail_rate`].
//!
//! Timing is modelled ([`timing`]): render-time variance with a heavy tail,
//! slow or hung responses per endpoint class, random 429s, all from the
//! seed; time itself comes from an injectable [`Clock`]. The world lives in
//! memory, or with [`SimConfig::state_file`] in an SQLite file written
//! through on every change and shared by every simulator that opens it.

mod assets;
pub mod catalog;
pub mod clock;
pub mod faults;
mod folders;
mod media;
mod routes;
mod state;
pub mod timing;
mod world;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt;

pub use clock::Clock;
pub use faults::{FaultKind, FaultRates, FaultRule};
pub use state::{RecordedRequest, SimStats};
pub use timing::{Delay, DelayProblem, DelaySpecError, Delays, EndpointClass, RenderTimes};
pub use world::WorldError;

use routes::{ApiFault, Caller};
use state::SimState;

/// Text in a script or title that makes the simulator fail the render.
pub const FAIL_MARKER: &str = "sim:fail";

/// How the simulator behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Render time per job, seconds.
    pub render_secs: f64,
    /// Spread of render times: each job takes `render_secs × (1 ± jitter)`
    /// (uniform). Ignored when `render_sigma` > 0.
    pub render_jitter: f64,
    /// Log-normal spread of render times instead of the uniform one: each
    /// job takes `render_secs × exp(σ·Z − σ²/2)`, which keeps the mean and
    /// has a long right tail (0 = off).
    pub render_sigma: f64,
    /// Share of renders in a heavy tail: they take `render_tail_factor` ×
    /// `render_secs` (real renders queue, run long scripts or slow engines).
    pub render_tail_rate: f64,
    /// How much longer a tail render takes than the mean (3 = three times).
    pub render_tail_factor: f64,
    /// Render jobs in flight per key before 429 (HeyGen PAYG: 10).
    pub max_jobs: usize,
    /// Share of renders that fail with `rendering_failed`.
    pub fail_rate: f64,
    /// Starting wallet of every key, USD.
    pub balance_usd: f64,
    /// Lifetime of presigned media URLs, seconds (HeyGen v1 said 7 days).
    pub url_ttl_secs: f64,
    /// How long a create takes to answer, ms (the key is "in flight"
    /// meanwhile, so a duplicate gets 409).
    pub create_latency_ms: u64,
    /// How long an Idempotency-Key replays, seconds (24 h).
    pub idempotency_ttl_secs: f64,
    /// Random faults.
    pub faults: FaultRates,
    /// Slow or hung responses per endpoint class (held before processing).
    pub delays: Delays,
    /// Share of API requests answered `429 rate_limit_exceeded` whatever
    /// the job cap (a shared account, a gateway's own limit).
    pub rate_limit_rate: f64,
    /// Where the simulator's time comes from (the wall clock by default).
    pub clock: Clock,
    /// Seed of every random choice.
    pub seed: u64,
    /// Keys accepted; any non-empty key when `None`.
    pub accepted_keys: Option<Vec<String>>,
    /// 401 code: `unauthorized` (error-codes page) or
    /// `authentication_failed` (the April spec's examples).
    pub auth_error_code: &'static str,
    /// Size of fake video files per output second.
    pub media_bytes_per_sec: usize,
    /// Requests kept for `/_sim/requests` (0 = none).
    pub record_limit: usize,
    /// Base URL media links point at; set when the server starts.
    pub public_base: Option<String>,
    /// The durable world: an SQLite file holding accounts, videos, folders,
    /// uploaded assets, wallets and idempotency keys, written through on every change and shared by
    /// every simulator (thread or process) that opens it (`--sim` keeps it
    /// in the user's cache folder). `None` keeps the world in memory.
    pub state_file: Option<std::path::PathBuf>,
    /// Sets every existing account's wallet (and new accounts') when the
    /// simulator starts, so a balance given for `--sim` applies to a world
    /// that already exists.
    pub set_balance_on_start: Option<f64>,
}

/// A simulator knob out of range ([`SimConfig::check`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message(|k| k.to_owned()))]
pub struct KnobError {
    /// The knob, as its flag is spelled without dashes (`render-secs`).
    pub knob: &'static str,
    /// The value given.
    pub value: f64,
    /// The rule it breaks (`must be ≥ 0`).
    pub expected: &'static str,
}

impl KnobError {
    /// The message, naming the knob by the word `name` maps it to (a flag
    /// or an environment variable).
    pub fn message(&self, name: impl Fn(&str) -> String) -> String {
        if self.knob == "max-jobs" {
            return format!("{} {}", name(self.knob), self.expected);
        }
        format!("{} {}, got {}", name(self.knob), self.expected, self.value)
    }
}

impl SimConfig {
    /// Checks the knobs are in range.
    pub fn check(&self) -> Result<(), KnobError> {
        let bad = |knob, value, expected| Err(KnobError { knob, value, expected });
        for (knob, v) in [
            ("fail-rate", self.fail_rate),
            ("fault-rate", self.faults.server_error),
            ("error-body-rate", self.faults.error_body),
            ("drop-rate", self.faults.drop),
            ("slow-rate", self.faults.slow),
            ("rate-limit-rate", self.rate_limit_rate),
            ("render-tail-rate", self.render_tail_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(knob, v, "must be between 0 and 1");
            }
        }
        if !(self.render_secs.is_finite() && self.render_secs >= 0.0) {
            return bad("render-secs", self.render_secs, "must be ≥ 0");
        }
        if !(0.0..1.0).contains(&self.render_jitter) {
            return bad("render-jitter", self.render_jitter, "must be in [0, 1) (0.2 = ±20 %)");
        }
        if !(0.0..=3.0).contains(&self.render_sigma) {
            return bad(
                "render-sigma",
                self.render_sigma,
                "must be between 0 and 3 (0.5 is already a long tail)",
            );
        }
        if !(self.render_tail_factor.is_finite() && self.render_tail_factor >= 1.0) {
            return bad(
                "render-tail-factor",
                self.render_tail_factor,
                "must be ≥ 1 (3 = three times the mean)",
            );
        }
        if self.max_jobs == 0 {
            return bad("max-jobs", 0.0, "must be at least 1");
        }
        Ok(())
    }

    /// The shape of render times this config asks for.
    pub fn render_times(&self) -> RenderTimes {
        RenderTimes {
            mean_secs: self.render_secs,
            jitter: self.render_jitter,
            sigma: self.render_sigma,
            tail_rate: self.render_tail_rate,
            tail_factor: self.render_tail_factor,
        }
    }

    /// How long the video `id` renders, in simulator seconds: a pure
    /// function of the id and the seed, so a benchmark can compute the
    /// zero-lag schedule of exactly the renders a run met.
    pub fn render_secs_of(&self, id: &str) -> f64 {
        self.render_times().pick(|what| timing::unit_hash(&format!("{id}/{what}"), self.seed))
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            render_secs: 30.0,
            render_jitter: 0.0,
            render_sigma: 0.0,
            render_tail_rate: 0.0,
            render_tail_factor: 3.0,
            max_jobs: 10,
            fail_rate: 0.0,
            balance_usd: 100.0,
            url_ttl_secs: 7.0 * 86_400.0,
            create_latency_ms: 0,
            idempotency_ttl_secs: 86_400.0,
            faults: FaultRates::default(),
            delays: Delays::default(),
            rate_limit_rate: 0.0,
            clock: Clock::wall(),
            seed: 7,
            accepted_keys: None,
            auth_error_code: "unauthorized",
            media_bytes_per_sec: 8 * 1024,
            record_limit: 10_000,
            public_base: None,
            state_file: None,
            set_balance_on_start: None,
        }
    }
}

/// A world file opened without serving it, for `reelflow sim reset` and
/// `reelflow sim wallet`.
pub struct WorldFile {
    state: SimState,
}

/// One account of a world, as `reelflow sim wallet` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WalletView {
    /// The account name under `--sim` (its key is `sim-NAME`), else a
    /// short hash of the key.
    pub account: String,
    /// Remaining balance, USD (renders are charged when they complete).
    pub balance_usd: f64,
    /// Held for renders in flight, USD.
    pub held_usd: f64,
    /// Videos the account has (the built-in example included).
    pub videos: usize,
    /// Of those, still rendering.
    pub rendering: usize,
}

impl WorldFile {
    /// Opens the world named by `config.state_file` (creating it if needed).
    pub fn open(config: SimConfig) -> std::io::Result<WorldFile> {
        if config.state_file.is_none() {
            return Err(std::io::Error::other(
                "no world file: the simulator keeps its world in memory",
            ));
        }
        let state = SimState::new(config);
        state.open_world()?;
        Ok(WorldFile { state })
    }

    /// Every account, settled up to now, by name.
    pub fn wallets(&self) -> std::io::Result<Vec<WalletView>> {
        let mut w = self.state.world();
        if !w.in_sync() {
            return Err(std::io::Error::other("the world file is busy; try again"));
        }
        w.settle_all(&self.state.config, self.state.now());
        let mut out: Vec<WalletView> = w
            .accounts
            .iter()
            .map(|(key, a)| WalletView {
                account: key
                    .strip_prefix("sim-")
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("key {}", routes::short_key(key))),
                balance_usd: a.wallet_usd(),
                held_usd: a.reserved_usd(),
                videos: a.index.len(),
                rendering: a.in_flight.len(),
            })
            .collect();
        w.commit()?;
        out.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(out)
    }

    /// Sets every account's wallet, and the one new accounts start with;
    /// with `key`, only that account's (created if new).
    pub fn set_balance(&self, key: Option<&str>, usd: f64) -> std::io::Result<()> {
        let mut w = self.state.world();
        if !w.in_sync() {
            return Err(std::io::Error::other("the world file is busy; try again"));
        }
        match key {
            Some(key) => w.account(key, &self.state.config).set_wallet(usd),
            None => w.set_balance(usd),
        }
        Ok(w.commit()?)
    }

    /// Forgets every account, video, folder, asset and idempotency key;
    /// ids already handed out are never handed out again. Returns how many videos
    /// were forgotten.
    pub fn reset(&self) -> std::io::Result<usize> {
        let mut inner = self.state.lock();
        let store = inner.store.as_mut().ok_or_else(|| std::io::Error::other("no world file"))?;
        let videos = store.video_rows()?;
        store.reset()?;
        Ok(videos as usize)
    }
}

/// A running simulator. Stops when dropped.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts on `addr` (use `127.0.0.1:0` for any free port).
    pub async fn start(mut config: SimConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        config.public_base.get_or_insert_with(|| format!("http://{addr}"));
        let state = Arc::new(SimState::new(config));
        state.open_world()?;
        if let Some(usd) = state.config.set_balance_on_start {
            state.world().set_balance(usd);
        }
        let router = routes::router(state.clone());
        let serving = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = serving.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        front_door(state.clone(), router.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Simulator { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator's clock (advance it when it is manual).
    pub fn clock(&self) -> &Clock {
        &self.state.config.clock
    }

    /// The counters.
    pub fn stats(&self) -> SimStats {
        self.state.lock().stats.clone()
    }

    /// Requests received so far (secrets redacted).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.iter().cloned().collect()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// Scripts faults for upcoming requests.
    pub fn push_faults(&self, rules: impl IntoIterator<Item = FaultRule>) {
        self.state.lock().rules.extend(rules);
    }

    /// Sets every known account's wallet, and the one new accounts get.
    pub fn set_balance(&self, usd: f64) {
        self.state.world().set_balance(usd);
    }

    /// The catalog it serves.
    pub fn catalog(&self) -> &catalog::Catalog {
        &self.state.catalog
    }

    /// Nothing left to write: a durable world is written through on every
    /// change. Kept so callers that end a session with it need no change.
    pub fn save(&self) -> std::io::Result<()> {
        Ok(())
    }

    /// Serves until the process ends.
    pub async fn wait(self) {
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A simulator on its own thread and runtime, for synchronous callers
/// (tests that run the CLI binary against it).
pub struct BackgroundSimulator {
    sim: Option<Simulator>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundSimulator {
    /// Starts on a free loopback port.
    pub fn start(config: SimConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("reelflow-sim")
            .build()?;
        let sim =
            runtime.block_on(Simulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0))))?;
        Ok(BackgroundSimulator { sim: Some(sim), runtime: Some(runtime) })
    }
}

impl std::ops::Deref for BackgroundSimulator {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        self.sim.as_ref().expect("present until drop")
    }
}

impl Drop for BackgroundSimulator {
    fn drop(&mut self) {
        drop(self.sim.take());
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Every connection's requests pass through here: auth, recording, faults,
/// counters and `X-Request-Id`, then the router. An `Err` closes the
/// connection without an answer (an injected drop).
async fn front_door(
    state: Arc<SimState>,
    router: axum::Router,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let (mut parts, body) = req.into_parts();
    let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let api = path.starts_with("/v3/");
    let media = path.starts_with("/_sim/media/");
    let (request_id, fault, delay) = {
        let mut inner = state.lock();
        let rid = inner.next_request_id(state.config.seed);
        // Slow and hung responses, per endpoint class, before processing.
        let delay = if api || media {
            inner.pick_delay(&state.config, EndpointClass::of(&method, &path))
        } else {
            None
        };
        if media {
            // Media takes scripted faults only (an expired link, a 5xx).
            let fault = faults::take_rule(&mut inner.rules, &method, &path);
            if fault.is_some() {
                inner.stats.faults_injected += 1;
            }
            (rid, fault, delay)
        } else if !api {
            (rid, None, None)
        } else {
            inner.stats.requests += 1;
            *inner
                .stats
                .requests_by_route
                .entry(format!("{method} {}", route_name(&path)))
                .or_default() += 1;
            let recorded = record(&parts, &bytes);
            let limit = state.config.record_limit;
            inner.record(recorded, limit);
            let fault = inner.pick_fault(&state.config, &method, &path);
            if fault.is_some() {
                inner.stats.faults_injected += 1;
            }
            (rid, fault, delay)
        }
    };
    if let Some(secs) = delay {
        state.config.clock.sleep(secs).await;
    }
    if let Some(delay) = fault.as_ref().and_then(FaultKind::delay) {
        state.config.clock.sleep(delay.as_secs_f64()).await;
    }
    let mut resp = match &fault {
        Some(FaultKind::Drop) => return Err(dropped()),
        Some(FaultKind::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let code = if status.is_server_error() { "internal_error" } else { "injected_fault" };
            ApiFault::new(status, code, "Injected fault: the service is temporarily unavailable.").into_response()
        }
        Some(FaultKind::RateLimit { retry_after }) => {
            state.lock().stats.rate_limited_429 += 1;
            let mut f = ApiFault::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "Too many requests. Retry after the duration specified in the Retry-After header.",
            );
            f.retry_after = Some(*retry_after);
            f.into_response()
        }
        Some(FaultKind::ErrorBody) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"error": {"code": "internal_error", "message": "Upstream error while processing the request.", "param": null, "doc_url": null}})),
        )
            .into_response(),
        Some(FaultKind::GatewayHtml) => (
            StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        _ => {
            if api {
                match authenticate(&state, &parts.headers) {
                    Ok(caller) => {
                        parts.extensions.insert(caller);
                    }
                    Err(fault) => {
                        state.lock().stats.unauthorized_401 += 1;
                        let mut r = fault.into_response();
                        r.headers_mut().insert("x-request-id", header_value(&request_id));
                        return Ok(r);
                    }
                }
            }
            let req = Request::from_parts(parts, Body::from(bytes));
            let resp: Result<_, Infallible> = router.oneshot(req).await;
            let resp = resp.unwrap_or_else(|never| match never {});
            if matches!(fault, Some(FaultKind::DropAfter)) {
                return Err(dropped());
            }
            resp
        }
    };
    if api {
        count_status(&state, resp.status());
    }
    resp.headers_mut().insert("x-request-id", header_value(&request_id));
    Ok(resp)
}

fn dropped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulator dropped the connection")
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("req_invalid"))
}

fn count_status(state: &SimState, status: StatusCode) {
    let mut inner = state.lock();
    match status.as_u16() {
        400 => inner.stats.invalid_400 += 1,
        404 => inner.stats.not_found_404 += 1,
        _ => {}
    }
}

fn authenticate(state: &SimState, headers: &axum::http::HeaderMap) -> Result<Caller, ApiFault> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        })
        .filter(|k| !k.trim().is_empty());
    let accepted = match (&key, &state.config.accepted_keys) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(k), Some(list)) => list.contains(k),
    };
    match key {
        Some(k) if accepted => Ok(Caller(k)),
        _ => Err(ApiFault::new(
            StatusCode::UNAUTHORIZED,
            state.config.auth_error_code,
            "Invalid or expired API key. Verify your x-api-key header.",
        )),
    }
}

/// `/v3/videos/v_123` → `/v3/videos/{id}` for per-route counters.
fn route_name(path: &str) -> String {
    const FIXED: &[&str] = &["/v3/videos/statuses", "/v3/avatars/looks", "/v3/users/me"];
    if FIXED.contains(&path) {
        return path.to_owned();
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "v3", coll, _id] => format!("/v3/{coll}/{{id}}"),
        ["", "v3", "avatars", "looks", _id] => "/v3/avatars/looks/{id}".into(),
        _ => path.to_owned(),
    }
}

/// What a test may see of a request: secrets are replaced.
fn record(parts: &axum::http::request::Parts, body: &[u8]) -> RecordedRequest {
    const KEPT: &[&str] =
        &["x-api-key", "authorization", "idempotency-key", "content-type", "accept", "user-agent"];
    let mut headers = BTreeMap::new();
    for name in KEPT {
        if let Some(v) = parts.headers.get(*name).and_then(|v| v.to_str().ok()) {
            let shown = match *name {
                "x-api-key" => "[redacted]".to_owned(),
                "authorization" => "Bearer [redacted]".to_owned(),
                _ => v.to_owned(),
            };
            headers.insert((*name).to_owned(), shown);
        }
    }
    let query = parts
        .uri
        .query()
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect()
        })
        .unwrap_or_default();
    RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        headers,
        body: if body.is_empty() { None } else { serde_json::from_slice(body).ok() },
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
