//! `reelflow report`, `review`, `--report-junit` and the sample → approve →
//! full run loop, against the simulator. (The page itself is exercised in
//! a real browser in `browser.rs`.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use reelflow::sim::{FAIL_MARKER, SimConfig, Simulator};
use serde_json::Value;

use crate::support::{Output, background, reelflow, settings};

/// A CSV value that would run script if the page ever used it as markup.
pub const HOSTILE: &str = "</script><img src=x onerror=\"window.__pwned=1\">";

const LOOKS: [&str; 3] =
    ["Abigail_expressive_2024112501", "Brandon_sitting_2024112502", "Maya_photo_front_2025010101"];
const VOICES: [&str; 2] = ["1bd001e7e50f421d891986aad5c8bbd2", "117c841c72d9429cc015b0b4295768a8"];

/// A campaign of `rows` rows; row 1 carries [`HOSTILE`] in its name, and
/// rows whose index is in `failing` fail to render. `extra` is appended to
/// the manifest.
pub fn campaign(dir: &Path, rows: usize, failing: &[usize], extra: &str) {
    let mut csv = String::from("id,name,look,voice,script\n");
    for i in 0..rows {
        let name = match i {
            1 => HOSTILE.to_owned(),
            2 => "Zoë Ångström".to_owned(),
            _ => format!("Name {i}"),
        };
        let script = if failing.contains(&i) {
            format!("row {i} {FAIL_MARKER}")
        } else {
            format!("Hello {}, this is video number {i}.", if i == 1 { "friend" } else { &name })
        };
        csv.push_str(&format!(
            "u{i:03},\"{}\",{},{},\"{}\"\n",
            name.replace('"', "\"\""),
            LOOKS[i % 3],
            VOICES[i % 2],
            script
        ));
    }
    std::fs::write(dir.join("rows.csv"), csv).unwrap();
    std::fs::write(
        dir.join("campaign.yaml"),
        format!(
            "version: 1\nname: report-test\ndata:\n  csv: rows.csv\n  key: \"{{{{ id }}}}\"\nvideo:\n  title: \"Hello {{{{ name }}}}\"\n  scenes:\n    - avatar: \"{{{{ look }}}}\"\n      voice: \"{{{{ voice }}}}\"\n      script: \"{{{{ script }}}}\"\noutput:\n  results: out/results.json\n  download: \"out/videos/{{{{ key }}}}.mp4\"\nrun:\n  poll:\n    every: 1s\n{extra}"
        ),
    )
    .unwrap();
}

/// Runs the binary against `sim`.
pub fn run(dir: &Path, sim: &Simulator, args: &[&str]) -> Output {
    let base = sim.base_url();
    reelflow(dir, args, &[("HEYGEN_API_KEY", "sk_report_test"), ("HEYGEN_BASE_URL", base.as_str())])
}

/// A running `reelflow review` (killed on drop).
pub struct ReviewProcess {
    child: Child,
    /// The page's URL.
    pub url: String,
}

impl Drop for ReviewProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `reelflow review campaign.yaml` in `dir` and waits for its URL.
pub fn review(dir: &Path, sim: &Simulator) -> ReviewProcess {
    let mut cmd = crate::support::command(dir);
    cmd.args(["review", "campaign.yaml"])
        .env("REELFLOW_REVIEWER", "tester")
        .env("HEYGEN_API_KEY", "sk_report_test")
        .env("HEYGEN_BASE_URL", sim.base_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("reelflow review starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines.next().expect("review prints its URL").unwrap();
        if let Some(i) = line.find("http://127.0.0.1:") {
            break line[i..].trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    ReviewProcess { child, url }
}

fn results(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/results.json")).unwrap()).unwrap()
}

/// The page with its CSS and script bodies cut, and the row data pretty
/// printed: the structure a snapshot can hold.
fn structure(html: &str) -> String {
    let cut = |s: &str, open: &str, close: &str, with: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(open) {
            let body = &rest[i + open.len()..];
            let j = body.find(close).unwrap();
            out.push_str(&rest[..i + open.len()]);
            out.push_str(with);
            rest = &body[j..];
        }
        out.push_str(rest);
        out
    };
    let data_open = "<script type=\"application/json\" id=\"report-data\">";
    let i = html.find(data_open).unwrap() + data_open.len();
    let j = i + html[i..].find("</script>").unwrap();
    let rows: Value = serde_json::from_str(&html[i..j]).unwrap();
    let pretty = serde_json::to_string_pretty(&rows).unwrap();
    let html = format!("{}\n{pretty}\n{}", &html[..i], &html[j..]);
    let html = cut(&html, "<style>", "</style>", "[css]");
    cut(&html, "<script>", "</script>", "[js]")
}

#[test]
fn the_report_is_self_contained_escaped_and_stable() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 4, &[3], "");
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 5, "one row fails: {}", out.transcript());
    let rep = run(dir.path(), &sim, &["report", "campaign.yaml", "-o", "reports/r.html"]);
    assert_eq!(rep.code, 0, "{}", rep.transcript());
    let html = std::fs::read_to_string(dir.path().join("reports/r.html")).unwrap();
    // Untrusted values never appear as markup.
    assert!(!html.contains("<img src=x"), "the CSV value is escaped");
    assert_eq!(html.matches("</script>").count(), 2, "no value closes a script element");
    // Self-contained: nothing is fetched from the network.
    for needle in ["http://", "https://", "src=\"//", "@import"] {
        let outside_data = html.split("id=\"report-data\">").next().unwrap();
        assert!(!outside_data.contains(needle), "{needle} outside the row data");
    }
    assert!(
        html.contains("\"video\":\"../out/videos/u000.mp4\""),
        "videos are linked relative to the report"
    );
    // The same inputs give the same file.
    let again = run(dir.path(), &sim, &["report", "campaign.yaml", "-o", "reports/r.html"]);
    assert_eq!(again.code, 0);
    assert_eq!(std::fs::read_to_string(dir.path().join("reports/r.html")).unwrap(), html);
    let mut s = settings();
    s.add_filter(r#""sk_[a-z_]+""#, "[key]");
    s.add_filter(r#""(estimated_)?cost_usd": [0-9.]+"#, "\"${1}cost_usd\": [usd]");
    s.add_filter(r#""(duration|render)_secs": [0-9.]+"#, "\"${1}_secs\": [secs]");
    s.add_filter(r"<b>\$[0-9.]+</b>", "<b>$[usd]</b>");
    s.add_filter(r"<b>[0-9]+s</b>", "<b>[secs]</b>");
    s.add_filter(r"\(median [0-9]+s, p90 [0-9]+s\)", "(median [s], p90 [s])");
    s.add_filter(r"<svg class=.chart.*?</svg>", "[chart]");
    s.bind(|| insta::assert_snapshot!("report_structure", structure(&html)));

    // A row edited since its render is flagged, and shows the new request.
    let csv = std::fs::read_to_string(dir.path().join("rows.csv")).unwrap();
    std::fs::write(dir.path().join("rows.csv"), csv.replace("video number 0.", "video zero."))
        .unwrap();
    let rep = run(dir.path(), &sim, &["report", "campaign.yaml", "-o", "reports/r.html"]);
    assert_eq!(rep.code, 0);
    let rows = page_rows(&std::fs::read_to_string(dir.path().join("reports/r.html")).unwrap());
    assert_eq!(rows[0]["changed"], true);
    assert_eq!(rows[0]["request"]["script"], "Hello Name 0, this is video zero.");
    assert_eq!(rows[0]["status"], "completed", "the old render is still what exists");
    assert_eq!(rows[2]["changed"], false);
}

/// The row data embedded in a report page.
fn page_rows(html: &str) -> Vec<Value> {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let i = html.find(open).unwrap() + open.len();
    let j = i + html[i..].find("</script>").unwrap();
    serde_json::from_str(&html[i..j]).unwrap()
}

#[test]
fn junit_has_the_shape_ci_systems_read() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 4, &[0, 2], "");
    let out = run(
        dir.path(),
        &sim,
        &["run", "campaign.yaml", "--yes", "--report-junit", "out/junit.xml"],
    );
    assert_eq!(out.code, 5, "{}", out.transcript());
    let xml = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.tag_name().name(), "testsuite");
    assert_eq!(suite.attribute("name"), Some("report-test"));
    for attr in ["tests", "failures", "errors", "skipped"] {
        let v: u32 = suite.attribute(attr).unwrap().parse().expect("a count");
        let top: u32 = root.attribute(attr).unwrap().parse().unwrap();
        assert_eq!(v, top, "{attr} agrees between testsuites and testsuite");
    }
    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("failures"), Some("2"));
    let _: f64 = suite.attribute("time").unwrap().parse().expect("time in seconds");
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 4, "one test case per row");
    let mut failed = Vec::new();
    for c in &cases {
        assert_eq!(c.attribute("classname"), Some("report-test"));
        let _: f64 = c.attribute("time").unwrap().parse().unwrap();
        for child in c.children().filter(|n| n.is_element()) {
            let tag = child.tag_name().name();
            assert!(["failure", "error", "skipped", "system-out"].contains(&tag), "{tag}");
            if tag == "failure" {
                assert_eq!(child.attribute("type"), Some("rendering_failed"));
                assert!(child.attribute("message").is_some_and(|m| !m.is_empty()));
                assert!(child.text().unwrap().contains("hint:"));
                failed.push(c.attribute("name").unwrap());
            }
        }
    }
    failed.sort();
    assert_eq!(failed, ["u000", "u002"]);
    // `status` writes the same report.
    let st =
        run(dir.path(), &sim, &["status", "campaign.yaml", "--report-junit", "out/status.xml"]);
    assert!(st.code == 0 || st.code == 5, "{}", st.transcript());
    let again = std::fs::read_to_string(dir.path().join("out/status.xml")).unwrap();
    assert_eq!(
        roxmltree::Document::parse(&again)
            .unwrap()
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        4
    );
}

/// Posts a decision through the review server, as the page does.
fn decide(
    rt: &tokio::runtime::Runtime,
    url: &str,
    key: &str,
    decision: &str,
) -> reqwest::StatusCode {
    rt.block_on(async {
        let http = crate::support::http();
        let page = http.get(url).send().await.unwrap().text().await.unwrap();
        let open = "<script type=\"application/json\" id=\"review-token\">";
        let i = page.find(open).unwrap() + open.len();
        let token: String =
            serde_json::from_str(&page[i..i + page[i..].find("</script>").unwrap()]).unwrap();
        let body = serde_json::json!({"key": key, "decision": decision, "note": "checked"});
        let api = format!("{url}api/review");
        let without = http.post(&api).json(&body).send().await.unwrap().status();
        assert_eq!(
            without,
            reqwest::StatusCode::FORBIDDEN,
            "a post without the page's token is refused"
        );
        http.post(&api).header("x-reelflow-token", token).json(&body).send().await.unwrap().status()
    })
}

#[test]
fn require_approval_blocks_until_the_sample_is_approved() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 8, &[], "review:\n  require_approval: true\n");
    let blocked = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(blocked.code, 10, "{}", blocked.transcript());
    assert!(blocked.stderr.contains("no sample has been rendered"), "{}", blocked.stderr);
    assert_eq!(sim.stats().videos_created, 0);

    let sample = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes", "--sample", "3"]);
    assert_eq!(sample.code, 0, "{}", sample.transcript());
    assert_eq!(sim.stats().videos_created, 3);
    let reviews = std::fs::read_to_string(dir.path().join("out/results.reviews.yaml")).unwrap();
    let sampled: Vec<String> = results(dir.path())["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sampled.len(), 3);
    assert!(sampled.iter().all(|k| reviews.contains(k.as_str())), "{reviews}");
    // Looks cycle over 3 rows and voices over 2: the sample shows all of them.
    let index = |k: &String| k[1..].parse::<usize>().unwrap();
    let looks: std::collections::BTreeSet<usize> = sampled.iter().map(|k| index(k) % 3).collect();
    let voices: std::collections::BTreeSet<usize> = sampled.iter().map(|k| index(k) % 2).collect();
    assert_eq!((looks.len(), voices.len()), (3, 2), "{sampled:?}");
    let r = results(dir.path());
    let again = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(again.code, 10, "not approved yet: {}", again.transcript());
    assert!(again.stderr.contains("3 of 3 sampled"), "{}", again.stderr);

    let rt = tokio::runtime::Runtime::new().unwrap();
    {
        let server = review(dir.path(), &sim);
        for key in &sampled[..2] {
            assert_eq!(decide(&rt, &server.url, key, "approved"), reqwest::StatusCode::OK);
        }
        assert_eq!(decide(&rt, &server.url, &sampled[2], "rejected"), reqwest::StatusCode::OK);
    }
    let plan = run(dir.path(), &sim, &["plan", "campaign.yaml"]);
    assert!(
        plan.stdout.contains("review: 2 approved, 1 rejected, 0 unreviewed"),
        "{}",
        plan.stdout
    );
    let rejected = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(rejected.code, 10, "a rejected sample video blocks: {}", rejected.transcript());
    // The rejected one is rendered again (a new video), then approved.
    let redo = run(
        dir.path(),
        &sim,
        &["run", "campaign.yaml", "--yes", "--sample", "3", "--retry-rejected"],
    );
    assert_eq!(redo.code, 0, "{}", redo.transcript());
    assert_eq!(sim.stats().videos_created, 4, "only the rejected row is made again");
    let old_id =
        r["entries"].as_array().unwrap().iter().find(|e| e["key"] == sampled[2].as_str()).unwrap()
            ["video_id"]
            .clone();
    let new = results(dir.path());
    let new_id = new["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == sampled[2].as_str())
        .unwrap()["video_id"]
        .clone();
    assert_ne!(old_id, new_id);
    {
        let server = review(dir.path(), &sim);
        assert_eq!(decide(&rt, &server.url, &sampled[2], "approved"), reqwest::StatusCode::OK);
    }
    let full = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(full.code, 0, "approved: the full run goes ahead: {}", full.transcript());
    assert_eq!(sim.stats().videos_created, 9, "the other 5 rows");
    let approved =
        run(dir.path(), &sim, &["results", "campaign.yaml", "--format", "csv", "--approved"]);
    assert_eq!(approved.code, 0);
    let mut keys: Vec<&str> =
        approved.stdout.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    keys.sort();
    let mut want: Vec<&str> = sampled.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(keys, want, "only approved videos are exported");
}

#[test]
fn the_ci_example_workflow_has_the_expected_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/ci/videos.yml")).unwrap();
    let wf: Value = serde_yaml::from_str(&text).expect("valid YAML");
    // YAML 1.1 readers turn `on` into `true`; accept either.
    let on = wf.get("on").or_else(|| wf.get("true")).expect("triggers");
    assert!(on.get("pull_request").is_some(), "validates pull requests");
    assert!(on["push"]["branches"].as_array().unwrap().iter().any(|b| b == "main"));
    let jobs = wf["jobs"].as_object().expect("jobs");
    let steps = |job: &str| -> Vec<Value> { jobs[job]["steps"].as_array().expect("steps").clone() };
    let runs = |job: &str| -> String {
        steps(job).iter().filter_map(|s| s["run"].as_str()).collect::<Vec<_>>().join("\n")
    };
    for job in jobs.keys() {
        assert!(jobs[job]["runs-on"].is_string(), "{job} says where it runs");
        for s in steps(job) {
            assert!(
                s.get("uses").is_some() ^ s.get("run").is_some(),
                "{job}: a step uses or runs: {s}"
            );
        }
    }
    assert!(jobs["validate"]["if"].as_str().unwrap().contains("pull_request"));
    assert!(runs("validate").contains("reelflow validate"));
    assert!(!runs("validate").contains("reelflow run"), "pull requests spend nothing");
    let shards = jobs["render"]["strategy"]["matrix"]["shard"].as_array().expect("a shard matrix");
    let n = shards.len();
    assert!(n > 1);
    assert_eq!(
        shards.iter().map(|s| s.as_u64().unwrap()).collect::<Vec<_>>(),
        (1..=n as u64).collect::<Vec<_>>()
    );
    let render = runs("render");
    assert!(render.contains(&format!("--shard ${{{{ matrix.shard }}}}/{n}")), "{render}");
    assert!(render.contains("--report-junit") && render.contains("--yes"));
    let needs = &jobs["merge"]["needs"];
    assert!(needs == "render" || needs.as_array().is_some_and(|a| a.iter().any(|x| x == "render")));
    assert_eq!(jobs["merge"]["permissions"]["contents"], "write");
    let merge = runs("merge");
    for needle in ["reelflow results", "reelflow report", "git commit", "git push"] {
        assert!(merge.contains(needle), "merge job runs {needle}");
    }
    // Every command the workflow runs parses with this reelflow.
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for line in [render.as_str(), &runs("validate"), &merge].iter().flat_map(|r| r.lines()) {
        let Some(rest) = line.trim().strip_prefix("reelflow ") else { continue };
        let cmd = rest.split(['#', '>']).next().unwrap();
        let mut args: Vec<String> = cmd
            .replace("${{ matrix.shard }}", "1")
            .replace("\"$MANIFEST\"", "m.yaml")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        args.push("--help".into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = reelflow(dir.path(), &refs, &[]);
        assert_eq!(out.code, 0, "`reelflow {cmd}` parses: {}", out.stderr);
        checked += 1;
    }
    assert_eq!(checked, 5, "validate, plan, run, results, report");
}

#[test]
fn completions_man_page_and_version() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = reelflow(dir.path(), &["completions", shell], &[]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("reelflow") && out.stdout.contains("review"), "{shell}");
    }
    assert_eq!(reelflow(dir.path(), &["completions", "tcsh"], &[]).code, 2);
    let man = reelflow(dir.path(), &["man"], &[]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH reelflow 1"), "{}", &man.stdout[..200.min(man.stdout.len())]);
    assert!(man.stdout.contains("report"));
    let v = reelflow(dir.path(), &["--version"], &[]);
    let re = regex_lite(&v.stdout);
    assert!(re, "version with commit and build date: {}", v.stdout);
}

/// `reelflow X.Y.Z (COMMIT YYYY-MM-DD)`.
fn regex_lite(s: &str) -> bool {
    let Some(rest) = s.trim().strip_prefix("reelflow ") else { return false };
    let Some((version, stamp)) = rest.split_once(" (") else { return false };
    let Some((commit, date)) = stamp.trim_end_matches(')').split_once(' ') else { return false };
    version.split('.').count() == 3
        && !commit.is_empty()
        && date.len() == 10
        && date
            .chars()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() })
}

#[test]
fn init_writes_a_campaign_that_validates_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = reelflow(dir.path(), &["--sim", "init", "welcome"], &[]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let manifest = std::fs::read_to_string(dir.path().join("welcome/manifest.yaml")).unwrap();
    assert!(manifest.contains("name: welcome"));
    let check = reelflow(dir.path(), &["--sim", "validate", "welcome/manifest.yaml"], &[]);
    assert_eq!(check.code, 0, "the starter validates against the catalog: {}", check.transcript());
    let again = reelflow(dir.path(), &["--sim", "init", "welcome"], &[]);
    assert_eq!(again.code, 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("welcome/manifest.yaml")).unwrap(),
        manifest
    );
}

#[test]
fn plan_rows_says_which_rows_and_why() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 4, &[3], "");
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 5);
    let csv = std::fs::read_to_string(dir.path().join("rows.csv")).unwrap();
    let csv = csv.replace("this is video number 0.", "this is video zero.")
        + "u100,New,Abigail_expressive_2024112501,1bd001e7e50f421d891986aad5c8bbd2,Hi\n";
    std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
    let out = run(dir.path(), &sim, &["plan", "campaign.yaml", "--rows", "--json"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows: Vec<(String, String)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["change"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        rows,
        [
            ("u000".into(), "changed".into()),
            ("u003".into(), "failed".into()),
            ("u100".into(), "new".into())
        ]
    );
    let failed = &v["rows"][1]["why"];
    assert!(failed.as_str().unwrap().contains("rendering_failed"), "{failed}");
    let human = run(dir.path(), &sim, &["plan", "campaign.yaml", "--rows"]);
    assert!(human.stdout.contains("KEY") && human.stdout.contains("u100"), "{}", human.stdout);
}

#[test]
fn videos_are_saved_with_output_and_a_run_without_downloads_warns() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("body.json"),
        r#"{"type":"avatar","avatar_id":"Abigail_expressive_2024112501","script":"Hello there."}"#,
    )
    .unwrap();
    let out = run(
        dir.path(),
        &sim,
        &["videos", "create", "--body", "body.json", "--wait", "--output", "v/one.mp4", "--json"],
    );
    assert_eq!(out.code, 0, "{}", out.transcript());
    let created = std::fs::read(dir.path().join("v/one.mp4")).unwrap();
    assert!(!created.is_empty());
    let id = serde_json::from_str::<Value>(&out.stdout).unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = run(dir.path(), &sim, &["videos", "get", &id, "--output", "two.mp4"]);
    assert_eq!(got.code, 0, "{}", got.transcript());
    assert_eq!(std::fs::read(dir.path().join("two.mp4")).unwrap(), created);
    assert_eq!(
        run(dir.path(), &sim, &["videos", "create", "--body", "body.json", "--output", "x.mp4"])
            .code,
        2,
        "--output needs --wait"
    );

    campaign(dir.path(), 1, &[], "");
    let manifest = std::fs::read_to_string(dir.path().join("campaign.yaml")).unwrap();
    let manifest: String =
        manifest.lines().filter(|l| !l.contains("download:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("campaign.yaml"), manifest).unwrap();
    let out = run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    assert!(out.stderr.contains("output.download is not set"), "{}", out.stderr);
}

#[test]
fn the_review_server_serves_only_downloads_and_only_to_loopback_hosts() {
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 1, &[], "");
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 0);
    let server = review(dir.path(), &sim);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = crate::support::http();
        let video =
            http.get(format!("{}media/out/videos/u000.mp4", server.url)).send().await.unwrap();
        assert_eq!(video.status(), reqwest::StatusCode::OK);
        assert_eq!(video.headers()["content-type"], "video/mp4");
        let bytes = video.bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), std::fs::read(dir.path().join("out/videos/u000.mp4")).unwrap());
        for path in ["media/campaign.yaml", "media/out/results.json", "media/..%2Fcampaign.yaml"] {
            let r = http.get(format!("{}{path}", server.url)).send().await.unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
        }
        let rebound = http.get(&server.url).header("host", "evil.example:80").send().await.unwrap();
        assert_eq!(rebound.status(), reqwest::StatusCode::FORBIDDEN, "DNS rebinding is refused");
        let page = http.get(&server.url).send().await.unwrap();
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        assert!(page.text().await.unwrap().contains("\"video\":\"/media/out/videos/u000.mp4\""));
    });
}
