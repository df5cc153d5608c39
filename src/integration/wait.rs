//! Following one video to completion (`videos create --wait`).

use std::time::{Duration, Instant};

use crate::heygen::Client;
use crate::heygen::wire::{VideoDetail, VideoStatus};

/// Poll cadence and limit. The cadence follows HeyGen's CLI: 2 s,
/// doubling, capped at 30 s, with ±25 % jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitPolicy {
    /// First wait.
    pub first: Duration,
    /// Longest wait between polls.
    pub max: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(20 * 60),
        }
    }
}

/// How waiting ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitOutcome {
    /// Rendered.
    Completed(VideoDetail),
    /// Rendering failed (not charged).
    Failed(VideoDetail),
    /// Still rendering when the timeout ran out: not failed.
    TimedOut(VideoDetail),
}

/// Polls `GET /v3/videos/{id}` until the video is terminal or `policy`'s
/// timeout passes. `on_status` sees every status change. Transient errors
/// are retried by the client; an error that survives them ends the wait.
pub async fn wait_for_video(
    client: &Client,
    video_id: &str,
    policy: WaitPolicy,
    mut on_status: impl FnMut(&VideoStatus),
) -> Result<WaitOutcome, crate::heygen::Error> {
    let started = Instant::now();
    let mut delay = policy.first;
    let mut last: Option<VideoStatus> = None;
    loop {
        let detail = client.get_video(video_id).await?;
        if last.as_ref() != Some(&detail.status) {
            on_status(&detail.status);
            last = Some(detail.status.clone());
        }
        match detail.status {
            VideoStatus::Completed => return Ok(WaitOutcome::Completed(detail)),
            VideoStatus::Failed => return Ok(WaitOutcome::Failed(detail)),
            _ => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= policy.timeout {
            return Ok(WaitOutcome::TimedOut(detail));
        }
        let jittered = delay.mul_f64(rand::random_range(0.75..1.25));
        tokio::time::sleep(jittered.min(policy.timeout - elapsed)).await;
        delay = (delay * 2).min(policy.max);
    }
}
