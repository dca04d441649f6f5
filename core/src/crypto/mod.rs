//! Keys, encryption and signatures, behind small types so a 国密 (SM2/SM3/SM4) suite can slot in.
//!
//! - [`keys`]: the random data key, held only wrapped by a platform [`KeyVault`], and the subkeys
//!   derived from it per purpose.
//! - [`Keyring`]: the per-purpose keys derived from the data key (column, lookup, vault stream).
//! - [`column`]: AES-256-GCM for single database values, and keyed hashes for lookups.
//! - [`stream`]: the segmented AEAD for files in the vault.
//! - [`padding`]: size classes (Padmé), so stored lengths do not reveal exact sizes.
//! - [`signer`]: ES256 device signatures behind [`DeviceSigner`].
//! - [`software_vault`]: key vaults for the CLI and tests (a 0600 key file, or a passphrase).

pub mod column;
mod error;
mod keyring;
pub mod keys;
pub mod padding;
pub mod signer;
mod signer_key_file;
pub mod software_vault;
pub mod stream;

pub use column::{ColumnCipher, LookupHasher};
pub use error::CryptoError;
pub use keyring::Keyring;
pub use keys::{CheckpointStore, DataKey, KeyVault, SubKey};
pub use signer::DeviceSigner;
