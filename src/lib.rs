//! reelflow: declarative HeyGen v3 video pipelines.
//!
//! A YAML manifest of scene templates and a CSV of rows become validated
//! v3 requests, submitted with a bounded fan-out, followed to completion,
//! downloaded, and recorded in a results manifest that is also the state of
//! the next run. The [`heygen`] module is a complete v3 client, [`sim`] a
//! local simulator of the API, and [`integration`] the seven functions of
//! the KosmoKrator HeyGen integration.

// Diagnostics and failures are data-rich on purpose (location, source
// line, hint); they travel on error paths where their size costs nothing
// measurable, so boxing them would only add noise.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

pub mod accounts;
pub mod assets;
mod cli;
pub mod dataset;
pub mod diag;
pub mod engine;
pub mod exit;
pub mod expand;
pub mod filters;
pub mod folders;
pub mod heygen;
pub mod integration;
#[cfg(feature = "lua")]
pub mod lua;
pub mod manifest;
pub mod plan;
pub mod prepare;
pub mod pricing;
pub mod render;
pub mod report;
pub mod results;
pub mod review;
pub mod sample;
#[cfg(feature = "sim")]
pub mod sim;
pub mod slug;
pub mod validate;

/// The `reelflow` command line: parses the process's arguments, reads its
/// environment once, runs the command and returns its exit code (see
/// [`exit`]). The binary is this one call.
pub fn main() -> std::process::ExitCode {
    cli::main()
}
