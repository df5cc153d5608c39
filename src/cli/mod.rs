//! The `reelflow` command line: parse, run, render the outcome.

mod accounts;
pub mod args;
mod avatars;
mod completions;
mod config;
mod context;
mod failure;
mod init;
#[cfg(feature = "lua")]
mod lua;
mod man;
mod manifests;
mod me;
pub mod output;
mod plan;
mod progress;
mod render;
mod report;
mod results;
mod review;
mod run;
mod schema;
#[cfg(feature = "sim")]
mod sim;
mod status;
mod templates;
mod validate;
mod videos;
mod voices;

use std::process::ExitCode;

use clap::Parser;

pub use failure::Failure;

use args::{Cli, Command};
use context::Context;

use crate::exit;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    output::end_quietly_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::SUCCESS });
        }
    };
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            Failure::from(e).print(json);
            return ExitCode::from(exit::FAILURE);
        }
    };
    let code = runtime.block_on(run(cli)).unwrap_or_else(|f| {
        f.print(json);
        f.exit
    });
    // Background tasks (an in-process simulator) must not delay exit.
    runtime.shutdown_background();
    ExitCode::from(code)
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    // The one place the environment is read.
    let config = config::Config::from_process();
    crate::pricing::select_table(config.pricing_table);
    match &cli.command {
        #[cfg(feature = "sim")]
        Command::Sim(cmd) => return sim::run(cmd, &cli.global, &config).await,
        #[cfg(not(feature = "sim"))]
        Command::Sim(_) => return Err(Failure::without("the simulator", "sim")),
        Command::Schema => return Ok(schema::run()),
        #[cfg(feature = "lua")]
        Command::Doc { page } => return lua::doc(page, cli.global.json),
        #[cfg(not(feature = "lua"))]
        Command::Doc { .. } => return Err(Failure::without("Lua", "lua")),
        Command::Completions { shell } => return completions::run(*shell),
        Command::Man => return man::run(),
        _ => {}
    }
    let ctx = Context::new(cli.global, config).await?;
    let result = dispatch(&ctx, &cli.command).await;
    ctx.finish();
    result
}

async fn dispatch(ctx: &Context, command: &Command) -> Result<u8, Failure> {
    match command {
        Command::Avatars(a) => avatars::run(ctx, a).await,
        Command::Voices(a) => voices::run(ctx, a).await,
        Command::Templates(a) => templates::run(ctx, a).await,
        Command::Me => me::run(ctx).await,
        Command::Videos(cmd) => videos::run(ctx, cmd).await,
        Command::Accounts(a) => accounts::run(ctx, a).await,
        Command::Validate(a) => validate::run(ctx, a).await,
        Command::Render(a) => render::run(ctx, a).await,
        Command::Plan(a) => plan::run(ctx, a).await,
        Command::Run(a) => run::run(ctx, a).await,
        Command::Status(a) => status::run(ctx, a).await,
        Command::Results(a) => results::run(ctx, a),
        Command::Report(a) => report::run(ctx, a).await,
        Command::Review(a) => review::run(ctx, a).await,
        #[cfg(feature = "lua")]
        Command::Lua(a) => lua::run(ctx, a).await,
        #[cfg(not(feature = "lua"))]
        Command::Lua(_) => Err(Failure::without("Lua", "lua")),
        Command::Init(a) => init::run(ctx, a).await,
        Command::Sim(_)
        | Command::Schema
        | Command::Doc { .. }
        | Command::Completions { .. }
        | Command::Man => unreachable!("handled above"),
    }
}
