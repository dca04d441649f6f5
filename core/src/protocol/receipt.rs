//! 回执 — intake's signed acknowledgement that it holds and verified an object.
//!
//! The device releases its local copy only after a receipt that names the same hash (DESIGN.md §6),
//! and the exported bundle carries the receipt, so a reviewer can check offline that the province
//! received exactly these bytes. Receipts are signed by intake's ES256 key, whose public half is
//! published at [`SERVER_KEY_PATH`] and returned at enrolment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ProtocolError, SignedEnvelope, base64url, statement};
use crate::crypto::signer::key_id;

/// The envelope payload `"type"` of a receipt.
pub const RECEIPT_TYPE: &str = "receipt";
pub const RECEIPT_VERSION: u32 = 1;
/// Where intake publishes its receipt-signing public key.
pub const SERVER_KEY_PATH: &str = "/.well-known/fieldseal/server-key";

/// What a receipt acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// An evidence manifest and the blob it names.
    Evidence,
    /// 现场检查笔录 — a signed on-site record.
    Record,
    /// The signed head of a trail (全过程记录).
    TrailHead,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Evidence => "evidence",
            ReceiptKind::Record => "record",
            ReceiptKind::TrailHead => "trail_head",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [ReceiptKind::Evidence, ReceiptKind::Record, ReceiptKind::TrailHead]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The receipt's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    #[serde(rename = "type")]
    pub statement: String,
    pub v: u32,
    pub receipt_id: String,
    pub kind: ReceiptKind,
    /// The evidence, record or trail id.
    pub object_id: String,
    /// The content hash acknowledged: for evidence the blob's SHA-256 (what the manifest names), for
    /// a record or trail head the hash of its signed statement.
    pub sha256: String,
    /// The hash of the signed statement received ([`statement::statement_sha256`]); for a record or
    /// trail head it equals `sha256`.
    pub statement_sha256: String,
    pub device_id: String,
    pub device_key_id: String,
    /// Intake's clock when it accepted the object.
    pub received_at: DateTime<Utc>,
}

impl Receipt {
    /// Verifies a receipt envelope against intake's public key and reads it.
    pub fn open(envelope: &SignedEnvelope, server_public_key: &[u8]) -> crate::Result<Self> {
        statement::open(envelope, server_public_key, RECEIPT_TYPE, u64::from(RECEIPT_VERSION))
    }
}

/// Intake's public signing key as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerKeyInfo {
    /// Always `"ES256"`.
    pub alg: String,
    pub key_id: String,
    /// Base64url of the 65-byte uncompressed P-256 point.
    pub public_key: String,
}

impl ServerKeyInfo {
    pub fn new(public_key: &[u8]) -> crate::Result<Self> {
        Ok(ServerKeyInfo {
            alg: super::envelope::ALG_ES256.to_owned(),
            key_id: key_id(public_key)?,
            public_key: base64url::encode(public_key),
        })
    }

    /// The decoded key, checked against its stated id.
    pub fn public_key_bytes(&self) -> crate::Result<Vec<u8>> {
        let bytes = base64url::decode(&self.public_key)
            .map_err(|reason| ProtocolError::BadBase64 { what: "server public key", reason })?;
        let expected = key_id(&bytes)?;
        if expected != self.key_id {
            return Err(ProtocolError::KeyIdMismatch { expected, found: self.key_id.clone() }.into());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DeviceSigner, signer::SoftwareSigner};

    #[test]
    fn receipt_round_trips_and_refuses_any_change() {
        let server = SoftwareSigner::fixed_for_tests();
        let info = ServerKeyInfo::new(&server.public_key().unwrap()).unwrap();
        let receipt = Receipt {
            statement: RECEIPT_TYPE.into(),
            v: RECEIPT_VERSION,
            receipt_id: "r1".into(),
            kind: ReceiptKind::Evidence,
            object_id: "e1".into(),
            sha256: "ab".repeat(32),
            statement_sha256: "cd".repeat(32),
            device_id: "d1".into(),
            device_key_id: "k1".into(),
            received_at: "2026-12-01T08:00:00Z".parse().unwrap(),
        };
        let envelope = SignedEnvelope::seal(&serde_json::to_value(&receipt).unwrap(), &server).unwrap();
        let key = info.public_key_bytes().unwrap();
        assert_eq!(Receipt::open(&envelope, &key).unwrap(), receipt);
        let mut changed = envelope;
        changed.payload["sha256"] = serde_json::json!("ef".repeat(32));
        assert!(Receipt::open(&changed, &key).is_err());
        assert_eq!(ReceiptKind::parse("trail_head"), Some(ReceiptKind::TrailHead));
        assert_eq!(ReceiptKind::parse("blob"), None);
    }
}
