//! Success and error envelopes shared by every v3 endpoint.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"data": …}`: the success envelope of single-object endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<T> {
    /// The payload.
    pub data: T,
}

/// `{"data": […], "has_more", "next_token"}`: one page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items of this page.
    pub data: Vec<T>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// Opaque cursor for the next page (`token` query parameter).
    #[serde(default)]
    pub next_token: Option<String>,
}

/// The body of a v3 error: `{"error":{"code","message","param"?,"doc_url"?}}`.
///
/// Real error bodies vary: `error` may be an object, a bare string or null,
/// and a gateway may answer with HTML. [`ErrorBody::from_response`] accepts
/// all of these and falls back to the HTTP status, as HeyGen's CLI does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_parameter`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// The offending request field, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Link to HeyGen's error documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
}

/// `{"error": ErrorBody}` as the simulator sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

impl ErrorBody {
    /// Reads an error from a response body of any shape; `status` supplies
    /// the code when the body has none.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let mut out = match error {
            Some(Value::Object(obj)) => {
                let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
                ErrorBody {
                    code: text("code").unwrap_or_default(),
                    message: text("message").unwrap_or_default(),
                    param: text("param"),
                    doc_url: text("doc_url"),
                }
            }
            Some(Value::String(message)) => ErrorBody {
                code: String::new(),
                message: message.clone(),
                param: None,
                doc_url: None,
            },
            _ => ErrorBody {
                code: String::new(),
                message: parsed
                    .as_ref()
                    .and_then(|v| v.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| snippet(body)),
                param: None,
                doc_url: None,
            },
        };
        // HeyGen's CLI treats "" and "error" as a missing code.
        if out.code.is_empty() || out.code == "error" {
            out.code = fallback_code(status).to_owned();
        }
        if out.message.is_empty() {
            out.message = format!("HTTP {status} without an error message");
        }
        out
    }

    /// True when a 2xx body is really an error (`{"error": {...}}` without
    /// `data`), which HeyGen has been seen to send.
    pub fn is_error_body(body: &Value) -> bool {
        body.get("data").is_none() && matches!(body.get("error"), Some(e) if !e.is_null())
    }
}

/// The code HeyGen's CLI assumes when a body carries none.
fn fallback_code(status: u16) -> &'static str {
    match status {
        400 => "validation_error",
        401 => "unauthorized",
        402 => "insufficient_credit",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "payload_too_large",
        429 => "rate_limit_exceeded",
        500..=599 => "unclassified_server_error",
        200..=299 => "error_in_success_body",
        _ => "unclassified_client_error",
    }
}

/// A short, tag-free excerpt of a non-JSON body (gateway HTML), for messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    let mut out: String = joined.chars().take(160).collect();
    if out.is_empty() {
        out = "empty response body".into();
    } else if joined.chars().count() > 160 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_shape() {
        let obj = ErrorBody::from_response(
            400,
            br#"{"error":{"code":"invalid_parameter","message":"bad","param":"limit","doc_url":null}}"#,
        );
        assert_eq!(obj.code, "invalid_parameter");
        assert_eq!(obj.param.as_deref(), Some("limit"));

        let string = ErrorBody::from_response(401, br#"{"error":"nope"}"#);
        assert_eq!((string.code.as_str(), string.message.as_str()), ("unauthorized", "nope"));

        let null = ErrorBody::from_response(404, br#"{"error":null}"#);
        assert_eq!(null.code, "not_found");

        let html = ErrorBody::from_response(502, b"<html>\n<h1>502 Bad Gateway</h1></html>");
        assert_eq!(html.code, "unclassified_server_error");
        assert!(html.message.contains("502 Bad Gateway"), "{}", html.message);

        let coded_error =
            ErrorBody::from_response(429, br#"{"error":{"code":"error","message":"x"}}"#);
        assert_eq!(coded_error.code, "rate_limit_exceeded");
    }
}
