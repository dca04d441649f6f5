//! 设备注册 — enrolment: binding a device's ES256 key to an inspector.
//!
//! 1. An operator issues a one-time enrolment code (注册码) for an inspector.
//! 2. The device asks intake for a challenge, then sends an [`EnrolmentRequest`] signed with its new
//!    key: the code, the challenge and its public key. The signature is the proof of possession: only
//!    the holder of the private key can produce it, and the challenge makes it good for one try.
//! 3. Intake answers with an [`EnrolmentResponse`]: the device id, a [`DeviceCertificate`] signed
//!    by intake's key, and that key itself, which the device pins to check receipts and certificates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProtocolError, SignedEnvelope, base64url, receipt::ServerKeyInfo, statement};
use crate::crypto::signer::key_id;

/// The envelope payload `"type"` of an enrolment request.
pub const ENROLMENT_REQUEST_TYPE: &str = "enrolment_request";
/// The envelope payload `"type"` of a device certificate.
pub const DEVICE_CERTIFICATE_TYPE: &str = "device_certificate";
pub const ENROLMENT_VERSION: u32 = 1;

/// What the device signs with the key it is enrolling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    /// The one-time code the operator gave the inspector.
    pub code: String,
    /// The challenge intake issued for this attempt.
    pub challenge: String,
    /// The device public key: base64url of the 65-byte uncompressed P-256 point.
    pub public_key: String,
    /// A label a person recognises the device by (model, asset tag); not trusted for anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_label: Option<String>,
}

impl EnrolmentRequest {
    pub fn new(code: &str, challenge: &str, public_key: &[u8], device_label: Option<String>) -> Self {
        EnrolmentRequest {
            statement: ENROLMENT_REQUEST_TYPE.to_owned(),
            v: ENROLMENT_VERSION,
            code: code.to_owned(),
            challenge: challenge.to_owned(),
            public_key: base64url::encode(public_key),
            device_label,
        }
    }

    /// Reads a request and checks that it is signed by the very key it presents (the proof of
    /// possession). Returns the request and the decoded public key.
    pub fn open(envelope: &SignedEnvelope) -> crate::Result<(Self, Vec<u8>)> {
        let request: EnrolmentRequest =
            statement::read_unverified(envelope, ENROLMENT_REQUEST_TYPE, u64::from(ENROLMENT_VERSION))?;
        let public_key = base64url::decode(&request.public_key)
            .map_err(|reason| ProtocolError::BadBase64 { what: "enrolment public key", reason })?;
        key_id(&public_key)?;
        envelope.verify(&public_key)?;
        Ok((request, public_key))
    }
}

/// What the device asks intake for before enrolling or authenticating: a fresh, single-use value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    pub challenge: String,
    /// Server time after which the challenge is refused.
    pub expires_at: DateTime<Utc>,
}

/// Intake's answer to a successful enrolment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentResponse {
    pub device_id: String,
    /// A [`SignedEnvelope`] over a [`DeviceCertificate`], signed by intake's key.
    pub certificate: SignedEnvelope,
    /// The key intake signs certificates and receipts with.
    pub server_key: ServerKeyInfo,
}

/// 设备证书 — intake's signed statement that a device key belongs to an inspector, for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCertificate {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub device_id: String,
    /// 执法人员 — the inspector the device was enrolled for.
    pub inspector_id: String,
    pub device_key_id: String,
    /// Base64url of the 65-byte device public key.
    pub public_key: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// `key_id` of the intake key that signed this certificate.
    pub issuer_key_id: String,
}

impl DeviceCertificate {
    /// Verifies a certificate envelope against intake's public key and reads it.
    pub fn open(envelope: &SignedEnvelope, server_public_key: &[u8]) -> crate::Result<Self> {
        let certificate: DeviceCertificate = statement::open(
            envelope,
            server_public_key,
            DEVICE_CERTIFICATE_TYPE,
            u64::from(ENROLMENT_VERSION),
        )?;
        if certificate.issuer_key_id != envelope.key_id {
            return Err(ProtocolError::malformed(
                "device certificate",
                "issuer_key_id is not the signing key",
            )
            .into());
        }
        Ok(certificate)
    }

    /// True when `at` lies within the certificate's validity.
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at < self.not_after
    }
}

#[cfg(test)]
mod tests {
    use ring::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
    };

    use super::*;
    use crate::{
        Error,
        crypto::{DeviceSigner, signer::SoftwareSigner},
    };

    fn new_signer() -> SoftwareSigner {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap()
    }

    fn request_by(signer: &SoftwareSigner, presented: &[u8]) -> SignedEnvelope {
        let request = EnrolmentRequest::new("ABCD-EFGH", "c1", presented, None);
        SignedEnvelope::seal(&serde_json::to_value(request).unwrap(), signer).unwrap()
    }

    #[test]
    fn enrolment_request_proves_possession_of_the_key_it_presents() {
        let device = new_signer();
        let public = device.public_key().unwrap();
        let (request, key) = EnrolmentRequest::open(&request_by(&device, &public)).unwrap();
        assert_eq!((request.code.as_str(), key), ("ABCD-EFGH", public.clone()));

        // Signed by another key than the one presented: no proof of possession.
        let thief = new_signer();
        match EnrolmentRequest::open(&request_by(&thief, &public)) {
            Err(Error::Protocol(ProtocolError::KeyIdMismatch { .. })) => {}
            other => panic!("expected a key id mismatch, got {other:?}"),
        }
        let mut relabelled = request_by(&thief, &public);
        relabelled.key_id = device.key_id().to_owned();
        assert!(matches!(
            EnrolmentRequest::open(&relabelled),
            Err(Error::Protocol(ProtocolError::BadSignature { .. }))
        ));
    }

    #[test]
    fn device_certificate_verifies_only_under_the_issuing_key() {
        let server = new_signer();
        let device = new_signer();
        let now = Utc::now();
        let certificate = DeviceCertificate {
            statement: DEVICE_CERTIFICATE_TYPE.into(),
            v: ENROLMENT_VERSION,
            device_id: "dev-1".into(),
            inspector_id: "insp-001".into(),
            device_key_id: device.key_id().into(),
            public_key: base64url::encode(&device.public_key().unwrap()),
            not_before: now,
            not_after: now + chrono::Duration::days(365),
            issuer_key_id: server.key_id().into(),
        };
        let envelope = SignedEnvelope::seal(&serde_json::to_value(&certificate).unwrap(), &server).unwrap();
        let read = DeviceCertificate::open(&envelope, &server.public_key().unwrap()).unwrap();
        assert_eq!(read, certificate);
        assert!(read.is_valid_at(now) && !read.is_valid_at(now + chrono::Duration::days(366)));
        assert!(DeviceCertificate::open(&envelope, &device.public_key().unwrap()).is_err());
    }
}
