//! The software signer's key at rest: its PKCS#8, wrapped by a [`KeyVault`], in an owner-only file.

use std::{fs, io, path::Path};

use super::{CryptoError, KeyVault, signer::SoftwareSigner};
use crate::private_file;

impl SoftwareSigner {
    /// Loads the signer whose wrapped key is at `path`, creating one there (mode 0600) when the
    /// file does not exist. A file that does not unwrap to a key is an error and is left as it is:
    /// replacing it would silently change the device's identity.
    ///
    /// The key is written through [`private_file::write_new`] (temporary file, fsync, hard link,
    /// directory fsync), so a crash never leaves a half-written key file and a concurrent creator's
    /// key is never overwritten.
    pub fn load_or_create(vault: &dyn KeyVault, path: &Path) -> Result<Self, CryptoError> {
        match fs::read(path) {
            Ok(wrapped) => return Self::from_wrapped(vault, &wrapped),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(CryptoError::io(path, e)),
        }
        let (signer, wrapped) = Self::generate(vault)?;
        match private_file::write_new(path, &wrapped) {
            Ok(()) => Ok(signer),
            // Another process created it first: use theirs, so there is one device key.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let wrapped = fs::read(path).map_err(|e| CryptoError::io(path, e))?;
                Self::from_wrapped(vault, &wrapped)
            }
            Err(e) => Err(CryptoError::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DeviceSigner, signer::verify_es256, software_vault::KeyFileVault};

    #[test]
    fn key_file_is_created_owner_only_and_reloads_to_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(dir.path().join("kek")).unwrap();
        let path = dir.path().join("device.key");
        let created = SoftwareSigner::load_or_create(&vault, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let reloaded = SoftwareSigner::load_or_create(&vault, &path).unwrap();
        assert_eq!(reloaded.key_id(), created.key_id());
        let sig: [u8; 64] = reloaded.sign(b"x").unwrap().try_into().unwrap();
        verify_es256(&created.public_key().unwrap(), b"x", &sig).unwrap();
        // Only the key file and the vault's KEK remain: no temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        // The file holds the wrapped key only, never the plain PKCS#8.
        let on_disk = fs::read(&path).unwrap();
        assert!(SoftwareSigner::from_pkcs8_for_tests(&on_disk).is_err());
    }

    #[test]
    fn corrupt_or_foreign_key_file_is_an_error_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(dir.path().join("kek")).unwrap();
        let path = dir.path().join("device.key");
        fs::write(&path, b"not a wrapped key").unwrap();
        assert!(SoftwareSigner::load_or_create(&vault, &path).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"not a wrapped key");

        let other = KeyFileVault::open_or_create(dir.path().join("other-kek")).unwrap();
        let foreign = dir.path().join("foreign.key");
        SoftwareSigner::load_or_create(&other, &foreign).unwrap();
        let before = fs::read(&foreign).unwrap();
        assert!(matches!(SoftwareSigner::load_or_create(&vault, &foreign), Err(CryptoError::WrongKey)));
        assert_eq!(fs::read(&foreign).unwrap(), before);
    }

    #[test]
    fn a_crash_while_creating_the_key_file_leaves_no_key_and_the_next_start_makes_one() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyFileVault::open_or_create(dir.path().join("kek")).unwrap();
        let path = dir.path().join("device.key");
        assert!(
            crate::private_file::tests::crashing(|| SoftwareSigner::load_or_create(&vault, &path)).is_err()
        );
        assert!(!path.exists());
        let signer = SoftwareSigner::load_or_create(&vault, &path).unwrap();
        assert_eq!(SoftwareSigner::load_or_create(&vault, &path).unwrap().key_id(), signer.key_id());
    }
}
