//! 设备认证 — tokens earned by signing a challenge, checked on every device request
//! (docs/decisions/0007-device-authentication.md).

use fieldseal_core::protocol::{
    SignedEnvelope,
    auth::{TOKEN_REQUEST_TYPE, TOKEN_REQUEST_VERSION, TokenGrant, TokenRequest},
    statement,
};

use super::{Intake, enrol::PURPOSE_TOKEN};
use crate::{
    error::{IntakeError, Result},
    ids,
    store::Device,
};

impl Intake {
    /// Exchanges a signed token request for a bearer token.
    ///
    /// Order matters: the device and its key are checked before the challenge is used, so a
    /// stranger cannot burn challenges; the challenge is used before the token is issued, so one
    /// signed request earns at most one token (a replay is refused).
    pub async fn issue_token(&self, envelope: &SignedEnvelope) -> Result<TokenGrant> {
        let request: TokenRequest =
            statement::read_unverified(envelope, TOKEN_REQUEST_TYPE, u64::from(TOKEN_REQUEST_VERSION))?;
        if !ids::is_hex_id(&request.device_id) {
            return Err(IntakeError::unauthorized("auth.unknown_device", "no such device"));
        }
        let device = self
            .meta
            .device(&request.device_id)
            .await?
            .ok_or_else(|| IntakeError::unauthorized("auth.unknown_device", "no such device"))?;
        if device.revoked_at.is_some() {
            return Err(IntakeError::forbidden("auth.device_revoked", "device revoked"));
        }
        envelope
            .verify(&device.public_key)
            .map_err(|e| IntakeError::unauthorized("auth.bad_signature", e.to_string()))?;
        let now = self.clock.now();
        if now >= device.not_after {
            return Err(IntakeError::forbidden("auth.device_revoked", "device certificate expired"));
        }
        self.use_challenge(&request.challenge, PURPOSE_TOKEN).await?;
        let (token, hash) = ids::token();
        let expires_at = (now + self.policy.token_ttl).min(device.not_after);
        self.meta.insert_token(&hash, &device.device_id, expires_at).await?;
        let skew_ms = (request.device_time - now).num_milliseconds();
        tracing::info!(device_id = %device.device_id, skew_ms, "token issued");
        Ok(TokenGrant { token, expires_at, server_time: now })
    }

    /// The enrolled, unrevoked device a bearer token belongs to.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Device> {
        let header = authorization
            .ok_or_else(|| IntakeError::unauthorized("auth.missing_token", "no Authorization header"))?;
        let token =
            header.strip_prefix("Bearer ").filter(|t| !t.is_empty() && t.len() <= 128).ok_or_else(|| {
                IntakeError::unauthorized("auth.missing_token", "Authorization is not a Bearer token")
            })?;
        let device = self
            .meta
            .token_device(&ids::token_hash(token), self.clock.now())
            .await?
            .ok_or_else(|| IntakeError::unauthorized("auth.bad_token", "token unknown or expired"))?;
        if device.revoked_at.is_some() {
            return Err(IntakeError::forbidden("auth.device_revoked", "device revoked"));
        }
        Ok(device)
    }
}
