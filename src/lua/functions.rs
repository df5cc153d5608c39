//! The seven functions as data: names, parameters, limits, descriptions
//! and examples. The Lua bindings validate calls against these definitions
//! and `lua_read_doc` / `reelflow doc` render them, so docs and behaviour
//! cannot drift apart.

use crate::integration::MAX_LIMIT;

/// A parameter's type and limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// An integer in `min..=max`.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// A string.
    String,
    /// A Lua array table.
    Array,
    /// A Lua table with named fields.
    Object,
    /// `true` or `false`.
    Boolean,
}

impl ParamKind {
    /// The name the docs use.
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Integer { .. } => "integer",
            ParamKind::String => "string",
            ParamKind::Array => "array",
            ParamKind::Object => "object",
            ParamKind::Boolean => "boolean",
        }
    }
}

/// One parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamDef {
    /// Name.
    pub name: &'static str,
    /// Type and limits.
    pub kind: ParamKind,
    /// Must be given.
    pub required: bool,
    /// What it does.
    pub description: &'static str,
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Reads only.
    Read,
    /// Creates something (and may spend credit).
    Write,
}

/// One function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunctionDef {
    /// Name (`list_videos`); also callable as `heygen_<name>`.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The longer description of the seed's "Functions" section.
    pub description: &'static str,
    /// Read or write.
    pub operation: Operation,
    /// Parameters.
    pub params: &'static [ParamDef],
    /// How the seed's shapes map onto HeyGen v3.
    pub v3_mapping: &'static str,
    /// Lua examples, exactly as the seed documents them.
    pub examples: &'static [&'static str],
}

const LIMIT_10: ParamDef = ParamDef {
    name: "limit",
    kind: ParamKind::Integer { min: 1, max: MAX_LIMIT },
    required: false,
    description: "Maximum number of videos to return (default: 10, max: 100)",
};
const OFFSET: ParamDef = ParamDef {
    name: "offset",
    kind: ParamKind::Integer { min: 0, max: i64::MAX },
    required: false,
    description: "Number of videos to skip for pagination (default: 0)",
};

/// The seven functions of `app.integrations.heygen`.
pub const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        name: "list_videos",
        summary: "List generated videos with pagination.",
        description: "List generated videos from HeyGen. Returns video IDs, statuses, and metadata. Use limit and offset for pagination.",
        operation: Operation::Read,
        params: &[LIMIT_10, OFFSET],
        v3_mapping: "`GET /v3/videos` pages with cursors; `offset` is emulated by walking pages. `result.data.videos[i]` has the seed's `video_id` and every v3 video field (`id`, `status`, `title`, `video_url`, `duration`, …). `result.data.has_more` says whether more follow.",
        examples: &["-- List recent videos
local result = app.integrations.heygen.list_videos({
  limit = 10,
  offset = 0
})

for _, video in ipairs(result.data.videos) do
  print(video.video_id .. \": \" .. video.status)
end"],
    },
    FunctionDef {
        name: "get_video",
        summary: "Get the status and details of a specific video.",
        description: "Get the status and details of a specific HeyGen video. Returns the video status (pending, processing, completed, failed), download URL when ready, and metadata.",
        operation: Operation::Read,
        params: &[ParamDef {
            name: "video_id",
            kind: ParamKind::String,
            required: true,
            description: "The unique identifier of the video",
        }],
        v3_mapping: "`GET /v3/videos/{id}`. `result.data` has `video_id`, `status`, `video_url` (presigned, nil until completed), `thumbnail_url`, `duration`, and on failure `failure_code` and `failure_message`, plus every other v3 field.",
        examples: &["local result = app.integrations.heygen.get_video({
  video_id = \"abc123\"
})

print(\"Status: \" .. result.data.status)
if result.data.video_url then
  print(\"Download: \" .. result.data.video_url)
end"],
    },
    FunctionDef {
        name: "create_video",
        summary: "Generate a new AI video with avatars and voices. Returns a `video_id` to track generation progress.",
        description: "Generate a new AI video on HeyGen. Provide video_inputs defining scenes (avatar, voice, script), optional dimensions, and test mode. Returns a video_id to track generation progress.",
        operation: Operation::Write,
        params: &[
            ParamDef {
                name: "video_inputs",
                kind: ParamKind::Array,
                required: true,
                description: "Array of video input objects defining scenes",
            },
            ParamDef {
                name: "dimension",
                kind: ParamKind::Object,
                required: false,
                description: "Video dimensions, e.g. `{width = 1920, height = 1080}`",
            },
            ParamDef {
                name: "test",
                kind: ParamKind::Boolean,
                required: false,
                description: "Generate a test/preview video (default: false)",
            },
        ],
        v3_mapping: "`POST /v3/videos`. One video input becomes a v3 `avatar` video, several a `studio` video (one scene each); `dimension` becomes `resolution` + `aspect_ratio` (1920×1080 → 1080p 16:9). `voice_settings.speed`/`pitch` map directly; `stability` has no v3 equivalent outside engine settings and is ignored (the result's `notes` say so). **v3 has no test mode**: `test = true` validates the request against HeyGen's rules and this account's avatars and voices and creates nothing; `result.data.video_id` is then a `dryrun_…` id and `result.data.dry_run` is true. `reelflow lua --dry-run` treats every create this way.",
        examples: &[
            "-- Create a simple avatar video
local result = app.integrations.heygen.create_video({
  video_inputs = {
    {
      character = {
        avatar_id = \"avatar-abc123\",
        voice_id = \"voice-xyz789\"
      },
      script = \"Welcome to our product demo!\"
    }
  },
  test = true
})

print(\"Video ID: \" .. result.data.video_id)",
            "-- Create a video with custom dimensions
local result = app.integrations.heygen.create_video({
  video_inputs = {
    {
      character = {
        avatar_id = \"avatar-abc123\",
        voice_id = \"voice-xyz789\"
      },
      script = \"This is a landscape video.\"
    }
  },
  dimension = { width = 1920, height = 1080 },
  test = false
})",
        ],
    },
    FunctionDef {
        name: "list_avatars",
        summary: "List all available talking avatars.",
        description: "List all available talking avatars from HeyGen. Returns avatar IDs, names, preview images, and supported styles. Use avatar IDs when creating videos.",
        operation: Operation::Read,
        params: &[],
        v3_mapping: "`GET /v3/avatars/looks`, every page, public and private. In v3 the id a video uses is a **look** id, so each entry is a look: `avatar_id` (= the look `id`), `avatar_name` (= `name`), plus v3's `avatar_type`, `supported_api_engines`, `default_voice_id`, `preview_image_url`, `group_id`, …",
        examples: &["local result = app.integrations.heygen.list_avatars({})

for _, avatar in ipairs(result.data.avatars) do
  print(avatar.avatar_id .. \": \" .. avatar.avatar_name)
end"],
    },
    FunctionDef {
        name: "list_voices",
        summary: "List all available voices for video generation.",
        description: "List all available voices from HeyGen. Returns voice IDs, display names, supported languages, gender, and preview audio URLs. Use voice IDs when creating videos.",
        operation: Operation::Read,
        params: &[],
        v3_mapping: "`GET /v3/voices`, every page of public voices, then the account's private ones. Each entry has `voice_id`, `display_name` (= v3 `name`), `language`, `gender`, `preview_audio` (= `preview_audio_url`), plus v3's `support_pause`, `support_locale` and `type`.",
        examples: &["local result = app.integrations.heygen.list_voices({})

for _, voice in ipairs(result.data.voices) do
  print(voice.voice_id .. \": \" .. voice.display_name .. \" (\" .. voice.language .. \")\")
end"],
    },
    FunctionDef {
        name: "get_current_user",
        summary: "Get the authenticated user's account information.",
        description: "Get the current authenticated HeyGen user's account information, including plan details, remaining credits, and usage statistics.",
        operation: Operation::Read,
        params: &[],
        v3_mapping: "`GET /v3/users/me`. v3 has no single plan and quota: `plan` is the subscription plan for subscription billing, else the billing type (`wallet` for API-key accounts, `usage_based`); `remaining_quota` is the wallet's remaining balance in its currency (USD for API keys), or the premium credits left on a subscription, or the credits (else cap minus spend) of usage-based billing. The v3 fields (`username`, `email`, `billing_type`, `wallet`, `subscription`, `usage_based`) are there too.",
        examples: &["local result = app.integrations.heygen.get_current_user({})

print(\"Plan: \" .. result.data.plan)
print(\"Remaining credits: \" .. result.data.remaining_quota)"],
    },
    FunctionDef {
        name: "list_templates",
        summary: "List available video templates with pagination.",
        description: "List available video templates from HeyGen. Returns template IDs, names, thumbnails, and metadata. Use limit and offset for pagination.",
        operation: Operation::Read,
        params: &[
            ParamDef {
                description: "Maximum number of templates to return (default: 10, max: 100)",
                ..LIMIT_10
            },
            ParamDef {
                description: "Number of templates to skip for pagination (default: 0)",
                ..OFFSET
            },
        ],
        v3_mapping: "`GET /v3/templates` (cursor pages; `offset` emulated). Each entry has `template_id` (= v3 `id`), `name`, `thumbnail_url`, `aspect_ratio`, `created_at`, `updated_at`.",
        examples: &["local result = app.integrations.heygen.list_templates({
  limit = 20,
  offset = 0
})

for _, template in ipairs(result.data.templates) do
  print(template.template_id .. \": \" .. template.name)
end"],
    },
];

/// The function named `name` (or `heygen_name`).
pub fn find(name: &str) -> Option<&'static FunctionDef> {
    let name = name.strip_prefix("heygen_").unwrap_or(name);
    FUNCTIONS.iter().find(|f| f.name == name)
}

const MULTI_ACCOUNT: &str = "## Multi-Account Usage

If you have multiple HeyGen accounts configured, use account-specific namespaces:

```lua
-- Default account (always works)
app.integrations.heygen.function_name({...})

-- Explicit default (portable across setups)
app.integrations.heygen.default.function_name({...})

-- Named accounts
app.integrations.heygen.work.function_name({...})
app.integrations.heygen.personal.function_name({...})
```

All functions are identical across accounts — only the credentials differ.
In reelflow an account `work` is `HEYGEN_API_KEY_WORK` (or the config file's
`[accounts.work]`); `reelflow accounts` lists them. An unknown account is a
Lua error listing the configured ones.
";

/// Markdown for one function.
pub fn function_doc(f: &FunctionDef) -> String {
    let mut out = format!("## {}\n\n{}\n\n", f.name, f.summary);
    out.push_str("### Parameters\n\n");
    if f.params.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str(
            "| Name | Type | Required | Description |\n|------|------|----------|-------------|\n",
        );
        for p in f.params {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                p.name,
                p.kind.name(),
                if p.required { "yes" } else { "no" },
                p.description
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "### Operation\n\n{} — also callable as `heygen_{}`.\n\n",
        match f.operation {
            Operation::Read => "Read",
            Operation::Write =>
                "Write (creates a video; `test = true` or `--dry-run` validates without creating)",
        },
        f.name
    ));
    out.push_str(&format!("### HeyGen v3\n\n{}\n\n", f.v3_mapping));
    out.push_str(if f.examples.len() > 1 { "### Examples\n\n" } else { "### Example\n\n" });
    for e in f.examples {
        out.push_str(&format!("```lua\n{e}\n```\n\n"));
    }
    out
}

/// Markdown for the whole namespace, as `lua_read_doc("integrations.heygen")`
/// returns it.
pub fn namespace_doc() -> String {
    let mut out = String::from("# HeyGen — Lua API Reference\n\n");
    out.push_str("Call these as `app.integrations.heygen.<function>(params)`; each returns `{data = …}` in the shapes below and raises a Lua error (catch it with `pcall`) when HeyGen refuses or a parameter is wrong.\n\n");
    for f in FUNCTIONS {
        out.push_str(&function_doc(f));
        out.push_str("---\n\n");
    }
    out.push_str(MULTI_ACCOUNT);
    out
}

/// The pages `lua_read_doc` and `reelflow doc` know.
pub fn doc_pages() -> Vec<String> {
    let mut pages = vec!["integrations.heygen".to_owned()];
    pages.extend(FUNCTIONS.iter().map(|f| format!("integrations.heygen.{}", f.name)));
    pages
}

/// The doc page `page`, or `None`.
pub fn doc(page: &str) -> Option<String> {
    let page = page.trim();
    if page == "integrations.heygen" {
        return Some(namespace_doc());
    }
    let name = page.strip_prefix("integrations.heygen.")?;
    find(name).map(|f| format!("# HeyGen — {}\n\n{}", f.name, function_doc(f)))
}
