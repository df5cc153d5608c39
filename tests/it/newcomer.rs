//! What a new user tripped on (issue 12, section 3): each stumble, replayed
//! against the binary.

use std::path::Path;

use crate::support::{reelflow, settings};

/// The repository's example manifests, copied into a scratch directory.
fn examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_missing_key_names_the_variable_to_set() {
    let dir = examples();
    let mut transcript = String::new();
    for args in [&["validate", "onboarding/manifest.yaml"][..], &["plan", "two-accounts/us.yaml"]] {
        let out = reelflow(dir.path(), args, &[]);
        assert_eq!(out.code, 8, "{}", out.stderr);
        transcript.push_str(&format!("$ reelflow {}\n{}\n", args.join(" "), out.transcript()));
    }
    assert!(transcript.contains("HEYGEN_API_KEY is not set"), "{transcript}");
    assert!(transcript.contains("set HEYGEN_API_KEY_US_TEAM"), "{transcript}");
    assert!(transcript.contains("--offline"), "{transcript}");
    settings().bind(|| insta::assert_snapshot!("newcomer_missing_key", transcript));
}

/// Runs `reelflow args…` with stdout a pipe whose reader is already gone
/// (what `reelflow … | head -1` becomes once `head` has its line), in the
/// same clean environment as [`reelflow`]. Returns the exit code and stderr.
fn into_closed_pipe(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = crate::support::command(cwd);
    cmd.args(args).envs(env.iter().copied()).stdout(writer).stderr(std::process::Stdio::piped());
    let out = cmd.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = examples();
    std::fs::write(dir.path().join("s.lua"), "for i = 1, 100000 do print(i) end\n").unwrap();
    let fast = [("REELFLOW_SIM_RENDER_SECS", "0.05")];
    // A run leaves results to export.
    let ran = reelflow(dir.path(), &["--sim", "run", "onboarding/manifest.yaml", "--yes"], &fast);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for args in [
        &["results", "onboarding/manifest.yaml", "--format", "json"][..],
        &["results", "onboarding/manifest.yaml"],
        &["lua", "s.lua", "--sim"],
        &["schema"],
        &["doc"],
        &["--sim", "avatars"],
        &["--sim", "voices", "--json"],
        &["render", "onboarding/manifest.yaml"],
    ] {
        let (code, stderr) = into_closed_pipe(dir.path(), args, &fast);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "reelflow {}", args.join(" "));
    }
}

#[test]
fn concurrency_zero_is_a_flag_error_and_above_the_cap_gets_a_note() {
    let dir = examples();
    let zero = reelflow(
        dir.path(),
        &["--sim", "run", "onboarding/manifest.yaml", "--concurrency", "0"],
        &[],
    );
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    assert!(zero.stderr.contains("--concurrency"), "{}", zero.stderr);
    let fast = [("REELFLOW_SIM_RENDER_SECS", "0.05")];
    let args = ["--sim", "run", "onboarding/manifest.yaml", "--yes", "--concurrency", "12"];
    let high = reelflow(dir.path(), &args, &fast);
    assert_eq!(high.code, 0, "{}", high.stderr);
    assert!(high.stderr.contains("concurrency 12 is above HeyGen's cap of 10"), "{}", high.stderr);
    // The README's "validate 6 rows (1 skipped by data.where) … submit 5".
    assert!(
        high.stderr.contains("1 row skipped by data.where (plan != 'trial')"),
        "{}",
        high.stderr
    );
    assert!(high.stderr.contains("5 rows: submitting 5"), "{}", high.stderr);
    let args = ["--sim", "run", "onboarding/manifest.yaml", "--yes", "--concurrency", "10"];
    let at_cap = reelflow(dir.path(), &args, &fast);
    assert!(!at_cap.stderr.contains("HeyGen's cap"), "{}", at_cap.stderr);
}

#[test]
fn voice_filters_are_checked_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    for (args, listed) in [
        (&["--sim", "voices", "--engine", "bogus"][..], "starfish"),
        (&["--sim", "voices", "--gender", "Female"], "male, female"),
    ] {
        let out = reelflow(dir.path(), args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(listed), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let ok = reelflow(
        dir.path(),
        &["--sim", "voices", "--gender", "female", "--engine", "starfish"],
        &[],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn lua_limits_name_their_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (script, args, flag) in [
        (
            "local function spin() while true do end end\nwhile true do pcall(spin) end",
            &["--max-instructions", "100000"][..],
            "raise --max-instructions (now 100000)",
        ),
        (
            "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) end",
            &["--max-memory-mib", "16"],
            "raise --max-memory-mib (now 16)",
        ),
        (
            "print(string.find(string.rep('a', 20000), '.-.-.-b'))",
            &["--timeout", "1s"],
            "raise --timeout",
        ),
    ] {
        std::fs::write(dir.path().join("s.lua"), script).unwrap();
        let mut all = vec!["--sim", "lua", "s.lua"];
        all.extend_from_slice(args);
        let out = reelflow(dir.path(), &all, &[]);
        assert_eq!(out.code, 1, "{}", out.transcript());
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
        assert!(!out.stderr.contains("wrap calls in pcall"), "{}", out.stderr);
    }
}

/// Kills the served simulator when the test ends, pass or fail.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sim_serve_prints_a_usable_url_names_a_busy_address_and_rehearses_a_wrong_key() {
    use std::io::BufRead;
    let dir = examples();
    let mut child = crate::support::command(dir.path())
        .args([
            "sim",
            "serve",
            "--addr",
            "0.0.0.0:0",
            "--api-key",
            "sk_right",
            "--render-secs",
            "0.05",
        ])
        .env("REELFLOW_SIM_STATE", "none")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let served = Served(child);
    let mut banner = String::new();
    let mut lines = std::io::BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("counters:") {
            break;
        }
    }
    let url = banner
        .split_whitespace()
        .skip_while(|w| *w != "--base-url")
        .nth(1)
        .unwrap_or_else(|| panic!("no --base-url in {banner}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{banner}");
    let port = url.rsplit(':').next().unwrap().to_owned();

    // The printed URL works with the right key…
    let me = reelflow(dir.path(), &["--base-url", &url, "me"], &[("HEYGEN_API_KEY", "sk_right")]);
    assert_eq!(me.code, 0, "{}", me.stderr);
    // …and a wrong key is rejected, with a hint about the key, not --offline.
    let wrong = reelflow(
        dir.path(),
        &["--base-url", &url, "validate", "onboarding/manifest.yaml"],
        &[("HEYGEN_API_KEY", "sk_wrong")],
    );
    assert_eq!(wrong.code, 8, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("API key"), "{}", wrong.stderr);
    assert!(!wrong.stderr.contains("--offline"), "{}", wrong.stderr);

    // A second server on the same address says which address is taken.
    let busy = reelflow(dir.path(), &["sim", "serve", "--addr", &format!("0.0.0.0:{port}")], &[]);
    assert_eq!(busy.code, 1, "{}", busy.stderr);
    assert!(busy.stderr.contains(&format!("cannot listen on 0.0.0.0:{port}")), "{}", busy.stderr);
    drop(served);
}

#[test]
fn declining_the_spend_prompt_is_the_users_choice_not_an_error() {
    use std::io::Write;
    // The prompt needs a terminal; util-linux `script` gives the binary one.
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command to provide a terminal");
        return;
    }
    let sim = crate::support::background(crate::support::fast());
    let dir = examples();
    let command = format!("{} run onboarding/manifest.yaml", env!("CARGO_BIN_EXE_reelflow"));
    let mut script = std::process::Command::new("script");
    crate::support::scrub(&mut script, dir.path());
    let mut child = script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env("HEYGEN_API_KEY", "sk_prompt")
        .env("HEYGEN_BASE_URL", sim.base_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[y/N]"), "{text}");
    assert!(text.contains("declined: nothing was submitted"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(sim.stats().videos_created, 0);
}

#[test]
fn rendering_a_row_that_data_where_skips_says_so() {
    let dir = examples();
    let skipped = reelflow(
        dir.path(),
        &["render", "onboarding/manifest.yaml", "--row", "trial@example.com"],
        &[],
    );
    assert_eq!(skipped.code, 2, "{}", skipped.stderr);
    assert!(
        skipped.stderr.contains("is skipped by data.where: plan != 'trial'"),
        "{}",
        skipped.stderr
    );
    let missing = reelflow(
        dir.path(),
        &["render", "onboarding/manifest.yaml", "--row", "nobody@example.com"],
        &[],
    );
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("no row has the key"), "{}", missing.stderr);
    settings()
        .bind(|| insta::assert_snapshot!("newcomer_render_skipped_row", skipped.transcript()));
}

#[cfg(unix)]
#[test]
fn downloaded_videos_get_ordinary_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = examples();
    let ran = reelflow(
        dir.path(),
        &["--sim", "run", "onboarding/manifest.yaml", "--yes"],
        &[("REELFLOW_SIM_RENDER_SECS", "0.05")],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // What this process's umask makes of an ordinary new file.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    let ordinary = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    let videos = dir.path().join("onboarding/out/videos");
    let mut seen = 0;
    for entry in std::fs::read_dir(&videos).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, ordinary, "{mode:o} vs {ordinary:o}");
        seen += 1;
    }
    assert!(seen >= 5, "{seen} files in {}", videos.display());
}

#[test]
fn avatars_group_takes_a_name_too() {
    let dir = tempfile::tempdir().unwrap();
    let by_name = reelflow(dir.path(), &["--sim", "avatars", "--group", "maya"], &[]);
    assert_eq!(by_name.code, 0, "{}", by_name.stderr);
    assert!(by_name.stdout.contains("Maya_photo_front_2025010101"), "{}", by_name.stdout);
    assert!(by_name.stderr.contains("`maya` is the name of group ag_"), "{}", by_name.stderr);
    let typo = reelflow(dir.path(), &["--sim", "avatars", "--group", "Mya"], &[]);
    assert_eq!(typo.code, 0, "{}", typo.stderr);
    assert!(typo.stderr.contains("did you mean `Maya`, id ag_"), "{}", typo.stderr);
    assert!(typo.stderr.contains("reelflow avatars --groups"), "{}", typo.stderr);
}

#[test]
fn status_without_wait_says_it_checked_once() {
    let dir = examples();
    let world = dir.path().join("world.db");
    let env =
        [("REELFLOW_SIM_STATE", world.to_str().unwrap()), ("REELFLOW_SIM_RENDER_SECS", "600")];
    let ran = reelflow(
        dir.path(),
        &["--sim", "run", "onboarding/manifest.yaml", "--yes", "--timeout", "1ms"],
        &env,
    );
    assert_eq!(ran.code, 6, "{}", ran.transcript());
    let status = reelflow(dir.path(), &["--sim", "status", "onboarding/manifest.yaml"], &env);
    assert_eq!(status.code, 6, "{}", status.transcript());
    assert!(status.stdout.starts_with("spring-onboarding: checked once\n"), "{}", status.stdout);
    assert!(status.stderr.contains("5 rows: following 5 already submitted"), "{}", status.stderr);
    assert!(!status.stderr.contains("submitting 0"), "{}", status.stderr);
    assert!(!status.stdout.contains("timed out"), "{}", status.stdout);
}

/// Runs the binary with `stdin` as its standard input.
fn with_stdin(cwd: &Path, args: &[&str], stdin: &str) -> crate::support::Output {
    use std::io::Write;
    let mut child = crate::support::command(cwd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    crate::support::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn small_stumbles_get_pointed_answers() {
    let dir = examples();
    let onboarding = std::fs::read_to_string(dir.path().join("onboarding/manifest.yaml")).unwrap();
    std::fs::write(
        dir.path().join("onboarding/typo.yaml"),
        onboarding.replace("first_name | name_case", "first_name | titel"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("onboarding/dedented.yaml"),
        onboarding.replacen("  scenes:\n", "scenes:\n", 1),
    )
    .unwrap();
    let mut transcript = String::new();
    let mut record = |args: &[&str], out: crate::support::Output, code: i32| {
        assert_eq!(out.code, code, "{args:?}: {}", out.transcript());
        transcript.push_str(&format!("$ reelflow {}\n{}\n", args.join(" "), out.transcript()));
    };
    for (args, code) in [
        (&["--sim", "templates", "tpl_nope"][..], 7),
        (&["--sim", "templates", "--limit", "0"], 2),
        (&["validate", "onboarding/typo.yaml", "--offline"], 3),
        (&["validate", "onboarding/dedented.yaml", "--offline"], 3),
    ] {
        record(args, reelflow(dir.path(), args, &[]), code);
    }
    let body = r#"{"type":"avatar","avatar_id":"Abigail_expressive_2024112501","script":"hi","voice_id":"1bd001e7e50f421d891986aad5c8bbd2","titel":"a"}"#;
    let args = ["--sim", "videos", "create", "--body", "-"];
    record(&args, with_stdin(dir.path(), &args, body), 3);
    assert!(transcript.contains("`reelflow templates` lists"), "{transcript}");
    assert!(transcript.contains("did you mean `title`?"), "{transcript}");
    assert_eq!(transcript.matches("unknown filter `titel`").count(), 1, "{transcript}");
    assert!(transcript.contains("the body read from stdin"), "{transcript}");
    assert!(transcript.contains("`scenes:` on line 19 is indented 0 spaces"), "{transcript}");
    settings().bind(|| insta::assert_snapshot!("newcomer_small_stumbles", transcript));

    // The example's title keeps O'Neil's capital N.
    let rendered = reelflow(dir.path(), &["render", "onboarding/manifest.yaml", "--json"], &[]);
    assert!(rendered.stdout.contains(r#"O'Neil""#), "{}", rendered.stdout);
    assert!(!rendered.stdout.contains("O'neil"), "{}", rendered.stdout);
}

#[test]
fn json_means_json_and_verbose_shows_requests() {
    let dir = examples();
    let fast = [("REELFLOW_SIM_RENDER_SECS", "0.05")];
    let ran = reelflow(dir.path(), &["--sim", "run", "onboarding/manifest.yaml", "--yes"], &fast);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let results = reelflow(dir.path(), &["results", "onboarding/manifest.yaml", "--json"], &[]);
    assert_eq!(results.code, 0, "{}", results.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&results.stdout).expect("results --json is JSON");
    assert!(v.is_object(), "{v}");
    let csv = reelflow(
        dir.path(),
        &["results", "onboarding/manifest.yaml", "--json", "--format", "csv"],
        &[],
    );
    assert!(csv.stdout.starts_with("key,row,status"), "an explicit --format wins: {}", csv.stdout);

    let doc = reelflow(dir.path(), &["doc", "--json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&doc.stdout).expect("doc --json is JSON");
    assert_eq!(v["page"], "integrations.heygen");
    assert!(v["markdown"].as_str().unwrap().contains("create_video"));

    let sim = crate::support::background(crate::support::fast());
    let base = sim.base_url();
    let verbose = reelflow(
        dir.path(),
        &["-v", "me"],
        &[("HEYGEN_API_KEY", "sk_secret_verbose"), ("HEYGEN_BASE_URL", base.as_str())],
    );
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    assert!(verbose.stderr.contains("GET /v3/users/me -> 200 OK ("), "{}", verbose.stderr);
    assert!(!verbose.stderr.contains("sk_secret_verbose"), "{}", verbose.stderr);

    // A failed validation's report is the output: on stdout, as JSON.
    let csv_path = dir.path().join("onboarding/leads.csv");
    let leads = std::fs::read_to_string(&csv_path).unwrap();
    std::fs::write(&csv_path, leads.replacen("linus@example.com", "", 1)).unwrap();
    let failed =
        reelflow(dir.path(), &["validate", "onboarding/manifest.yaml", "--offline", "--json"], &[]);
    assert_eq!(failed.code, 4, "{}", failed.transcript());
    let v: serde_json::Value =
        serde_json::from_str(&failed.stdout).expect("the report is JSON on stdout");
    assert_eq!(v["valid"], false, "{v}");
    assert!(!v["problems"].as_array().unwrap().is_empty(), "{v}");
    let envelope: serde_json::Value = serde_json::from_str(failed.stderr.trim()).unwrap();
    assert_eq!(envelope["error"]["exit_code"], 4);
}

#[test]
fn a_key_repeated_in_one_mapping_is_an_error_naming_both_lines() {
    let dir = examples();
    let path = dir.path().join("renewal-template/manifest.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = "    renewal_date: \"{{ renewal_date }}\"\n";
    assert!(text.contains(line));
    std::fs::write(
        &path,
        text.replacen(
            line,
            &format!("{line}    plan: \"{{{{ plan }}}}\"\n    renewal_date: \"someday\"\n"),
            1,
        ),
    )
    .unwrap();
    let out =
        reelflow(dir.path(), &["validate", "renewal-template/manifest.yaml", "--offline"], &[]);
    assert_eq!(out.code, 3, "{}", out.transcript());
    assert!(
        out.stderr
            .contains("`template.variables` has the key `renewal_date` twice: line 17 and line 19"),
        "{}",
        out.stderr
    );
    settings().bind(|| insta::assert_snapshot!("newcomer_duplicate_key", out.transcript()));
}
