//! `reelflow man`: the man page (roff) on stdout, generated from the same
//! definitions as `--help`, so it never drifts.

use clap::CommandFactory;

use super::args::Cli;
use super::failure::Failure;
use crate::exit;

/// Prints the page.
pub fn run() -> Result<u8, Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Failure::new(exit::FAILURE, "io", e.to_string()))?;
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .map_err(|e| Failure::new(exit::FAILURE, "io", e.to_string()))?;
    Ok(exit::SUCCESS)
}
