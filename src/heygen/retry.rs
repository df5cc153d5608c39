//! When and how long to wait before retrying a request.
//!
//! The rules follow HeyGen's own CLI (v3-reference §12) with one addition:
//! a create that carries an `Idempotency-Key` is as safe to repeat as a
//! read, because HeyGen replays the first answer instead of creating again.

use std::time::{Duration, SystemTime};

use super::error::{ApiErrorKind, Error};

/// Retry limits and backoff shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step; doubles per retry.
    pub base_delay: Duration,
    /// Longest wait, including a `Retry-After` the server asks for.
    pub max_delay: Duration,
    /// Whether 429 `rate_limit_exceeded` is retried here. The run engine
    /// turns this off for creates so it can shrink its fan-out instead.
    pub retry_rate_limited: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(1000),
            max_delay: Duration::from_secs(30),
            retry_rate_limited: true,
        }
    }
}

/// Whether a request may be sent again after a transport failure or 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// A read, or a write that carries an Idempotency-Key.
    Safe,
    /// A write without a key: repeating it could create twice.
    Unsafe,
}

impl RetryPolicy {
    /// How long to wait before retry number `attempt` (0-based) after
    /// `err`, or `None` when the error must not be retried.
    pub fn delay_for(&self, attempt: u32, err: &Error, replay: Replay) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        let retry_after = match err {
            Error::Api(api) => match api.kind {
                ApiErrorKind::RateLimited if self.retry_rate_limited => api.retry_after,
                ApiErrorKind::Server if replay == Replay::Safe => api.retry_after,
                // The same key is still in flight: wait and ask again.
                ApiErrorKind::RequestInProgress if replay == Replay::Safe => api.retry_after,
                _ => return None,
            },
            Error::Network { .. } | Error::Timeout { .. } if replay == Replay::Safe => None,
            _ => return None,
        };
        Some(self.backoff(attempt, retry_after))
    }

    /// Jittered exponential backoff, stretched to `retry_after` when the
    /// server asks for longer, and capped at `max_delay`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let jittered = exp.min(self.max_delay).mul_f64(rand::random_range(0.75..1.25));
        match retry_after {
            Some(ra) if ra > jittered => ra.min(self.max_delay),
            _ => jittered.min(self.max_delay),
        }
    }
}

/// Runs `make()`, and when no answer came after `after`, runs it again
/// (up to `copies` in all, each `after` apart); the first success wins and
/// the others are dropped (cancelled). An error waits for the copies still
/// running; when all failed, the last error is returned. For idempotent
/// reads whose latency has a heavy tail: one hung response costs `after`,
/// not its timeout.
pub async fn hedged<T, F, Fut>(after: Duration, copies: usize, mut make: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let copies = copies.max(1);
    let mut running = FuturesUnordered::new();
    running.push(make());
    let mut sent = 1;
    loop {
        let hedge = tokio::time::sleep(after);
        // `running` is never empty here: it starts with one request and an
        // error that empties it returns, so the first branch always
        // matches `Some`.
        tokio::select! {
            Some(done) = running.next() => match done {
                Ok(v) => return Ok(v),
                Err(e) if running.is_empty() => return Err(e),
                Err(_) => {}
            },
            _ = hedge, if sent < copies => {
                running.push(make());
                sent += 1;
            }
        }
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(86_400)));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heygen::error::ApiError;
    use crate::heygen::wire::ErrorBody;

    fn api(status: u16, code: &str, retry_after: Option<u64>) -> Error {
        let body = ErrorBody { code: code.into(), message: "m".into(), param: None, doc_url: None };
        Error::from(ApiError::new(status, body, None, retry_after.map(Duration::from_secs)))
    }

    #[test]
    fn which_errors_are_retried() {
        let p = RetryPolicy { base_delay: Duration::from_millis(10), ..Default::default() };
        assert!(p.delay_for(0, &api(429, "rate_limit_exceeded", None), Replay::Unsafe).is_some());
        assert!(p.delay_for(0, &api(503, "internal_error", None), Replay::Unsafe).is_none());
        assert!(p.delay_for(0, &api(503, "internal_error", None), Replay::Safe).is_some());
        assert!(p.delay_for(0, &api(402, "insufficient_credit", None), Replay::Safe).is_none());
        assert!(p.delay_for(0, &api(429, "quota_exceeded", None), Replay::Safe).is_none());
        assert!(p.delay_for(0, &api(400, "invalid_parameter", None), Replay::Safe).is_none());
        let timeout = Error::Timeout {
            method: "POST".into(),
            path: "/v3/videos".into(),
            after: Duration::from_secs(1),
        };
        assert!(p.delay_for(0, &timeout, Replay::Unsafe).is_none());
        assert!(p.delay_for(0, &timeout, Replay::Safe).is_some());
        assert!(p.delay_for(3, &api(429, "rate_limit_exceeded", None), Replay::Safe).is_none());
        let no_429 = RetryPolicy { retry_rate_limited: false, ..p };
        assert!(
            no_429.delay_for(0, &api(429, "rate_limit_exceeded", None), Replay::Safe).is_none()
        );
    }

    #[test]
    fn retry_after_stretches_the_wait_up_to_the_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
            ..Default::default()
        };
        let d = p.delay_for(0, &api(429, "rate_limit_exceeded", Some(2)), Replay::Safe).unwrap();
        assert_eq!(d, Duration::from_secs(2));
        let capped =
            p.delay_for(0, &api(429, "rate_limit_exceeded", Some(60)), Replay::Safe).unwrap();
        assert_eq!(capped, Duration::from_secs(5));
        for attempt in 0..3 {
            let d = p.backoff(attempt, None);
            let nominal = 10.0 * f64::from(1u32 << attempt);
            assert!(
                (nominal * 0.75..=nominal * 1.25).contains(&(d.as_secs_f64() * 1000.0)),
                "{d:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_read_is_hedged_and_the_first_answer_wins() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        // The first copy hangs for two minutes, the second answers at once.
        let out: Result<u32, Error> = hedged(Duration::from_millis(500), 3, || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                Ok(n)
            }
        })
        .await;
        assert_eq!(out.unwrap(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no third copy once one answered");
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        // Every copy failing returns an error after the last one.
        let failing: Result<u32, Error> = hedged(Duration::from_millis(10), 2, || async {
            Err(Error::Request(crate::heygen::RequestError::EmptyId))
        })
        .await;
        assert!(failing.is_err());
    }

    #[test]
    fn retry_after_formats() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
