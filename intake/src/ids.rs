//! Identifiers and secrets intake generates: random hex ids, part keys, enrolment codes, tokens.

use ring::{
    digest,
    rand::{SecureRandom, SystemRandom},
};

pub use fieldseal_core::crypto::column::hex;

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    hex(&random_bytes(bytes))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    // The OS random source failing is not something a request can recover from.
    SystemRandom::new().fill(&mut out).expect("the operating system's random source works");
    out
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// An upload or device id: 32 lowercase hex characters. Anything else in a URL names nothing.
pub fn is_hex_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A part key as [`part_key`] makes them: `<upload id>.<offset>.<16 hex>`.
pub fn is_part_key(text: &str) -> bool {
    let mut pieces = text.split('.');
    let (Some(id), Some(offset), Some(nonce), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return false;
    };
    is_hex_id(id)
        && !offset.is_empty()
        && offset.len() <= 20
        && offset.bytes().all(|b| b.is_ascii_digit())
        && nonce.len() == 16
        && nonce.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A fresh key for a part: the random suffix keeps two racing PATCHes at one offset from writing
/// the same object; only the one that moves the offset is recorded.
pub fn part_key(upload_id: &str, offset: u64) -> String {
    format!("{upload_id}.{offset}.{}", random_hex(8))
}

/// Crockford base32 without I, L, O, U: easy to read aloud and type.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time enrolment code, `XXXXX-XXXXX` (50 random bits).
pub fn enrolment_code() -> String {
    let raw = random_bytes(10);
    let chars: String = raw.iter().map(|b| char::from(CODE_ALPHABET[(b & 31) as usize])).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The stored form of a code: normalised (upper case, no separators) then hashed.
pub fn code_hash(code: &str) -> String {
    let normal: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    sha256_hex(format!("fieldseal-enrolment-code\n{normal}").as_bytes())
}

/// A bearer token (256 random bits, base64url) and the hash it is stored under.
pub fn token() -> (String, String) {
    let token = fieldseal_core::protocol::base64url::encode(&random_bytes(32));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    sha256_hex(format!("fieldseal-token\n{token}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_keys_are_recognised_and_nothing_path_like_is() {
        let id = random_hex(16);
        assert!(is_hex_id(&id));
        assert!(is_part_key(&part_key(&id, 1234)));
        for bad in [
            "../x",
            &format!("{id}/../1.aaaaaaaaaaaaaaaa"),
            &format!("{id}.1"),
            &format!("../{id}.1.aaaaaaaaaaaaaaaa"),
        ] {
            assert!(!is_part_key(bad), "{bad}");
        }
        assert!(!is_hex_id("..%2F..%2Fetc%2Fpasswd"));
    }

    #[test]
    fn codes_hash_the_same_however_they_are_typed() {
        let code = enrolment_code();
        assert_eq!(code.len(), 11);
        assert_eq!(code_hash(&code), code_hash(&code.to_lowercase().replace('-', " ")));
        assert_ne!(code_hash(&code), code_hash(&enrolment_code()));
    }
}
