//! The client against the simulator: paging, retries, Retry-After, typed
//! errors, and the faults a real network produces.

use std::time::{Duration, Instant};

use reelflow::heygen::paging::{self, LookQuery, VoiceQuery};
use reelflow::heygen::wire::{AvatarVideo, CreateVideoRequest};
use reelflow::heygen::{
    ApiErrorKind, Client, ClientConfig, Credential, Error, RetryPolicy, Secret,
};
use reelflow::sim::{FaultKind, FaultRule, SimConfig};

use crate::support::{client, fast, quick_retries, start};

fn rule(method: &str, path: &str, kind: FaultKind, times: u32) -> FaultRule {
    FaultRule { method: Some(method.into()), path: path.into(), kind, times }
}

fn avatar_body(script: &str) -> CreateVideoRequest {
    CreateVideoRequest::Avatar(AvatarVideo {
        avatar_id: "Abigail_expressive_2024112501".into(),
        script: Some(script.into()),
        voice_id: Some("1bd001e7e50f421d891986aad5c8bbd2".into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn cursor_paging_walks_every_page() {
    let sim = start(fast()).await;
    let c = client(&sim, "k");
    let looks = paging::collect_all(LookQuery::default(), |q| {
        let c = &c;
        async move { c.list_looks(&q).await }
    })
    .await
    .unwrap();
    assert_eq!(looks.len(), sim.catalog().looks.len());
    assert_eq!(sim.stats().requests_by_route["GET /v3/avatars/looks"], 2, "67 looks at 50 a page");

    let english = paging::collect_all(
        VoiceQuery { language: Some("English".into()), ..Default::default() },
        |q| {
            let c = &c;
            async move { c.list_voices(&q).await }
        },
    )
    .await
    .unwrap();
    assert!(english.iter().all(|v| v.language == "English" && v.kind == "public"));
}

#[tokio::test]
async fn a_503_then_success_is_retried_for_reads() {
    let sim = start(fast()).await;
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::Status(503), 2)]);
    let user = client(&sim, "k").me().await.unwrap();
    assert_eq!(user.username, "sim_user");
    assert_eq!(sim.stats().requests_by_route["GET /v3/users/me"], 3);
}

#[tokio::test]
async fn a_create_without_a_key_is_never_retried_after_a_5xx() {
    let sim = start(fast()).await;
    sim.push_faults([rule("POST", "/v3/videos", FaultKind::Status(503), 1)]);
    let err = client(&sim, "k").create_video(&avatar_body("Hi there"), None).await.unwrap_err();
    assert_eq!(err.kind(), Some(ApiErrorKind::Server));
    assert_eq!(sim.stats().requests_by_route["POST /v3/videos"], 1);
    assert_eq!(sim.stats().videos_created, 0);
}

#[tokio::test]
async fn a_keyed_create_survives_a_dropped_answer_without_creating_twice() {
    let sim = start(fast()).await;
    // The server creates the video, then the connection dies: the client
    // cannot know, retries with the same key, and gets the first answer.
    sim.push_faults([rule("POST", "/v3/videos", FaultKind::DropAfter, 1)]);
    let c = client(&sim, "k");
    let created = c.create_video(&avatar_body("Hello"), Some("job-1")).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.creates_by_idempotency_key["job-1"], 1);
    assert_eq!(stats.idempotent_replays, 1);
    assert_eq!(stats.videos_created, 1);
    assert_eq!(c.get_video(&created.video_id).await.unwrap().id, created.video_id);
}

#[tokio::test]
async fn a_429_storm_is_waited_out_honouring_retry_after() {
    let sim = start(fast()).await;
    sim.push_faults([rule(
        "GET",
        "/v3/videos/statuses",
        FaultKind::RateLimit { retry_after: 1 },
        2,
    )]);
    let c = client(&sim, "k");
    let t0 = Instant::now();
    let statuses = c.video_statuses(&["v_missing".into()]).await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "Retry-After (capped at 200ms here) was honoured"
    );
    assert_eq!(statuses[0].status.as_str(), "not_found");

    // More 429s than retries: the caller gets a typed rate-limit error.
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::RateLimit { retry_after: 0 }, 10)]);
    let err = c.me().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.kind, api.retry_after), (ApiErrorKind::RateLimited, Some(Duration::ZERO)));
    assert!(api.request_id.as_deref().is_some_and(|r| r.starts_with("req_")));
}

#[tokio::test]
async fn error_bodies_in_200s_html_gateways_and_drops_are_handled() {
    let sim = start(fast()).await;
    let c = client(&sim, "k");
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::ErrorBody, 1)]);
    assert_eq!(
        c.me().await.unwrap().username,
        "sim_user",
        "a 200 error body is retried like a 5xx"
    );

    let no_retry = Client::new(ClientConfig {
        retry: RetryPolicy { max_retries: 0, ..quick_retries() },
        ..ClientConfig::new(sim.base_url(), Credential::ApiKey(Secret::new("k")))
    })
    .unwrap();
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::GatewayHtml, 1)]);
    let err = no_retry.me().await.unwrap_err();
    assert_eq!(err.kind(), Some(ApiErrorKind::Server));
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");

    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::Drop, 1)]);
    assert!(matches!(no_retry.me().await.unwrap_err(), Error::Network { .. }));
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::Drop, 1)]);
    assert!(c.me().await.is_ok(), "reads retry after a dropped connection");
}

#[tokio::test]
async fn slow_answers_time_out_and_are_typed() {
    let sim = start(fast()).await;
    sim.push_faults([rule("GET", "/v3/users/me", FaultKind::Slow { ms: 1500 }, 1)]);
    let mut config = ClientConfig::new(sim.base_url(), Credential::ApiKey(Secret::new("k")));
    config.retry = RetryPolicy { max_retries: 0, ..quick_retries() };
    config.timeouts.read = Duration::from_millis(200);
    let err = Client::new(config).unwrap().me().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn typed_errors_carry_code_param_and_hint() {
    let sim = start(SimConfig { accepted_keys: Some(vec!["good".into()]), ..fast() }).await;
    let err = client(&sim, "bad").me().await.unwrap_err();
    assert_eq!(err.kind(), Some(ApiErrorKind::Auth));
    assert!(err.hint().contains("API key"));

    let c = client(&sim, "good");
    let err = c.get_video("v_nope").await.unwrap_err();
    assert_eq!(
        (err.kind(), err.api().unwrap().body.message.as_str()),
        (Some(ApiErrorKind::NotFound), "Video not found.")
    );

    let mut bad = avatar_body("x");
    if let CreateVideoRequest::Avatar(a) = &mut bad {
        a.voice_settings =
            Some(reelflow::heygen::wire::VoiceSettings { speed: Some(3.0), ..Default::default() });
    }
    let err = c.create_video(&bad, None).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.kind, api.body.param.as_deref()),
        (ApiErrorKind::InvalidParameter, Some("voice_settings.speed"))
    );
    assert!(err.hint().contains("voice_settings.speed"));
}
