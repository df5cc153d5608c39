//! `reelflow completions SHELL`: a completion script on stdout.

use clap::CommandFactory;

use super::args::Cli;
use super::failure::Failure;
use crate::exit;

/// Prints the script for `shell`.
pub fn run(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "reelflow", &mut std::io::stdout().lock());
    Ok(exit::SUCCESS)
}
