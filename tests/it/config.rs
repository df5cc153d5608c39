//! The resolved configuration seen from outside: the binary takes its
//! cache folder, pricing table and credentials from the environment the
//! [`Case`] builder scrubs and sets, and nothing leaks to the real user
//! folders.

use crate::support::{Case, fast, settings, test_home};

const MANIFEST: &str = "version: 1
name: config-test
data:
  csv: rows.csv
  key: \"{{ id }}\"
video:
  title: \"Hello {{ name }}\"
  scenes:
    - avatar: Abigail_expressive_2024112501
      voice: 1bd001e7e50f421d891986aad5c8bbd2
      script: \"Hello {{ name }}, welcome aboard.\"
output:
  results: out/results.json
run:
  poll:
    every: 1s
";

const ROWS: &str = "id,name\nu1,Ada\nu2,Grace\n";

fn campaign() -> Case {
    Case::new().file("campaign.yaml", MANIFEST).file("rows.csv", ROWS)
}

#[test]
fn the_catalog_cache_lands_in_the_test_home_not_the_user_cache() {
    let case = campaign().sim(fast());
    let out = case.run(&["validate", "campaign.yaml"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let cache = test_home(case.path()).join(".cache/reelflow");
    let cached: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e}", cache.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(cached.iter().any(|n| n.starts_with("catalog-") && n.ends_with(".json")), "{cached:?}");
    // A second validate reads it back rather than fetching.
    let again = case.run(&["validate", "campaign.yaml", "-v"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
}

#[test]
fn the_pricing_table_comes_from_the_environment() {
    let a = campaign().run(&["plan", "campaign.yaml", "--offline"]);
    assert_eq!(a.code, 0, "{}", a.transcript());
    assert!(a.stdout.contains("pricing: table a"), "{}", a.stdout);
    let b =
        campaign().env("REELFLOW_PRICING_TABLE", "b").run(&["plan", "campaign.yaml", "--offline"]);
    assert_eq!(b.code, 0, "{}", b.transcript());
    assert!(b.stdout.contains("pricing: table b"), "{}", b.stdout);
}

#[test]
fn without_a_key_validate_says_which_variable_to_set() {
    // The scrubbed environment has no key, whatever the developer's shell
    // holds.
    let out = campaign().run(&["validate", "campaign.yaml"]);
    assert_eq!(out.code, 8, "{}", out.transcript());
    settings().bind(|| insta::assert_snapshot!("config_no_key_stderr", out.stderr));
}

#[test]
fn a_run_against_the_simulator_leaves_these_results() {
    let case = campaign().sim(fast());
    let out = case.run(&["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let results = case.results("out/results.json").expect("results written");
    let sim = case.simulator().unwrap();
    assert_eq!(sim.stats().creates_by_idempotency_key.len(), 2);
    settings().bind(|| insta::assert_snapshot!("config_run_results", results));
}
