//! Base64url without padding (RFC 4648 §5), as JOSE uses it — strict in what it reads.
//!
//! The decoder accepts exactly one spelling per byte string: no padding, no whitespace, no `+`/`/`,
//! and the unused low bits of the last character must be zero. A signature field therefore cannot be
//! re-spelled into a different string that still verifies, so text-level deduplication and hashing
//! of envelopes stay sound. Kept local (about 60 lines) rather than adding a dependency for it.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes` as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // A chunk of m bytes carries 8m bits: m + 1 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
        }
    }
    out
}

/// Decodes strict unpadded base64url; the error says which rule the text broke.
pub fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    let chars = text.as_bytes();
    if chars.len() % 4 == 1 {
        return Err("impossible length");
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3 + 2);
    for chunk in chars.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(sextet(*c).ok_or("character outside the base64url alphabet")?) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let full = chunk.len() - 1;
        // Bits the last character carries beyond the final byte must be zero (canonical spelling).
        if full < 3 && n & (0x00ff_ffff >> (8 * full)) != 0 {
            return Err("non-zero trailing bits");
        }
        out.extend_from_slice(&bytes[..full]);
    }
    Ok(out)
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 4648 §10 test vectors, with padding removed and the URL alphabet.
    #[test]
    fn rfc4648_vectors_round_trip() {
        let vectors = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn url_alphabet_is_used_for_the_last_two_sextets() {
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(decode("-_-_").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn decoder_refuses_every_non_canonical_spelling() {
        for bad in ["Zg==", "Zm9v\n", "Z", "Zm9vY", "+/+/", "Zh", "Zm9", "Zm+v", " Zg"] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        // "Zh" differs from "Zg" only in trailing bits: both would decode to "f" if allowed.
        assert_eq!(decode("Zh"), Err("non-zero trailing bits"));
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn every_accepted_text_is_the_encoding_of_what_it_decodes_to(text in "[A-Za-z0-9_-]{0,12}") {
            if let Ok(bytes) = decode(&text) {
                prop_assert_eq!(encode(&bytes), text);
            }
        }
    }
}
