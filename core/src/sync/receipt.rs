//! 回执校验 — a receipt is trusted only when it verifies under the intake key learnt at enrolment
//! and names exactly what was sent: the kind, the object, the content hash, the statement hash and
//! this device. Anything else is refused and the local copy stays unreleased.
//!
//! A verified receipt for a trail head is also kept as the countersignature (会签) of the trail
//! anchor the statement names ([`Countersignature`]), so the trail's own verification can say that
//! the province holds the trail up to that head.

use ring::digest;
use serde::{Deserialize, Serialize};

use super::SyncError;
use crate::{
    crypto::column::hex,
    protocol::{
        SignedEnvelope,
        envelope::signing_input,
        receipt::{Receipt, ReceiptKind},
        trail_head::{TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement},
    },
};

/// What a receipt for one submission must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedReceipt {
    pub kind: ReceiptKind,
    pub object_id: String,
    pub sha256: String,
    pub statement_sha256: String,
    pub device_id: String,
}

/// Verifies `envelope` under `server_key` and checks that it names `expected`.
pub fn check(
    envelope: &SignedEnvelope,
    server_key: &[u8],
    expected: &ExpectedReceipt,
) -> Result<Receipt, SyncError> {
    let refused = |reason| SyncError::ReceiptRefused { object_id: expected.object_id.clone(), reason };
    let receipt = Receipt::open(envelope, server_key)
        .map_err(|_| refused("signature does not verify under the enrolled intake key"))?;
    if receipt.kind != expected.kind || receipt.object_id != expected.object_id {
        return Err(refused("names another object"));
    }
    if receipt.sha256 != expected.sha256 {
        return Err(refused("names another content hash"));
    }
    if receipt.statement_sha256 != expected.statement_sha256 {
        return Err(refused("names another signed statement"));
    }
    if receipt.device_id != expected.device_id {
        return Err(refused("names another device"));
    }
    Ok(receipt)
}

/// 会签 — intake's receipt for a trail-head statement, kept with that statement's payload in the
/// countersignature slot of the anchor the statement names (`store::anchors`). Self-contained:
/// checking it needs only the enrolled intake key and the anchor, so a slot filled by anyone but
/// sync (a forged or swapped countersignature) is refused by [`Countersignature::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Countersignature {
    /// Intake's signed receipt.
    pub receipt: SignedEnvelope,
    /// The trail-head statement's payload as submitted; the receipt names its hash.
    pub trail_head: serde_json::Value,
}

/// The anchor a countersignature must name: its counter and hash, and the head it signs.
#[derive(Debug, Clone, Copy)]
pub struct AnchorToCountersign<'a> {
    pub counter: u64,
    pub anchor_hash: &'a str,
    pub stream: &'a str,
    pub seq: i64,
}

impl Countersignature {
    pub fn to_bytes(&self) -> crate::Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| crate::crypto::CryptoError::integrity(format!("countersignature: {e}")).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, &'static str> {
        serde_json::from_slice(bytes).map_err(|_| "the kept countersignature is not readable")
    }

    /// Checks that the receipt verifies under `server_key`, acknowledges exactly the kept
    /// trail-head statement, and that the statement names `anchor` (counter and hash) for a head of
    /// the anchor's stream at or before the anchored event. Returns the receipt.
    pub fn check(&self, server_key: &[u8], anchor: AnchorToCountersign<'_>) -> Result<Receipt, &'static str> {
        let receipt = Receipt::open(&self.receipt, server_key)
            .map_err(|_| "the receipt does not verify under the enrolled intake key")?;
        if receipt.kind != ReceiptKind::TrailHead {
            return Err("the receipt is not for a trail head");
        }
        let input =
            signing_input(&self.trail_head).map_err(|_| "the kept trail head is not canonical JSON")?;
        let hash = hex(digest::digest(&digest::SHA256, &input).as_ref());
        if receipt.statement_sha256 != hash || receipt.sha256 != hash {
            return Err("the receipt names another trail-head statement");
        }
        let head: TrailHeadStatement = serde_json::from_value(self.trail_head.clone())
            .map_err(|_| "the kept trail head is not a version 2 trail-head statement")?;
        if head.statement != TRAIL_HEAD_TYPE
            || head.v != TRAIL_HEAD_VERSION
            || receipt.object_id != head.trail_id
        {
            return Err("the kept trail head is not the one the receipt names");
        }
        let named = head.anchor.as_ref().ok_or("the trail head names no anchor")?;
        if named.counter != anchor.counter || named.anchor_hash != anchor.anchor_hash {
            return Err("the trail head names another anchor");
        }
        if head.stream != anchor.stream || head.seq > anchor.seq {
            return Err("the trail head is not covered by this anchor");
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        crypto::{DeviceSigner, signer::SoftwareSigner},
        protocol::receipt::{RECEIPT_TYPE, RECEIPT_VERSION},
    };

    fn receipt() -> Receipt {
        Receipt {
            statement: RECEIPT_TYPE.into(),
            v: RECEIPT_VERSION,
            receipt_id: "r1".into(),
            kind: ReceiptKind::Evidence,
            object_id: "ev-1".into(),
            sha256: "ab".repeat(32),
            statement_sha256: "cd".repeat(32),
            device_id: "dev-1".into(),
            device_key_id: "k".into(),
            received_at: "2026-12-01T08:00:00Z".parse().unwrap(),
        }
    }

    fn expected() -> ExpectedReceipt {
        ExpectedReceipt {
            kind: ReceiptKind::Evidence,
            object_id: "ev-1".into(),
            sha256: "ab".repeat(32),
            statement_sha256: "cd".repeat(32),
            device_id: "dev-1".into(),
        }
    }

    fn sealed(r: &Receipt, signer: &SoftwareSigner) -> SignedEnvelope {
        SignedEnvelope::seal(&serde_json::to_value(r).unwrap(), signer).unwrap()
    }

    #[test]
    fn a_receipt_naming_what_was_sent_under_the_enrolled_key_is_accepted() {
        let server = SoftwareSigner::fixed_for_tests();
        let key = server.public_key().unwrap();
        assert_eq!(check(&sealed(&receipt(), &server), &key, &expected()).unwrap(), receipt());
    }

    #[test]
    fn a_receipt_for_another_hash_object_or_device_is_refused() {
        let server = SoftwareSigner::fixed_for_tests();
        let key = server.public_key().unwrap();
        let changes: [fn(&mut Receipt); 4] = [
            |r| r.sha256 = "ef".repeat(32),
            |r| r.object_id = "ev-2".into(),
            |r| r.statement_sha256 = "00".repeat(32),
            |r| r.device_id = "dev-2".into(),
        ];
        for change in changes {
            let mut r = receipt();
            change(&mut r);
            assert!(matches!(
                check(&sealed(&r, &server), &key, &expected()),
                Err(SyncError::ReceiptRefused { .. })
            ));
        }
    }

    #[test]
    fn a_receipt_signed_by_another_key_is_refused() {
        let server = SoftwareSigner::fixed_for_tests();
        let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let impostor = SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap();
        let key = server.public_key().unwrap();
        let result = check(&sealed(&receipt(), &impostor), &key, &expected());
        assert!(matches!(result, Err(SyncError::ReceiptRefused { .. })), "{result:?}");
    }
}
