"""The comparison for benches/plan_offline.rs: a plain Python csv + jinja2
script doing the same per-row work as `reelflow plan --offline` on the
onboarding manifest: render every templated field (key, where, title,
avatar, voice, script, download), build the v3 request body, check keys
and download paths for duplicates, hash the body and estimate the cost.

Usage: python3 benches/plan_offline.py LEADS.csv   (needs `pip install jinja2`)
Prints `rows=N jobs=M seconds=S`.
"""

import csv
import hashlib
import json
import re
import sys
import time
import unicodedata

import jinja2


def slug(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "-".join(w for w in re.split(r"[^a-z0-9]+", s.lower()) if w)[:80]


def default(v, fallback=""):
    missing = v is None or isinstance(v, jinja2.Undefined) or (isinstance(v, str) and not v.strip())
    return fallback if missing else v


def main(path):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["slug"] = slug
    env.filters["first_word"] = lambda v: (v.split() or [""])[0]
    env.filters["default"] = default
    env.filters["d"] = default
    t = {
        "key": env.from_string("{{ email }}"),
        "where": env.from_string("{% if plan != 'trial' %}true{% endif %}"),
        "title": env.from_string("Welcome, {{ first_name | title }}"),
        "avatar": env.from_string("{{ avatar | default('Abigail_expressive_2024112501') }}"),
        "voice": env.from_string("{{ voice_id | default('1bd001e7e50f421d891986aad5c8bbd2') }}"),
        "script": env.from_string(
            "Hi {{ first_name | trim | first_word }}! Welcome to {{ company }}.\n"
            "Your {{ plan }} workspace is ready, and I'm here to show you around.\n"
        ),
        "download": env.from_string("out/videos/{{ key | slug }}.mp4"),
    }
    start = time.perf_counter()
    keys, paths = set(), set()
    rows = jobs = 0
    usd = 0.0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows += 1
            ctx = dict(row, company="Acme Analytics")
            key = t["key"].render(ctx)
            ctx["key"] = key
            if t["where"].render(ctx) != "true":
                continue
            script = t["script"].render(ctx)
            body = {
                "type": "avatar",
                "avatar_id": t["avatar"].render(ctx),
                "script": script,
                "voice_id": t["voice"].render(ctx),
                "voice_settings": {"speed": 1.05},
                "title": t["title"].render(ctx),
                "resolution": "1080p",
                "aspect_ratio": "16:9",
                "background": {"type": "color", "value": "#0B1F3A"},
                "caption": {"file_format": "srt"},
            }
            download = t["download"].render(ctx)
            if key in keys or download in paths:
                raise SystemExit(f"duplicate on row {rows}")
            keys.add(key)
            paths.add(download)
            h = hashlib.sha256(b"reelflow-job-v1\0")
            h.update(json.dumps(body, separators=(",", ":")).encode())
            h.update(b"\0default\0POST /v3/videos")
            h.hexdigest()
            usd += len(script.split()) / 2.5 / 60 * 0.05
            jobs += 1
    print(f"rows={rows} jobs={jobs} seconds={time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
