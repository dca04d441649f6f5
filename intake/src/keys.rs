//! Intake's own ES256 key, which signs device certificates and receipts.
//!
//! Kept as a PKCS#8 file (mode 0600) given by `--server-key` (default `DATA/server-key.p8`),
//! created on first start. Instances that share one PostgreSQL and S3 are given the same file, so
//! any of them issues receipts a device can check against the one published key.

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

use fieldseal_core::crypto::{CryptoError, DeviceSigner, signer::key_id};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};

use crate::error::{IntakeError, Result};

pub struct ServerKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    key_id: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey").field("key_id", &self.key_id).field("private_key", &"[redacted]").finish()
    }
}

impl ServerKey {
    /// Loads the key at `path`, creating it when the file does not exist. A file that does not parse
    /// is an error, never replaced: a new key would orphan every receipt issued so far.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match fs::read(path) {
            Ok(pkcs8) => return Self::from_pkcs8(&pkcs8),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(IntakeError::storage(format!("server key {}: {e}", path.display()))),
        }
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| IntakeError::internal("cannot generate the server key"))?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| IntakeError::storage(format!("server key dir: {e}")))?;
        }
        let mut options = fs::File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(document.as_ref())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| IntakeError::storage(format!("server key {}: {e}", path.display())))?;
                Self::from_pkcs8(document.as_ref())
            }
            // Another instance created it first: use that one, so there is one server key.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(e) => Err(IntakeError::storage(format!("server key {}: {e}", path.display()))),
        }
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| IntakeError::internal(format!("server key does not parse as PKCS#8 P-256: {e}")))?;
        let key_id = key_id(pair.public_key().as_ref()).map_err(IntakeError::internal)?;
        Ok(ServerKey { pair, rng, key_id })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key_bytes(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }
}

impl DeviceSigner for ServerKey {
    fn public_key(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.public_key_bytes())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Signer("server key failed to sign".into()))
    }
}
