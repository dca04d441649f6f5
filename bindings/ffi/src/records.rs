//! 笔录会话 — the on-site record of one inspection, as the signing screens drive it. Each method
//! forwards to the core's [`fieldseal_core::RecordSession`]; signing, refusing, freezing and
//! exporting run on the root object's worker runtime because they use the device key (a hardware
//! key may take a moment or ask for the user) or copy whole evidence files.

use std::{path::PathBuf, sync::Arc};

use fieldseal_core::{
    FieldsealError,
    bundle::ExportSummary,
    evidence::{CaptureClock, LocationFix},
    record::{EntrySummary, Page, PartyStatement, RecordView, SignerRole, Strokes, WitnessInput},
    verify::BundleVerification,
};

use crate::{
    Fieldseal,
    guard::{guard, guard_blocking},
};

/// The record of one inspection and its addenda.
#[derive(uniffi::Object)]
pub struct RecordSession {
    core: fieldseal_core::RecordSession,
    /// Keeps the installation and the worker runtime alive while a signature or export runs.
    root: Arc<Fieldseal>,
}

#[uniffi::export]
impl Fieldseal {
    /// 现场检查笔录 — the record session of inspection `inspection_id`.
    pub fn records(self: Arc<Self>, inspection_id: String) -> Arc<RecordSession> {
        Arc::new(RecordSession { core: self.core.records(&inspection_id), root: self })
    }

    /// 离线校验 — verifies a bundle file offline (the core's `verify_bundle`): what could not be
    /// read or did not verify is a failed check in the report, not an error. `trusted_public_key`
    /// is the signing device's enrolled key (65-byte SEC1), when known.
    pub async fn verify_bundle(
        &self,
        path: PathBuf,
        trusted_public_key: Option<Vec<u8>>,
    ) -> Result<BundleVerification, FieldsealError> {
        guard_blocking(&self.runtime, move || Ok(fieldseal_core::verify_bundle(&path, trusted_public_key)))
            .await
    }
}

#[uniffi::export]
impl RecordSession {
    pub fn inspection_id(&self) -> String {
        self.core.inspection_id().to_owned()
    }

    /// Builds the record once the inspection waits for signature (待签字). `back_fill_reason` is
    /// required when the record is made more than 24 h after the inspection ended (后补).
    pub fn build(
        &self,
        party_statement: PartyStatement,
        rights_explained: bool,
        back_fill_reason: Option<String>,
    ) -> Result<RecordView, FieldsealError> {
        guard(|| Ok(self.core.build(party_statement, rights_explained, back_fill_reason)?))
    }

    /// The inspection's record (not its addenda), or `None` before it is built.
    pub fn record(&self) -> Result<Option<RecordView>, FieldsealError> {
        guard(|| Ok(self.core.record()?))
    }

    /// A record or addendum by id, with the signatures over its current version.
    pub fn load(&self, record_id: String) -> Result<RecordView, FieldsealError> {
        guard(|| Ok(self.core.load(&record_id)?))
    }

    /// The pages exactly as they are hashed: draw these and show their document hash.
    pub fn pages(&self, record_id: String) -> Result<Vec<Page>, FieldsealError> {
        guard(|| Ok(self.core.pages(&record_id)?))
    }

    /// A visible correction before freezing (`by`: the inspector); earlier signatures no longer count.
    pub fn revise(
        &self,
        record_id: String,
        reason: String,
        by: String,
        party_statement: Option<PartyStatement>,
    ) -> Result<RecordView, FieldsealError> {
        guard(|| Ok(self.core.revise(&record_id, &reason, &by, party_statement)?))
    }

    /// One person signs the version whose document hash they were shown; `StaleHash` (as
    /// `NotAllowed`) when it changed since, `Frozen` after freezing.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign(
        &self,
        record_id: String,
        shown_document_hash: String,
        role: SignerRole,
        inspector_id: Option<String>,
        witness_name: Option<String>,
        strokes: Strokes,
        clock: CaptureClock,
        location: Option<LocationFix>,
    ) -> Result<EntrySummary, FieldsealError> {
        let core = self.core.clone();
        guard_blocking(&self.root.runtime, move || {
            Ok(core.sign(
                &record_id,
                &shown_document_hash,
                role,
                inspector_id,
                witness_name,
                strokes,
                clock,
                location,
            )?)
        })
        .await
    }

    /// The party refused to sign: a reason, the inspector noting it (`noted_by`), and a witness who
    /// signs now or a video of the refusal sealed in this inspection — with neither it is refused.
    #[allow(clippy::too_many_arguments)]
    pub async fn refuse(
        &self,
        record_id: String,
        shown_document_hash: String,
        reason: String,
        noted_by: String,
        witness: Option<WitnessInput>,
        video_evidence_id: Option<String>,
        clock: CaptureClock,
        location: Option<LocationFix>,
    ) -> Result<EntrySummary, FieldsealError> {
        let core = self.core.clone();
        guard_blocking(&self.root.runtime, move || {
            Ok(core.refuse(
                &record_id,
                &shown_document_hash,
                &reason,
                &noted_by,
                witness,
                video_evidence_id,
                clock,
                location,
            )?)
        })
        .await
    }

    /// Makes the record final (the inspection becomes 已签字); every unmet signature rule is named.
    pub async fn freeze(&self, record_id: String) -> Result<RecordView, FieldsealError> {
        let core = self.core.clone();
        guard_blocking(&self.root.runtime, move || Ok(core.freeze(&record_id)?)).await
    }

    /// Starts an addendum (补充笔录) to the frozen record `record_id`, to be signed and frozen.
    pub fn add_addendum(
        &self,
        record_id: String,
        text: String,
        by: String,
        party_statement: PartyStatement,
    ) -> Result<RecordView, FieldsealError> {
        guard(|| Ok(self.core.add_addendum(&record_id, &text, &by, party_statement)?))
    }

    /// Exports the frozen record with its frozen addenda, evidence and trail to the new file `out`
    /// (never overwritten), without a PDF view: the CLI and intake make the PDF.
    pub async fn export(&self, record_id: String, out: PathBuf) -> Result<ExportSummary, FieldsealError> {
        let core = self.core.clone();
        guard_blocking(&self.root.runtime, move || Ok(core.export(&record_id, &out)?)).await
    }
}
