//! Signed envelopes arrive from other devices and from intake: parsing and verifying any text must
//! end in a typed error or a genuine verification. One that verifies (the seeds are real envelopes
//! of the published test key) must still verify after its canonical re-serialisation, and its
//! payload must not be changeable without failing.
#![no_main]

use std::sync::OnceLock;

use fieldseal_core::protocol::SignedEnvelope;
use libfuzzer_sys::fuzz_target;

/// `test_key.public_key_hex` of `core/tests/vectors/protocol_envelope_v1.json`, which signed the
/// seed envelopes in `fuzz/seeds/envelope`.
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(envelope) = SignedEnvelope::from_json_str(text) else { return };
    let _ = envelope.payload_type();
    let _ = envelope.payload_version();
    if envelope.verify(public_key()).is_err() {
        return;
    }
    let stored = envelope.to_json_string().expect("a verified envelope serialises");
    let reread = SignedEnvelope::from_json_str(&stored).expect("a stored envelope parses");
    assert!(reread.verify(public_key()).is_ok(), "re-serialising broke a valid envelope");
    let mut changed = reread;
    changed.payload = serde_json::json!({ "changed": changed.payload });
    assert!(changed.verify(public_key()).is_err(), "a changed payload still verified");
});
