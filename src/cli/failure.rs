//! Errors as the CLI shows them: a message, a hint, an exit code.

use std::io::Write;

use serde_json::json;

use crate::accounts::AccountError;
use crate::exit::{self, Coded};
use crate::heygen::Error as HeygenError;
use crate::integration::IntegrationError;

/// A failed command.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Process exit code.
    pub exit: u8,
    /// Machine code (`unauthorized`, `invalid_parameter`, …).
    pub code: String,
    /// One line saying what went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Offending field, when known.
    pub param: Option<String>,
    /// HeyGen request id, when known.
    pub request_id: Option<String>,
    /// A pre-rendered multi-line report (diagnostics with source excerpts).
    pub report: Option<String>,
    /// The same report for `--json` (the problems as data).
    pub json_detail: Option<serde_json::Value>,
}

impl Failure {
    /// A failure with a code and message.
    pub fn new(exit: u8, code: &str, message: impl Into<String>) -> Self {
        Failure {
            exit,
            code: code.into(),
            message: message.into(),
            hint: None,
            param: None,
            request_id: None,
            report: None,
            json_detail: None,
        }
    }

    /// A failure whose message is `e` with its causes (see
    /// [`crate::diag::chain`]).
    pub fn of(exit: u8, code: &str, e: &dyn std::error::Error) -> Self {
        Failure::new(exit, code, crate::diag::chain(e))
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Bad usage.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(exit::USAGE, "usage", message)
    }

    /// A command this build leaves out: `what` needs the cargo feature
    /// `feature`, which was turned off.
    #[cfg_attr(all(feature = "sim", feature = "lua"), allow(dead_code))]
    pub fn without(what: &str, feature: &str) -> Self {
        Failure::usage(format!("this reelflow was built without {what}"))
            .hint(format!("rebuild with the `{feature}` cargo feature (it is on by default)"))
    }

    /// Prints to stderr: human text, or the JSON error envelope with `--json`.
    pub fn print(&self, json_mode: bool) {
        let mut err = std::io::stderr().lock();
        if json_mode {
            let mut body = json!({"error": {
                "code": self.code,
                "message": self.message,
                "hint": self.hint,
                "param": self.param,
                "request_id": self.request_id,
                "exit_code": self.exit,
            }});
            if let Some(d) = &self.json_detail {
                body["error"]["detail"] = d.clone();
            }
            let _ = writeln!(err, "{body}");
            return;
        }
        if let Some(report) = &self.report {
            let _ = write!(err, "{report}");
            if !report.ends_with('\n') {
                let _ = writeln!(err);
            }
        }
        let _ = write!(err, "{}", self.render());
    }

    /// The failure as text: drawn by the same renderer as manifest and
    /// data diagnostics, so every error reads alike.
    pub fn render(&self) -> String {
        let mut d = crate::diag::Diagnostic::error(self.message.as_str());
        if let Some(p) = &self.param {
            d = d.field(p.as_str());
        }
        if let Some(h) = &self.hint {
            d = d.hint(h.as_str());
        }
        let mut text = d.render(None);
        if let Some(r) = &self.request_id {
            text.push_str(&format!("   = request id: {r}\n"));
        }
        text
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failure is an error too, so it can travel inside library errors
/// (the review page's builder) and come back out as text.
impl std::error::Error for Failure {}

impl From<HeygenError> for Failure {
    fn from(e: HeygenError) -> Self {
        let hint = e.hint();
        let exit = e.exit_code();
        let mut f = match &e {
            HeygenError::Api(api) => {
                let mut f = Failure::new(exit, &api.body.code, e.to_string());
                f.param = api.body.param.clone();
                f.request_id = api.request_id.clone();
                f
            }
            HeygenError::Network { .. } => Failure::new(exit, "network_error", e.to_string()),
            HeygenError::Timeout { .. } => Failure::new(exit, "timeout", e.to_string()),
            HeygenError::Decode { .. } => Failure::new(exit, "unexpected_response", e.to_string()),
            HeygenError::Request(r) => Failure::of(exit, "invalid_request", r),
        };
        f.hint = Some(hint);
        f
    }
}

impl From<AccountError> for Failure {
    fn from(e: AccountError) -> Self {
        Failure::new(e.exit_code(), "account", e.to_string()).hint(e.hint())
    }
}

impl From<crate::results::ResultsError> for Failure {
    fn from(e: crate::results::ResultsError) -> Self {
        Failure::new(e.exit_code(), "invalid_results", e.to_string())
    }
}

impl From<IntegrationError> for Failure {
    fn from(e: IntegrationError) -> Self {
        match e {
            IntegrationError::Api(api) => api.into(),
            IntegrationError::InvalidParam { ref param, ref message } => {
                let mut f = Failure::new(
                    e.exit_code(),
                    "invalid_parameter",
                    format!("`{param}`: {message}"),
                );
                f.param = Some(param.clone());
                f
            }
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::of(exit::FAILURE, "io_error", &e)
    }
}

/// A reelflow command line to paste into a shell: `words`, then the global
/// flags of this invocation that decide what it talks to (`--sim`,
/// `--account`), so a follow-up hint works when pasted as it is.
pub fn command_line<S: AsRef<str>>(global: &super::args::GlobalArgs, words: &[S]) -> String {
    let mut parts: Vec<String> = vec!["reelflow".into()];
    parts.extend(words.iter().map(|w| shell_word(w.as_ref())));
    if global.sim {
        parts.push("--sim".into());
    }
    if let Some(a) = &global.account {
        parts.push("--account".into());
        parts.push(shell_word(a));
    }
    parts.join(" ")
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(w: &str) -> String {
    let plain =
        !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain { w.to_owned() } else { format!("'{}'", w.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_hints_keep_the_flags_that_matter() {
        let global = super::super::args::GlobalArgs {
            sim: true,
            base_url: None,
            account: Some("team a".into()),
            json: false,
            verbose: false,
        };
        assert_eq!(
            command_line(&global, &["run", "my campaign.yaml", "--shard", "1/2"]),
            "reelflow run 'my campaign.yaml' --shard 1/2 --sim --account 'team a'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
