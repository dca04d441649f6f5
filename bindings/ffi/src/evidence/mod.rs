//! 证据固定 — sealed evidence capture: ingest with progress and cancellation, the evidence list and
//! detail read models, decrypted viewing copies, and verification against the device key.
//!
//! Every method delegates to `fieldseal_core::evidence`; ingest runs on the root object's worker
//! runtime because it hashes and encrypts whole files (a multi-GB video takes seconds).

mod inputs;
mod records;

use std::sync::Arc;

use fieldseal_core::{
    crypto::DeviceSigner as _,
    evidence::{
        self as core, CancelToken, IngestContext, IngestPolicy, IngestProgress, IngestRequest,
        StoredInspectionGuard, view,
    },
};

pub use inputs::{CaptureRequest, LocationFix};
pub use records::{
    CaptureFlag, EvidenceDetail, EvidenceSummary, ExifGps, ExifInfo, FlagMessage, ParentRef, SealedEvidence,
    VerifiedEvidence, capture_flag_message,
};

use crate::{
    Fieldseal, FieldsealError,
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
    token: CancelToken,
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
/// cancelled): the blocking ingest then stops at its next chunk and cleans up, instead of sealing a
/// capture nobody waits for.
struct CancelOnDrop(Option<CancelToken>);

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
    /// Keeps the store, signer and worker runtime alive while captures may be running.
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
    /// Seals a capture: hashes and encrypts the file into the vault, reads EXIF, makes the thumbnail,
    /// signs the manifest with the device key, and commits it with its trail event, its upload and
    /// the checklist item's evidence count; then removes the plaintext file. Refused (input kept)
    /// unless the inspection is on site or recording.
    pub async fn ingest(
        &self,
        request: CaptureRequest,
        listener: Option<Arc<dyn IngestListener>>,
        cancel: Arc<CancelHandle>,
    ) -> Result<SealedEvidence, FieldsealError> {
        let store = self.root.store.clone();
        let signer = self.root.signer.clone();
        let token = cancel.token.clone();
        let mut on_drop = CancelOnDrop(Some(token.clone()));
        let sealed = guard_blocking(&self.root.runtime, move || {
            let request = IngestRequest::try_from(request).map_err(fieldseal_core::Error::from)?;
            let cx = IngestContext {
                store: &store,
                signer: signer.as_ref(),
                guard: &StoredInspectionGuard,
                policy: IngestPolicy::default(),
            };
            let mut progress = |p: IngestProgress| {
                if let Some(listener) = &listener {
                    listener.on_progress(p.done, p.total);
                }
            };
            Ok(core::ingest(&cx, &request, &token, &mut progress)?.into())
        })
        .await;
        on_drop.0 = None;
        sealed
    }

    /// An inspection's evidence in capture order; thumbnails are decrypted for display.
    pub fn list(&self, inspection_id: String) -> Result<Vec<EvidenceSummary>, FieldsealError> {
        guard(|| {
            Ok(view::list_for_inspection(&self.root.store, &inspection_id)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    pub fn detail(&self, evidence_id: String) -> Result<EvidenceDetail, FieldsealError> {
        guard(|| Ok(view::detail(&self.root.store, &evidence_id)?.into()))
    }

    /// The item's thumbnail as a decrypted JPEG file, or `None` when it has none.
    pub fn thumbnail(&self, evidence_id: String) -> Result<Option<String>, FieldsealError> {
        guard(|| {
            let file = view::thumbnail_for_viewing(&self.root.store, &evidence_id)?;
            Ok(file.map(|f| records::path_text(f.path)))
        })
    }

    /// Decrypts the original to a private temporary file (checked against its signed hash on the
    /// way) and returns its path. Release it with `release_view` when the screen closes.
    pub async fn open_for_viewing(&self, evidence_id: String) -> Result<String, FieldsealError> {
        let store = self.root.store.clone();
        guard_blocking(&self.root.runtime, move || {
            Ok(records::path_text(view::open_for_viewing(&store, &evidence_id)?.path))
        })
        .await
    }

    /// Deletes one viewing copy; refuses any path that is not one.
    pub fn release_view(&self, path: String) -> Result<(), FieldsealError> {
        guard(|| Ok(view::release_view(&self.root.store, std::path::Path::new(&path))?))
    }

    /// Deletes every viewing copy (call when the app leaves the foreground); returns how many.
    pub fn clear_views(&self) -> Result<u64, FieldsealError> {
        guard(|| Ok(view::clear_views(&self.root.store)? as u64))
    }

    /// Verifies an item end to end against this device's public key: the manifest signature, the
    /// manifest's binding to its row, and the blob's (and thumbnail's) hash. `Integrity` if any of
    /// them was changed.
    pub async fn verify(&self, evidence_id: String) -> Result<VerifiedEvidence, FieldsealError> {
        let store = self.root.store.clone();
        let signer = self.root.signer.clone();
        guard_blocking(&self.root.runtime, move || {
            let public_key = signer.public_key().map_err(fieldseal_core::Error::from)?;
            Ok(core::verify_item(&store, &evidence_id, &public_key)?.into())
        })
        .await
    }
}
