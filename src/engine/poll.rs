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
            Some(e) => accepted + Duration::from_secs_f64(e * 0.97).max(self.min_gap),
            None => accepted + self.min_gap * 2,
        }
    }

    /// When to check again after `misses` checks found the job unfinished.
    pub fn recheck(&self, now: Instant, misses: u32) -> Instant {
        let base = match self.expected {
            Some(e) => Duration::from_secs_f64(e * 0.03).max(self.min_gap),
            None => self.min_gap * 2,
        };
        let gap = base.saturating_mul(1u32 << misses.min(10)).min(self.max_gap);
        now + gap
    }

    /// A job accepted at `accepted` was seen finished at `seen`, after
    /// `misses` unfinished checks.
    pub fn observe(&mut self, accepted: Instant, seen: Instant, misses: u32) {
        let took = seen.saturating_duration_since(accepted).as_secs_f64();
        // Seen at its first check means the estimate may be late: learn a
        // bit less than what was seen so the next guess probes earlier.
        let sample = if misses == 0 { took * 0.95 } else { took };
        self.expected = Some(match self.expected {
            None => sample,
            Some(e) => e * 0.75 + sample * 0.25,
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
        p.observe(t0, t0 + Duration::from_secs(10), 3);
        let first = p.first_check(t0).duration_since(t0).as_secs_f64();
        assert!((9.6..10.0).contains(&first), "{first}");
        let again = p.recheck(t0, 0).duration_since(t0).as_secs_f64();
        assert!((0.29..0.31).contains(&again), "3% of the render time: {again}");
        assert_eq!(p.recheck(t0, 20), t0 + Duration::from_secs(30), "capped at poll.every");
    }
}
