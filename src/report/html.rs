//! The report as one self-contained HTML file: inline CSS, JS and SVG, no
//! network. Videos and thumbnails are linked relative to the report.
//!
//! Every value from the data is untrusted (a CSV cell can hold `<script>`):
//! what the server writes is HTML-escaped, the rows travel as JSON in a
//! `<script type="application/json">` block with `<`, `>`, `&` and the JS
//! line separators escaped, and the page's script builds rows with
//! `textContent` only, never `innerHTML`. The rows are paged client-side,
//! so 10,000 rows stay quick.

use std::fmt::Write;

use super::model::Report;

/// How the page is served.
#[derive(Debug, Clone, Default)]
pub struct HtmlOptions {
    /// Review mode (`reelflow review`): approve/reject buttons posting to
    /// `/api/review` with this token (a custom header, so other sites
    /// cannot post to the local server).
    pub review_token: Option<String>,
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `</script>`, `<!--`, or JS
/// line terminators can appear (they are escaped inside strings, the only
/// place they can occur in JSON).
pub fn script_json(value: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn money(v: f64) -> String {
    format!("${v:.2}")
}

/// The render-time distribution as a small inline SVG bar chart.
pub fn chart(report: &Report) -> String {
    let buckets = &report.summary.render_time;
    let max = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let (bar_w, gap, h) = (56u32, 8u32, 90u32);
    let width = buckets.len() as u32 * (bar_w + gap);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"render time distribution\" viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\">",
        h + 36,
        h + 36
    );
    for (i, b) in buckets.iter().enumerate() {
        let x = i as u32 * (bar_w + gap);
        let bh = (b.count as f64 / max as f64 * f64::from(h)).round() as u32;
        let _ = write!(
            svg,
            "<g><title>{}: {} video(s)</title><rect x=\"{x}\" y=\"{}\" width=\"{bar_w}\" height=\"{bh}\" rx=\"3\"></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"n\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            escape(&b.label),
            b.count,
            h - bh + 14,
            x + bar_w / 2,
            (h - bh + 10).max(12),
            b.count,
            x + bar_w / 2,
            h + 30,
            escape(&b.label),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Renders the page.
pub fn render(report: &Report, opts: &HtmlOptions) -> String {
    let s = &report.summary;
    let mut html = String::with_capacity(64 * 1024 + report.rows.len() * 2048);
    let title = format!("reelflow · {}", report.campaign);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"reelflow\">\n<link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body{}>\n",
        escape(&title),
        if opts.review_token.is_some() { " class=\"review-mode\"" } else { "" }
    );
    let _ = writeln!(
        html,
        "<header><h1>{}</h1><p class=\"sub\">{}{} rows</p></header>",
        escape(&report.campaign),
        report.account.as_ref().map(|a| format!("account {} · ", escape(a))).unwrap_or_default(),
        s.total
    );
    html.push_str("<section id=\"summary\"><div class=\"cards\">\n");
    for (name, n) in &s.by_status {
        let _ = writeln!(
            html,
            "<div class=\"card status-{}\"><b>{n}</b><span>{}</span></div>",
            escape(name),
            escape(&name.replace('_', " "))
        );
    }
    let _ = writeln!(
        html,
        "<div class=\"card\"><b>{}</b><span>spent</span></div><div class=\"card\"><b>{:.0}s</b><span>of video</span></div>",
        money(s.cost_usd),
        s.duration_secs
    );
    for (name, n) in &s.by_review {
        let _ = writeln!(
            html,
            "<div class=\"card review-{}\"><b>{n}</b><span>{}</span></div>",
            escape(name),
            escape(name)
        );
    }
    html.push_str("</div>\n<figure><figcaption>Render time");
    if let (Some(p50), Some(p90)) = (s.render_p50_secs, s.render_p90_secs) {
        let _ = write!(html, " (median {p50:.0}s, p90 {p90:.0}s)");
    }
    html.push_str("</figcaption>");
    html.push_str(&chart(report));
    html.push_str("</figure></section>\n");
    html.push_str("<nav id=\"controls\">\n<label>Status <select id=\"f-status\"><option value=\"\">all</option>");
    for name in s.by_status.keys() {
        let _ = write!(
            html,
            "<option value=\"{}\">{}</option>",
            escape(name),
            escape(&name.replace('_', " "))
        );
    }
    html.push_str("</select></label>\n<label>Review <select id=\"f-review\"><option value=\"\">all</option><option value=\"approved\">approved</option><option value=\"rejected\">rejected</option><option value=\"unreviewed\">unreviewed</option></select></label>\n<label>Search <input id=\"f-search\" type=\"search\" placeholder=\"key, name, script… ( / )\"></label>\n<span id=\"count\"></span>\n<button id=\"prev\" type=\"button\">← prev</button><span id=\"page\"></span><button id=\"next\" type=\"button\">next →</button>\n</nav>\n");
    html.push_str("<p class=\"keys\">Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous row, <kbd>Enter</kbd> details, <kbd>/</kbd> search, <kbd>←</kbd>/<kbd>→</kbd> pages");
    if opts.review_token.is_some() {
        html.push_str(
            ", <kbd>a</kbd> approve and next, <kbd>r</kbd> reject and next, <kbd>n</kbd> note (<kbd>Enter</kbd> keeps it), <kbd>Space</kbd> play",
        );
    }
    html.push_str("</p>\n<main><table id=\"rows\"><thead><tr><th>Video</th><th>Row</th><th>Status</th><th>Review</th><th>Length</th><th>Cost</th><th>Tries</th></tr></thead><tbody></tbody></table>\n<p id=\"empty\" hidden>No rows match.</p></main>\n");
    let _ = writeln!(
        html,
        "<script type=\"application/json\" id=\"report-data\">{}</script>",
        script_json(&report.rows)
    );
    if let Some(token) = &opts.review_token {
        let _ = writeln!(
            html,
            "<script type=\"application/json\" id=\"review-token\">{}</script>",
            script_json(token)
        );
    }
    let _ = write!(html, "<script>{JS}</script>\n</body>\n</html>\n");
    html
}

const CSS: &str = r#"
:root{--fg:#1d2430;--mut:#5b6575;--bg:#fff;--line:#e3e6eb;--ok:#1f7a3f;--bad:#b42318;--warn:#9a6700;--acc:#2f5fd0}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 24px}
h1{margin:0;font-size:22px}.sub{margin:2px 0 12px;color:var(--mut)}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:92px}
.card b{display:block;font-size:18px}.card span{color:var(--mut)}
.status-completed b,.review-approved b{color:var(--ok)}.status-failed b,.status-invalid b,.review-rejected b{color:var(--bad)}
figure{margin:12px 0}figcaption{color:var(--mut);margin-bottom:4px}
.chart rect{fill:var(--acc)}.chart text{font-size:11px;fill:var(--mut)}.chart text.n{fill:var(--fg)}
nav{display:flex;flex-wrap:wrap;align-items:center;gap:12px;padding:8px 0;border-top:1px solid var(--line);position:sticky;top:0;background:var(--bg);z-index:2}
.keys{color:var(--mut);font-size:12px;margin:0 0 8px}kbd{border:1px solid var(--line);border-radius:3px;padding:0 4px;font-size:11px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{font-weight:600;color:var(--mut);font-size:12px}
tr.row.sel{outline:2px solid var(--acc);outline-offset:-2px}
td.media{width:248px}video,img.thumb{width:240px;max-height:135px;background:#000;border-radius:4px;display:block}
.nomedia{width:240px;height:60px;border:1px dashed var(--line);border-radius:4px;color:var(--mut);display:flex;align-items:center;justify-content:center;font-size:12px}
.key{font-weight:600;word-break:break-all}.title{color:var(--mut)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;border:1px solid var(--line)}
.badge.completed,.badge.approved{color:var(--ok);border-color:var(--ok)}.badge.failed,.badge.invalid,.badge.rejected{color:var(--bad);border-color:var(--bad)}
.badge.rendering,.badge.not_submitted{color:var(--warn);border-color:var(--warn)}
details{margin-top:4px}summary{cursor:pointer;color:var(--acc)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:6px 0}dt{color:var(--mut)}dd{margin:0;word-break:break-word}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f7f9;border-radius:4px;padding:6px 8px;margin:4px 0;max-height:320px;overflow:auto}
.error{color:var(--bad)}.hint{color:var(--mut)}
.actions{display:none;gap:6px;margin-top:6px;flex-wrap:wrap}.review-mode .actions{display:flex}
.actions input{flex:1;min-width:120px}button{cursor:pointer}
.who{color:var(--mut);font-size:12px}
"#;

const JS: &str = r##"
(function () {
  "use strict";
  var rows = JSON.parse(document.getElementById("report-data").textContent);
  var tokenEl = document.getElementById("review-token");
  var token = tokenEl ? JSON.parse(tokenEl.textContent) : null;
  var PAGE = 50;
  var state = { status: "", review: "", q: "", page: 0, sel: 0 };
  var shown = [];
  var tbody = document.querySelector("#rows tbody");
  var fStatus = document.getElementById("f-status");
  var fReview = document.getElementById("f-review");
  var fSearch = document.getElementById("f-search");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function haystack(r) {
    if (r._h === undefined) {
      var parts = [r.key, r.title || "", r.status, r.video_id || ""];
      r.variables.forEach(function (kv) { parts.push(kv[1]); });
      r.scenes.forEach(function (s) {
        if (s.script) parts.push(s.script);
        if (s.avatar) parts.push(s.avatar.id, s.avatar.name || "");
        if (s.voice) parts.push(s.voice.id, s.voice.name || "");
      });
      if (r.error) parts.push(r.error.code, r.error.message);
      r._h = parts.join("\n").toLowerCase();
    }
    return r._h;
  }
  function named(n) { return n.name ? n.name + " (" + n.id + ")" : n.id; }
  function num(v, unit) { return v === undefined || v === null ? "" : unit === "$" ? "$" + v.toFixed(2) : v.toFixed(1) + unit; }

  function filter() {
    var q = state.q.trim().toLowerCase();
    shown = rows.filter(function (r) {
      if (state.status && r.status !== state.status) return false;
      if (state.review && r.review.state !== state.review) return false;
      if (q && haystack(r).indexOf(q) < 0) return false;
      return true;
    });
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    draw();
  }

  function reviewCell(r) {
    var td = el("td", "review");
    td.appendChild(el("span", "badge " + r.review.state, r.review.state));
    if (r.review.by) td.appendChild(el("div", "who", r.review.by + (r.review.at ? " · " + r.review.at : "")));
    if (r.review.note) td.appendChild(el("div", "note", r.review.note));
    return td;
  }

  function details(r) {
    var d = el("details");
    d.appendChild(el("summary", null, "details"));
    var dl = el("dl");
    function item(k, v) { dl.appendChild(el("dt", null, k)); var dd = el("dd"); if (v instanceof Node) dd.appendChild(v); else dd.textContent = v; dl.appendChild(dd); }
    r.variables.forEach(function (kv) { item(kv[0], kv[1]); });
    r.scenes.forEach(function (s, i) {
      var label = r.scenes.length > 1 ? "scene " + (i + 1) + " " : "";
      if (s.avatar) item(label + "avatar", named(s.avatar));
      if (s.voice) item(label + "voice", named(s.voice));
      if (s.script) item(label + "script", el("pre", "script", s.script));
    });
    if (r.video_id) item("video id", r.video_id);
    if (r.video_page_url) { var a = el("a", null, "open in HeyGen"); a.href = r.video_page_url; a.rel = "noopener noreferrer"; a.target = "_blank"; item("HeyGen", a); }
    if (r.render_secs !== undefined) item("render time", num(r.render_secs, "s"));
    if (r.estimated_cost_usd !== undefined) item("estimate", num(r.estimated_cost_usd, "$"));
    d.appendChild(dl);
    if (r.endpoint) {
      d.appendChild(el("div", "endpoint", "Sent: " + r.endpoint));
      d.appendChild(el("pre", "request", JSON.stringify(r.request, null, 2)));
    }
    return d;
  }

  function actions(r, tr) {
    var box = el("div", "actions");
    var note = el("input", "note-input");
    note.type = "text"; note.placeholder = "note (why)"; note.value = r.review.note || "";
    var ok = el("button", "approve", "Approve"); ok.type = "button";
    var no = el("button", "reject", "Reject"); no.type = "button";
    ok.addEventListener("click", function () { decide(r, "approved", note.value); });
    no.addEventListener("click", function () { decide(r, "rejected", note.value); });
    // Enter keeps the note and returns to the keyboard flow (then a / r).
    note.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); note.blur(); } });
    box.appendChild(ok); box.appendChild(no); box.appendChild(note);
    var can = r.status === "completed";
    ok.disabled = no.disabled = !can;
    if (!can) box.title = "only rendered videos can be reviewed";
    return box;
  }

  function rowEl(r, i) {
    var tr = el("tr", "row" + (i === state.sel ? " sel" : ""));
    tr.dataset.key = r.key;
    tr.dataset.status = r.status;
    var media = el("td", "media");
    if (r.video) {
      var v = el("video"); v.controls = true; v.preload = "none"; v.src = r.video;
      if (r.thumbnail) v.poster = r.thumbnail;
      media.appendChild(v);
    } else if (r.thumbnail) {
      var img = el("img", "thumb"); img.alt = ""; img.loading = "lazy"; img.src = r.thumbnail; media.appendChild(img);
    } else {
      media.appendChild(el("div", "nomedia", r.status === "completed" ? "not downloaded" : "no video"));
    }
    tr.appendChild(media);
    var main = el("td", "main");
    main.appendChild(el("div", "key", r.key));
    if (r.title) main.appendChild(el("div", "title", r.title));
    main.appendChild(el("div", "line", r.line ? "CSV line " + r.line : "no longer in the data"));
    if (r.error) {
      main.appendChild(el("div", "error", r.error.code + ": " + r.error.message));
      main.appendChild(el("div", "hint", r.error.hint));
    }
    main.appendChild(details(r));
    if (token) main.appendChild(actions(r, tr));
    tr.appendChild(main);
    var st = el("td"); st.appendChild(el("span", "badge " + r.status, r.status.replace("_", " ")));
    if (r.orphaned) st.appendChild(el("div", "who", "orphaned"));
    if (r.changed) st.appendChild(el("div", "who changed", "changed since this render: the next run makes it again"));
    tr.appendChild(st);
    tr.appendChild(reviewCell(r));
    tr.appendChild(el("td", "num", num(r.duration_secs, "s")));
    tr.appendChild(el("td", "num", num(r.cost_usd, "$")));
    tr.appendChild(el("td", "num", r.attempts));
    tr.addEventListener("click", function (e) { if (e.target.tagName !== "INPUT" && e.target.tagName !== "BUTTON") { state.sel = i; mark(); } });
    return tr;
  }

  function draw() {
    var start = state.page * PAGE;
    var page = shown.slice(start, start + PAGE);
    var frag = document.createDocumentFragment();
    page.forEach(function (r, i) { frag.appendChild(rowEl(r, i)); });
    tbody.replaceChildren(frag);
    if (state.sel >= page.length) state.sel = Math.max(0, page.length - 1);
    mark();
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    document.getElementById("count").textContent = shown.length === rows.length
      ? rows.length + " rows" : shown.length + " of " + rows.length + " rows";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " / " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    document.getElementById("empty").hidden = shown.length > 0;
  }

  function current() { return tbody.children[state.sel] || null; }
  function mark() {
    Array.prototype.forEach.call(tbody.children, function (tr, i) { tr.classList.toggle("sel", i === state.sel); });
  }
  function move(d) {
    var n = tbody.children.length;
    if (!n) return;
    var next = state.sel + d;
    if (next >= n && (state.page + 1) * PAGE < shown.length) { state.page++; state.sel = 0; draw(); }
    else if (next < 0 && state.page > 0) { state.page--; state.sel = PAGE - 1; draw(); }
    else { state.sel = Math.max(0, Math.min(n - 1, next)); mark(); }
    var tr = current(); if (tr && tr.scrollIntoView) tr.scrollIntoView({ block: "nearest" });
  }

  function decide(r, decision, note) {
    if (!token) return;
    fetch("/api/review", {
      method: "POST",
      headers: { "content-type": "application/json", "x-reelflow-token": token },
      body: JSON.stringify({ key: r.key, decision: decision, note: note || "" })
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : "HTTP " + res.status);
        return body;
      });
    }).then(function (body) {
      r.review = body.review;
      r._h = undefined;
      var idx = shown.indexOf(r) - state.page * PAGE;
      var old = tbody.children[idx];
      if (old) tbody.replaceChild(rowEl(r, idx), old);
      document.title = document.title.replace(/^\(saved\) /, "");
      var status = document.getElementById("count");
      status.dataset.saved = r.key;
    }).catch(function (err) {
      window.alert("Could not save the decision: " + err.message);
    });
  }

  fStatus.addEventListener("change", function () { state.status = fStatus.value; state.page = 0; filter(); });
  fReview.addEventListener("change", function () { state.review = fReview.value; state.page = 0; filter(); });
  fSearch.addEventListener("input", function () { state.q = fSearch.value; state.page = 0; filter(); });
  document.getElementById("prev").addEventListener("click", function () { if (state.page > 0) { state.page--; draw(); } });
  document.getElementById("next").addEventListener("click", function () { state.page++; filter(); });
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA") {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var tr = current();
    var r = tr ? shown[state.page * PAGE + state.sel] : null;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "/": e.preventDefault(); fSearch.focus(); break;
      case "ArrowRight": document.getElementById("next").click(); break;
      case "ArrowLeft": document.getElementById("prev").click(); break;
      case "Enter": if (tr) { var d = tr.querySelector("details"); if (d) d.open = !d.open; } break;
      // Decide and move on: going through many rows is a / r / a / …
      case "a": if (r && token && r.status === "completed") { decide(r, "approved", tr.querySelector(".note-input").value); move(1); } break;
      case "r": if (r && token && r.status === "completed") { decide(r, "rejected", tr.querySelector(".note-input").value); move(1); } break;
      case "n": if (tr && token) { e.preventDefault(); tr.querySelector(".note-input").focus(); } break;
      case " ": if (tr) { var v = tr.querySelector("video"); if (v) { e.preventDefault(); if (v.paused) v.play().catch(function () {}); else v.pause(); } } break;
      default: return;
    }
  });
  filter();
  document.body.dataset.ready = "true";
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_script_breakouts() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let j = script_json(&vec!["</script><!-- \u{2028} & >"]);
        assert!(
            !j.contains('<') && !j.contains('>') && !j.contains('&') && !j.contains('\u{2028}')
        );
        let back: Vec<String> = serde_json::from_str(&j).unwrap();
        assert_eq!(back, ["</script><!-- \u{2028} & >"]);
    }
}
