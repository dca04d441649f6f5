//! The tus headers intake parses on every blob upload (`fieldseal_core::protocol::tus`, called
//! from `intake/src/service/uploads.rs`): `Upload-Metadata` at creation and `Upload-Checksum` on
//! each PATCH. The input is split at its first newline into the two header values.
//!
//! Beyond "no panic": accepted metadata has unique, printable, non-empty keys and re-encodes to a
//! header that parses to the same pairs; an accepted checksum re-encodes to one that parses to the
//! same algorithm and digest (what the client computed is what intake compares).
#![no_main]

use fieldseal_core::protocol::tus::{encode_checksum, encode_metadata, parse_checksum, parse_metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (metadata, checksum) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    // A header value reaches the parsers only as text (axum's `to_str`).
    if let Ok(header) = std::str::from_utf8(metadata)
        && let Ok(pairs) = parse_metadata(header)
    {
        for (i, (key, _)) in pairs.iter().enumerate() {
            assert!(!key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() && b != b','));
            assert!(pairs[..i].iter().all(|(k, _)| k != key), "a duplicate key was accepted");
        }
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let again = parse_metadata(&encode_metadata(&borrowed)).expect("encoded metadata parses");
        assert_eq!(again, pairs, "metadata changed through its own encoding");
    }
    if let Ok(header) = std::str::from_utf8(checksum)
        && let Some((algorithm, digest)) = parse_checksum(header)
    {
        assert_eq!(algorithm, algorithm.to_ascii_lowercase());
        // An empty digest ("sha256" and blanks) is accepted and then never matches a chunk; it has
        // no encoding of its own to compare with.
        if !digest.is_empty() && !algorithm.contains(char::is_whitespace) {
            let again =
                parse_checksum(&encode_checksum(&algorithm, &digest)).expect("an encoded checksum parses");
            assert_eq!(again, (algorithm, digest), "a checksum changed through its own encoding");
        }
    }
});
