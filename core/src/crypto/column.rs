//! Encrypted database values and keyed lookup hashes.
//!
//! A sealed value is `version (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`, with a random
//! nonce per value. The caller's `context` (table, column and row id) is the associated data, so a
//! value copied into another row or column fails to open instead of silently moving.
//! Lookups on encrypted columns use [`LookupHasher`]: HMAC-SHA256 under a derived key, so equal
//! plaintexts can be found without the database ever holding them.

use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hmac,
    rand::{SecureRandom, SystemRandom},
};

use super::{CryptoError, DataKey};

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Encrypts and decrypts single database values.
pub struct ColumnCipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for ColumnCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ColumnCipher([redacted])")
    }
}

impl ColumnCipher {
    pub fn new(data_key: &DataKey) -> Self {
        let sub = data_key.derive("column");
        // AES-256 accepts exactly 32 bytes, which is what `derive` always produces.
        let unbound = UnboundKey::new(&AES_256_GCM, sub.expose()).expect("32-byte AES key");
        Self { key: LessSafeKey::new(unbound), rng: SystemRandom::new() }
    }

    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut out[HEADER_LEN..],
            )
            .map_err(|_| CryptoError::malformed("encrypted value", "too long to seal"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < HEADER_LEN + AES_256_GCM.tag_len() {
            return Err(CryptoError::malformed("encrypted value", "shorter than its header"));
        }
        if sealed[0] != VERSION {
            return Err(CryptoError::malformed("encrypted value", format!("version {}", sealed[0])));
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..HEADER_LEN].try_into().expect("sliced to NONCE_LEN");
        let mut buf = sealed[HEADER_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::integrity(format!("encrypted value ({context})")))?;
        let len = plain.len();
        buf.truncate(len);
        Ok(buf)
    }

    pub fn seal_str(&self, context: &str, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(context, plaintext.as_bytes())
    }

    pub fn open_string(&self, context: &str, sealed: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(context, sealed)?)
            .map_err(|_| CryptoError::malformed(format!("encrypted value ({context})"), "not UTF-8"))
    }
}

/// Keyed hashes for looking up encrypted values by equality.
pub struct LookupHasher(hmac::Key);

impl std::fmt::Debug for LookupHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupHasher([redacted])")
    }
}

impl LookupHasher {
    pub fn new(data_key: &DataKey) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, data_key.derive("lookup").expose()))
    }

    /// A hex digest that is equal for equal (`domain`, `value`) pairs and reveals nothing else.
    pub fn hash(&self, domain: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        hex(ctx.sign().as_ref())
    }
}

/// Lowercase hex, used for hashes and ids throughout the core.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cipher() -> ColumnCipher {
        ColumnCipher::new(&DataKey::generate(&SystemRandom::new()).unwrap())
    }

    #[test]
    fn value_moved_to_another_row_does_not_open() {
        let c = cipher();
        let sealed = c.seal_str("notes.body:1", "现场负责人 张三").unwrap();
        assert_eq!(c.open_string("notes.body:1", &sealed).unwrap(), "现场负责人 张三");
        assert!(matches!(c.open("notes.body:2", &sealed), Err(CryptoError::Integrity { .. })));
    }

    #[test]
    fn value_sealed_under_another_data_key_does_not_open() {
        let sealed = cipher().seal_str("ctx", "secret").unwrap();
        assert!(matches!(cipher().open("ctx", &sealed), Err(CryptoError::Integrity { .. })));
    }

    #[test]
    fn truncated_or_unknown_version_is_malformed() {
        let c = cipher();
        let mut sealed = c.seal_str("ctx", "x").unwrap();
        assert!(matches!(c.open("ctx", &sealed[..10]), Err(CryptoError::Malformed { .. })));
        sealed[0] = 9;
        assert!(matches!(c.open("ctx", &sealed), Err(CryptoError::Malformed { .. })));
    }

    proptest! {
        #[test]
        fn flipping_any_bit_of_a_sealed_value_fails(plain in proptest::collection::vec(any::<u8>(), 0..64), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let c = cipher();
            let mut sealed = c.seal("ctx", &plain).unwrap();
            prop_assert_eq!(c.open("ctx", &sealed).unwrap(), plain);
            let i = pos.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(c.open("ctx", &sealed).is_err());
        }
    }

    #[test]
    fn lookup_hash_is_stable_per_key_and_domain() {
        let key = DataKey::generate(&SystemRandom::new()).unwrap();
        let h = LookupHasher::new(&key);
        assert_eq!(h.hash("uscc", "91110000MA01ABCD1X"), h.hash("uscc", "91110000MA01ABCD1X"));
        assert_ne!(h.hash("uscc", "a"), h.hash("name", "a"));
        assert_eq!(h.hash("uscc", "a").len(), 64);
    }
}
