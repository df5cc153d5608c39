//! The KosmoKrator Lua surface: the seed document's examples run unchanged
//! against the simulator, accounts route, errors are catchable, the
//! sandbox holds, and the docs come from the bindings' definitions.

use std::path::{Path, PathBuf};

use reelflow::sim::{SimConfig, Simulator};

use crate::support::{Output, background, fast, reelflow, settings};

/// The fenced Lua examples of the seed's "Raw agent markdown", plus its
/// "Metadata-Derived Lua Example", in document order.
fn seed_examples() -> Vec<String> {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kosmokrator-heygen-lua-api.txt"),
    )
    .unwrap();
    let raw = &doc[doc.find("Raw agent markdown").expect("the seed has a raw markdown section")..];
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("```lua\n") {
        let body = &rest[start + 7..];
        let end = body.find("```").unwrap();
        out.push(body[..end].to_owned());
        rest = &body[end..];
    }
    let meta = &doc[doc.find("Metadata-Derived Lua Example").unwrap()..];
    let start = meta.find("local result").unwrap();
    let end = meta.find("print(result)").unwrap() + "print(result)".len();
    out.push(meta[start..end].to_owned());
    out
}

fn lua(
    dir: &Path,
    sim: &Simulator,
    script: &str,
    extra_args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    std::fs::write(dir.join("script.lua"), script).unwrap();
    let base = sim.base_url();
    let mut all_env =
        vec![("HEYGEN_API_KEY", "sk_lua_default"), ("HEYGEN_BASE_URL", base.as_str())];
    all_env.extend_from_slice(env);
    let mut args = vec!["lua", "script.lua"];
    args.extend_from_slice(extra_args);
    reelflow(dir, &args, &all_env)
}

#[test]
fn every_seed_example_runs_unchanged() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let examples = seed_examples();
    // list, get, input structure, two creates, avatars, voices, user,
    // templates, multi-account, metadata.
    assert_eq!(examples.len(), 11, "the seed's examples");
    let mut transcript = String::new();
    for (i, ex) in examples.iter().enumerate() {
        if ex.contains("function_name") || ex.trim_start().starts_with('{') {
            // Two blocks are illustrations, not programs: the multi-account
            // pattern (`function_name`; routing is tested below) and the
            // bare "Video Input Structure" table.
            continue;
        }
        let out = lua(dir.path(), &sim, ex, &[], &[]);
        assert_eq!(out.code, 0, "example {i}:\n{ex}\n{}", out.transcript());
        transcript.push_str(&format!("### example {i}\n{}\n", out.transcript()));
    }
    // What each example is meant to print.
    assert!(transcript.contains("abc123: completed"), "list_videos prints video_id: status");
    assert!(
        transcript.contains("Status: completed") && transcript.contains("Download: http://"),
        "get_video"
    );
    assert!(transcript.contains("Video ID: dryrun_"), "test = true creates nothing and says so");
    assert!(transcript.contains("avatar-abc123: Seed Example avatar-abc123"), "list_avatars");
    assert!(transcript.contains("voice-xyz789: Seed example voice (English)"), "list_voices");
    assert!(
        transcript.contains("Plan: wallet") && transcript.contains("Remaining credits: "),
        "get_current_user"
    );
    assert!(transcript.contains("tpl_welcome_16x9: Customer welcome (16:9)"), "list_templates");
    assert!(transcript.contains("table: 0x"), "the metadata example prints a table");
    assert_eq!(sim.stats().videos_created, 1, "only the test = false example creates a video");
    let mut s = settings();
    s.add_filter(r"table: 0x[0-9a-f]+", "table: [address]");
    s.add_filter(r"dryrun_[0-9a-f]{16}", "dryrun_[id]");
    s.add_filter(r"Remaining credits: [0-9.]+", "Remaining credits: [balance]");
    s.bind(|| insta::assert_snapshot!("lua_seed_examples", transcript));
}

#[test]
fn accounts_route_to_their_own_credentials() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
local h = app.integrations.heygen
local input = {video_inputs = {{character = {avatar_id = "avatar-abc123", voice_id = "voice-xyz789"}, script = "A video"}}}
h.work.create_video(input)
h.personal.create_video(input)
h.personal.heygen_create_video(input)
local work = h.work.list_videos({limit = 100}).data.videos
local personal = h.personal.heygen_list_videos({}).data.videos
local default = h.default.list_videos({}).data.videos
print("work " .. #work .. ", personal " .. #personal .. ", default " .. #default)
print("same table each time: " .. tostring(h.work == h.work and h.default == h.default))
local ok, err = pcall(function() return h.nobody.list_videos({}) end)
print(ok, err)
"#;
    let out = lua(
        dir.path(),
        &sim,
        script,
        &[],
        &[("HEYGEN_API_KEY_WORK", "sk_work"), ("HEYGEN_API_KEY_PERSONAL", "sk_personal")],
    );
    assert_eq!(out.code, 0, "{}", out.transcript());
    // Each account starts with the seed's one video; different counts show
    // that every call went to its own account.
    assert!(out.stdout.contains("work 2, personal 3, default 1"), "{}", out.stdout);
    assert!(out.stdout.contains("same table each time: true"), "{}", out.stdout);
    assert!(out.stdout.contains("no function or account `nobody`"), "{}", out.stdout);
    assert!(
        out.stdout.contains("accounts: default, personal, work"),
        "lists the valid accounts: {}",
        out.stdout
    );
}

#[test]
fn errors_are_lua_errors_that_pcall_catches() {
    let sim =
        background(SimConfig { accepted_keys: Some(vec!["sk_lua_default".into()]), ..fast() });
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
local h = app.integrations.heygen
local function try(f) local ok, err = pcall(f); print(ok, err) end
try(function() h.list_videos({limit = 500}) end)
try(function() h.list_videos({limt = 5}) end)
try(function() h.get_video({}) end)
try(function() h.get_video({video_id = "v_missing"}) end)
try(function() h.create_video({video_inputs = {{character = {avatar_id = "nobody"}, script = "hi"}}, test = true}) end)
try(function() h.create_video({video_inputs = {{character = {avatar_id = "avatar-abc123"}, script = "hi"}}, dimension = {width = 1000, height = 700}}) end)
try(function() return h.lsit_videos({}) end)
try(function() h.get_current_user({verbose = true}) end)
try(function() h.create_video({video_inputs = {}}) end)
print(pcall(h.get_video, {}))
try(function() return h.get_video({}) end)
"#;
    let out = lua(dir.path(), &sim, script, &[], &[]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    settings().bind(|| insta::assert_snapshot!("lua_errors", out.transcript()));

    let unauthorized = lua(
        dir.path(),
        &sim,
        "app.integrations.heygen.get_current_user({})",
        &[],
        &[("HEYGEN_API_KEY", "wrong")],
    );
    assert_eq!(unauthorized.code, 8, "{}", unauthorized.transcript());
    assert!(
        unauthorized.stderr.contains("script.lua:1:"),
        "the error names the line: {}",
        unauthorized.stderr
    );
    // An uncaught error exits as the CLI would for the same error.
    let bad_param =
        lua(dir.path(), &sim, "\napp.integrations.heygen.list_videos({limit = 500})", &[], &[]);
    assert_eq!(bad_param.code, 3, "{}", bad_param.transcript());
    assert!(bad_param.stderr.contains("script.lua:2:"), "{}", bad_param.stderr);
    let unreturnable = lua(dir.path(), &sim, "return {f = print}", &["--json"], &[]);
    assert_eq!(unreturnable.code, 1, "{}", unreturnable.transcript());
    assert!(
        unreturnable.stderr.contains("return value cannot be turned into JSON"),
        "{}",
        unreturnable.stderr
    );
    assert_eq!(unreturnable.stdout, "", "no result is printed for a value JSON cannot hold");
    let syntax = lua(dir.path(), &sim, "print(\"unclosed", &[], &[]);
    assert_eq!(syntax.code, 3);
    assert!(syntax.stderr.contains("script.lua:1:"), "{}", syntax.stderr);
}

#[test]
fn dry_run_creates_nothing_and_json_returns_the_scripts_value() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
local r = app.integrations.heygen.create_video({video_inputs = {{character = {avatar_id = "avatar-abc123", voice_id = "voice-xyz789"}, script = "Real?"}}, test = false})
print("created " .. r.data.video_id)
return {video_id = r.data.video_id, dry_run = r.data.dry_run}
"#;
    let out = lua(dir.path(), &sim, script, &["--dry-run", "--json"], &[]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(
        out.stderr.contains("created dryrun_"),
        "print goes to stderr with --json: {}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["result"]["dry_run"], true);
    assert_eq!(sim.stats().videos_created, 0);
}

#[test]
fn the_sandbox_has_no_files_processes_or_endless_loops() {
    let sim = background(fast());
    let dir = tempfile::tempdir().unwrap();
    let probe = lua(
        dir.path(),
        &sim,
        "print(io, os.execute, os.exit, os.getenv, os.remove, os.rename, os.tmpname, require, loadfile, dofile, load, collectgarbage, package, debug, type(os.time()))",
        &[],
        &[],
    );
    assert_eq!(probe.code, 0, "{}", probe.transcript());
    assert_eq!(probe.stdout.trim(), format!("{}number", "nil\t".repeat(14)));
    let limited = ["--max-instructions", "2000000"];
    for (what, script) in [
        ("a plain loop", "while true do end"),
        // The limit's error is a Lua error; catching it must not buy more
        // instructions.
        (
            "a loop that catches the limit",
            "local function spin() while true do end end\nwhile true do pcall(spin) end",
        ),
        ("a coroutine", "coroutine.wrap(function() while true do end end)()"),
        (
            "a coroutine loop that catches the limit",
            "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        ),
    ] {
        let spin = lua(dir.path(), &sim, script, &limited, &[]);
        assert_eq!(spin.code, 1, "{what}: {}", spin.transcript());
        assert!(spin.stderr.contains("limit of 2000000 instructions"), "{what}: {}", spin.stderr);
    }
    // Pattern matching runs in C, out of the instruction count's sight: the
    // wall clock stops it.
    let backtrack = lua(
        dir.path(),
        &sim,
        "print(string.find(string.rep('a', 20000), '.-.-.-b'))",
        &["--timeout", "1s"],
        &[],
    );
    assert_eq!(backtrack.code, 1, "{}", backtrack.transcript());
    assert!(backtrack.stderr.contains("time limit of 1s"), "{}", backtrack.stderr);
    let hog = lua(
        dir.path(),
        &sim,
        "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) end",
        &["--max-memory-mib", "16"],
        &[],
    );
    assert_eq!(hog.code, 1);
    assert!(hog.stderr.contains("memory"), "{}", hog.stderr);
}

#[test]
fn docs_come_from_the_binding_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let full = reelflow(dir.path(), &["doc", "integrations.heygen"], &[]);
    assert_eq!(full.code, 0);
    let one = reelflow(dir.path(), &["doc", "integrations.heygen.create_video"], &[]);
    assert!(one.stdout.contains("| `video_inputs` | array | yes |"));
    assert_eq!(full.stdout, reelflow::lua::functions::namespace_doc());
    // Every example in the docs is one of the seed's, verbatim.
    let seed = seed_examples();
    for f in reelflow::lua::functions::FUNCTIONS {
        for e in f.examples {
            assert!(seed.iter().any(|s| s.trim() == e.trim()), "{} example is the seed's", f.name);
        }
    }
    let sim = background(fast());
    let inside = lua(dir.path(), &sim, "print(lua_read_doc('integrations.heygen'))", &[], &[]);
    assert_eq!(inside.stdout, format!("{}\n", full.stdout), "lua_read_doc returns the same text");
    let missing = reelflow(dir.path(), &["doc", "integrations.heygen.nope"], &[]);
    assert_eq!(missing.code, 2);
    settings().bind(|| insta::assert_snapshot!("lua_doc", full.stdout));
}
