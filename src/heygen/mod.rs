//! The HeyGen v3 API: wire types, request rules, and the client.

pub mod auth;
pub mod client;
pub mod error;
pub mod paging;
pub mod retry;
pub mod rules;
pub mod wire;

pub use auth::{Credential, Secret};
pub use client::{Client, ClientConfig, DEFAULT_BASE_URL, RetryNotice, Timeouts};
pub use error::{ApiError, ApiErrorKind, Error, RequestError};
pub use retry::RetryPolicy;
