//! Webhook endpoints and deliveries (v3-reference §9). reelflow polls
//! rather than listens, but these bodies parse so they can be inspected.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /v3/webhooks/endpoints` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    /// Public HTTPS URL.
    pub url: String,
    /// Event types; all when null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Restrict to one entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
}

/// `PATCH /v3/webhooks/endpoints/{id}` body; `events` replaces the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    /// New URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New event list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// A webhook endpoint. `secret` is shown only on create and rotate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Endpoint id.
    pub endpoint_id: String,
    /// URL.
    pub url: String,
    /// Subscribed events; null means all.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    pub status: String,
    /// ISO-8601.
    pub created_at: String,
    /// Signing secret (`whsec_…`), when shown.
    #[serde(default)]
    pub secret: Option<crate::heygen::Secret>,
}

/// A delivery: `{"event_type", "event_data"}`. HeyGen's own n8n trigger
/// reads `event`, so both keys are accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Event type, e.g. `avatar_video.success`.
    #[serde(alias = "event")]
    pub event_type: String,
    /// Payload.
    pub event_data: Map<String, Value>,
}
