//! The simulator's notion of time.
//!
//! Everything time-dependent in the simulator (render progress, the job
//! cap's `Retry-After`, media URL expiry, the idempotency window, injected
//! delays) reads a [`Clock`] it is given. The wall clock is the default; a
//! scaled clock runs K times faster than real time so a benchmark can
//! shrink 30 s renders without changing their ratios; a manual clock only
//! moves when a test advances it, so tests await conditions instead of
//! sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Seconds since the Unix epoch by the system clock.
pub fn wall_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A source of time for the simulator. Cheap to clone; clones share time.
#[derive(Clone, Default)]
pub struct Clock(Kind);

#[derive(Clone, Default)]
enum Kind {
    #[default]
    Wall,
    Scaled {
        /// Simulated Unix time when the clock was made.
        origin: f64,
        /// The real instant it was made.
        started: Instant,
        /// Simulated seconds per real second.
        factor: f64,
    },
    Manual(Arc<watch::Sender<f64>>),
}

impl Clock {
    /// Real time.
    pub fn wall() -> Clock {
        Clock(Kind::Wall)
    }

    /// Starts at the current Unix time and runs `factor` times faster than
    /// real time (a 30 s render takes 1 s at 30×). A factor that is not a
    /// positive number gives the wall clock.
    pub fn scaled(factor: f64) -> Clock {
        if !(factor.is_finite() && factor > 0.0) || factor == 1.0 {
            return Clock::wall();
        }
        Clock(Kind::Scaled { origin: wall_now(), started: Instant::now(), factor })
    }

    /// Stands still at `start` (Unix seconds) until [`Clock::advance`] or
    /// [`Clock::set`] moves it.
    pub fn manual(start: f64) -> Clock {
        Clock(Kind::Manual(Arc::new(watch::Sender::new(start))))
    }

    /// Simulated seconds since the Unix epoch.
    pub fn now(&self) -> f64 {
        match &self.0 {
            Kind::Wall => wall_now(),
            Kind::Scaled { origin, started, factor } => {
                origin + started.elapsed().as_secs_f64() * factor
            }
            Kind::Manual(tx) => *tx.borrow(),
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self.0, Kind::Manual(_))
    }

    /// How many [`Clock::sleep`]s are waiting on a manual clock (0 for the
    /// others), so a test can wait until a request is held before it
    /// advances time.
    pub fn sleepers(&self) -> usize {
        match &self.0 {
            Kind::Manual(tx) => tx.receiver_count(),
            _ => 0,
        }
    }

    /// Moves a manual clock forward by `secs` (waking sleepers whose time
    /// has come). Does nothing to the wall or a scaled clock.
    pub fn advance(&self, secs: f64) {
        if let Kind::Manual(tx) = &self.0 {
            tx.send_modify(|t| *t += secs.max(0.0));
        }
    }

    /// Sets a manual clock to `at` (Unix seconds; never backwards). Does
    /// nothing to the wall or a scaled clock.
    pub fn set(&self, at: f64) {
        if let Kind::Manual(tx) = &self.0 {
            tx.send_modify(|t| *t = t.max(at));
        }
    }

    /// Waits `secs` of this clock's time: real seconds ÷ factor for a
    /// scaled clock, until the clock has been advanced that far for a
    /// manual one.
    pub async fn sleep(&self, secs: f64) {
        if secs.is_nan() || secs <= 0.0 {
            return;
        }
        match &self.0 {
            Kind::Wall => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
            Kind::Scaled { factor, .. } => {
                tokio::time::sleep(Duration::from_secs_f64(secs / factor)).await
            }
            Kind::Manual(tx) => {
                let mut rx = tx.subscribe();
                let deadline = *rx.borrow() + secs;
                // Err means every handle to the clock is gone: nothing can
                // advance it any more, so stop waiting.
                let _ = rx.wait_for(|t| *t >= deadline).await;
            }
        }
    }

    /// Real seconds a client waits for `secs` of this clock's time: what a
    /// `Retry-After` header must say for a client that sleeps in real time.
    /// A manual clock's seconds are passed through (the test decides).
    pub fn real_secs(&self, secs: f64) -> f64 {
        match &self.0 {
            Kind::Scaled { factor, .. } => secs / factor,
            _ => secs,
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Wall => f.write_str("Clock::Wall"),
            Kind::Scaled { factor, .. } => write!(f, "Clock::Scaled({factor}x)"),
            Kind::Manual(tx) => write!(f, "Clock::Manual({})", *tx.borrow()),
        }
    }
}

impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Kind::Wall, Kind::Wall) => true,
            (
                Kind::Scaled { factor: a, started: s, .. },
                Kind::Scaled { factor: b, started: t, .. },
            ) => a == b && s == t,
            (Kind::Manual(a), Kind::Manual(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_advanced_and_wakes_sleepers() {
        let clock = Clock::manual(1000.0);
        assert_eq!(clock.now(), 1000.0);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock.sleep(5.0).await;
                clock.now()
            }
        });
        while clock.sleepers() == 0 {
            tokio::task::yield_now().await;
        }
        clock.advance(3.0);
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "3 of 5 seconds passed");
        clock.advance(2.5);
        assert_eq!(sleeper.await.unwrap(), 1005.5);
        clock.set(10.0);
        assert_eq!(clock.now(), 1005.5, "never backwards");
    }

    #[test]
    fn a_scaled_clock_converts_waits_to_real_time() {
        let clock = Clock::scaled(30.0);
        assert_eq!(clock.real_secs(60.0), 2.0);
        assert!((clock.now() - wall_now()).abs() < 1.0);
        assert_eq!(Clock::scaled(0.0), Clock::wall(), "a bad factor is the wall clock");
        assert_eq!(Clock::wall().real_secs(7.0), 7.0);
    }
}
