//! When to ask for statuses. Polling every job on a fixed cadence costs
//! render time ÷ interval requests per video; instead reelflow learns how
//! long renders take (a moving average of observed render times) and asks
//! when the earliest job should be done, checking back quickly and then
//! less often if it is not. Every in-flight job rides along in the same
//! bulk call (≤ 100 ids), so a wave of jobs costs about one status call.

use std::time::{Duration, Instant};

/// Poll timing policy and what it has learnt.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    /// Shortest wait between polls.
    pub min_gap: Duration,
    /// Longest wait between checks of a job (`run.poll.every`).
    pub max_gap: Duration,
    expected: Option<f64>,
}

impl PollSchedule {
    /// A schedule between `min_gap` and `max_gap`.
    pub fn new(min_gap: Duration, max_gap: Duration) -> Self {
        PollSchedule { min_gap, max_gap: max_gap.max(min_gap), expected: None }
    }

    /// The learnt render time, if any.
    pub fn expected_render(&self) -> Option<Duration> {
        self.expected.map(Duration::from_secs_f64)
    }

    /// When to first check a job accepted at `accepted`.
    pub fn first_check(&self, accepted: Instant) -> Instant {
        match self.expected {
            // A little early: a miss costs one cheap call, lateness costs a slot.
            Some(e) => accepted + Duration::from_secs_f64(e * 0.98),
            None => accepted + self.min_gap * 2,
        }
    }

    /// When to check again after `misses` checks found the job unfinished.
    pub fn recheck(&self, now: Instant, misses: u32) -> Instant {
        // Once render times are known, re-checks scale with them (2 %), so
        // a finished job waits a small fraction of its render for its slot.
        let base = match self.expected {
            Some(e) => Duration::from_secs_f64(e * 0.02).max(Duration::from_millis(10)),
            None => self.min_gap * 2,
        };
        // Known render times: a render that runs late is checked at a steady
        // small step at first, then less often. Unknown: grow by half each
        // time, so the first renders are not overshot by much.
        let factor = match self.expected {
            Some(_) if misses < 4 => 1.0,
            Some(_) => f64::from(1u32 << (misses - 3).min(10)),
            None => 1.5f64.powi(misses.min(20) as i32),
        };
        now + base.mul_f64(factor).min(self.max_gap)
    }

    /// A job accepted at `accepted` was seen finished at `seen`; its last
    /// check that found it unfinished was `last_miss`.
    pub fn observe(&mut self, accepted: Instant, seen: Instant, last_miss: Option<Instant>) {
        let took = seen.saturating_duration_since(accepted).as_secs_f64();
        let sample = match last_miss {
            // It finished between the last miss and now: take the middle.
            Some(m) => (m.saturating_duration_since(accepted).as_secs_f64() + took) / 2.0,
            // Seen at its first check, so the estimate may be late by any
            // amount: learn less than what was seen, so the next guess
            // probes earlier (a miss costs one cheap call; lateness a slot).
            None => took * 0.9,
        };
        self.expected = Some(match self.expected {
            None => sample,
            Some(e) => e * 0.5 + sample * 0.5,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_render_time_and_checks_just_before_it() {
        let t0 = Instant::now();
        let mut p = PollSchedule::new(Duration::from_millis(50), Duration::from_secs(30));
        assert_eq!(p.first_check(t0), t0 + Duration::from_millis(100));
        p.observe(t0, t0 + Duration::from_millis(10_200), Some(t0 + Duration::from_millis(9_800)));
        assert_eq!(
            p.expected_render(),
            Some(Duration::from_secs(10)),
            "the middle of the last miss and the sighting"
        );
        let first = p.first_check(t0).duration_since(t0).as_secs_f64();
        assert!((9.7..10.0).contains(&first), "{first}");
        let again = p.recheck(t0, 0).duration_since(t0).as_secs_f64();
        assert!((0.19..0.21).contains(&again), "2% of the render time: {again}");
        assert_eq!(p.recheck(t0, 20), t0 + Duration::from_secs(30), "capped at poll.every");
    }
}
