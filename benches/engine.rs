//! Benchmarks of the run engine against the simulator, each printed beside
//! its ideal (ceil(jobs / cap) × mean render) measured in the same process.
//!
//! `cargo bench --bench engine` runs every scenario; `BENCH=name[,name]`
//! picks some (`variance30`, `variance30folder`: the same filed in a
//! campaign folder, `variance1`, `cap5`, `hangs`, `scale`).
//! `BENCH_SCALE` (default 10) runs the simulator's clock that many times
//! faster for the long-render scenarios: render times, hangs and
//! Retry-After shrink together, and so do the engine's own time knobs
//! (poll gaps), so makespan ÷ ideal is unchanged. Timeouts of the HTTP
//! client are real seconds; the hang scenario's 120 s hang is shorter
//! than the 120 s create timeout at any scale, as it would be for real.
//! `BENCH_JOBS` overrides the job count of `scale` (100,000 by default:
//! about 9 minutes). `BENCH_CALL_WORTH` sets the poll policy's
//! `poll_call_worth` (fewer status calls against more detection lag).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reelflow::engine::{self, NullSink, Outcome, RunInput, RunOptions, RunReport};
use reelflow::heygen::{Client, ClientConfig, Credential, Secret};
use reelflow::plan::Planner;
use reelflow::sim::{Clock, Delay, Delays, EndpointClass, SimConfig, SimStats, Simulator};
use reelflow::validate::pipeline::{self, CatalogSource};

/// The allocator the `reelflow` binary uses (see src/main.rs), so memory
/// is measured as `reelflow run` would use it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One scenario's setup.
#[derive(Clone)]
struct Scenario {
    jobs: usize,
    /// The server's job cap.
    cap: usize,
    /// reelflow's `--concurrency`.
    concurrency: usize,
    /// Mean render, simulated seconds.
    render: f64,
    jitter: f64,
    tail_rate: f64,
    delays: Delays,
    /// Simulated seconds per real second.
    scale: f64,
    download: bool,
    /// File the videos in a campaign folder (`output.folder`), so the
    /// engine follows them by listing it.
    folder: bool,
}

/// What one run measured.
struct Measured {
    report: RunReport,
    /// Real seconds.
    makespan: f64,
    stats: SimStats,
    before: SimStats,
    /// Real seconds the same renders take with zero detection lag and
    /// zero latency (see [`zero_lag`]); `None` for a child simulator.
    zero_lag: Option<f64>,
}

impl Measured {
    fn requests(&self) -> u64 {
        self.stats.requests - self.before.requests
    }
    fn route(&self, r: &str) -> u64 {
        self.stats.requests_by_route.get(r).copied().unwrap_or(0)
            - self.before.requests_by_route.get(r).copied().unwrap_or(0)
    }
    fn r429(&self) -> u64 {
        self.stats.rate_limited_429 - self.before.rate_limited_429
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let pick: Vec<String> = std::env::var("BENCH")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let wants = |name: &str| pick.is_empty() || pick.iter().any(|p| p == name);
    let scale = env("BENCH_SCALE", 10.0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let base = Scenario {
        jobs: 100,
        cap: 10,
        concurrency: 10,
        render: 30.0,
        jitter: 0.2,
        tail_rate: 0.0,
        delays: Delays::default(),
        scale,
        download: true,
        folder: false,
    };
    if wants("variance30") {
        println!("== 100 jobs, cap 10, 30 s ±20 % renders (clock ×{scale})");
        let m = rt.block_on(run(&base));
        summary(&base, &m);
        let heavy = Scenario { tail_rate: 0.05, ..base.clone() };
        println!("-- same, 5 % of renders 3× the mean (heavy tail)");
        let m = rt.block_on(run(&heavy));
        summary(&heavy, &m);
    }
    if wants("variance30folder") {
        let s = Scenario { folder: true, ..base.clone() };
        println!(
            "== 100 jobs, cap 10, 30 s ±20 % renders, filed in a campaign folder (clock ×{scale})"
        );
        let m = rt.block_on(run(&s));
        summary(&s, &m);
    }
    if wants("variance1") {
        let s = Scenario { jobs: 1000, render: 1.0, scale: 1.0, ..base.clone() };
        println!("== 1,000 jobs, cap 10, 1 s ±20 % renders (real time)");
        let m = rt.block_on(run(&s));
        summary(&s, &m);
    }
    if wants("cap5") {
        let s = Scenario { jobs: 200, cap: 5, render: 3.0, scale: 1.0, ..base.clone() };
        println!("== 200 jobs, server cap 5, --concurrency 10, 3 s ±20 % renders (real time)");
        let m = rt.block_on(run(&s));
        summary(&s, &m);
        let pct = 100.0 * m.r429() as f64 / m.requests() as f64;
        println!("429s: {} of {} requests ({pct:.2} %)", m.r429(), m.requests());
    }
    if wants("hangs") {
        let calm = Scenario { jobs: 60, render: 25.0, jitter: 0.2, ..base.clone() };
        let mut delays = Delays::default();
        for c in EndpointClass::ALL {
            delays.set(c, Delay { rate: 0.03, secs: 120.0 });
        }
        let hung = Scenario { delays, ..calm.clone() };
        println!(
            "== 60 jobs, cap 10, 20–30 s renders, 3 % of responses hang 120 s (clock ×{scale})"
        );
        let without = rt.block_on(run(&calm));
        summary(&calm, &without);
        let with = rt.block_on(run(&hung));
        summary(&hung, &with);
        let dups = with.stats.creates_by_idempotency_key.values().filter(|n| **n > 1).count();
        println!(
            "with hangs / without: {:.3} (wall {:.1} s vs {:.1} s); duplicate creates: {dups}",
            with.makespan / without.makespan,
            with.makespan,
            without.makespan
        );
    }
    if wants("scale") {
        let jobs = env("BENCH_JOBS", 100_000usize);
        let s = Scenario {
            jobs,
            cap: 100,
            concurrency: 100,
            render: 0.5,
            jitter: 0.0,
            scale: 1.0,
            download: false,
            ..base.clone()
        };
        println!(
            "== {jobs} jobs, cap 100, 0.5 s renders, no downloads (simulator in its own process)"
        );
        let m = rt.block_on(run(&s));
        summary(&s, &m);
        let rss = peak_rss_mb();
        let state = m.report.state_time.as_secs_f64();
        println!(
            "peak RSS {rss:.0} MB; results+journal writing {state:.1} s = {:.2} % of the run ({} checkpoints {:.1} s, {} intent flushes for {} creates); CPU (user+sys) {:.1} s",
            100.0 * state / m.makespan,
            m.report.checkpoints,
            m.report.checkpoint_time.as_secs_f64(),
            m.report.intent_flushes,
            m.report.accepted,
            cpu_secs()
        );
    }
}

fn summary(s: &Scenario, m: &Measured) {
    let ideal_sim = (s.jobs as f64 / s.cap as f64).ceil() * s.render;
    let ideal = ideal_sim / s.scale;
    let r = &m.report;
    assert_eq!(r.outcome, Outcome::Finished, "{:?}", r.warnings);
    println!(
        "makespan {:.2} s vs ideal {:.2} s: {:.3}× ideal",
        m.makespan,
        ideal,
        m.makespan / ideal
    );
    if let Some(z) = m.zero_lag {
        println!(
            "zero-lag makespan of the same renders {z:.2} s ({:.3}× ideal): {:.3}× zero-lag",
            z / ideal,
            m.makespan / z
        );
    }
    let per = |n: u64| n as f64 / s.jobs as f64;
    println!(
        "API calls per video {:.2} (create {:.2}, statuses {:.2}, folder list {:.2}, detail {:.2}); 429s {}; reelflow counted {} requests, {} 429s",
        per(m.requests()),
        per(m.route("POST /v3/videos")),
        per(m.route("GET /v3/videos/statuses")),
        per(m.route("GET /v3/videos")),
        per(m.route("GET /v3/videos/{id}")),
        m.r429(),
        r.requests,
        r.rate_limited
    );
}

async fn run(s: &Scenario) -> Measured {
    let config = SimConfig {
        render_secs: s.render,
        render_jitter: s.jitter,
        render_tail_rate: s.tail_rate,
        render_tail_factor: 3.0,
        max_jobs: s.cap,
        balance_usd: 1e12,
        record_limit: 0,
        media_bytes_per_sec: 1024,
        delays: s.delays,
        clock: Clock::scaled(s.scale),
        ..SimConfig::default()
    };
    if s.jobs >= 20_000 {
        // The simulator's own memory would blur the engine's peak RSS.
        let mut child = ChildSim::start(s);
        let m = campaign(s, &child.url, || child.stats()).await;
        child.stop();
        return m;
    }
    let sim = Simulator::start(config.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut m = campaign(s, &sim.base_url(), || sim.stats()).await;
    m.zero_lag = Some(zero_lag(s, &config, &m.report) / s.scale);
    m
}

/// The makespan of a client that sees every render finish the instant it
/// does and whose creates take no time: the run's own videos, in the order
/// they were submitted (row order), each started on the first of `cap`
/// slots to free up. Render times vary, so this is longer than
/// ceil(jobs ÷ cap) × mean; it is the best any client could have done
/// with the renders this run met (simulator seconds).
fn zero_lag(s: &Scenario, config: &SimConfig, report: &RunReport) -> f64 {
    let mut slots = vec![0.0f64; s.cap];
    for e in &report.results.entries {
        let Some(id) = e.video_id.as_deref() else { continue };
        let free = slots.iter_mut().min_by(|a, b| a.total_cmp(b)).expect("cap > 0");
        *free += config.render_secs_of(id);
    }
    slots.into_iter().fold(0.0, f64::max)
}

async fn campaign(s: &Scenario, url: &str, stats: impl Fn() -> SimStats) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    write_campaign(dir.path(), s.jobs, s.download, s.folder);
    let client =
        Client::new(ClientConfig::new(url, Credential::ApiKey(Secret::new("bench")))).unwrap();
    let manifest = reelflow::manifest::load(&dir.path().join("bench.yaml")).unwrap();
    let base = manifest.resolve(".");
    let results_path = manifest.results_path();
    let source = CatalogSource {
        client: client.clone(),
        cache: None,
        ttl: Duration::from_secs(60),
        refresh: true,
    };
    let mut planner = Planner::new(None, "default", false);
    let mut planned = Vec::new();
    let checked = pipeline::check(
        manifest,
        Some(source),
        |job, cat| planned.push(planner.add(job, cat)),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(checked.problems.error_count(), 0);
    let before = stats();
    // The folder is resolved (created) and its id put into the bodies as
    // `reelflow run` does; its calls count against the run.
    let mut previous = None;
    if s.folder {
        let m = reelflow::manifest::load(&dir.path().join("bench.yaml")).unwrap();
        reelflow::prepare::prepare(
            &client,
            &m,
            "default",
            None,
            &mut previous,
            &results_path,
            &mut planned,
            false,
        )
        .await
        .unwrap();
    }
    let folder_id = previous.as_ref().and_then(|p| p.folder.as_ref()).map(|f| f.id.clone());
    if s.jobs >= 20_000 {
        println!(
            "RSS after planning {:.0} MB (peak so far {:.0} MB)",
            rss_mb("VmRSS:"),
            peak_rss_mb()
        );
    }
    let input = RunInput {
        campaign: "bench".into(),
        account: "default".into(),
        shard: None,
        jobs: planned,
        previous,
        orphans: Vec::new(),
        results_path,
        base_dir: base,
        retry_failed: false,
        folder_id,
    };
    let opts = RunOptions {
        concurrency: s.concurrency,
        download: s.download,
        poll_every: Duration::from_secs_f64(30.0 / s.scale),
        min_poll_gap: Duration::from_secs_f64(0.2 / s.scale),
        poll_call_worth: env("BENCH_CALL_WORTH", RunOptions::default().poll_call_worth),
        ..RunOptions::default()
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    // RSS sampled through the run (large runs), reported at its quarters.
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(s.jobs >= 20_000));
    let sampler = {
        let on = sampling.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while on.load(std::sync::atomic::Ordering::Relaxed) {
                samples.push(rss_mb("VmRSS:"));
                std::thread::sleep(Duration::from_millis(500));
            }
            samples
        })
    };
    let report = engine::run(&client, input, opts, &mut NullSink, None, rx).await.unwrap();
    let makespan = started.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    if !samples.is_empty() {
        let at = |q: usize| samples[(samples.len() - 1) * q / 4];
        let (peak_at, peak) = samples
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |m, (i, v)| if v > m.1 { (i, v) } else { m });
        println!(
            "RSS through the run: {:.0} / {:.0} / {:.0} / {:.0} MB at 1/4, 1/2, 3/4, end; max sampled {peak:.0} MB, {:.1} s into the run",
            at(1),
            at(2),
            at(3),
            at(4),
            peak_at as f64 * 0.5
        );
    }
    assert_eq!(
        report.results.summary.completed as usize,
        s.jobs,
        "ended {:?} after {makespan:.1} s: {:?}",
        report.outcome,
        report.warnings.iter().take(5).collect::<Vec<_>>()
    );
    Measured { report, makespan, stats: stats(), before, zero_lag: None }
}

fn write_campaign(dir: &Path, jobs: usize, download: bool, folder: bool) {
    let mut csv = String::with_capacity(jobs * 24);
    csv.push_str("id,name\n");
    for i in 0..jobs {
        csv.push_str(&format!("row{i:06},Person {i}\n"));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    let mut download =
        if download { "  download: \"out/videos/{{ key }}.mp4\"\n" } else { "" }.to_owned();
    if folder {
        download.push_str("  folder: \"bench campaign\"\n");
    }
    std::fs::write(
        dir.join("bench.yaml"),
        format!("version: 1\nname: bench\ndata:\n  csv: rows.csv\n  key: \"{{{{ id }}}}\"\nvideo:\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n      script: \"Hello {{{{ name }}}}, welcome aboard.\"\noutput:\n  results: out/results.json\n{download}"),
    )
    .unwrap();
}

/// The simulator as a child process (`reelflow sim serve`).
struct ChildSim {
    child: Child,
    url: String,
}

impl ChildSim {
    fn start(s: &Scenario) -> ChildSim {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_reelflow"))
            .args(["sim", "serve", "--addr", &format!("127.0.0.1:{port}")])
            .args(["--render-secs", &s.render.to_string(), "--max-jobs", &s.cap.to_string()])
            .args(["--balance-usd", "1000000000000"])
            .env("REELFLOW_SIM_STATE", "none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let sim = ChildSim { child, url };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sim;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the simulator did not start");
    }

    fn stats(&self) -> SimStats {
        let out = Command::new("curl")
            .args(["-s", &format!("{}/_sim/stats", self.url)])
            .output()
            .expect("curl runs");
        serde_json::from_slice(&out.stdout).expect("stats")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}
