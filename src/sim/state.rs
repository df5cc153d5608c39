//! The simulator's accounts, videos, wallet, idempotency store and counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SimConfig;
use super::catalog::Catalog;
use super::faults::{FaultKind, FaultRule};
use super::timing::{EndpointClass, unit_hash};
use super::world::{Changes, Pending, Store, WorldError};

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
    /// Creation order in its world (the id counter's value).
    #[serde(default)]
    pub seq: u64,
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
    /// Charged (or found failed) and out of the job cap.
    pub settled: bool,
    /// Deleted with `DELETE /v3/videos/{id}`.
    #[serde(default)]
    pub deleted: bool,
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

/// How long an `InFlight` idempotency marker holds: a process killed while
/// creating leaves one behind in a durable world, and a real server does
/// not keep a key locked forever either.
pub const IN_FLIGHT_STALE_SECS: f64 = 60.0;

/// A stored create answer, or a marker that one is being produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdemEntry {
    /// Being processed since this time.
    InFlight {
        #[serde(default)]
        since: f64,
    },
    Done {
        status: u16,
        body: Value,
        at: f64,
    },
}

/// What of an account changed since the world file was last written.
#[derive(Debug, Default)]
pub struct Dirty {
    /// Whether to record changes at all (only for a durable world).
    pub track: bool,
    pub wallet: bool,
    pub videos: Vec<usize>,
    pub idempotency: Vec<String>,
}

impl Dirty {
    pub fn any(&self) -> bool {
        self.wallet || !self.videos.is_empty() || !self.idempotency.is_empty()
    }
}

/// One API key's (or token's) world.
#[derive(Debug, Default)]
pub struct Account {
    wallet_usd: f64,
    pub videos: Vec<SimVideo>,
    pub index: HashMap<String, usize>,
    pub in_flight: Vec<usize>,
    idempotency: HashMap<String, IdemEntry>,
    pub dirty: Dirty,
}

impl Account {
    /// A new account: a full wallet, and the finished video the KosmoKrator
    /// seed examples look up (`abc123`).
    pub fn new(wallet_usd: f64, track: bool) -> Self {
        let mut a = Account { wallet_usd, ..Default::default() };
        a.dirty.track = track;
        a.dirty.wallet = track;
        a.videos.push(SimVideo {
            id: super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(),
            seq: 0,
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
            deleted: false,
        });
        a.index.insert(super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(), 0);
        a
    }

    /// The wallet, USD (charged on completion).
    pub fn wallet_usd(&self) -> f64 {
        self.wallet_usd
    }

    /// Sets the wallet.
    pub fn set_wallet(&mut self, usd: f64) {
        self.wallet_usd = usd;
        self.dirty.wallet = self.dirty.track;
    }

    fn mark(&mut self, idx: usize) {
        if self.dirty.track {
            self.dirty.videos.push(idx);
        }
    }

    /// Adds a new render job; returns its index.
    pub fn push_video(&mut self, video: SimVideo) -> usize {
        let idx = self.videos.len();
        self.index.insert(video.id.clone(), idx);
        if !video.settled {
            self.in_flight.push(idx);
        }
        self.videos.push(video);
        self.mark(idx);
        idx
    }

    /// Deletes a video: it leaves the job cap and is never charged.
    pub fn delete(&mut self, id: &str) -> bool {
        let Some(idx) = self.index.remove(id) else { return false };
        self.in_flight.retain(|&i| i != idx);
        let v = &mut self.videos[idx];
        v.settled = true;
        v.deleted = true;
        self.mark(idx);
        true
    }

    /// Folds in a video another simulator wrote to the shared world.
    /// Returns whether it is live (not deleted).
    pub fn apply_video(&mut self, video: SimVideo) -> bool {
        let live = !video.deleted;
        let idx = match self.index.get(&video.id) {
            Some(&idx) => {
                self.videos[idx] = video;
                idx
            }
            None if live => {
                let idx = self.videos.len();
                self.index.insert(video.id.clone(), idx);
                self.videos.push(video);
                idx
            }
            None => return false,
        };
        let v = &self.videos[idx];
        if v.deleted {
            let id = v.id.clone();
            self.index.remove(&id);
        }
        let open = !v.settled && !v.deleted;
        let listed = self.in_flight.contains(&idx);
        if open && !listed {
            self.in_flight.push(idx);
        } else if !open && listed {
            self.in_flight.retain(|&i| i != idx);
        }
        live
    }

    /// The idempotency entry of a scope.
    pub fn idem(&self, scope: &str) -> Option<&IdemEntry> {
        self.idempotency.get(scope)
    }

    /// Stores (or with `None` removes) an idempotency entry.
    pub fn set_idem(&mut self, scope: &str, entry: Option<IdemEntry>) {
        match entry {
            Some(e) => self.idempotency.insert(scope.to_owned(), e),
            None => self.idempotency.remove(scope),
        };
        if self.dirty.track {
            self.dirty.idempotency.push(scope.to_owned());
        }
    }

    /// Folds in an idempotency entry another simulator wrote.
    pub fn apply_idem(&mut self, scope: String, entry: Option<IdemEntry>) {
        match entry {
            Some(e) => self.idempotency.insert(scope, e),
            None => self.idempotency.remove(&scope),
        };
    }

    /// Charges completed renders and drops finished jobs from the in-flight
    /// set. Returns (completed, failed, usd charged).
    pub fn settle(&mut self, at: f64) -> (u64, u64, f64) {
        let (mut ok, mut bad, mut usd) = (0, 0, 0.0);
        let videos = &mut self.videos;
        let wallet = &mut self.wallet_usd;
        let dirty = &mut self.dirty;
        self.in_flight.retain(|&i| {
            let v = &mut videos[i];
            if at < v.done_at() {
                return true;
            }
            if !v.settled {
                v.settled = true;
                if dirty.track {
                    dirty.videos.push(i);
                }
                if v.failure.is_some() {
                    bad += 1;
                } else {
                    ok += 1;
                    usd += v.cost_usd;
                    *wallet -= v.cost_usd;
                    dirty.wallet = dirty.track;
                }
            }
            false
        });
        (ok, bad, usd)
    }

    /// USD held for jobs in flight (charged when they complete).
    pub fn reserved_usd(&self) -> f64 {
        // + 0.0: an empty sum is -0.0, which would print as "$-0.00".
        self.in_flight.iter().map(|&i| self.videos[i].cost_usd).sum::<f64>() + 0.0
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
    /// The durable world, when there is one.
    pub store: Option<Store>,
    /// Text mixed into video ids (the world's nonce; empty in memory, so
    /// in-memory ids repeat run to run).
    id_salt: String,
    /// The wallet new accounts start with, when the world sets one.
    default_balance: Option<f64>,
    /// A new default balance to write to the world.
    pending_default_balance: Option<f64>,
    /// Whether the counter moved since the world file was last written.
    counter_dirty: bool,
    /// Whether the last [`Inner::begin`] read the world file.
    in_sync: bool,
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

    /// Attaches a durable world.
    pub fn attach(&mut self, store: Store) {
        self.id_salt = format!("{}/", store.nonce);
        self.store = Some(store);
    }

    /// Folds in what other simulators wrote to the shared world.
    fn apply(&mut self, c: Changes, config: &SimConfig) {
        if c.reload {
            self.accounts.clear();
            self.owners.clear();
        }
        self.counter = self.counter.max(c.counter);
        self.default_balance = c.default_balance;
        for (key, wallet) in c.accounts {
            let account =
                self.accounts.entry(key.clone()).or_insert_with(|| Account::new(wallet, true));
            account.wallet_usd = wallet;
            account.dirty.wallet = false;
            self.owners.insert(super::catalog::SEED_EXAMPLE_VIDEO_ID.to_owned(), key);
        }
        for (key, video) in c.videos {
            let id = video.id.clone();
            let balance = self.default_balance.unwrap_or(config.balance_usd);
            let account = self.accounts.entry(key.clone()).or_insert_with(|| {
                let mut a = Account::new(balance, true);
                a.dirty.wallet = false;
                a
            });
            if account.apply_video(video) {
                self.owners.insert(id, key);
            } else {
                self.owners.remove(&id);
            }
        }
        for (key, scope, entry) in c.idempotency {
            if let Some(account) = self.accounts.get_mut(&key) {
                account.apply_idem(scope, entry);
            }
        }
    }

    /// Locks the durable world (if any) and brings memory up to date.
    pub fn begin(&mut self, config: &SimConfig) -> Result<(), WorldError> {
        let Some(store) = self.store.as_mut() else { return Ok(()) };
        self.in_sync = false;
        let changes = store.begin()?;
        self.apply(changes, config);
        self.in_sync = true;
        Ok(())
    }

    /// Whether memory is known to match the world file (always, in memory).
    pub fn in_sync(&self) -> bool {
        self.store.is_none() || self.in_sync
    }

    /// Writes what changed to the durable world (if any) and unlocks it.
    pub fn commit(&mut self) -> Result<(), WorldError> {
        let Some(store) = self.store.as_mut().filter(|s| s.in_tx()) else { return Ok(()) };
        self.in_sync = false;
        let changed = self.counter_dirty
            || self.pending_default_balance.is_some()
            || self.accounts.values().any(|a| a.dirty.any());
        let mut pending = Pending {
            accounts: &mut self.accounts,
            counter: &self.counter,
            default_balance: self.pending_default_balance.take(),
            changed,
        };
        let result = store.commit(&mut pending);
        self.counter_dirty = false;
        if result.is_err() {
            // The next begin reloads everything from the file.
            for a in self.accounts.values_mut() {
                a.dirty = Dirty { track: true, ..Dirty::default() };
            }
        }
        result
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

    /// A fresh video id and its sequence number. A durable world's ids
    /// also carry its nonce, so they differ from any other world's.
    pub fn next_video_id(&mut self, seed: u64) -> (String, u64) {
        self.counter += 1;
        self.counter_dirty = true;
        let h = blake3::hash(format!("{seed}/{}v/{}", self.id_salt, self.counter).as_bytes());
        (format!("v_{}", &h.to_hex()[..24]), self.counter)
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
        let balance = self.default_balance.unwrap_or(config.balance_usd);
        let track = self.store.is_some();
        self.accounts.entry(key.to_owned()).or_insert_with(|| Account::new(balance, track))
    }

    /// Sets every account's wallet, and the one new accounts start with.
    pub fn set_balance(&mut self, usd: f64) {
        for account in self.accounts.values_mut() {
            account.set_wallet(usd);
        }
        self.default_balance = Some(usd);
        if self.store.is_some() {
            self.pending_default_balance = Some(usd);
        }
    }

    /// Settles an account and folds the result into the counters.
    pub fn settle(&mut self, key: &str, config: &SimConfig, at: f64) {
        let (ok, bad, usd) = self.account(key, config).settle(at);
        self.stats.completed += ok;
        self.stats.failed += bad;
        self.stats.charged_usd += usd;
    }

    /// Settles every account.
    pub fn settle_all(&mut self, config: &SimConfig, at: f64) {
        let keys: Vec<String> = self.accounts.keys().cloned().collect();
        for k in keys {
            self.settle(&k, config, at);
        }
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

/// The world, locked: in memory, and for a durable world also the file,
/// read up to date. Changes are written when it is dropped (or
/// [`World::commit`]ted).
pub struct World<'a> {
    inner: MutexGuard<'a, Inner>,
    done: bool,
}

impl World<'_> {
    /// Writes the changes now, reporting a failure to write.
    pub fn commit(mut self) -> Result<(), WorldError> {
        self.done = true;
        self.inner.commit()
    }
}

impl std::ops::Deref for World<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::ops::DerefMut for World<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.inner.commit()
        {
            report_world_error(&e);
        }
    }
}

/// Says once per process that the world file could not be used.
fn report_world_error(e: &WorldError) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("warning: {e}"));
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

    /// Opens the durable world named by the config, if any.
    pub fn open_world(&self) -> Result<(), WorldError> {
        if let Some(path) = &self.config.state_file {
            let store = Store::open(path)?;
            let mut inner = self.lock();
            inner.attach(store);
            inner.begin(&self.config)?;
            inner.commit()?;
        }
        Ok(())
    }

    /// The simulator's time (Unix seconds by its clock).
    pub fn now(&self) -> f64 {
        self.config.clock.now()
    }

    /// Locks the in-memory state only: counters, recorded requests, fault
    /// rules. Use [`SimState::world`] for accounts and videos.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not wedge the simulator for every other test.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the world up to date with every simulator sharing its file.
    pub fn world(&self) -> World<'_> {
        let mut inner = self.lock();
        if let Err(e) = inner.begin(&self.config) {
            report_world_error(&e);
        }
        World { inner, done: false }
    }
}
