//! HeyGen as of November 2026 (issue 10): the November schemas' create
//! bodies, the July shapes HeyGen removed, campaign folders, local files
//! uploaded once, template text variables, pricing tables and the 403
//! scope hint. Offline rules and the simulator must answer alike.

use std::path::{Path, PathBuf};

use reelflow::heygen::wire::*;
use reelflow::heygen::{ApiError, rules};
use reelflow::sim::{BackgroundSimulator, SimConfig, Simulator};
use serde_json::{Value, json};

use crate::support::{background, http, reelflow};

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/heygen-v3-2026-11")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// POSTs `body` to the simulator's `path`; returns (status, JSON).
async fn post(sim: &Simulator, path: &str, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", sim.base_url()))
        .header("x-api-key", "sk_fidelity")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[test]
fn every_november_create_example_parses_and_passes_the_rules() {
    let examples = fixture("cli_examples.json");
    let mut commands: Vec<&str> = Vec::new();
    for ex in examples.as_array().unwrap() {
        let command = ex["command"].as_str().unwrap();
        commands.push(command);
        let body = ex["body"].clone();
        match command {
            "VideoCreate" => {
                let req = CreateVideoRequest::from_value(body.clone())
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ex["example"]));
                assert_eq!(serde_json::to_value(&req).unwrap(), body, "round-trips");
                assert_eq!(rules::check_create(&req), [], "{}", ex["example"]);
            }
            "VideoBatchesCreate" => {
                let b: CreateBatchRequest = serde_json::from_value(body).unwrap();
                assert_eq!(rules::check_batch(&b), []);
            }
            "FolderCreate" => {
                let f: CreateFolder = serde_json::from_value(body.clone()).unwrap();
                assert_eq!(serde_json::to_value(&f).unwrap(), body);
            }
            // Creates of products reelflow does not send (filler-word
            // removal, lipsync, voice cloning, model videos, translations,
            // look packs): named here so a new video example cannot slip by.
            "AvatarLooksCreate"
            | "FillerWordRemovalCreate"
            | "LipsyncBatchesCreate"
            | "ModelAudioVoicesCreate"
            | "ModelVideosCreate"
            | "VideoTranslateBatchesCreate" => {}
            other => panic!("no parser mapped for the example of {other}"),
        }
    }
    assert!(commands.contains(&"VideoCreate") && commands.contains(&"FolderCreate"));

    let studio = fixture("create_video.request.studio.schema_derived.json");
    let req = CreateVideoRequest::from_value(studio.clone()).unwrap();
    assert_eq!(serde_json::to_value(&req).unwrap(), studio, "the November studio body round-trips");
    assert_eq!(rules::check_create(&req), []);
}

/// Bodies HeyGen's November schemas reject, with the `param` and a word
/// the message must carry.
fn removed_shapes() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let look = "Abigail_expressive_2024112501";
    let voice = "1bd001e7e50f421d891986aad5c8bbd2";
    vec![
        (
            "studio image input (July)",
            json!({"type": "studio", "scenes": [{"type": "avatar_video", "input": {"type": "image", "image": {"type": "url", "url": "https://example.com/p.png"}, "script": "Hi", "voice_id": voice}}]}),
            "scenes[0].input.type",
            "photo-avatar look id",
        ),
        (
            "cinematic 4:5 (narrowed)",
            json!({"type": "cinematic_avatar", "prompt": "A walk", "avatar_id": [look], "aspect_ratio": "4:5"}),
            "aspect_ratio",
            "'16:9', '9:16' or '1:1'",
        ),
        (
            "eleven_v3 stability 0.3",
            json!({"type": "avatar", "avatar_id": look, "script": "Hi", "voice_id": voice, "voice_settings": {"engine_settings": {"engine_type": "elevenlabs", "model": "eleven_v3", "stability": 0.3}}}),
            "voice_settings.engine_settings.stability",
            "0, 0.5, or 1",
        ),
        (
            "playback.mode without a voiceover",
            json!({"type": "studio", "scenes": [{"type": "video", "source": {"type": "url", "url": "https://example.com/c.mp4"}, "playback": {"mode": "loop"}}]}),
            "scenes[0].playback.mode",
            "voiceover",
        ),
        (
            "video-scene voiceover with two audio sources",
            json!({"type": "studio", "scenes": [{"type": "video", "source": {"type": "url", "url": "https://example.com/c.mp4"}, "script": "Hi", "voice_id": voice, "audio_url": "https://example.com/a.mp3"}]}),
            "scenes[0].script",
            "mutually exclusive",
        ),
        (
            "video background (never in v3)",
            json!({"type": "avatar", "avatar_id": look, "script": "Hi", "background": {"type": "video", "url": "https://example.com/b.mp4"}}),
            "background.type",
            "",
        ),
        (
            "reference look that is not a digital twin",
            json!({"type": "avatar", "avatar_id": look, "script": "Hi", "engine": {"type": "avatar_v", "reference_look_id": "Brandon_sitting_2024112502"}}),
            "engine.reference_look_id",
            "digital_twin",
        ),
    ]
}

/// The offline answer: a body error or the first rule, like the simulator.
fn offline(body: &Value, catalog: &reelflow::sim::catalog::Catalog) -> Option<(String, String)> {
    let req = match CreateVideoRequest::from_value(body.clone()) {
        Ok(r) => r,
        Err(e) => return Some((e.param, e.message)),
    };
    if let Some(v) = rules::check_create(&req).into_iter().next() {
        return Some((v.param, v.message));
    }
    let group =
        |g: &str| catalog.looks.iter().filter(|l| l.group_id.as_deref() == Some(g)).collect();
    rules::avatar_v_problems(&req, &|id| catalog.look(id), &group)
        .into_iter()
        .next()
        .map(|v| (v.param, v.message))
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_july_shapes_are_rejected_offline_and_by_the_simulator_alike() {
    let sim = crate::support::start(SimConfig::default()).await;
    for (what, body, param, needle) in removed_shapes() {
        let (p, message) =
            offline(&body, sim.catalog()).unwrap_or_else(|| panic!("{what}: accepted offline"));
        assert_eq!(p, param, "{what}: {message}");
        assert!(message.contains(needle), "{what}: {message}");
        let (status, answer) = post(&sim, "/v3/videos", &body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_parameter", "{what}");
        assert_eq!(answer["error"]["param"], param, "{what}: {answer}");
        assert_eq!(answer["error"]["message"], message.as_str(), "{what}: same words both sides");
    }
    // Batch items cannot carry a folder; the batch takes one.
    let batch: CreateBatchRequest = serde_json::from_value(json!({"folder_id": "f1", "videos": [
        {"type": "avatar", "avatar_id": "a", "script": "Hi", "folder_id": "f2"}
    ]}))
    .unwrap();
    let params: Vec<String> = rules::check_batch(&batch).into_iter().map(|v| v.param).collect();
    assert_eq!(params, ["videos[0].folder_id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_accepts_the_november_studio_fields() {
    let sim = crate::support::start(SimConfig::default()).await;
    let look = "Abigail_expressive_2024112501";
    let voice = "1bd001e7e50f421d891986aad5c8bbd2";
    let (status, folder) = post(&sim, "/v3/folders", &json!({"name": "Campaign"})).await;
    assert_eq!(status, 200, "{folder}");
    let folder_id = folder["data"]["folder_id"].as_str().unwrap().to_owned();
    let body = json!({"type": "studio", "folder_id": folder_id, "brand_glossary_id": "bg_1", "scenes": [
        {"type": "avatar_video", "input": {"type": "avatar", "avatar_id": look, "script": "Hello", "voice_id": voice,
            "voice_settings": {"engine_settings": {"engine_type": "elevenlabs", "model": "eleven_v4", "stability": 0.3}},
            "background": {"type": "color", "color": "#0b1f3a"}}},
        {"type": "video", "source": {"type": "url", "url": "https://example.com/c.mp4"}, "script": "Over the clip", "voice_id": voice, "playback": {"mode": "fit_to_scene"}}
    ]});
    let (status, answer) = post(&sim, "/v3/videos", &body).await;
    assert_eq!(status, 200, "{answer}");
    let resp = http()
        .get(format!("{}/v3/folders/{folder_id}", sim.base_url()))
        .header("x-api-key", "sk_fidelity")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let other_key = http()
        .get(format!("{}/v3/folders/{folder_id}", sim.base_url()))
        .header("x-api-key", "sk_someone_else")
        .send()
        .await
        .unwrap();
    assert_eq!(other_key.status().as_u16(), 404, "folders belong to their account");
}

// ---- campaigns through the binary ------------------------------------------

const LOOK: &str = "Abigail_expressive_2024112501";
const VOICE: &str = "1bd001e7e50f421d891986aad5c8bbd2";

fn run(dir: &Path, sim: &BackgroundSimulator, args: &[&str]) -> crate::support::Output {
    let base = sim.base_url();
    reelflow(dir, args, &[("HEYGEN_API_KEY", "sk_fidelity"), ("HEYGEN_BASE_URL", base.as_str())])
}

fn results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/results.json")).unwrap()).unwrap()
}

fn route_count(sim: &BackgroundSimulator, route: &str) -> u64 {
    sim.stats().requests_by_route.get(route).copied().unwrap_or(0)
}

/// Create bodies the simulator received, in order.
fn creates(sim: &BackgroundSimulator) -> Vec<Value> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v3/videos")
        .filter_map(|r| r.body)
        .collect()
}

/// A studio campaign: per company a logo slide (a local file named from
/// the row) then the avatar, filed in one folder.
fn logo_campaign(dir: &Path, rows: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    let mut csv = String::from("email,company\n");
    for (email, company) in rows {
        csv.push_str(&format!("{email},{company}\n"));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        format!(
            r#"version: 1
name: fidelity-logos
brand_glossary_id: "bg_{{{{ company | slug }}}}"
data:
  csv: rows.csv
  key: "{{{{ email }}}}"
video:
  title: "Welcome {{{{ company }}}}"
  scenes:
    - image: "assets/{{{{ company | slug }}}}.png"
      duration: 3
    - avatar: {LOOK}
      voice: {VOICE}
      script: "Welcome aboard, {{{{ company }}}}."
output:
  results: out/results.json
  folder: "Spring onboarding"
run:
  poll:
    every: 1s
"#
        ),
    )
    .unwrap();
}

#[test]
fn uploads_once_across_runs_again_after_a_change_and_one_folder() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    logo_campaign(dir, &[("a@x.io", "Acme"), ("b@x.io", "Acme"), ("c@y.io", "Bolt Co")]);
    std::fs::write(dir.join("assets/acme.png"), b"acme logo v1").unwrap();
    std::fs::write(dir.join("assets/bolt-co.png"), b"bolt logo").unwrap();

    let plan = run(dir, &sim, &["plan", "campaign.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.contains("uploads: 2 local files to upload"), "{}", plan.stdout);
    assert!(plan.stdout.contains("upload assets/acme.png (image/png"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("a run creates the folder \"Spring onboarding\""),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("pricing: table a"), "{}", plan.stdout);
    assert_eq!(route_count(&sim, "POST /v3/assets"), 0, "plan uploads nothing");

    let first = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert_eq!(route_count(&sim, "POST /v3/assets"), 2, "one upload per distinct file");
    assert_eq!(route_count(&sim, "POST /v3/folders"), 1);
    let r = results(dir);
    assert_eq!(r["summary"]["completed"], 3);
    let uploads = r["uploads"].as_object().unwrap();
    assert_eq!(uploads.len(), 2, "{r}");
    let acme_hash = blake3::hash(b"acme logo v1").to_hex().to_string();
    let acme_asset = uploads[&acme_hash]["asset_id"].as_str().unwrap().to_owned();
    assert_eq!(uploads[&acme_hash]["file"], "assets/acme.png");
    let folder_id = r["folder"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r["folder"]["name"], "Spring onboarding");
    let bodies = creates(&sim);
    assert_eq!(bodies.len(), 3);
    for b in &bodies {
        assert_eq!(b["folder_id"], folder_id.as_str(), "every video is filed: {b}");
        assert!(!b.to_string().contains("reelflow-local:"), "placeholders never leave: {b}");
        assert!(
            b["brand_glossary_id"].as_str().unwrap().starts_with("bg_"),
            "campaign glossary: {b}"
        );
    }
    let acme_bodies = bodies
        .iter()
        .filter(|b| b["scenes"][0]["source"]["asset_id"] == acme_asset.as_str())
        .count();
    assert_eq!(acme_bodies, 2, "both Acme rows use the one upload");

    // Nothing changed: nothing is uploaded, created or filed again.
    let second = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert_eq!(route_count(&sim, "POST /v3/assets"), 2);
    assert_eq!(route_count(&sim, "POST /v3/folders"), 1);
    assert_eq!(creates(&sim).len(), 3);

    // Acme's logo changes: only it is uploaded again, only its rows re-render,
    // into the same (checked) folder.
    std::fs::write(dir.join("assets/acme.png"), b"acme logo v2").unwrap();
    let third = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(third.code, 0, "{}", third.transcript());
    assert_eq!(route_count(&sim, "POST /v3/assets"), 3);
    assert_eq!(route_count(&sim, "POST /v3/folders"), 1, "the folder is made once");
    assert!(route_count(&sim, "GET /v3/folders/{id}") >= 1, "the remembered folder is checked");
    let bodies = creates(&sim);
    assert_eq!(bodies.len(), 5, "the two Acme rows, again");
    assert!(bodies[3..].iter().all(|b| b["folder_id"] == folder_id.as_str()));
    assert_eq!(results(dir)["uploads"].as_object().unwrap().len(), 3);

    // A trashed folder is made again (a new Idempotency-Key, a new id).
    let trash = control::trash(&sim, &folder_id);
    assert_eq!(trash, 204);
    std::fs::write(dir.join("assets/bolt-co.png"), b"bolt logo v2").unwrap();
    let fourth = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(fourth.code, 0, "{}", fourth.transcript());
    assert_eq!(route_count(&sim, "POST /v3/folders"), 2);
    let r = results(dir);
    assert_ne!(r["folder"]["id"], folder_id.as_str());
    assert_eq!(creates(&sim).last().unwrap()["folder_id"], r["folder"]["id"]);
}

/// Trashes a simulated folder through the control plane.
mod control {
    pub fn trash(sim: &super::BackgroundSimulator, id: &str) -> u16 {
        let url = format!("{}/_sim/folders/{id}/trash", sim.base_url());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            crate::support::http().post(url).send().await.unwrap().status().as_u16()
        })
    }
}

#[test]
fn a_rows_missing_or_wrong_file_is_a_located_error_before_anything_is_sent() {
    let sim = background(SimConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    logo_campaign(dir, &[("a@x.io", "Acme"), ("b@x.io", "Nowhere Inc")]);
    std::fs::write(dir.join("assets/acme.png"), b"acme logo").unwrap();
    let out = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_ne!(out.code, 0, "{}", out.transcript());
    let err = &out.stderr;
    assert!(err.contains("file \"assets/nowhere-inc.png\" does not exist"), "{err}");
    assert!(err.contains("video.scenes[0].image"), "names the field: {err}");
    assert!(err.contains("campaign.yaml:"), "points into the manifest: {err}");
    assert!(err.contains("line 3") || err.contains("rows.csv:3"), "names the CSV line: {err}");
    assert!(err.contains("b@x.io"), "names the row: {err}");
    assert_eq!(route_count(&sim, "POST /v3/assets"), 0);
    assert_eq!(route_count(&sim, "POST /v3/folders"), 0);
    assert_eq!(sim.stats().videos_created, 0);

    // The wrong kind of file for the field is caught the same way.
    std::fs::write(dir.join("assets/nowhere-inc.png"), b"x").unwrap();
    std::fs::rename(dir.join("assets/acme.png"), dir.join("assets/acme.mp3")).unwrap();
    let yaml = std::fs::read_to_string(dir.join("campaign.yaml")).unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        yaml.replace(".png\"", ".{{ 'mp3' if company == 'Acme' else 'png' }}\""),
    )
    .unwrap();
    let out = run(dir, &sim, &["validate", "campaign.yaml", "--offline"]);
    assert_ne!(out.code, 0, "{}", out.transcript());
    assert!(
        out.stderr.contains("is an audio (audio/mpeg), this field takes an image"),
        "{}",
        out.stderr
    );
}

fn template_campaign(dir: &Path, extra: &str) {
    std::fs::write(dir.join("rows.csv"), "email,first_name\na@x.io,Ada\n").unwrap();
    std::fs::write(dir.join("logo.png"), b"template logo").unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        format!(
            r#"version: 1
name: fidelity-template
data:
  csv: rows.csv
  key: "{{{{ email }}}}"
template:
  id: tpl_welcome_16x9
  variables:
    first_name: "{{{{ first_name }}}}"
    logo: {{type: image, url: "logo.png", fit: contain}}
{extra}output:
  results: out/results.json
run:
  poll:
    every: 1s
"#
        ),
    )
    .unwrap();
}

#[test]
fn a_template_text_variable_left_unset_is_caught_before_any_create() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    template_campaign(dir, "");
    let out = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_ne!(out.code, 0, "{}", out.transcript());
    assert!(
        out.stderr
            .contains("text variable the manifest does not set: `company` in scene scene_company"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("keep_template_value"), "{}", out.stderr);
    assert_eq!(sim.stats().videos_created, 0);
    assert_eq!(route_count(&sim, "POST /v3/templates/{id}"), 0);

    // Kept on purpose: the template's current value is sent explicitly.
    template_campaign(dir, "  keep_template_value: [company]\n");
    let out = run(dir, &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let body = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.starts_with("/v3/templates/"))
        .and_then(|r| r.body)
        .unwrap();
    assert_eq!(body["variables"]["company"], json!({"type": "text", "content": "your company"}));
    assert_eq!(body["variables"]["first_name"]["content"], "Ada");
    // A template's image variable takes a local file too: uploaded, then sent by id.
    let logo = &body["variables"]["logo"];
    assert_eq!(logo["asset"]["type"], "asset_id", "{body}");
    assert!(logo["asset"]["asset_id"].as_str().unwrap().starts_with("asset_"), "{body}");
    assert_eq!(route_count(&sim, "POST /v3/assets"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn videos_can_be_listed_by_folder() {
    let sim = crate::support::start(SimConfig::default()).await;
    let client = crate::support::client(&sim, "sk_fidelity");
    let page = client.list_videos_in_folder("fld_1", None).await.unwrap();
    assert!(!page.has_more);
    let sent = sim.requests().into_iter().find(|r| r.path == "/v3/videos").unwrap();
    assert!(sent.query.contains(&("folder_id".to_owned(), "fld_1".to_owned())), "{:?}", sent.query);
    assert!(sent.query.contains(&("limit".to_owned(), "100".to_owned())), "{:?}", sent.query);
}

#[test]
fn plan_and_me_name_the_pricing_table_they_use() {
    let sim = background(SimConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let base = sim.base_url();
    let env = [
        ("HEYGEN_API_KEY", "sk_fidelity"),
        ("HEYGEN_BASE_URL", base.as_str()),
        ("REELFLOW_PRICING_TABLE", "b"),
    ];
    let me = reelflow(dir, &["me"], &env);
    assert_eq!(me.code, 0, "{}", me.transcript());
    assert!(
        me.stdout.contains("pricing table  b (pricing page copy B, no 4K column)"),
        "{}",
        me.stdout
    );
    template_campaign(dir, "  keep_template_value: [company]\n");
    let plan = reelflow(dir, &["plan", "campaign.yaml"], &env);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stdout.contains("pricing: table b"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("third-party catalogue of 2026-08-24"),
        "says where it is from: {}",
        plan.stdout
    );
}

#[test]
fn a_403_names_the_missing_scope() {
    let body = br#"{"error":{"code":"forbidden","message":"API key is missing the required scope videos:write","param":null}}"#;
    let e = ApiError::new(403, ErrorBody::from_response(403, body), None, None);
    assert!(e.hint().contains("`videos:write` scope"), "{}", e.hint());
    let read =
        br#"{"error":{"code":"forbidden","message":"Missing scope: videos:read","param":null}}"#;
    let e = ApiError::new(403, ErrorBody::from_response(403, read), None, None);
    assert!(e.hint().contains("`videos:read` scope"), "{}", e.hint());
}

#[tokio::test(flavor = "multi_thread")]
async fn files_over_32_mb_take_the_direct_upload_flow() {
    use reelflow::assets::{self, FileCache, MediaKind};
    let sim = crate::support::start(SimConfig::default()).await;
    let client = crate::support::client(&sim, "sk_fidelity");
    let tmp = tempfile::tempdir().unwrap();
    let big = vec![7u8; 33 * 1024 * 1024];
    std::fs::write(tmp.path().join("talk.mp4"), &big).unwrap();
    std::fs::write(tmp.path().join("logo.png"), b"small").unwrap();
    let cache = FileCache::default();
    let video = cache.check(tmp.path(), "talk.mp4", MediaKind::Video).unwrap();
    let logo = cache.check(tmp.path(), "logo.png", MediaKind::Image).unwrap();

    let rec = assets::upload(&client, &video).await.unwrap();
    assert_eq!(rec.bytes, big.len() as u64);
    let paths: Vec<String> =
        sim.requests().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        paths,
        [
            "POST /v3/assets/direct-uploads".to_owned(),
            format!("POST /v3/assets/{}/complete", rec.asset_id)
        ],
        "no multipart for a 33 MB file; the PUT goes to the presigned URL"
    );
    let small = assets::upload(&client, &logo).await.unwrap();
    assert_ne!(small.asset_id, rec.asset_id);
    // The same content again carries the same Idempotency-Key: replayed.
    let again = assets::upload(&client, &logo).await.unwrap();
    assert_eq!(again.asset_id, small.asset_id);
    assert!(sim.stats().idempotent_replays >= 1);
    let sent = sim.requests().into_iter().filter(|r| r.path == "/v3/assets").count();
    assert_eq!(sent, 2, "two multipart uploads, the second replayed");
}

#[test]
fn local_files_work_for_backgrounds_audio_and_animated_images() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("bg.jpg"), b"background").unwrap();
    std::fs::write(dir.join("hello.mp3"), b"audio").unwrap();
    std::fs::write(dir.join("face.webp"), b"face").unwrap();
    std::fs::write(dir.join("rows.csv"), "id,kind\n1,avatar\n").unwrap();
    let manifest = |scene: &str| {
        format!(
            "version: 1\nname: local-files\ndata:\n  csv: rows.csv\n  key: \"{{{{ id }}}}\"\nvideo:\n  background:\n    image_url: bg.jpg\n  scenes:\n    - {scene}\n      audio_url: hello.mp3\n"
        )
    };
    let hash = |b: &[u8]| format!("reelflow-local:{}", blake3::hash(b).to_hex());
    std::fs::write(dir.join("avatar.yaml"), manifest(&format!("avatar: {LOOK}"))).unwrap();
    std::fs::write(dir.join("image.yaml"), manifest("animated_image: face.webp")).unwrap();
    for (file, kind) in [("avatar.yaml", "avatar"), ("image.yaml", "image")] {
        let out = reelflow(dir, &["render", file, "--json"], &[]);
        assert_eq!(out.code, 0, "{}", out.transcript());
        let job: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
        let body = &job["body"];
        assert_eq!(body["type"], kind);
        assert_eq!(body["background"], json!({"type": "image", "asset_id": hash(b"background")}));
        assert_eq!(body["audio_asset_id"], hash(b"audio").as_str(), "{body}");
        assert!(body.get("audio_url").is_none(), "{body}");
        if kind == "image" {
            assert_eq!(body["image"], json!({"type": "asset_id", "asset_id": hash(b"face")}));
        }
    }
    // In a multi-scene video the animated image is gone from HeyGen's API.
    let two = "version: 1\nname: local-files\ndata:\n  csv: rows.csv\n  key: \"{{ id }}\"\nvideo:\n  scenes:\n    - animated_image: face.webp\n      script: Hi\n      voice: v\n    - image: bg.jpg\n      duration: 2\n";
    std::fs::write(dir.join("two.yaml"), two).unwrap();
    let out = reelflow(dir, &["validate", "two.yaml", "--offline"], &[]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("video.scenes[0].animated_image"), "{}", out.stderr);
    assert!(out.stderr.contains("use its look id as `avatar`"), "{}", out.stderr);
}

/// `--sim` runs in new processes on one world file: the second run finds
/// the folder the first made (no "deleted; created again"), files its
/// video there too, and the world lists the campaign by folder.
#[test]
fn sim_runs_in_new_processes_keep_the_campaign_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let world = dir.join("world.sqlite3");
    let world_arg = world.to_str().unwrap();
    let sim_run = || {
        reelflow(
            dir,
            &["--sim", "run", "campaign.yaml", "--yes"],
            &[("REELFLOW_SIM_STATE", world_arg), ("REELFLOW_SIM_RENDER_SECS", "0")],
        )
    };
    logo_campaign(dir, &[("a@x.io", "Acme"), ("c@y.io", "Bolt Co")]);
    std::fs::write(dir.join("assets/acme.png"), b"acme logo").unwrap();
    std::fs::write(dir.join("assets/bolt-co.png"), b"bolt logo").unwrap();
    let first = sim_run();
    assert_eq!(first.code, 0, "{}", first.transcript());
    let folder_id = results(dir)["folder"]["id"].as_str().unwrap().to_owned();

    logo_campaign(dir, &[("a@x.io", "Acme"), ("c@y.io", "Bolt Co"), ("d@z.io", "Cargo")]);
    std::fs::write(dir.join("assets/cargo.png"), b"cargo logo").unwrap();
    let second = sim_run();
    assert_eq!(second.code, 0, "{}", second.transcript());
    let transcript = second.transcript();
    assert!(transcript.contains("folder: filing videos in"), "{transcript}");
    assert!(
        !transcript.contains("folder: created") && !transcript.contains("was deleted"),
        "the folder is not made again: {transcript}"
    );
    let r = results(dir);
    assert_eq!(r["folder"]["id"], folder_id.as_str());
    assert_eq!(r["summary"]["completed"], 3, "{r}");

    let sim = background(SimConfig { state_file: Some(world.clone()), ..SimConfig::default() });
    let listed = http_get(&sim, "sim-default", &format!("/v3/videos?folder_id={folder_id}"));
    let videos = listed["data"].as_array().unwrap();
    assert_eq!(videos.len(), 3, "{listed}");
    assert!(
        videos.iter().all(|v| v["folder_id"] == folder_id.as_str() && v["status"] == "completed")
    );
}

/// A blocking GET on a background simulator, as `key`.
fn http_get(sim: &BackgroundSimulator, key: &str, path: &str) -> Value {
    let url = format!("{}{path}", sim.base_url());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        http().get(url).header("x-api-key", key).send().await.unwrap().json().await.unwrap()
    })
}
