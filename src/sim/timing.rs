//! How long things take in the simulator: render times with variance and
//! a heavy tail, and slow or hung responses per endpoint class. Every
//! choice is a pure function of the seed and a name, so runs repeat.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The shape of render times around `render_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenderTimes {
    /// Mean render time, seconds.
    pub mean_secs: f64,
    /// Uniform spread: `mean × (1 ± jitter)`. Ignored when `sigma` > 0.
    pub jitter: f64,
    /// Log-normal spread: `mean × exp(σ·Z − σ²/2)` (the mean is kept).
    pub sigma: f64,
    /// Share of renders in the heavy tail.
    pub tail_rate: f64,
    /// A tail render takes this multiple of the mean (3 = three times).
    pub tail_factor: f64,
}

impl RenderTimes {
    /// The render time of the video named `name` (its id), from three
    /// uniform draws in [0, 1) derived from it.
    pub fn pick(&self, draw: impl Fn(&str) -> f64) -> f64 {
        let tail = self.tail_rate > 0.0 && draw("tail") < self.tail_rate;
        let secs = if tail {
            self.mean_secs * self.tail_factor
        } else if self.sigma > 0.0 {
            // Box–Muller from two draws; 1 − u keeps ln away from 0.
            let (u1, u2) = (1.0 - draw("z1"), draw("z2"));
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            self.mean_secs * (self.sigma * z - self.sigma * self.sigma / 2.0).exp()
        } else {
            self.mean_secs * (1.0 + self.jitter * (2.0 * draw("jitter") - 1.0))
        };
        secs.max(0.0)
    }
}

/// Which kind of endpoint a request is for, so delays can differ per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointClass {
    /// `POST /v3/videos`, `POST /v3/templates/{id}`.
    Create,
    /// `GET /v3/videos/statuses`.
    Statuses,
    /// `GET /v3/videos/{id}`.
    Detail,
    /// `GET` of a collection: `/v3/videos`, `/v3/avatars`, `/v3/voices`…
    List,
    /// Media files (the presigned video URLs and their siblings).
    Media,
    /// Everything else under `/v3/`.
    Other,
}

impl EndpointClass {
    /// Every class, in the order `all=` sets them.
    pub const ALL: [EndpointClass; 6] =
        [Self::Create, Self::Statuses, Self::Detail, Self::List, Self::Media, Self::Other];

    /// The class of a request.
    pub fn of(method: &str, path: &str) -> EndpointClass {
        if path.starts_with("/_sim/media/") {
            return Self::Media;
        }
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let post = method.eq_ignore_ascii_case("POST");
        let get = method.eq_ignore_ascii_case("GET");
        match parts.as_slice() {
            ["", "v3", "videos"] if post => Self::Create,
            ["", "v3", "templates", _] if post => Self::Create,
            ["", "v3", "videos", "statuses"] if get => Self::Statuses,
            ["", "v3", "videos", _] if get => Self::Detail,
            ["", "v3", _] if get => Self::List,
            ["", "v3", "avatars", "looks"] if get => Self::List,
            _ => Self::Other,
        }
    }

    /// The name used in flags and counters.
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Statuses => "statuses",
            Self::Detail => "detail",
            Self::List => "list",
            Self::Media => "media",
            Self::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EndpointClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A share of responses held back before they are processed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Delay {
    /// Share of requests delayed, 0–1.
    pub rate: f64,
    /// How long, seconds of the simulator's clock.
    pub secs: f64,
}

/// Delays per endpoint class (none by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Delays([Delay; 6]);

impl Delays {
    /// The delay of a class.
    pub fn get(&self, class: EndpointClass) -> Delay {
        self.0[class.index()]
    }

    /// Sets the delay of a class.
    pub fn set(&mut self, class: EndpointClass, delay: Delay) {
        self.0[class.index()] = delay;
    }

    /// Whether any class is delayed.
    pub fn any(&self) -> bool {
        self.0.iter().any(|d| d.rate > 0.0 && d.secs > 0.0)
    }

    /// Parses `CLASS=RATE:SECS` items separated by commas or spaces, later
    /// items overriding earlier ones: `all=3%:120`, `statuses=0.05:30,create=0.01:120`.
    /// RATE is a fraction or a percentage; SECS may end in `s`.
    pub fn parse_into(&mut self, spec: &str) -> Result<(), DelaySpecError> {
        for item in spec.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let bad = |problem| DelaySpecError { item: item.to_owned(), problem };
            let (class, rest) = item.split_once('=').ok_or_else(|| bad(DelayProblem::Form))?;
            let (rate, secs) = rest.split_once(':').ok_or_else(|| bad(DelayProblem::Form))?;
            let rate = match rate.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
                None => rate.trim().parse::<f64>(),
            }
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| bad(DelayProblem::Rate))?;
            let secs = secs
                .trim()
                .trim_end_matches('s')
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| bad(DelayProblem::Secs))?;
            let delay = Delay { rate, secs };
            match class.trim().to_ascii_lowercase().as_str() {
                "all" => EndpointClass::ALL.iter().for_each(|&c| self.set(c, delay)),
                name => {
                    let c = EndpointClass::ALL
                        .into_iter()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| bad(DelayProblem::UnknownClass(name.to_owned())))?;
                    self.set(c, delay);
                }
            }
        }
        Ok(())
    }

    /// [`Delays::parse_into`] from nothing.
    pub fn parse(spec: &str) -> Result<Delays, DelaySpecError> {
        let mut d = Delays::default();
        d.parse_into(spec)?;
        Ok(d)
    }

    /// Whether the `n`-th request of `class` is delayed, and for how long,
    /// from a uniform draw derived from class and `n`.
    pub fn pick(&self, class: EndpointClass, n: u64, draw: impl Fn(&str) -> f64) -> Option<f64> {
        let d = self.get(class);
        (d.rate > 0.0 && d.secs > 0.0 && draw(&format!("delay/{class}/{n}")) < d.rate)
            .then_some(d.secs)
    }
}

const FORM: &str = "expected CLASS=RATE:SECS, e.g. all=3%:120 or statuses=0.05:30 \
                    (classes: create, statuses, detail, list, media, other, all)";

/// An item of a delay spec ([`Delays::parse`]) that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("'{item}': {problem}")]
pub struct DelaySpecError {
    /// The item as written.
    pub item: String,
    /// What is wrong with it.
    pub problem: DelayProblem,
}

/// What is wrong with a delay spec item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DelayProblem {
    /// Not `CLASS=RATE:SECS`.
    #[error("{FORM}")]
    Form,
    /// The rate is not a fraction or percentage in range.
    #[error("the rate must be between 0 and 1 (or 0% and 100%)")]
    Rate,
    /// The delay is not a number of seconds ≥ 0.
    #[error("the delay must be a number of seconds ≥ 0")]
    Secs,
    /// No endpoint class has this name.
    #[error("unknown class '{0}'; {FORM}")]
    UnknownClass(String),
}

/// A uniform number in [0, 1) derived from a seed and a name.
pub fn unit_hash(s: &str, seed: u64) -> f64 {
    let h = blake3::hash(format!("{seed}/{s}").as_bytes());
    let n = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]));
    (n >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(jitter: f64, sigma: f64, tail_rate: f64) -> RenderTimes {
        RenderTimes { mean_secs: 10.0, jitter, sigma, tail_rate, tail_factor: 3.0 }
    }

    fn sample(t: RenderTimes, n: usize) -> Vec<f64> {
        (0..n).map(|i| t.pick(|what| unit_hash(&format!("v{i}/{what}"), 7))).collect()
    }

    #[test]
    fn jitter_stays_in_its_band_and_is_repeatable() {
        let s = sample(times(0.2, 0.0, 0.0), 2000);
        assert!(s.iter().all(|&x| (8.0..=12.0).contains(&x)));
        assert_eq!(s, sample(times(0.2, 0.0, 0.0), 2000));
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        assert!((mean - 10.0).abs() < 0.2, "{mean}");
    }

    #[test]
    fn the_tail_takes_its_share_at_its_multiple() {
        let s = sample(times(0.2, 0.0, 0.05), 4000);
        let tail = s.iter().filter(|&&x| x == 30.0).count();
        assert!((150..250).contains(&tail), "about 5 % of 4000: {tail}");
        assert!(s.iter().all(|&x| x == 30.0 || (8.0..=12.0).contains(&x)));
    }

    #[test]
    fn log_normal_keeps_the_mean_with_a_long_right_tail() {
        let s = sample(times(0.0, 0.5, 0.0), 20_000);
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        assert!((mean - 10.0).abs() < 0.3, "{mean}");
        let over_2x = s.iter().filter(|&&x| x > 20.0).count() as f64 / s.len() as f64;
        // P(exp(0.5 Z − 0.125) > 2) = P(Z > 1.636) ≈ 5.1 %.
        assert!((0.04..0.065).contains(&over_2x), "{over_2x}");
    }

    #[test]
    fn endpoint_classes() {
        let cases = [
            ("POST", "/v3/videos", EndpointClass::Create),
            ("POST", "/v3/templates/tpl_1", EndpointClass::Create),
            ("GET", "/v3/videos/statuses", EndpointClass::Statuses),
            ("GET", "/v3/videos/v_1", EndpointClass::Detail),
            ("GET", "/v3/videos", EndpointClass::List),
            ("GET", "/v3/avatars/looks", EndpointClass::List),
            ("GET", "/v3/voices", EndpointClass::List),
            ("GET", "/_sim/media/v_1.mp4", EndpointClass::Media),
            ("GET", "/v3/users/me", EndpointClass::Other),
            ("DELETE", "/v3/videos/v_1", EndpointClass::Other),
        ];
        for (m, p, want) in cases {
            assert_eq!(EndpointClass::of(m, p), want, "{m} {p}");
        }
    }

    #[test]
    fn delay_specs_parse_and_explain_mistakes() {
        let d = Delays::parse("all=3%:120, create=0.5:2s").unwrap();
        assert_eq!(d.get(EndpointClass::Statuses), Delay { rate: 0.03, secs: 120.0 });
        assert_eq!(d.get(EndpointClass::Create), Delay { rate: 0.5, secs: 2.0 });
        for (bad, problem) in [
            ("statuses", DelayProblem::Form),
            ("statuses=0.1", DelayProblem::Form),
            ("status=0.1:3", DelayProblem::UnknownClass("status".into())),
            ("list=1.5:3", DelayProblem::Rate),
            ("list=0.1:-1", DelayProblem::Secs),
        ] {
            let e = Delays::parse(bad).unwrap_err();
            assert_eq!(e, DelaySpecError { item: bad.into(), problem }, "{e}");
            assert!(e.to_string().starts_with(&format!("'{bad}': ")), "{e}");
        }
    }

    #[test]
    fn delays_hit_their_share_deterministically() {
        let d = Delays::parse("statuses=0.03:120").unwrap();
        let hits = |seed| {
            (0..10_000)
                .filter(|&n| d.pick(EndpointClass::Statuses, n, |s| unit_hash(s, seed)).is_some())
                .count()
        };
        let n = hits(7);
        assert!((240..360).contains(&n), "{n}");
        assert_eq!(n, hits(7));
        assert_eq!(
            d.pick(EndpointClass::Detail, 0, |_| 0.0),
            None,
            "other classes are not delayed"
        );
    }
}
