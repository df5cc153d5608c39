//! Follow: when to ask about videos in flight ([`super::poll`] decides the
//! time) and what an answer means ([`seen`], a pure function).
//!
//! Today one bulk `GET /v3/videos/statuses` (≤ 100 ids) answers for every
//! job in flight, and one `GET /v3/videos/{id}` per finished video brings
//! its links. Once videos are filed in a campaign folder, one
//! `GET /v3/videos?folder_id=…` page answers both for up to 100 videos: it
//! plugs in at [`Coordinator::poll_if_due`] (the call) and
//! [`Coordinator::on_statuses`] (its entries carry the links, so the
//! detail call is skipped).
//!
//! Status and detail calls are hedged ([`crate::heygen::client::ReadOptions`]):
//! a response slower than a few times the usual latency gets a second
//! copy of the request, so one hung response does not stall following.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::poll::Followed;
use super::{Coordinator, Event, Msg, Phase, Work};
use crate::heygen::Error;
use crate::heygen::client::ReadOptions;
use crate::heygen::wire::{StatusEntry, VideoStatus};
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
                Phase::Rendering { accepted, checked, .. } => {
                    Some(Followed { accepted: *accepted, checked: *checked })
                }
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
                Phase::Rendering { video_id, .. } => Some((i, video_id.clone())),
                _ => None,
            })
            .collect();
        self.polling = true;
        self.next_poll = None;
        self.last_poll = Some(now);
        let chunks: Vec<Vec<(usize, String)>> =
            rendering.chunks(STATUSES_MAX_IDS).map(|c| c.to_vec()).collect();
        self.status_calls += chunks.len() as u64;
        let client = self.client;
        let opts = self.read_options();
        work.push(Box::pin(async move {
            // Every polled slot comes back, answered or not.
            let slots: Vec<usize> = chunks.iter().flatten().map(|(i, _)| *i).collect();
            let calls = chunks.iter().map(|chunk| {
                let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
                async move { client.video_statuses_with(&ids, &opts).await }
            });
            let started = Instant::now();
            let answers = futures_util::future::join_all(calls).await;
            let took = started.elapsed();
            let mut all = Vec::new();
            for a in answers {
                match a {
                    Ok(entries) => all.extend(entries),
                    Err(e) => return Msg::Statuses { sent: now, took, slots, result: Err(e) },
                }
            }
            Msg::Statuses { sent: now, took, slots, result: Ok(all) }
        }));
    }

    /// A status answer came back for `slots`, asked at `sent`.
    pub(super) fn on_statuses(
        &mut self,
        sent: Instant,
        took: Duration,
        slots: Vec<usize>,
        result: Result<Vec<StatusEntry>, Error>,
        work: &mut Work<'a>,
    ) {
        self.polling = false;
        self.next_poll = None;
        let now = Instant::now();
        let entries = match result {
            Ok(e) => e,
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
        self.poll_failures = 0;
        self.poll_backoff_until = None;
        self.read_latency = Some(match self.read_latency {
            Some(l) => (l * 3 + took) / 4,
            None => took,
        });
        let by_id: HashMap<&str, &StatusEntry> =
            entries.iter().filter_map(|e| e.video_id.as_deref().map(|id| (id, e))).collect();
        for i in slots {
            let Phase::Rendering { video_id, accepted, last_miss, last_status, learn, .. } =
                &self.slots[i].phase
            else {
                continue;
            };
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
                    self.fetch_details(
                        i,
                        video_id,
                        verdict == Seen::Completed,
                        Duration::ZERO,
                        work,
                    );
                }
            }
        }
    }

    /// A job was seen unfinished by the call sent at `sent`.
    fn saw_pending(&mut self, slot: usize, sent: Instant, status: Option<String>) {
        if let Phase::Rendering { checked, last_miss, last_status, .. } =
            &mut self.slots[slot].phase
        {
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
}
