//! 证据采集 — sealed evidence capture: ingest with progress and cancellation, the evidence list and
//! detail, decrypted viewing copies, and verification. Each method forwards to the core's
//! [`fieldseal_core::EvidenceIngest`]; ingest, viewing and verification run on the root object's
//! worker runtime because they hash and decrypt whole files.

use std::{path::PathBuf, sync::Arc};

use fieldseal_core::{
    FieldsealError,
    evidence::{
        CancelToken, CaptureFlag, EvidenceDetail, EvidenceList, EvidenceListItem, FlagMessage, IngestOutcome,
        IngestProgress, IngestRequest, VerifiedEvidence,
    },
};

use crate::{
    Fieldseal,
    guard::{guard, guard_blocking},
};

/// Receives ingest progress: bytes of the source sealed so far. Called about every 1 % of the file
/// (and at least every 4 MiB), the last call with `done == total`, from a worker thread.
#[uniffi::export(with_foreign)]
pub trait IngestListener: Send + Sync {
    fn on_progress(&self, done: u64, total: u64);
}

/// Cancels one ingest from any thread. The ingest stops before its next chunk or before it commits,
/// removes what it wrote and keeps the input file; it then fails with `FieldsealError::Cancelled`.
/// Cancelling after the commit has no effect. Use a new handle for each ingest.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle {
    pub(crate) token: CancelToken,
}

#[uniffi::export]
impl CancelHandle {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// Cancels the core token when the caller stops awaiting (a Kotlin coroutine or Swift task was
/// cancelled): the blocking ingest then stops at its next chunk and cleans up.
pub(crate) struct CancelOnDrop(pub(crate) Option<CancelToken>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            token.cancel();
        }
    }
}

/// 证据采集 — evidence capture and viewing for the open installation.
#[derive(uniffi::Object)]
pub struct EvidenceIngest {
    /// Keeps the installation and the worker runtime alive while captures may be running.
    root: Arc<Fieldseal>,
}

#[uniffi::export]
impl Fieldseal {
    pub fn evidence(self: Arc<Self>) -> Arc<EvidenceIngest> {
        Arc::new(EvidenceIngest { root: self })
    }
}

#[uniffi::export]
impl EvidenceIngest {
    /// Seals a capture (see the core's `EvidenceIngest::ingest`): refused, input kept, unless the
    /// inspection is on site or recording.
    pub async fn ingest(
        &self,
        request: IngestRequest,
        listener: Option<Arc<dyn IngestListener>>,
        cancel: Arc<CancelHandle>,
    ) -> Result<IngestOutcome, FieldsealError> {
        let evidence = self.root.core.evidence();
        let token = cancel.token.clone();
        let mut on_drop = CancelOnDrop(Some(token.clone()));
        let sealed = guard_blocking(&self.root.runtime, move || {
            let mut progress = |p: IngestProgress| {
                if let Some(listener) = &listener {
                    listener.on_progress(p.done, p.total);
                }
            };
            Ok(evidence.ingest(&request, &token, &mut progress)?)
        })
        .await;
        on_drop.0 = None;
        sealed
    }

    /// An inspection's evidence in capture order; thumbnails are decrypted for display.
    pub fn list(&self, inspection_id: String) -> Result<Vec<EvidenceListItem>, FieldsealError> {
        guard(|| Ok(self.root.core.evidence().list(&inspection_id)?))
    }

    /// The same list with the items that did not open counted and named.
    pub fn evidence_list(&self, inspection_id: String) -> Result<EvidenceList, FieldsealError> {
        guard(|| Ok(self.root.core.evidence().evidence_list(&inspection_id)?))
    }

    pub fn detail(&self, evidence_id: String) -> Result<EvidenceDetail, FieldsealError> {
        guard(|| Ok(self.root.core.evidence().detail(&evidence_id)?))
    }

    /// The item's thumbnail as a decrypted JPEG file, or `None` when it has none.
    pub fn thumbnail(&self, evidence_id: String) -> Result<Option<PathBuf>, FieldsealError> {
        guard(|| Ok(self.root.core.evidence().thumbnail(&evidence_id)?))
    }

    /// Decrypts the original to a private temporary file (checked against its signed hash on the
    /// way) and returns its path. Release it with `release_view` when the screen closes.
    pub async fn open_for_viewing(&self, evidence_id: String) -> Result<PathBuf, FieldsealError> {
        let evidence = self.root.core.evidence();
        guard_blocking(&self.root.runtime, move || Ok(evidence.open_for_viewing(&evidence_id)?)).await
    }

    /// Deletes one viewing copy; refuses any path that is not one.
    pub fn release_view(&self, path: PathBuf) -> Result<(), FieldsealError> {
        guard(|| Ok(self.root.core.evidence().release_view(&path)?))
    }

    /// Deletes every viewing copy (call when the app leaves the foreground); returns how many.
    pub fn clear_views(&self) -> Result<u64, FieldsealError> {
        guard(|| Ok(self.root.core.evidence().clear_views()?))
    }

    /// Verifies an item end to end against this device's public key. `Integrity` if the manifest,
    /// its binding to its row, or the blob or thumbnail was changed.
    pub async fn verify(&self, evidence_id: String) -> Result<VerifiedEvidence, FieldsealError> {
        let evidence = self.root.core.evidence();
        guard_blocking(&self.root.runtime, move || Ok(evidence.verify(&evidence_id)?)).await
    }
}

/// What a capture flag means, in Chinese and English, for the evidence screens.
#[uniffi::export]
pub fn capture_flag_message(flag: CaptureFlag) -> FlagMessage {
    flag.explained()
}
