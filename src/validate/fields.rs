//! Maps a v3 request field (`scenes[1].input.voice_id`) back to the
//! manifest field it was rendered from (`video.scenes[1].voice`), so that
//! problems point at what the user wrote.

use crate::manifest::LoadedManifest;
use crate::render::JobRequest;

/// v3 names inside a speaking input → manifest names inside a scene.
fn scene_name(wire: &str) -> &str {
    match wire {
        "avatar_id" => "avatar",
        "voice_id" => "voice",
        "image" => "animated_image",
        other => other,
    }
}

fn split_first(path: &str) -> (&str, &str) {
    match path.find(['.', '[']) {
        Some(i) if path.as_bytes()[i] == b'.' => (&path[..i], &path[i + 1..]),
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_owned()
    } else if b.starts_with('[') {
        format!("{a}{b}")
    } else {
        format!("{a}.{b}")
    }
}

/// The manifest field path for a v3 request field path.
pub fn manifest_field(m: &LoadedManifest, request: &JobRequest, wire: &str) -> String {
    match request {
        JobRequest::Template { .. } => join("template", wire),
        JobRequest::Video(v)
            if matches!(v.as_ref(), crate::heygen::wire::CreateVideoRequest::Studio(_)) =>
        {
            let Some(rest) = wire.strip_prefix("scenes[") else { return join("video", wire) };
            let (idx, rest) = rest.split_once(']').unwrap_or((rest, ""));
            let rest = rest.trim_start_matches('.');
            let rest = rest
                .strip_prefix("input.")
                .or_else(|| (rest == "input").then_some(""))
                .unwrap_or(rest);
            let (head, tail) = split_first(rest);
            let head = match head {
                "source" => {
                    let scene = m
                        .manifest
                        .video
                        .as_ref()
                        .and_then(|v| v.scenes.get(idx.parse::<usize>().unwrap_or(0)));
                    if scene.is_some_and(|s| s.video.is_some()) { "video" } else { "image" }
                }
                other => scene_name(other),
            };
            join(&format!("video.scenes[{idx}]"), &join(head, tail))
        }
        JobRequest::Video(_) => {
            let (head, tail) = split_first(wire);
            match head {
                "title" | "resolution" | "aspect_ratio" | "fit" | "remove_background"
                | "output_format" | "caption" | "callback_url" | "callback_id" | "watermark"
                | "brand_glossary_id" | "folder_id" => join("video", wire),
                "background" => {
                    let via_scene = m.manifest.video.as_ref().is_some_and(|v| {
                        v.background.is_none()
                            && v.scenes.first().is_some_and(|s| s.background.is_some())
                    });
                    if via_scene {
                        "video.scenes[0].background.color".to_owned()
                    } else {
                        let tail = match tail {
                            "value" => "color",
                            "url" => "image_url",
                            "asset_id" => "image_asset_id",
                            other => other,
                        };
                        join("video.background", tail)
                    }
                }
                "" => "video".to_owned(),
                _ => join("video.scenes[0]", &join(scene_name(head), tail)),
            }
        }
    }
}
