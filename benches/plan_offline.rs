//! Benchmark: expansion and offline planning of a large CSV.
//!
//! Generates a CSV of `BENCH_ROWS` rows (default 1,000,000) shaped like the
//! onboarding example, then times (1) parsing the CSV alone with the csv
//! crate, the floor, and (2) what `reelflow plan --offline` does per row:
//! render every template field, build the v3 body, run HeyGen's rules,
//! check key/path uniqueness, hash the job and estimate its cost. Reports
//! rows per second, the ratio to the floor, and the peak RSS of each phase
//! at two sizes (memory must not grow with rows beyond the uniqueness
//! record of a few bytes per row). Then, at the larger size, the same work
//! in Python (benches/plan_offline.py: csv + jinja2) for comparison, when
//! python3 and jinja2 are installed. Run: `cargo bench --bench plan_offline`
//! (`BENCH_ROWS`, `BENCH_THREADS`, `BENCH_PYTHON=0` to skip Python).

use std::io::Write;

/// The allocator the `reelflow` binary uses (see src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use reelflow::plan::Planner;
use reelflow::validate::{Expansion, RowOutcome};

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn generate(dir: &std::path::Path, rows: usize) -> std::path::PathBuf {
    let plans = ["pro", "team", "enterprise", "trial"];
    let looks = [
        "Abigail_expressive_2024112501",
        "Daphne_sitting_2024112502",
        "Brandon_expressive_2024112501",
        "",
    ];
    let csv = dir.join(format!("leads-{rows}.csv"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "email,first_name,plan,avatar,voice_id").unwrap();
    for i in 0..rows {
        writeln!(f, "user{i}@example.com,Name{i} Surname,{},{},", plans[i % 4], looks[i % 4])
            .unwrap();
    }
    f.flush().unwrap();
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/onboarding/manifest.yaml"
    ))
    .unwrap()
    .replace("csv: leads.csv", &format!("csv: leads-{rows}.csv"));
    let path = dir.join(format!("manifest-{rows}.yaml"));
    std::fs::write(&path, manifest).unwrap();
    path
}

fn csv_floor(path: &std::path::Path) -> (u64, f64) {
    let t = Instant::now();
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    while r.read_byte_record(&mut rec).unwrap() {
        n += 1;
    }
    (n, t.elapsed().as_secs_f64())
}

fn plan_offline(manifest: &std::path::Path) -> (u64, u64, f64) {
    let t = Instant::now();
    let loaded = reelflow::manifest::load(manifest).unwrap();
    let mut expansion = Expansion::open(loaded).unwrap();
    expansion.hash_for("default");
    if let Some(n) = std::env::var("BENCH_THREADS").ok().and_then(|v| v.parse().ok()) {
        expansion.threads(n);
    }
    let mut planner = Planner::new(None, "default", false);
    let mut jobs = 0u64;
    while let Some(outcome) = expansion.next_row() {
        match outcome {
            RowOutcome::Job(job, problems) => {
                assert!(problems.is_empty(), "{problems:?}");
                planner.add(*job, None);
                jobs += 1;
            }
            RowOutcome::Skipped => {}
            RowOutcome::Invalid(p) => panic!("{p:?}"),
        }
    }
    let (summary, _) = planner.finish();
    assert_eq!(summary.to_submit.videos, jobs);
    (expansion.rows, jobs, t.elapsed().as_secs_f64())
}

/// The Python csv + jinja2 script beside this file, when python3 and jinja2
/// are installed (skipped otherwise, or with `BENCH_PYTHON=0`): its seconds.
fn python(csv: &std::path::Path) -> Option<f64> {
    if std::env::var("BENCH_PYTHON").is_ok_and(|v| v == "0") {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/plan_offline.py");
    let out = std::process::Command::new("python3").arg(script).arg(csv).output().ok()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        println!("python comparison skipped: {}", err.lines().last().unwrap_or("python3 failed"));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().find_map(|w| w.strip_prefix("seconds=")).and_then(|s| s.parse().ok())
}

fn main() {
    let rows: usize =
        std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{threads} cores; expansion threads: {}",
        std::env::var("BENCH_THREADS").unwrap_or_else(|_| threads.to_string())
    );
    let dir = tempfile::tempdir().unwrap();
    for n in [rows / 10, rows] {
        let manifest = generate(dir.path(), n);
        let csv = dir.path().join(format!("leads-{n}.csv"));
        let (parsed, floor) = csv_floor(&csv);
        let (read, jobs, secs) = plan_offline(&manifest);
        assert_eq!(parsed, read);
        println!(
            "rows={n:>8}  csv parse (floor) {:>6.2}s ({:>9.0} rows/s)  plan --offline {:>6.2}s ({:>7.0} rows/s, {jobs} jobs)  {:>5.1}x the floor  peak RSS so far {} MiB",
            floor,
            parsed as f64 / floor,
            secs,
            read as f64 / secs,
            secs / floor,
            peak_rss_kib() / 1024
        );
        if n == rows {
            match python(&csv) {
                Some(py) => println!(
                    "rows={n:>8}  python csv + jinja2 {py:>6.2}s: reelflow is {:.1}x faster",
                    py / secs
                ),
                None => println!(
                    "python csv + jinja2: skipped (needs python3 and `pip install jinja2`)"
                ),
            }
        }
    }
}
