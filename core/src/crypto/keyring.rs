//! The keys an open installation works with, all derived from the one data key.

use super::{ColumnCipher, DataKey, LookupHasher, SubKey};

/// The derived keys of an open store. Holds no raw key bytes callers can reach.
#[derive(Debug)]
pub struct Keyring {
    /// Seals single database values.
    pub column: ColumnCipher,
    /// Keyed hashes for lookups on encrypted values.
    pub lookup: LookupHasher,
    /// Parent of the per-file keys of the blob vault's segmented AEAD.
    pub stream: SubKey,
}

impl Keyring {
    /// Derives every purpose key from the data key.
    pub(crate) fn from_data_key(key: &DataKey) -> Self {
        Self {
            column: ColumnCipher::new(key),
            lookup: LookupHasher::new(key),
            stream: key.derive("vault-stream"),
        }
    }
}
