//! The data key and its subkeys.
//!
//! One random 256-bit data key per installation encrypts everything at rest. It exists on disk only
//! wrapped by a [`KeyVault`] (Android Keystore, iOS Keychain/Secure Enclave, or a software vault for
//! the CLI). Purposes never share key material: each derives its own [`SubKey`] with HKDF-SHA256, so
//! a column key can never decrypt a vault file and vice versa.

use ring::{hkdf, rand::SecureRandom};
use zeroize::Zeroizing;

use super::CryptoError;
use crate::trail::anchor::TrailCheckpoint;

/// Wraps and unwraps the data key with a key the platform never lets out (Keystore, Keychain).
pub trait KeyVault: Send + Sync {
    /// Encrypts `key` so only this vault can recover it.
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Recovers a key wrapped by [`KeyVault::wrap_key`]; fails with `KeyVault` or `WrongKey`.
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;

    /// Where this vault keeps the trail checkpoint outside the database (see
    /// [`crate::trail::anchor`]), or `None` when the platform has nowhere to keep one: the
    /// installation then still works and reports its anchor as weaker.
    fn trail_checkpoint(&self) -> Option<std::sync::Arc<dyn CheckpointStore>> {
        None
    }
}

/// 检查点存储 — the platform's storage for the trail checkpoint: a Keystore- or Keychain-held
/// item, never the database. Held by the installation for as long as it is open.
pub trait CheckpointStore: Send + Sync {
    /// The stored checkpoint, `None` before the first anchor.
    fn load(&self) -> Result<Option<TrailCheckpoint>, CryptoError>;
    /// Replaces the stored checkpoint. Must refuse a counter lower than the stored one (the core
    /// never asks for one): the checkpoint only moves forward.
    fn store(&self, checkpoint: &TrailCheckpoint) -> Result<(), CryptoError>;
}

pub const KEY_LEN: usize = 32;

/// The installation's data key. Cannot be printed, serialised or copied; zeroised on drop.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

/// A key derived from the data key for one purpose (`"column"`, `"vault-stream"`, ...).
pub struct SubKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl std::fmt::Debug for SubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubKey([redacted])")
    }
}

impl DataKey {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill(bytes.as_mut()).map_err(|_| CryptoError::Random)?;
        Ok(Self(bytes))
    }

    /// Wraps this key with the vault, for storing.
    pub fn wrap(&self, vault: &dyn KeyVault) -> Result<Vec<u8>, CryptoError> {
        vault.wrap_key(self.0.as_ref())
    }

    /// Recovers a wrapped data key.
    pub fn unwrap_from(vault: &dyn KeyVault, wrapped: &[u8]) -> Result<Self, CryptoError> {
        let raw = vault.unwrap_key(wrapped)?;
        let bytes: [u8; KEY_LEN] = raw.as_slice().try_into().map_err(|_| CryptoError::WrongKey)?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// Derives the subkey for `purpose`. Distinct purposes give independent keys.
    pub fn derive(&self, purpose: &str) -> SubKey {
        SubKey(hkdf_expand(self.0.as_ref(), b"fieldseal data key v1", purpose.as_bytes()))
    }
}

impl SubKey {
    /// Derives a further key from this one, e.g. one per vault file from its random salt.
    pub fn derive(&self, salt: &[u8], info: &[u8]) -> SubKey {
        SubKey(hkdf_expand(self.0.as_ref(), salt, info))
    }

    /// The key bytes, for handing to a cipher constructor inside the crypto module only.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Builds a subkey from bytes, for pinned test vectors only.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        SubKey(Zeroizing::new(bytes))
    }
}

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

fn hkdf_expand(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    let info = [info];
    // `expand` and `fill` fail only when the requested length exceeds 255 × hash length; 32 bytes
    // is far below that, so these cannot fail.
    prk.expand(&info, Len32)
        .expect("32-byte HKDF output is always valid")
        .fill(out.as_mut())
        .expect("32-byte HKDF output is always valid");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn purposes_derive_independent_keys() {
        let key = DataKey::generate(&SystemRandom::new()).unwrap();
        assert_ne!(key.derive("column").expose(), key.derive("vault-stream").expose());
        assert_eq!(key.derive("column").expose(), key.derive("column").expose());
    }

    #[test]
    fn debug_output_never_shows_key_bytes() {
        let key = DataKey::generate(&SystemRandom::new()).unwrap();
        assert_eq!(format!("{key:?}"), "DataKey([redacted])");
        assert_eq!(format!("{:?}", key.derive("x")), "SubKey([redacted])");
    }
}
