//! 回执校验 — a receipt is trusted only when it verifies under the intake key learnt at enrolment
//! and names exactly what was sent: the kind, the object, the content hash, the statement hash and
//! this device. Anything else is refused and the local copy stays unreleased.

use super::SyncError;
use crate::protocol::{
    SignedEnvelope,
    receipt::{Receipt, ReceiptKind},
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
