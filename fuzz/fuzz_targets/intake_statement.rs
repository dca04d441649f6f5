//! What intake reads from a device's JSON request body: the signed envelope of an enrolment, a
//! token request, an evidence manifest, a record's freeze statement or a trail head
//! (`intake/src/http/body.rs` → `SignedEnvelope::from_json_str`, then the statement readers of
//! `fieldseal_core::protocol` and `evidence::manifest` that `intake/src/service` calls).
//!
//! Beyond "no panic": every reader ends in a typed error or a statement that survives its own
//! re-serialisation unchanged (what intake stores is what it verified), a manifest that parses
//! also passes its format check only when `open_signed` would keep it, and anything that passes
//! a signature check (the seeds are signed with the published test key) stops passing when its
//! payload changes.
#![no_main]

use std::{fmt::Debug, sync::OnceLock};

use fieldseal_core::{
    evidence::manifest::{self, EvidenceManifest},
    protocol::{
        SignedEnvelope,
        auth::{TOKEN_REQUEST_TYPE, TOKEN_REQUEST_VERSION, TokenRequest},
        enrolment::EnrolmentRequest,
        statement::{self, is_sha256_hex, statement_sha256},
        trail_head::{TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement, parse_trail_head_id},
    },
    record::statements::{FREEZE_TYPE, FreezeStatement, STATEMENT_VERSION},
};
use libfuzzer_sys::fuzz_target;
use serde::{Serialize, de::DeserializeOwned};

/// `test_key.public_key_hex` of `core/tests/vectors/protocol_envelope_v1.json` (and of the manifest
/// vectors), which signed the seeds in `fuzz/seeds/intake_statement`.
const SEED_PUBLIC_KEY: &str = "040a3b4c46c8d66e5195ade5c3c74c4a4ba3fa7cfe0809b2ddec7993f2cf11f0e3e682e827309a45f6adba94de51cb02bb104c5583803afe89f11625f95478a498";

fn public_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        (0..SEED_PUBLIC_KEY.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&SEED_PUBLIC_KEY[i..i + 2], 16).expect("the constant is hex"))
            .collect()
    })
}

/// A statement read from a payload reads back equal from its own serialisation.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(parsed: &T) {
    let value = serde_json::to_value(parsed).expect("a parsed statement serialises");
    let again: T = serde_json::from_value(value).expect("a serialised statement parses");
    assert_eq!(&again, parsed, "a statement changed through its own serialisation");
}

/// The envelope with one character of its signature changed: never a valid signature.
fn forged(envelope: &SignedEnvelope) -> SignedEnvelope {
    let mut forged = envelope.clone();
    let first = if forged.signature.starts_with('A') { "B" } else { "A" };
    forged.signature.replace_range(..forged.signature.chars().next().map_or(0, char::len_utf8), first);
    forged
}

/// The envelope with its payload wrapped: never the statement that was signed.
fn changed(envelope: &SignedEnvelope) -> SignedEnvelope {
    let mut changed = envelope.clone();
    changed.payload = serde_json::json!({ "changed": changed.payload });
    changed
}

fn read<T: DeserializeOwned>(envelope: &SignedEnvelope, kind: &'static str, version: u32) -> Option<T> {
    statement::read_unverified(envelope, kind, u64::from(version)).ok()
}

fuzz_target!(|data: &[u8]| {
    // intake refuses a body that is not UTF-8 before parsing it.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(envelope) = SignedEnvelope::from_json_str(text) else { return };
    if let Ok(hash) = statement_sha256(&envelope) {
        assert!(is_sha256_hex(&hash), "a statement hash that is not a content address");
    }
    let verified = envelope.verify(public_key()).is_ok();
    if verified {
        assert!(changed(&envelope).verify(public_key()).is_err(), "a changed payload still verified");
        assert!(forged(&envelope).verify(public_key()).is_err(), "a changed signature still verified");
    }

    // POST /v1/enrolments: signed by the very key it presents.
    if let Ok((request, key)) = EnrolmentRequest::open(&envelope) {
        round_trips(&request);
        assert_eq!(key.len(), 65, "an enrolled key that is not an uncompressed P-256 point");
        assert!(envelope.verify(&key).is_ok(), "an enrolment accepted without proof of possession");
        assert!(EnrolmentRequest::open(&forged(&envelope)).is_err(), "a forged enrolment was accepted");
    }
    // POST /v1/auth/token: read before the key is known (the payload names the device).
    if let Some(request) = read::<TokenRequest>(&envelope, TOKEN_REQUEST_TYPE, TOKEN_REQUEST_VERSION) {
        round_trips(&request);
    }
    // POST /v1/evidence: what `open_signed` parses once the signature holds.
    if let Ok(parsed) = serde_json::from_value::<EvidenceManifest>(envelope.payload.clone()) {
        round_trips(&parsed);
        let format_ok = parsed.check_format().is_ok();
        let opened = manifest::open_signed(&envelope, public_key());
        if let Ok(opened) = &opened {
            assert_eq!(opened, &parsed);
            assert!(
                manifest::open_signed(&forged(&envelope), public_key()).is_err(),
                "a forged manifest opened"
            );
        }
        assert!(
            opened.is_ok() || !(verified && format_ok && parsed.device_key_id == envelope.key_id),
            "a verified, well-formed manifest was refused"
        );
    }
    // POST /v1/records: a freeze statement.
    if let Some(freeze) = read::<FreezeStatement>(&envelope, FREEZE_TYPE, STATEMENT_VERSION) {
        round_trips(&freeze);
    }
    // POST /v1/trail-heads.
    if let Some(head) = read::<TrailHeadStatement>(&envelope, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION) {
        round_trips(&head);
        if let Some((stream, seq)) = parse_trail_head_id(&head.trail_id) {
            assert!(!stream.is_empty() && seq >= 1);
        }
    }
});
