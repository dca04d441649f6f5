use crate::explain::{ErrorClass, Explain, Explained};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The platform key vault refused or failed (keystore locked, key invalidated, wrong passphrase).
    #[error("key vault failed: {0}")]
    KeyVault(String),
    /// The data key did not open what it should: wrong key, or a different installation's data.
    #[error("the data key does not match this store")]
    WrongKey,
    /// An AEAD tag, hash or signature did not verify. `what` says which object (never its content).
    #[error("integrity check failed: {what}")]
    Integrity { what: String },
    /// An encrypted object is malformed (bad header, unknown version, impossible length).
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
    /// The device signer failed to produce a signature or public key.
    #[error("device signer failed: {0}")]
    Signer(String),
    /// The system random generator failed; nothing can be encrypted safely.
    #[error("system random number generator failed")]
    Random,
    #[error("I/O on {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl CryptoError {
    pub fn integrity(what: impl Into<String>) -> Self {
        CryptoError::Integrity { what: what.into() }
    }
    pub fn malformed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        CryptoError::Malformed { what: what.into(), reason: reason.into() }
    }
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        CryptoError::Io { path: path.as_ref().display().to_string(), source }
    }
}

impl Explain for CryptoError {
    fn explain(&self) -> Explained {
        match self {
            CryptoError::KeyVault(_) => Explained::new(
                "crypto.key_vault",
                ErrorClass::KeyUnavailable,
                "设备密钥库无法解开数据密钥。请解锁设备后重试；如仍失败，请联系管理员，切勿清除应用数据。",
                "The device key store could not unwrap the data key. Unlock the device and retry; if it still fails, contact your administrator and do not clear the app's data.",
            ),
            CryptoError::WrongKey => Explained::new(
                "crypto.wrong_key",
                ErrorClass::KeyUnavailable,
                "数据密钥与本机数据库不匹配，数据未被改动。请使用原来的密钥或口令打开。",
                "The data key does not match this database; nothing was changed. Open it with the original key or passphrase.",
            ),
            CryptoError::Integrity { what } => Explained::new(
                "crypto.integrity",
                ErrorClass::Integrity { what: what.clone() },
                format!("{what} 完整性校验失败，可能已被篡改或损坏。请勿使用该数据，并报告管理员。"),
                format!(
                    "{what} failed its integrity check: it may have been altered or damaged. Do not use it; report it to your administrator."
                ),
            ),
            CryptoError::Malformed { what, reason } => Explained::new(
                "crypto.malformed",
                ErrorClass::Integrity { what: what.clone() },
                format!("{what} 格式错误（{reason}），无法解密。请报告管理员。"),
                format!(
                    "{what} is malformed ({reason}) and cannot be decrypted. Report it to your administrator."
                ),
            ),
            CryptoError::Signer(_) => Explained::new(
                "crypto.signer",
                ErrorClass::KeyUnavailable,
                "设备签名密钥不可用。请解锁设备后重试。",
                "The device signing key is unavailable. Unlock the device and try again.",
            ),
            CryptoError::Random => Explained::new(
                "crypto.random",
                ErrorClass::Internal,
                "系统随机数发生器故障，操作未执行。请重启设备。",
                "The system random number generator failed; nothing was done. Restart the device.",
            ),
            CryptoError::Io { path, .. } => Explained::new(
                "crypto.io",
                ErrorClass::Storage,
                format!("读写 {path} 失败。请检查存储空间和权限后重试。"),
                format!("Reading or writing {path} failed. Check free space and permissions, then retry."),
            ),
        }
    }
}
