//! When to ask for statuses.
//!
//! One bulk status call (≤ 100 ids) answers for every job in flight, so
//! the question is only *when* to make it. A finished job that is not seen
//! holds its slot (detection lag costs makespan); a call that finds nothing
//! new costs the account a request. reelflow learns the distribution of
//! render times from what it observes (the last [`SAMPLES`] renders, not a
//! mean: real render times vary, with a heavy tail), and from it how many
//! jobs are probably finished but unseen at any moment. It calls when the
//! slot time they have probably wasted since they were last seen
//! unfinished (job-seconds) reaches what a call is worth: `call_worth` of
//! a render. Many jobs finishing → frequent calls; one job inside a wide
//! spread → a few calls across it; nothing due → none.
//!
//! Until enough renders are seen, and for a job older than every render
//! seen so far, its chance of being done grows with the time since its
//! last check relative to its age, so a first render or a 3× outlier is
//! found within a fraction of its length at a logarithmic number of calls.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a status call is worth unless told otherwise, as a share of a
/// render. Measured on 100 renders of 30 s ± 20 % at a cap of 10, followed
/// by folder listing: 0.03 gave 2.6 calls per video at 1.03× the zero-lag
/// makespan, 0.04 gave 2.43 at 1.04–1.05×, 0.05 gave 2.25 at 1.06×.
pub const DEFAULT_CALL_WORTH: f64 = 0.04;

/// Render times remembered.
pub const SAMPLES: usize = 64;
/// Render times needed before the distribution is trusted.
const MIN_SAMPLES: usize = 5;
/// Share of its age a job waits between checks when its render time is
/// beyond what has been seen.
const AGE_STEP: f64 = 0.2;
/// The same while too few renders have been seen to know their spread:
/// the chance a job finishes in the next `s` seconds is taken as
/// `s / age`, the scale-free guess when nothing says whether renders take
/// a second or an hour. Against 0.2 on 30 s renders with 10 in flight,
/// the first wave cost about a quarter call per video less at the same
/// makespan (README, benchmarks).
const FIRST_AGE_STEP: f64 = 1.0;

/// One job as the schedule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Followed {
    /// When it was accepted (or first followed).
    pub accepted: Instant,
    /// When a status call last found it unfinished (the call's send time);
    /// `None` if never asked in this run, which makes a call due at once.
    pub checked: Option<Instant>,
}

/// Poll timing policy and what it has learnt.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    /// Shortest wait between polls (until render times are known; then
    /// the smaller of this and 2 % of a render).
    pub min_gap: Duration,
    /// Longest wait between checks of a job (`run.poll.every`).
    pub max_gap: Duration,
    /// What a call is worth, as a share of a render: a call is made once
    /// the finished-but-unseen jobs have probably lost this much slot time.
    pub call_worth: f64,
    recent: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl PollSchedule {
    /// A schedule between `min_gap` and `max_gap`.
    pub fn new(min_gap: Duration, max_gap: Duration) -> Self {
        PollSchedule {
            min_gap,
            max_gap: max_gap.max(min_gap),
            call_worth: DEFAULT_CALL_WORTH,
            recent: VecDeque::new(),
            sorted: Vec::new(),
        }
    }

    /// The same schedule with another `call_worth`.
    pub fn with_call_worth(mut self, call_worth: f64) -> Self {
        self.call_worth = call_worth;
        self
    }

    /// The median learnt render time, if enough were seen.
    pub fn expected_render(&self) -> Option<Duration> {
        (self.sorted.len() >= MIN_SAMPLES)
            .then(|| Duration::from_secs_f64(self.sorted[self.sorted.len() / 2]))
    }

    /// A job accepted at `accepted` was seen finished by a call sent at
    /// `seen`; the last call that found it unfinished was sent at
    /// `last_miss`. Its render time lies between the two: the middle is
    /// learnt.
    pub fn observe(&mut self, accepted: Instant, seen: Instant, last_miss: Option<Instant>) {
        let took = seen.saturating_duration_since(accepted).as_secs_f64();
        let lo =
            last_miss.map_or(took * 0.8, |m| m.saturating_duration_since(accepted).as_secs_f64());
        let sample = (lo + took) / 2.0;
        if self.recent.len() == SAMPLES
            && let Some(old) = self.recent.pop_front()
            && let Some(i) = self.sorted.iter().position(|x| *x == old)
        {
            self.sorted.remove(i);
        }
        self.recent.push_back(sample);
        let at = self.sorted.partition_point(|x| *x < sample);
        self.sorted.insert(at, sample);
    }

    /// The learnt probability that a render takes at most `secs`: the
    /// empirical distribution, linear between samples, so it has no
    /// steps a call could be timed on by accident.
    fn cdf(&self, secs: f64) -> f64 {
        let s = &self.sorted;
        let n = s.len();
        let lo = s[0] * 0.95;
        let hi = s[n - 1] * 1.05;
        if secs <= lo {
            return 0.0;
        }
        if secs >= hi {
            return 1.0;
        }
        // Knots: (lo, 0), (s_i, (i + 0.5) / n), (hi, 1); find the pair
        // around `secs`.
        let j = s.partition_point(|x| *x < secs);
        let (x0, y0) = if j == 0 { (lo, 0.0) } else { (s[j - 1], (j as f64 - 0.5) / n as f64) };
        let (x1, y1) = if j == n { (hi, 1.0) } else { (s[j], (j as f64 + 0.5) / n as f64) };
        if x1 <= x0 { y1 } else { y0 + (y1 - y0) * (secs - x0) / (x1 - x0) }
    }

    /// The chance job `j` finished by `t`, given it was unfinished when
    /// last checked.
    pub fn p_done(&self, j: &Followed, t: Instant) -> f64 {
        let Some(checked) = j.checked else { return 1.0 };
        if t <= checked {
            return 0.0;
        }
        let age_checked = checked.saturating_duration_since(j.accepted).as_secs_f64();
        let since = (t - checked).as_secs_f64();
        let by_age = |step: f64| {
            let age = age_checked.max(self.min_gap.as_secs_f64() * 2.0);
            (since / (step * age)).min(1.0)
        };
        if self.sorted.len() < MIN_SAMPLES {
            return by_age(FIRST_AGE_STEP);
        }
        let left = 1.0 - self.cdf(age_checked);
        if left < 0.02 {
            // Longer than (almost) every render seen: a tail.
            return by_age(AGE_STEP);
        }
        let age_t = age_checked + since;
        ((self.cdf(age_t) - (1.0 - left)) / left).clamp(0.0, 1.0)
    }

    /// When to make the next status call for `jobs`, at or after `now`
    /// and at least `min_gap` after the previous call (`last_call`).
    pub fn next_poll(
        &self,
        now: Instant,
        last_call: Option<Instant>,
        jobs: &[Followed],
    ) -> Option<Instant> {
        if jobs.is_empty() {
            return None;
        }
        // Once render times are known, calls may come as close as 2 % of
        // one (≥ 10 ms): with 1 s renders, a fixed 200 ms gap alone would
        // cost a tenth of every render in detection lag.
        let gap = match self.expected_render() {
            Some(m) => self.min_gap.min(m.mul_f64(0.02)).max(Duration::from_millis(10)),
            None => self.min_gap,
        };
        let earliest = last_call.map_or(now, |l| (l + gap).max(now));
        if jobs.iter().any(|j| j.checked.is_none()) {
            return Some(earliest);
        }
        let checked = |j: &Followed| j.checked.unwrap_or(now);
        // Every job is checked at least every `max_gap`.
        let latest = jobs.iter().map(|j| checked(j) + self.max_gap).min()?.max(earliest);
        // The time scale: the typical render, or while none is known, the
        // jobs' typical age.
        let floor = self.min_gap.as_secs_f64().max(0.001) * 2.0;
        let scale = match self.expected_render() {
            Some(m) => m.as_secs_f64(),
            None => {
                let ages: f64 = jobs
                    .iter()
                    .map(|j| checked(j).saturating_duration_since(j.accepted).as_secs_f64())
                    .sum();
                ages / jobs.len() as f64
            }
        }
        .max(floor);
        let worth = self.call_worth * scale;
        // March forward summing the expected unseen finished jobs over time
        // (job-seconds lost), from the oldest check, in steps of 1/128 of
        // the scale; interpolate within the step that crosses.
        let dt = (scale / 128.0).max(0.0005);
        let mut t = jobs.iter().map(checked).min()?;
        let mut lost = 0.0;
        let mut steps = 0;
        while t < latest && steps < 4096 {
            steps += 1;
            let e: f64 =
                jobs.iter().map(|j| self.p_done(j, t + Duration::from_secs_f64(dt / 2.0))).sum();
            let next = lost + e * dt;
            if next >= worth {
                let frac = if e > 0.0 { ((worth - lost) / (e * dt)).clamp(0.0, 1.0) } else { 1.0 };
                let at = t + Duration::from_secs_f64(dt * frac);
                return Some(at.clamp(earliest, latest));
            }
            lost = next;
            t += Duration::from_secs_f64(dt);
        }
        Some(latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    #[test]
    fn learns_a_spread_and_calls_more_often_when_more_jobs_may_be_done() {
        let t0 = Instant::now();
        let mut p = PollSchedule::new(Duration::from_millis(50), Duration::from_secs(60));
        // Renders of 24 to 36 s (30 s ± 20 %).
        for i in 0..20 {
            let took = 24.0 + 12.0 * f64::from(i) / 19.0;
            p.observe(t0, secs(t0, took + 0.1), Some(secs(t0, took - 0.1)));
        }
        let median = p.expected_render().unwrap().as_secs_f64();
        assert!((29.0..31.0).contains(&median), "{median}");
        // Nothing can be done before 24 s: no call before then.
        let one = [Followed { accepted: t0, checked: Some(secs(t0, 10.0)) }];
        let first = (p.next_poll(secs(t0, 10.0), None, &one).unwrap() - t0).as_secs_f64();
        assert!((24.0..30.0).contains(&first), "one job: {first}");
        // Ten jobs at the same age: the call comes earlier.
        let ten = [one[0]; 10];
        let sooner = (p.next_poll(secs(t0, 10.0), None, &ten).unwrap() - t0).as_secs_f64();
        assert!(sooner < first && sooner > 22.8, "ten jobs: {sooner} vs {first}");
        // A miss at 27 s: the next call for that job comes within seconds.
        let missed = [Followed { accepted: t0, checked: Some(secs(t0, 27.0)) }];
        let again = (p.next_poll(secs(t0, 27.0), None, &missed).unwrap() - t0).as_secs_f64();
        assert!((27.5..32.0).contains(&again), "{again}");
    }

    #[test]
    fn a_job_never_asked_about_is_due_at_once_and_every_job_within_max_gap() {
        let t0 = Instant::now();
        let p = PollSchedule::new(Duration::from_millis(200), Duration::from_secs(5));
        let fresh = Followed { accepted: t0, checked: None };
        assert_eq!(p.next_poll(t0, None, &[fresh]), Some(t0));
        assert_eq!(
            p.next_poll(t0, Some(t0), &[fresh]),
            Some(t0 + Duration::from_millis(200)),
            "never closer than min_gap"
        );
        // Nothing learnt: the wait grows with the job's age.
        let young = Followed { accepted: t0, checked: Some(secs(t0, 1.0)) };
        let next = (p.next_poll(secs(t0, 1.0), None, &[young]).unwrap() - t0).as_secs_f64();
        let mid = Followed { accepted: t0, checked: Some(secs(t0, 3.0)) };
        let later = (p.next_poll(secs(t0, 3.0), None, &[mid]).unwrap() - t0).as_secs_f64();
        assert!(next - 1.0 > 0.0 && later - 3.0 > 2.0 * (next - 1.0), "{next} {later}");
        let old = Followed { accepted: t0, checked: Some(secs(t0, 100.0)) };
        let next = p.next_poll(secs(t0, 100.0), None, &[old]).unwrap();
        assert_eq!(next, secs(t0, 105.0), "capped by poll.every");
    }

    #[test]
    fn a_first_wave_is_found_at_a_logarithmic_number_of_calls() {
        // Ten jobs accepted together, nothing learnt yet, all taking 30 s:
        // poll as the schedule says until a call lands after 30 s.
        let t0 = Instant::now();
        let p = PollSchedule::new(Duration::from_millis(200), Duration::from_secs(600));
        let mut jobs = [Followed { accepted: t0, checked: None }; 10];
        let (mut now, mut last, mut calls) = (t0, None, 0);
        while (now - t0).as_secs_f64() < 30.0 {
            now = p.next_poll(now, last, &jobs).unwrap();
            last = Some(now);
            calls += 1;
            jobs.iter_mut().for_each(|j| j.checked = Some(now));
        }
        let lag = (now - t0).as_secs_f64() - 30.0;
        // From 0.4 s to 30 s of age at a step of a few percent of the age.
        assert!((30..=60).contains(&calls), "{calls} calls");
        assert!(lag < 1.5, "found {lag:.2} s late");
    }

    #[test]
    fn a_render_far_longer_than_any_seen_is_checked_by_its_age() {
        let t0 = Instant::now();
        let mut p = PollSchedule::new(Duration::from_millis(10), Duration::from_secs(600));
        for _ in 0..10 {
            p.observe(t0, secs(t0, 10.1), Some(secs(t0, 9.9)));
        }
        let tail = Followed { accepted: t0, checked: Some(secs(t0, 25.0)) };
        let next = (p.next_poll(secs(t0, 25.0), None, &[tail]).unwrap() - t0).as_secs_f64();
        // Past every render seen (10 s), it is checked after a fraction of
        // its own age (25 s), not of the usual render.
        assert!((25.2..27.0).contains(&next), "{next}");
    }
}
