//! Manifests end to end: the examples, the schema, the broken-input corpus
//! with its exact diagnostics, template injection, and plan's diff.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{reelflow, settings};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example_manifests() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root().join("manifests")).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "yaml") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn schema_json_matches_the_types() {
    let on_disk = std::fs::read_to_string(root().join("schema.json")).unwrap();
    assert!(
        on_disk == reelflow::manifest::schema::schema_json(),
        "schema.json is stale: run `cargo run -- schema > schema.json` and commit it"
    );
}

#[test]
fn every_example_has_the_modeline_and_validates_against_the_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema.json")).unwrap())
            .unwrap();
    let validator =
        jsonschema::draft7::new(&schema).expect("schema.json is a valid draft-07 schema");
    let examples = example_manifests();
    assert!(examples.len() >= 5, "onboarding, product tour, template, two accounts");
    for path in examples {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, "# yaml-language-server: $schema=../../schema.json", "{}", rel(&path));
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", rel(&path));
        reelflow::manifest::load(&path)
            .unwrap_or_else(|e| panic!("{}: {:?}", rel(&path), e.diagnostics));
    }
}

#[test]
fn the_schema_is_stricter_than_nothing() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let bad = json!({"version": 1, "name": "x", "data": {"csv": "d.csv", "key": "{{ k }}"},
        "video": {"scenes": [{"avatar": "a", "scirpt": "typo"}], "resolution": "8k"}});
    let errors: Vec<String> = validator.iter_errors(&bad).map(|e| e.to_string()).collect();
    assert!(errors.iter().any(|e| e.contains("scirpt")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("8k")), "{errors:?}");
}

#[test]
fn examples_are_valid_against_the_simulator_catalog_and_render_these_bodies() {
    let mut bodies = String::new();
    for path in example_manifests() {
        let name = rel(&path);
        let dir = tempfile::tempdir().unwrap();
        let v = reelflow(
            &root(),
            &["--sim", "validate", &name, "--json"],
            &[("REELFLOW_CACHE_DIR", dir.path().to_str().unwrap())],
        );
        assert_eq!(v.code, 0, "{name}: {}", v.stderr);
        let report: Value = serde_json::from_str(&v.stdout).unwrap();
        assert_eq!(report["valid"], true);
        let r = reelflow(&root(), &["render", &name, "--json"], &[]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        bodies.push_str(&format!("### {name}\n"));
        for line in r.stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            bodies.push_str(&serde_json::to_string_pretty(&v).unwrap());
            bodies.push('\n');
        }
    }
    settings().bind(|| insta::assert_snapshot!("example_rendered_bodies", bodies));
}

/// Every case under tests/corpus is a broken manifest or CSV; what the
/// user sees for each is pinned. A case runs `validate manifest.yaml
/// --offline` unless its `args` file says otherwise.
#[test]
fn broken_inputs_get_exact_diagnostics() {
    let corpus = root().join("tests/corpus");
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let args = std::fs::read_to_string(case.join("args"))
            .unwrap_or_else(|_| "validate manifest.yaml --offline".into());
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = reelflow(&case, &args, &[]);
        assert!([3, 4].contains(&out.code), "{name}: exit {} {}", out.code, out.stderr);
        assert!(out.stdout.is_empty(), "{name}: diagnostics go to stderr");
        let transcript = format!("$ reelflow {}\n{}", args.join(" "), out.transcript());
        settings().bind(|| insta::assert_snapshot!(format!("corpus_{name}"), transcript));
        let json = reelflow(&case, &[&args[..], &["--json"]].concat(), &[]);
        let v: Value = serde_json::from_str(json.stderr.trim())
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", json.stderr));
        assert_eq!(v["error"]["exit_code"], out.code, "{name}");
    }
}

#[test]
fn csv_values_arrive_byte_for_byte_and_never_change_the_structure() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = [
        "key: value # not a comment",
        "She said \"hi\" and 'bye'",
        "{{ 7 * 7 }} and {% if true %}x{% endif %}",
        "line one\nline two\r\nline three",
        "- not: a list\n  also: not a map",
        "unicode ✓ café 日本語 \\backslash",
        "]} trailing brackets {[",
    ];
    let mut csv = String::from("id,text\n");
    for (i, t) in nasty.iter().enumerate() {
        csv.push_str(&format!("{i},\"{}\"\n", t.replace('"', "\"\"")));
    }
    std::fs::write(dir.path().join("data.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "version: 1\nname: inject\ndata:\n  csv: data.csv\n  key: \"{{ id }}\"\nvideo:\n  title: \"T {{ id }}\"\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      script: \"{{ text }}\"\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n",
    )
    .unwrap();
    let out = reelflow(dir.path(), &["render", "m.yaml", "--json"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), nasty.len());
    for (i, (line, expected)) in lines.iter().zip(nasty).enumerate() {
        let body = &line["body"];
        assert_eq!(body["script"], *expected, "row {i}");
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["type", "avatar_id", "script", "voice_id", "title"],
            "row {i}: structure unchanged"
        );
    }
}

#[test]
fn plan_diffs_against_the_previous_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("data.csv"), "id,name\na,Ada\nb,Bob\nd,Dee\ne,Eve\nf,Fay\n").unwrap();
    let manifest = "version: 1\nname: diff\ndata:\n  csv: data.csv\n  key: \"{{ id }}\"\nvideo:\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      script: \"Hi {{ name }}\"\noutput:\n  results: results.json\n";
    std::fs::write(d.join("m.yaml"), manifest).unwrap();
    let rendered = reelflow(d, &["render", "m.yaml", "--json"], &[]);
    let hashes: std::collections::HashMap<String, String> = rendered
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["key"].as_str().unwrap().to_owned(), v["hash"].as_str().unwrap().to_owned())
        })
        .collect();
    let entry = |key: &str, hash: &str, status: &str| json!({"key": key, "row": 2, "hash": hash, "status": status, "attempts": 1});
    let previous = json!({
        "reelflow_results": 1, "campaign": "diff", "account": "default", "updated_at": "2026-11-01T00:00:00Z",
        "summary": {"total": 5, "completed": 2, "rendering": 1, "failed": 1, "not_submitted": 0, "orphaned": 0, "duration_secs": 0.0, "cost_usd": 0.0},
        "entries": [
            entry("a", &hashes["a"], "completed"),
            entry("b", "0000", "completed"),
            entry("c", "1111", "completed"),
            entry("d", &hashes["d"], "failed"),
            entry("e", &hashes["e"], "rendering"),
        ]
    });
    std::fs::write(d.join("results.json"), serde_json::to_string_pretty(&previous).unwrap())
        .unwrap();
    let plan = reelflow(d, &["plan", "m.yaml", "--offline", "--json"], &[]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let p: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        p["counts"],
        json!({"new": 1, "changed": 1, "unchanged": 1, "in_flight": 1, "failed": 1, "orphaned": 1})
    );
    assert_eq!(p["orphaned"], json!(["c"]));
    assert_eq!(p["to_submit"]["videos"], 2, "new f and changed b");
    let retry = reelflow(d, &["plan", "m.yaml", "--offline", "--json", "--retry-failed"], &[]);
    let r: Value = serde_json::from_str(&retry.stdout).unwrap();
    assert_eq!(r["to_submit"]["videos"], 3);
    let human = reelflow(d, &["plan", "m.yaml", "--offline"], &[]);
    settings().bind(|| insta::assert_snapshot!("plan_human", human.transcript()));
}

#[test]
fn plan_warns_when_the_estimate_passes_the_balance_or_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("id\n");
    for i in 0..30 {
        csv.push_str(&format!("{i}\n"));
    }
    std::fs::write(d.join("data.csv"), csv).unwrap();
    let script = "word ".repeat(200);
    std::fs::write(
        d.join("m.yaml"),
        format!("version: 1\nname: pricey\ndata:\n  csv: data.csv\n  key: \"{{{{ id }}}}\"\nvideo:\n  resolution: 4k\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      script: \"{script}\"\nrun:\n  max_cost_usd: 5\n"),
    )
    .unwrap();
    let out =
        reelflow(d, &["--sim", "plan", "m.yaml", "--json"], &[("REELFLOW_SIM_BALANCE_USD", "10")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p: Value = serde_json::from_str(&out.stdout).unwrap();
    let usd = p["to_submit"]["usd"].as_f64().unwrap();
    assert!(
        (usd - 30.0 * 80.0 * 0.0833).abs() < 0.01,
        "30 videos × 80 s at the 4k studio rate, got {usd}"
    );
    let warnings = p["warnings"].to_string();
    assert!(
        warnings.contains("exceeds the balance $10.00")
            && warnings.contains("exceeds run.max_cost_usd $5.00"),
        "{warnings}"
    );
}
