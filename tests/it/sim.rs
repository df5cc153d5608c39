//! The simulator answers like HeyGen v3: validation errors with `param`,
//! the job cap, the wallet, idempotency, status progression, media expiry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use reelflow::sim::{Clock, Delays, FAIL_MARKER, SimConfig, Simulator};

use crate::support::{fast, settings, start};

/// Where manual clocks start (a Unix time in 2027).
const T0: f64 = 1_800_000_000.0;

/// A config whose clock only moves when the test advances it.
fn manual(config: SimConfig) -> SimConfig {
    SimConfig { clock: Clock::manual(T0), ..config }
}

/// Waits (without advancing simulated time) until `n` requests are held
/// by the simulator's manual clock.
async fn until_held(sim: &Simulator, n: usize) {
    for _ in 0..2000 {
        if sim.clock().sleepers() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{} requests held, expected {n}", sim.clock().sleepers());
}

const LOOK: &str = "Abigail_expressive_2024112501";
const VOICE: &str = "1bd001e7e50f421d891986aad5c8bbd2";

async fn post(
    base: &str,
    key: &str,
    path: &str,
    body: &Value,
    idem: Option<&str>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut req =
        crate::support::http().post(format!("{base}{path}")).header("x-api-key", key).json(body);
    if let Some(k) = idem {
        req = req.header("idempotency-key", k);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

async fn get(base: &str, key: &str, path: &str) -> (StatusCode, Value) {
    let resp = crate::support::http()
        .get(format!("{base}{path}"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn avatar(script: &str) -> Value {
    json!({"type": "avatar", "avatar_id": LOOK, "script": script, "voice_id": VOICE})
}

#[tokio::test]
async fn invalid_create_bodies_get_400_with_param() {
    let sim = start(fast()).await;
    let base = sim.base_url();
    let long = "a".repeat(5001);
    let cases: Vec<(&str, Value)> = vec![
        (
            "unknown field",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "test": true}),
        ),
        ("unknown type", json!({"type": "hologram"})),
        ("no audio source", json!({"type": "avatar", "avatar_id": LOOK})),
        (
            "script and audio",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "audio_url": "https://x.example/a.mp3"}),
        ),
        ("script too long", json!({"type": "avatar", "avatar_id": LOOK, "script": long})),
        (
            "speed out of range",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "voice_settings": {"speed": 2.0}}),
        ),
        (
            "pitch out of range",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "voice_settings": {"pitch": -51}}),
        ),
        (
            "volume out of range",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "voice_settings": {"volume": 1.5}}),
        ),
        (
            "webm with background",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "output_format": "webm", "background": {"type": "color", "value": "#000000"}}),
        ),
        (
            "colour without value",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "background": {"type": "color"}}),
        ),
        (
            "url and asset id",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "background": {"type": "image", "url": "https://x.example/b.png", "asset_id": "a1"}}),
        ),
        (
            "expressiveness with avatar_v",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "engine": {"type": "avatar_v"}, "expressiveness": "high"}),
        ),
        ("no scenes", json!({"type": "studio", "scenes": []})),
        (
            "image scene duration and audio",
            json!({"type": "studio", "scenes": [{"type": "image", "source": {"type": "url", "url": "https://x.example/s.png"}, "duration": 3, "script": "hi", "voice_id": VOICE}]}),
        ),
        (
            "image scene too long",
            json!({"type": "studio", "scenes": [{"type": "image", "source": {"type": "url", "url": "https://x.example/s.png"}, "duration": 301}]}),
        ),
        ("unknown look", json!({"type": "avatar", "avatar_id": "Nobody_2020", "script": "hi"})),
        (
            "group id as look",
            json!({"type": "avatar", "avatar_id": sim.catalog().groups[0].id, "script": "hi"}),
        ),
        (
            "unknown voice",
            json!({"type": "avatar", "avatar_id": LOOK, "script": "hi", "voice_id": "0000"}),
        ),
        (
            "engine the look lacks",
            json!({"type": "avatar", "avatar_id": "Abigail_sitting_2024112502", "script": "hi", "engine": {"type": "avatar_v"}}),
        ),
        (
            "look still processing",
            json!({"type": "avatar", "avatar_id": "Acme_CEO_twin_new_hair_2025030103", "script": "hi"}),
        ),
    ];
    let mut transcript = String::new();
    for (name, body) in &cases {
        let (status, resp, _) = post(&base, "k", "/v3/videos", body, None).await;
        assert!(status.is_client_error(), "{name}: {status}");
        let e = &resp["error"];
        transcript.push_str(&format!(
            "{name}: {} {} param={} | {}\n",
            status.as_u16(),
            e["code"],
            e["param"],
            e["message"]
        ));
    }
    assert_eq!(sim.stats().videos_created, 0);
    settings().bind(|| insta::assert_snapshot!("sim_validation_answers", transcript));
}

#[tokio::test]
async fn status_progresses_and_completion_is_charged_once() {
    let sim = start(manual(SimConfig { render_secs: 10.0, ..SimConfig::default() })).await;
    let base = sim.base_url();
    let (status, created, _) =
        post(&base, "k", "/v3/videos", &avatar("one two three four five"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(created["data"]["status"], "waiting");
    let id = created["data"]["video_id"].as_str().unwrap().to_owned();

    let (_, early) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(early["data"]["status"], "pending");
    assert!(early["data"]["video_url"].is_null());
    sim.clock().advance(5.0);
    let (_, mid) = get(&base, "k", &format!("/v3/videos/statuses?video_ids={id},v_unknown")).await;
    assert_eq!(mid["data"][0]["status"], "processing");
    assert_eq!(mid["data"][1]["status"], "not_found");
    sim.clock().advance(4.0);
    let (_, still) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(still["data"]["status"], "processing", "1 s to go");
    sim.clock().advance(1.0);
    let (_, done) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(done["data"]["status"], "completed");
    assert_eq!(done["data"]["completed_at"], T0 as i64 + 10);
    assert!(done["data"]["video_url"].as_str().unwrap().contains("Expires="));
    assert_eq!(done["data"]["duration"], 2.0, "5 words at 2.5 words/s");

    let (_, me) = get(&base, "k", "/v3/users/me").await;
    let charged = 100.0 - me["data"]["wallet"]["remaining_balance"].as_f64().unwrap();
    assert!((charged - 0.13).abs() < 0.006, "2 s of studio avatar at $0.0667/s, got {charged}");
    let (_, me_again) = get(&base, "k", "/v3/users/me").await;
    assert_eq!(me["data"]["wallet"], me_again["data"]["wallet"], "charged once");
    let (_, other) = get(&base, "other-key", "/v3/users/me").await;
    assert_eq!(other["data"]["wallet"]["remaining_balance"], 100.0, "wallets are per key");
}

#[tokio::test]
async fn failed_renders_carry_a_code_and_are_not_charged() {
    let sim = start(manual(SimConfig { render_secs: 1.0, ..SimConfig::default() })).await;
    let base = sim.base_url();
    let (_, created, _) =
        post(&base, "k", "/v3/videos", &avatar(&format!("please {FAIL_MARKER} now")), None).await;
    let id = created["data"]["video_id"].as_str().unwrap();
    sim.clock().advance(1.0);
    let (_, v) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(
        (v["data"]["status"].as_str(), v["data"]["failure_code"].as_str()),
        (Some("failed"), Some("rendering_failed"))
    );
    let (_, s) = get(&base, "k", &format!("/v3/videos/statuses?video_ids={id}")).await;
    assert_eq!(s["data"][0]["error"]["code"], "rendering_failed");
    let (_, me) = get(&base, "k", "/v3/users/me").await;
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 100.0);
}

#[tokio::test]
async fn the_job_cap_answers_429_with_retry_after_and_the_v3_envelope() {
    let sim =
        start(manual(SimConfig { render_secs: 3.0, max_jobs: 2, ..SimConfig::default() })).await;
    let base = sim.base_url();
    assert_eq!(post(&base, "k", "/v3/videos", &avatar("job 0"), None).await.0, StatusCode::OK);
    sim.clock().advance(0.5);
    assert_eq!(post(&base, "k", "/v3/videos", &avatar("job 1"), None).await.0, StatusCode::OK);
    sim.clock().advance(0.7);
    let (status, body, headers) = post(&base, "k", "/v3/videos", &avatar("job 2"), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body,
        json!({"error": {
            "code": "rate_limit_exceeded",
            "message": "Too many concurrent jobs: 2 of 2 render jobs are in progress. Retry after the duration specified in the Retry-After header.",
            "param": null,
            "doc_url": "https://developers.heygen.com/docs/error-codes#rate-limit-exceeded",
        }})
    );
    assert_eq!(headers["retry-after"], "2", "the first job ends 1.8 s from now");
    assert!(headers.contains_key("x-request-id"));
    // A keyed create is refused the same way and not stored for replay.
    let (status, _, headers) =
        post(&base, "k", "/v3/videos", &avatar("job 2"), Some("job-2")).await;
    assert_eq!(
        (status, &headers["retry-after"]),
        (StatusCode::TOO_MANY_REQUESTS, &"2".parse().unwrap())
    );
    sim.clock().advance(1.9);
    let (status, _, _) = post(&base, "k", "/v3/videos", &avatar("job 2"), Some("job-2")).await;
    assert_eq!(status, StatusCode::OK, "a slot freed when the first job finished");
    assert_eq!(
        post(&base, "other", "/v3/videos", &avatar("other key"), None).await.0,
        StatusCode::OK,
        "the cap is per key"
    );
    assert_eq!(sim.stats().rate_limited_429, 2);
    assert_eq!(sim.stats().max_jobs_in_flight, 2);
}

#[tokio::test]
async fn a_short_wallet_answers_402_counting_jobs_in_flight() {
    let sim = start(SimConfig { render_secs: 5.0, balance_usd: 0.5, ..SimConfig::default() }).await;
    let base = sim.base_url();
    let words = "word ".repeat(10); // 4 s × $0.0667 ≈ $0.27
    assert_eq!(post(&base, "k", "/v3/videos", &avatar(&words), None).await.0, StatusCode::OK);
    let (status, body, _) = post(&base, "k", "/v3/videos", &avatar(&words), None).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "$0.50 minus $0.27 held leaves too little");
    assert_eq!(body["error"]["code"], "insufficient_credit");
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict_while_in_flight() {
    let sim = start(manual(SimConfig { create_latency_ms: 300, ..fast() })).await;
    let base = sim.base_url();
    let body = avatar("hello");
    let first = tokio::spawn({
        let (base, body) = (base.clone(), body.clone());
        async move { post(&base, "k", "/v3/videos", &body, Some("key-1")).await }
    });
    // The first create is being processed (held by its latency).
    until_held(&sim, 1).await;
    let (status, conflict, _) = post(&base, "k", "/v3/videos", &body, Some("key-1")).await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_in_progress"))
    );
    sim.clock().advance(0.3);
    let (s1, b1, _) = first.await.unwrap();
    assert_eq!(s1, StatusCode::OK);
    let (s2, b2, _) = post(&base, "k", "/v3/videos", &body, Some("key-1")).await;
    assert_eq!((s2, &b2), (StatusCode::OK, &b1), "a replay is the first answer");
    let stats = sim.stats();
    assert_eq!(
        (
            stats.creates_by_idempotency_key["key-1"],
            stats.idempotent_replays,
            stats.in_progress_409
        ),
        (1, 1, 1)
    );
    let (s3, _, _) = post(&base, "k", "/v3/videos", &body, Some("bad key!")).await;
    assert_eq!(s3, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_limits_and_tokens_are_checked() {
    let sim = start(fast()).await;
    let base = sim.base_url();
    let (s, body) = get(&base, "k", "/v3/avatars/looks?limit=51").await;
    assert_eq!((s, body["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    assert_eq!(body["error"]["message"], "'limit' must be between 1 and 50.");
    let (s, _) = get(&base, "k", "/v3/voices?token=forged").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, first) = get(&base, "k", "/v3/templates?limit=2").await;
    assert_eq!(first["has_more"], true);
    let token = first["next_token"].as_str().unwrap();
    let (_, last) = get(&base, "k", &format!("/v3/templates?limit=2&token={token}")).await;
    assert_eq!((last["has_more"].as_bool(), last["next_token"].is_null()), (Some(false), true));
    let (s, _) =
        get(&base, "k", &format!("/v3/videos/statuses?video_ids={}", vec!["v"; 101].join(",")))
            .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auth_is_required_and_the_401_code_is_configurable() {
    let sim = start(SimConfig { auth_error_code: "authentication_failed", ..fast() }).await;
    let resp =
        crate::support::http().get(format!("{}/v3/users/me", sim.base_url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "authentication_failed");
    let bearer = crate::support::http()
        .get(format!("{}/v3/users/me", sim.base_url()))
        .bearer_auth("token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn media_urls_are_served_and_expire() {
    let sim =
        start(manual(SimConfig { render_secs: 0.05, url_ttl_secs: 1.0, ..SimConfig::default() }))
            .await;
    let base = sim.base_url();
    let (_, created, _) = post(
        &base,
        "k",
        "/v3/videos",
        &json!({"type": "avatar", "avatar_id": LOOK, "script": "hi there", "caption": {}}),
        None,
    )
    .await;
    let id = created["data"]["video_id"].as_str().unwrap();
    sim.clock().advance(0.1);
    let (_, v) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    let url = v["data"]["video_url"].as_str().unwrap().to_owned();
    assert!(v["data"]["captioned_video_url"].is_null(), "no style, no burned-in captions");
    let srt = crate::support::http()
        .get(v["data"]["subtitle_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(srt.contains("hi there"), "{srt}");
    let bytes = crate::support::http().get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[4..8], b"ftyp");
    let forged = url.replace("Signature=", "Signature=0");
    assert_eq!(
        crate::support::http().get(&forged).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    sim.clock().advance(1.0);
    assert_eq!(
        crate::support::http().get(&url).send().await.unwrap().status(),
        StatusCode::OK,
        "still valid at its expiry second"
    );
    sim.clock().advance(1.0);
    assert_eq!(
        crate::support::http().get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "expired"
    );
    let (_, fresh) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(
        crate::support::http()
            .get(fresh["data"]["video_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn templates_render_through_generate() {
    let sim = start(fast()).await;
    let base = sim.base_url();
    let ok = json!({"variables": {"first_name": {"type": "text", "content": "Ada"}}, "title": "Ada's welcome"});
    let (s, v, _) = post(&base, "k", "/v3/templates/tpl_welcome_16x9", &ok, Some("t1")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["status"], "pending", "generate answers with a VideoDetail");
    let bad = json!({"variables": {"frist_name": {"type": "text", "content": "Ada"}}});
    let (s, v, _) = post(&base, "k", "/v3/templates/tpl_welcome_16x9", &bad, None).await;
    assert_eq!(
        (s, v["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("variables.frist_name"))
    );
    let wrong_type = json!({"variables": {"logo": {"type": "text", "content": "x"}}});
    assert_eq!(
        post(&base, "k", "/v3/templates/tpl_welcome_16x9", &wrong_type, None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&base, "k", "/v3/templates/tpl_nope", &ok, None).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Creates `n` videos for key `k` and returns their ids in order.
async fn create_many(base: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, created, _) =
            post(base, "k", "/v3/videos", &avatar(&format!("video {i}")), None).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        ids.push(created["data"]["video_id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Which of `ids` are completed now.
async fn completed(base: &str, ids: &[String]) -> Vec<bool> {
    let (_, s) = get(base, "k", &format!("/v3/videos/statuses?video_ids={}", ids.join(","))).await;
    s["data"].as_array().unwrap().iter().map(|v| v["status"] == "completed").collect()
}

#[tokio::test]
async fn render_times_vary_with_a_heavy_tail_deterministically() {
    let config = |seed| {
        manual(SimConfig {
            render_secs: 10.0,
            render_jitter: 0.2,
            render_tail_rate: 0.25,
            render_tail_factor: 3.0,
            max_jobs: 100,
            balance_usd: 1e6,
            seed,
            ..SimConfig::default()
        })
    };
    let mut patterns = Vec::new();
    for seed in [7, 7, 8] {
        let sim = start(config(seed)).await;
        let base = sim.base_url();
        let ids = create_many(&base, 40).await;
        sim.clock().advance(7.9);
        assert!(completed(&base, &ids).await.iter().all(|c| !c), "none before 0.8 × the mean");
        sim.clock().advance(4.2);
        let at_12 = completed(&base, &ids).await;
        let tail = at_12.iter().filter(|c| !**c).count();
        assert!((3..=20).contains(&tail), "about a quarter are in the tail: {tail} of 40");
        sim.clock().advance(17.8);
        let at_29_9 = completed(&base, &ids).await;
        assert_eq!(at_29_9, at_12, "tail renders take 3 × 10 s, not less");
        sim.clock().advance(0.2);
        assert!(completed(&base, &ids).await.iter().all(|c| *c), "all done at 30.1 s");
        patterns.push((ids, at_12));
    }
    assert_eq!(patterns[0], patterns[1], "the same seed gives the same ids and render times");
    assert_ne!(patterns[0].1, patterns[2].1, "another seed, another draw");
}

#[tokio::test]
async fn log_normal_render_times_keep_the_mean() {
    let sim = start(manual(SimConfig {
        render_secs: 10.0,
        render_sigma: 0.6,
        max_jobs: 200,
        balance_usd: 1e6,
        ..SimConfig::default()
    }))
    .await;
    let base = sim.base_url();
    let ids = create_many(&base, 100).await;
    // Count completions second by second: the mean of the completion times.
    let (mut done_before, mut total, mut slow) = (0usize, 0.0, 0usize);
    for t in 1..=200 {
        sim.clock().advance(1.0);
        let done = completed(&base, &ids).await.iter().filter(|c| **c).count();
        total += (done - done_before) as f64 * (t as f64 - 0.5);
        if t == 20 {
            slow = ids.len() - done;
        }
        done_before = done;
        if done == ids.len() {
            break;
        }
    }
    assert_eq!(done_before, ids.len());
    let mean = total / ids.len() as f64;
    assert!((8.0..12.0).contains(&mean), "mean render {mean:.1} s, asked 10 s");
    assert!(slow >= 1, "a long right tail: some renders take more than twice the mean");
}

#[tokio::test]
async fn delayed_responses_hold_their_share_per_endpoint_class() {
    let config = || {
        manual(SimConfig {
            render_secs: 5.0,
            delays: Delays::parse("statuses=40%:120").unwrap(),
            ..SimConfig::default()
        })
    };
    let mut held_counts = Vec::new();
    for _ in 0..2 {
        let sim = start(config()).await;
        let base = sim.base_url();
        let ids = create_many(&base, 3).await;
        assert_eq!(sim.clock().sleepers(), 0, "creates are not delayed");
        let (status, _) = get(&base, "k", &format!("/v3/videos/{}", ids[0])).await;
        assert_eq!(status, StatusCode::OK, "details are not delayed");
        let path = format!("/v3/videos/statuses?video_ids={}", ids.join(","));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (base, path) = (base.clone(), path.clone());
                tokio::spawn(async move { get(&base, "k", &path).await })
            })
            .collect();
        // Every request has either answered or is held by the clock.
        let mut answered = 0;
        for _ in 0..2000 {
            answered = tasks.iter().filter(|t| t.is_finished()).count();
            if answered + sim.clock().sleepers() == tasks.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let held = tasks.len() - answered;
        assert!((2..=16).contains(&held), "about 40 % of 20 held: {held}");
        assert_eq!(sim.stats().delayed_by_class.get("statuses").copied(), Some(held as u64));
        let answered_early: Vec<bool> = tasks.iter().map(|t| t.is_finished()).collect();
        sim.clock().advance(119.0);
        assert_eq!(sim.clock().sleepers(), held, "still held after 119 s");
        sim.clock().advance(1.0);
        for (t, early) in tasks.into_iter().zip(answered_early) {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, StatusCode::OK);
            // A held request is processed after its wait: by then all are done.
            let want = if early { "queued" } else { "completed" };
            assert!(body["data"].as_array().unwrap().iter().all(|v| v["status"] == want), "{body}");
        }
        held_counts.push(held);
    }
    assert_eq!(held_counts[0], held_counts[1], "the same seed holds the same share");
}

#[tokio::test]
async fn random_429s_carry_retry_after() {
    let sim = start(SimConfig { rate_limit_rate: 1.0, ..fast() }).await;
    let resp = crate::support::http()
        .get(format!("{}/v3/users/me", sim.base_url()))
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn a_scaled_clock_runs_renders_and_waits_faster() {
    let sim = start(SimConfig {
        render_secs: 60.0,
        max_jobs: 1,
        clock: Clock::scaled(600.0),
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url();
    let ids = create_many(&base, 1).await;
    let (status, _, headers) = post(&base, "k", "/v3/videos", &avatar("second"), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1", "60 s at 600× is 0.1 real seconds, rounded up to 1");
    let started = std::time::Instant::now();
    while !completed(&base, &ids).await[0] {
        assert!(started.elapsed() < Duration::from_secs(5), "a 60 s render at 600× takes 0.1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn knobs_are_checked_on_flags_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| crate::support::reelflow(dir.path(), args, env);
    let out = run(&["sim", "serve", "--delay", "statuses=3%"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--delay 'statuses=3%': expected CLASS=RATE:SECS"),
        "{}",
        out.stderr
    );
    let out = run(&["sim", "serve", "--render-tail-rate", "1.5"], &[]);
    assert!(out.stderr.contains("--render-tail-rate must be between 0 and 1"), "{}", out.stderr);
    let out = run(&["--sim", "avatars"], &[("REELFLOW_SIM_MAX_JOBS", "0")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("REELFLOW_SIM_MAX_JOBS must be at least 1"), "{}", out.stderr);
    let out = run(&["--sim", "avatars"], &[("REELFLOW_SIM_DELAY", "detail=0.1:x")]);
    assert!(out.stderr.contains("REELFLOW_SIM_DELAY: 'detail=0.1:x'"), "{}", out.stderr);
    let out = run(&["--sim", "avatars"], &[("REELFLOW_SIM_RENDER_TAIL_FACTOR", "three")]);
    assert!(
        out.stderr.contains("REELFLOW_SIM_RENDER_TAIL_FACTOR=three is not a number"),
        "{}",
        out.stderr
    );
    let help = run(&["sim", "serve", "--help"], &[]);
    for knob in
        ["--render-tail-rate", "--render-sigma", "--delay", "--clock-scale", "REELFLOW_SIM_DELAY"]
    {
        assert!(help.stdout.contains(knob), "{knob} in help:\n{}", help.stdout);
    }
}

// ---- the durable world ----------------------------------------------------

/// A config on the world file `path` with a shared manual clock.
fn on_world(path: &std::path::Path, clock: &Clock, config: SimConfig) -> SimConfig {
    SimConfig { state_file: Some(path.to_owned()), clock: clock.clone(), ..config }
}

#[tokio::test]
async fn two_simulators_on_one_world_share_videos_the_job_cap_and_the_id_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.sqlite3");
    let clock = Clock::manual(T0);
    let config = || {
        on_world(
            &path,
            &clock,
            SimConfig { render_secs: 10.0, max_jobs: 3, ..SimConfig::default() },
        )
    };
    let (a, b) = (start(config()).await, start(config()).await);
    let (base_a, base_b) = (a.base_url(), b.base_url());

    let (_, made, _) = post(&base_a, "k", "/v3/videos", &avatar("made on a"), None).await;
    let id = made["data"]["video_id"].as_str().unwrap().to_owned();
    let (status, seen) = get(&base_b, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!((status, seen["data"]["status"].as_str()), (StatusCode::OK, Some("pending")));

    // The job cap is the account's, whichever simulator answers.
    assert_eq!(post(&base_b, "k", "/v3/videos", &avatar("b1"), None).await.0, StatusCode::OK);
    assert_eq!(post(&base_a, "k", "/v3/videos", &avatar("a2"), None).await.0, StatusCode::OK);
    let (status, _, headers) = post(&base_b, "k", "/v3/videos", &avatar("b2"), None).await;
    assert_eq!(
        (status, &headers["retry-after"]),
        (StatusCode::TOO_MANY_REQUESTS, &"10".parse().unwrap())
    );

    // An Idempotency-Key used on one replays on the other.
    let (_, first, _) = post(&base_a, "other", "/v3/videos", &avatar("keyed"), Some("row-1")).await;
    let (_, again, _) = post(&base_b, "other", "/v3/videos", &avatar("keyed"), Some("row-1")).await;
    assert_eq!(first, again);

    // Interleaved creates on both never hand out the same id.
    let mut ids = vec![id.clone()];
    for i in 0..10 {
        let base = if i % 2 == 0 { &base_a } else { &base_b };
        let (status, v, _) =
            post(base, &format!("key-{i}"), "/v3/videos", &avatar("x"), None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        ids.push(v["data"]["video_id"].as_str().unwrap().to_owned());
    }
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");

    // Completion is charged once, by whichever simulator sees it first.
    clock.advance(10.0);
    let (_, done) = get(&base_b, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(done["data"]["status"], "completed");
    let (_, me_a) = get(&base_a, "k", "/v3/users/me").await;
    let (_, me_b) = get(&base_b, "k", "/v3/users/me").await;
    assert_eq!(me_a["data"]["wallet"], me_b["data"]["wallet"]);
    let charged = a.stats().charged_usd + b.stats().charged_usd;
    let balance = me_a["data"]["wallet"]["remaining_balance"].as_f64().unwrap();
    assert!((100.0 - balance - charged).abs() < 0.01, "charged {charged}, balance {balance}");

    // A delete on one is a 404 on the other.
    let resp = crate::support::http()
        .delete(format!("{base_a}/v3/videos/{id}"))
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(get(&base_b, "k", &format!("/v3/videos/{id}")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_world_survives_restarts_and_renders_finish_while_nobody_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.sqlite3");
    let clock = Clock::manual(T0);
    let config =
        || on_world(&path, &clock, SimConfig { render_secs: 10.0, ..SimConfig::default() });
    let mut ids = Vec::new();
    let first = start(config()).await;
    ids.extend(create_many(&first.base_url(), 3).await);
    let (_, keyed, _) =
        post(&first.base_url(), "k", "/v3/videos", &avatar("keyed"), Some("row-9")).await;
    drop(first);

    // Nobody is serving while the renders run.
    clock.advance(11.0);
    let second = start(config()).await;
    let base = second.base_url();
    assert!(completed(&base, &ids).await.iter().all(|c| *c), "finished by the clock");
    let (_, me) = get(&base, "k", "/v3/users/me").await;
    let balance = me["data"]["wallet"]["remaining_balance"].as_f64().unwrap();
    assert!(balance < 100.0, "completed renders were charged: {balance}");
    let (_, replay, _) = post(&base, "k", "/v3/videos", &avatar("keyed"), Some("row-9")).await;
    assert_eq!(replay, keyed, "the Idempotency-Key outlived the restart");
    ids.extend(create_many(&base, 3).await);
    drop(second);

    let third = start(config()).await;
    ids.extend(create_many(&third.base_url(), 3).await);
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 9, "ids are never reused across restarts: {ids:?}");
    let (_, me_again) = get(&third.base_url(), "k", "/v3/users/me").await;
    assert_eq!(
        me_again["data"]["wallet"]["remaining_balance"].as_f64().unwrap(),
        balance,
        "charged once"
    );
}

#[tokio::test]
async fn a_world_file_that_is_not_one_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim-state.json");
    std::fs::write(&path, r#"{"accounts": {}, "counter": 3}"#).unwrap();
    let config = SimConfig { state_file: Some(path.clone()), ..fast() };
    let err = Simulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("is not a simulator world"),
        "{text}"
    );
}

/// Runs the binary under `--sim`-friendly settings on the world at `world`.
fn on_world_bin(
    dir: &std::path::Path,
    world: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> crate::support::Output {
    let world = world.to_str().unwrap();
    // Renders finish at once, so every charge lands before the next
    // command looks at a wallet.
    let mut all = vec![("REELFLOW_SIM_STATE", world), ("REELFLOW_SIM_RENDER_SECS", "0")];
    all.extend_from_slice(env);
    crate::support::reelflow(dir, args, &all)
}

fn body_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("body.json");
    std::fs::write(&path, avatar("Hello from another terminal.").to_string()).unwrap();
    path
}

fn json_of(out: &crate::support::Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.transcript()))
}

#[test]
fn processes_share_the_sim_world_and_reset_and_wallet_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.sqlite3");
    let body = body_file(dir.path());
    let body = body.to_str().unwrap();
    let bin = |args: &[&str], env: &[(&str, &str)]| on_world_bin(dir.path(), &world, args, env);

    // Six processes create at once; every video is distinct and visible to a seventh.
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (dir, world, body) = (dir.path().to_owned(), world.clone(), body.to_owned());
            std::thread::spawn(move || {
                on_world_bin(
                    &dir,
                    &world,
                    &["--sim", "--json", "videos", "create", "--body", &body],
                    &[],
                )
            })
        })
        .collect();
    let mut ids: Vec<String> = handles
        .into_iter()
        .map(|h| {
            let out = h.join().unwrap();
            assert_eq!(out.code, 0, "{}", out.transcript());
            json_of(&out)["data"]["video_id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "{ids:?}");
    let listed = json_of(&bin(&["--sim", "--json", "videos", "list", "--limit", "20"], &[]));
    for id in &ids {
        assert!(listed.to_string().contains(id.as_str()), "{id} listed by another process");
    }

    // A wallet set from the command line is what the API says.
    let wallets = json_of(&bin(&["--json", "sim", "wallet", "--set", "500"], &[]));
    assert_eq!(wallets["data"][0]["account"], "default");
    assert_eq!(wallets["data"][0]["balance_usd"], 500.0);
    let me = json_of(&bin(&["--sim", "--json", "me"], &[]));
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 500.0);
    let human = bin(&["sim", "wallet"], &[]);
    assert!(human.stdout.starts_with("ACCOUNT  BALANCE"), "{}", human.transcript());
    // The balance variable applies to the world as it is.
    let me = json_of(&bin(&["--sim", "--json", "me"], &[("REELFLOW_SIM_BALANCE_USD", "42")]));
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 42.0);
    let me = json_of(&bin(&["--sim", "--json", "me"], &[]));
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 42.0, "and stays");

    // --account sets one account's wallet only.
    let alt = json_of(&bin(&["--json", "--account", "alt", "sim", "wallet", "--set", "7"], &[]));
    assert_eq!(
        alt["data"],
        json!([{"account": "alt", "balance_usd": 7.0, "held_usd": 0.0, "videos": 1, "rendering": 0}])
    );
    let me = json_of(&bin(&["--sim", "--json", "--account", "alt", "me"], &[]));
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 7.0);
    let me = json_of(&bin(&["--sim", "--json", "me"], &[]));
    assert_eq!(
        me["data"]["wallet"]["remaining_balance"], 42.0,
        "the default account kept its wallet"
    );

    // Reset forgets the videos; new ids are still new.
    let reset = bin(&["sim", "reset"], &[]);
    assert_eq!(reset.code, 0, "{}", reset.transcript());
    assert!(reset.stderr.contains("6 videos forgotten"), "{}", reset.stderr);
    let gone = bin(&["--sim", "videos", "get", &ids[0]], &[]);
    assert_ne!(gone.code, 0, "{}", gone.transcript());
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    let me = json_of(&bin(&["--sim", "--json", "me"], &[]));
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 100.0, "a fresh wallet");
    let again = json_of(&bin(&["--sim", "--json", "videos", "create", "--body", body], &[]));
    let new_id = again["data"]["video_id"].as_str().unwrap();
    assert!(!ids.iter().any(|i| i == new_id), "{new_id} was handed out before the reset");

    let none = crate::support::reelflow(dir.path(), &["sim", "wallet"], &[]);
    assert_eq!(none.code, 2, "REELFLOW_SIM_STATE=none has no world: {}", none.transcript());
}

#[test]
fn a_sigkilled_sim_run_resumes_as_against_heygen() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.sqlite3");
    let rows = 12;
    let mut csv = String::from("id,name\n");
    for i in 0..rows {
        csv.push_str(&format!("u{i:02},Person {i}\n"));
    }
    std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("campaign.yaml"),
        "version: 1\nname: kill-sim\ndata:\n  csv: rows.csv\n  key: \"{{ id }}\"\nvideo:\n  scenes:\n    - avatar: Abigail_expressive_2024112501\n      voice: 1bd001e7e50f421d891986aad5c8bbd2\n      script: \"Hello {{ name }}, welcome aboard.\"\noutput:\n  results: out/results.json\n  download: \"out/videos/{{ key }}.mp4\"\nrun:\n  poll:\n    every: 1s\n",
    )
    .unwrap();
    let env = [
        ("REELFLOW_SIM_STATE", world.to_str().unwrap()),
        ("REELFLOW_SIM_RENDER_SECS", "1.5"),
        ("REELFLOW_SIM_MAX_JOBS", "4"),
    ];
    let mut cmd = crate::support::command(dir.path());
    cmd.args(["run", "campaign.yaml", "--sim", "--concurrency", "4"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // Kill it once the world holds some of its videos (and not all).
    let file = reelflow::sim::WorldFile::open(SimConfig {
        state_file: Some(world.clone()),
        ..SimConfig::default()
    })
    .unwrap();
    let accepted = || file.wallets().unwrap().first().map(|w| w.videos - 1).unwrap_or(0);
    for _ in 0..3000 {
        if accepted() >= 4 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill(); // SIGKILL: no cleanup runs
    let _ = child.wait();
    let before = accepted();
    assert!((4..rows).contains(&before), "killed mid-run with {before} videos accepted");

    let rerun = crate::support::reelflow(dir.path(), &["run", "campaign.yaml", "--sim"], &env);
    assert_eq!(rerun.code, 0, "{}", rerun.transcript());
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/results.json")).unwrap(),
    )
    .unwrap();
    let entries = results["entries"].as_array().unwrap();
    assert_eq!(entries.len(), rows);
    assert!(entries.iter().all(|e| e["status"] == "completed"), "{results:#}");
    let mut ids: Vec<&str> = entries.iter().map(|e| e["video_id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), rows, "one distinct video per row");
    assert_eq!(accepted(), rows, "no video created twice across the kill");
}

#[tokio::test]
async fn media_and_create_delays_hold_only_their_own_requests() {
    let sim = start(manual(SimConfig {
        render_secs: 1.0,
        delays: Delays::parse("media=100%:30,create=100%:5").unwrap(),
        ..SimConfig::default()
    }))
    .await;
    let base = sim.base_url();
    let create = tokio::spawn({
        let base = base.clone();
        async move { post(&base, "k", "/v3/videos", &avatar("held create"), None).await }
    });
    until_held(&sim, 1).await;
    assert_eq!(get(&base, "k", "/v3/users/me").await.0, StatusCode::OK, "others are not held");
    assert_eq!(sim.stats().videos_created, 0, "a held create is not processed yet");
    sim.clock().advance(5.0);
    let (status, created, _) = create.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let id = created["data"]["video_id"].as_str().unwrap();
    sim.clock().advance(1.0);
    let (_, v) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    let url = v["data"]["video_url"].as_str().unwrap().to_owned();
    let download = tokio::spawn(async move { crate::support::http().get(&url).send().await });
    until_held(&sim, 1).await;
    sim.clock().advance(30.0);
    assert_eq!(download.await.unwrap().unwrap().status(), StatusCode::OK);
    let delayed = sim.stats().delayed_by_class;
    assert_eq!((delayed.get("create"), delayed.get("media")), (Some(&1), Some(&1)));
}

// ---- folders and uploads ----------------------------------------------------

/// Makes a folder for key `k` and returns its id.
async fn folder(base: &str, key: &str, name: &str, idem: Option<&str>) -> String {
    let (status, made, _) = post(base, key, "/v3/folders", &json!({"name": name}), idem).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    made["data"]["folder_id"].as_str().unwrap().to_owned()
}

/// A multipart upload of `bytes` as the part `file`; the answer.
async fn upload(base: &str, key: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let mut body = b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n".to_vec();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--b0--\r\n");
    let resp = crate::support::http()
        .post(format!("{base}/v3/assets"))
        .header("x-api-key", key)
        .header("content-type", "multipart/form-data; boundary=b0")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn trash(base: &str, folder_id: &str) {
    let resp = crate::support::http()
        .post(format!("{base}/_sim/folders/{folder_id}/trash"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn folders_and_uploads_survive_a_restart_on_the_same_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.sqlite3");
    let clock = Clock::manual(T0);
    let config = || on_world(&path, &clock, SimConfig { render_secs: 10.0, ..fast() });

    let first = start(config()).await;
    let base = first.base_url();
    let campaign = folder(&base, "k", "Spring onboarding", Some("folder-1")).await;
    let (status, uploaded) = upload(&base, "k", b"\x89PNG logo").await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    let asset = uploaded["data"]["asset_id"].as_str().unwrap().to_owned();
    let direct = json!({"filename": "intro.mp4", "content_type": "video/mp4", "size_bytes": 5});
    let (status, pending, _) = post(&base, "k", "/v3/assets/direct-uploads", &direct, None).await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    let big = pending["data"]["asset_id"].as_str().unwrap().to_owned();
    // Another simulator on the file sees the folder at once.
    let other = start(config()).await;
    let (status, seen) = get(&other.base_url(), "k", &format!("/v3/folders/{campaign}")).await;
    assert_eq!((status, &seen["data"]["name"]), (StatusCode::OK, &json!("Spring onboarding")));
    drop((first, other));

    let second = start(config()).await;
    let base = second.base_url();
    let (status, seen) = get(&base, "k", &format!("/v3/folders/{campaign}")).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["data"]["name"], "Spring onboarding");
    assert_eq!(seen["data"]["is_trash"], false);
    assert_eq!(
        folder(&base, "k", "Spring onboarding", Some("folder-1")).await,
        campaign,
        "the Idempotency-Key replays the folder, not a second one"
    );
    let (status, v, _) = post(&base, "k", "/v3/videos", &avatar_in("hi", &campaign), None).await;
    assert_eq!(status, StatusCode::OK, "a restarted simulator files into the folder: {v}");
    // The direct upload started before the restart finishes after it.
    let put = crate::support::http()
        .put(format!("{base}/_sim/uploads/{big}?X-Sim-Signature=1"))
        .body(b"12345".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let (status, done, _) =
        post(&base, "k", &format!("/v3/assets/{big}/complete"), &json!({}), None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["data"]["size_bytes"], 5);
    let (status, _, _) =
        post(&base, "other", &format!("/v3/assets/{big}/complete"), &json!({}), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "assets belong to their account");

    // New ids never repeat old ones, across restarts and a reset.
    let again = folder(&base, "k", "Spring onboarding", None).await;
    let (_, second_upload) = upload(&base, "k", b"\x89PNG logo").await;
    drop(second);
    let world = reelflow::sim::WorldFile::open(config()).unwrap();
    world.reset().unwrap();
    drop(world);
    let third = start(config()).await;
    let base = third.base_url();
    assert_eq!(get(&base, "k", &format!("/v3/folders/{campaign}")).await.0, StatusCode::NOT_FOUND);
    let after_reset = folder(&base, "k", "Spring onboarding", Some("folder-1")).await;
    let (_, third_upload) = upload(&base, "k", b"\x89PNG logo").await;
    let ids = [
        campaign,
        again,
        after_reset,
        asset,
        big,
        second_upload["data"]["asset_id"].as_str().unwrap().to_owned(),
        third_upload["data"]["asset_id"].as_str().unwrap().to_owned(),
    ];
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
}

/// An avatar create filed in `folder_id`.
fn avatar_in(script: &str, folder_id: &str) -> Value {
    let mut body = avatar(script);
    body["folder_id"] = json!(folder_id);
    body
}

#[tokio::test]
async fn a_create_into_a_folder_that_is_not_usable_is_refused_with_param() {
    let sim = start(manual(SimConfig { render_secs: 10.0, ..SimConfig::default() })).await;
    let base = sim.base_url();
    let mine = folder(&base, "k", "Mine", None).await;
    let theirs = folder(&base, "someone-else", "Theirs", None).await;
    let trashed = folder(&base, "k", "Old campaign", None).await;
    trash(&base, &trashed).await;
    let template = "/v3/templates/tpl_welcome_16x9";
    let generate = |folder_id: &str| json!({"variables": {"first_name": {"type": "text", "content": "Ada"}}, "folder_id": folder_id});
    for (what, id) in
        [("unknown", "fld_nope"), ("another account's", &theirs), ("trashed", &trashed)]
    {
        let (status, answer, _) = post(&base, "k", "/v3/videos", &avatar_in("x", id), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{what}");
        assert_eq!(answer["error"]["param"], "folder_id", "{what}: {answer}");
        let (status, answer, _) = post(&base, "k", template, &generate(id), None).await;
        assert_eq!(
            (status, answer["error"]["param"].as_str()),
            (StatusCode::NOT_FOUND, Some("folder_id")),
            "template generate, {what}: {answer}"
        );
    }
    assert_eq!(sim.stats().videos_created, 0, "refused before anything is created");
    let (_, me) = get(&base, "k", "/v3/users/me").await;
    assert_eq!(me["data"]["wallet"]["remaining_balance"], 100.0, "nothing held or charged");

    // A usable folder is recorded on the video; an empty id is the root.
    let (status, made, _) = post(&base, "k", "/v3/videos", &avatar_in("x", &mine), None).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["data"]["video_id"].as_str().unwrap();
    let (_, v) = get(&base, "k", &format!("/v3/videos/{id}")).await;
    assert_eq!(v["data"]["folder_id"], mine.as_str());
    let (status, made, _) = post(&base, "k", template, &generate(&mine), None).await;
    assert_eq!((status, &made["data"]["folder_id"]), (StatusCode::OK, &json!(mine)));
    let (status, made, _) = post(&base, "k", "/v3/videos", &avatar_in("x", ""), None).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let id = made["data"]["video_id"].as_str().unwrap();
    assert_eq!(
        get(&base, "k", &format!("/v3/videos/{id}")).await.1["data"]["folder_id"],
        Value::Null
    );
}

/// Every page of `GET /v3/videos?…` for key `k`: the ids in order and the
/// items.
async fn all_pages(base: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let tok = token.as_ref().map(|t| format!("&token={t}")).unwrap_or_default();
        let (status, page) = get(base, "k", &format!("/v3/videos?{query}{tok}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_token"].as_str() {
            Some(t) => {
                assert_eq!(page["has_more"], true);
                token = Some(t.to_owned());
            }
            None => {
                assert_eq!(page["has_more"], false);
                return items;
            }
        }
    }
    panic!("paging did not end");
}

fn ids_of(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn listing_by_folder_returns_exactly_that_folders_videos_across_pages() {
    let sim =
        start(manual(SimConfig { render_secs: 100.0, max_jobs: 50, ..SimConfig::default() })).await;
    let base = sim.base_url();
    let (a, b) = (folder(&base, "k", "A", None).await, folder(&base, "k", "B", None).await);
    let mut in_a = Vec::new();
    for i in 0..7 {
        // Interleaved with videos elsewhere, some created at the same instant.
        let (status, made, _) =
            post(&base, "k", "/v3/videos", &avatar_in(&format!("a{i}"), &a), None).await;
        assert_eq!(status, StatusCode::OK, "{made}");
        in_a.push(made["data"]["video_id"].as_str().unwrap().to_owned());
        if i % 2 == 0 {
            post(&base, "k", "/v3/videos", &avatar_in("b", &b), None).await;
            post(&base, "k", "/v3/videos", &avatar("root"), None).await;
        }
        if i % 3 == 0 {
            sim.clock().advance(1.0);
        }
    }
    let newest_first: Vec<String> = in_a.iter().rev().cloned().collect();
    let listed = all_pages(&base, &format!("folder_id={a}&limit=3")).await;
    assert_eq!(ids_of(&listed), newest_first, "exactly folder A's videos, newest first");
    for item in &listed {
        assert_eq!(item["folder_id"], a.as_str());
        assert_eq!(item["status"], "pending", "{item}");
        for field in ["video_url", "thumbnail_url", "gif_url", "duration", "failure_code"] {
            assert!(item.get(field).is_some_and(Value::is_null), "{field} in {item}");
        }
    }
    assert_eq!(all_pages(&base, &format!("folder_id={b}&limit=2")).await.len(), 4);
    assert_eq!(
        all_pages(&base, "limit=100").await.len(),
        7 + 4 + 4 + 1,
        "unfiltered: all, seed example included"
    );

    // Videos created while a campaign is followed page by page neither
    // shift nor repeat the pages already started.
    let (_, first) = get(&base, "k", &format!("/v3/videos?folder_id={a}&limit=3")).await;
    let token = first["next_token"].as_str().unwrap().to_owned();
    post(&base, "k", "/v3/videos", &avatar_in("late", &a), None).await;
    let (_, second) =
        get(&base, "k", &format!("/v3/videos?folder_id={a}&limit=3&token={token}")).await;
    assert_eq!(ids_of(second["data"].as_array().unwrap()), newest_first[3..6]);
    // A token is for the listing it came from.
    let (status, refused) =
        get(&base, "k", &format!("/v3/videos?folder_id={b}&token={token}")).await;
    assert_eq!(
        (status, refused["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("token"))
    );

    // Done renders carry their URLs, and the client reads the list as VideoDetail.
    sim.clock().advance(200.0);
    let client = crate::support::client(&sim, "k");
    let page = client.list_videos_in_folder(&a, None).await.unwrap();
    assert_eq!(page.data.len(), 8);
    assert!(!page.has_more);
    for v in &page.data {
        assert_eq!(v.folder_id.as_deref(), Some(a.as_str()));
        assert!(
            v.video_url.is_some() && v.thumbnail_url.is_some() && v.duration.is_some(),
            "{v:?}"
        );
    }
    let (_, unknown) = get(&base, "k", "/v3/videos?folder_id=fld_nope").await;
    assert_eq!(unknown["data"], json!([]), "an unknown folder has no videos");
}
