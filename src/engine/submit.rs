//! Submit: launch creates within the in-flight bound (the intent fsynced
//! to the journal before the request future exists), and decide what each
//! create's outcome means ([`classify`], a pure function).

use std::time::{Duration, Instant};

use super::{Coordinator, Event, Msg, Outcome, Phase, Work};
use crate::heygen::retry::hedged;
use crate::heygen::{ApiErrorKind, Error};
use crate::render::JobRequest;
use crate::results::journal::{Intent, Record};
use crate::results::now_rfc3339;

/// Creates whose outcome stays unknown this many times are left to the
/// next run (which resends them with the same key).
const MAX_UNKNOWN: u32 = 5;

/// What a create's outcome means for the run.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// Accepted as this video.
    Accepted(String),
    /// 429: the job cap; requeue and wait as asked.
    RateLimited {
        /// The server's `Retry-After`, or a second.
        retry_after: Duration,
    },
    /// Refused, and no further create can succeed (credit, auth): stop
    /// launching.
    Stop {
        /// Stable reason (`insufficient_credit`, `auth`).
        reason: &'static str,
        /// The run's outcome.
        outcome: Outcome,
        /// HeyGen's code.
        code: String,
        /// HeyGen's message.
        message: String,
        /// For the user.
        display: String,
    },
    /// This row's create is refused for good (a bad field, a voice it may
    /// not use); the others go on.
    Refused {
        /// HeyGen's code.
        code: String,
        /// HeyGen's message, naming the field.
        message: String,
    },
    /// No answer (5xx, timeout, lost connection, 409 in progress): the
    /// video may exist. Resend later with the same key; HeyGen replays.
    Unknown {
        /// What happened.
        error: String,
        /// It never reached HeyGen or got no answer at all (not an API
        /// answer): counts towards an outage.
        transport: bool,
    },
}

/// A create as it is sent: the body serialized once, exactly the bytes
/// planning hashed ([`crate::plan::job_hash`] serializes the same request
/// the same way), so the typed request tree, several times larger, is
/// dropped when the run starts instead of living until launch.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Create {
    /// `POST` path (`/v3/videos` or `/v3/templates/{id}`), as journaled.
    pub path: Box<str>,
    /// The template a template create renders.
    pub template_id: Option<Box<str>>,
    /// Compact JSON.
    pub body: std::sync::Arc<[u8]>,
}

impl Create {
    /// The create of `request`.
    pub fn of(request: &JobRequest) -> Create {
        let (body, template_id) = match request {
            JobRequest::Video(r) => (serde_json::to_vec(r), None),
            JobRequest::Template { template_id, body } => {
                (serde_json::to_vec(body), Some(template_id.as_str().into()))
            }
        };
        debug_assert!(body.is_ok(), "wire types always serialize");
        Create {
            path: request.endpoint().1.into(),
            template_id,
            body: body.unwrap_or_default().into(),
        }
    }

    /// The body as a JSON tree (for a journal record kept across a
    /// compaction).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// What a row needs while its create may still be sent: the create and
/// the identity its journal records carry.
#[derive(Debug)]
pub(super) struct Pending {
    /// Job hash.
    pub hash: String,
    /// The Idempotency-Key the create carries.
    pub idempotency_key: String,
    /// The create.
    pub create: Create,
}

/// When a create still unanswered gets a second copy: well past its usual
/// latency (HeyGen's p99 is ~31 s, so never sooner than 2 s, and no later
/// than 30 s).
pub(super) fn create_hedge_after(typical: Option<Duration>) -> Duration {
    typical
        .map_or(Duration::from_secs(30), |t| t * 6)
        .clamp(Duration::from_secs(2), Duration::from_secs(30))
}

/// Classifies a create's result.
pub(super) fn classify(result: Result<String, Error>) -> Verdict {
    let e = match result {
        Ok(video_id) => return Verdict::Accepted(video_id),
        Err(e) => e,
    };
    let transport = matches!(e, Error::Network { .. } | Error::Timeout { .. });
    let Some(a) = e.api().cloned() else {
        return Verdict::Unknown { error: e.to_string(), transport };
    };
    match a.kind {
        ApiErrorKind::RateLimited => {
            Verdict::RateLimited { retry_after: a.retry_after.unwrap_or(Duration::from_secs(1)) }
        }
        ApiErrorKind::InsufficientCredit | ApiErrorKind::QuotaExceeded | ApiErrorKind::Auth => {
            let (reason, outcome) = if a.kind == ApiErrorKind::Auth {
                ("auth", Outcome::AuthFailed)
            } else {
                ("insufficient_credit", Outcome::CreditStop)
            };
            let display = format!(
                "HeyGen answered {} {}: {}; no more jobs are launched",
                a.status, a.body.code, a.body.message
            );
            Verdict::Stop {
                reason,
                outcome,
                code: a.body.code.clone(),
                message: a.body.message.clone(),
                display,
            }
        }
        // A 403 names one row's resource (a voice it may not use): that
        // row is refused, the others go on.
        ApiErrorKind::InvalidParameter
        | ApiErrorKind::NotFound
        | ApiErrorKind::Forbidden
        | ApiErrorKind::Conflict
        | ApiErrorKind::Other => {
            let message = match &a.body.param {
                Some(p) if !p.is_empty() => format!("{} (field {p})", a.body.message),
                _ => a.body.message.clone(),
            };
            Verdict::Refused { code: a.body.code.clone(), message }
        }
        ApiErrorKind::Server | ApiErrorKind::RequestInProgress => {
            Verdict::Unknown { error: e.to_string(), transport: false }
        }
    }
}

impl<'a> Coordinator<'a> {
    /// Launches queued creates while the bound and the budget allow. The
    /// intents of everything launched at once go to the journal in one
    /// write and one fsync (group commit) before any of their create
    /// futures exists: the journal-before-send rule, at one disk flush per
    /// batch instead of one per create.
    pub(super) fn launch(&mut self, work: &mut Work<'a>, now: Instant) {
        if self.create_backoff_until.is_some_and(|t| now < t) {
            return;
        }
        let mut batch: Vec<usize> = Vec::new();
        let mut committed = self.committed_usd;
        while self.stop_reason.is_none() && self.limit.allows(self.in_flight + batch.len(), now) {
            let Some(&slot) = self.queue.front() else { break };
            let est = self.slots[slot].estimate.usd;
            if let Some(cap) = self.opts.max_cost_usd
                && committed + est > cap + 1e-9
            {
                let msg = format!(
                    "the cost cap ${cap:.2} is reached (${committed:.2} committed); no more jobs are launched"
                );
                self.stop("cost_cap", &msg, Outcome::CreditStop);
                break;
            }
            self.queue.pop_front();
            if self.slots[slot].pending.is_none() {
                continue;
            }
            committed += est;
            batch.push(slot);
        }
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let written = match self.journal.as_mut() {
            None => Ok(()),
            Some(j) => {
                let at = now_rfc3339();
                let slots = &self.slots;
                j.append_intents(batch.iter().filter_map(|&i| {
                    let s = &slots[i];
                    let p = s.pending.as_deref()?;
                    Some(Intent {
                        key: &s.key,
                        hash: &p.hash,
                        idempotency_key: &p.idempotency_key,
                        path: &p.create.path,
                        body: &p.create.body,
                        at: &at,
                    })
                }))
            }
        };
        self.state_time += started.elapsed();
        self.intent_flushes += 1;
        if let Err(e) = written {
            // Nothing of the batch was sent: it goes back, in order.
            for &slot in batch.iter().rev() {
                self.queue.push_front(slot);
            }
            self.journal_failed(&e);
            return;
        }
        self.committed_usd = committed;
        for slot in batch {
            self.send_create(work, slot, now);
        }
    }

    /// Sends the create of `slot`, whose intent is on disk.
    fn send_create(&mut self, work: &mut Work<'a>, slot: usize, now: Instant) {
        let s = &self.slots[slot];
        let Some(p) = s.pending.as_deref() else { return };
        let create = p.create.clone();
        let key = s.key.clone();
        let idem = p.idempotency_key.clone();
        self.in_flight += 1;
        self.set_phase(slot, Phase::Creating { sent: now });
        self.slots[slot].unanswered = true;
        if let Some(e) = self.entries.get_mut(&key) {
            e.attempts += 1;
        }
        self.emit(Event::Submitting { key, idempotency_key: idem.clone() });
        let client = self.client;
        let policy = self.opts.create_retry;
        let hedge = create_hedge_after(self.create_latency);
        work.push(Box::pin(async move {
            // A create that hangs gets a second copy with the same
            // Idempotency-Key: HeyGen answers it once (a replay, or
            // 409 while the first is in progress), so it only frees
            // the slot sooner.
            let started = Instant::now();
            let result = hedged(hedge, 2, || {
                client.create_serialized(
                    create.template_id.as_deref(),
                    &create.body,
                    Some(&idem),
                    policy,
                )
            })
            .await;
            Msg::Created { slot, result, took: started.elapsed() }
        }));
    }

    /// A create came back after `took`.
    pub(super) fn on_created(
        &mut self,
        slot: usize,
        result: Result<String, Error>,
        took: Duration,
    ) {
        let now = Instant::now();
        if result.is_ok() {
            self.create_latency = Some(match self.create_latency {
                Some(l) => (l * 3 + took) / 4,
                None => took,
            });
        }
        let sent = match self.slots[slot].phase {
            Phase::Creating { sent } => sent,
            _ => now,
        };
        self.in_flight -= 1;
        let key = self.slots[slot].key.clone();
        let est = self.slots[slot].estimate.usd;
        let verdict = classify(result);
        let transport = matches!(verdict, Verdict::Unknown { transport: true, .. });
        self.reachable(now, transport);
        if transport {
            // HeyGen cannot be reached: wait before sending more; the
            // outage rule decides when to give up, not each row's count.
            self.create_failures_in_row += 1;
            self.create_backoff_until =
                Some(now + super::follow::failure_backoff(self.create_failures_in_row));
        } else {
            self.create_failures_in_row = 0;
            self.create_backoff_until = None;
        }
        match verdict {
            Verdict::Accepted(video_id) => {
                self.slots[slot].unanswered = false;
                // Never sent again: free the request body.
                let (hash, idempotency_key) = self.slots[slot]
                    .pending
                    .take()
                    .map(|p| (p.hash, p.idempotency_key))
                    .unwrap_or_default();
                self.accepted += 1;
                self.in_flight += 1;
                self.set_phase(slot, Phase::rendering(video_id.clone(), now, Some(now), true));
                let rendering = self.rendering_count();
                self.limit.on_accepted(sent, rendering);
                self.record(Record::Accepted {
                    key: key.clone(),
                    hash,
                    video_id: video_id.clone(),
                    at: now_rfc3339(),
                    idempotency_key,
                });
                self.emit(Event::Accepted { key, video_id });
            }
            Verdict::RateLimited { retry_after } => {
                self.committed_usd -= est;
                let rendering = self.rendering_count();
                let changed = self.limit.on_rate_limited(sent, rendering, retry_after, now);
                self.set_phase(slot, Phase::Queued);
                self.queue.push_front(slot);
                if changed {
                    let limit = self.limit.current();
                    self.emit(Event::RateLimited {
                        limit,
                        retry_after_secs: retry_after.as_secs_f64(),
                    });
                }
            }
            Verdict::Stop { reason, outcome, code, message, display } => {
                self.committed_usd -= est;
                self.refuse(slot, &code, &message);
                self.stop(reason, &display, outcome);
            }
            Verdict::Refused { code, message } => {
                self.committed_usd -= est;
                self.refuse(slot, &code, &message);
                self.failed_this_run += 1;
                self.emit(Event::Rejected { key, code, message });
            }
            Verdict::Unknown { error, transport } => {
                self.committed_usd -= est;
                if !transport {
                    self.slots[slot].create_failures += 1;
                }
                if self.slots[slot].create_failures >= MAX_UNKNOWN {
                    self.set_phase(slot, Phase::Idle);
                    if let Some(en) = self.entries.get_mut(&key) {
                        super::ledger::not_submitted(
                            en,
                            "create_outcome_unknown",
                            &format!(
                                "{error}; the next run resends it with the same Idempotency-Key"
                            ),
                        );
                    }
                    self.failed_this_run += 1;
                    self.changed = true;
                } else {
                    self.set_phase(slot, Phase::Queued);
                    self.queue.push_back(slot);
                    self.emit(Event::Retrying {
                        request: format!("create {key}"),
                        error,
                        delay_secs: 0.0,
                    });
                }
            }
        }
    }

    /// A create HeyGen refused: no video exists, the row is not submitted.
    fn refuse(&mut self, slot: usize, code: &str, message: &str) {
        let key = self.slots[slot].key.clone();
        let (hash, idempotency_key) = self.slots[slot]
            .pending
            .as_deref()
            .map(|p| (p.hash.clone(), p.idempotency_key.clone()))
            .unwrap_or_default();
        self.slots[slot].unanswered = false;
        self.set_phase(slot, Phase::Idle);
        self.record(Record::Refused {
            key: key.clone(),
            hash,
            idempotency_key,
            code: code.into(),
            message: message.into(),
        });
        if let Some(e) = self.entries.get_mut(&key) {
            // The refused key must not be sent again.
            e.key_generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heygen::ApiError;
    use crate::heygen::wire::ErrorBody;

    fn api(status: u16, code: &str, param: Option<&str>, retry_after: Option<u64>) -> Error {
        let body = ErrorBody {
            code: code.into(),
            message: "msg".into(),
            param: param.map(str::to_owned),
            doc_url: None,
        };
        Error::from(ApiError::new(status, body, None, retry_after.map(Duration::from_secs)))
    }

    #[test]
    fn the_body_sent_is_the_bytes_planning_hashed() {
        use super::super::reconcile::tests::job;
        let planned = job("k1", "Hello \"world\" ünïcode", crate::plan::Change::New);
        let create = Create::of(&planned.job.request);
        // The job hash's framing (crate::plan::compute_job_hash) over the
        // bytes that go on the wire.
        let mut h = blake3::Hasher::new();
        h.update(b"reelflow-job-v1\0");
        h.update(&create.body);
        h.update(b"\0default\0POST /v3/videos");
        assert_eq!(h.finalize().to_hex().to_string(), planned.hash);
        assert_eq!(&*create.path, "/v3/videos");
        assert_eq!(create.template_id, None);
        assert_eq!(create.body_json(), planned.job.request.body_json());
    }

    #[test]
    fn a_create_is_hedged_well_past_its_usual_latency() {
        assert_eq!(create_hedge_after(None), Duration::from_secs(30));
        assert_eq!(create_hedge_after(Some(Duration::from_millis(5))), Duration::from_secs(2));
        assert_eq!(create_hedge_after(Some(Duration::from_secs(1))), Duration::from_secs(6));
        assert_eq!(create_hedge_after(Some(Duration::from_secs(20))), Duration::from_secs(30));
    }

    #[test]
    fn create_outcomes_are_classified() {
        assert_eq!(classify(Ok("v1".into())), Verdict::Accepted("v1".into()));
        assert_eq!(
            classify(Err(api(429, "rate_limit_exceeded", None, Some(3)))),
            Verdict::RateLimited { retry_after: Duration::from_secs(3) }
        );
        assert!(matches!(
            classify(Err(api(402, "insufficient_credit", None, None))),
            Verdict::Stop { outcome: Outcome::CreditStop, .. }
        ));
        assert!(matches!(
            classify(Err(api(401, "unauthorized", None, None))),
            Verdict::Stop { outcome: Outcome::AuthFailed, reason: "auth", .. }
        ));
        assert_eq!(
            classify(Err(api(400, "invalid_parameter", Some("voice_id"), None))),
            Verdict::Refused {
                code: "invalid_parameter".into(),
                message: "msg (field voice_id)".into()
            }
        );
        assert!(matches!(
            classify(Err(api(503, "internal_error", None, None))),
            Verdict::Unknown { transport: false, .. }
        ));
        let lost = Error::Network {
            method: "POST".into(),
            path: "/v3/videos".into(),
            source: "reset".into(),
        };
        assert!(matches!(classify(Err(lost)), Verdict::Unknown { transport: true, .. }));
    }
}
