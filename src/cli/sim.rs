//! `reelflow sim serve`.

use super::args::{ServeArgs, SimCommand};
use super::failure::Failure;
use super::output::note;
use crate::exit;
use crate::sim::{FaultRates, SimConfig, Simulator};

/// Runs the command.
pub async fn run(cmd: &SimCommand) -> Result<u8, Failure> {
    let SimCommand::Serve(args) = cmd;
    let config = config(args)?;
    let sim = Simulator::start(config, args.addr).await?;
    note(format!("HeyGen v3 simulator listening on {}", sim.base_url()));
    note(format!(
        "  point reelflow at it: reelflow --base-url {} avatars   (any non-empty HEYGEN_API_KEY works)",
        sim.base_url()
    ));
    note(format!("  counters: {}/_sim/stats   stop with Ctrl-C", sim.base_url()));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sim.wait() => {}
    }
    Ok(exit::SUCCESS)
}

fn config(a: &ServeArgs) -> Result<SimConfig, Failure> {
    for (name, v) in [
        ("--fail-rate", a.fail_rate),
        ("--fault-rate", a.fault_rate),
        ("--error-body-rate", a.error_body_rate),
        ("--drop-rate", a.drop_rate),
        ("--slow-rate", a.slow_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Failure::usage(format!("{name} must be between 0 and 1, got {v}")));
        }
    }
    if a.render_secs < 0.0 || !(0.0..1.0).contains(&a.render_jitter) {
        return Err(Failure::usage("--render-secs must be ≥ 0 and --render-jitter in [0, 1)"));
    }
    if a.max_jobs == 0 {
        return Err(Failure::usage("--max-jobs must be at least 1"));
    }
    Ok(SimConfig {
        render_secs: a.render_secs,
        render_jitter: a.render_jitter,
        max_jobs: a.max_jobs,
        fail_rate: a.fail_rate,
        balance_usd: a.balance_usd,
        url_ttl_secs: a.url_ttl_secs,
        seed: a.seed,
        faults: FaultRates {
            server_error: a.fault_rate,
            error_body: a.error_body_rate,
            drop: a.drop_rate,
            slow: a.slow_rate,
            slow_ms: a.slow_ms,
        },
        ..SimConfig::default()
    })
}
