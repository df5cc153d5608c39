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

/// An error that means a particular exit code. The mapping from error kinds
/// to codes lives here, in one place, so the CLI and Lua scripts (whose
/// `os.exit`-free failures end `reelflow lua` with the code of the HeyGen
/// error that caused them) agree.
pub trait Coded {
    /// The process exit code this error means (README "Exit codes").
    fn exit_code(&self) -> u8;
}

impl Coded for crate::heygen::Error {
    fn exit_code(&self) -> u8 {
        use crate::heygen::{ApiErrorKind, Error};
        match self {
            Error::Api(e) => match e.kind {
                ApiErrorKind::Auth | ApiErrorKind::Forbidden => AUTH_ERROR,
                ApiErrorKind::InsufficientCredit | ApiErrorKind::QuotaExceeded => CREDIT_STOP,
                _ => API_ERROR,
            },
            Error::Network { .. } | Error::Timeout { .. } | Error::Decode { .. } => API_ERROR,
            Error::Request(_) => USAGE,
        }
    }
}

impl Coded for crate::accounts::AccountError {
    fn exit_code(&self) -> u8 {
        use crate::accounts::AccountError;
        match self {
            AccountError::Config { .. } => INVALID_INPUT,
            AccountError::BadName(_) => USAGE,
            _ => AUTH_ERROR,
        }
    }
}

impl Coded for crate::accounts::ClientError {
    fn exit_code(&self) -> u8 {
        match self {
            crate::accounts::ClientError::Account(e) => e.exit_code(),
            crate::accounts::ClientError::Client(e) => e.exit_code(),
        }
    }
}

impl Coded for crate::integration::IntegrationError {
    fn exit_code(&self) -> u8 {
        use crate::integration::IntegrationError;
        match self {
            // A bad parameter is bad input; an API error keeps its own code.
            IntegrationError::InvalidParam { .. } => INVALID_INPUT,
            IntegrationError::Api(e) => e.exit_code(),
        }
    }
}

#[cfg(feature = "lua")]
impl Coded for crate::lua::ScriptError {
    fn exit_code(&self) -> u8 {
        use crate::lua::ScriptError;
        match self {
            ScriptError::Syntax(_) => INVALID_INPUT,
            // An uncaught HeyGen error ends the script with that error's code.
            ScriptError::Runtime { api_exit, .. } => api_exit.unwrap_or(FAILURE),
            ScriptError::TimedOut(_)
            | ScriptError::Limit { .. }
            | ScriptError::Setup(_)
            | ScriptError::Thread(_)
            | ScriptError::NoAnswer => FAILURE,
            // The reader of stdout went away (`| head -1`): not a failure.
            ScriptError::OutputClosed => SUCCESS,
        }
    }
}

impl Coded for crate::results::ResultsError {
    fn exit_code(&self) -> u8 {
        // The campaign's own files are unreadable or not reelflow's.
        INVALID_INPUT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name() {
        let codes = [
            SUCCESS,
            FAILURE,
            USAGE,
            INVALID_INPUT,
            VALIDATION_FAILED,
            JOBS_FAILED,
            STILL_RENDERING,
            API_ERROR,
            AUTH_ERROR,
            CREDIT_STOP,
            APPROVAL_REQUIRED,
            UNREACHABLE,
            INTERRUPTED,
        ];
        let names: std::collections::BTreeSet<_> = codes.iter().map(|c| name(*c)).collect();
        assert_eq!(names.len(), codes.len());
        assert!(!names.contains("unknown"));
    }

    #[test]
    fn error_kinds_map_to_their_codes() {
        use crate::accounts::AccountError;
        use crate::integration::IntegrationError;
        let bad_param = IntegrationError::InvalidParam { param: "p".into(), message: "m".into() };
        assert_eq!(bad_param.exit_code(), INVALID_INPUT);
        let invalid = crate::heygen::Error::from(crate::heygen::RequestError::EmptyId);
        assert_eq!(invalid.exit_code(), USAGE);
        assert_eq!(IntegrationError::Api(invalid).exit_code(), USAGE);
        assert_eq!(AccountError::BadName("a b".into()).exit_code(), USAGE);
        let unknown = AccountError::Unknown { name: "x".into(), known: "none".into() };
        assert_eq!(unknown.exit_code(), AUTH_ERROR);
        let results = crate::results::ResultsError::Format { path: "r.json".into(), found: 9 };
        assert_eq!(results.exit_code(), INVALID_INPUT);
    }
}
