//! Every example body HeyGen published (tests/fixtures/heygen-v3, copied
//! from shared/heygen/examples-v3) parses into reelflow's wire types.

use std::path::PathBuf;

use reelflow::heygen::rules;
use reelflow::heygen::wire::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heygen-v3");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (name, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn parse<T: DeserializeOwned>(name: &str, v: &Value) -> T {
    serde_path_to_error::deserialize(v.clone())
        .unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()))
}

/// The docs' request builder prints every optional field at once and
/// leaves discriminators as `<string>` (examples-v3/README.md). Fill them
/// in as the page's own field descriptions name them.
fn fill_builder_placeholders(mut v: Value) -> Value {
    v["type"] = "avatar".into();
    v["engine"]["type"] = "avatar_iv".into();
    v["background"]["type"] = "image".into();
    v["watermark"]["image"]["type"] = "url".into();
    v["voice_settings"]["engine_settings"]["engine_type"] = "elevenlabs".into();
    v
}

/// `0` and `0.0` are the same JSON number; compare them as such.
fn numbers_as_f64(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_f64).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

#[test]
fn every_published_example_parses() {
    let all = fixtures();
    assert_eq!(all.len(), 30, "a fixture was added or removed: map it below");
    for (name, v) in &all {
        match name.as_str() {
            n if n.starts_with("create_video.request.avatar.docs_builder") => {
                let req =
                    CreateVideoRequest::from_value(fill_builder_placeholders(v.clone())).unwrap();
                // All fields at once is not a valid request; the rules say why.
                let params: Vec<String> =
                    rules::check_create(&req).into_iter().map(|v| v.param).collect();
                assert!(
                    params.contains(&"script".to_owned()),
                    "script and audio together: {params:?}"
                );
                assert!(
                    params.contains(&"background.url".to_owned()),
                    "url and asset_id together: {params:?}"
                );
            }
            n if n.starts_with("create_video.request.") => {
                let req = CreateVideoRequest::from_value(v.clone())
                    .unwrap_or_else(|e| panic!("{n}: {e:?}"));
                assert_eq!(
                    numbers_as_f64(serde_json::to_value(&req).unwrap()),
                    numbers_as_f64(v.clone()),
                    "{n} must round-trip"
                );
                assert!(
                    rules::check_create(&req).is_empty(),
                    "{n}: {:?}",
                    rules::check_create(&req)
                );
            }
            "create_video.response.200.json" => {
                let d: Data<CreatedVideo> = parse(name, v);
                assert_eq!(d.data.status, VideoStatus::Waiting);
            }
            "create_video_batch.request.json" => {
                let b: CreateBatchRequest = parse(name, v);
                assert_eq!(serde_json::to_value(&b).unwrap(), *v);
            }
            "delete_video.response.200.json" => {
                assert!(parse::<Data<DeletedVideo>>(name, v).data.deleted)
            }
            n if n.starts_with("error.") || n.starts_with("cli_stderr") => {
                let status: u16 = n.split('.').nth(1).and_then(|s| s.parse().ok()).unwrap_or(404);
                let body = ErrorBody::from_response(status, &serde_json::to_vec(v).unwrap());
                assert_eq!(body.code, v["error"]["code"].as_str().unwrap(), "{n}");
                assert!(!body.message.is_empty());
            }
            "get_video.response.200.docs_example.json" => {
                let d: Data<VideoDetail> = parse(name, v);
                assert_eq!((d.data.status, d.data.duration), (VideoStatus::Completed, Some(30.5)));
            }
            "get_video_batch.response.200.schema_derived.json" => {
                let d: Data<VideoBatch> = parse(name, v);
                assert_eq!(d.data.items[2].status, VideoStatus::Queued);
            }
            "list_videos.response.200.shape.json" => {
                assert!(parse::<Page<VideoDetail>>(name, v).has_more)
            }
            n if n.starts_with("users_me.") => {
                let d: Data<User> = parse(name, v);
                assert_eq!(d.data.billing_type.as_deref(), Some("wallet"));
            }
            "video_statuses.response.200.schema_derived.json" => {
                let p: Page<StatusEntry> = parse(name, v);
                let s: Vec<_> = p.data.iter().map(|e| e.status.clone()).collect();
                assert_eq!(s, [VideoStatus::Completed, VideoStatus::NotFound, VideoStatus::Queued]);
            }
            "voices.list.item.spec_examples.json" => {
                assert_eq!(parse::<Voice>(name, v).kind, "public")
            }
            "avatar_look.item.spec_examples.json" => {
                let look: AvatarLook = parse(name, v);
                assert_eq!(
                    look.engines(),
                    [ApiEngine::AvatarIv],
                    "old engine names fold into avatar_iv"
                );
            }
            "avatar_looks.list.response.200.json" => {
                assert_eq!(parse::<Page<AvatarLook>>(name, v).data.len(), 1)
            }
            "webhook_endpoint.create.request.json" => {
                let r: CreateWebhookEndpoint = parse(name, v);
                assert_eq!(serde_json::to_value(&r).unwrap(), *v);
            }
            "webhook_endpoint.update.request.json" => drop(parse::<UpdateWebhookEndpoint>(name, v)),
            "webhook_endpoint.create.response.200.json" => {
                let e: Data<WebhookEndpoint> = parse(name, v);
                let shown = format!("{e:?} {}", serde_json::to_string(&e).unwrap());
                assert!(!shown.contains("whsec_k7x9m2"), "webhook secrets never show: {shown}");
            }
            "webhook_endpoint.item.spec_examples.json" => drop(parse::<WebhookEndpoint>(name, v)),
            n if n.starts_with("webhook_delivery.") => {
                let d: WebhookDelivery = parse(name, v);
                assert!(d.event_type.starts_with("avatar_video."));
            }
            other => panic!("no parser mapped for fixture {other}"),
        }
    }
}

#[test]
fn create_bodies_reject_unknown_fields_with_the_path() {
    let cases = [
        (r#"{"type":"avatar","avatar_id":"a","script":"x","test":true}"#, "test"),
        (
            r#"{"type":"avatar","avatar_id":"a","voice_settings":{"emotion":"happy"}}"#,
            "voice_settings.emotion",
        ),
        (
            r#"{"type":"studio","scenes":[{"type":"video","source":{"type":"url","url":"https://x/y"}},{"type":"avatar_video","input":{"type":"avatar","avatar_id":"a","scirpt":"hi"}}]}"#,
            "scenes[1].input.scirpt",
        ),
        (
            r#"{"type":"avatar","avatar_id":"a","background":{"type":"video","url":"https://x"}}"#,
            "background.type",
        ),
        (r#"{"type":"cartoon"}"#, "type"),
    ];
    let studio_cases = [
        (
            r#"{"type":"studio","scenes":[{"type":"image","source":{"type":"url","url":"https://x/y"},"duration":"3s"}]}"#,
            "scenes[0].duration",
        ),
        (
            r#"{"type":"studio","scenes":[{"type":"avatar_video","input":{"type":"robot"}}]}"#,
            "scenes[0].input.type",
        ),
        (
            r#"{"type":"studio","scenes":[{"type":"avatar_video","input":{"type":"avatar","avatar_id":"a","voice_settings":{"sped":1}}}]}"#,
            "scenes[0].input.voice_settings.sped",
        ),
    ];
    for (body, param) in cases.into_iter().chain(studio_cases) {
        let err = CreateVideoRequest::from_value(serde_json::from_str(body).unwrap()).unwrap_err();
        assert_eq!(err.param, param, "{body}: {}", err.message);
    }
}

#[test]
fn requests_serialize_without_nulls_or_defaults() {
    let req = CreateVideoRequest::Avatar(AvatarVideo {
        avatar_id: "look".into(),
        script: Some("Hi".into()),
        ..Default::default()
    });
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"type":"avatar","avatar_id":"look","script":"Hi"}"#
    );
}
