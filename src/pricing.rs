//! What a video costs: HeyGen's per-second rates and a length estimate.
//!
//! HeyGen has no estimate endpoint; cost is output seconds times a rate
//! that depends on engine, avatar type and resolution (v3-reference §7).
//! The simulator bills with these rates and `plan` estimates with them, so
//! a plan against the simulator matches what the run is charged.

use crate::heygen::wire::{
    AvatarType, CreateVideoRequest, Engine, GenerateFromTemplate, Resolution, SceneInput,
    StudioScene, TemplateVariable,
};

/// Speaking rate assumed for estimates, words per second at speed 1.0.
pub const WORDS_PER_SECOND: f64 = 2.5;
/// Length assumed for audio reelflow cannot measure (an audio URL).
pub const UNKNOWN_AUDIO_SECS: f64 = 30.0;
/// Cinematic Avatar's flat price per video.
pub const CINEMATIC_USD: f64 = 7.0;
/// Length assumed for a template scene (templates are made in the web
/// editor; their length is not exposed by the API).
pub const TEMPLATE_SCENE_SECS: f64 = 8.0;

/// A published per-second rate table. HeyGen's pricing page exists in two
/// copies that disagree (v3-changes-2026-11.md, "Pricing"); which one is
/// current is unknown, so every estimate names the table it used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateTable {
    /// Short id: `a` or `b`.
    pub id: &'static str,
    /// What the table is.
    pub label: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// Avatar III, per type: (photo, video avatar) at 1080p.
    avatar_iii: (f64, f64),
    /// Avatar III at 4K, when the table has a 4K column.
    avatar_iii_4k: Option<f64>,
    /// Avatar IV and V: (photo, video avatar) at 1080p.
    avatar_iv_v: (f64, f64),
    /// Avatar IV and V at 4K: (photo, video avatar), when priced.
    avatar_iv_v_4k: Option<(f64, f64)>,
}

/// Table A: Avatar IV & V with a 4K column; Avatar III $0.0167/s for every
/// avatar type. reelflow's default (the rates it has always used).
pub const TABLE_A: RateTable = RateTable {
    id: "a",
    label: "pricing page copy A, with 4K column",
    source: "HeyGen API pricing page copy A, undated (v3-changes-2026-11.md)",
    avatar_iii: (0.0167, 0.0167),
    avatar_iii_4k: Some(0.02),
    avatar_iv_v: (0.05, 0.0667),
    avatar_iv_v_4k: Some((0.0667, 0.0833)),
};

/// Table B: no 4K column ("Avatar V supports Digital Twins only"); Avatar
/// III photo $0.0433/s. A third-party catalogue of 2026-08-24 agrees and
/// says 4K has been unavailable on IV/V since June 2026; 4K is estimated
/// at the 1080p rates here.
pub const TABLE_B: RateTable = RateTable {
    id: "b",
    label: "pricing page copy B, no 4K column",
    source: "HeyGen API pricing page copy B, undated; agrees with a third-party catalogue of 2026-08-24 (v3-changes-2026-11.md)",
    avatar_iii: (0.0433, 0.0167),
    avatar_iii_4k: None,
    avatar_iv_v: (0.05, 0.0667),
    avatar_iv_v_4k: None,
};

/// Environment variable choosing the table (`a` or `b`).
pub const TABLE_ENV: &str = "REELFLOW_PRICING_TABLE";

impl RateTable {
    /// USD per output second for one product and resolution.
    pub fn rate(&self, engine: &str, avatar: &AvatarType, resolution: Resolution) -> f64 {
        let four_k = resolution == Resolution::FourK;
        let photo = *avatar == AvatarType::PhotoAvatar;
        let pick = |(p, v): (f64, f64)| if photo { p } else { v };
        match engine {
            "avatar_iii" => match (four_k, self.avatar_iii_4k) {
                (true, Some(r)) => r,
                _ => pick(self.avatar_iii),
            },
            _ => match (four_k, self.avatar_iv_v_4k) {
                (true, Some(r)) => pick(r),
                _ => pick(self.avatar_iv_v),
            },
        }
    }

    /// `a (pricing page copy A, with 4K column)`.
    pub fn short(&self) -> String {
        format!("{} ({})", self.id, self.label)
    }

    /// One line for `plan`.
    pub fn describe(&self) -> String {
        format!("table {} — {}; source: {}", self.id, self.label, self.source)
    }
}

static ACTIVE: std::sync::OnceLock<&'static RateTable> = std::sync::OnceLock::new();

/// The table a setting names (the value of [`TABLE_ENV`]): `b` picks
/// table B, anything else (or nothing) table A.
pub fn table_named(name: Option<&str>) -> &'static RateTable {
    match name {
        Some("b" | "B") => &TABLE_B,
        _ => &TABLE_A,
    }
}

/// Chooses the table estimates use, once per process, before the first
/// estimate (the CLI resolves it from its configuration; the library reads
/// no environment). Returns false when a table was already in use.
pub fn select_table(table: &'static RateTable) -> bool {
    ACTIVE.set(table).is_ok()
}

/// The table estimates use: the one [`select_table`] chose, else table A.
pub fn active_table() -> &'static RateTable {
    ACTIVE.get_or_init(|| &TABLE_A)
}

/// USD per output second for one product and resolution, in the active
/// table.
pub fn rate_per_second(engine: &str, avatar: &AvatarType, resolution: Resolution) -> f64 {
    active_table().rate(engine, avatar, resolution)
}

/// Estimated length of a spoken script in seconds.
pub fn script_seconds(script: &str, speed: Option<f64>) -> f64 {
    let words = word_count(script).max(1) as f64;
    let speed = speed.filter(|s| *s > 0.0).unwrap_or(1.0);
    (words / WORDS_PER_SECOND / speed).max(1.0)
}

/// `split_whitespace().count()`, a byte loop for ASCII text (planning
/// counts every row's script).
fn word_count(s: &str) -> usize {
    if !s.is_ascii() {
        return s.split_whitespace().count();
    }
    // For ASCII, `char::is_whitespace` is exactly 9..=13 and space. A
    // word starts at a non-space that follows a space (or the start).
    let space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let b = s.as_bytes();
    let first = usize::from(b.first().is_some_and(|c| !space(*c)));
    first + b.windows(2).filter(|w| space(w[0]) && !space(w[1])).count()
}

/// An estimate for one request.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    /// Output seconds.
    pub seconds: f64,
    /// USD.
    pub usd: f64,
    /// Part of the length is a guess (audio reelflow cannot measure).
    pub approximate: bool,
}

impl Estimate {
    fn add(&mut self, seconds: f64, rate: f64) {
        self.seconds += seconds;
        self.usd += seconds * rate;
    }
}

/// Estimates a create request. `avatar_type` tells the type of a look id
/// (the catalog knows); unknown looks are priced as studio avatars.
pub fn estimate_create(
    req: &CreateVideoRequest,
    avatar_type: &dyn Fn(&str) -> Option<AvatarType>,
) -> Estimate {
    let res = req.resolution();
    let mut est = Estimate::default();
    let look_type = |id: &str| avatar_type(id).unwrap_or(AvatarType::StudioAvatar);
    let engine_name = |e: Option<&Engine>| e.map(Engine::name).unwrap_or("avatar_iv");
    let speech =
        |est: &mut Estimate, script: Option<&String>, speed: Option<f64>, rate: f64| match script {
            Some(s) => est.add(script_seconds(s, speed), rate),
            None => {
                est.approximate = true;
                est.add(UNKNOWN_AUDIO_SECS, rate);
            }
        };
    match req {
        CreateVideoRequest::Avatar(v) => {
            let rate =
                rate_per_second(engine_name(v.engine.as_ref()), &look_type(&v.avatar_id), res);
            let speed = v.voice_settings.as_ref().and_then(|s| s.speed);
            speech(&mut est, v.script.as_ref(), speed, rate);
        }
        CreateVideoRequest::Image(v) => {
            let rate = rate_per_second("avatar_iv", &AvatarType::PhotoAvatar, res);
            let speed = v.voice_settings.as_ref().and_then(|s| s.speed);
            speech(&mut est, v.script.as_ref(), speed, rate);
        }
        CreateVideoRequest::CinematicAvatar(v) => {
            est.seconds = f64::from(v.duration.unwrap_or(10));
            est.usd = CINEMATIC_USD;
            est.approximate = v.auto_duration == Some(true);
        }
        CreateVideoRequest::Studio(v) => {
            // Scenes without a speaking avatar have no published rate; they
            // are priced at the lowest avatar rate.
            let plain = rate_per_second("avatar_iv", &AvatarType::PhotoAvatar, res);
            for scene in &v.scenes {
                match scene {
                    StudioScene::AvatarVideo { input: SceneInput::Avatar(a) } => {
                        let rate = rate_per_second(
                            engine_name(a.engine.as_ref()),
                            &look_type(&a.avatar_id),
                            res,
                        );
                        let speed = a.voice_settings.as_ref().and_then(|s| s.speed);
                        speech(&mut est, a.script.as_ref(), speed, rate);
                    }
                    StudioScene::Image { duration: Some(d), .. } => est.add(*d, plain),
                    StudioScene::Image { script, voice_settings, .. } => {
                        let speed = voice_settings.as_ref().and_then(|s| s.speed);
                        speech(&mut est, script.as_ref(), speed, plain);
                    }
                    // A voiceover sets the scene's length; without one the
                    // clip's length is unknown offline.
                    StudioScene::Video { script: Some(script), voice_settings, .. } => {
                        let speed = voice_settings.as_ref().and_then(|s| s.speed);
                        speech(&mut est, Some(script), speed, plain);
                    }
                    StudioScene::Video { .. } => {
                        est.approximate = true;
                        est.add(UNKNOWN_AUDIO_SECS, plain);
                    }
                }
            }
        }
    }
    est
}

/// Estimates a template render with `scene_count` scenes.
pub fn estimate_template(req: &GenerateFromTemplate, scene_count: usize) -> Estimate {
    let scenes = req.scene_ids.as_ref().map_or(scene_count, Vec::len).max(1);
    let text: usize = req
        .variables
        .values()
        .map(|v| match v {
            TemplateVariable::Text { content } => content.split_whitespace().count(),
            _ => 0,
        })
        .sum();
    let seconds = scenes as f64 * TEMPLATE_SCENE_SECS + text as f64 / WORDS_PER_SECOND;
    let rate = rate_per_second("avatar_iv", &AvatarType::StudioAvatar, Resolution::P1080);
    Estimate { seconds, usd: seconds * rate, approximate: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_counted_as_split_whitespace_counts_them() {
        for s in [
            "",
            " ",
            "a",
            " a ",
            "a b",
            "a\x0bb\x0cc\r\nd",
            "\ta  b\n",
            "a\x1fb",
            "é a",
            "a\u{a0}b",
            "x\u{3000}y z",
        ] {
            assert_eq!(word_count(s), s.split_whitespace().count(), "{s:?}");
        }
    }

    use crate::heygen::wire::AvatarVideo;

    #[test]
    fn rates_follow_the_pricing_page() {
        assert_eq!(rate_per_second("avatar_iv", &AvatarType::PhotoAvatar, Resolution::P1080), 0.05);
        assert_eq!(
            rate_per_second("avatar_v", &AvatarType::DigitalTwin, Resolution::FourK),
            0.0833
        );
        assert_eq!(
            rate_per_second("avatar_iii", &AvatarType::StudioAvatar, Resolution::P720),
            0.0167
        );
    }

    #[test]
    fn the_two_published_tables_differ_where_the_copies_do() {
        let photo = AvatarType::PhotoAvatar;
        assert_eq!(TABLE_A.rate("avatar_iii", &photo, Resolution::P1080), 0.0167);
        assert_eq!(TABLE_B.rate("avatar_iii", &photo, Resolution::P1080), 0.0433);
        assert_eq!(TABLE_A.rate("avatar_iv", &photo, Resolution::FourK), 0.0667);
        assert_eq!(TABLE_B.rate("avatar_iv", &photo, Resolution::FourK), 0.05);
        assert!(TABLE_B.describe().contains("no 4K column"));
    }

    #[test]
    fn a_25_word_script_at_speed_1_25_is_8_seconds() {
        let req = CreateVideoRequest::Avatar(AvatarVideo {
            avatar_id: "look".into(),
            script: Some("word ".repeat(25)),
            voice_settings: Some(crate::heygen::wire::VoiceSettings {
                speed: Some(1.25),
                ..Default::default()
            }),
            ..Default::default()
        });
        let est = estimate_create(&req, &|_| Some(AvatarType::DigitalTwin));
        assert!((est.seconds - 8.0).abs() < 1e-9);
        assert!((est.usd - 8.0 * 0.0667).abs() < 1e-9);
        assert!(!est.approximate);
    }
}
