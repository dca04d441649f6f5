//! The core's one error type, and how each failure is explained to a person.
//!
//! Every module keeps its own rich error (with the SQLite error, the path, the item id); this enum
//! only gathers them. [`Explain`] turns any of them into an [`Explained`]: a stable code, the class
//! a UI can act on, and a message in Chinese and English that never contains evidence or personal data.
//! The FFI layer and the CLI both read errors through `explain()`, so the wording lives in one place
//! per module.

use crate::{
    checklist::ChecklistError, crypto::CryptoError, evidence::EvidenceError, model::DomainError,
    protocol::ProtocolError, record::RecordError, store::StoreError,
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Checklist(#[from] ChecklistError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// What a user interface can do about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// The caller supplied something malformed; `field` names it, `reason` says which rule it broke.
    InvalidInput { field: String, reason: String },
    /// The request is well-formed but a domain rule forbids it now (a transition out of order...).
    NotAllowed { rule: String },
    /// The thing asked for does not exist.
    NotFound { what: String },
    /// Stored or received data failed a hash, signature or AEAD check: possible tampering.
    Integrity { what: String },
    /// The disk or database failed; the message says whether space or permissions are to blame.
    Storage,
    /// The data key or signing key could not be used (wrong key, keystore locked or wiped).
    KeyUnavailable,
    /// A network failure; `retryable` is false when a person must act first.
    Network { retryable: bool },
    /// The operation was cancelled by the caller; nothing was half-written.
    Cancelled,
    /// A bug: an invariant the code relies on did not hold.
    Internal,
}

/// A failure explained for a person: stable code, class, and bilingual text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// Stable, machine-readable code such as `store.schema_too_new`; never reworded.
    pub code: &'static str,
    pub class: ErrorClass,
    /// 中文说明：发生了什么、下一步怎么做。
    pub message_zh: String,
    /// English: what happened and what to do next.
    pub message_en: String,
}

impl Explained {
    pub fn new(
        code: &'static str,
        class: ErrorClass,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self { code, class, message_zh: message_zh.into(), message_en: message_en.into() }
    }

    /// Shorthand for the most common class: a named field broke a named rule.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self::new(
            code,
            ErrorClass::InvalidInput { field: field.into(), reason: reason.into() },
            message_zh,
            message_en,
        )
    }
}

/// Implemented by every module error: how to tell a person about it.
pub trait Explain {
    fn explain(&self) -> Explained;
}

impl Explain for Error {
    fn explain(&self) -> Explained {
        match self {
            Error::Crypto(e) => e.explain(),
            Error::Store(e) => e.explain(),
            Error::Protocol(e) => e.explain(),
            Error::Domain(e) => e.explain(),
            Error::Checklist(e) => e.explain(),
            Error::Evidence(e) => e.explain(),
            Error::Record(e) => e.explain(),
        }
    }
}

impl Error {
    pub fn explain(&self) -> Explained {
        Explain::explain(self)
    }
}
