//! ES256 device signatures (being written).

use super::CryptoError;

/// Signs with the device key: ECDSA P-256 with SHA-256 (ES256). On a phone the private key lives in
/// Android Keystore / the Secure Enclave and never leaves it; the core only asks for signatures.
pub trait DeviceSigner: Send + Sync {
    /// The public key as an uncompressed SEC1 point (65 bytes, starting 0x04).
    fn public_key(&self) -> Result<Vec<u8>, CryptoError>;
    /// An ES256 signature over `message` (the signer hashes it). Either fixed-width `r ‖ s`
    /// (64 bytes) or ASN.1 DER, which is what Keystore and the Secure Enclave return.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}
