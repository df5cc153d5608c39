//! Benchmark: expansion and offline planning of a large CSV.
//!
//! Generates a CSV of `BENCH_ROWS` rows (default 1,000,000) shaped like the
//! onboarding example, then times (1) parsing the CSV alone with the csv
//! crate, the floor, and (2) what `reelflow plan --offline` does per row:
//! render every template field, build the v3 body, run HeyGen's rules,
//! check key/path uniqueness, hash the job and estimate its cost. Reports
//! rows per second, the ratio to the floor, and the peak RSS of each phase
//! at two sizes (memory must not grow with rows beyond the 16-byte key
//! record). Run: `cargo bench --bench plan_offline`.

use std::io::Write;
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

fn main() {
    let rows: usize =
        std::env::var("BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    for n in [rows / 10, rows] {
        let manifest = generate(dir.path(), n);
        let csv = dir.path().join(format!("leads-{n}.csv"));
        let (parsed, floor) = csv_floor(&csv);
        let (read, jobs, secs) = plan_offline(&manifest);
        assert_eq!(parsed, read);
        println!(
            "rows={n:>8}  csv parse {:>6.2}s ({:>9.0} rows/s)  plan --offline {:>6.2}s ({:>7.0} rows/s, {jobs} jobs)  ratio {:>5.1}x  peak RSS so far {} MiB",
            floor,
            parsed as f64 / floor,
            secs,
            read as f64 / secs,
            secs / floor,
            peak_rss_kib() / 1024
        );
    }
}
