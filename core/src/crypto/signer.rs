//! ES256 device signatures (设备签名): ECDSA P-256 with SHA-256.
//!
//! Every manifest, signature entry and trail head is signed by the device key. On a phone that key
//! lives in Android Keystore or the Secure Enclave behind the FFI's [`DeviceSigner`] foreign trait;
//! off the phone (CLI, intake tooling, tests) [`SoftwareSigner`] holds it, wrapped by a [`KeyVault`].
//!
//! Platforms disagree on the signature encoding: Keystore and `SecKeyCreateSignature` with
//! `ecdsaSignatureMessageX962SHA256` return ASN.1 DER, ring and JOSE use fixed-width `r ‖ s`.
//! [`normalize_signature`] turns either into the fixed form, parsing DER strictly so that one
//! signature has exactly one accepted encoding; everything stored or sent is the fixed form.
//! A key is named by [`key_id`], a hash of its public point, in every envelope.
//!
//! ECDSA is malleable: if `(r, s)` verifies, so does `(r, n − s)`. Hardware signers return either
//! at random, so every signature the core produces is put in low-S form ([`to_low_s`], `s ≤ n/2`,
//! as Bitcoin's BIP 62 and Ethereum do) and [`verify_es256`] refuses a high-S one: a statement has
//! exactly one valid signature encoding per signing, and nobody can make a second, different
//! looking but valid copy of a signed envelope without the key.

use ring::{
    digest,
    rand::SystemRandom,
    signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, UnparsedPublicKey,
    },
};
use zeroize::Zeroizing;

use super::{CryptoError, KeyVault, column::hex};

/// Signs with the device key: ECDSA P-256 with SHA-256 (ES256). On a phone the private key lives in
/// Android Keystore / the Secure Enclave and never leaves it; the core only asks for signatures.
pub trait DeviceSigner: Send + Sync {
    /// The public key as an uncompressed SEC1 point (65 bytes, starting 0x04).
    fn public_key(&self) -> Result<Vec<u8>, CryptoError>;
    /// An ES256 signature over `message` (the signer hashes it). Either fixed-width `r ‖ s`
    /// (64 bytes) or ASN.1 DER, which is what Keystore and the Secure Enclave return.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// Length of an uncompressed SEC1 P-256 point: 0x04 ‖ x (32) ‖ y (32).
pub const PUBLIC_KEY_LEN: usize = 65;
/// Length of a fixed-width ES256 signature, `r ‖ s`.
pub const SIGNATURE_LEN: usize = 64;
const SCALAR_LEN: usize = 32;

fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
    if public_key.len() != PUBLIC_KEY_LEN || public_key[0] != 0x04 {
        return Err(CryptoError::malformed(
            "device public key",
            format!("{} bytes; expected a 65-byte uncompressed P-256 point", public_key.len()),
        ));
    }
    Ok(())
}

/// The key's identifier in envelopes: lowercase hex of the first 16 bytes of SHA-256 over the
/// 65-byte uncompressed point (32 hex characters).
pub fn key_id(public_key: &[u8]) -> Result<String, CryptoError> {
    check_public_key(public_key)?;
    let digest = digest::digest(&digest::SHA256, public_key);
    Ok(hex(&digest.as_ref()[..16]))
}

/// Verifies a fixed-width ES256 signature. A bad signature, or a point not on the curve, is an
/// `Integrity` failure; a public key of the wrong shape is `Malformed`, and so is a signature that
/// verifies but is not in low-S form (the other of its two encodings, which the core never makes).
pub fn verify_es256(
    public_key: &[u8],
    message: &[u8],
    sig_fixed: &[u8; SIGNATURE_LEN],
) -> Result<(), CryptoError> {
    check_public_key(public_key)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(message, sig_fixed)
        .map_err(|_| CryptoError::integrity("device signature"))?;
    // Checked after the signature itself, so a forged or changed statement is still reported as
    // such, and only a genuine signature in the wrong one of its two forms is refused as malformed.
    if !is_low_s(sig_fixed) {
        return Err(CryptoError::malformed(
            "ES256 signature",
            "s is in the upper half of the group order (high-S); signatures here are low-S",
        ));
    }
    Ok(())
}

/// The order n of the P-256 group, big-endian.
const P256_ORDER: [u8; SCALAR_LEN] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// ⌊n / 2⌋, big-endian: the largest low-S value.
const P256_HALF_ORDER: [u8; SCALAR_LEN] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde,
    0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether `s ≤ n/2` (big-endian byte arrays of equal length compare as numbers).
pub fn is_low_s(sig_fixed: &[u8; SIGNATURE_LEN]) -> bool {
    sig_fixed[SCALAR_LEN..] <= P256_HALF_ORDER[..]
}

/// The low-S form of a fixed-width signature: `(r, n − s)` when `s > n/2`, else unchanged. Both
/// forms verify for the same message and key; the core stores and sends only this one.
pub fn to_low_s(sig_fixed: [u8; SIGNATURE_LEN]) -> [u8; SIGNATURE_LEN] {
    if is_low_s(&sig_fixed) {
        return sig_fixed;
    }
    let mut out = sig_fixed;
    // n − s, byte by byte from the least significant; s < n, so no borrow is left at the end.
    let mut borrow = 0i16;
    for i in (0..SCALAR_LEN).rev() {
        let mut d = i16::from(P256_ORDER[i]) - i16::from(sig_fixed[SCALAR_LEN + i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[SCALAR_LEN + i] = d as u8;
    }
    out
}

fn bad_signature(reason: &str) -> CryptoError {
    CryptoError::malformed("ES256 signature", reason)
}

/// Accepts a fixed-width `r ‖ s` signature (exactly 64 bytes) or a DER `ECDSA-Sig-Value`
/// (`SEQUENCE { INTEGER r, INTEGER s }`, 8–72 bytes) and returns the fixed form.
///
/// DER is parsed strictly: short-form lengths only, minimal positive integers of at most 32
/// significant bytes, no zero, nothing after the sequence. A 64-byte input is always taken as
/// fixed-width; a DER signature is exactly 64 bytes only when r and s are both about 2^-24 short of
/// full size (odds near 2^-48), and such a misreading fails verification rather than passing.
pub fn normalize_signature(sig: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
    let mut out = [0u8; SIGNATURE_LEN];
    if sig.len() == SIGNATURE_LEN {
        out.copy_from_slice(sig);
        return Ok(out);
    }
    let body = match sig {
        [0x30, len, body @ ..] if *len < 0x80 => match (*len as usize).cmp(&body.len()) {
            std::cmp::Ordering::Equal => body,
            std::cmp::Ordering::Less => return Err(bad_signature("bytes after the DER sequence")),
            std::cmp::Ordering::Greater => return Err(bad_signature("DER sequence is cut short")),
        },
        [0x30, ..] => return Err(bad_signature("DER length is not in short form")),
        _ => return Err(bad_signature("neither 64-byte r||s nor a DER sequence")),
    };
    let (r, rest) = der_scalar(body)?;
    let (s, rest) = der_scalar(rest)?;
    if !rest.is_empty() {
        return Err(bad_signature("extra data inside the DER sequence"));
    }
    out[..SCALAR_LEN].copy_from_slice(&r);
    out[SCALAR_LEN..].copy_from_slice(&s);
    Ok(out)
}

/// Reads one DER INTEGER that must be a positive scalar of at most 32 bytes, left-padded.
fn der_scalar(input: &[u8]) -> Result<([u8; SCALAR_LEN], &[u8]), CryptoError> {
    let [0x02, len, rest @ ..] = input else {
        return Err(bad_signature("expected a DER INTEGER"));
    };
    let len = *len as usize;
    if len == 0 || len >= 0x80 || len > rest.len() {
        return Err(bad_signature("DER INTEGER length is invalid"));
    }
    let (value, rest) = rest.split_at(len);
    if value[0] & 0x80 != 0 {
        return Err(bad_signature("negative DER INTEGER"));
    }
    // One leading zero is allowed only to keep a high bit from reading as a sign.
    let value = match value {
        [0x00] => return Err(bad_signature("zero DER INTEGER")),
        [0x00, next, ..] if next & 0x80 == 0 => return Err(bad_signature("DER INTEGER is not minimal")),
        [0x00, tail @ ..] => tail,
        _ => value,
    };
    if value.len() > SCALAR_LEN {
        return Err(bad_signature("DER INTEGER longer than 32 bytes"));
    }
    let mut scalar = [0u8; SCALAR_LEN];
    scalar[SCALAR_LEN - value.len()..].copy_from_slice(value);
    Ok((scalar, rest))
}

/// Encodes a fixed-width signature as the DER `ECDSA-Sig-Value` platforms produce (the inverse of
/// [`normalize_signature`] for every valid signature).
pub fn signature_to_der(sig_fixed: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, scalar: &[u8]) {
        let first = scalar.iter().position(|&b| b != 0).unwrap_or(scalar.len() - 1);
        let value = &scalar[first..];
        let pad = value[0] & 0x80 != 0;
        out.push(0x02);
        out.push((value.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0x00);
        }
        out.extend_from_slice(value);
    }
    let mut body = Vec::with_capacity(70);
    integer(&mut body, &sig_fixed[..SCALAR_LEN]);
    integer(&mut body, &sig_fixed[SCALAR_LEN..]);
    // At most 2 × (2 + 33) = 70 bytes, so the short length form always fits.
    let mut out = Vec::with_capacity(body.len() + 2);
    out.push(0x30);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

/// A device signer whose P-256 key is held in software, wrapped by a [`KeyVault`] at rest.
/// For the CLI, intake tooling and tests; phones use the hardware key through [`DeviceSigner`].
pub struct SoftwareSigner {
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
    key_id: String,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("key_id", &self.key_id)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl SoftwareSigner {
    /// Generates a new key. Returns the signer and its PKCS#8, wrapped by `vault`, for storing.
    pub fn generate(vault: &dyn KeyVault) -> Result<(Self, Vec<u8>), CryptoError> {
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| CryptoError::Random)?;
        // ring's document is not zeroised on drop; our copy is, and lives only until wrapped.
        let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
        let wrapped = vault.wrap_key(&pkcs8)?;
        Ok((Self::from_pkcs8(&pkcs8)?, wrapped))
    }

    /// Recovers a signer from its vault-wrapped PKCS#8.
    pub fn from_wrapped(vault: &dyn KeyVault, wrapped: &[u8]) -> Result<Self, CryptoError> {
        let pkcs8 = vault.unwrap_key(wrapped)?;
        Self::from_pkcs8(&pkcs8)
    }

    /// A fresh key held only in memory, never stored: for simulated terminals and benchmarks that
    /// need many device identities. A real device's key comes from [`SoftwareSigner::load_or_create`]
    /// or the platform's hardware.
    pub fn ephemeral() -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| CryptoError::Random)?;
        let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
        Self::from_pkcs8(&pkcs8)
    }

    /// Test-only (compiled only for tests and the `test-support` feature, never into a shipped
    /// library): builds a signer from an unwrapped PKCS#8 (pinned vectors, fixtures). Real keys
    /// always come from [`SoftwareSigner::generate`] or a vault-wrapped file.
    #[cfg(any(test, feature = "test-support"))]
    pub fn from_pkcs8_for_tests(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        Self::from_pkcs8(pkcs8)
    }

    /// Test-only (tests and `test-support` only): the fixed key of `core/tests/vectors/signer_v1.json`, for reproducible
    /// fixtures across crates. Its private key is published in this repository: never trust it.
    #[cfg(any(test, feature = "test-support"))]
    pub fn fixed_for_tests() -> Self {
        // The constant is a valid PKCS#8 P-256 key, checked by `signer_v1_matches_its_pinned_vectors`.
        Self::from_pkcs8(&FIXED_TEST_PKCS8).expect("the pinned test key parses")
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| CryptoError::malformed("device signing key", e.to_string()))?;
        let key_id = key_id(key_pair.public_key().as_ref())?;
        Ok(Self { key_pair, rng, key_id })
    }

    /// See [`key_id`].
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl DeviceSigner for SoftwareSigner {
    fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.key_pair.public_key().as_ref().to_vec())
    }

    /// Always the fixed-width form, low-S.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = self
            .key_pair
            .sign(&self.rng, message)
            .map_err(|_| CryptoError::Signer("software ECDSA signing failed".into()))?;
        let fixed: [u8; SIGNATURE_LEN] = sig.as_ref().try_into().map_err(|_| {
            CryptoError::Signer("software ECDSA returned a signature of the wrong size".into())
        })?;
        Ok(to_low_s(fixed).to_vec())
    }
}

/// PKCS#8 of the published test key (see [`SoftwareSigner::fixed_for_tests`]).
#[cfg(any(test, feature = "test-support"))]
const FIXED_TEST_PKCS8: [u8; 138] = [
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01,
    0x04, 0x20, 0x7f, 0xf6, 0xde, 0x43, 0xd6, 0xca, 0xcb, 0x7f, 0xcc, 0xc6, 0xae, 0x4b, 0x38, 0x24, 0x65,
    0x87, 0x45, 0x26, 0x21, 0xc7, 0xa3, 0xaa, 0x02, 0xf8, 0x73, 0xe2, 0xfb, 0x86, 0x76, 0x00, 0x9d, 0x51,
    0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, 0x7e, 0x25, 0xd8, 0x2c, 0x68, 0x08, 0x06, 0xc7, 0x8e, 0x8e, 0x10,
    0xb7, 0x5e, 0x0a, 0x65, 0xab, 0xa8, 0xca, 0xce, 0x72, 0x90, 0x5b, 0xd6, 0x2d, 0x02, 0xb0, 0x31, 0x3f,
    0x7f, 0xa0, 0x4a, 0x71, 0x71, 0xd2, 0xf7, 0x6a, 0xab, 0x48, 0xe0, 0x1f, 0xb3, 0x03, 0x09, 0x44, 0x0a,
    0x5b, 0x4f, 0xaa, 0x02, 0x4b, 0x45, 0xc6, 0x54, 0x65, 0xb5, 0x47, 0x60, 0x88, 0xe1, 0x84, 0x84, 0xb5,
    0xb9, 0x8e,
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    use serde::Deserialize;

    use super::*;
    use crate::crypto::software_vault::PassphraseVault;

    fn vault() -> PassphraseVault {
        PassphraseVault::with_iterations("测试口令", 1)
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// A DER signature as Android Keystore would return it, from the same key.
    fn der_sign(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng).unwrap();
        kp.sign(&rng, message).unwrap().as_ref().to_vec()
    }

    fn fixed(sig: &[u8]) -> [u8; 64] {
        sig.try_into().unwrap()
    }

    #[test]
    fn signatures_verify_against_the_public_key() {
        let (signer, _) = SoftwareSigner::generate(&vault()).unwrap();
        let public = signer.public_key().unwrap();
        let sig = signer.sign("以上笔录属实".as_bytes()).unwrap();
        assert_eq!(sig.len(), SIGNATURE_LEN);
        verify_es256(&public, "以上笔录属实".as_bytes(), &fixed(&sig)).unwrap();
    }

    #[test]
    fn wrong_message_or_key_is_rejected() {
        let (a, _) = SoftwareSigner::generate(&vault()).unwrap();
        let (b, _) = SoftwareSigner::generate(&vault()).unwrap();
        let sig = fixed(&a.sign(b"record hash").unwrap());
        assert!(matches!(
            verify_es256(&a.public_key().unwrap(), b"record hasH", &sig),
            Err(CryptoError::Integrity { .. })
        ));
        assert!(matches!(
            verify_es256(&b.public_key().unwrap(), b"record hash", &sig),
            Err(CryptoError::Integrity { .. })
        ));
        let mut flipped = sig;
        flipped[40] ^= 1;
        assert!(verify_es256(&a.public_key().unwrap(), b"record hash", &flipped).is_err());
    }

    #[test]
    fn der_signatures_from_platform_keys_are_accepted() {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let signer = SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap();
        for _ in 0..32 {
            let der = der_sign(pkcs8.as_ref(), b"manifest");
            assert_ne!(der.len(), SIGNATURE_LEN, "test relies on DER not being 64 bytes here");
            let sig = normalize_signature(&der).unwrap();
            assert_eq!(signature_to_der(&sig), der);
            verify_es256(&signer.public_key().unwrap(), b"manifest", &to_low_s(sig)).unwrap();
        }
    }

    #[test]
    fn key_id_is_stable_and_requires_an_uncompressed_point() {
        let (signer, wrapped) = SoftwareSigner::generate(&vault()).unwrap();
        let public = signer.public_key().unwrap();
        let id = key_id(&public).unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(signer.key_id(), id);
        assert_eq!(SoftwareSigner::from_wrapped(&vault(), &wrapped).unwrap().key_id(), id);
        assert_eq!(
            id,
            hex(&digest::digest(&digest::SHA256, &public).as_ref()[..16]),
            "key id is the hash of the 65-byte point"
        );
        let mut compressed = public[..33].to_vec();
        compressed[0] = 0x02;
        assert!(matches!(key_id(&compressed), Err(CryptoError::Malformed { .. })));
        let mut wrong_tag = public.clone();
        wrong_tag[0] = 0x05;
        assert!(matches!(key_id(&wrong_tag), Err(CryptoError::Malformed { .. })));
        assert!(matches!(verify_es256(&compressed, b"m", &[1; 64]), Err(CryptoError::Malformed { .. })));
    }

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let signer = SoftwareSigner::fixed_for_tests();
        let shown = format!("{signer:?}");
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains(signer.key_id()));
        // The private scalar sits at bytes 36..68 of ring's PKCS#8.
        assert!(!shown.contains(&hex(&FIXED_TEST_PKCS8[36..68])));
        assert!(!shown.contains(&hex(&FIXED_TEST_PKCS8[36..44])));
    }

    #[test]
    fn non_canonical_der_is_rejected() {
        let r = [0x11u8; 32];
        let mut s = [0x22u8; 32];
        s[0] = 0x92; // needs the 0x00 pad
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s);
        let der = signature_to_der(&sig);
        assert_eq!(normalize_signature(&der).unwrap(), sig);

        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("trailing byte", [der.clone(), vec![0]].concat()),
            ("cut short", der[..der.len() - 1].to_vec()),
            ("long-form length", [vec![0x30, 0x81, der[1]], der[2..].to_vec()].concat()),
            ("wrong outer tag", [vec![0x31], der[1..].to_vec()].concat()),
            ("wrong integer tag", [vec![0x30, der[1], 0x03], der[3..].to_vec()].concat()),
            ("extra leading zero", [vec![0x30, der[1] + 1, 0x02, 33, 0x00], der[4..].to_vec()].concat()),
            (
                "missing sign pad",
                [vec![0x30, der[1] - 1], der[2..36].to_vec(), vec![0x02, 32], der[39..].to_vec()].concat(),
            ),
            (
                "33 significant bytes",
                [vec![0x30, 0x46, 0x02, 0x21, 0x01], vec![0x11; 32], der[36..].to_vec()].concat(),
            ),
            ("zero r", vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01]),
            ("empty integer", vec![0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01]),
            (
                "only one integer",
                der[..36].iter().copied().enumerate().map(|(i, b)| if i == 1 { 34 } else { b }).collect(),
            ),
            ("empty", vec![]),
            ("63 bytes", vec![0x30; 63]),
        ];
        for (name, bad) in cases {
            assert!(
                matches!(normalize_signature(&bad), Err(CryptoError::Malformed { .. })),
                "{name} was accepted: {}",
                hex(&bad)
            );
        }
    }

    #[derive(Deserialize)]
    struct SignerVectors {
        pkcs8: String,
        public_key: String,
        key_id: String,
        vectors: Vec<SignedMessage>,
    }

    #[derive(Deserialize)]
    struct SignedMessage {
        message: String,
        signature_fixed: String,
        signature_der: String,
    }

    #[test]
    fn signer_v1_matches_its_pinned_vectors() {
        let v: SignerVectors =
            serde_json::from_str(include_str!("../../tests/vectors/signer_v1.json")).unwrap();
        assert_eq!(hex(&FIXED_TEST_PKCS8), v.pkcs8);
        let signer = SoftwareSigner::fixed_for_tests();
        let public = signer.public_key().unwrap();
        assert_eq!(hex(&public), v.public_key);
        assert_eq!(key_id(&public).unwrap(), v.key_id);
        assert!(!v.vectors.is_empty());
        for m in v.vectors {
            let message = unhex(&m.message);
            let fixed_sig = normalize_signature(&unhex(&m.signature_fixed)).unwrap();
            verify_es256(&public, &message, &fixed_sig).unwrap();
            let der = unhex(&m.signature_der);
            let from_der = normalize_signature(&der).unwrap();
            assert_eq!(signature_to_der(&from_der), der);
            // Two of v1's DER signatures are high-S, as platform signers return half the time:
            // their low-S twin verifies (signer_v2.json pins it).
            verify_es256(&public, &message, &to_low_s(from_der)).unwrap();
        }
    }

    #[derive(Deserialize)]
    struct LowSVectors {
        public_key: String,
        vectors: Vec<LowSMessage>,
    }

    #[derive(Deserialize)]
    struct LowSMessage {
        message: String,
        signature_der: String,
        high_s: bool,
        signature_fixed_as_signed: String,
        signature_fixed_low_s: String,
    }

    #[test]
    fn signer_v2_high_s_is_refused_and_its_low_s_twin_verifies() {
        // Finding 6 of issue #10: `(r, n − s)` verified as well as `(r, s)`, so anyone could make
        // a second, different, valid copy of a signed statement.
        let v: LowSVectors =
            serde_json::from_str(include_str!("../../tests/vectors/signer_v2.json")).unwrap();
        let public = unhex(&v.public_key);
        assert!(v.vectors.iter().any(|m| m.high_s) && v.vectors.iter().any(|m| !m.high_s));
        for m in v.vectors {
            let message = unhex(&m.message);
            let as_signed = normalize_signature(&unhex(&m.signature_der)).unwrap();
            assert_eq!(hex(&as_signed), m.signature_fixed_as_signed);
            assert_eq!(is_low_s(&as_signed), !m.high_s);
            let low: [u8; 64] = unhex(&m.signature_fixed_low_s).try_into().unwrap();
            assert_eq!(to_low_s(as_signed), low, "to_low_s differs from the pinned n − s");
            verify_es256(&public, &message, &low).unwrap();
            if m.high_s {
                assert!(matches!(
                    verify_es256(&public, &message, &as_signed),
                    Err(CryptoError::Malformed { .. })
                ));
            }
        }
    }

    #[test]
    fn the_software_signer_signs_low_s_and_the_high_s_twin_of_its_signature_is_refused() {
        let (signer, _) = SoftwareSigner::generate(&vault()).unwrap();
        let public = signer.public_key().unwrap();
        for i in 0..64u8 {
            let sig = fixed(&signer.sign(&[i]).unwrap());
            assert!(is_low_s(&sig), "signature {i} is high-S");
            // n − s of a low s is its high twin; to_low_s of that is the original again.
            let mut high = sig;
            let mut borrow = 0i16;
            for k in (0..32).rev() {
                let mut d = i16::from(P256_ORDER[k]) - i16::from(sig[32 + k]) - borrow;
                borrow = i16::from(d < 0);
                d += 256 * borrow;
                high[32 + k] = d as u8;
            }
            assert!(!is_low_s(&high));
            assert_eq!(to_low_s(high), sig);
            assert!(matches!(verify_es256(&public, &[i], &high), Err(CryptoError::Malformed { .. })));
            // A wrong message is still a plain integrity failure, whichever form.
            assert!(matches!(verify_es256(&public, b"other", &high), Err(CryptoError::Integrity { .. })));
        }
    }

    proptest! {
        #[test]
        fn der_and_fixed_round_trip(r in any::<[u8; 32]>(), s in any::<[u8; 32]>(), r_zeros in 0usize..32, s_zeros in 0usize..32) {
            // Leading zero bytes exercise the short-integer encodings that real signatures hit rarely.
            let mut sig = [0u8; 64];
            sig[r_zeros..32].copy_from_slice(&r[r_zeros..]);
            sig[32 + s_zeros..].copy_from_slice(&s[s_zeros..]);
            prop_assume!(sig[..32].iter().any(|&b| b != 0) && sig[32..].iter().any(|&b| b != 0));
            let der = signature_to_der(&sig);
            prop_assume!(der.len() != SIGNATURE_LEN);
            prop_assert_eq!(normalize_signature(&der).unwrap(), sig);
        }

        #[test]
        fn only_canonical_der_is_accepted(message in any::<[u8; 16]>(), edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
            let der = der_sign(&FIXED_TEST_PKCS8, &message);
            let mut mutated = der.clone();
            for (at, value) in edits {
                let i = at.index(mutated.len());
                mutated[i] = value;
            }
            // Whatever is accepted must re-encode to exactly the bytes given: one encoding per signature.
            match normalize_signature(&mutated) {
                Ok(sig) if mutated.len() != SIGNATURE_LEN => prop_assert_eq!(signature_to_der(&sig), mutated),
                _ => {}
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = normalize_signature(&bytes);
        }
    }

    /// Prints a fresh vector file; run by hand only when adding a new version.
    #[test]
    #[ignore]
    fn print_signer_vectors() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let signer = SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap();
        println!("PKCS8 {:?}", pkcs8.as_ref());
        println!("pkcs8 {}", hex(pkcs8.as_ref()));
        println!("public_key {}", hex(&signer.public_key().unwrap()));
        println!("key_id {}", signer.key_id());
        for message in ["", "fieldseal signer v1", "以上笔录属实"] {
            println!("message {}", hex(message.as_bytes()));
            println!("fixed {}", hex(&signer.sign(message.as_bytes()).unwrap()));
            println!("der {}", hex(&der_sign(pkcs8.as_ref(), message.as_bytes())));
        }
    }
}
