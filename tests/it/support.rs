//! Shared test plumbing: simulators, clients, running the binary, and
//! snapshot filters for ids, ports and times.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reelflow::heygen::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use reelflow::sim::{BackgroundSimulator, SimConfig, Simulator};

/// A simulator config with fast renders, for tests.
pub fn fast() -> SimConfig {
    SimConfig { render_secs: 0.3, ..SimConfig::default() }
}

/// Starts a simulator in this test's runtime.
pub async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config, "127.0.0.1:0".parse().unwrap()).await.expect("simulator starts")
}

/// Starts a simulator on its own thread (for tests that run the binary).
pub fn background(config: SimConfig) -> BackgroundSimulator {
    BackgroundSimulator::start(config).expect("simulator starts")
}

/// A retry policy with millisecond backoff, so retry tests are quick.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
        retry_rate_limited: true,
    }
}

/// A client for `sim` authenticating with API key `key`.
pub fn client(sim: &Simulator, key: &str) -> Client {
    let mut config = ClientConfig::new(sim.base_url(), Credential::ApiKey(Secret::new(key)));
    config.retry = quick_retries();
    Client::new(config).expect("client builds")
}

/// What a run of the binary printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout, stderr and the exit code in one text, for snapshots.
    pub fn transcript(&self) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The binary as a [`Command`] in `cwd` with a scrubbed environment: no
/// `HEYGEN_*`, `REELFLOW_*` or `XDG_*` variable of the developer's leaks in,
/// and `HOME`, the XDG folders and `REELFLOW_CACHE_DIR` point into a
/// per-test folder (one per `cwd`, outside the repository), so tests never
/// read the developer's keys or config file and never write to the real
/// user cache. The in-process simulator's saved world is off
/// (`REELFLOW_SIM_STATE=none`); callers may set any variable afterwards.
pub fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelflow"));
    cmd.current_dir(cwd);
    scrub(&mut cmd, cwd);
    cmd
}

/// Applies [`command`]'s environment to any command (e.g. `script` running
/// the binary in a terminal).
pub fn scrub(cmd: &mut Command, cwd: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("HEYGEN_") || k.starts_with("REELFLOW_") || k.starts_with("XDG_") {
            cmd.env_remove(&*k);
        }
    }
    let home = test_home(cwd);
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("REELFLOW_CACHE_DIR", home.join(".cache/reelflow"))
        .env("REELFLOW_SIM_STATE", "none")
        .env("NO_COLOR", "1");
}

/// The per-test home for `cwd`: under the system temp folder, named by
/// this test process and `cwd`, so calls in one test share a cache and
/// tests do not share one.
pub fn test_home(cwd: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(sweep_stale_homes);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cwd.hash(&mut h);
    std::env::temp_dir()
        .join(format!("reelflow-it-{}", std::process::id()))
        .join(format!("{:016x}", h.finish()))
}

/// Removes the homes earlier test processes left behind (a static cannot
/// clean up at exit): any `reelflow-it-PID` whose process is gone.
fn sweep_stale_homes() {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("reelflow-it-")) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid).exists();
        if pid.parse::<u32>().is_ok() && !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs `reelflow args…` in `cwd` with [`command`]'s scrubbed environment
/// plus `env`. The developer's own keys and config file are never seen.
pub fn reelflow(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(cwd);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A test case for the binary: files, arguments and simulator settings in,
/// exit status, exact stderr and the results file out.
///
/// ```ignore
/// let ran = Case::new()
///     .file("rows.csv", "id\nu1\n")
///     .file("campaign.yaml", MANIFEST)
///     .sim(fast())
///     .run(&["run", "campaign.yaml", "--yes"]);
/// assert_eq!(ran.status(), 0, "{}", ran.transcript());
/// ```
pub struct Case {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    sim: Option<BackgroundSimulator>,
}

impl Default for Case {
    fn default() -> Self {
        Case::new()
    }
}

impl Case {
    /// An empty folder, a scrubbed environment, no simulator.
    pub fn new() -> Case {
        Case { dir: tempfile::tempdir().expect("temp dir"), env: Vec::new(), sim: None }
    }

    /// Writes `contents` to `path` (relative to the case's folder).
    pub fn file(self, path: &str, contents: &str) -> Case {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(full, contents).unwrap();
        self
    }

    /// Sets an environment variable for the binary.
    pub fn env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts a simulator with `config` and points the binary at it with
    /// an API key (`HEYGEN_API_KEY`, `HEYGEN_BASE_URL`).
    pub fn sim(mut self, config: SimConfig) -> Case {
        let sim = background(config);
        self.env.push(("HEYGEN_API_KEY".into(), "sk_case_test".into()));
        self.env.push(("HEYGEN_BASE_URL".into(), sim.base_url()));
        self.sim = Some(sim);
        self
    }

    /// The case's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The simulator, if [`Case::sim`] started one.
    pub fn simulator(&self) -> Option<&BackgroundSimulator> {
        self.sim.as_ref()
    }

    /// Runs `reelflow args…` in the case's folder; the case stays usable
    /// for further runs.
    pub fn run(&self, args: &[&str]) -> Output {
        let env: Vec<(&str, &str)> =
            self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        reelflow(self.dir.path(), args, &env)
    }

    /// The results file at `path` (relative to the case's folder), pretty
    /// JSON for a snapshot with [`settings`]' redactions; `None` when it
    /// does not exist.
    pub fn results(&self, path: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.path().join(path)).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).expect("results are JSON");
        Some(serde_json::to_string_pretty(&value).unwrap())
    }
}

/// Snapshot settings that hide what changes between runs.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_snapshot_path("../snapshots");
    for (pattern, replacement) in [
        (r"127\.0\.0\.1:\d+", "[sim]"),
        (r"v_[0-9a-f]{24}", "[video_id]"),
        (r"req_[0-9a-f]{24}", "[request_id]"),
        (r"Expires=\d+&Signature=[0-9a-f]+", "Expires=[expires]&Signature=[signature]"),
        (r"20\d\d-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?", "[time]"),
        (r"reelflow/\d+\.\d+\.\d+", "reelflow/[version]"),
        (r"reelflow-cli-[0-9a-f]{32}", "reelflow-cli-[key]"),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[tmp]"),
        (r"/tmp/reelflow-it-\d+/[0-9a-f]{16}", "[home]"),
    ] {
        s.add_filter(pattern, replacement);
    }
    s
}

/// A plain HTTP client for talking to the simulator directly.
pub fn http() -> reqwest::Client {
    reelflow::heygen::client::ensure_crypto_provider();
    reqwest::Client::new()
}
