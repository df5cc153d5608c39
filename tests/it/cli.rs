//! What a user sees: each command's output against the simulator, and the
//! exit codes.

use std::path::Path;

use reelflow::sim::SimConfig;

use crate::support::{background, fast, reelflow, settings};

fn run(sim: &reelflow::sim::Simulator, dir: &Path, args: &[&str]) -> crate::support::Output {
    let base = sim.base_url();
    reelflow(dir, args, &[("HEYGEN_API_KEY", "sk_cli_hunter2"), ("HEYGEN_BASE_URL", base.as_str())])
}

#[test]
fn catalog_commands_print_tables_and_json() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let mut transcript = String::new();
    for args in [
        &["avatars", "--type", "photo-avatar"][..],
        &["avatars", "--groups", "--ownership", "private"],
        &["voices", "--language", "German", "--gender", "female"],
        &["templates"],
        &["templates", "tpl_renewal_16x9"],
        &["me"],
    ] {
        let out = run(&sim, dir.path(), args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
        transcript.push_str(&format!("$ reelflow {}\n{}\n", args.join(" "), out.transcript()));
    }
    settings().bind(|| insta::assert_snapshot!("cli_catalog_commands", transcript));

    let json = run(&sim, dir.path(), &["avatars", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), sim.catalog().looks.len());
    assert_eq!((v["has_more"].as_bool(), v["next_token"].is_null()), (Some(false), true));
}

#[test]
fn videos_create_wait_get_and_list() {
    let sim = background(SimConfig { render_secs: 0.5, ..fast() });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("video.json"),
        r#"{"type":"avatar","avatar_id":"Maya_photo_front_2025010101","script":"Hello from the CLI test.","voice_id":"1bd001e7e50f421d891986aad5c8bbd2","title":"cli test"}"#,
    )
    .unwrap();
    let created = run(&sim, dir.path(), &["videos", "create", "--body", "video.json", "--wait"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(created.stdout.contains("completed"));
    let listed = run(&sim, dir.path(), &["videos", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let id = v["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["data"][0]["title"], "cli test");
    let got = run(&sim, dir.path(), &["videos", "get", &id]);
    assert!(got.stdout.contains("video_url: http://"), "{}", got.stdout);
    let mut transcript =
        format!("$ reelflow videos create --body video.json --wait\n{}\n", created.transcript());
    transcript.push_str(&format!("$ reelflow videos get ID\n{}", got.transcript()));
    settings().bind(|| insta::assert_snapshot!("cli_videos_create_wait", transcript));
    assert_eq!(sim.stats().videos_created, 1);
}

#[test]
fn seed_test_mode_creates_nothing() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("seed.json"),
        r#"{"video_inputs":[{"character":{"avatar_id":"Abigail_expressive_2024112501","voice_id":"1bd001e7e50f421d891986aad5c8bbd2"},"script":"Welcome to our product demo!"}],"test":true}"#,
    )
    .unwrap();
    let out = run(&sim, dir.path(), &["videos", "create", "--body", "seed.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("dry run"));
    assert_eq!(sim.stats().videos_created, 0);
    settings().bind(|| insta::assert_snapshot!("cli_seed_test_mode", out.transcript()));
}

#[test]
fn errors_name_the_field_and_exit_with_distinct_codes() {
    let sim = background(SimConfig { render_secs: 60.0, ..fast() });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).unwrap();
    write(
        "unknown.json",
        r#"{"type":"avatar","avatar_id":"Abigail_expressive_2024112501","scirpt":"hi"}"#,
    );
    write("broken.json", "{\"type\": \"avatar\",\n  \"avatar_id\": }");
    write("missing-look.json", r#"{"type":"avatar","avatar_id":"Nobody","script":"hi"}"#);
    write(
        "ok.json",
        r#"{"type":"avatar","avatar_id":"Abigail_expressive_2024112501","script":"hi"}"#,
    );
    let mut transcript = String::new();
    for (args, code) in [
        (&["videos", "create", "--body", "unknown.json"][..], 3),
        (&["videos", "create", "--body", "broken.json"], 3),
        (&["videos", "create", "--body", "missing-look.json"], 7),
        (&["videos", "create", "--body", "ok.json", "--wait", "--timeout", "1s"], 6),
        (&["videos", "get", "v_nope", "--json"], 7),
        (&["videos", "list", "--limit", "500"], 2),
        (&["videos", "frobnicate"], 2),
    ] {
        let out = run(&sim, dir.path(), args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        transcript.push_str(&format!("$ reelflow {}\n{}\n", args.join(" "), out.transcript()));
    }
    let no_key = reelflow(dir.path(), &["me"], &[]);
    assert_eq!(no_key.code, 8);
    transcript.push_str(&format!("$ reelflow me   # no key set\n{}", no_key.transcript()));
    settings().bind(|| insta::assert_snapshot!("cli_errors", transcript));
}

#[test]
fn accounts_show_sources_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[accounts.agency]\noauth_token_env = \"AGENCY_TOKEN\"\n").unwrap();
    let cfg_s = cfg.display().to_string();
    let out = reelflow(
        dir.path(),
        &["accounts"],
        &[
            ("HEYGEN_API_KEY", "sk_default_hunter2"),
            ("HEYGEN_API_KEY_MARKETING", "sk_marketing_hunter2"),
            ("REELFLOW_CONFIG", cfg_s.as_str()),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.transcript().contains("hunter2"));
    let mut s = settings();
    s.add_filter(&regex_escape(&cfg_s), "[config]");
    s.bind(|| insta::assert_snapshot!("cli_accounts", out.transcript()));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() || c == '/' { c.to_string() } else { format!("\\{c}") })
        .collect()
}

#[test]
fn help_teaches_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = reelflow(dir.path(), &["--help"], &[]);
    assert_eq!(out.code, 0);
    for word in
        ["avatars", "voices", "templates", "videos", "accounts", "--sim", "--json", "Examples"]
    {
        assert!(out.stdout.contains(word), "--help mentions {word}");
    }
}

#[test]
fn the_catalog_is_cached_per_account_and_refreshed_on_request() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let base = sim.base_url();
    let env = [
        ("HEYGEN_API_KEY", "sk_cache"),
        ("HEYGEN_BASE_URL", base.as_str()),
        ("REELFLOW_CACHE_DIR", cache.to_str().unwrap()),
    ];
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("manifests/onboarding/manifest.yaml");
    let m = manifest.to_str().unwrap();
    let looks = || sim.stats().requests_by_route.get("GET /v3/avatars/looks").copied().unwrap_or(0);
    let first = reelflow(dir.path(), &["validate", m], &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("(fetched)"), "{}", first.stdout);
    let fetched = looks();
    let second = reelflow(dir.path(), &["validate", m], &env);
    assert!(second.stdout.contains("(cached"), "{}", second.stdout);
    assert_eq!(looks(), fetched, "served from the cache");
    let refreshed = reelflow(dir.path(), &["validate", m, "--refresh-catalog"], &env);
    assert!(refreshed.stdout.contains("(fetched)"));
    assert!(looks() > fetched);
    let other_key = [
        ("HEYGEN_API_KEY", "sk_other"),
        ("HEYGEN_BASE_URL", base.as_str()),
        ("REELFLOW_CACHE_DIR", cache.to_str().unwrap()),
    ];
    assert!(
        reelflow(dir.path(), &["validate", m], &other_key).stdout.contains("(fetched)"),
        "caches are per account"
    );
    let stale = [("REELFLOW_CATALOG_TTL", "0s"), env[0], env[1], env[2]];
    assert!(
        reelflow(dir.path(), &["validate", m], &stale).stdout.contains("(fetched)"),
        "a stale cache is refetched"
    );
}

#[test]
fn sim_serve_answers_like_heygen() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = crate::support::command(dir.path())
        .args([
            "sim",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--render-secs",
            "0.2",
            "--balance-usd",
            "42",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap().to_owned();
    let me = reelflow(
        dir.path(),
        &["me", "--json"],
        &[("HEYGEN_API_KEY", "any-key"), ("HEYGEN_BASE_URL", url.as_str())],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(me.code, 0, "{}", me.stderr);
    let v: serde_json::Value = serde_json::from_str(&me.stdout).unwrap();
    assert_eq!(v["data"]["wallet"]["remaining_balance"], 42.0);
}
