//! The exact requests each of the seven functions sends: method, path,
//! query, headers (secret redacted) and body.

use reelflow::heygen::{Client, ClientConfig, Credential, Secret};
use reelflow::integration::{self, CreateVideoInput, OffsetParams};
use serde_json::json;

use crate::support::{fast, quick_retries, settings, start};

#[tokio::test]
async fn the_seven_functions_send_exactly_these_requests() {
    let sim = start(fast()).await;
    let mut config =
        ClientConfig::new(sim.base_url(), Credential::ApiKey(Secret::new("sk_test_hunter2")));
    config.retry = quick_retries();
    let c = Client::new(config).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"), "a client's Debug never shows its key");
    let seed_body = json!({
        "video_inputs": [
            {"character": {"avatar_id": "Abigail_expressive_2024112501", "voice_id": "1bd001e7e50f421d891986aad5c8bbd2"}, "script": "Scene one."},
            {"character": {"avatar_id": "Brandon_sitting_2024112502"}, "script": "Scene two.", "background": {"type": "color", "value": "#112233"}}
        ],
        "dimension": {"width": 1080, "height": 1920}
    });
    let mut calls: Vec<(&str, serde_json::Value)> = Vec::new();
    macro_rules! record {
        ($name:literal, $call:expr) => {{
            sim.clear_requests();
            $call.await.expect($name);
            let reqs = sim.requests();
            assert!(
                !reqs.iter().any(|r| format!("{r:?}").contains("hunter2")),
                "the secret never leaves redacted"
            );
            calls.push(($name, serde_json::to_value(reqs).unwrap()));
        }};
    }
    record!(
        "list_videos",
        integration::list_videos(&c, OffsetParams { limit: Some(5), offset: Some(0) })
    );
    record!("get_current_user", integration::get_current_user(&c));
    record!(
        "create_video",
        integration::create_video(
            &c,
            CreateVideoInput::from_json(seed_body).unwrap(),
            false,
            Some("reelflow-test-key-1")
        )
    );
    let id = sim.requests().len(); // create recorded above
    assert_eq!(id, 1);
    let video_id = c.list_videos(&Default::default()).await.unwrap().data[0].id.clone();
    record!("get_video", integration::get_video(&c, &video_id));
    record!("list_avatars", integration::list_avatars(&c));
    record!("list_voices", integration::list_voices(&c));
    record!(
        "list_templates",
        integration::list_templates(&c, OffsetParams { limit: Some(2), offset: Some(1) })
    );
    let mut s = settings();
    s.add_redaction(
        ".**.path",
        insta::dynamic_redaction(|value, _| {
            // Video ids in paths change every run.
            let p = value.as_str().unwrap_or_default();
            if p.starts_with("/v3/videos/v_") { "/v3/videos/[video_id]".into() } else { value }
        }),
    );
    s.bind(|| insta::assert_yaml_snapshot!("seven_function_requests", calls));
}
