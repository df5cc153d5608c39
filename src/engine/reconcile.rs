//! Reconcile: the previous results, the plan and the journal's replay
//! decide what each row does in this run (queue a create, follow a video,
//! collect a finished one, or nothing). A pure function: no network, no
//! clock; whether a download is on disk is asked through a closure.

use std::collections::HashMap;
use std::path::PathBuf;

use super::submit::Create;
use crate::plan::{Change, PlannedJob};
use crate::results::journal::{EntryMap, Replayed};
use crate::results::{Entry, EntryStatus, ResultsFile};

/// What a row starts this run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Start {
    /// Nothing to do.
    Idle,
    /// Waiting to be submitted.
    Queue,
    /// Accepted earlier: follow this video.
    Follow(String),
    /// Finished earlier but its file is missing: fetch details, download.
    Collect,
}

/// What the run keeps of a planned job: its identity and, while it may
/// still be sent, its create as bytes (the request tree is dropped here).
#[derive(Debug)]
pub(super) struct Planned {
    /// Job hash.
    pub hash: String,
    /// Estimated cost.
    pub estimate: crate::pricing::Estimate,
    /// Download path.
    pub download: Option<PathBuf>,
    /// The create, for a row queued or resent.
    pub create: Option<Create>,
}

/// One row (or one orphan still rendering) as this run takes it on.
#[derive(Debug)]
pub(super) struct Row {
    /// The planned job; `None` for an orphan followed to its end.
    pub job: Option<Planned>,
    /// Row key.
    pub key: String,
    /// The Idempotency-Key a create of it carries.
    pub idempotency_key: String,
    /// What to do.
    pub start: Start,
    /// A create was sent by an earlier run and its answer never came.
    pub unanswered: bool,
}

/// The outcome of reconciling.
#[derive(Debug, Default)]
pub(super) struct Reconciled {
    /// Every entry of the results, updated for this run.
    pub entries: super::Entries,
    /// Rows in plan order, then orphans still rendering.
    #[cfg(test)]
    pub rows: Vec<Row>,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

/// The run's settings reconciling depends on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings<'a> {
    /// Campaign name (part of Idempotency-Keys).
    pub campaign: &'a str,
    /// `status`: submit nothing.
    pub follow_only: bool,
    /// Downloads are on.
    pub download: bool,
    /// Resubmit failed rows.
    pub retry_failed: bool,
}

/// [`reconcile_each`], the rows collected.
#[cfg(test)]
pub(super) fn reconcile(
    settings: Settings<'_>,
    previous: Option<ResultsFile>,
    jobs: Vec<PlannedJob>,
    orphans: &[String],
    replayed: HashMap<String, Replayed>,
    file_present: impl Fn(&Entry, Option<&PathBuf>) -> bool,
) -> Reconciled {
    let mut rows = Vec::new();
    let mut out =
        reconcile_each(settings, previous, jobs, orphans, replayed, file_present, |r| rows.push(r));
    out.rows = rows;
    out
}

/// Decides what every row does, handing each row to `on_row` as it is
/// decided (a large campaign's rows are not held twice: as rows and as
/// what the caller makes of them); `rows` of the result stays empty.
/// `file_present(entry, target)` says whether the entry's recorded
/// download is on disk at its recorded size.
pub(super) fn reconcile_each(
    settings: Settings<'_>,
    previous: Option<ResultsFile>,
    jobs: Vec<PlannedJob>,
    orphans: &[String],
    mut replayed: HashMap<String, Replayed>,
    file_present: impl Fn(&Entry, Option<&PathBuf>) -> bool,
    mut on_row: impl FnMut(Row),
) -> Reconciled {
    let mut out = Reconciled::default();
    out.entries.reserve(previous.as_ref().map_or(0, |p| p.entries.len()) + jobs.len());
    if let Some(prev) = previous {
        for e in prev.entries {
            out.entries.insert(e);
        }
    }
    for key in orphans {
        if let Some(e) = out.entries.get_mut(key) {
            e.orphaned = true;
        }
    }
    for planned in jobs {
        let key = planned.job.key.clone();
        let entry = out.entries.entry_or_insert(&key, || {
            Entry::new(key.clone(), planned.job.line, planned.hash.clone())
        });
        if entry.hash != planned.hash {
            entry.key_generation = 0;
        }
        entry.orphaned = false;
        entry.row = planned.job.line;
        let mut start = Start::Idle;
        let mut unanswered = false;
        let submit = planned.change.submits(settings.retry_failed) && !settings.follow_only;
        if submit {
            let same = entry.hash == planned.hash;
            *entry = Entry {
                attempts: if same { entry.attempts } else { 0 },
                key_generation: if same { entry.key_generation } else { 0 },
                ..Entry::new(key.clone(), planned.job.line, planned.hash.clone())
            };
            start = Start::Queue;
        } else if planned.change == Change::InFlight
            || (settings.follow_only && entry.status == EntryStatus::Rendering)
        {
            // Accepted earlier: follow it. `status` follows a rendering
            // video even if the row has changed since.
            if let Some(v) = entry.video_id.clone() {
                start = Start::Follow(v);
            }
        }
        let key_for = |generation: u32| {
            crate::plan::idempotency_key_gen(settings.campaign, &key, &planned.hash, generation)
        };
        // The journal knows more than the results file after a crash.
        // Attempts are matched by their Idempotency-Key, not the hash.
        if let Some(Replayed::Refused { hash, idempotency_key, .. }) = replayed.get(&key)
            && *hash == planned.hash
            && *idempotency_key == key_for(entry.key_generation)
        {
            // Refused for good: that key must not be sent again.
            entry.key_generation += 1;
        }
        let mut idem = key_for(entry.key_generation);
        match replayed.remove(&key) {
            Some(Replayed::Accepted { hash, video_id, at, idempotency_key })
                if hash == planned.hash
                    && (idempotency_key.is_empty() || idempotency_key == idem) =>
            {
                // This attempt was accepted, perhaps before a crash lost
                // the results write: follow it, never create it again.
                let known_done = entry.video_id.as_deref() == Some(video_id.as_str())
                    && matches!(entry.status, EntryStatus::Completed | EntryStatus::Failed);
                if !known_done {
                    entry.video_id = Some(video_id.clone());
                    entry.status = EntryStatus::Rendering;
                    entry.error = None;
                    entry.submitted_at.get_or_insert(at);
                    start = Start::Follow(video_id);
                }
            }
            Some(Replayed::Unanswered { hash, idempotency_key, .. }) if hash == planned.hash => {
                // Sent before a crash, answer unknown: send again with the
                // very key it carried; HeyGen replays instead of creating.
                unanswered = true;
                idem = idempotency_key;
                if !settings.follow_only {
                    start = Start::Queue;
                }
            }
            Some(Replayed::Unanswered { idempotency_key, .. }) => {
                // A create for an earlier version of the row, answer
                // unknown. Resending it could create an outdated video,
                // so it is only reported.
                out.warnings.push(format!(
                    "row {key:?}: an earlier run sent a create for a version of this row that has changed since \
                     (Idempotency-Key {idempotency_key}) and never got the answer; if it reached HeyGen, that video exists but is not tracked"
                ));
            }
            _ => {}
        }
        entry.title = planned.job.request.title().map(str::to_owned);
        entry.estimated_cost_usd = Some(super::ledger::round4(planned.estimate.usd));
        entry.idempotency_key = Some(idem.clone());
        if start == Start::Idle
            && settings.download
            && entry.status == EntryStatus::Completed
            && planned.job.download.is_some()
            && !file_present(entry, planned.job.download.as_ref())
        {
            start = Start::Collect;
        }
        let create =
            (start == Start::Queue || unanswered).then(|| Create::of(&planned.job.request));
        let job = Planned {
            hash: planned.hash,
            estimate: planned.estimate,
            download: planned.job.download,
            create,
        };
        on_row(Row { job: Some(job), key, idempotency_key: idem, start, unanswered });
    }
    // Journal records of rows no longer planned (dropped from the data
    // after a crash): an accepted video is recorded and followed as an
    // orphan, so its id is not lost when the journal goes.
    let mut rest: Vec<(String, Replayed)> = replayed.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, state) in rest {
        match state {
            Replayed::Accepted { hash, video_id, at, idempotency_key } => {
                let e = out.entries.entry_or_insert(&key, || Entry::new(key.clone(), 0, hash.clone()));
                if e.video_id.as_deref() != Some(video_id.as_str()) {
                    e.video_id = Some(video_id);
                    e.status = EntryStatus::Rendering;
                    e.submitted_at = Some(at);
                    e.idempotency_key = (!idempotency_key.is_empty()).then_some(idempotency_key);
                }
                e.orphaned = true;
            }
            Replayed::Unanswered { idempotency_key, .. } => out.warnings.push(format!(
                "row {key:?} is no longer in the data, but an earlier run sent its create (Idempotency-Key \
                 {idempotency_key}) and never got the answer; if it reached HeyGen, that video exists but is not tracked"
            )),
            Replayed::Refused { .. } => {}
        }
    }
    // Videos accepted earlier whose rows are no longer planned (orphans
    // still rendering) are followed too, so their results complete.
    let orphan_rendering: Vec<(String, String)> = out
        .entries
        .values()
        .filter(|e| e.orphaned && e.status == EntryStatus::Rendering)
        .filter_map(|e| e.video_id.clone().map(|v| (e.key.clone(), v)))
        .collect();
    for (key, video_id) in orphan_rendering {
        on_row(Row {
            job: None,
            key,
            idempotency_key: String::new(),
            start: Start::Follow(video_id),
            unanswered: false,
        });
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::plan::Planner;
    use crate::render::JobRequest;

    /// A planned avatar-video job for `key` whose script is `script`.
    pub(crate) fn job(key: &str, script: &str, change: Change) -> PlannedJob {
        let body = crate::heygen::wire::CreateVideoRequest::from_value(
            serde_json::json!({"type": "avatar", "avatar_id": "a1", "script": script, "voice_id": "v1", "title": key}),
        )
        .expect("a valid body");
        let request = JobRequest::Video(Box::new(body));
        let job = crate::render::Job {
            key: key.into(),
            line: 2,
            request,
            download: Some(PathBuf::from(format!("out/{key}.mp4"))),
            uploads: Vec::new(),
            digest: None,
        };
        let mut planned = Planner::new(None, "default", false).add(job, None);
        planned.change = change;
        planned
    }

    fn settings() -> Settings<'static> {
        Settings { campaign: "c", follow_only: false, download: true, retry_failed: false }
    }

    fn previous(entries: Vec<Entry>) -> Option<ResultsFile> {
        let mut f = ResultsFile::new("c", "default", None);
        f.entries = entries;
        Some(f)
    }

    #[test]
    fn new_rows_queue_and_finished_rows_without_their_file_are_collected() {
        let a = job("a", "one", Change::New);
        let b = job("b", "two", Change::Unchanged);
        let mut done = Entry::new("b".into(), 3, b.hash.clone());
        done.status = EntryStatus::Completed;
        done.video_id = Some("v_b".into());
        let r = reconcile(
            settings(),
            previous(vec![done.clone()]),
            vec![a, b],
            &[],
            HashMap::new(),
            |_, _| false,
        );
        assert_eq!(r.rows[0].start, Start::Queue);
        assert_eq!(r.rows[1].start, Start::Collect, "completed, file missing");
        let b2 = job("b", "two", Change::Unchanged);
        let r =
            reconcile(settings(), previous(vec![done]), vec![b2], &[], HashMap::new(), |_, _| true);
        assert_eq!(r.rows[0].start, Start::Idle, "file on disk: nothing to do");
    }

    #[test]
    fn the_journal_turns_a_crash_into_a_follow_or_a_resend_with_the_same_key() {
        let a = job("a", "one", Change::New);
        let b = job("b", "two", Change::New);
        let c = job("c", "three", Change::New);
        let key_a = crate::plan::idempotency_key_gen("c", "a", &a.hash, 0);
        let mut replayed = HashMap::new();
        replayed.insert(
            "a".to_string(),
            Replayed::Accepted {
                hash: a.hash.clone(),
                video_id: "v_a".into(),
                at: "t".into(),
                idempotency_key: key_a,
            },
        );
        replayed.insert(
            "b".to_string(),
            Replayed::Unanswered {
                hash: b.hash.clone(),
                idempotency_key: "sent-key".into(),
                path: "/v3/videos".into(),
                body: serde_json::json!({}),
            },
        );
        let key_c = crate::plan::idempotency_key_gen("c", "c", &c.hash, 0);
        replayed.insert(
            "c".to_string(),
            Replayed::Refused {
                hash: c.hash.clone(),
                idempotency_key: key_c.clone(),
                code: "invalid_parameter".into(),
                message: "m".into(),
            },
        );
        replayed.insert(
            "gone".to_string(),
            Replayed::Accepted {
                hash: "h".into(),
                video_id: "v_gone".into(),
                at: "t".into(),
                idempotency_key: String::new(),
            },
        );
        let r = reconcile(settings(), None, vec![a, b, c], &[], replayed, |_, _| false);
        assert_eq!(r.rows[0].start, Start::Follow("v_a".into()), "accepted: never created again");
        assert_eq!(r.entries["a"].status, EntryStatus::Rendering);
        assert_eq!(r.rows[1].start, Start::Queue);
        assert!(r.rows[1].unanswered);
        assert_eq!(r.rows[1].idempotency_key, "sent-key", "resent with the key it carried");
        assert_ne!(r.rows[2].idempotency_key, key_c, "a refused key is not sent again");
        assert_eq!(r.entries["c"].key_generation, 1);
        assert_eq!(r.rows[3].key, "gone");
        assert_eq!(r.rows[3].start, Start::Follow("v_gone".into()), "an orphan is followed");
        assert!(r.entries["gone"].orphaned);
    }

    #[test]
    fn status_submits_nothing_and_a_changed_rows_lost_create_is_only_reported() {
        let a = job("a", "one", Change::New);
        let mut replayed = HashMap::new();
        replayed.insert(
            "a".to_string(),
            Replayed::Unanswered {
                hash: "older".into(),
                idempotency_key: "k".into(),
                path: "/v3/videos".into(),
                body: serde_json::json!({}),
            },
        );
        let s = Settings { follow_only: true, ..settings() };
        let r = reconcile(s, None, vec![a], &[], replayed, |_, _| false);
        assert_eq!(r.rows[0].start, Start::Idle);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("changed since"), "{}", r.warnings[0]);
    }
}
