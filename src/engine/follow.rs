//! Follow: when to ask about videos in flight ([`super::poll`] decides the
//! time), whom to ask ([`source`]) and what an answer means ([`seen`],
//! [`listing_suffices`]); all pure functions.
//!
//! Without a campaign folder one bulk `GET /v3/videos/statuses` (≤ 100 ids)
//! answers for every job in flight, and one `GET /v3/videos/{id}` per
//! finished video brings its links. When the run files its videos in a
//! campaign folder, `GET /v3/videos?folder_id=…` (newest first, ≤ 100 a
//! page) answers both at once: an item carries the status and, once
//! completed, `video_url`, `thumbnail_url`, `duration` and the failure
//! fields, so the detail call is skipped (kept only when the item lacks
//! what collecting needs: a `video_url`, or `subtitle_url` with captions
//! on). Paging stops as soon as every video in flight has been seen;
//! other runs' videos in the folder are ignored (matched by id); ids the
//! listing did not show are asked with bulk statuses in the same round.
//! When a listing costs more calls than bulk statuses would (a folder
//! holding many newer videos) or shows too few of ours, following goes
//! back to bulk statuses for the rest of the run.
//!
//! Status and detail calls are hedged ([`crate::heygen::client::ReadOptions`]):
//! a response slower than a few times the usual latency gets a second
//! copy of the request, so one hung response does not stall following.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::poll::Followed;
use super::{Coordinator, Event, Msg, Phase, Work};
use crate::heygen::Error;
use crate::heygen::client::ReadOptions;
use crate::heygen::wire::{StatusEntry, VideoDetail, VideoStatus};
use crate::heygen::{RetryPolicy, rules::STATUSES_MAX_IDS};

/// What a status answer means for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// Rendered: fetch details, download.
    Completed,
    /// Failed: fetch details for HeyGen's reason.
    Failed,
    /// HeyGen does not know it (deleted).
    Gone,
    /// Still waiting or rendering.
    Pending,
}

/// Reads a status.
pub(super) fn seen(status: &VideoStatus) -> Seen {
    match status {
        VideoStatus::Completed => Seen::Completed,
        VideoStatus::Failed => Seen::Failed,
        VideoStatus::NotFound => Seen::Gone,
        _ => Seen::Pending,
    }
}

/// Where the answers about videos in flight come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `GET /v3/videos/statuses`, ≤ 100 ids a call, then one detail call
    /// per finished video.
    Statuses,
    /// `GET /v3/videos?folder_id=…`, paged until every id is seen.
    Folder,
}

/// What one folder listing cost and found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListingCost {
    /// Pages fetched.
    pub(super) pages: u32,
    /// Videos in flight asked about.
    pub(super) asked: usize,
    /// Of those, the ones the listing showed.
    pub(super) found: usize,
}

/// Bulk status calls needed for `ids` videos.
pub(super) fn status_calls_for(ids: usize) -> u32 {
    ids.div_ceil(STATUSES_MAX_IDS) as u32
}

/// Whom to ask about videos in flight: the folder when the run has one,
/// until a listing shows it is the dearer way. A listing that needed more
/// pages than bulk statuses would need calls for the same ids means the
/// folder holds many videos newer than ours (other runs filing into it):
/// its cost grows with the folder, the statuses' only with our ids, so the
/// rest of the run uses statuses (the saved detail calls, about one per
/// video, do not make up for a page per round). A listing that showed
/// under half of our ids (videos made before the folder was set, or filed
/// elsewhere) says the same. The last listing's cost stays the verdict: a
/// folder only grows during a run, so there is no point probing again.
pub(super) fn source(folder: bool, last: Option<ListingCost>) -> Source {
    match (folder, last) {
        (false, _) => Source::Statuses,
        (true, None) => Source::Folder,
        (true, Some(l)) => {
            let dearer = l.pages > status_calls_for(l.asked).max(1);
            let blind = l.found * 2 < l.asked;
            if dearer || blind { Source::Statuses } else { Source::Folder }
        }
    }
}

/// Whether a listed, finished video's item has all that collecting it
/// needs, so no detail call is made: a completed video needs its
/// `video_url` (and `subtitle_url` when captions are wanted), a failed one
/// its failure code or message.
pub(super) fn listing_suffices(item: &VideoDetail, captions: bool) -> bool {
    match item.status {
        VideoStatus::Completed => {
            item.video_url.is_some() && (!captions || item.subtitle_url.is_some())
        }
        VideoStatus::Failed => item.failure_code.is_some() || item.failure_message.is_some(),
        _ => false,
    }
}

/// Keeps the listed items that are ours (`wanted` ids) and crosses them off.
pub(super) fn take_ours(
    items: Vec<VideoDetail>,
    wanted: &mut HashSet<String>,
    into: &mut HashMap<String, VideoDetail>,
) {
    for item in items {
        if wanted.remove(&item.id) {
            into.insert(item.id.clone(), item);
        }
    }
}

/// Most pages one listing fetches before the rest is asked by statuses.
pub(super) fn page_budget(ids: usize) -> u32 {
    status_calls_for(ids).max(1) + 1
}

/// One round's answers about videos in flight.
#[derive(Debug, Default)]
pub(super) struct Answers {
    /// Status entries (bulk statuses, and listed items as entries).
    pub(super) entries: Vec<StatusEntry>,
    /// Listed items by id (only those of videos in flight).
    pub(super) listed: HashMap<String, VideoDetail>,
    /// What the listing cost, when the folder was listed.
    pub(super) listing: Option<ListingCost>,
}

/// How long to wait before the next status call after `failures` failed
/// calls in a row: a failing API is not hammered.
pub(super) fn failure_backoff(failures: u32) -> Duration {
    if failures == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(500 * (1u64 << failures.min(6))).min(Duration::from_secs(30))
    }
}

/// The hedge delay for reads whose latency averages `typical`.
pub(super) fn hedge_after(typical: Option<Duration>) -> Duration {
    typical
        .map_or(Duration::from_secs(2), |t| t * 4)
        .clamp(Duration::from_millis(300), Duration::from_secs(5))
}

/// Bulk statuses for `ids`, ≤ 100 a call, all at once.
async fn bulk_statuses(
    client: &crate::heygen::Client,
    ids: &[String],
    opts: &ReadOptions,
) -> Result<Vec<StatusEntry>, Error> {
    let calls = ids.chunks(STATUSES_MAX_IDS).map(|c| client.video_statuses_with(c, opts));
    let mut all = Vec::new();
    for answer in futures_util::future::join_all(calls).await {
        all.extend(answer?);
    }
    Ok(all)
}

/// Lists the folder (newest first) until every id in flight was seen or
/// the page budget is spent; the ids it did not show are asked by bulk
/// statuses in the same round, so a video never waits on the listing.
async fn list_folder(
    client: &crate::heygen::Client,
    folder: &str,
    ids: Vec<String>,
    opts: &ReadOptions,
) -> Result<Answers, Error> {
    let asked = ids.len();
    let mut wanted: HashSet<String> = ids.into_iter().collect();
    let mut listed = HashMap::new();
    let mut token = None;
    let mut pages = 0;
    while !wanted.is_empty() && pages < page_budget(asked) {
        let page = client.list_videos_in_folder_with(folder, token.take(), opts).await?;
        pages += 1;
        take_ours(page.data, &mut wanted, &mut listed);
        match page.next_token {
            Some(t) if page.has_more => token = Some(t),
            _ => break,
        }
    }
    let rest: Vec<String> = wanted.into_iter().collect();
    let mut entries = bulk_statuses(client, &rest, opts).await?;
    entries.extend(listed.values().map(|v| StatusEntry {
        video_id: Some(v.id.clone()),
        status: v.status.clone(),
        batch_id: None,
        item_index: None,
        error: None,
    }));
    let listing = Some(ListingCost { pages, asked, found: asked - rest.len() });
    Ok(Answers { entries, listed, listing })
}

impl<'a> Coordinator<'a> {
    /// Read options for status and detail calls.
    pub(super) fn read_options(&self) -> ReadOptions {
        ReadOptions {
            timeout: Duration::from_secs(15),
            retry: RetryPolicy {
                max_retries: 2,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
                retry_rate_limited: true,
            },
            hedge_after: Some(hedge_after(self.read_latency)),
            copies: 3,
        }
    }

    /// Jobs in flight as the schedule sees them.
    fn followed(&self) -> Vec<Followed> {
        self.rendering
            .iter()
            .filter_map(|&i| match &self.slots[i].phase {
                Phase::Rendering(r) => Some(Followed { accepted: r.accepted, checked: r.checked }),
                _ => None,
            })
            .collect()
    }

    /// When the next status call is due (cached until something changes).
    pub(super) fn next_poll(&mut self, now: Instant) -> Option<Instant> {
        if self.polling || self.rendering.is_empty() {
            return None;
        }
        if self.next_poll.is_none() {
            let jobs = self.followed();
            self.next_poll = self
                .schedule
                .next_poll(now, self.last_poll, &jobs)
                .map(|t| t.max(self.poll_backoff_until.unwrap_or(t)));
        }
        self.next_poll
    }

    /// Sends the status calls when due.
    pub(super) fn poll_if_due(&mut self, work: &mut Work<'a>, now: Instant) {
        let Some(due) = self.next_poll(now) else { return };
        if now < due {
            return;
        }
        // Every job in flight rides along: one bulk call answers them all.
        let rendering: Vec<(usize, String)> = self
            .rendering
            .iter()
            .filter_map(|&i| match &self.slots[i].phase {
                Phase::Rendering(r) => Some((i, r.video_id.clone())),
                _ => None,
            })
            .collect();
        self.polling = true;
        self.next_poll = None;
        self.last_poll = Some(now);
        let client = self.client;
        let opts = self.read_options();
        let slots: Vec<usize> = rendering.iter().map(|(i, _)| *i).collect();
        let ids: Vec<String> = rendering.into_iter().map(|(_, id)| id).collect();
        if let (Source::Folder, Some(folder)) =
            (source(self.folder.is_some(), self.listing), self.folder.clone())
        {
            // The first page now, the rest when the answer tells how many.
            self.status_calls += 1;
            work.push(Box::pin(async move {
                let started = Instant::now();
                let result = list_folder(client, &folder, ids, &opts).await;
                Msg::Statuses { sent: now, took: started.elapsed(), slots, result }
            }));
            return;
        }
        self.status_calls += u64::from(status_calls_for(ids.len()));
        work.push(Box::pin(async move {
            let started = Instant::now();
            let result = bulk_statuses(client, &ids, &opts)
                .await
                .map(|entries| Answers { entries, ..Answers::default() });
            Msg::Statuses { sent: now, took: started.elapsed(), slots, result }
        }));
    }

    /// A status answer came back for `slots`, asked at `sent`.
    pub(super) fn on_statuses(
        &mut self,
        sent: Instant,
        took: Duration,
        slots: Vec<usize>,
        result: Result<Answers, Error>,
        work: &mut Work<'a>,
    ) {
        self.polling = false;
        self.next_poll = None;
        let now = Instant::now();
        let Answers { entries, mut listed, listing } = match result {
            Ok(a) => a,
            Err(e) => {
                // A failed status call never fails a job: ask again later.
                self.reachable(now, matches!(e, Error::Network { .. } | Error::Timeout { .. }));
                self.poll_failures += 1;
                self.poll_backoff_until = Some(now + failure_backoff(self.poll_failures));
                self.emit(Event::PollFailed { error: e.to_string() });
                return;
            }
        };
        self.reachable(now, false);
        if let Some(l) = listing {
            let more = l.pages.saturating_sub(1) + status_calls_for(l.asked - l.found);
            self.status_calls += u64::from(more);
            self.listing = Some(l);
        }
        self.poll_failures = 0;
        self.poll_backoff_until = None;
        self.read_latency = Some(match self.read_latency {
            Some(l) => (l * 3 + took) / 4,
            None => took,
        });
        let by_id: HashMap<&str, &StatusEntry> =
            entries.iter().filter_map(|e| e.video_id.as_deref().map(|id| (id, e))).collect();
        for i in slots {
            let Phase::Rendering(r) = &self.slots[i].phase else {
                continue;
            };
            let super::Rendering { video_id, accepted, last_miss, last_status, learn, .. } = &**r;
            let (video_id, accepted, last_miss, learn) =
                (video_id.clone(), *accepted, *last_miss, *learn);
            let Some(entry) = by_id.get(video_id.as_str()) else {
                // Not in the answer: ask again later like any unfinished job.
                self.saw_pending(i, sent, None);
                continue;
            };
            let status = entry.status.clone();
            if status.as_str() != last_status.as_str() {
                let key = self.slots[i].key.clone();
                self.emit(Event::StatusChanged {
                    key,
                    video_id: video_id.clone(),
                    status: status.to_string(),
                });
            }
            match seen(&status) {
                Seen::Pending => self.saw_pending(i, sent, Some(status.to_string())),
                verdict => {
                    // The slot is free the moment the render is over.
                    self.in_flight -= 1;
                    self.limit.on_slot_freed();
                    if verdict != Seen::Gone && learn {
                        self.schedule.observe(accepted, sent, last_miss);
                    }
                    self.set_phase(i, Phase::Finishing);
                    if verdict == Seen::Gone {
                        self.finish_failed(
                            i,
                            &video_id,
                            "not_found",
                            "HeyGen no longer knows this video (deleted?)",
                        );
                        continue;
                    }
                    let then_download = verdict == Seen::Completed;
                    match listed.remove(&video_id) {
                        // The listing brought the links: no detail call.
                        Some(item) if listing_suffices(&item, self.opts.captions) => {
                            self.on_details(i, Ok(item), then_download, work)
                        }
                        _ => self.fetch_details(i, video_id, then_download, Duration::ZERO, work),
                    }
                }
            }
        }
    }

    /// A job was seen unfinished by the call sent at `sent`.
    fn saw_pending(&mut self, slot: usize, sent: Instant, status: Option<String>) {
        if let Phase::Rendering(r) = &mut self.slots[slot].phase {
            let super::Rendering { checked, last_miss, last_status, .. } = &mut **r;
            *checked = Some(checked.map_or(sent, |c| c.max(sent)));
            *last_miss = Some(sent);
            if let Some(s) = status {
                *last_status = s;
            }
        }
    }

    /// Fetches a finished video's details (hedged), after `delay`.
    pub(super) fn fetch_details(
        &mut self,
        slot: usize,
        video_id: String,
        then_download: bool,
        delay: Duration,
        work: &mut Work<'a>,
    ) {
        self.detail_calls += 1;
        let client = self.client;
        let opts = self.read_options();
        work.push(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let result = client.get_video_with(&video_id, &opts).await;
            Msg::Details { slot, result: Box::new(result), then_download }
        }));
    }

    /// A render ended badly (failed, or the video is gone).
    pub(super) fn finish_failed(&mut self, slot: usize, video_id: &str, code: &str, message: &str) {
        let key = self.slots[slot].key.clone();
        self.record(super::ledger::failed(&key, video_id, code, message));
        self.set_phase(slot, Phase::Idle);
        self.failed_this_run += 1;
        self.emit(Event::Failed {
            key,
            video_id: video_id.into(),
            code: code.into(),
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_status_means() {
        assert_eq!(seen(&VideoStatus::Completed), Seen::Completed);
        assert_eq!(seen(&VideoStatus::Failed), Seen::Failed);
        assert_eq!(seen(&VideoStatus::NotFound), Seen::Gone);
        assert_eq!(seen(&VideoStatus::Processing), Seen::Pending);
    }

    #[test]
    fn failing_calls_back_off_and_slow_answers_are_hedged_sooner_than_their_timeout() {
        assert_eq!(failure_backoff(0), Duration::ZERO);
        assert_eq!(failure_backoff(1), Duration::from_secs(1));
        assert!(failure_backoff(3) > failure_backoff(2));
        assert_eq!(failure_backoff(30), Duration::from_secs(30));
        assert_eq!(hedge_after(Some(Duration::from_millis(5))), Duration::from_millis(300));
        assert_eq!(hedge_after(Some(Duration::from_millis(200))), Duration::from_millis(800));
        assert_eq!(hedge_after(Some(Duration::from_secs(60))), Duration::from_secs(5));
    }

    fn item(id: &str, status: VideoStatus) -> VideoDetail {
        serde_json::from_value(serde_json::json!({"id": id, "status": status})).unwrap()
    }

    #[test]
    fn the_folder_is_listed_until_a_listing_shows_statuses_are_cheaper() {
        assert_eq!(source(false, None), Source::Statuses);
        assert_eq!(source(true, None), Source::Folder);
        let cost = |pages, asked, found| Some(ListingCost { pages, asked, found });
        // One page found all ten in flight: as cheap as one status call.
        assert_eq!(source(true, cost(1, 10, 10)), Source::Folder);
        // 150 in flight need two status calls; two pages are no dearer.
        assert_eq!(source(true, cost(2, 150, 150)), Source::Folder);
        // Newer videos of other runs pushed ours to page two.
        assert_eq!(source(true, cost(2, 10, 10)), Source::Statuses);
        // Most of ours are not in the folder (made before it was set).
        assert_eq!(source(true, cost(1, 10, 4)), Source::Statuses);
        assert_eq!(source(true, cost(1, 10, 5)), Source::Folder);
        assert_eq!(page_budget(10), 2);
        assert_eq!(page_budget(101), 3);
        assert_eq!(status_calls_for(0), 0);
        assert_eq!(status_calls_for(100), 1);
        assert_eq!(status_calls_for(101), 2);
    }

    #[test]
    fn a_listed_item_replaces_the_detail_call_only_when_it_has_what_collecting_needs() {
        let mut done = item("v1", VideoStatus::Completed);
        assert!(!listing_suffices(&done, false), "no video_url yet");
        done.video_url = Some("https://x/v1.mp4".into());
        assert!(listing_suffices(&done, false));
        assert!(!listing_suffices(&done, true), "captions need the subtitle_url");
        done.subtitle_url = Some("https://x/v1.srt".into());
        assert!(listing_suffices(&done, true));
        let mut failed = item("v2", VideoStatus::Failed);
        assert!(!listing_suffices(&failed, false), "HeyGen's reason is in the details");
        failed.failure_code = Some("moderation".into());
        assert!(listing_suffices(&failed, false));
        assert!(!listing_suffices(&item("v3", VideoStatus::Processing), false));
    }

    #[test]
    fn only_videos_in_flight_are_taken_from_a_listing() {
        let mut wanted: HashSet<String> = ["a", "b"].map(String::from).into();
        let mut listed = HashMap::new();
        let page =
            vec![item("other-run", VideoStatus::Completed), item("b", VideoStatus::Processing)];
        take_ours(page, &mut wanted, &mut listed);
        assert_eq!(listed.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(wanted, ["a"].map(String::from).into());
    }
}
