//! Software key vaults for the CLI, the intake service's tooling and tests.
//!
//! On a phone the data key is wrapped by Android Keystore or the iOS Keychain through the FFI's
//! `KeyVault` foreign trait. Off the phone there is no hardware, so these vaults wrap it with
//! AES-256-GCM under a key-encryption key (KEK) that is either a random key file created with 0600
//! permissions, or derived from a passphrase with PBKDF2-HMAC-SHA256 (slow on purpose).
//!
//! Wrapped format: `magic "FSKV" ‖ kind (1) ‖ salt (16, zero for key files) ‖ nonce (12) ‖ ct ‖ tag`.

use std::{
    fs,
    num::NonZeroU32,
    path::{Path, PathBuf},
};

use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    pbkdf2,
    rand::{SecureRandom, SystemRandom},
};
use zeroize::Zeroizing;

use super::{CheckpointStore, CryptoError, KeyVault, keys::KEY_LEN};
use crate::private_file;
use crate::trail::anchor::TrailCheckpoint;

const MAGIC: &[u8; 4] = b"FSKV";
const KIND_KEY_FILE: u8 = 1;
const KIND_PASSPHRASE: u8 = 2;
const SALT_LEN: usize = 16;
const HEADER_LEN: usize = 4 + 1 + SALT_LEN + NONCE_LEN;
/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// A vault whose KEK is a random 32-byte file readable only by its owner.
pub struct KeyFileVault {
    kek: Zeroizing<[u8; KEY_LEN]>,
    path: PathBuf,
}

impl std::fmt::Debug for KeyFileVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFileVault").field("path", &self.path).finish_non_exhaustive()
    }
}

impl KeyFileVault {
    /// Opens the key file at `path`, creating it (mode 0600, never overwriting) when absent.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self, CryptoError> {
        let path = path.as_ref();
        match fs::read(path) {
            Ok(bytes) => {
                let kek: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    CryptoError::malformed("key file", format!("{} bytes, expected {KEY_LEN}", bytes.len()))
                })?;
                Ok(Self { kek: Zeroizing::new(kek), path: path.to_owned() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(CryptoError::io(path, e)),
        }
    }

    /// Written through [`private_file::write_new`], so the key file appears whole or not at all: a
    /// crash while creating it can no longer leave a short file that every later open refuses.
    fn create(path: &Path) -> Result<Self, CryptoError> {
        let mut kek = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new().fill(kek.as_mut()).map_err(|_| CryptoError::Random)?;
        match private_file::write_new(path, kek.as_ref()) {
            Ok(()) => Ok(Self { kek, path: path.to_owned() }),
            // Another process created it first: use theirs, so there is one wrapping key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::open_or_create(path),
            Err(e) => Err(CryptoError::io(path, e)),
        }
    }
}

impl KeyVault for KeyFileVault {
    /// The checkpoint lives beside the key file (`<key file>.trail-checkpoint`, 0600): outside the
    /// data directory, so restoring an older database does not restore it.
    fn trail_checkpoint(&self) -> Option<std::sync::Arc<dyn CheckpointStore>> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".trail-checkpoint");
        Some(std::sync::Arc::new(CheckpointFile { path: PathBuf::from(name) }))
    }

    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(KIND_KEY_FILE, [0; SALT_LEN], &self.kek, key)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (kind, _salt) = parse_header(wrapped)?;
        if kind != KIND_KEY_FILE {
            return Err(CryptoError::KeyVault("wrapped with a passphrase, not a key file".into()));
        }
        open(&self.kek, wrapped)
    }
}

/// The key-file vault's trail checkpoint: JSON in an owner-only file, replaced atomically.
#[derive(Debug)]
struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointStore for CheckpointFile {
    fn load(&self) -> Result<Option<TrailCheckpoint>, CryptoError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CryptoError::malformed("trail checkpoint file", e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CryptoError::io(&self.path, e)),
        }
    }

    fn store(&self, checkpoint: &TrailCheckpoint) -> Result<(), CryptoError> {
        if let Some(stored) = self.load()?
            && stored.counter > checkpoint.counter
        {
            return Err(CryptoError::KeyVault(format!(
                "the trail checkpoint only moves forward (stored {}, offered {})",
                stored.counter, checkpoint.counter
            )));
        }
        let bytes = serde_json::to_vec(checkpoint)
            .map_err(|e| CryptoError::malformed("trail checkpoint", e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let mut file = private_file::OwnerOnlyFile::create(&self.path)?;
            std::io::Write::write_all(&mut file, &bytes)?;
            file.commit(private_file::Existing::Replace)
        };
        write().map_err(|e| CryptoError::io(&self.path, e))
    }
}

/// A vault whose KEK is derived from a passphrase; each wrap uses a fresh salt.
pub struct PassphraseVault {
    passphrase: Zeroizing<String>,
    iterations: NonZeroU32,
}

impl std::fmt::Debug for PassphraseVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassphraseVault([redacted])")
    }
}

impl PassphraseVault {
    pub fn new(passphrase: &str) -> Self {
        Self::with_iterations(passphrase, PBKDF2_ITERATIONS)
    }

    /// Fewer iterations are for tests only: a production vault always uses [`PBKDF2_ITERATIONS`].
    pub fn with_iterations(passphrase: &str, iterations: u32) -> Self {
        Self {
            passphrase: Zeroizing::new(passphrase.to_owned()),
            iterations: NonZeroU32::new(iterations.max(1)).expect("max(1) is non-zero"),
        }
    }

    fn kek(&self, salt: &[u8; SALT_LEN]) -> Zeroizing<[u8; KEY_LEN]> {
        let mut kek = Zeroizing::new([0u8; KEY_LEN]);
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            salt,
            self.passphrase.as_bytes(),
            kek.as_mut(),
        );
        kek
    }
}

impl KeyVault for PassphraseVault {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new().fill(&mut salt).map_err(|_| CryptoError::Random)?;
        seal(KIND_PASSPHRASE, salt, &self.kek(&salt), key)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (kind, salt) = parse_header(wrapped)?;
        if kind != KIND_PASSPHRASE {
            return Err(CryptoError::KeyVault("wrapped with a key file, not a passphrase".into()));
        }
        open(&self.kek(&salt), wrapped)
    }
}

fn cipher(kek: &[u8; KEY_LEN]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, kek).expect("32-byte AES key"))
}

fn seal(kind: u8, salt: [u8; SALT_LEN], kek: &[u8; KEY_LEN], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    let mut out = Vec::with_capacity(HEADER_LEN + key.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(kind);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    let header = out.clone();
    out.extend_from_slice(key);
    let tag = cipher(kek)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&header),
            &mut out[HEADER_LEN..],
        )
        .map_err(|_| CryptoError::KeyVault("key too long to wrap".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn parse_header(wrapped: &[u8]) -> Result<(u8, [u8; SALT_LEN]), CryptoError> {
    if wrapped.len() < HEADER_LEN + 16 || &wrapped[..4] != MAGIC {
        return Err(CryptoError::malformed("wrapped key", "not a fieldseal software vault blob"));
    }
    let salt: [u8; SALT_LEN] = wrapped[5..5 + SALT_LEN].try_into().expect("sliced to SALT_LEN");
    Ok((wrapped[4], salt))
}

fn open(kek: &[u8; KEY_LEN], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = wrapped[5 + SALT_LEN..HEADER_LEN].try_into().expect("sliced to NONCE_LEN");
    let mut buf = Zeroizing::new(wrapped[HEADER_LEN..].to_vec());
    let len = cipher(kek)
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&wrapped[..HEADER_LEN]),
            buf.as_mut_slice(),
        )
        .map_err(|_| CryptoError::WrongKey)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_owner_only_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let vault = KeyFileVault::open_or_create(&path).unwrap();
        let wrapped = vault.wrap_key(b"0123456789abcdef0123456789abcdef").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let reopened = KeyFileVault::open_or_create(&path).unwrap();
        assert_eq!(reopened.unwrap_key(&wrapped).unwrap().as_slice(), b"0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn another_key_file_cannot_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let a = KeyFileVault::open_or_create(dir.path().join("a")).unwrap();
        let b = KeyFileVault::open_or_create(dir.path().join("b")).unwrap();
        let wrapped = a.wrap_key(&[7; 32]).unwrap();
        assert!(matches!(b.unwrap_key(&wrapped), Err(CryptoError::WrongKey)));
    }

    #[test]
    fn wrong_passphrase_is_wrong_key() {
        let wrapped = PassphraseVault::with_iterations("正确口令", 10).wrap_key(&[1; 32]).unwrap();
        assert_eq!(
            PassphraseVault::with_iterations("正确口令", 10).unwrap_key(&wrapped).unwrap().as_slice(),
            &[1; 32]
        );
        assert!(matches!(
            PassphraseVault::with_iterations("错误口令", 10).unwrap_key(&wrapped),
            Err(CryptoError::WrongKey)
        ));
    }

    #[test]
    fn a_crash_while_creating_the_key_file_leaves_no_short_file_and_the_next_open_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        assert!(crate::private_file::tests::crashing(|| KeyFileVault::open_or_create(&path)).is_err());
        assert!(!path.exists(), "the crash left a key file that every later open would refuse");
        let vault = KeyFileVault::open_or_create(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), KEY_LEN);
        let wrapped = vault.wrap_key(b"data key").unwrap();
        let again = KeyFileVault::open_or_create(&path).unwrap();
        assert_eq!(again.unwrap_key(&wrapped).unwrap().as_slice(), b"data key");
    }

    #[test]
    fn truncated_key_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        fs::write(&path, b"short").unwrap();
        assert!(matches!(KeyFileVault::open_or_create(&path), Err(CryptoError::Malformed { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"short");
    }
}
