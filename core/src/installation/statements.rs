//! Signed statements: canonical JSON in an ES256 envelope, signed by the device key.

use serde::Serialize;

use super::Installation;
use crate::{
    Result,
    protocol::{ProtocolError, SignedEnvelope, canonicalize, parse_strict},
};

/// An envelope whose signature checked out, with its payload as canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerifiedStatement {
    pub payload_json: String,
    pub payload_type: Option<String>,
    pub key_id: String,
}

impl Installation {
    /// Signs a JSON object with the device key and returns the envelope as canonical JSON. A hardware
    /// key may take a moment or ask for the user: call it off the UI thread.
    pub fn sign_statement(&self, payload_json: &str) -> Result<String> {
        // The app supplied this text, so a parse failure is bad input, not tampering.
        let payload = parse_strict(payload_json).map_err(|e| match e {
            ProtocolError::Malformed { reason, .. } => ProtocolError::StatementNotJson { reason },
            other => other,
        })?;
        let envelope = SignedEnvelope::seal(&payload, self.signer())?;
        envelope.to_json_string()
    }

    /// Checks an envelope against `public_key` (65-byte SEC1); any change to payload or signature
    /// fails.
    pub fn verify_statement(&self, envelope_json: &str, public_key: &[u8]) -> Result<VerifiedStatement> {
        let envelope = SignedEnvelope::from_json_str(envelope_json)?;
        envelope.verify(public_key)?;
        Ok(VerifiedStatement {
            payload_json: canonicalize(&envelope.payload)?,
            payload_type: envelope.payload_type().map(str::to_owned),
            key_id: envelope.key_id.clone(),
        })
    }
}
