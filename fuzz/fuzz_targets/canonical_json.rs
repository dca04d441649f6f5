//! RFC 8785 canonical JSON, the byte form everything is signed in. Beyond "no panic": the
//! canonical text parses back to the same value and is its own canonical form, so signer and
//! verifier can never disagree about the bytes.
#![no_main]

use fieldseal_core::protocol::{canonicalize, parse_strict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = parse_strict(text) else { return };
    let Ok(canonical) = canonicalize(&value) else { return };
    let reparsed = parse_strict(&canonical).expect("canonical text is JSON");
    let again = canonicalize(&reparsed).expect("canonical text canonicalizes");
    assert_eq!(canonical, again, "canonicalization is not idempotent");
});
