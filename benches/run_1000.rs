//! Benchmark: a 1,000-video campaign against the simulator with a fixed
//! render time and HeyGen's job cap of 10.
//!
//! Reports the makespan against the ideal (jobs ÷ cap × render time), API
//! requests per video by route, and the 429s received. Each video is
//! created, polled (bulk), detailed and downloaded. Run:
//! `cargo bench --bench run_1000` (BENCH_JOBS, BENCH_RENDER_SECS to change).

use std::time::Duration;

use reelflow::engine::{self, NullSink, RunInput, RunOptions};
use reelflow::heygen::{Client, ClientConfig, Credential, Secret};
use reelflow::plan::Planner;
use reelflow::sim::{SimConfig, Simulator};
use reelflow::validate::pipeline::{self, CatalogSource};

fn main() {
    let jobs: usize = std::env::var("BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let render: f64 =
        std::env::var("BENCH_RENDER_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let cap = 10usize;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let sim = Simulator::start(
            SimConfig {
                render_secs: render,
                max_jobs: cap,
                balance_usd: 1e9,
                record_limit: 0,
                media_bytes_per_sec: 1024,
                ..SimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("id,name\n");
        for i in 0..jobs {
            csv.push_str(&format!("row{i:05},Person {i}\n"));
        }
        std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
        std::fs::write(
            dir.path().join("bench.yaml"),
            "version: 1\nname: bench\ndata:\n  csv: rows.csv\n  key: \"{{ id }}\"\nvideo:\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n      script: \"Hello {{ name }}, welcome aboard.\"\noutput:\n  results: out/results.json\n  download: \"out/videos/{{ key }}.mp4\"\n",
        )
        .unwrap();
        let client = Client::new(ClientConfig::new(sim.base_url(), Credential::ApiKey(Secret::new("bench")))).unwrap();
        let manifest = reelflow::manifest::load(&dir.path().join("bench.yaml")).unwrap();
        let base = manifest.resolve(".");
        let results_path = manifest.results_path();
        let source = CatalogSource { client: client.clone(), cache: None, ttl: Duration::from_secs(60), refresh: true };
        let mut planner = Planner::new(None, "default", false);
        let mut planned = Vec::new();
        let checked = pipeline::check(manifest, Some(source), |job, cat| planned.push(planner.add(job, cat)), |_| {}).await.unwrap();
        assert_eq!(checked.problems.error_count(), 0);
        let before = sim.stats();
        let input = RunInput {
            campaign: "bench".into(),
            account: "default".into(),
            shard: None,
            jobs: planned,
            previous: None,
            orphans: Vec::new(),
            results_path,
            base_dir: base,
            retry_failed: false,
        };
        let opts = RunOptions { concurrency: cap, poll_every: Duration::from_secs(30), ..RunOptions::default() };
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let report = engine::run(&client, input, opts, &mut NullSink, None, rx).await.unwrap();
        let after = sim.stats();
        assert_eq!(report.results.summary.completed as usize, jobs);
        let ideal = (jobs as f64 / cap as f64).ceil() * render;
        let makespan = report.elapsed.as_secs_f64();
        let api_requests = after.requests - before.requests;
        println!("jobs {jobs}, cap {cap}, render {render:.2}s");
        println!("makespan {makespan:.2}s vs ideal {ideal:.2}s: {:+.1}%", (makespan / ideal - 1.0) * 100.0);
        println!("API requests per video: {:.2} ({api_requests} requests)", api_requests as f64 / jobs as f64);
        for (route, n) in &after.requests_by_route {
            let n0 = before.requests_by_route.get(route).copied().unwrap_or(0);
            if n > &n0 {
                println!("  {route:<28} {:>6}  ({:.3}/video)", n - n0, (n - n0) as f64 / jobs as f64);
            }
        }
        println!("plus downloads: {} media files", after.media_served - before.media_served);
        println!("429s received: {}", after.rate_limited_429 - before.rate_limited_429);
        println!("one poll per video per 1s interval would cost {:.1} status requests per video", render / 1.0);
    });
}
