//! Random identifiers for things created on the device.

use ring::rand::{SecureRandom, SystemRandom};

use crate::{Result, crypto::CryptoError, crypto::column::hex};

/// A fresh 128-bit random id in lowercase hex: unguessable and unique across devices without
/// coordination, and safe as a file name in the vault.
pub fn new_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(hex(&bytes))
}
