//! 签名信封 — the signed envelope around every statement a device makes.
//!
//! ```json
//! {"alg":"ES256","key_id":"<hex>","payload":{"type":"…","v":1,…},"signature":"<base64url r‖s>"}
//! ```
//!
//! The signature is ES256 (ECDSA P-256, SHA-256) over the *signing input*
//! `b"fieldseal-envelope-v1\n" ‖ canonical(payload)`, and never over the envelope's own text: the
//! payload can be re-serialised, stored in SQLite, pretty-printed by a reviewer, and still verify,
//! because both sides hash its RFC 8785 canonical form.
//!
//! Why the prefix (domain separation): the device key also signs other things (record pages,
//! trail heads). With the prefix, bytes signed for an envelope can never be replayed as a valid
//! signature in another context, and vice versa, even if some other format happened to produce the
//! same bytes as a canonical payload. The trailing newline cannot occur in canonical JSON, so the
//! boundary between prefix and payload is unambiguous. A new envelope format gets a new prefix.
//!
//! The signature travels as the fixed 64-byte `r ‖ s` (JOSE's form), whatever the signer returned:
//! DER from Android Keystore or the Secure Enclave is normalised at sealing. `key_id` names the
//! device key so intake can look up the enrolled public key; verification still checks that it
//! matches the key it is given.
//!
//! ECDSA signatures are malleable (`(r, s)` and `(r, n − s)` both verify): sealing stores only the
//! low-S form and verification refuses the other, so nobody without the key can make a second
//! valid-looking copy of an envelope. They are still randomised, so two sealings of one payload
//! differ in their signature: identify a statement by the hash of its signing input, never by the
//! envelope's text.
//!
//! A payload conventionally carries `"type"` (what statement this is) and `"v"` (its version).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ProtocolError, base64url, canonical};
use crate::crypto::{
    CryptoError, DeviceSigner,
    signer::{key_id, normalize_signature, to_low_s, verify_es256},
};

/// The only signature algorithm version 1 accepts.
pub const ALG_ES256: &str = "ES256";

/// Prefixed to the canonical payload before signing; see the module documentation.
pub const SIGNING_DOMAIN: &[u8] = b"fieldseal-envelope-v1\n";

/// A payload signed by a device key. Serialises with exactly these four members; unknown members
/// are refused, so nothing unsigned can ride along looking as if it were covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    pub payload: Value,
    /// Always `"ES256"` in this version.
    pub alg: String,
    /// Hex of the first 16 bytes of SHA-256 of the signer's 65-byte public key.
    pub key_id: String,
    /// Base64url (no padding) of the fixed 64-byte `r ‖ s`.
    pub signature: String,
}

/// The bytes an envelope's signature covers: [`SIGNING_DOMAIN`] ‖ canonical(payload).
pub fn signing_input(payload: &Value) -> Result<Vec<u8>, ProtocolError> {
    let canonical = canonical::canonicalize(payload)?;
    let mut input = Vec::with_capacity(SIGNING_DOMAIN.len() + canonical.len());
    input.extend_from_slice(SIGNING_DOMAIN);
    input.extend_from_slice(canonical.as_bytes());
    Ok(input)
}

impl SignedEnvelope {
    /// Signs `payload` with the device key.
    ///
    /// The fresh signature is verified against the signer's own public key before it is returned:
    /// a platform signer that answers with the wrong key or a corrupt signature fails here, on the
    /// device, rather than at intake days later.
    pub fn seal(payload: &Value, signer: &dyn DeviceSigner) -> crate::Result<Self> {
        let input = signing_input(payload)?;
        let public_key = signer.public_key()?;
        // Before signing: a malformed public key fails without prompting for a hardware key.
        let key_id = key_id(&public_key)?;
        // Hardware signers return high-S half the time; only the low-S form is ever stored.
        let signature = to_low_s(normalize_signature(&signer.sign(&input)?)?);
        verify_es256(&public_key, &input, &signature).map_err(|_| {
            CryptoError::Signer("the signature does not verify against the signer's public key".into())
        })?;
        Ok(SignedEnvelope {
            payload: payload.clone(),
            alg: ALG_ES256.to_owned(),
            key_id,
            signature: base64url::encode(&signature),
        })
    }

    /// Checks the algorithm, that `key_id` names `public_key` (65-byte SEC1), and the signature
    /// over the canonical payload. Any change to the payload, down to one character, fails.
    pub fn verify(&self, public_key: &[u8]) -> crate::Result<()> {
        if self.alg != ALG_ES256 {
            return Err(ProtocolError::WrongAlgorithm { found: self.alg.clone() }.into());
        }
        let expected = key_id(public_key)?;
        if self.key_id != expected {
            return Err(ProtocolError::KeyIdMismatch { expected, found: self.key_id.clone() }.into());
        }
        let signature = base64url::decode(&self.signature)
            .map_err(|reason| ProtocolError::BadBase64 { what: "envelope signature", reason })?;
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| ProtocolError::malformed("envelope signature", "not 64 bytes (ES256 r ‖ s)"))?;
        let input = signing_input(&self.payload)?;
        verify_es256(public_key, &input, &signature).map_err(|e| match e {
            // A signature that does not verify is the tampering case; anything else (an unusable
            // public key) keeps its own explanation.
            CryptoError::Integrity { .. } => ProtocolError::BadSignature { what: "envelope" }.into(),
            other => crate::Error::from(other),
        })
    }

    /// The envelope as canonical JSON: the form it is stored, sent and pinned in test vectors in.
    pub fn to_json_string(&self) -> crate::Result<String> {
        let value = serde_json::json!({
            "payload": self.payload,
            "alg": self.alg,
            "key_id": self.key_id,
            "signature": self.signature,
        });
        Ok(canonical::canonicalize(&value)?)
    }

    /// Reads an envelope from JSON text (any spacing or member order; duplicate keys and unknown
    /// members refused). This does not verify it: call [`SignedEnvelope::verify`].
    pub fn from_json_str(text: &str) -> crate::Result<Self> {
        let value =
            canonical::parse_strict(text).map_err(|e| ProtocolError::malformed("envelope", e.to_string()))?;
        Ok(serde_json::from_value(value).map_err(|e| ProtocolError::malformed("envelope", e.to_string()))?)
    }

    /// The payload's `"type"`, when it is an object with a string there.
    pub fn payload_type(&self) -> Option<&str> {
        self.payload.get("type")?.as_str()
    }

    /// The payload's `"v"` (format version), when it is an object with a non-negative integer there.
    pub fn payload_version(&self) -> Option<u64> {
        self.payload.get("v")?.as_u64()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ring::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
    };
    use serde_json::json;

    use super::*;
    use crate::{
        Error,
        crypto::signer::{SoftwareSigner, signature_to_der},
    };

    fn new_signer() -> SoftwareSigner {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap()
    }

    fn payload() -> Value {
        json!({
            "type": "evidence.manifest",
            "v": 1,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "note": "排污口照片 outlet photo",
            "accuracy_m": 4.5,
        })
    }

    /// Signs like Android Keystore: DER instead of fixed-width, or with a different key than it reports.
    struct PlatformLike {
        inner: SoftwareSigner,
        reported: Option<Vec<u8>>,
        calls: AtomicUsize,
    }

    impl DeviceSigner for PlatformLike {
        fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
            match &self.reported {
                Some(key) => Ok(key.clone()),
                None => self.inner.public_key(),
            }
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let fixed: [u8; 64] = self.inner.sign(message)?.try_into().unwrap();
            Ok(signature_to_der(&fixed))
        }
    }

    fn platform_like(reported: Option<Vec<u8>>) -> PlatformLike {
        PlatformLike { inner: new_signer(), reported, calls: AtomicUsize::new(0) }
    }

    fn protocol_error(result: crate::Result<()>) -> ProtocolError {
        match result {
            Err(Error::Protocol(e)) => e,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[test]
    fn sealed_envelope_verifies_after_any_reserialisation() {
        let signer = new_signer();
        let public = signer.public_key().unwrap();
        let envelope = SignedEnvelope::seal(&payload(), &signer).unwrap();
        assert_eq!(envelope.alg, "ES256");
        assert_eq!(envelope.key_id, signer.key_id());
        envelope.verify(&public).unwrap();

        let canonical = envelope.to_json_string().unwrap();
        assert_eq!(SignedEnvelope::from_json_str(&canonical).unwrap(), envelope);
        // Pretty-printed with members in another order: the same statement, still verifying.
        let pretty = serde_json::to_string_pretty(&json!({
            "signature": envelope.signature,
            "payload": {"accuracy_m": 4.50, "v": 1.0, "note": "排污口照片 outlet photo", "type": "evidence.manifest",
                        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
            "key_id": envelope.key_id,
            "alg": "ES256",
        }))
        .unwrap();
        let reread = SignedEnvelope::from_json_str(&pretty).unwrap();
        reread.verify(&public).unwrap();
        assert_eq!(reread.to_json_string().unwrap(), canonical);
    }

    #[test]
    fn changing_one_character_of_the_payload_fails_verification() {
        let signer = new_signer();
        let public = signer.public_key().unwrap();
        let envelope = SignedEnvelope::seal(&payload(), &signer).unwrap();
        let note = payload()["note"].as_str().unwrap().to_owned();
        for (i, c) in note.char_indices() {
            let mut changed = envelope.clone();
            let replacement = if c == 'x' { 'y' } else { 'x' };
            let text = format!("{}{replacement}{}", &note[..i], &note[i + c.len_utf8()..]);
            changed.payload["note"] = Value::String(text);
            assert!(
                matches!(protocol_error(changed.verify(&public)), ProtocolError::BadSignature { .. }),
                "change at {i} went unnoticed"
            );
        }
        let mut number = envelope.clone();
        number.payload["accuracy_m"] = json!(4.6);
        assert!(matches!(protocol_error(number.verify(&public)), ProtocolError::BadSignature { .. }));
        let mut added = envelope;
        added.payload["extra"] = json!(null);
        assert!(matches!(protocol_error(added.verify(&public)), ProtocolError::BadSignature { .. }));
    }

    #[test]
    fn signature_over_the_bare_payload_is_not_an_envelope_signature() {
        // Domain separation: bytes signed in another context (here canonical JSON without the
        // prefix) must not verify as an envelope.
        let signer = new_signer();
        let public = signer.public_key().unwrap();
        let bare = canonical::canonicalize(&payload()).unwrap();
        let signature = signer.sign(bare.as_bytes()).unwrap();
        let forged = SignedEnvelope {
            payload: payload(),
            alg: ALG_ES256.into(),
            key_id: signer.key_id().into(),
            signature: base64url::encode(&signature),
        };
        assert!(matches!(protocol_error(forged.verify(&public)), ProtocolError::BadSignature { .. }));
        assert!(signing_input(&payload()).unwrap().starts_with(b"fieldseal-envelope-v1\n"));
    }

    #[test]
    fn der_signatures_from_platform_keys_are_stored_fixed_width() {
        let signer = platform_like(None);
        let envelope = SignedEnvelope::seal(&payload(), &signer).unwrap();
        assert_eq!(base64url::decode(&envelope.signature).unwrap().len(), 64);
        envelope.verify(&signer.public_key().unwrap()).unwrap();
    }

    #[test]
    fn a_signer_reporting_another_key_fails_at_sealing() {
        let other = new_signer().public_key().unwrap();
        let signer = platform_like(Some(other));
        match SignedEnvelope::seal(&payload(), &signer) {
            Err(Error::Crypto(CryptoError::Signer(_))) => {}
            other => panic!("expected a signer failure, got {other:?}"),
        }
    }

    #[test]
    fn payload_without_a_canonical_form_is_refused_before_the_signer_is_asked() {
        let signer = platform_like(None);
        let bad = json!({"type": "t", "id": 9_007_199_254_740_993u64});
        match SignedEnvelope::seal(&bad, &signer) {
            Err(Error::Protocol(ProtocolError::NonCanonicalNumber { path, .. })) => assert_eq!(path, "/id"),
            other => panic!("expected NonCanonicalNumber, got {other:?}"),
        }
        assert_eq!(signer.calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn verification_checks_alg_key_id_and_signature_encoding() {
        let signer = new_signer();
        let public = signer.public_key().unwrap();
        let envelope = SignedEnvelope::seal(&payload(), &signer).unwrap();

        let mut alg = envelope.clone();
        alg.alg = "none".into();
        assert!(matches!(protocol_error(alg.verify(&public)), ProtocolError::WrongAlgorithm { .. }));

        let stranger = new_signer().public_key().unwrap();
        assert!(matches!(protocol_error(envelope.verify(&stranger)), ProtocolError::KeyIdMismatch { .. }));
        // Even with the key id rewritten to match, the stranger's key does not verify the signature.
        let mut relabelled = envelope.clone();
        relabelled.key_id = key_id(&stranger).unwrap();
        assert!(matches!(protocol_error(relabelled.verify(&stranger)), ProtocolError::BadSignature { .. }));

        let mut padded = envelope.clone();
        padded.signature.push('=');
        assert!(matches!(protocol_error(padded.verify(&public)), ProtocolError::BadBase64 { .. }));

        let mut short = envelope.clone();
        short.signature = base64url::encode(&[7; 63]);
        assert!(matches!(protocol_error(short.verify(&public)), ProtocolError::Malformed { .. }));

        let mut flipped = envelope;
        let mut raw = base64url::decode(&flipped.signature).unwrap();
        raw[10] ^= 0x01;
        flipped.signature = base64url::encode(&raw);
        assert!(matches!(protocol_error(flipped.verify(&public)), ProtocolError::BadSignature { .. }));
    }

    #[test]
    fn envelope_text_with_unknown_duplicate_or_missing_members_is_malformed() {
        let signer = new_signer();
        let text = SignedEnvelope::seal(&payload(), &signer).unwrap().to_json_string().unwrap();
        let extra = text.replacen('{', r#"{"unsigned":"added later","#, 1);
        let duplicate = text.replacen('{', r#"{"alg":"ES256","#, 1);
        let missing = text.replacen(r#""alg":"ES256","#, "", 1);
        for bad in [extra, duplicate, missing, "[]".to_owned(), "{".to_owned()] {
            match SignedEnvelope::from_json_str(&bad) {
                Err(Error::Protocol(ProtocolError::Malformed { .. })) => {}
                other => panic!("{bad}: expected Malformed, got {other:?}"),
            }
        }
    }

    #[test]
    fn payload_type_and_version_are_read_only_from_their_conventional_members() {
        let signer = new_signer();
        let envelope = SignedEnvelope::seal(&payload(), &signer).unwrap();
        assert_eq!(envelope.payload_type(), Some("evidence.manifest"));
        assert_eq!(envelope.payload_version(), Some(1));
        let odd = SignedEnvelope::seal(&json!({"type": 3, "v": "1"}), &signer).unwrap();
        assert_eq!(odd.payload_type(), None);
        assert_eq!(odd.payload_version(), None);
        let array = SignedEnvelope::seal(&json!(["type"]), &signer).unwrap();
        assert_eq!(array.payload_type(), None);
    }
}
