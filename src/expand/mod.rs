//! Expansion: the manifest's template fields × one CSV row → one job with
//! the exact v3 request body, in four steps:
//!
//! 1. [`env`]: the template environment, its filters and the row context;
//! 2. [`compile`]: every templated field compiled once and checked against
//!    the CSV header and `vars` before any row is read;
//! 3. [`build`]: one row rendered and built into the typed request, with
//!    the provenance of each request field (which manifest field it came
//!    from);
//! 4. [`diagnose`]: template errors located in the manifest, and duplicate
//!    keys and download paths across rows.
//!
//! The YAML is parsed first; each templated *field* is then compiled on its
//! own and rendered per row, so a CSV value containing `:`, `#`, quotes,
//! `{{` or a newline lands in the request body byte for byte and cannot
//! change the manifest's structure.

mod build;
mod compile;
mod diagnose;
mod env;
mod fast;
mod job;
pub(crate) mod lanes;
mod provenance;

pub use compile::Compiled;
pub use diagnose::{RowIds, Uniqueness};
pub(crate) use job::account_tag;
pub use job::{Job, JobRequest};
pub use provenance::Provenance;
