//! Credentials. A secret is never printed: `Debug` redacts it and there is
//! no `Display`.

use std::fmt;

/// A secret string (API key or OAuth token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret, trimming the whitespace files and env vars often add.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into().trim().to_owned())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// Webhook secrets arrive in response bodies; they deserialize straight into
// a Secret and serialize redacted, so `--json` output never carries them.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How a request authenticates: exactly one of the two, never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `X-Api-Key`, billed to the API wallet.
    ApiKey(Secret),
    /// `Authorization: Bearer`, billed to the web plan.
    OAuthToken(Secret),
}

impl Credential {
    /// Human name of the method.
    pub fn method(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "api key",
            Self::OAuthToken(_) => "oauth token",
        }
    }

    /// The header this credential travels in, with its value.
    pub(crate) fn header(&self) -> (&'static str, String) {
        match self {
            Self::ApiKey(s) => ("x-api-key", s.expose().to_owned()),
            Self::OAuthToken(s) => ("authorization", format!("Bearer {}", s.expose())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credential::ApiKey(Secret::new("sk_live_123"));
        let shown = format!("{c:?} {:?}", Credential::OAuthToken(Secret::new("tok_456")));
        assert!(!shown.contains("sk_live_123") && !shown.contains("tok_456"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
