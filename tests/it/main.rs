//! reelflow's integration tests: one binary, one module per area. Every
//! test talks only to simulators it starts itself on 127.0.0.1.

mod support;

mod browser;
mod cli;
mod client;
mod config;
mod fidelity;
mod lua;
mod manifests;
mod newcomer;
mod report;
mod requests;
mod run;
mod sim;
mod state;
mod wire;
