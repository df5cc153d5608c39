//! Collect: a finished video's details, then its files (video, captions,
//! thumbnail), within a pool of downloads at once.
//!
//! A download is part of done: a failed one is retried with backoff, each
//! time with fresh links from the details call (presigned URLs expire); a
//! row whose video file is still missing at the end is not done (the run
//! says so and exits non-zero, and the next `run` or `status` collects
//! it). A missing thumbnail or captions file is retried the same way but
//! does not make the row undone.

use std::path::PathBuf;
use std::time::Duration;

use super::download::{self, DownloadError};
use super::{Coordinator, Event, Msg, Phase, Work};
use crate::heygen::wire::{VideoDetail, VideoStatus};
use crate::heygen::{ApiErrorKind, Error};
use crate::results::journal::Record;
use crate::results::{Entry, EntryStatus};

/// Tries of one finished video's details.
const DETAIL_TRIES: u32 = 5;
/// Tries of one finished video's files.
pub(super) const DOWNLOAD_TRIES: u32 = 5;

/// What a finished video's details mean.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Detail {
    /// The detail endpoint lags the bulk one: follow it again.
    StillRendering,
    /// The render failed.
    Failed {
        /// HeyGen's failure code.
        code: String,
        /// HeyGen's message.
        message: String,
    },
    /// Rendered (`new`: not recorded completed before).
    Completed {
        /// First sighting of this completion.
        new: bool,
    },
}

/// Reads a finished video's details against its entry.
pub(super) fn detail(v: &VideoDetail, entry: Option<&Entry>) -> Detail {
    let was_completed = entry.is_some_and(|e| e.status == EntryStatus::Completed);
    if !v.status.is_terminal() && !was_completed {
        return Detail::StillRendering;
    }
    if v.status == VideoStatus::Failed {
        return Detail::Failed {
            code: v.failure_code.clone().unwrap_or_else(|| "failed".into()),
            message: v.failure_message.clone().unwrap_or_else(|| "rendering failed".into()),
        };
    }
    Detail::Completed { new: !was_completed }
}

/// The wait before download try `tries + 1` (after `tries` failed).
pub(super) fn download_backoff(tries: u32) -> Duration {
    Duration::from_secs(1u64 << tries.saturating_sub(1).min(5))
}

/// Where a video's companion files go: same stem, their own extension.
pub(super) fn companion(video: &std::path::Path, ext: &str) -> PathBuf {
    video.with_extension(ext)
}

/// A finished video waiting for a place in the download pool.
pub(super) struct ReadyDownload {
    slot: usize,
    rel: PathBuf,
    /// `None`: the video file is on disk already.
    url: Option<String>,
    captions: Option<String>,
    thumbnail: Option<String>,
    video_id: String,
}

/// What one download try brought.
pub(super) struct Fetched {
    video: Option<Result<(PathBuf, u64), DownloadError>>,
    captions: Option<Result<PathBuf, DownloadError>>,
    thumbnail: Option<Result<PathBuf, DownloadError>>,
    video_id: String,
}

impl<'a> Coordinator<'a> {
    /// Starts queued downloads while the pool has room.
    pub(super) fn start_downloads(&mut self, work: &mut Work<'a>) {
        // Downloads whose links are in hand go first.
        while self.downloads_active < self.opts.download_concurrency.max(1) {
            let Some(ready) = self.ready_downloads.pop_front() else { break };
            self.spawn_download(ready, work);
        }
        while self.downloads_active < self.opts.download_concurrency.max(1) {
            let Some(slot) = self.download_queue.pop_front() else { break };
            // Fresh URLs come from the details call.
            self.take_token(slot);
            let video_id = self
                .entries
                .get(&self.slots[slot].key)
                .and_then(|e| e.video_id.clone())
                .unwrap_or_default();
            self.fetch_details(slot, video_id, true, Duration::ZERO, work);
        }
    }

    /// A finished video's details came back.
    pub(super) fn on_details(
        &mut self,
        slot: usize,
        result: Result<VideoDetail, Error>,
        then_download: bool,
        work: &mut Work<'a>,
    ) {
        let now = std::time::Instant::now();
        let key = self.slots[slot].key.clone();
        let v = match result {
            Ok(v) => v,
            Err(e) => {
                self.reachable(now, matches!(e, Error::Network { .. } | Error::Timeout { .. }));
                self.slots[slot].detail_failures += 1;
                let gone = e.kind() == Some(ApiErrorKind::NotFound);
                if !gone && self.slots[slot].detail_failures < DETAIL_TRIES {
                    // Try again shortly; the video is done either way.
                    let video_id =
                        self.entries.get(&key).and_then(|e| e.video_id.clone()).unwrap_or_default();
                    let delay = download_backoff(self.slots[slot].detail_failures);
                    self.fetch_details(slot, video_id, then_download, delay, work);
                } else {
                    self.warnings.push(format!(
                        "row {key:?}: could not fetch the finished video's details: {e}"
                    ));
                    self.release_token(slot);
                    self.set_phase(slot, Phase::Idle);
                }
                return;
            }
        };
        self.reachable(now, false);
        match detail(&v, self.entries.get(&key)) {
            Detail::StillRendering => {
                self.release_token(slot);
                self.in_flight += 1;
                let phase = Phase::rendering(v.id.clone(), now, Some(now), false);
                self.set_phase(slot, phase);
            }
            Detail::Failed { code, message } => {
                self.release_token(slot);
                self.finish_failed(slot, &v.id, &code, &message);
            }
            Detail::Completed { new } => {
                let s = &self.slots[slot];
                let estimate = s.planned.then_some(&s.estimate);
                let cost = super::ledger::cost_of(v.duration, estimate);
                self.record(super::ledger::completed(&key, &v, cost));
                if new {
                    self.done_this_run += 1;
                    self.spent_usd += cost.unwrap_or(0.0);
                    self.emit(Event::Completed {
                        key: key.clone(),
                        video_id: v.id.clone(),
                        duration_secs: v.duration,
                        cost_usd: cost,
                    });
                }
                self.collect(slot, &v, then_download, work);
            }
        }
    }

    /// Queues or starts the downloads of a completed video.
    fn collect(&mut self, slot: usize, v: &VideoDetail, then_download: bool, work: &mut Work<'a>) {
        let target = self.slots[slot].download.clone();
        let (true, Some(rel), Some(url)) =
            (then_download && self.opts.download, target, v.video_url.clone())
        else {
            self.release_token(slot);
            self.set_phase(slot, Phase::Idle);
            return;
        };
        let entry = self.entries.get(&self.slots[slot].key);
        let have = |f: Option<&String>, file: &std::path::Path| {
            f.is_some_and(|p| *p == *file.to_string_lossy()) && self.input_base.join(file).exists()
        };
        let have_video =
            entry.is_some_and(|e| super::ledger::file_present(&self.input_base, e, Some(&rel)));
        let srt = companion(&rel, "srt");
        let jpg = companion(&rel, "jpg");
        let captions = v.subtitle_url.clone().filter(|_| {
            self.opts.captions && !have(entry.and_then(|e| e.captions_file.as_ref()), &srt)
        });
        let thumbnail = v
            .thumbnail_url
            .clone()
            .filter(|_| !have(entry.and_then(|e| e.thumbnail_file.as_ref()), &jpg));
        let ready = ReadyDownload {
            slot,
            rel,
            url: (!have_video).then_some(url),
            captions,
            thumbnail,
            video_id: v.id.clone(),
        };
        if ready.url.is_none() && ready.captions.is_none() && ready.thumbnail.is_none() {
            self.release_token(slot);
            self.set_phase(slot, Phase::Idle);
        } else if self.slots[slot].download_token
            || self.downloads_active < self.opts.download_concurrency.max(1)
        {
            self.spawn_download(ready, work);
        } else {
            // The pool is full: wait with the fresh links in hand.
            self.ready_downloads.push_back(ready);
        }
    }

    /// Streams a finished video's files to disk.
    fn spawn_download(&mut self, d: ReadyDownload, work: &mut Work<'a>) {
        self.take_token(d.slot);
        let client = self.client;
        let base = self.input_base.clone();
        let ReadyDownload { slot, rel, url, captions, thumbnail, video_id } = d;
        work.push(Box::pin(async move {
            let fresh = |pick: fn(VideoDetail) -> Option<String>| {
                let id = video_id.clone();
                move || async move { client.get_video(&id).await.map(pick) }
            };
            let mut out = Fetched {
                video: None,
                captions: None,
                thumbnail: None,
                video_id: video_id.clone(),
            };
            if let Some(url) = url {
                let got = download::download(client, url, &base.join(&rel), fresh(|d| d.video_url))
                    .await
                    .map(|d| (rel.clone(), d.bytes));
                let failed = got.is_err();
                out.video = Some(got);
                if failed {
                    return Msg::Downloaded { slot, fetched: Box::new(out) };
                }
            }
            if let Some(url) = captions {
                let srt = companion(&rel, "srt");
                let target = base.join(&srt);
                let got = download::download(client, url, &target, fresh(|d| d.subtitle_url));
                out.captions = Some(got.await.map(|_| srt));
            }
            if let Some(url) = thumbnail {
                let jpg = companion(&rel, "jpg");
                let target = base.join(&jpg);
                let got = download::download(client, url, &target, fresh(|d| d.thumbnail_url));
                out.thumbnail = Some(got.await.map(|_| jpg));
            }
            Msg::Downloaded { slot, fetched: Box::new(out) }
        }));
    }

    /// Takes a place in the download pool for `slot` (once).
    fn take_token(&mut self, slot: usize) {
        if !self.slots[slot].download_token {
            self.slots[slot].download_token = true;
            self.downloads_active += 1;
        }
    }

    /// Gives back `slot`'s place in the download pool, if it holds one.
    fn release_token(&mut self, slot: usize) {
        if self.slots[slot].download_token {
            self.slots[slot].download_token = false;
            self.downloads_active -= 1;
        }
    }

    /// A download try ended.
    pub(super) fn on_downloaded(&mut self, slot: usize, fetched: Fetched, work: &mut Work<'a>) {
        self.release_token(slot);
        let key = self.slots[slot].key.clone();
        let Fetched { video, captions, thumbnail, video_id } = fetched;
        let name = |p: &PathBuf| p.to_string_lossy().into_owned();
        let mut errors = Vec::new();
        let mut retry = false;
        let mut record = Record::Downloaded {
            key: key.clone(),
            video_id: video_id.clone(),
            file: None,
            file_bytes: None,
            captions_file: None,
            thumbnail_file: None,
        };
        if let Record::Downloaded { file, file_bytes, captions_file, thumbnail_file, .. } =
            &mut record
        {
            match &video {
                Some(Ok((p, n))) => {
                    *file = Some(name(p));
                    *file_bytes = Some(*n);
                }
                Some(Err(e)) => {
                    retry |= e.retryable();
                    errors.push(e.to_string());
                }
                None => {}
            }
            match &captions {
                Some(Ok(p)) => *captions_file = Some(name(p)),
                Some(Err(e)) => {
                    retry |= e.retryable();
                    errors.push(format!("captions: {e}"));
                }
                None => {}
            }
            match &thumbnail {
                Some(Ok(p)) => *thumbnail_file = Some(name(p)),
                Some(Err(e)) => {
                    retry |= e.retryable();
                    errors.push(format!("thumbnail: {e}"));
                }
                None => {}
            }
        }
        let saved = matches!(
            &record,
            Record::Downloaded { file, captions_file, thumbnail_file, .. }
                if file.is_some() || captions_file.is_some() || thumbnail_file.is_some()
        );
        if saved {
            self.record(record);
        }
        if let Some(Ok((p, n))) = video {
            self.emit(Event::Downloaded { key: key.clone(), path: name(&p), bytes: n });
        }
        if errors.is_empty() {
            self.set_phase(slot, Phase::Idle);
            return;
        }
        let error = errors.join("; ");
        self.slots[slot].download_failures += 1;
        let tries = self.slots[slot].download_failures;
        if retry && tries < DOWNLOAD_TRIES {
            // Fresh links for the next try come with the details.
            let delay = download_backoff(tries);
            self.emit(Event::Retrying {
                request: format!("download {key}"),
                error,
                delay_secs: delay.as_secs_f64(),
            });
            self.fetch_details(slot, video_id, true, delay, work);
            return;
        }
        self.set_phase(slot, Phase::Idle);
        self.warnings.push(format!("row {key:?}: download failed after {tries} tries: {error}"));
        self.emit(Event::DownloadFailed { key, error });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(status: VideoStatus) -> VideoDetail {
        serde_json::from_value(serde_json::json!({"id": "v1", "status": status.as_str()}))
            .expect("a detail")
    }

    #[test]
    fn what_details_mean() {
        let mut done = Entry::new("a".into(), 2, "h".into());
        assert_eq!(detail(&video(VideoStatus::Processing), Some(&done)), Detail::StillRendering);
        assert_eq!(
            detail(&video(VideoStatus::Completed), Some(&done)),
            Detail::Completed { new: true }
        );
        done.status = EntryStatus::Completed;
        assert_eq!(
            detail(&video(VideoStatus::Completed), Some(&done)),
            Detail::Completed { new: false },
            "fresh links for a video already counted"
        );
        assert!(matches!(detail(&video(VideoStatus::Failed), None), Detail::Failed { .. }));
    }

    #[test]
    fn downloads_back_off_and_companions_share_the_stem() {
        let waits: Vec<u64> = (1..DOWNLOAD_TRIES).map(|t| download_backoff(t).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8]);
        assert_eq!(
            companion(std::path::Path::new("out/videos/u1.mp4"), "jpg"),
            PathBuf::from("out/videos/u1.jpg")
        );
    }
}
