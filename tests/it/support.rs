//! Shared test plumbing: simulators, clients, running the binary, and
//! snapshot filters for ids, ports and times.

#![allow(dead_code)]

use std::path::Path;
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

/// Runs `reelflow args…` in `cwd` with a clean HeyGen environment plus
/// `env`. The developer's own keys and config file are never seen.
pub fn reelflow(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reelflow"));
    cmd.current_dir(cwd).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("HEYGEN_") || k.starts_with("REELFLOW_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", cwd.join(".no-config"));
    cmd.env("NO_COLOR", "1");
    // Tests never share the in-process simulator's saved world.
    cmd.env("REELFLOW_SIM_STATE", "none");
    cmd.env(
        "REELFLOW_CACHE_DIR",
        std::env::temp_dir().join(format!("reelflow-it-cache-{}", std::process::id())),
    );
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
