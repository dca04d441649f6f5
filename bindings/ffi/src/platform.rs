//! Platform services the app supplies at open: the key vault and the device signer.
//!
//! On Android these are backed by Android Keystore (an AES-GCM wrapping key and an EC P-256 signing
//! key that never leave it); on iOS by the Keychain and the Secure Enclave. The CLI and tests use the
//! software implementations exported here.

use std::{path::PathBuf, sync::Arc};

use fieldseal_core::crypto::{
    self, CryptoError,
    signer::SoftwareSigner,
    software_vault::{KeyFileVault, PassphraseVault},
};
use zeroize::Zeroizing;

use fieldseal_core::{FieldsealError, trail::anchor::TrailCheckpoint};

use crate::guard::guard;

/// What a platform adapter (Keystore, Keychain, signature pad) reports when it fails. The one error
/// type defined here: it exists only for the foreign traits.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PlatformError {
    /// The key or device is not usable right now (locked, user not authenticated, key invalidated).
    #[error("platform key unavailable: {reason}")]
    Unavailable { reason: String },
    /// The platform operation failed for another reason.
    #[error("platform operation failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PlatformError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PlatformError::Failed { reason: e.reason }
    }
}

/// Wraps and unwraps the installation's data key with a key the platform never lets out.
#[uniffi::export(with_foreign)]
pub trait KeyVault: Send + Sync {
    fn wrap_key(&self, key: Vec<u8>) -> Result<Vec<u8>, PlatformError>;
    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, PlatformError>;
}

/// 检查点存储 — keeps the trail checkpoint outside the database: a Keystore-protected entry on
/// Android, a Keychain item (not backed up) on iOS. See `fieldseal_core::trail::anchor`. A
/// platform that has nowhere to keep one opens with `Fieldseal.open` and is reported as
/// "anchor weaker".
#[uniffi::export(with_foreign)]
pub trait TrailCheckpointStore: Send + Sync {
    /// The stored checkpoint, `None` before the first.
    fn load_trail_checkpoint(&self) -> Result<Option<TrailCheckpoint>, PlatformError>;
    /// Replaces it. Must refuse (`Failed`) a counter lower than the stored one.
    fn store_trail_checkpoint(&self, checkpoint: TrailCheckpoint) -> Result<(), PlatformError>;
}

/// A platform vault together with the platform's checkpoint storage.
pub(crate) struct CheckpointedKeyVault {
    pub vault: PlatformKeyVault,
    pub checkpoint: Arc<dyn TrailCheckpointStore>,
}

impl crypto::KeyVault for CheckpointedKeyVault {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.vault.wrap_key(key)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.vault.unwrap_key(wrapped)
    }

    fn trail_checkpoint(&self) -> Option<Arc<dyn crypto::CheckpointStore>> {
        Some(Arc::new(PlatformCheckpoint(self.checkpoint.clone())))
    }
}

struct PlatformCheckpoint(Arc<dyn TrailCheckpointStore>);

impl crypto::CheckpointStore for PlatformCheckpoint {
    fn load(&self) -> Result<Option<TrailCheckpoint>, CryptoError> {
        self.0.load_trail_checkpoint().map_err(platform_failure)
    }

    fn store(&self, checkpoint: &TrailCheckpoint) -> Result<(), CryptoError> {
        self.0.store_trail_checkpoint(checkpoint.clone()).map_err(platform_failure)
    }
}

/// Signs with the device's hardware-held ECDSA P-256 key (ES256).
#[uniffi::export(with_foreign)]
pub trait DeviceSigner: Send + Sync {
    /// The public key as a 65-byte uncompressed SEC1 point (0x04 ‖ x ‖ y).
    fn public_key(&self) -> Result<Vec<u8>, PlatformError>;
    /// SHA256withECDSA over `message`: DER (as Keystore returns it) or fixed 64-byte r ‖ s.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, PlatformError>;
}

/// Lets the core use a platform vault.
pub(crate) struct PlatformKeyVault(pub Arc<dyn KeyVault>);

impl crypto::KeyVault for PlatformKeyVault {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.wrap_key(key.to_vec()).map_err(platform_failure)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.0.unwrap_key(wrapped.to_vec()).map(Zeroizing::new).map_err(platform_failure)
    }
}

/// Lets the core use a platform signer.
pub(crate) struct PlatformSigner(pub Arc<dyn DeviceSigner>);

impl crypto::DeviceSigner for PlatformSigner {
    fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
        self.0.public_key().map_err(|e| CryptoError::Signer(e.to_string()))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.sign(message.to_vec()).map_err(|e| CryptoError::Signer(e.to_string()))
    }
}

fn platform_failure(e: PlatformError) -> CryptoError {
    CryptoError::KeyVault(e.to_string())
}

/// The software vault, for core-side implementations exported back to the app.
struct SoftwareVault<V>(V);

impl<V: crypto::KeyVault> KeyVault for SoftwareVault<V> {
    fn wrap_key(&self, key: Vec<u8>) -> Result<Vec<u8>, PlatformError> {
        self.0.wrap_key(&key).map_err(|e| PlatformError::Failed { reason: e.to_string() })
    }

    fn unwrap_key(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, PlatformError> {
        self.0
            .unwrap_key(&wrapped)
            .map(|k| k.to_vec())
            .map_err(|e| PlatformError::Failed { reason: e.to_string() })
    }
}

struct SoftwareDeviceSigner(SoftwareSigner);

impl DeviceSigner for SoftwareDeviceSigner {
    fn public_key(&self) -> Result<Vec<u8>, PlatformError> {
        crypto::DeviceSigner::public_key(&self.0).map_err(|e| PlatformError::Failed { reason: e.to_string() })
    }

    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, PlatformError> {
        crypto::DeviceSigner::sign(&self.0, &message)
            .map_err(|e| PlatformError::Failed { reason: e.to_string() })
    }
}

/// A software key vault whose wrapping key is a 0600 file at `key_file` (created when absent).
/// For the CLI, development builds and tests; a phone uses Keystore or the Keychain instead.
#[uniffi::export]
pub fn software_key_vault(key_file: String) -> Result<Arc<dyn KeyVault>, FieldsealError> {
    guard(|| {
        let vault = KeyFileVault::open_or_create(PathBuf::from(key_file)).map_err(into_error)?;
        Ok(Arc::new(SoftwareVault(vault)) as Arc<dyn KeyVault>)
    })
}

/// A software key vault whose wrapping key is derived from a passphrase (PBKDF2, slow on purpose).
#[uniffi::export]
pub fn software_passphrase_vault(passphrase: String) -> Arc<dyn KeyVault> {
    Arc::new(SoftwareVault(PassphraseVault::new(&passphrase)))
}

/// A software ES256 signer whose private key is stored at `key_file`, wrapped by `vault`.
#[uniffi::export]
pub fn software_device_signer(
    vault: Arc<dyn KeyVault>,
    key_file: String,
) -> Result<Arc<dyn DeviceSigner>, FieldsealError> {
    guard(|| {
        let signer = SoftwareSigner::load_or_create(&PlatformKeyVault(vault), &PathBuf::from(key_file))
            .map_err(into_error)?;
        Ok(Arc::new(SoftwareDeviceSigner(signer)) as Arc<dyn DeviceSigner>)
    })
}

fn into_error(e: CryptoError) -> FieldsealError {
    fieldseal_core::Error::from(e).into()
}
