//! Signed statements: canonical JSON in an ES256 envelope, signed by the device key.

use fieldseal_core::{crypto::DeviceSigner as _, protocol::SignedEnvelope};

use crate::{
    Fieldseal, FieldsealError,
    guard::{guard, guard_blocking},
};

/// An envelope whose signature checked out, with its payload as canonical JSON.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VerifiedStatement {
    pub payload_json: String,
    pub payload_type: Option<String>,
    pub key_id: String,
}

#[uniffi::export]
impl Fieldseal {
    /// Signs a JSON object with the device key and returns the envelope as canonical JSON.
    /// Runs off the caller's thread: a hardware key may take a moment or ask for the user.
    pub async fn sign_statement(&self, payload_json: String) -> Result<String, FieldsealError> {
        let signer = self.signer.clone();
        guard_blocking(&self.runtime, move || {
            // The app supplied this text, so a parse failure is bad input, not tampering.
            let payload = fieldseal_core::protocol::canonical::parse_strict(&payload_json).map_err(|e| {
                FieldsealError::invalid_input(
                    "payload_json",
                    "not a JSON object",
                    format!("要签名的内容不是有效的 JSON：{e}。请检查后重试。"),
                    format!("The statement to sign is not valid JSON: {e}. Check it and retry."),
                )
            })?;
            let envelope = SignedEnvelope::seal(&payload, signer.as_ref())?;
            Ok(envelope.to_json_string()?)
        })
        .await
    }

    /// Checks an envelope against `public_key` (65-byte SEC1); any change to payload or signature fails.
    pub fn verify_statement(
        &self,
        envelope_json: String,
        public_key: Vec<u8>,
    ) -> Result<VerifiedStatement, FieldsealError> {
        guard(|| {
            let envelope = SignedEnvelope::from_json_str(&envelope_json)?;
            envelope.verify(&public_key)?;
            Ok(VerifiedStatement {
                payload_json: fieldseal_core::protocol::canonical::canonicalize(&envelope.payload)
                    .map_err(fieldseal_core::Error::from)?,
                payload_type: envelope.payload_type().map(str::to_owned),
                key_id: envelope.key_id.clone(),
            })
        })
    }

    /// This device's public key (65-byte SEC1), for enrolment with the provincial system.
    pub fn device_public_key(&self) -> Result<Vec<u8>, FieldsealError> {
        guard(|| Ok(self.signer.public_key().map_err(fieldseal_core::Error::from)?))
    }
}
