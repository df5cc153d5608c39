//! The simulator's deterministic catalog: avatar groups and their looks,
//! voices and templates. The same on every run and for every key, so that
//! example manifests validate against it and tests can name ids.

use serde_json::{Map, Value, json};

use crate::heygen::wire::{
    AvatarGroup, AvatarLook, AvatarType, TemplateDetail, TemplateScene, TemplateSceneVariable,
    TemplateSummary, Voice,
};

/// Everything the simulator can list.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Avatar groups, public first.
    pub groups: Vec<AvatarGroup>,
    /// Looks, in group order.
    pub looks: Vec<AvatarLook>,
    /// Voices, public first.
    pub voices: Vec<Voice>,
    /// Templates.
    pub templates: Vec<TemplateDetail>,
}

/// Created-at of everything in the catalog (2024-11-25).
const CATALOG_EPOCH: i64 = 1_732_492_800;

/// The voice HeyGen's docs use in examples: Sara, English.
pub const SARA_VOICE_ID: &str = "1bd001e7e50f421d891986aad5c8bbd2";

/// The voice id of the KosmoKrator seed examples.
pub const SEED_EXAMPLE_VOICE_ID: &str = "voice-xyz789";

/// The video id of the KosmoKrator seed examples; every simulated account
/// has this finished video.
pub const SEED_EXAMPLE_VIDEO_ID: &str = "abc123";

struct GroupSpec {
    name: &'static str,
    gender: &'static str,
    kind: AvatarType,
    private: bool,
    /// (pose, engines, status) per look.
    looks: &'static [(&'static str, &'static [&'static str], Option<&'static str>)],
}

const STUDIO: &[&str] = &["avatar_iv", "avatar_iii"];
const STUDIO_V: &[&str] = &["avatar_v", "avatar_iv", "avatar_iii"];
const PHOTO: &[&str] = &["avatar_iv", "avatar_v"];
// The spelling the April spec and docs examples use for Avatar IV.
const PHOTO_LEGACY: &[&str] = &["avatar_4_quality", "avatar_4_turbo"];
const TWIN: &[&str] = &["avatar_v", "avatar_iv", "avatar_iii"];

const STOCK_POSES: &[(&str, &[&str], Option<&str>)] = &[
    ("expressive_2024112501", STUDIO_V, None),
    ("sitting_2024112502", STUDIO, None),
    ("standing_office_2024112503", STUDIO_V, None),
    ("casual_2024112504", STUDIO, None),
    ("lobby_2024112505", STUDIO, None),
    ("walking_2024112506", STUDIO_V, None),
];

const GROUPS: &[GroupSpec] = &[
    GroupSpec {
        name: "Abigail",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Brandon",
        gender: "male",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Daphne",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Kenji",
        gender: "male",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Marisol",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Oskar",
        gender: "male",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Priya",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Tomas",
        gender: "male",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Amara",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Lucas",
        gender: "male",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: STOCK_POSES,
    },
    GroupSpec {
        name: "Maya",
        gender: "female",
        kind: AvatarType::PhotoAvatar,
        private: false,
        looks: &[
            ("photo_front_2025010101", PHOTO, None),
            ("photo_smile_2025010102", PHOTO_LEGACY, None),
        ],
    },
    GroupSpec {
        name: "Leo",
        gender: "male",
        kind: AvatarType::PhotoAvatar,
        private: false,
        looks: &[("photo_front_2025010201", PHOTO, None), ("photo_studio_2025010202", PHOTO, None)],
    },
    // The ids the KosmoKrator seed examples use, so they run unchanged.
    GroupSpec {
        name: "Seed_Example",
        gender: "female",
        kind: AvatarType::StudioAvatar,
        private: false,
        looks: &[("avatar-abc123", STUDIO, None)],
    },
    GroupSpec {
        name: "Acme_CEO",
        gender: "female",
        kind: AvatarType::DigitalTwin,
        private: true,
        looks: &[
            ("twin_office_2025030101", TWIN, None),
            ("twin_keynote_2025030102", TWIN, None),
            ("twin_new_hair_2025030103", TWIN, Some("processing")),
        ],
    },
];

const VOICE_NAMES: &[(&str, &str)] = &[
    ("Sara", "female"),
    ("Paul", "male"),
    ("Ivy", "female"),
    ("Noah", "male"),
    ("Grace", "female"),
    ("Ethan", "male"),
    ("Chloe", "female"),
    ("Mason", "male"),
    ("Lily", "female"),
    ("Owen", "male"),
    ("Zoe", "female"),
    ("Liam", "male"),
    ("Ava", "female"),
    ("Jack", "male"),
    ("Mia", "female"),
    ("Ryan", "male"),
];

const LANGUAGES: &[(&str, &str, usize)] = &[
    ("English", "en", 16),
    ("Spanish", "es", 16),
    ("German", "de", 16),
    ("French", "fr", 16),
    ("Portuguese", "pt", 12),
    ("Japanese", "ja", 12),
    ("Hindi", "hi", 8),
    ("Italian", "it", 8),
];

/// `standing_office_2024112503` → `standing office`.
fn pose_name(pose: &str) -> String {
    pose.split('_').filter(|w| !w.chars().all(|c| c.is_ascii_digit())).collect::<Vec<_>>().join(" ")
}

/// A stable 32-hex id from a seed string, like HeyGen's voice ids.
fn hex_id(seed: &str, len: usize) -> String {
    let hash = blake3::hash(seed.as_bytes());
    hash.to_hex()[..len].to_owned()
}

fn files(path: &str) -> String {
    format!("https://files.sim.reelflow.local/{path}")
}

impl Catalog {
    /// Builds the catalog.
    pub fn build() -> Catalog {
        let voices = build_voices();
        let default_voice = |gender: &str| {
            voices
                .iter()
                .find(|v| v.language == "English" && v.gender == gender && v.kind == "public")
                .map(|v| v.voice_id.clone())
        };
        let mut groups = Vec::new();
        let mut looks = Vec::new();
        for (gi, spec) in GROUPS.iter().enumerate() {
            let group_id = format!("ag_{}", hex_id(spec.name, 12));
            let voice = default_voice(spec.gender);
            for (pose, engines, status) in spec.looks {
                let id = if pose.starts_with("avatar-") {
                    (*pose).to_owned()
                } else {
                    format!("{}_{}", spec.name, pose)
                };
                let landscape = !pose.starts_with("photo");
                looks.push(AvatarLook {
                    name: format!("{} {}", spec.name.replace('_', " "), pose_name(pose)),
                    avatar_type: spec.kind.clone(),
                    group_id: Some(group_id.clone()),
                    preview_image_url: Some(files(&format!("look/{id}.jpg"))),
                    preview_video_url: Some(files(&format!("look/{id}.mp4"))),
                    gender: Some(spec.gender.into()),
                    tags: vec![if spec.private { "private".into() } else { "stock".into() }],
                    default_voice_id: voice.clone(),
                    supported_api_engines: engines.iter().map(|e| (*e).to_owned()).collect(),
                    image_width: Some(if landscape { 1920 } else { 1080 }),
                    image_height: Some(if landscape { 1080 } else { 1350 }),
                    preferred_orientation: Some(
                        if landscape { "landscape" } else { "portrait" }.into(),
                    ),
                    status: if spec.private {
                        Some(status.unwrap_or("completed").into())
                    } else {
                        None
                    },
                    error: None,
                    extra: Map::new(),
                    id,
                });
            }
            groups.push(AvatarGroup {
                id: group_id,
                name: spec.name.replace('_', " "),
                created_at: CATALOG_EPOCH + gi as i64 * 86_400,
                looks_count: spec.looks.len() as u32,
                preview_image_url: Some(files(&format!("group/{}.jpg", spec.name))),
                preview_video_url: None,
                gender: Some(spec.gender.into()),
                default_voice_id: voice,
                consent_status: if spec.private { Some("approved".into()) } else { None },
                status: if spec.private { Some("completed".into()) } else { None },
                error: None,
                extra: Map::new(),
            });
        }
        Catalog { groups, looks, voices, templates: build_templates() }
    }

    /// Whether a group is private (has private looks).
    pub fn group_is_private(&self, group: &AvatarGroup) -> bool {
        group.status.is_some()
    }

    /// The look with this id.
    pub fn look(&self, id: &str) -> Option<&AvatarLook> {
        self.looks.iter().find(|l| l.id == id)
    }

    /// The voice with this id.
    pub fn voice(&self, id: &str) -> Option<&Voice> {
        self.voices.iter().find(|v| v.voice_id == id)
    }

    /// The template with this id.
    pub fn template(&self, id: &str) -> Option<&TemplateDetail> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// Template summaries for the list endpoint.
    pub fn template_summaries(&self) -> Vec<TemplateSummary> {
        self.templates
            .iter()
            .map(|t| TemplateSummary {
                id: t.id.clone(),
                name: t.name.clone(),
                thumbnail_url: t.thumbnail_url.clone(),
                aspect_ratio: t.aspect_ratio.clone(),
                created_at: t.created_at,
                updated_at: t.updated_at,
                extra: Map::new(),
            })
            .collect()
    }
}

fn build_voices() -> Vec<Voice> {
    let mut voices = Vec::new();
    for (lang, code, count) in LANGUAGES {
        for (name, gender) in VOICE_NAMES.iter().take(*count) {
            let voice_id = if *lang == "English" && *name == "Sara" {
                SARA_VOICE_ID.to_owned()
            } else {
                hex_id(&format!("voice/{lang}/{name}"), 32)
            };
            voices.push(Voice {
                voice_id,
                name: if *lang == "English" {
                    (*name).to_owned()
                } else {
                    format!("{name} ({code})")
                },
                language: (*lang).to_owned(),
                gender: (*gender).to_owned(),
                preview_audio_url: Some(files(&format!(
                    "voice/{code}/{}.mp3",
                    name.to_lowercase()
                ))),
                support_pause: *lang != "Hindi",
                support_locale: matches!(*lang, "English" | "Spanish" | "Portuguese" | "French"),
                kind: "public".into(),
                extra: Map::new(),
            });
        }
    }
    // The voice id the KosmoKrator seed examples use.
    voices.push(Voice {
        voice_id: SEED_EXAMPLE_VOICE_ID.to_owned(),
        name: "Seed example voice".into(),
        language: "English".into(),
        gender: "female".into(),
        preview_audio_url: Some(files("voice/en/seed-example.mp3")),
        support_pause: true,
        support_locale: false,
        kind: "public".into(),
        extra: Map::new(),
    });
    for (name, gender) in [("Acme CEO clone", "female"), ("Narrator clone", "male")] {
        voices.push(Voice {
            voice_id: hex_id(&format!("voice/private/{name}"), 32),
            name: name.into(),
            language: "English".into(),
            gender: gender.into(),
            preview_audio_url: None,
            support_pause: true,
            support_locale: false,
            kind: "private".into(),
            extra: Map::new(),
        });
    }
    voices
}

/// (scene id, script, [(variable, type)]).
type SceneSpec<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn template(
    id: &str,
    name: &str,
    aspect: &str,
    day: i64,
    variables: Value,
    scenes: &[SceneSpec<'_>],
) -> TemplateDetail {
    let Value::Object(variables) = variables else {
        unreachable!("template variables are an object")
    };
    TemplateDetail {
        id: id.into(),
        name: name.into(),
        thumbnail_url: Some(files(&format!("template/{id}.jpg"))),
        aspect_ratio: Some(aspect.into()),
        created_at: Some(CATALOG_EPOCH + day * 86_400),
        updated_at: Some(CATALOG_EPOCH + (day + 3) * 86_400),
        variables,
        scene_ids: scenes.iter().map(|(s, _, _)| (*s).to_owned()).collect(),
        scenes: scenes
            .iter()
            .map(|(scene_id, script, vars)| TemplateScene {
                scene_id: (*scene_id).into(),
                script: Some((*script).into()),
                variables: vars
                    .iter()
                    .map(|(n, t)| TemplateSceneVariable {
                        name: (*n).into(),
                        variable_type: (*t).into(),
                    })
                    .collect(),
            })
            .collect(),
        extra: Map::new(),
    }
}

fn build_templates() -> Vec<TemplateDetail> {
    vec![
        template(
            "tpl_welcome_16x9",
            "Customer welcome (16:9)",
            "16:9",
            10,
            json!({
                "first_name": {"type": "text", "content": "there"},
                "company": {"type": "text", "content": "your company"},
                "logo": {"type": "image", "asset": {"type": "url", "url": files("template/acme-logo.png")}, "fit": "contain"},
            }),
            &[
                ("scene_intro", "Hi {{first_name}}, welcome aboard!", &[("first_name", "text")]),
                (
                    "scene_company",
                    "Everyone at {{company}} is glad you're here.",
                    &[("company", "text"), ("logo", "image")],
                ),
            ],
        ),
        template(
            "tpl_promo_9x16",
            "Product promo (9:16)",
            "9:16",
            20,
            json!({
                "headline": {"type": "text", "content": "Meet the new thing"},
                "product_image": {"type": "image", "asset": {"type": "url", "url": files("template/product.png")}},
                "cta": {"type": "text", "content": "Try it today"},
                "presenter": {"type": "character", "character_id": "Maya_photo_front_2025010101", "character_type": "avatar"},
            }),
            &[
                ("scene_hook", "{{headline}}", &[("headline", "text"), ("presenter", "character")]),
                ("scene_product", "Here it is.", &[("product_image", "image")]),
                ("scene_cta", "{{cta}}", &[("cta", "text")]),
            ],
        ),
        template(
            "tpl_renewal_16x9",
            "Renewal reminder (16:9)",
            "16:9",
            30,
            json!({
                "customer_name": {"type": "text", "content": "Customer"},
                "renewal_date": {"type": "text", "content": "soon"},
                "narrator": {"type": "voice", "voice_id": SARA_VOICE_ID},
            }),
            &[(
                "scene_main",
                "{{customer_name}}, your plan renews on {{renewal_date}}.",
                &[("customer_name", "text"), ("renewal_date", "text"), ("narrator", "voice")],
            )],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_large_enough_to_page_and_ids_are_unique() {
        let c = Catalog::build();
        assert!(c.looks.len() > 50, "looks must span several pages of 50");
        assert!(c.voices.len() > 100, "voices must span several pages of 100");
        let mut ids: Vec<&str> = c.looks.iter().map(|l| l.id.as_str()).collect();
        ids.extend(c.voices.iter().map(|v| v.voice_id.as_str()));
        ids.extend(c.groups.iter().map(|g| g.id.as_str()));
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(c.look("Abigail_expressive_2024112501").is_some());
        assert_eq!(c.voice(SARA_VOICE_ID).map(|v| v.name.as_str()), Some("Sara"));
    }
}
