//! Injected faults: scripted rules (for tests that need an exact sequence)
//! and random rates (for soak runs and benchmarks).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a fault does to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer this status with a v3 error body instead of processing.
    Status(u16),
    /// Answer 429 `rate_limit_exceeded` with this `Retry-After`.
    RateLimit {
        /// Seconds.
        retry_after: u64,
    },
    /// Answer 200 with an `{"error":…}` body instead of processing.
    ErrorBody,
    /// Answer 502 with an HTML gateway page.
    GatewayHtml,
    /// Wait this long, then process normally.
    Slow {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without answering, before processing.
    Drop,
    /// Process the request, then close the connection without answering:
    /// the caller cannot tell whether it happened.
    DropAfter,
}

/// A scripted fault for the next `times` matching requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Only this method (any when omitted).
    #[serde(default)]
    pub method: Option<String>,
    /// Requests whose path starts with this.
    pub path: String,
    /// What happens.
    pub kind: FaultKind,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// Random fault rates, each a probability per API request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultRates {
    /// 503 `internal_error`.
    pub server_error: f64,
    /// 200 with an error body.
    pub error_body: f64,
    /// Dropped connections (half before, half after processing).
    pub drop: f64,
    /// Slow answers.
    pub slow: f64,
    /// How slow.
    pub slow_ms: u64,
}

impl FaultRates {
    /// Picks a fault for a request given a uniform draw in [0, 1) per kind.
    pub fn pick(&self, draw: &mut impl FnMut() -> f64) -> Option<FaultKind> {
        if self.server_error > 0.0 && draw() < self.server_error {
            return Some(FaultKind::Status(503));
        }
        if self.error_body > 0.0 && draw() < self.error_body {
            return Some(FaultKind::ErrorBody);
        }
        if self.drop > 0.0 && draw() < self.drop {
            return Some(if draw() < 0.5 { FaultKind::Drop } else { FaultKind::DropAfter });
        }
        if self.slow > 0.0 && draw() < self.slow {
            return Some(FaultKind::Slow { ms: self.slow_ms });
        }
        None
    }
}

impl FaultKind {
    /// A delay to apply before answering, if any.
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::Slow { ms } => Some(Duration::from_millis(*ms)),
            _ => None,
        }
    }
}

/// Takes the first scripted rule matching the request, counting it down.
pub fn take_rule(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> Option<FaultKind> {
    let idx = rules.iter().position(|r| {
        r.times > 0
            && path.starts_with(&r.path)
            && r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
    })?;
    let rule = &mut rules[idx];
    rule.times -= 1;
    let kind = rule.kind.clone();
    if rule.times == 0 {
        rules.remove(idx);
    }
    Some(kind)
}
