//! `reelflow run` against the simulator: a whole campaign, and everything
//! that goes wrong in real ones (429 storms, 5xx, dropped connections,
//! error bodies, running out of credit, failed renders, expired links,
//! crashes, Ctrl-C), checked against the simulator's own counters.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use reelflow::engine::{self, NullSink, Outcome, RunInput, RunOptions};
use reelflow::heygen::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use reelflow::sim::{FAIL_MARKER, FaultKind, FaultRates, FaultRule, SimConfig, Simulator};
use serde_json::Value;

use crate::support::{Output, background, reelflow, settings};

const LOOKS: [&str; 3] =
    ["Abigail_expressive_2024112501", "Brandon_sitting_2024112502", "Maya_photo_front_2025010101"];

/// Writes a campaign of `rows` rows into `dir`; row `i` says `words` words.
fn campaign(dir: &Path, rows: usize, extra_manifest: &str, script_of: impl Fn(usize) -> String) {
    let mut csv = String::from("id,name,look,script\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "u{i:03},Name {i},{},\"{}\"\n",
            LOOKS[i % 3],
            script_of(i).replace('"', "\"\"")
        ));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        format!(
            "version: 1\nname: run-test\ndata:\n  csv: rows.csv\n  key: \"{{{{ id }}}}\"\nvideo:\n  title: \"Hello {{{{ name }}}}\"\n  caption: true\n  scenes:\n    - avatar: \"{{{{ look }}}}\"\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n      script: \"{{{{ script }}}}\"\noutput:\n  results: out/results.json\n  download: \"out/videos/{{{{ key }}}}.mp4\"\n  captions: true\nrun:\n  poll:\n    every: 2s\n{extra_manifest}"
        ),
    )
    .unwrap();
}

fn words(i: usize) -> String {
    format!("Hello number {i}, this is your personal video.")
}

fn run(dir: &Path, sim: &Simulator, args: &[&str]) -> Output {
    let base = sim.base_url();
    reelflow(dir, args, &[("HEYGEN_API_KEY", "sk_run_test"), ("HEYGEN_BASE_URL", base.as_str())])
}

fn results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/results.json")).unwrap()).unwrap()
}

fn statuses(r: &Value) -> Vec<(String, String)> {
    r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap().into(), e["status"].as_str().unwrap().into()))
        .collect()
}

/// Every Idempotency-Key created exactly one video.
fn assert_no_double_creates(sim: &Simulator) {
    let stats = sim.stats();
    for (key, n) in &stats.creates_by_idempotency_key {
        assert_eq!(*n, 1, "key {key} created {n} videos");
    }
    assert!(!stats.creates_by_idempotency_key.contains_key("-"), "every create carried a key");
}

#[test]
fn a_campaign_end_to_end_then_nothing_to_do() {
    let sim =
        background(SimConfig { render_secs: 0.3, render_jitter: 0.3, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 12, "", words);
    let first = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let r = results(dir.path());
    assert_eq!(r["summary"]["completed"], 12);
    for e in r["entries"].as_array().unwrap() {
        let file = dir.path().join(e["file"].as_str().unwrap());
        assert_eq!(std::fs::metadata(&file).unwrap().len(), e["file_bytes"].as_u64().unwrap());
        assert!(dir.path().join(e["captions_file"].as_str().unwrap()).exists());
        assert!(e["idempotency_key"].as_str().unwrap().starts_with("rf:run-test:"));
    }
    let stats = sim.stats();
    assert_eq!(stats.videos_created, 12);
    assert_no_double_creates(&sim);
    assert!(
        !dir.path().join("out/results.json.journal").exists(),
        "a finished run leaves no journal"
    );

    let mut s = settings();
    s.add_redaction(".updated_at", "[time]");
    s.add_redaction(".entries[].video_id", "[video_id]");
    s.add_redaction(".entries[].video_url", "[url]");
    s.add_redaction(".entries[].subtitle_url", "[url]");
    s.add_redaction(".entries[].thumbnail_url", "[url]");
    s.add_redaction(".entries[].video_page_url", "[url]");
    s.add_redaction(".entries[].submitted_at", "[time]");
    s.add_redaction(".entries[].completed_at", "[time]");
    s.bind(|| insta::assert_json_snapshot!("run_results_manifest", r));

    // Unchanged rows are skipped; a changed row is made again.
    let again = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(again.code, 0);
    assert_eq!(sim.stats().videos_created, 12, "nothing new to create");
    campaign(dir.path(), 12, "", |i| {
        if i == 5 { "A brand new script for row five.".into() } else { words(i) }
    });
    let changed = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    assert_eq!(sim.stats().videos_created, 13);
    let csv = run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "csv"]);
    assert_eq!(csv.stdout.lines().count(), 13, "header + 12 rows");
}

#[test]
fn a_429_storm_halves_the_fan_out_and_finishes() {
    let sim = background(SimConfig { render_secs: 0.4, max_jobs: 3, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 15, "", words);
    let out =
        run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--concurrency", "10", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let limited: Vec<&Value> = events.iter().filter(|e| e["event"] == "rate_limited").collect();
    assert!(!limited.is_empty(), "the simulator's cap of 3 is below --concurrency 10");
    assert!(limited.iter().all(|e| e["limit"].as_u64().unwrap() < 10));
    assert!(events.last().unwrap()["event"] == "finished");
    assert_eq!(results(dir.path())["summary"]["completed"], 15);
    let stats = sim.stats();
    assert_eq!(stats.max_jobs_in_flight, 3);
    assert!(stats.rate_limited_429 >= 1);
    assert_no_double_creates(&sim);
}

#[test]
fn server_errors_drops_and_error_bodies_never_fail_a_job_or_create_twice() {
    let sim = background(SimConfig {
        render_secs: 0.3,
        faults: FaultRates {
            server_error: 0.15,
            error_body: 0.1,
            drop: 0.15,
            slow: 0.0,
            slow_ms: 0,
        },
        seed: 11,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 10, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert_eq!(results(dir.path())["summary"]["completed"], 10);
    let stats = sim.stats();
    assert!(stats.faults_injected > 5, "faults really happened: {}", stats.faults_injected);
    assert_eq!(stats.videos_created, 10);
    assert_no_double_creates(&sim);
}

#[test]
fn running_out_of_credit_stops_launching_and_records_why() {
    // Each video is ~3.2 s of studio avatar (~$0.21); $1 pays for four.
    let sim = background(SimConfig { render_secs: 0.3, balance_usd: 1.0, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 8, "", |i| format!("Row {i}: {}", "word ".repeat(6)));
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--concurrency", "1"]);
    assert_eq!(out.code, 9, "credit stop: {}", out.transcript());
    let r = results(dir.path());
    let done = r["summary"]["completed"].as_u64().unwrap();
    assert!((3..=5).contains(&done), "{done}");
    assert_eq!(r["summary"]["not_submitted"].as_u64().unwrap(), 8 - done);
    let stopped: Vec<&Value> = r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "not_submitted")
        .collect();
    assert!(stopped.iter().all(|e| e["error"]["code"] == "insufficient_credit"), "{stopped:?}");
    assert!(out.stdout.contains("top up"), "{}", out.stdout);
    // Topped up, a rerun submits only the rest.
    sim.set_balance(100.0);
    let rest = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    assert_eq!(results(dir.path())["summary"]["completed"], 8);
    assert_eq!(sim.stats().videos_created, 8);
}

#[test]
fn the_cost_cap_stops_launching() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 10, "", |i| format!("Row {i}: {}", "word ".repeat(6)));
    let out = run(
        dir.path(),
        &sim,
        &["run", "campaign.yaml", "--yes", "--max-cost", "0.5", "--concurrency", "2"],
    );
    assert_eq!(out.code, 9, "{}", out.transcript());
    let r = results(dir.path());
    let created = sim.stats().videos_created;
    assert!((1..=3).contains(&created), "{created} videos fit under $0.50");
    assert!(r["entries"].as_array().unwrap().iter().any(|e| e["error"]["code"] == "cost_cap"));
}

#[test]
fn failed_renders_are_recorded_and_retried_on_request() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 6, "", |i| {
        if i % 3 == 0 { format!("row {i} {FAIL_MARKER}") } else { words(i) }
    });
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 5, "{}", out.transcript());
    let r = results(dir.path());
    let failed: Vec<&Value> =
        r["entries"].as_array().unwrap().iter().filter(|e| e["status"] == "failed").collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|e| e["error"]["code"] == "rendering_failed" && e["file"].is_null()));
    // Without --retry-failed nothing is resubmitted (and the failed rows
    // keep the exit code); with it, the failed rows are.
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 5);
    assert_eq!(sim.stats().videos_created, 6);
    let retry = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--retry-failed"]);
    assert_eq!(retry.code, 5, "the marker still fails them");
    assert_eq!(sim.stats().videos_created, 8);
}

#[test]
fn an_expired_download_link_is_fetched_fresh_once() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    sim.push_faults([FaultRule {
        method: Some("GET".into()),
        path: "/_sim/media/".into(),
        kind: FaultKind::Status(403),
        times: 2,
    }]);
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 2, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let r = results(dir.path());
    for e in r["entries"].as_array().unwrap() {
        assert!(dir.path().join(e["file"].as_str().unwrap()).exists());
    }
    assert_eq!(sim.stats().faults_injected, 2);
    assert!(
        sim.stats().requests_by_route["GET /v3/videos/{id}"] >= 4,
        "details fetched again for fresh links"
    );
}

#[test]
fn sigkill_at_any_moment_never_creates_twice_or_loses_a_row() {
    let sim = background(SimConfig {
        render_secs: 0.6,
        create_latency_ms: 120,
        max_jobs: 4,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 16, "", words);
    let base = sim.base_url();
    let mut killed_mid_run = 0;
    // Killed after its n-th event (JSON lines): a point in the run, not a
    // wall-clock guess.
    for kill_after_events in [2usize, 6, 14, 24, 40] {
        let mut child = crate::support::command(dir.path())
            .args(["run", "campaign.yaml", "--yes", "--concurrency", "4", "--json"])
            .env("HEYGEN_API_KEY", "sk_run_test")
            .env("HEYGEN_BASE_URL", &base)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let _ = lines.take(kill_after_events).count();
        let _ = child.kill(); // SIGKILL: no cleanup runs
        let _ = child.wait();
        // A journal left behind means the kill landed between a create's
        // intent and the end of the run.
        if dir.path().join("out/results.json.journal").exists() {
            killed_mid_run += 1;
        }
        assert_no_double_creates(&sim);
    }
    assert!(killed_mid_run >= 2, "only {killed_mid_run} kills landed mid-run");
    let last = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--concurrency", "4"]);
    assert_eq!(last.code, 0, "{}", last.transcript());
    let r = results(dir.path());
    let rows = statuses(&r);
    assert_eq!(rows.len(), 16, "no row lost");
    assert!(rows.iter().all(|(_, s)| s == "completed"), "{rows:?}");
    assert_no_double_creates(&sim);
    assert_eq!(sim.stats().videos_created, 16, "one video per row, across six processes");
}

#[test]
fn ctrl_c_stops_launching_persists_and_resumes() {
    let sim = background(SimConfig { render_secs: 1.0, max_jobs: 2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 8, "", words);
    let mut child = crate::support::command(dir.path())
        .args(["run", "campaign.yaml", "--yes", "--concurrency", "2", "--json"])
        .env("HEYGEN_API_KEY", "sk_run_test")
        .env("HEYGEN_BASE_URL", sim.base_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once two renders are accepted (a point in the run, not a
    // guess of how long it takes to get there).
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut accepted = 0;
    for line in lines.by_ref() {
        if line.unwrap().contains(r#""event":"accepted""#) {
            accepted += 1;
            if accepted == 2 {
                break;
            }
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains(r#""reason":"interrupted""#)), "{rest:?}");
    let r = results(dir.path());
    assert!(r["summary"]["completed"].as_u64().unwrap() < 8, "stopped early");
    let resumed = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(results(dir.path())["summary"]["completed"], 8);
    assert_eq!(sim.stats().videos_created, 8);
    assert_no_double_creates(&sim);
}

#[test]
fn a_timeout_leaves_videos_rendering_and_status_picks_them_up() {
    let sim = background(SimConfig { render_secs: 2.5, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--timeout", "1s"]);
    assert_eq!(out.code, 6, "{}", out.transcript());
    assert!(out.stdout.contains("still rendering (not failed)"), "{}", out.stdout);
    assert_eq!(results(dir.path())["summary"]["rendering"], 3);
    let once = run(dir.path(), &sim, &["status", "campaign.yaml"]);
    assert_eq!(once.code, 6, "one pass, still rendering: {}", once.transcript());
    let waited = run(dir.path(), &sim, &["status", "campaign.yaml", "--wait"]);
    assert_eq!(waited.code, 0, "{}", waited.transcript());
    assert_eq!(results(dir.path())["summary"]["completed"], 3);
    assert_eq!(sim.stats().videos_created, 3, "status submits nothing");
}

#[test]
fn shards_split_the_rows_and_results_merges_them() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 9, "", words);
    for shard in ["1/3", "2/3", "3/3"] {
        let out = run(
            dir.path(),
            &sim,
            &["run", "campaign.yaml", "--yes", "--shard", shard, "--no-download"],
        );
        assert_eq!(out.code, 0, "{shard}: {}", out.stderr);
    }
    let sizes: Vec<u64> = (1..=3)
        .map(|i| {
            let f = dir.path().join(format!("out/results.shard-{i}-of-3.json"));
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v["summary"]["total"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 9, "each row in exactly one shard: {sizes:?}");
    let merged = run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "json"]);
    let v: Value = serde_json::from_str(&merged.stdout).unwrap();
    assert_eq!(v["summary"]["completed"], 9);
    assert_eq!(sim.stats().videos_created, 9);
    let bad = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--shard", "0/3"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn off_a_terminal_spending_needs_yes_and_invalid_rows_submit_nothing() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--yes"));
    campaign(dir.path(), 3, "", |i| if i == 1 { String::new() } else { words(i) });
    let invalid = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(invalid.code, 4, "{}", invalid.stderr);
    assert_eq!(sim.stats().videos_created, 0, "validation failed: nothing submitted");
    assert_eq!(sim.stats().requests_by_route.get("POST /v3/videos"), None);
}

#[test]
fn the_timeout_stops_launching_even_while_downloads_run() {
    let sim = background(SimConfig { render_secs: 0.5, max_jobs: 2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 12, "", words);
    let started = std::time::Instant::now();
    let out = run(
        dir.path(),
        &sim,
        &["run", "campaign.yaml", "--yes", "--concurrency", "2", "--timeout", "1200ms"],
    );
    let took = started.elapsed();
    assert_eq!(out.code, 6, "{}", out.transcript());
    assert!(
        took < Duration::from_secs(4),
        "a 12-row campaign at 2 in flight takes 3 s; the run stopped at its timeout ({took:?})"
    );
    let r = results(dir.path());
    let entries = r["entries"].as_array().unwrap();
    let not_launched = entries.iter().filter(|e| e["error"]["code"] == "timed_out").count();
    assert!(not_launched >= 4, "rows never launched say why: {not_launched}");
    assert_eq!(sim.stats().videos_created as usize, 12 - not_launched);
}

#[test]
fn a_flaky_file_host_is_retried_and_a_file_still_missing_is_not_done() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    // Four media requests fail (the video of one row, then its retries).
    sim.push_faults([FaultRule {
        method: Some("GET".into()),
        path: "/_sim/media/".into(),
        kind: FaultKind::Status(503),
        times: 3,
    }]);
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "retried until saved: {}", out.transcript());
    for e in results(dir.path())["entries"].as_array().unwrap() {
        assert!(dir.path().join(e["file"].as_str().unwrap()).exists());
        assert!(dir.path().join(e["thumbnail_file"].as_str().unwrap()).exists());
    }
    // A host that keeps failing: the run says so and exits non-zero; the
    // error names the file host, not HeyGen.
    // Every try of the new row's video (five) fails.
    sim.push_faults([FaultRule {
        method: Some("GET".into()),
        path: "/_sim/media/".into(),
        kind: FaultKind::Status(503),
        times: 5,
    }]);
    campaign(dir.path(), 4, "", words);
    let failing = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(failing.code, 5, "{}", failing.transcript());
    assert!(failing.stdout.contains("have no file yet"), "{}", failing.stdout);
    assert!(failing.stderr.contains("file host answered HTTP 503"), "{}", failing.stderr);
    assert!(!failing.stderr.contains("HeyGen answered 503"), "{}", failing.stderr);
    let r = results(dir.path());
    let u003 = r["entries"].as_array().unwrap().iter().find(|e| e["key"] == "u003").unwrap();
    assert_eq!(u003["status"], "completed");
    assert!(u003["file"].is_null());
    // The host is back: `status` fetches the missing file.
    let fixed = run(dir.path(), &sim, &["status", "campaign.yaml"]);
    assert_eq!(fixed.code, 0, "{}", fixed.transcript());
    let r = results(dir.path());
    let u003 = r["entries"].as_array().unwrap().iter().find(|e| e["key"] == "u003").unwrap();
    assert!(dir.path().join(u003["file"].as_str().unwrap()).exists());
    assert_eq!(sim.stats().videos_created, 4);
}

#[test]
fn every_429_is_counted_and_a_stray_one_does_not_collapse_the_fan_out() {
    let sim = background(SimConfig { render_secs: 0.3, ..SimConfig::default() });
    // 429s on status calls (retried by the client) and one on a create,
    // unrelated to the job cap of 10.
    let limited = |path: &str, method: &str, times| FaultRule {
        method: Some(method.into()),
        path: path.into(),
        kind: FaultKind::RateLimit { retry_after: 0 },
        times,
    };
    sim.push_faults([limited("/v3/videos/statuses", "GET", 2), limited("/v3/videos", "POST", 1)]);
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 12, "", words);
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--concurrency", "6"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(out.stdout.contains(", 3 429s"), "every endpoint's 429s: {}", out.stdout);
    assert_eq!(results(dir.path())["summary"]["completed"], 12);
    assert!(sim.stats().max_jobs_in_flight >= 5, "the stray 429 cost at most one slot");
    assert_no_double_creates(&sim);
}

#[tokio::test]
async fn an_outage_stops_the_run_with_its_state_intact() {
    // Nothing listens on this port: every request fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sim = crate::support::start(SimConfig { render_secs: 0.2, ..SimConfig::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, "", words);
    // Plan against the simulator (the catalog), then run against nothing.
    let planned = plan(dir.path(), &crate::support::client(&sim, "sk_run_test")).await;
    let mut config = ClientConfig::new(
        format!("http://127.0.0.1:{port}"),
        Credential::ApiKey(Secret::new("sk_run_test")),
    );
    config.retry = crate::support::quick_retries();
    let client = Client::new(config).unwrap();
    let results_path = dir.path().join("out/results.json");
    let input = RunInput {
        campaign: "run-test".into(),
        account: "default".into(),
        shard: None,
        jobs: planned,
        previous: None,
        orphans: Vec::new(),
        results_path: results_path.clone(),
        base_dir: dir.path().to_owned(),
        retry_failed: false,
        folder_id: None,
    };
    let opts = RunOptions {
        outage_after: Duration::from_millis(300),
        create_retry: RetryPolicy { retry_rate_limited: false, ..crate::support::quick_retries() },
        ..RunOptions::default()
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let report = engine::run(&client, input, opts, &mut NullSink, None, rx).await.unwrap();
    assert_eq!(report.outcome, Outcome::Unreachable);
    assert_eq!(reelflow::exit::UNREACHABLE, 11);
    assert_eq!(report.unresolved.len(), 3, "creates whose answer never came");
    // The journal keeps them, so the next run resends with the same keys.
    let journal = std::fs::read_to_string(dir.path().join("out/results.json.journal")).unwrap();
    assert_eq!(journal.lines().filter(|l| l.contains(r#""event":"intent""#)).count(), 3);
    assert!(results_path.exists());
    assert_eq!(sim.stats().videos_created, 0);
}

/// Plans the campaign in `dir` with `client`'s catalog.
async fn plan(dir: &Path, client: &Client) -> Vec<reelflow::plan::PlannedJob> {
    let manifest = reelflow::manifest::load(&dir.join("campaign.yaml")).unwrap();
    let source = reelflow::validate::pipeline::CatalogSource {
        client: client.clone(),
        cache: None,
        ttl: Duration::from_secs(60),
        refresh: true,
    };
    let mut planner = reelflow::plan::Planner::new(None, "default", false);
    let mut planned = Vec::new();
    let checked = reelflow::validate::pipeline::check(
        manifest,
        Some(source),
        |job, cat| planned.push(planner.add(job, cat)),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(checked.problems.error_count(), 0);
    planned
}

/// The calls that follow videos: bulk statuses, folder listings, details.
fn follow_calls(sim: &Simulator) -> (u64, u64, u64) {
    let stats = sim.stats();
    let n = |r: &str| stats.requests_by_route.get(r).copied().unwrap_or(0);
    (n("GET /v3/videos/statuses"), n("GET /v3/videos"), n("GET /v3/videos/{id}"))
}

/// What a row's outcome is, without the ids and times that differ per run.
fn outcome(r: &Value) -> Vec<Value> {
    let fields = [
        "key",
        "status",
        "title",
        "file",
        "file_bytes",
        "captions_file",
        "thumbnail_file",
        "duration_secs",
        "cost_usd",
    ];
    r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| fields.iter().map(|f| (f.to_string(), e[*f].clone())).collect())
        .collect()
}

#[test]
fn a_folder_campaign_is_followed_by_listing_its_folder_with_fewer_calls() {
    let config = || SimConfig { render_secs: 0.4, ..SimConfig::default() };
    let (plain_sim, folder_sim) = (background(config()), background(config()));
    let (plain, filed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    campaign(plain.path(), 12, "", words);
    campaign(filed.path(), 12, "", words);
    let yaml = filed.path().join("campaign.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("output:\n", "output:\n  folder: \"Follow test\"\n"))
        .unwrap();
    let args = ["run", "campaign.yaml", "--yes", "--concurrency", "6"];
    let a = run(plain.path(), &plain_sim, &args);
    assert_eq!(a.code, 0, "{}", a.transcript());
    let b = run(filed.path(), &folder_sim, &args);
    assert_eq!(b.code, 0, "{}", b.transcript());

    let (statuses_a, lists_a, details_a) = follow_calls(&plain_sim);
    let (statuses_b, lists_b, details_b) = follow_calls(&folder_sim);
    assert_eq!(lists_a, 0, "no folder: bulk statuses");
    assert!(details_a >= 12, "one detail call per finished video: {details_a}");
    assert!(lists_b > 0, "the folder is listed");
    assert_eq!(statuses_b, 0, "every video in flight was in the listing");
    assert_eq!(details_b, 0, "listed items carry the links and the subtitle_url");
    assert!(
        lists_b + statuses_b + details_b < statuses_a + lists_a + details_a,
        "folder: {lists_b} listings; plain: {statuses_a} statuses + {details_a} details"
    );
    assert!(folder_sim.stats().requests < plain_sim.stats().requests);

    // The same rows, files and costs either way.
    let (ra, rb) = (results(plain.path()), results(filed.path()));
    assert_eq!(rb["summary"]["completed"], 12);
    assert_eq!(outcome(&ra), outcome(&rb));
    assert!(rb["folder"]["id"].is_string(), "{}", rb["folder"]);
    for e in rb["entries"].as_array().unwrap() {
        let file = filed.path().join(e["file"].as_str().unwrap());
        assert_eq!(std::fs::metadata(&file).unwrap().len(), e["file_bytes"].as_u64().unwrap());
        assert!(filed.path().join(e["captions_file"].as_str().unwrap()).exists());
    }
    assert_no_double_creates(&folder_sim);
}
