//! The former home of expansion, kept as re-exports so that callers across
//! the crate (engine, CLI, reports) need not change: the code lives in
//! [`crate::expand`] (by step) and [`crate::slug`].

pub use crate::expand::{Compiled, Job, JobRequest, Uniqueness};
pub use crate::slug::slug;
