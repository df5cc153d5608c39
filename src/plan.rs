//! Identity and planning: each job's hash and Idempotency-Key, and what a
//! run would do compared with the previous results.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::heygen::wire::{AvatarType, CreateVideoRequest, Engine, SceneInput, StudioScene};
use crate::pricing::{self, Estimate};
use crate::render::{Job, JobRequest};
use crate::results::{EntryStatus, ResultsFile};

/// The job's hash: blake3 of the request body as reelflow serializes it
/// (field order is fixed by the wire types, template variables are sorted),
/// the account and the endpoint. Any change to what would be sent changes
/// it. The body streams straight into the hasher: no intermediate tree.
pub fn job_hash(job: &Job, account: &str) -> String {
    if let Some((tag, hash)) = &job.digest
        && *tag == crate::expand::account_tag(account)
    {
        return hash.clone();
    }
    compute_job_hash(job, account)
}

/// [`job_hash`] without the hash expansion may have stored.
pub(crate) fn compute_job_hash(job: &Job, account: &str) -> String {
    thread_local! {
        /// The hashed bytes, reused row after row on each thread.
        static INPUT: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
    }
    INPUT.with_borrow_mut(|input| {
        input.clear();
        job_hash_input(job, account, input);
        blake3::hash(input).to_hex().to_string()
    })
}

/// What [`job_hash`] hashes, appended to `out`: a version tag, the body
/// as JSON, the account and the endpoint. Expansion hashes many of these
/// at once (see [`crate::expand::lanes`]); the bytes are the identity.
pub(crate) fn job_hash_input(job: &Job, account: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"reelflow-job-v1\0");
    let written = match &job.request {
        JobRequest::Video(r) => serde_json::to_writer(&mut *out, r),
        JobRequest::Template { body: b, .. } => serde_json::to_writer(&mut *out, b),
    };
    debug_assert!(written.is_ok(), "wire types always serialize");
    out.push(0);
    out.extend_from_slice(account.as_bytes());
    out.push(0);
    // `endpoint()`, written without building the path.
    match &job.request {
        JobRequest::Video(_) => out.extend_from_slice(b"POST /v3/videos"),
        JobRequest::Template { template_id, .. } => {
            out.extend_from_slice(b"POST /v3/templates/");
            out.extend_from_slice(template_id.as_bytes());
        }
    }
    debug_assert!({
        let (method, path) = job.request.endpoint();
        out.ends_with(format!("\0{method} {path}").as_bytes())
    });
}

/// `rf:<campaign>:<key hash>:<request hash>`: the same job always sends the
/// same key, so a retry or a rerun after a crash is replayed by HeyGen
/// instead of billed again; a changed request gets a new key.
pub fn idempotency_key(campaign: &str, key: &str, hash: &str) -> String {
    idempotency_key_gen(campaign, key, hash, 0)
}

/// [`idempotency_key`] for the `generation`-th attempt after earlier ones
/// ended for good (`…:g2`): resubmitting a failed or refused job must not
/// be answered with the old result.
pub fn idempotency_key_gen(campaign: &str, key: &str, hash: &str, generation: u32) -> String {
    let slug = campaign_slug_v1(campaign);
    let key_hash = blake3::hash(key.as_bytes()).to_hex();
    let base = format!("rf:{slug}:{}:{}", &key_hash[..16], &hash[..16]);
    if generation == 0 { base } else { format!("{base}:g{generation}") }
}

/// The campaign part of an Idempotency-Key, frozen as it was before `slug`
/// learnt to transliterate: a key must not change under a job that may be
/// in flight across an upgrade (HeyGen would bill the resubmission). ASCII
/// letters and digits, common Latin accents folded, the rest a `-`.
fn campaign_slug_v1(campaign: &str) -> String {
    let mut w = crate::slug::Words::with_capacity(campaign.len().min(72));
    for c in campaign.chars() {
        let folded: &str = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                "a"
            }
            'æ' | 'Æ' => "ae",
            'ç' | 'Ç' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
            'ñ' | 'Ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                "o"
            }
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
            'ý' | 'ÿ' | 'Ý' => "y",
            'ß' => "ss",
            _ => "",
        };
        let mut one = [0u8; 4];
        let chars = if folded.is_empty() { &*c.encode_utf8(&mut one) } else { folded };
        chars.chars().for_each(|c| w.push(c));
        if w.len() >= 64 {
            break;
        }
    }
    w.into_truncated(64)
}

/// What a run would do with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Not in the previous results: will be created.
    New,
    /// Its request changed since the last run: will be created again.
    Changed,
    /// Same request, already rendered: skipped.
    Unchanged,
    /// Same request, accepted earlier and not finished: followed, not recreated.
    InFlight,
    /// Same request, failed last time: skipped unless `--retry-failed`.
    Failed,
    /// Same request, never submitted last time (credit, cap, interrupt): will be created.
    Pending,
    /// In the previous results but no longer in the data: kept, not touched.
    Orphaned,
}

impl Change {
    /// Whether a run submits a create for it.
    pub fn submits(self, retry_failed: bool) -> bool {
        matches!(self, Change::New | Change::Changed | Change::Pending)
            || (retry_failed && self == Change::Failed)
    }
}

/// Previous results by key: (hash, status).
pub type Previous = HashMap<String, (String, EntryStatus)>;

/// Reads the previous results into a lookup.
pub fn previous(results: Option<&ResultsFile>) -> Previous {
    results
        .map(|r| r.entries.iter().map(|e| (e.key.clone(), (e.hash.clone(), e.status))).collect())
        .unwrap_or_default()
}

/// How a job compares with the previous results.
pub fn classify(prev: &Previous, key: &str, hash: &str) -> Change {
    match prev.get(key) {
        None => Change::New,
        Some((h, _)) if h != hash => Change::Changed,
        Some((_, EntryStatus::Completed)) => Change::Unchanged,
        Some((_, EntryStatus::Rendering)) => Change::InFlight,
        Some((_, EntryStatus::Failed)) => Change::Failed,
        Some((_, EntryStatus::NotSubmitted)) => Change::Pending,
    }
}

/// A pricing bucket: engine, avatar type, resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Product {
    /// `avatar_iv`, `avatar_v`, `avatar_iii`, `template`, `cinematic`, `studio`.
    pub engine: String,
    /// `studio_avatar`, `digital_twin`, `photo_avatar`, or `mixed`.
    pub avatar_type: String,
    /// `720p`, `1080p`, `4k`.
    pub resolution: String,
}

/// The pricing bucket of a job.
pub fn product(job: &Job, avatar_type: &dyn Fn(&str) -> Option<AvatarType>) -> Product {
    let engine_of = |e: Option<&Engine>| e.map(Engine::name).unwrap_or("avatar_iv").to_owned();
    let kind =
        |id: &str| avatar_type(id).map(|t| t.to_string()).unwrap_or_else(|| "unknown".into());
    match &job.request {
        JobRequest::Template { template_id, .. } => Product {
            engine: "template".into(),
            avatar_type: template_id.clone(),
            resolution: "template default".into(),
        },
        JobRequest::Video(r) => {
            let resolution = r.resolution().as_str().to_owned();
            let (engine, avatar_type) = match r.as_ref() {
                CreateVideoRequest::Avatar(a) => (engine_of(a.engine.as_ref()), kind(&a.avatar_id)),
                CreateVideoRequest::Image(_) => ("avatar_iv".into(), "photo_avatar".into()),
                CreateVideoRequest::CinematicAvatar(_) => ("cinematic".into(), "cinematic".into()),
                CreateVideoRequest::Studio(s) => {
                    let mut kinds: Vec<String> = s
                        .scenes
                        .iter()
                        .filter_map(|sc| match sc {
                            StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => {
                                Some(kind(&a.avatar_id))
                            }
                            _ => None,
                        })
                        .collect();
                    kinds.sort();
                    kinds.dedup();
                    let engines: Vec<String> = s
                        .scenes
                        .iter()
                        .filter_map(|sc| match sc {
                            StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => {
                                Some(engine_of(a.engine.as_ref()))
                            }
                            _ => None,
                        })
                        .collect();
                    let engine = if engines.windows(2).all(|w| w[0] == w[1]) {
                        engines.first().cloned().unwrap_or_else(|| "studio".into())
                    } else {
                        "mixed".into()
                    };
                    (
                        format!("studio/{engine}"),
                        if kinds.len() == 1 { kinds.remove(0) } else { "mixed".into() },
                    )
                }
            };
            Product { engine, avatar_type, resolution }
        }
    }
}

/// Estimates one job; templates use the template's scene count.
pub fn estimate(
    job: &Job,
    avatar_type: &dyn Fn(&str) -> Option<AvatarType>,
    template_scenes: usize,
) -> Estimate {
    match &job.request {
        JobRequest::Video(r) => pricing::estimate_create(r, avatar_type),
        JobRequest::Template { body, .. } => pricing::estimate_template(body, template_scenes),
    }
}

/// Totals of one bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Videos.
    pub videos: u64,
    /// Output seconds.
    pub seconds: f64,
    /// USD.
    pub usd: f64,
    /// Some lengths are guesses (audio reelflow cannot measure).
    pub approximate: bool,
}

impl Totals {
    /// Adds an estimate.
    pub fn add(&mut self, e: &Estimate) {
        self.videos += 1;
        self.seconds += e.seconds;
        self.usd += e.usd;
        self.approximate |= e.approximate;
    }
}

/// What a run would do, in numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanSummary {
    /// Rows per change kind.
    pub counts: BTreeMap<Change, u64>,
    /// Estimate of what a run submits, per pricing bucket.
    pub by_product: BTreeMap<String, Totals>,
    /// Estimate of everything a run submits.
    pub to_submit: Totals,
    /// Rows skipped by `data.where`.
    pub skipped_by_filter: u64,
}

impl PlanSummary {
    /// Counts one row.
    pub fn count(&mut self, change: Change) {
        *self.counts.entry(change).or_default() += 1;
    }

    /// Adds a job a run will submit.
    pub fn add_submit(&mut self, product: &Product, e: &Estimate) {
        self.to_submit.add(e);
        let label = if product.engine == "template" {
            format!("HeyGen template {}", product.avatar_type)
        } else {
            format!("{} · {} · {}", product.engine, product.avatar_type, product.resolution)
        };
        self.by_product.entry(label).or_default().add(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_keys() {
        let shards: Vec<Shard> =
            (1..=3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        for k in 0..300 {
            let key = format!("user{k}@example.com");
            assert_eq!(shards.iter().filter(|s| s.contains(&key)).count(), 1);
        }
        assert!(
            Shard::parse("0/3").is_err()
                && Shard::parse("4/3").is_err()
                && Shard::parse("x").is_err()
        );
    }

    /// A job's hash is its identity in every results file: the same request
    /// must hash to the same value across versions, or campaigns would redo
    /// every video. Pinned on the onboarding example, through expansion
    /// (hashed on a worker) and directly.
    #[test]
    fn the_job_hash_of_a_known_request_never_changes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/manifests/onboarding/manifest.yaml"
        ))
        .unwrap();
        std::fs::write(dir.path().join("manifest.yaml"), manifest).unwrap();
        std::fs::write(
            dir.path().join("leads.csv"),
            "email,first_name,plan,avatar,voice_id\nada@example.com,  ada o'neil ,pro,,\nbo@example.com,Bo \"B\" Ünal,team,Daphne_sitting_2024112502,v1\n",
        )
        .unwrap();
        let loaded = crate::manifest::load(&dir.path().join("manifest.yaml")).unwrap();
        let mut e = crate::validate::Expansion::open(loaded).unwrap();
        e.hash_for("default");
        let mut hashes = Vec::new();
        while let Some(o) = e.next_row() {
            let crate::validate::RowOutcome::Job(job, problems) = o else { panic!("{o:?}") };
            assert!(problems.is_empty(), "{problems:?}");
            assert_eq!(job_hash(&job, "default"), compute_job_hash(&job, "default"));
            hashes.push(job_hash(&job, "default"));
            hashes.push(job_hash(&job, "other"));
        }
        assert_eq!(
            hashes,
            [
                "7503245b1256a24eeda4f80f05b24714eac85a6a9d6d4afbfb897814e7474d64",
                "503df052719b0a019f0ecf77258762824ec35112474b392c00468035cd35903c",
                "26fe1c8df3c7818c695001238d15ecf2215b3c1bb83c987b8c7366dc6ebd386b",
                "a8055338bbbd56d67de47fc971f210b3b34e928673a91c81f6c9d9711dd23153",
            ]
        );
    }

    #[test]
    fn idempotency_keys_are_valid_and_stable() {
        let k = idempotency_key("Spring Onboarding!", "ada@example.com", &"ab".repeat(32));
        assert!(crate::heygen::rules::is_valid_idempotency_key(&k), "{k}");
        assert!(k.starts_with("rf:spring-onboarding:"));
        assert_eq!(k, idempotency_key("Spring Onboarding!", "ada@example.com", &"ab".repeat(32)));
        assert_ne!(k, idempotency_key("Spring Onboarding!", "bob@example.com", &"ab".repeat(32)));
        // The campaign part is frozen: accents folded, other scripts a `-`.
        assert_eq!(campaign_slug_v1("José's Été — Москва 2026"), "jose-s-ete-2026");
        assert_eq!(campaign_slug_v1(&"Ærø ".repeat(40)).len(), 64);
    }
}

/// A job with its identity, change and estimate.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// The job.
    pub job: Job,
    /// Its hash.
    pub hash: String,
    /// Compared with the previous results.
    pub change: Change,
    /// Its cost estimate.
    pub estimate: Estimate,
}

impl PlannedJob {
    /// The Idempotency-Key its create carries.
    pub fn idempotency_key(&self, campaign: &str) -> String {
        idempotency_key(campaign, &self.job.key, &self.hash)
    }
}

/// Plans jobs one at a time against the previous results.
#[derive(Debug)]
pub struct Planner {
    prev: Previous,
    account: String,
    account_tag: u64,
    retry_failed: bool,
    /// Running totals.
    pub summary: PlanSummary,
}

impl Planner {
    /// A planner for jobs on `account`.
    pub fn new(previous: Option<&ResultsFile>, account: &str, retry_failed: bool) -> Self {
        Planner {
            prev: self::previous(previous),
            account: account.to_owned(),
            account_tag: crate::expand::account_tag(account),
            retry_failed,
            summary: PlanSummary::default(),
        }
    }

    /// Plans one job.
    pub fn add(
        &mut self,
        mut job: Job,
        catalog: Option<&crate::validate::catalog::CatalogIndex>,
    ) -> PlannedJob {
        let hash = match job.digest.take() {
            Some((tag, hash)) if tag == self.account_tag => hash,
            _ => compute_job_hash(&job, &self.account),
        };
        // Planning from scratch has no previous results: skip hashing the key.
        let change = if self.prev.is_empty() {
            Change::New
        } else {
            let change = classify(&self.prev, &job.key, &hash);
            self.prev.remove(&job.key);
            change
        };
        let types = |id: &str| catalog.and_then(|c| c.avatar_type(id));
        let scenes = match &job.request {
            JobRequest::Template { template_id, .. } => {
                catalog.and_then(|c| c.template(template_id)).map_or(1, |t| t.scene_ids.len())
            }
            JobRequest::Video(_) => 0,
        };
        let est = estimate(&job, &types, scenes);
        self.summary.count(change);
        if change.submits(self.retry_failed) {
            self.summary.add_submit(&product(&job, &types), &est);
        }
        PlannedJob { job, hash, change, estimate: est }
    }

    /// Rows of the previous results that no job matched: orphaned.
    pub fn finish(mut self) -> (PlanSummary, Vec<String>) {
        let mut orphans: Vec<String> = self.prev.into_keys().collect();
        orphans.sort();
        for _ in &orphans {
            self.summary.count(Change::Orphaned);
        }
        (self.summary, orphans)
    }
}

/// A shard of the rows: `I/N` with I in 1..=N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

/// Why a `--shard` value is not `I/N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No `/`.
    #[error("`{0}` is not I/N (for example 2/4)")]
    Form(String),
    /// I is not a number.
    #[error("`{0}` is not a shard number")]
    Index(String),
    /// N is not a number.
    #[error("`{0}` is not a shard count")]
    Count(String),
    /// I outside 1..=N.
    #[error(
        "shard {index}/{count}: I must be between 1 and N (Kubernetes indexes start at 0: use $((JOB_COMPLETION_INDEX+1))/N)"
    )]
    Range {
        /// I as given.
        index: u32,
        /// N as given.
        count: u32,
    },
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(s: &str) -> Result<Shard, ShardError> {
        let (i, n) = s.split_once('/').ok_or_else(|| ShardError::Form(s.to_owned()))?;
        let index: u32 = i.trim().parse().map_err(|_| ShardError::Index(i.to_owned()))?;
        let count: u32 = n.trim().parse().map_err(|_| ShardError::Count(n.to_owned()))?;
        if count == 0 || index == 0 || index > count {
            return Err(ShardError::Range { index, count });
        }
        Ok(Shard { index, count })
    }

    /// Whether the row with this key belongs to this shard. The split is by
    /// a hash of the key, so it is stable as rows are added or removed.
    pub fn contains(&self, key: &str) -> bool {
        let h = blake3::hash(key.as_bytes());
        let n = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]));
        n % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
