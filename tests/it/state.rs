//! One truth about a campaign's state: shard files, journals, concurrent
//! processes and CI exit codes, checked against the simulator's counters.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reelflow::sim::{BackgroundSimulator, FAIL_MARKER, SimConfig};
use serde_json::Value;

use crate::support::{Output, background, reelflow};

const LOOKS: [&str; 2] = ["Abigail_expressive_2024112501", "Brandon_sitting_2024112502"];

/// A campaign of `rows` rows in `dir`; rows listed in `failing` fail to render.
fn campaign(dir: &Path, rows: usize, failing: &[usize]) {
    let mut csv = String::from("id,look,script\n");
    for i in 0..rows {
        let marker = if failing.contains(&i) { FAIL_MARKER } else { "" };
        csv.push_str(&format!("u{i:03},{},Hello number {i}. {marker}\n", LOOKS[i % 2]));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        "version: 1\nname: state-test\ndata:\n  csv: rows.csv\n  key: \"{{ id }}\"\nvideo:\n  title: \"Video {{ id }}\"\n  scenes:\n    - avatar: \"{{ look }}\"\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n      script: \"{{ script }}\"\noutput:\n  results: out/results.json\n  download: \"out/videos/{{ key }}.mp4\"\nrun:\n  poll:\n    every: 1s\n",
    )
    .unwrap();
}

fn run(dir: &Path, sim: &BackgroundSimulator, args: &[&str]) -> Output {
    let base = sim.base_url();
    reelflow(dir, args, &[("HEYGEN_API_KEY", "sk_state_test"), ("HEYGEN_BASE_URL", base.as_str())])
}

/// `reelflow run campaign.yaml --yes args…` as a child process.
fn spawn(dir: &Path, sim: &BackgroundSimulator, args: &[&str]) -> Child {
    crate::support::command(dir)
        .args(["run", "campaign.yaml", "--yes"])
        .args(args)
        .env("HEYGEN_API_KEY", "sk_state_test")
        .env("HEYGEN_BASE_URL", sim.base_url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (bounded) until `cond` holds.
fn await_condition(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.transcript()))
}

/// Every Idempotency-Key created exactly one video.
fn assert_no_double_creates(sim: &BackgroundSimulator) {
    for (key, n) in &sim.stats().creates_by_idempotency_key {
        assert_eq!(*n, 1, "key {key} created {n} videos");
    }
}

fn journal_lines(dir: &Path, event: &str) -> usize {
    std::fs::read_to_string(dir.join("out/results.json.journal"))
        .map(|j| j.lines().filter(|l| l.contains(&format!("\"event\":\"{event}\""))).count())
        .unwrap_or(0)
}

#[test]
fn shards_then_plain_commands_resubmit_nothing_even_after_the_replay_window() {
    // No Idempotency-Key replay at all, as a day after the shards ran: a
    // resubmission would be a second, billed video.
    let sim = background(SimConfig {
        render_secs: 0.2,
        idempotency_ttl_secs: 0.0,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 10, &[]);
    for shard in ["1/2", "2/2"] {
        let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--shard", shard]);
        assert_eq!(out.code, 0, "{shard}: {}", out.transcript());
    }
    assert_eq!(sim.stats().videos_created, 10);

    let plan = json(&run(dir.path(), &sim, &["--json", "plan", "campaign.yaml"]));
    assert_eq!(plan["counts"]["unchanged"], 10, "{plan}");
    assert_eq!(plan["to_submit"]["videos"], 0, "{plan}");
    let status = run(dir.path(), &sim, &["status", "campaign.yaml"]);
    assert_eq!(status.code, 0, "{}", status.transcript());
    // `status` folded the shards into the main file: they can go.
    let main: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(main["summary"]["completed"], 10, "{main}");
    for i in 1..=2 {
        std::fs::remove_file(dir.path().join(format!("out/results.shard-{i}-of-2.json"))).unwrap();
    }

    let plain = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert!(plain.stdout.contains("0 accepted"), "{}", plain.stdout);
    // Another layout later: still nothing to make.
    let three = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--shard", "2/3"]);
    assert_eq!(three.code, 0, "{}", three.transcript());
    assert_eq!(sim.stats().videos_created, 10, "no row was created twice");
    assert_eq!(sim.stats().idempotent_replays, 0, "and not by luck of a replay");

    let all = json(&run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "json"]));
    assert_eq!(all["summary"]["completed"], 10, "{all}");
}

#[test]
fn a_second_process_on_the_same_state_is_refused_and_a_killed_one_lets_go() {
    let sim = background(SimConfig { render_secs: 30.0, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 4, &[]);
    let mut first = spawn(dir.path(), &sim, &[]);
    // The lock is taken before anything is sent.
    await_condition("the first run's creates", || journal_lines(dir.path(), "accepted") == 4);
    for args in [&["run", "campaign.yaml", "--yes"][..], &["status", "campaign.yaml"][..]] {
        let second = run(dir.path(), &sim, args);
        assert_eq!(second.code, 1, "{}", second.transcript());
        assert!(second.stderr.contains("another reelflow process"), "{}", second.stderr);
    }
    let shard = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--shard", "1/2"]);
    assert_eq!(shard.code, 1, "{}", shard.transcript());
    assert!(shard.stderr.contains("without --shard"), "{}", shard.stderr);
    // Reading needs no lock.
    let plan = json(&run(dir.path(), &sim, &["--json", "plan", "campaign.yaml"]));
    assert_eq!(plan["counts"]["in_flight"], 4, "{plan}");

    // SIGKILL: the OS releases the lock; the next run follows, creates nothing.
    first.kill().unwrap();
    first.wait().unwrap();
    let again = run(
        dir.path(),
        &sim,
        &["run", "campaign.yaml", "--yes", "--timeout", "1s", "--no-download"],
    );
    assert_eq!(again.code, 6, "still rendering, not refused: {}", again.transcript());
    assert_eq!(sim.stats().videos_created, 4);
    assert_no_double_creates(&sim);
}

#[test]
fn failed_rows_keep_the_exit_code_until_retried_or_accepted() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 4, &[1]);
    let first = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(first.code, 5, "{}", first.transcript());
    let again = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(again.code, 5, "the failed row is still there: {}", again.transcript());
    assert!(again.stdout.contains("--accept-failed"), "{}", again.stdout);
    assert_eq!(run(dir.path(), &sim, &["status", "campaign.yaml"]).code, 5);
    let accepted = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--accept-failed"]);
    assert_eq!(accepted.code, 0, "{}", accepted.transcript());
    assert_eq!(run(dir.path(), &sim, &["status", "campaign.yaml", "--accept-failed"]).code, 0);
    assert_eq!(sim.stats().videos_created, 4, "nothing resubmitted without --retry-failed");
}

#[test]
fn a_rerun_that_changes_nothing_leaves_the_results_file_byte_identical() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, &[]);
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 0);
    let path = dir.path().join("out/results.json");
    let first = std::fs::read_to_string(&path).unwrap();
    for field in ["video_url", "thumbnail_url", "subtitle_url", "Expires="] {
        assert!(!first.contains(field), "{field} expires: not in the committed file");
    }
    assert!(first.contains("video_page_url"), "the lasting link stays");
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 0);
    assert_eq!(run(dir.path(), &sim, &["status", "campaign.yaml"]).code, 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
}

#[test]
fn videos_known_only_to_the_journal_are_seen_by_plan_status_and_results() {
    let sim = background(SimConfig {
        render_secs: 1.5,
        create_latency_ms: 30,
        max_jobs: 3,
        ..SimConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 8, &[]);
    let mut child = spawn(dir.path(), &sim, &["--concurrency", "3"]);
    await_condition("accepted creates", || journal_lines(dir.path(), "accepted") >= 3);
    child.kill().unwrap();
    child.wait().unwrap();
    // As if the kill came before the first results write: the journal is
    // the only record of videos HeyGen has accepted (and will bill).
    let _ = std::fs::remove_file(dir.path().join("out/results.json"));
    let accepted = journal_lines(dir.path(), "accepted");

    let results = json(&run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "json"]));
    assert_eq!(results["summary"]["rendering"], accepted, "{results}");
    let plan = json(&run(dir.path(), &sim, &["--json", "plan", "campaign.yaml"]));
    assert_eq!(plan["counts"]["in_flight"], accepted, "{plan}");
    assert_eq!(plan["to_submit"]["videos"], 8 - accepted, "{plan}");
    let status = run(dir.path(), &sim, &["status", "campaign.yaml", "--wait"]);
    assert_eq!(status.code, 6, "rows never submitted are not done: {}", status.transcript());
    let results = json(&run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "json"]));
    assert_eq!(results["summary"]["completed"], accepted, "{results}");

    let rest = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(rest.code, 0, "{}", rest.transcript());
    assert_eq!(sim.stats().videos_created, 8, "only the rows never sent were created");
    assert_no_double_creates(&sim);
}

#[test]
fn follow_up_hints_keep_sim_account_and_shard() {
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 2, &[0]);
    let out = reelflow(
        dir.path(),
        &["run", "campaign.yaml", "--sim", "--shard", "1/1", "--account", "default"],
        &[("REELFLOW_SIM_RENDER_SECS", "0.1"), ("REELFLOW_SIM_RENDER_JITTER", "0")],
    );
    assert_eq!(out.code, 5, "{}", out.transcript());
    assert!(
        out.stdout.contains(
            "`reelflow run campaign.yaml --shard 1/1 --retry-failed --sim --account default`"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn the_repository_gitignore_keeps_results_and_hides_scratch_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ignored = |path: &str| {
        let out = Command::new("git")
            .current_dir(root)
            .args(["check-ignore", "--no-index", "-q", path])
            .output()
            .expect("git runs");
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!("git check-ignore {path}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    };
    for kept in [
        "manifests/onboarding/out/spring-onboarding.results.json",
        "manifests/onboarding/out/spring-onboarding.results.shard-2-of-4.json",
    ] {
        assert!(!ignored(kept), "{kept} is state, meant to be committed");
    }
    for scratch in [
        "manifests/onboarding/out/spring-onboarding.results.json.journal",
        "manifests/onboarding/out/spring-onboarding.results.shard-2-of-4.json.lock",
        "manifests/onboarding/out/videos/ada.mp4",
    ] {
        assert!(ignored(scratch), "{scratch} is scratch");
    }
}
