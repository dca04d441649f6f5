//! 证据采集 — sealing captures and showing them: the capture guard (the stored inspection) and the
//! flag thresholds are chosen here, once, for every caller.

use std::path::{Path, PathBuf};

use super::Installation;
use crate::{
    Result,
    evidence::{
        self, CancelToken, EvidenceDetail, EvidenceListItem, IngestContext, IngestOutcome, IngestPolicy,
        IngestProgress, IngestRequest, StoredInspectionGuard, VerifiedEvidence, view,
    },
    sync::enrolment,
};

/// Evidence capture and viewing for an open installation.
#[derive(Debug, Clone)]
pub struct EvidenceIngest {
    installation: Installation,
}

impl EvidenceIngest {
    pub(super) fn new(installation: Installation) -> Self {
        Self { installation }
    }

    /// Seals a capture: hashes and encrypts the file into the vault, reads EXIF, makes the thumbnail,
    /// signs the manifest with the device key, and commits it with its trail event, its upload and
    /// the checklist item's evidence count; then removes the plaintext file. Refused (input kept)
    /// unless the inspection is on site or recording. Blocking: run it off the UI thread.
    pub fn ingest(
        &self,
        request: &IngestRequest,
        cancel: &CancelToken,
        progress: &mut dyn FnMut(IngestProgress),
    ) -> Result<IngestOutcome> {
        let cx = IngestContext {
            store: self.installation.store(),
            signer: self.installation.signer(),
            guard: &StoredInspectionGuard,
            // The device clock's offset from intake's, as the last sync measured it.
            policy: IngestPolicy {
                known_server_offset_ms: self
                    .installation
                    .store()
                    .read(|c, _| enrolment::clock_offset_ms(c))?,
                ..IngestPolicy::default()
            },
        };
        let outcome = evidence::ingest(&cx, request, cancel, progress)?;
        // Each sealed item is anchored: recovery may remove an orphan only when the checkpoint
        // vouches for the database, so a sealed item must move the checkpoint (see `sweep`).
        self.installation.anchor_inspection(&request.inspection_id)?;
        Ok(outcome)
    }

    /// An inspection's evidence in capture order; thumbnails are decrypted for display. An item
    /// that does not open is left out (see [`EvidenceIngest::evidence_list`]).
    pub fn list(&self, inspection_id: &str) -> Result<Vec<EvidenceListItem>> {
        view::list_for_inspection(self.installation.store(), inspection_id)
    }

    /// The list with the items that did not open counted and named, for a banner that says some
    /// evidence cannot be shown.
    pub fn evidence_list(&self, inspection_id: &str) -> Result<view::EvidenceList> {
        view::evidence_list(self.installation.store(), inspection_id)
    }

    pub fn detail(&self, evidence_id: &str) -> Result<EvidenceDetail> {
        view::detail(self.installation.store(), evidence_id)
    }

    /// The item's thumbnail as a decrypted JPEG file, or `None` when it has none.
    pub fn thumbnail(&self, evidence_id: &str) -> Result<Option<PathBuf>> {
        Ok(view::thumbnail_for_viewing(self.installation.store(), evidence_id)?.map(|f| f.path))
    }

    /// Decrypts the original to a private temporary file (checked against its signed hash on the
    /// way) and returns its path. Release it with [`EvidenceIngest::release_view`].
    pub fn open_for_viewing(&self, evidence_id: &str) -> Result<PathBuf> {
        Ok(view::open_for_viewing(self.installation.store(), evidence_id)?.path)
    }

    /// Deletes one viewing copy; refuses any path that is not one.
    pub fn release_view(&self, path: &Path) -> Result<()> {
        view::release_view(self.installation.store(), path)
    }

    /// Deletes every viewing copy (when the app leaves the foreground); returns how many.
    pub fn clear_views(&self) -> Result<u64> {
        Ok(view::clear_views(self.installation.store())? as u64)
    }

    /// Verifies an item end to end against this device's public key: the manifest signature, the
    /// manifest's binding to its row, and the blob's (and thumbnail's) hash.
    pub fn verify(&self, evidence_id: &str) -> Result<VerifiedEvidence> {
        let public_key = self.installation.device_public_key()?;
        evidence::verify_item(self.installation.store(), evidence_id, &public_key)
    }
}
