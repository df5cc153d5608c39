//! Typed client errors, each with an actionable hint.

use std::time::Duration;

use super::wire::ErrorBody;

/// What went wrong talking to HeyGen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// HeyGen answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request never got an answer (DNS, refused, reset).
    #[error("could not reach HeyGen for {method} {path}: {}", root_cause(source.as_ref()))]
    Network {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// The transport's error (without the URL, whose query may be a
        /// presigned signature); its innermost cause says what happened.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No answer within the timeout.
    #[error("{method} {path} got no answer within {}s", .after.as_secs())]
    Timeout {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// A 2xx answer whose body is not what the v3 spec says.
    #[error("unexpected answer to {path}: {}", decode_detail(at.as_deref(), source))]
    Decode {
        /// Request path.
        path: String,
        /// The JSON path of the field that did not fit, when the body was
        /// JSON at all.
        at: Option<String>,
        /// What did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The request could not be built; nothing was sent.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// Why a request could not be built (nothing was sent).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Plain HTTP would send the key in clear text.
    #[error(
        "base URL `{0}` must start with https:// (plain http:// only for 127.0.0.1, localhost or [::1], such as a local simulator)"
    )]
    InsecureBaseUrl(String),
    /// The HTTP client (TLS setup) could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The body could not be encoded as JSON.
    #[error("cannot encode the request body")]
    Encode(#[source] serde_json::Error),
    /// More ids than one bulk statuses call takes.
    #[error("at most {max} video ids per statuses call, got {got}")]
    TooManyIds {
        /// The API's limit.
        max: usize,
        /// Ids asked for.
        got: usize,
    },
    /// An empty id would address the collection, not the item.
    #[error("an id must not be empty")]
    EmptyId,
}

/// The innermost cause of a transport error: "connection refused" says
/// more than "error sending request".
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut at = e;
    while let Some(next) = at.source() {
        at = next;
    }
    at.to_string()
}

fn decode_detail(at: Option<&str>, source: &serde_json::Error) -> String {
    match at {
        Some(at) => format!("at `{at}`: {source}"),
        None => format!("body is not JSON ({source})"),
    }
}

/// The class of an API error, which decides retries and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// 401: bad, expired or missing credential.
    Auth,
    /// 403: the credential may not do this.
    Forbidden,
    /// 402: not enough balance or credits.
    InsufficientCredit,
    /// 429 `rate_limit_exceeded`: too many jobs in flight; retry later.
    RateLimited,
    /// 429 `quota_exceeded`: will not clear by retrying.
    QuotaExceeded,
    /// 404.
    NotFound,
    /// 400: a request field is wrong (`param` names it).
    InvalidParameter,
    /// 409 `request_in_progress`: the same Idempotency-Key is in flight.
    RequestInProgress,
    /// Other 409s.
    Conflict,
    /// 5xx, or a 2xx carrying an error body.
    Server,
    /// Anything else.
    Other,
}

/// An error answer from HeyGen.
#[derive(Debug, Clone, thiserror::Error)]
#[error("HeyGen answered {status} {code}: {message}{rid}",
    code = .body.code, message = .body.message,
    rid = .request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
pub struct ApiError {
    /// HTTP status (200 for an error inside a success answer).
    pub status: u16,
    /// Class of the error.
    pub kind: ApiErrorKind,
    /// The parsed error body.
    pub body: ErrorBody,
    /// `X-Request-Id`, for HeyGen support.
    pub request_id: Option<String>,
    /// `Retry-After`, when sent.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Builds an error from a status and body, classifying it.
    pub fn new(
        status: u16,
        body: ErrorBody,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let kind = classify(status, &body.code);
        ApiError { status, kind, body, request_id, retry_after }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self.kind {
            ApiErrorKind::Auth => "check the account's API key or OAuth token (`reelflow accounts` shows where each comes from); keys are created in HeyGen's settings under API".into(),
            // HeyGen's folder pages: "API keys need the videos:write scope"
            // (and videos:read to read); a key without it gets a 403.
            ApiErrorKind::Forbidden => {
                let m = format!("{} {}", self.body.code, self.body.message).to_lowercase();
                let scope = if m.contains("videos:read") || (m.contains("scope") && m.contains("read")) {
                    "this API key lacks the `videos:read` scope (needed to read videos and folders)"
                } else if m.contains("scope") || m.contains("videos:write") {
                    "this API key lacks the `videos:write` scope (needed to create videos, folders and uploads)"
                } else {
                    "this credential may not do that: API keys need the `videos:write` scope to create videos, folders and uploads and `videos:read` to read them"
                };
                format!("{scope}; create a key with those scopes in HeyGen's API settings, and check the workspace's API access and AI policy")
            }
            ApiErrorKind::InsufficientCredit => "top up the HeyGen API wallet, or run fewer rows; failed and rejected videos are not charged".into(),
            ApiErrorKind::RateLimited => "HeyGen caps render jobs in flight per account (10 on pay-as-you-go); lower the concurrency or wait for jobs to finish".into(),
            ApiErrorKind::QuotaExceeded => "the account's quota is used up; retrying will not help until it resets or the plan changes".into(),
            ApiErrorKind::NotFound => "check the id; `reelflow videos list`, `reelflow avatars` and `reelflow voices` show what this account can see".into(),
            ApiErrorKind::InvalidParameter => match &self.body.param {
                Some(p) if !p.is_empty() => format!("fix the request field `{p}`"),
                _ => "fix the request body; `reelflow validate` checks manifests before sending".into(),
            },
            ApiErrorKind::RequestInProgress => "a request with the same Idempotency-Key is still being processed; retry shortly with the same key".into(),
            ApiErrorKind::Conflict => "the resource is not in a state that allows this; check its status".into(),
            ApiErrorKind::Server => "HeyGen had a server-side problem; retrying later usually works".into(),
            ApiErrorKind::Other => "see the message above".into(),
        }
    }
}

fn classify(status: u16, code: &str) -> ApiErrorKind {
    match (status, code) {
        (_, "unauthorized" | "authentication_failed") | (401, _) => ApiErrorKind::Auth,
        (_, "insufficient_credit" | "trial_limit_exceeded" | "plan_upgrade_required")
        | (402, _) => ApiErrorKind::InsufficientCredit,
        (_, "quota_exceeded") => ApiErrorKind::QuotaExceeded,
        (429, _) | (_, "rate_limit_exceeded") => ApiErrorKind::RateLimited,
        (403, _) => ApiErrorKind::Forbidden,
        (404, _) => ApiErrorKind::NotFound,
        (_, "request_in_progress") => ApiErrorKind::RequestInProgress,
        (409, _) => ApiErrorKind::Conflict,
        (400 | 413 | 422, _) => ApiErrorKind::InvalidParameter,
        (200..=299, _) | (500..=599, _) => ApiErrorKind::Server,
        _ => ApiErrorKind::Other,
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The API error class, if this is an API error.
    pub fn kind(&self) -> Option<ApiErrorKind> {
        self.api().map(|e| e.kind)
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Error::Api(e) => e.hint(),
            Error::Network { .. } => "check the network and the base URL (--base-url / HEYGEN_BASE_URL)".into(),
            Error::Timeout { method, .. } if method == "POST" => "a create that timed out may still have been accepted; reelflow retries creates only with the same Idempotency-Key, so HeyGen replays instead of billing twice".into(),
            Error::Timeout { .. } => "HeyGen was slow to answer; try again".into(),
            Error::Decode { .. } => "HeyGen's answer did not match the v3 spec; please report it with the request id".into(),
            Error::Request(RequestError::InsecureBaseUrl(_)) => {
                "use the https:// base URL, or a simulator on this machine".into()
            }
            Error::Request(_) => "check the arguments".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn causes_are_kept_as_sources_and_rendered_once() {
        // A body that is not JSON: the parser's error is the source, and
        // the message still says what and where.
        let source = serde_json::from_slice::<serde_json::Value>(b"<html>").unwrap_err();
        let e = Error::Decode { path: "/v3/voices".into(), at: None, source };
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));
        let line = crate::diag::chain(&e);
        assert!(line.starts_with("unexpected answer to /v3/voices: body is not JSON ("), "{line}");
        assert_eq!(line.matches("expected value").count(), 1, "the cause is said once: {line}");

        // A transport failure names its innermost cause, not the wrapper.
        let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let source = Box::new(Wrapper(root));
        let e = Error::Network { method: "GET".into(), path: "/v3/users/me".into(), source };
        assert_eq!(
            e.to_string(),
            "could not reach HeyGen for GET /v3/users/me: connection refused"
        );
        assert!(e.source().is_some());

        // A request that could not be built says why, with its cause after.
        let cause = serde_json::from_str::<u8>("x").unwrap_err();
        let line = crate::diag::chain(&Error::from(RequestError::Encode(cause)));
        assert!(line.starts_with("cannot encode the request body: expected value"), "{line}");
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
