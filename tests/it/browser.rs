//! The report and review pages in a real headless browser (Debian's
//! `chromium`), driven over the DevTools protocol: they load without
//! console errors, show every row, filter, and review decisions reach the
//! reviews file and survive a reload.
//!
//! Without a browser these tests print why and pass, unless
//! `REELFLOW_REQUIRE_BROWSER=1` (set by `.ci/run`) makes that a failure.
//! `REELFLOW_BROWSER` points at another Chromium binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reelflow::sim::SimConfig;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::report::{HOSTILE, campaign, review, run};
use crate::support::background;

/// The browser binary, or `None` (with a printed reason) when the tests
/// should skip.
fn browser() -> Option<PathBuf> {
    let found = match std::env::var_os("REELFLOW_BROWSER") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.exists()),
        None => ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists()),
    };
    if found.is_none() {
        let msg = "no Chromium found (apt-get install chromium, or set REELFLOW_BROWSER)";
        if std::env::var("REELFLOW_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("browser tests are required here: {msg}");
        }
        eprintln!("SKIPPED browser test: {msg}");
    }
    found
}

/// A headless Chromium and one page, killed on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
    events: Vec<Value>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    async fn launch(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("ws://") {
                    let _ = tx.send(line[i..].trim().to_owned());
                    sent = true;
                }
            }
        });
        let browser_ws = rx.recv_timeout(Duration::from_secs(20)).expect("DevTools endpoint");
        let port =
            browser_ws.trim_start_matches("ws://127.0.0.1:").split('/').next().unwrap().to_owned();
        let targets: Value = crate::support::http()
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target")["webSocketDebuggerUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        let (ws, _) =
            tokio_tungstenite::connect_async(page.as_str()).await.expect("DevTools socket");
        let mut b = Browser { child, _profile: profile, ws, next_id: 0, events: Vec::new() };
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            b.call(domain, json!({})).await;
        }
        b
    }

    /// Sends a command and returns its result; events read meanwhile are kept.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws.send(Message::text(msg)).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer"))
                .expect("socket open")
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let v: Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits (polling, 10s at most) until `expr` is true in the page.
    async fn wait_for(&mut self, expr: &str) {
        let start = Instant::now();
        while self.eval(expr).await != json!(true) {
            assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {expr}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("document.readyState === 'complete' && document.body.dataset.ready === 'true' && !window.__old").await;
    }

    async fn key(&mut self, key: &str) {
        for kind in ["keyDown", "keyUp"] {
            let mut p = json!({"type": kind, "key": key});
            if kind == "keyDown" {
                p["text"] = json!(key);
            }
            self.call("Input.dispatchKeyEvent", p).await;
        }
    }

    async fn rows(&mut self) -> Vec<String> {
        let v = self
            .eval("Array.from(document.querySelectorAll('#rows tbody tr')).map(function (tr) { return tr.dataset.key; })")
            .await;
        serde_json::from_value(v).unwrap()
    }

    async fn set(&mut self, id: &str, value: &str, event: &str) {
        let expr = format!(
            "(function () {{ var e = document.getElementById({}); e.value = {}; e.dispatchEvent(new Event({})); return true; }})()",
            json!(id),
            json!(value),
            json!(event)
        );
        self.eval(&expr).await;
    }

    /// Console errors, uncaught exceptions and failed loads seen so far.
    async fn errors(&mut self) -> Vec<String> {
        self.eval("1").await; // reads every event the page sent before now
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled"
                    if matches!(e["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"].to_string())
                }
                _ => None,
            })
            .collect()
    }
}

#[test]
fn the_report_loads_shows_every_row_and_filters() {
    let Some(binary) = browser() else { return };
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 5, &[3], "");
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 5);
    let rep = run(dir.path(), &sim, &["report", "campaign.yaml", "-o", "report.html"]);
    assert_eq!(rep.code, 0, "{}", rep.transcript());
    // A large campaign, never run: the page must stay usable.
    let big = tempfile::tempdir().unwrap();
    campaign(big.path(), 10_000, &[], "");
    let rep = run(big.path(), &sim, &["report", "campaign.yaml", "-o", "report.html", "--offline"]);
    assert_eq!(rep.code, 0, "{}", rep.transcript());

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut b = Browser::launch(&binary).await;
        let url = format!("file://{}", dir.path().join("report.html").display());
        b.open(&url).await;
        assert_eq!(b.rows().await, ["u000", "u001", "u002", "u003", "u004"], "every row");
        assert_eq!(
            b.eval("window.__pwned === undefined").await,
            json!(true),
            "{HOSTILE} stays text"
        );
        let shown_name =
            b.eval("document.querySelector('tr[data-key=\"u001\"] .title').textContent").await;
        assert_eq!(shown_name, json!(format!("Hello {HOSTILE}")));
        b.set("f-status", "failed", "change").await;
        assert_eq!(b.rows().await, ["u003"]);
        b.set("f-status", "", "change").await;
        b.set("f-search", "ZOË", "input").await;
        assert_eq!(b.rows().await, ["u002"], "search is case-insensitive over names");
        b.set("f-search", "no such row", "input").await;
        assert!(b.rows().await.is_empty());
        assert_eq!(b.eval("document.getElementById('empty').hidden").await, json!(false));
        b.set("f-search", "", "input").await;
        b.set("f-review", "unreviewed", "change").await;
        assert_eq!(b.rows().await.len(), 5);
        assert_eq!(b.errors().await, Vec::<String>::new(), "no console errors");

        let start = Instant::now();
        b.open(&format!("file://{}", big.path().join("report.html").display())).await;
        let loaded = start.elapsed();
        assert_eq!(
            b.eval("document.getElementById('count').textContent").await,
            json!("10000 rows")
        );
        assert_eq!(b.rows().await.len(), 50, "paged");
        b.eval("document.getElementById('next').click(), true").await;
        assert_eq!(b.rows().await.first().map(String::as_str), Some("u050"));
        b.set("f-search", "u9999", "input").await;
        assert_eq!(b.rows().await, ["u9999"]);
        assert_eq!(b.errors().await, Vec::<String>::new());
        eprintln!("10,000-row report loaded in {loaded:?}");
    });
}

#[test]
fn review_decisions_are_saved_and_shown_again() {
    let Some(binary) = browser() else { return };
    let sim = background(SimConfig { render_secs: 0.2, ..SimConfig::default() });
    let dir = tempfile::tempdir().unwrap();
    campaign(dir.path(), 3, &[], "");
    assert_eq!(run(dir.path(), &sim, &["run", "campaign.yaml", "--yes"]).code, 0);
    let server = review(dir.path(), &sim);
    let reviews = dir.path().join("out/results.reviews.yaml");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut b = Browser::launch(&binary).await;
        b.open(&server.url).await;
        assert_eq!(b.rows().await, ["u000", "u001", "u002"]);
        // A click, with a note.
        b.eval("document.querySelector('tr[data-key=\"u000\"] .note-input').value = 'great', true").await;
        b.eval("document.querySelector('tr[data-key=\"u000\"] button.approve').click(), true").await;
        b.wait_for("document.querySelector('tr[data-key=\"u000\"] .review .badge').textContent === 'approved'").await;
        // The keyboard: next row, reject.
        b.key("j").await;
        b.key("r").await;
        b.wait_for("document.querySelector('tr[data-key=\"u001\"] .review .badge').textContent === 'rejected'").await;
        assert_eq!(
            b.eval("document.querySelector('#rows tr.sel').dataset.key").await,
            json!("u002"),
            "a decision by key moves to the next row"
        );
        let saved = std::fs::read_to_string(&reviews).unwrap();
        let file: Value = serde_yaml::from_str(&saved).unwrap();
        let decisions = file["decisions"].as_array().unwrap();
        assert_eq!(decisions.len(), 2, "{saved}");
        assert_eq!(decisions[0]["key"], "u000");
        assert_eq!(decisions[0]["decision"], "approved");
        assert_eq!(decisions[0]["by"], "tester");
        assert_eq!(decisions[0]["note"], "great");
        assert_eq!(decisions[1]["key"], "u001");
        assert_eq!(decisions[1]["decision"], "rejected");
        // A second load shows the decisions from the file.
        b.eval("window.__old = true").await;
        b.open(&server.url).await;
        let badges = b
            .eval("Array.from(document.querySelectorAll('#rows .review .badge')).map(function (e) { return e.textContent; })")
            .await;
        assert_eq!(badges, json!(["approved", "rejected", "unreviewed"]));
        b.set("f-review", "rejected", "change").await;
        assert_eq!(b.rows().await, ["u001"]);
        assert_eq!(b.errors().await, Vec::<String>::new(), "no console errors");
    });
}
