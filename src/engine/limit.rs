//! How many render jobs may be in flight.
//!
//! HeyGen caps render jobs in progress per account and answers a create
//! beyond the cap with 429. When it does, the jobs reelflow has rendering
//! at that moment *are* the cap (or what a shared account leaves of it),
//! so the bound is set to that number: no halving, no saw-tooth.
//!
//! One congestion event is one adjustment: creates sent before the
//! adjustment that come back 429 are part of the same event and change
//! nothing, and creates of the same burst that are accepted afterwards
//! raise the bound back to what the server really admitted. A 429 that
//! was not about the cap (say a random one) costs at most one slot, given
//! back after a window of acceptances.
//!
//! Above a learnt cap, reelflow probes for room (a shared account's other
//! user may leave) after a window of acceptances; each probe the server
//! refuses at the same level makes the next window four times longer, so
//! probing costs few 429s however long the run.

use std::time::{Duration, Instant};

/// The adaptive bound on jobs in flight.
#[derive(Debug, Clone)]
pub struct InFlightLimit {
    max: usize,
    current: usize,
    accepted_since_change: usize,
    /// Growth needs `current × window` acceptances.
    window: usize,
    paused_until: Option<Instant>,
    /// When the last congestion event began: creates sent before it are
    /// part of it.
    event_at: Option<Instant>,
    /// The cap the last event showed.
    learnt: Option<usize>,
}

impl InFlightLimit {
    /// Starts at (and never exceeds) `max`.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        InFlightLimit {
            max,
            current: max,
            accepted_since_change: 0,
            window: 1,
            paused_until: None,
            event_at: None,
            learnt: None,
        }
    }

    /// The current bound.
    pub fn current(&self) -> usize {
        self.current
    }

    /// The cap the server last showed, if it ever answered 429.
    pub fn learnt(&self) -> Option<usize> {
        self.learnt
    }

    /// Whether another job may be launched with `in_flight` already out.
    pub fn allows(&self, in_flight: usize, now: Instant) -> bool {
        in_flight < self.current && self.paused_until.is_none_or(|t| now >= t)
    }

    /// When launching may resume, if paused.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|t| *t > now)
    }

    /// A create sent at `sent` was accepted; `rendering` jobs are now in
    /// flight (this one included).
    pub fn on_accepted(&mut self, sent: Instant, rendering: usize) {
        if self.event_at.is_some_and(|e| sent < e) {
            // Part of the burst the last 429 belonged to: the server
            // admitted this many, so the cap is at least that.
            if rendering > self.current {
                self.current = rendering.min(self.max);
                self.learnt = Some(self.current);
            }
            return;
        }
        self.accepted_since_change += 1;
        if self.accepted_since_change >= self.current * self.window && self.current < self.max {
            self.current += 1;
            self.accepted_since_change = 0;
        }
    }

    /// A create sent at `sent` got 429 at `now` with `rendering` jobs in
    /// flight (accepted, not seen finished). Returns whether the bound
    /// changed (a new congestion event).
    pub fn on_rate_limited(
        &mut self,
        sent: Instant,
        rendering: usize,
        retry_after: Duration,
        now: Instant,
    ) -> bool {
        // A server asking for more than an hour is not waited on blindly.
        let until = now + retry_after.min(Duration::from_secs(3600));
        self.paused_until = Some(self.paused_until.map_or(until, |t| t.max(until)));
        if self.event_at.is_some_and(|e| sent < e) {
            return false;
        }
        let cap = rendering.clamp(1, self.max);
        if self.learnt.is_some_and(|l| cap >= l) {
            // A probe above the cap we knew, refused: probe less often.
            self.window = (self.window * 4).min(64);
        } else if self.learnt.is_none() {
            self.window = 2;
        }
        self.event_at = Some(now);
        self.learnt = Some(cap);
        self.current = cap;
        self.accepted_since_change = 0;
        true
    }

    /// A render finished, so the server has a free slot: a `Retry-After`
    /// pause (which says when one would free up) is over.
    pub fn on_slot_freed(&mut self) {
        self.paused_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn a_burst_of_429s_is_one_event_and_the_cap_is_what_was_admitted() {
        // --concurrency 10 against a server cap of 5: ten creates leave at
        // once, five are admitted, five refused, in any order.
        let t0 = Instant::now();
        let mut l = InFlightLimit::new(10);
        assert!(l.on_rate_limited(t0, 2, Duration::from_secs(1), ms(t0, 5)));
        assert_eq!(l.current(), 2, "two seen admitted so far");
        for _ in 0..4 {
            assert!(!l.on_rate_limited(t0, 2, Duration::from_secs(1), ms(t0, 6)), "same event");
        }
        l.on_accepted(t0, 3);
        l.on_accepted(t0, 4);
        l.on_accepted(t0, 5);
        assert_eq!(l.current(), 5, "no halving: the cap is the five admitted");
        assert_eq!(l.learnt(), Some(5));
        assert!(!l.allows(4, ms(t0, 10)), "paused by Retry-After");
        l.on_slot_freed();
        assert!(l.allows(4, ms(t0, 10)), "a finished render frees a slot at once");
    }

    #[test]
    fn probes_above_a_learnt_cap_get_rarer() {
        let t0 = Instant::now();
        let mut l = InFlightLimit::new(10);
        l.on_rate_limited(t0, 5, Duration::ZERO, ms(t0, 1));
        let mut probes = Vec::new();
        let mut accepted = 0;
        for i in 2..2000u64 {
            let t = ms(t0, i);
            if l.current() > 5 {
                // The server refuses the sixth.
                probes.push(accepted);
                l.on_rate_limited(t, 5, Duration::ZERO, t);
            } else {
                l.on_accepted(t, 5);
                accepted += 1;
            }
        }
        // About one 429 per 300 creates once the cap is known.
        assert!(probes.len() <= 8, "{} probes in {accepted} acceptances", probes.len());
        let gaps: Vec<usize> = probes.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
    }

    #[test]
    fn a_stray_429_costs_one_slot_and_it_comes_back() {
        let t0 = Instant::now();
        let mut l = InFlightLimit::new(10);
        // Nine rendering, the tenth create refused for another reason.
        l.on_rate_limited(t0, 9, Duration::ZERO, ms(t0, 1));
        assert_eq!(l.current(), 9);
        for i in 0..18 {
            l.on_accepted(ms(t0, 2 + i), 9);
        }
        assert_eq!(l.current(), 10, "grown back after two windows");
        for i in 0..1000 {
            l.on_accepted(ms(t0, 100 + i), 10);
        }
        assert_eq!(l.current(), 10, "never above --concurrency");
    }
}
