//! 签名声明 — typed statements inside signed envelopes.
//!
//! Every wire statement (an enrolment request, a device certificate, a receipt, a token request)
//! is a [`SignedEnvelope`] whose payload carries `"type"` and `"v"`. [`open`] is the one way to
//! read one: verify the signature first, then check the type and version, then parse the payload
//! into its struct with unknown members refused, so nothing unsigned or misunderstood is trusted.
//!
//! A statement is identified by [`statement_sha256`], the SHA-256 of its signing input, never by
//! the envelope's text: ECDSA signatures are randomised and malleable, so two envelopes over the
//! same payload differ in their signature but name the same statement.

use ring::digest;
use serde::de::DeserializeOwned;

use super::{ProtocolError, SignedEnvelope, envelope::signing_input};
use crate::crypto::column::hex;

/// Verifies `envelope` against `public_key`, checks that its payload is a `statement` of version
/// `version`, and parses it.
pub fn open<T: DeserializeOwned>(
    envelope: &SignedEnvelope,
    public_key: &[u8],
    statement: &'static str,
    version: u64,
) -> crate::Result<T> {
    envelope.verify(public_key)?;
    read_unverified(envelope, statement, version)
}

/// Checks the type and version of a payload and parses it, without verifying the signature: for a
/// reader that must learn who signed (a `device_id` in the payload) before it can find the key.
/// Always follow it with [`SignedEnvelope::verify`] or use [`open`].
pub fn read_unverified<T: DeserializeOwned>(
    envelope: &SignedEnvelope,
    statement: &'static str,
    version: u64,
) -> crate::Result<T> {
    match envelope.payload_type() {
        Some(found) if found == statement => {}
        found => {
            return Err(ProtocolError::malformed(
                statement,
                format!("payload type is {found:?}, expected {statement:?}"),
            )
            .into());
        }
    }
    if envelope.payload_version() != Some(version) {
        return Err(
            ProtocolError::malformed(statement, format!("unsupported version; expected {version}")).into()
        );
    }
    serde_json::from_value(envelope.payload.clone())
        .map_err(|e| ProtocolError::malformed(statement, e.to_string()).into())
}

/// SHA-256 (lowercase hex) of the envelope's signing input: the identity of the statement.
pub fn statement_sha256(envelope: &SignedEnvelope) -> Result<String, ProtocolError> {
    let input = signing_input(&envelope.payload)?;
    Ok(hex(digest::digest(&digest::SHA256, &input).as_ref()))
}

/// True when `text` is a lowercase hex SHA-256 (64 characters): the only shape a content address,
/// and therefore a blob path component, may have.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::{Error, crypto::signer::SoftwareSigner};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ping {
        #[serde(rename = "type")]
        _statement: String,
        v: u32,
        n: u32,
    }

    #[test]
    fn open_checks_signature_type_version_and_members() {
        let signer = SoftwareSigner::fixed_for_tests();
        let public = crate::crypto::DeviceSigner::public_key(&signer).unwrap();
        let good = SignedEnvelope::seal(&json!({"type": "ping", "v": 1, "n": 7}), &signer).unwrap();
        let ping: Ping = open(&good, &public, "ping", 1).unwrap();
        assert_eq!((ping.v, ping.n), (1, 7));

        let wrong_type = SignedEnvelope::seal(&json!({"type": "pong", "v": 1, "n": 7}), &signer).unwrap();
        let wrong_version = SignedEnvelope::seal(&json!({"type": "ping", "v": 2, "n": 7}), &signer).unwrap();
        let extra = SignedEnvelope::seal(&json!({"type": "ping", "v": 1, "n": 7, "x": 0}), &signer).unwrap();
        for bad in [wrong_type, wrong_version, extra] {
            assert!(
                matches!(
                    open::<Ping>(&bad, &public, "ping", 1),
                    Err(Error::Protocol(ProtocolError::Malformed { .. }))
                ),
                "{:?}",
                bad.payload
            );
        }
        let mut tampered = good.clone();
        tampered.payload["n"] = json!(8);
        assert!(matches!(
            open::<Ping>(&tampered, &public, "ping", 1),
            Err(Error::Protocol(ProtocolError::BadSignature { .. }))
        ));
    }

    #[test]
    fn statement_hash_ignores_the_signature_and_member_order() {
        let signer = SoftwareSigner::fixed_for_tests();
        let a = SignedEnvelope::seal(&json!({"type": "ping", "v": 1, "n": 7}), &signer).unwrap();
        let b = SignedEnvelope::seal(&json!({"n": 7, "v": 1, "type": "ping"}), &signer).unwrap();
        assert_ne!(a.signature, b.signature, "ECDSA signatures are randomised");
        assert_eq!(statement_sha256(&a).unwrap(), statement_sha256(&b).unwrap());
        let c = SignedEnvelope::seal(&json!({"type": "ping", "v": 1, "n": 8}), &signer).unwrap();
        assert_ne!(statement_sha256(&a).unwrap(), statement_sha256(&c).unwrap());
    }

    #[test]
    fn only_lowercase_64_hex_is_a_content_address() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        for bad in [
            "AB".repeat(32),
            "ab".repeat(31),
            "../".repeat(22),
            format!("{}/", "a".repeat(63)),
            String::new(),
        ] {
            assert!(!is_sha256_hex(&bad), "{bad}");
        }
    }
}
