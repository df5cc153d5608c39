//! `reelflow sim …`: the simulator as a server, the `--sim` world's
//! upkeep (`reset`, `wallet`), and the knobs of the in-process simulator
//! `--sim` starts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::args::{GlobalArgs, ServeArgs, SimCommand, SimWalletArgs};
use super::config::Config;
use super::failure::Failure;
use super::output::{Table, note, print_data};
use crate::exit;
use crate::sim::{Clock, Delays, FaultRates, SimConfig, Simulator, WorldFile};

/// Runs the command.
pub async fn run(cmd: &SimCommand, global: &GlobalArgs, cfg: &Config) -> Result<u8, Failure> {
    match cmd {
        SimCommand::Serve(args) => serve(args).await,
        SimCommand::Reset => reset(global, cfg),
        SimCommand::Wallet(args) => wallet(args, global, cfg),
    }
}

async fn serve(args: &ServeArgs) -> Result<u8, Failure> {
    let mut config = config(args)?;
    if !args.api_key.is_empty() {
        config.accepted_keys = Some(args.api_key.clone());
    }
    let url = reachable_url(args.addr);
    // Media URLs must be ones a client can fetch, not 0.0.0.0.
    config.public_base.get_or_insert_with(|| url.clone());
    let sim = Simulator::start(config, args.addr).await.map_err(|e| {
        let f =
            Failure::new(exit::FAILURE, "sim_bind", format!("cannot listen on {}: {e}", args.addr));
        if e.kind() == std::io::ErrorKind::AddrInUse {
            f.hint(format!(
                "another process uses {}; pick another port, e.g. --addr {}",
                args.addr,
                SocketAddr::new(args.addr.ip(), args.addr.port().wrapping_add(1))
            ))
        } else {
            f
        }
    })?;
    // The bound address (port 0 becomes a real port).
    let url = reachable_url(sim.addr());
    note(format!("HeyGen v3 simulator listening on {}, base URL {url}", sim.addr()));
    let keys = if args.api_key.is_empty() {
        "any non-empty HEYGEN_API_KEY works".to_owned()
    } else {
        "only the --api-key key(s) are accepted; others get 401".to_owned()
    };
    note(format!("  point reelflow at it: reelflow --base-url {url} avatars   ({keys})"));
    if sim.addr().ip().is_unspecified() {
        note(
            "  from other machines reelflow needs https:// (plain http:// is for this machine only)",
        );
    }
    note(format!("  counters: {url}/_sim/stats   stop with Ctrl-C"));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sim.wait() => {}
    }
    Ok(exit::SUCCESS)
}

/// The URL reelflow on this machine uses to reach a server bound to `addr`:
/// an unspecified address (0.0.0.0, ::) listens on loopback too, and
/// reelflow accepts plain http:// only for loopback.
fn reachable_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// The `--sim` world file, or a usage error saying why there is none.
fn world(cfg: &Config) -> Result<WorldFile, Failure> {
    let config = config_from_env(cfg)?;
    let Some(path) = config.state_file.clone() else {
        return Err(Failure::usage(
            "REELFLOW_SIM_STATE=none: the --sim world lives in memory, there is nothing to change",
        )
        .hint("unset REELFLOW_SIM_STATE to use the shared world in your cache folder"));
    };
    WorldFile::open(SimConfig { set_balance_on_start: None, ..config }).map_err(|e| {
        Failure::new(exit::FAILURE, "sim_world", e.to_string())
            .hint(format!("the --sim world is {}", path.display()))
    })
}

fn reset(global: &GlobalArgs, cfg: &Config) -> Result<u8, Failure> {
    let world = world(cfg)?;
    let forgotten =
        world.reset().map_err(|e| Failure::new(exit::FAILURE, "sim_world", e.to_string()))?;
    if global.json {
        print_data(&serde_json::json!({ "reset": true, "videos_forgotten": forgotten }));
    } else {
        note(format!(
            "the --sim world is fresh: {forgotten} video{} forgotten, wallets back to ${:.2}",
            if forgotten == 1 { "" } else { "s" },
            config_from_env(cfg)?.balance_usd
        ));
    }
    Ok(exit::SUCCESS)
}

fn wallet(args: &SimWalletArgs, global: &GlobalArgs, cfg: &Config) -> Result<u8, Failure> {
    let world = world(cfg)?;
    let failed = |e: std::io::Error| Failure::new(exit::FAILURE, "sim_world", e.to_string());
    // Under --sim, account NAME is the key `sim-NAME` (see the context).
    let name = global.account.as_deref().map(crate::accounts::normalize_name).transpose()?;
    if let Some(usd) = args.set {
        if !(usd.is_finite() && usd >= 0.0) {
            return Err(Failure::usage(format!("--set must be a number of USD ≥ 0, got {usd}")));
        }
        let key = name.as_ref().map(|n| format!("sim-{n}"));
        world.set_balance(key.as_deref(), usd).map_err(failed)?;
    }
    let mut wallets = world.wallets().map_err(failed)?;
    if let Some(n) = &name {
        wallets.retain(|w| &w.account == n);
    }
    if global.json {
        print_data(&wallets);
        return Ok(exit::SUCCESS);
    }
    if wallets.is_empty() {
        note(match args.set {
            Some(usd) => format!("no simulated accounts yet; new ones start with ${usd:.2}"),
            None => format!(
                "no simulated accounts yet; new ones start with ${:.2}",
                config_from_env(cfg)?.balance_usd
            ),
        });
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new(&["ACCOUNT", "BALANCE", "HELD", "AVAILABLE", "VIDEOS", "RENDERING"]);
    for w in &wallets {
        table.row(vec![
            w.account.clone(),
            format!("${:.2}", w.balance_usd),
            format!("${:.2}", w.held_usd),
            format!("${:.2}", (w.balance_usd - w.held_usd).max(0.0)),
            w.videos.to_string(),
            w.rendering.to_string(),
        ]);
    }
    table.print();
    Ok(exit::SUCCESS)
}

fn config(a: &ServeArgs) -> Result<SimConfig, Failure> {
    let mut delays = Delays::default();
    for spec in &a.delay {
        delays.parse_into(spec).map_err(|e| Failure::usage(format!("--delay {e}")))?;
    }
    if !(a.clock_scale.is_finite() && a.clock_scale > 0.0) {
        return Err(Failure::usage(format!(
            "--clock-scale must be a positive number (30 = thirty times faster), got {}",
            a.clock_scale
        )));
    }
    let config = SimConfig {
        render_secs: a.render_secs,
        render_jitter: a.render_jitter,
        render_sigma: a.render_sigma,
        render_tail_rate: a.render_tail_rate,
        render_tail_factor: a.render_tail_factor,
        max_jobs: a.max_jobs,
        fail_rate: a.fail_rate,
        balance_usd: a.balance_usd,
        url_ttl_secs: a.url_ttl_secs,
        create_latency_ms: a.create_latency_ms,
        seed: a.seed,
        faults: FaultRates {
            server_error: a.fault_rate,
            error_body: a.error_body_rate,
            drop: a.drop_rate,
            slow: a.slow_rate,
            slow_ms: a.slow_ms,
        },
        delays,
        rate_limit_rate: a.rate_limit_rate,
        clock: Clock::scaled(a.clock_scale),
        ..SimConfig::default()
    };
    config.check().map_err(|e| Failure::usage(e.message(|knob| format!("--{knob}"))))?;
    Ok(config)
}

/// The `--sim` simulator's config: renders take about two seconds so a
/// demo campaign finishes quickly; `REELFLOW_SIM_*` variables tune it.
pub fn config_from_env(cfg: &Config) -> Result<SimConfig, Failure> {
    let env = &cfg.env;
    let var = |knob: &str| format!("REELFLOW_SIM_{}", knob.to_uppercase().replace('-', "_"));
    let num = |knob: &str, default: f64| -> Result<f64, Failure> {
        let key = var(knob);
        match env.get(&key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                Failure::usage(format!("{key}={v} is not a number"))
                    .hint(format!("set {key} to a number, or unset it for the default ({default})"))
            }),
        }
    };
    let whole = |knob: &str, default: u64| -> Result<u64, Failure> {
        let key = var(knob);
        match env.get(&key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                Failure::usage(format!("{key}={v} is not a whole number")).hint(format!(
                    "set {key} to a whole number, or unset it for the default ({default})"
                ))
            }),
        }
    };
    let delays = match env.get(&var("delay")) {
        None => Delays::default(),
        Some(spec) => {
            Delays::parse(spec).map_err(|e| Failure::usage(format!("REELFLOW_SIM_DELAY: {e}")))?
        }
    };
    let config = SimConfig {
        render_secs: num("render-secs", 2.0)?,
        render_jitter: num("render-jitter", 0.5)?,
        render_sigma: num("render-sigma", 0.0)?,
        render_tail_rate: num("render-tail-rate", 0.0)?,
        render_tail_factor: num("render-tail-factor", 3.0)?,
        max_jobs: whole("max-jobs", 10)? as usize,
        fail_rate: num("fail-rate", 0.0)?,
        rate_limit_rate: num("rate-limit-rate", 0.0)?,
        balance_usd: num("balance-usd", 100.0)?,
        seed: whole("seed", 7)?,
        delays,
        // Videos survive between commands, so `status`, resumes and
        // re-downloads work against the simulator as they do against HeyGen.
        state_file: match env.get("REELFLOW_SIM_STATE") {
            Some("none") => None,
            Some(p) => Some(std::path::PathBuf::from(p)),
            None => cfg.cache_dir.as_ref().map(|d| d.join("sim-world.sqlite3")),
        },
        // A balance given for --sim applies to the world as it is, not
        // only to accounts it has yet to create.
        set_balance_on_start: match env.get(&var("balance-usd")) {
            Some(_) => Some(num("balance-usd", 100.0)?),
            None => None,
        },
        ..SimConfig::default()
    };
    config.check().map_err(|e| Failure::usage(e.message(var)))?;
    Ok(config)
}
