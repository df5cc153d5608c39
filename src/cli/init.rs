//! `reelflow init [DIR]`: a starter campaign that validates as written,
//! because its avatar and voice ids come from the account's own catalog
//! (or the simulator's under `--sim`).

use std::path::{Path, PathBuf};

use super::args::InitArgs;
use super::context::Context;
use super::failure::Failure;
use crate::exit;
use crate::heygen::wire::AvatarType;
use crate::validate::catalog::{self, DEFAULT_TTL};

/// Runs the command.
pub async fn run(ctx: &Context, args: &InitArgs) -> Result<u8, Failure> {
    let manifest_path = args.dir.join("manifest.yaml");
    let csv_path = args.dir.join("data.csv");
    for p in [&manifest_path, &csv_path] {
        if p.exists() {
            return Err(Failure::usage(format!(
                "{} already exists; nothing was written",
                p.display()
            ))
            .hint("choose another folder: reelflow init my-campaign"));
        }
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&args.dir),
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-'));
    if !valid {
        return Err(Failure::usage(format!("`{name}` cannot be a campaign name"))
            .hint("letters, digits, space, _ . - (1-64, starting with a letter or digit): --name my-campaign"));
    }
    let client = ctx
        .client(None)
        .map_err(|f| f.hint("init reads your catalog for real ids; or try it with --sim"))?;
    let cache = if ctx.simulated() { None } else { ctx.config.cache_dir.clone() };
    let (cat, _) = catalog::load(&client, cache, DEFAULT_TTL, false)
        .await
        .map_err(|e| Failure::from(e).hint("init reads your catalog for real ids"))?;
    // A stock studio avatar with a default voice is the safest start;
    // sorted by id so the same catalog gives the same starter.
    let mut looks: Vec<_> = cat.looks.iter().collect();
    looks.sort_by_key(|l| {
        (l.avatar_type != AvatarType::StudioAvatar, l.default_voice_id.is_none(), l.id.clone())
    });
    let look = looks.first().ok_or_else(|| {
        Failure::new(exit::VALIDATION_FAILED, "empty_catalog", "the account has no avatar looks")
            .hint("create or unlock an avatar in HeyGen, then run init again")
    })?;
    let voice = look
        .default_voice_id
        .as_ref()
        .and_then(|id| cat.voices.iter().find(|v| &v.voice_id == id))
        .or_else(|| {
            let mut vs: Vec<_> =
                cat.voices.iter().filter(|v| v.language.starts_with("English")).collect();
            vs.sort_by_key(|v| v.voice_id.clone());
            vs.into_iter().next()
        })
        .or_else(|| cat.voices.first())
        .ok_or_else(|| {
            Failure::new(exit::VALIDATION_FAILED, "empty_catalog", "the account has no voices")
        })?;
    let comment = |s: &str| s.replace(['\n', '\r'], " ");
    let manifest = format!(
        r#"# A starter reelflow campaign: one talking-head video per row of data.csv.
#   reelflow validate manifest.yaml          check every row (nothing is submitted)
#   reelflow plan manifest.yaml              what a run would make, and what it would cost
#   reelflow run manifest.yaml --sample 2    render a sample first
#   reelflow review manifest.yaml            watch it, approve or reject
#   reelflow run manifest.yaml               then the rest
version: 1
name: {name}
data:
  csv: data.csv
  key: "{{{{ email }}}}"
vars:
  company: Example Inc
video:
  title: "Welcome, {{{{ first_name }}}}"
  scenes:
    # {look_name} ({look_type}); `reelflow avatars` lists the others
    - avatar: {look_id}
      # {voice_name} ({voice_language}); `reelflow voices` lists the others
      voice: {voice_id}
      script: |
        Hi {{{{ first_name }}}}! Thanks for joining {{{{ company }}}}.
        I'm here to help you get started.
output:
  download: "out/videos/{{{{ key | slug }}}}.mp4"
# review:
#   require_approval: true   # a full run waits until an approved --sample
"#,
        look_name = comment(&look.name),
        look_type = look.avatar_type,
        look_id = yaml_scalar(&look.id),
        voice_name = comment(&voice.name),
        voice_language = comment(&voice.language),
        voice_id = yaml_scalar(&voice.voice_id),
    );
    let csv = "email,first_name\nada@example.com,Ada\ngrace@example.com,Grace\n";
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| Failure::new(exit::FAILURE, "io", format!("{}: {e}", args.dir.display())))?;
    for (path, text) in [(&manifest_path, manifest.as_str()), (&csv_path, csv)] {
        crate::results::write_atomic(path, text.as_bytes())
            .map_err(|e| Failure::new(exit::FAILURE, "io", format!("{}: {e}", path.display())))?;
    }
    if ctx.global.json {
        super::output::print_json(&serde_json::json!({
            "manifest": manifest_path.display().to_string(),
            "data": csv_path.display().to_string(),
            "avatar_id": look.id,
            "voice_id": voice.voice_id,
        }));
    } else {
        println!("created {} and {}", manifest_path.display(), csv_path.display());
        println!("  avatar: {} ({})", look.name, look.id);
        println!("  voice:  {} ({})", voice.name, voice.voice_id);
        println!("next: reelflow validate {}", manifest_path.display());
    }
    Ok(exit::SUCCESS)
}

/// The folder's name as a campaign name (`my campaign!` → `my-campaign`).
fn default_name(dir: &Path) -> String {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| PathBuf::from(dir));
    let base = abs.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let slug: String = crate::render::slug(&base).chars().take(64).collect();
    if slug.is_empty() { "my-campaign".into() } else { slug }
}

/// An id as a YAML scalar: bare when plain, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    if !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.')
    {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}
