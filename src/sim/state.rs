//! The simulator's accounts, videos, wallet, idempotency store and counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SimConfig;
use super::catalog::Catalog;
use super::faults::{FaultKind, FaultRule};
use super::timing::{EndpointClass, unit_hash};

/// Counters a test reads from `/_sim/stats` to check what really happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// API requests received (`/v3/…`), faults included.
    pub requests: u64,
    /// API requests per `METHOD /route`.
    pub requests_by_route: BTreeMap<String, u64>,
    /// Videos actually created (creates and template renders).
    pub videos_created: u64,
    /// Videos actually created, per Idempotency-Key (`-` for none).
    pub creates_by_idempotency_key: BTreeMap<String, u64>,
    /// Creates answered from the idempotency store.
    pub idempotent_replays: u64,
    /// 409 `request_in_progress` answers.
    pub in_progress_409: u64,
    /// 429 `rate_limit_exceeded` answers (job cap and injected).
    pub rate_limited_429: u64,
    /// 402 `insufficient_credit` answers.
    pub insufficient_credit_402: u64,
    /// 400 answers.
    pub invalid_400: u64,
    /// 401 answers.
    pub unauthorized_401: u64,
    /// 404 answers.
    pub not_found_404: u64,
    /// Faults injected.
    pub faults_injected: u64,
    /// Responses held back by `delays`, per endpoint class.
    pub delayed_by_class: BTreeMap<String, u64>,
    /// Renders that completed.
    pub completed: u64,
    /// Renders that failed.
    pub failed: u64,
    /// Media files served.
    pub media_served: u64,
    /// Media requests refused because the URL expired or was forged.
    pub media_refused_403: u64,
    /// Most render jobs in flight at once for one key.
    pub max_jobs_in_flight: u64,
    /// USD charged across accounts.
    pub charged_usd: f64,
}

/// One request as the simulator received it (secrets redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query pairs in order.
    pub query: Vec<(String, String)>,
    /// Selected headers, lower-case names, secrets redacted.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// A video the simulator is rendering or has rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimVideo {
    pub id: String,
    pub title: Option<String>,
    pub created: f64,
    pub render_secs: f64,
    pub output_secs: f64,
    pub cost_usd: f64,
    pub failure: Option<(String, String)>,
    pub subtitles: bool,
    pub burned_captions: bool,
    pub extension: String,
    pub script: String,
    pub settled: bool,
}

/// What a video's status is at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Queued,
    Processing,
    Completed,
    Failed,
}

impl SimVideo {
    pub fn phase(&self, at: f64) -> Phase {
        let elapsed = at - self.created;
        if elapsed < self.render_secs * 0.2 {
            Phase::Queued
        } else if elapsed < self.render_secs {
            Phase::Processing
        } else if self.failure.is_some() {
            Phase::Failed
        } else {
            Phase::Completed
        }
    }

    pub fn done_at(&self) -> f64 {
        self.created + self.render_secs
    }
}

/// A stored create answer, or a marker that one is being produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdemEntry {
    InFlight,
    Done { status: u16, body: Value, at: f64 },
}

/// One API key's (or token's) world.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Account {
    pub wallet_usd: f64,
    pub videos: Vec<SimVideo>,
    pub index: HashMap<String, usize>,
    pub in_flight: Vec<usize>,
    pub idempotency: HashMap<String, IdemEntry>,
}

impl Account {
    /// A new account: a full wallet, and the finished video the KosmoKrator
    /// seed examples look up (`abc123`).
    pub fn new(wallet_usd: f64) -> Self {
        let mut a = Account { wallet_usd, ..Default::default() };
        a.videos.push(SimVideo {
            id: super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(),
            title: Some("Welcome to our product demo".into()),
            created: 1_732_492_800.0,
            render_secs: 45.0,
            output_secs: 12.4,
            cost_usd: 0.0,
            failure: None,
            subtitles: true,
            burned_captions: false,
            extension: "mp4".into(),
            script: "Welcome to our product demo!".into(),
            settled: true,
        });
        a.index.insert(super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(), 0);
        a
    }

    /// Charges completed renders and drops finished jobs from the in-flight
    /// set. Returns (completed, failed, usd charged).
    pub fn settle(&mut self, at: f64) -> (u64, u64, f64) {
        let (mut ok, mut bad, mut usd) = (0, 0, 0.0);
        let videos = &mut self.videos;
        let wallet = &mut self.wallet_usd;
        self.in_flight.retain(|&i| {
            let v = &mut videos[i];
            if at < v.done_at() {
                return true;
            }
            if !v.settled {
                v.settled = true;
                if v.failure.is_some() {
                    bad += 1;
                } else {
                    ok += 1;
                    usd += v.cost_usd;
                    *wallet -= v.cost_usd;
                }
            }
            false
        });
        (ok, bad, usd)
    }

    /// USD held for jobs in flight (charged when they complete).
    pub fn reserved_usd(&self) -> f64 {
        self.in_flight.iter().map(|&i| self.videos[i].cost_usd).sum()
    }

    /// Seconds until the earliest in-flight job finishes.
    pub fn next_slot_in(&self, at: f64) -> f64 {
        self.in_flight
            .iter()
            .map(|&i| self.videos[i].done_at() - at)
            .fold(f64::INFINITY, f64::min)
            .max(0.0)
    }

    pub fn video(&self, id: &str) -> Option<&SimVideo> {
        self.index.get(id).map(|&i| &self.videos[i])
    }
}

/// What survives a restart of an in-process simulator (`--sim`): accounts
/// with their videos, wallets and idempotency keys, and the id counter.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Persisted {
    accounts: HashMap<String, Account>,
    counter: u64,
}

/// Mutable simulator state behind one lock. Critical sections are short
/// and never await.
#[derive(Debug, Default)]
pub struct Inner {
    pub accounts: HashMap<String, Account>,
    /// video id → account key, for media URLs (which carry no credential).
    pub owners: HashMap<String, String>,
    pub stats: SimStats,
    pub rules: Vec<FaultRule>,
    pub requests: VecDeque<RecordedRequest>,
    rng: u64,
    /// Ids handed out for videos (their sequence number).
    counter: u64,
    /// Request ids handed out (apart from videos', so video ids and their
    /// render times do not depend on how requests interleave).
    request_counter: u64,
    /// Requests seen per endpoint class, for deterministic delays.
    class_seq: [u64; EndpointClass::ALL.len()],
}

impl Inner {
    pub fn new(seed: u64) -> Self {
        Inner { rng: seed ^ 0x9E37_79B9_7F4A_7C15, ..Default::default() }
    }

    /// Restores accounts and the id counter saved by [`Inner::snapshot`].
    pub fn restore(&mut self, p: Persisted) {
        for (key, account) in &p.accounts {
            for v in &account.videos {
                if account.index.contains_key(&v.id) {
                    self.owners.insert(v.id.clone(), key.clone());
                }
            }
        }
        self.accounts = p.accounts;
        self.counter = p.counter;
    }

    /// The state worth keeping across restarts, as JSON.
    pub fn snapshot(&self) -> serde_json::Result<Vec<u8>> {
        #[derive(Serialize)]
        struct View<'a> {
            accounts: &'a HashMap<String, Account>,
            counter: u64,
        }
        serde_json::to_vec(&View { accounts: &self.accounts, counter: self.counter })
    }

    /// A uniform draw in [0, 1) from a seeded generator (splitmix64), so a
    /// fault-rate run is repeatable.
    pub fn draw(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A fresh id with a prefix: `v_…`.
    pub fn next_id(&mut self, prefix: &str, seed: u64) -> String {
        self.counter += 1;
        let h = blake3::hash(format!("{seed}/{prefix}/{}", self.counter).as_bytes());
        format!("{prefix}_{}", &h.to_hex()[..24])
    }

    /// A fresh `X-Request-Id`.
    pub fn next_request_id(&mut self, seed: u64) -> String {
        self.request_counter += 1;
        let h = blake3::hash(format!("{seed}/req/{}", self.request_counter).as_bytes());
        format!("req_{}", &h.to_hex()[..24])
    }

    /// Whether this request of `class` is held back, and for how long
    /// (seconds of the simulator's clock). The n-th request of a class
    /// decides the same way on every run with the same seed.
    pub fn pick_delay(&mut self, config: &SimConfig, class: EndpointClass) -> Option<f64> {
        if !config.delays.any() {
            return None;
        }
        let n = &mut self.class_seq[class as usize];
        *n += 1;
        let secs = config.delays.pick(class, *n, |s| unit_hash(s, config.seed))?;
        *self.stats.delayed_by_class.entry(class.name().to_owned()).or_default() += 1;
        Some(secs)
    }

    pub fn account(&mut self, key: &str, config: &SimConfig) -> &mut Account {
        if !self.accounts.contains_key(key) {
            self.owners.insert(super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(), key.to_owned());
        }
        self.accounts.entry(key.to_owned()).or_insert_with(|| Account::new(config.balance_usd))
    }

    /// Settles an account and folds the result into the counters.
    pub fn settle(&mut self, key: &str, config: &SimConfig, at: f64) {
        let (ok, bad, usd) = self.account(key, config).settle(at);
        self.stats.completed += ok;
        self.stats.failed += bad;
        self.stats.charged_usd += usd;
    }

    pub fn record(&mut self, req: RecordedRequest, limit: usize) {
        if limit == 0 {
            return;
        }
        if self.requests.len() >= limit {
            self.requests.pop_front();
        }
        self.requests.push_back(req);
    }

    /// Takes a scripted fault, or draws a random one.
    pub fn pick_fault(
        &mut self,
        config: &SimConfig,
        method: &str,
        path: &str,
    ) -> Option<FaultKind> {
        if let Some(kind) = super::faults::take_rule(&mut self.rules, method, path) {
            return Some(kind);
        }
        let rates = config.faults;
        if let Some(kind) = rates.pick(&mut || self.draw()) {
            return Some(kind);
        }
        (config.rate_limit_rate > 0.0 && self.draw() < config.rate_limit_rate)
            .then_some(FaultKind::RateLimit { retry_after: 1 })
    }
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub catalog: Catalog,
    pub media_key: [u8; 32],
    pub inner: Mutex<Inner>,
}

impl SimState {
    pub fn new(config: SimConfig) -> Self {
        let media_key =
            *blake3::hash(format!("reelflow-sim-media/{}", config.seed).as_bytes()).as_bytes();
        SimState {
            inner: Mutex::new(Inner::new(config.seed)),
            catalog: Catalog::build(),
            media_key,
            config,
        }
    }

    /// The simulator's time (Unix seconds by its clock).
    pub fn now(&self) -> f64 {
        self.config.clock.now()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking handler must not wedge the simulator for every other test.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
