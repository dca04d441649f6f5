//! 设备认证 — how a device proves, on every request, that it is an enrolled, unrevoked device.
//!
//! Challenge–response for a short-lived bearer token (docs/decisions/0007): the device asks for a
//! [`Challenge`](super::enrolment::Challenge), signs a [`TokenRequest`] naming it with the device
//! key, and receives a [`TokenGrant`]. The token then travels as `Authorization: Bearer …`, a static
//! header that any standard tus client can send. Every expiry is by intake's clock, so a device
//! whose clock is wrong still authenticates; `device_time` only lets intake report the offset.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The envelope payload `"type"` of a token request.
pub const TOKEN_REQUEST_TYPE: &str = "auth_token_request";
pub const TOKEN_REQUEST_VERSION: u32 = 1;

/// What the device signs to obtain a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub device_id: String,
    /// The single-use challenge intake issued.
    pub challenge: String,
    /// The device's wall clock when it signed (informational).
    pub device_time: DateTime<Utc>,
}

impl TokenRequest {
    pub fn new(device_id: &str, challenge: &str, device_time: DateTime<Utc>) -> Self {
        TokenRequest {
            statement: TOKEN_REQUEST_TYPE.to_owned(),
            v: TOKEN_REQUEST_VERSION,
            device_id: device_id.to_owned(),
            challenge: challenge.to_owned(),
            device_time,
        }
    }
}

/// A bearer token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenGrant {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Intake's clock when it issued the token: the device records its offset from it.
    pub server_time: DateTime<Utc>,
}
