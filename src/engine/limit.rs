//! How many render jobs may be in flight: a bound that halves when HeyGen
//! answers 429 and grows back by one after a full window of acceptances
//! (additive increase, multiplicative decrease), and pauses launching for
//! as long as `Retry-After` asks.

use std::time::{Duration, Instant};

/// The adaptive bound on jobs in flight.
#[derive(Debug, Clone)]
pub struct InFlightLimit {
    max: usize,
    current: usize,
    accepted_since_change: usize,
    paused_until: Option<Instant>,
}

impl InFlightLimit {
    /// Starts at (and never exceeds) `max`.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        InFlightLimit { max, current: max, accepted_since_change: 0, paused_until: None }
    }

    /// The current bound.
    pub fn current(&self) -> usize {
        self.current
    }

    /// Whether another job may be launched with `in_flight` already out.
    pub fn allows(&self, in_flight: usize, now: Instant) -> bool {
        in_flight < self.current && self.paused_until.is_none_or(|t| now >= t)
    }

    /// When launching may resume, if paused.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|t| *t > now)
    }

    /// A create was accepted.
    pub fn on_accepted(&mut self) {
        self.accepted_since_change += 1;
        if self.accepted_since_change >= self.current && self.current < self.max {
            self.current += 1;
            self.accepted_since_change = 0;
        }
    }

    /// A create got 429: halve, and pause for `retry_after`.
    pub fn on_rate_limited(&mut self, retry_after: Duration, now: Instant) {
        self.current = (self.current / 2).max(1);
        self.accepted_since_change = 0;
        // A server asking for more than an hour is not waited on blindly.
        let until = now + retry_after.min(Duration::from_secs(3600));
        self.paused_until = Some(self.paused_until.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_429_pauses_and_grows_back() {
        let t0 = Instant::now();
        let mut l = InFlightLimit::new(8);
        assert!(l.allows(7, t0) && !l.allows(8, t0));
        l.on_rate_limited(Duration::from_secs(2), t0);
        assert_eq!(l.current(), 4);
        assert!(!l.allows(0, t0 + Duration::from_secs(1)), "paused by Retry-After");
        assert!(l.allows(3, t0 + Duration::from_secs(2)));
        for _ in 0..4 {
            l.on_accepted();
        }
        assert_eq!(l.current(), 5, "one more after a full window");
        for _ in 0..100 {
            l.on_accepted();
        }
        assert_eq!(l.current(), 8, "never above the configured bound");
        l.on_rate_limited(Duration::ZERO, t0);
        l.on_rate_limited(Duration::ZERO, t0);
        l.on_rate_limited(Duration::ZERO, t0);
        l.on_rate_limited(Duration::ZERO, t0);
        assert_eq!(l.current(), 1);
    }
}
