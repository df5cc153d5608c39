//! Exit codes: a published contract (README "Exit codes").

/// Everything worked.
pub const SUCCESS: u8 = 0;
/// An unexpected error (I/O, a bug).
pub const FAILURE: u8 = 1;
/// Bad command-line usage.
pub const USAGE: u8 = 2;
/// The manifest, dataset or request body cannot be read or parsed.
pub const INVALID_INPUT: u8 = 3;
/// Validation found problems; nothing was submitted.
pub const VALIDATION_FAILED: u8 = 4;
/// The run finished but some videos failed to render, or a finished
/// video's file could not be downloaded.
pub const JOBS_FAILED: u8 = 5;
/// The wait ended with videos still rendering (not failed).
pub const STILL_RENDERING: u8 = 6;
/// HeyGen answered with an error, or could not be reached.
pub const API_ERROR: u8 = 7;
/// No usable credential, or HeyGen rejected it.
pub const AUTH_ERROR: u8 = 8;
/// Stopped launching jobs: out of credit, or the cost cap was reached.
pub const CREDIT_STOP: u8 = 9;
/// `review.require_approval` is set and the sample is not approved yet;
/// nothing was submitted.
pub const APPROVAL_REQUIRED: u8 = 10;
/// HeyGen could not be reached for a while (an outage): the run stopped
/// with its state saved; `status --wait` picks up later.
pub const UNREACHABLE: u8 = 11;
/// Interrupted (Ctrl-C); the state on disk is consistent.
pub const INTERRUPTED: u8 = 130;

/// Name of an exit code, for docs and `--json` output.
pub fn name(code: u8) -> &'static str {
    match code {
        SUCCESS => "success",
        FAILURE => "failure",
        USAGE => "usage",
        INVALID_INPUT => "invalid_input",
        VALIDATION_FAILED => "validation_failed",
        JOBS_FAILED => "jobs_failed",
        STILL_RENDERING => "still_rendering",
        API_ERROR => "api_error",
        AUTH_ERROR => "auth_error",
        CREDIT_STOP => "credit_stop",
        APPROVAL_REQUIRED => "approval_required",
        UNREACHABLE => "unreachable",
        INTERRUPTED => "interrupted",
        _ => "unknown",
    }
}
