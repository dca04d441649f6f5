//! The core's one error type, gathering every module's rich error.
//!
//! Every module keeps its own rich error (with the SQLite error, the path, the item id); this enum
//! only gathers them. How each is told to a person lives in [`crate::explain`] (a leaf module the
//! others import without importing this one), and [`FieldsealError`] is what leaves the core.

use crate::{
    bundle::BundleError,
    checklist::ChecklistError,
    crypto::CryptoError,
    evidence::EvidenceError,
    explain::{Explain, Explained, FieldsealError},
    installation::SyncEngineError,
    model::DomainError,
    protocol::ProtocolError,
    record::RecordError,
    store::StoreError,
    sync::SyncError,
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
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    SyncEngine(#[from] SyncEngineError),
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
            Error::Bundle(e) => e.explain(),
            Error::Sync(e) => e.explain(),
            Error::SyncEngine(e) => e.explain(),
        }
    }
}

impl Error {
    pub fn explain(&self) -> Explained {
        Explain::explain(self)
    }
}

/// The one conversion from the core's rich errors to what a screen can act on.
impl From<Error> for FieldsealError {
    fn from(e: Error) -> Self {
        // The rich error (paths, parser text, SQLite's words) is for the log; the person reads the
        // explanation, which never quotes data.
        log::debug!("fieldseal: {e}");
        e.explain().into()
    }
}
