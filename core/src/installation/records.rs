//! 笔录会话 — the on-site record of one inspection, as the signing screens drive it: build, read the
//! pages, revise before freezing, sign with strokes, note a refusal, freeze, add addenda, export.
//!
//! Times come from the installation's clock and signatures from its device signer; the rules are
//! the record module's (`crate::record::service`). The phone exports without a PDF view: the PDF
//! is made by the CLI or intake (`fieldseal-render`), never in the phone library, and the
//! verifier accepts a bundle without one (docs/formats/bundle.md, `pdf.text`).

use std::path::Path;

use super::Installation;
use crate::{
    Result,
    bundle::{self, ExportSummary, pdf::PdfRenderer},
    evidence::{CaptureClock, LocationFix},
    record::{
        AddendumRequest, BuildRequest, EntrySummary, Page, PartyStatement, RecordView, RefuseRequest,
        RevisionRequest, SignRequest, SignerRole, Strokes, WitnessInput, service,
    },
    verify::{BundleVerification, VerifyOptions, verify_bundle_file},
};

#[derive(Debug, Clone)]
pub struct RecordSession {
    installation: Installation,
    inspection_id: String,
}

impl RecordSession {
    pub(super) fn new(installation: Installation, inspection_id: &str) -> Self {
        Self { installation, inspection_id: inspection_id.to_owned() }
    }

    pub fn inspection_id(&self) -> &str {
        &self.inspection_id
    }

    /// Builds the record of the inspection once it waits for signature (待签字).
    pub fn build(
        &self,
        party_statement: PartyStatement,
        rights_explained: bool,
        back_fill_reason: Option<String>,
    ) -> Result<RecordView> {
        let at = self.installation.now();
        service::build(
            self.installation.store(),
            &self.inspection_id,
            BuildRequest { party_statement, rights_explained, back_fill_reason, at },
        )
    }

    /// The inspection's record (not its addenda), if built.
    pub fn record(&self) -> Result<Option<RecordView>> {
        service::record_of_inspection(self.installation.store(), &self.inspection_id)
    }

    /// A record or addendum by id: pages, hashes and the signatures over its current version.
    pub fn load(&self, record_id: &str) -> Result<RecordView> {
        service::load(self.installation.store(), record_id)
    }

    /// The pages of a record or addendum as the signing screen draws them (what is hashed).
    pub fn pages(&self, record_id: &str) -> Result<Vec<Page>> {
        Ok(self.load(record_id)?.pages)
    }

    /// A visible correction before freezing, confirmed by signing the new version.
    pub fn revise(
        &self,
        record_id: &str,
        reason: &str,
        by: &str,
        party_statement: Option<PartyStatement>,
    ) -> Result<RecordView> {
        let at = self.installation.now();
        let req = RevisionRequest { reason: reason.to_owned(), by: by.to_owned(), party_statement, at };
        service::revise(self.installation.store(), record_id, req)
    }

    /// One person signs the version whose hash they were shown.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        record_id: &str,
        shown_document_hash: &str,
        role: SignerRole,
        inspector_id: Option<String>,
        witness_name: Option<String>,
        strokes: Strokes,
        clock: CaptureClock,
        location: Option<LocationFix>,
    ) -> Result<EntrySummary> {
        let req = SignRequest {
            record_id: record_id.to_owned(),
            shown_document_hash: shown_document_hash.to_owned(),
            role,
            inspector_id,
            witness_name,
            strokes,
            clock,
            location,
        };
        service::sign(self.installation.store(), self.installation.signer(), &req)
    }

    /// The party refused to sign: a reason, the inspector noting it, and a witness or a video.
    #[allow(clippy::too_many_arguments)]
    pub fn refuse(
        &self,
        record_id: &str,
        shown_document_hash: &str,
        reason: &str,
        noted_by: &str,
        witness: Option<WitnessInput>,
        video_evidence_id: Option<String>,
        clock: CaptureClock,
        location: Option<LocationFix>,
    ) -> Result<EntrySummary> {
        let req = RefuseRequest {
            record_id: record_id.to_owned(),
            shown_document_hash: shown_document_hash.to_owned(),
            reason: reason.to_owned(),
            noted_by: noted_by.to_owned(),
            witness,
            video_evidence_id,
            clock,
            location,
        };
        service::refuse(self.installation.store(), self.installation.signer(), &req)
    }

    /// Makes the record final; the inspection becomes 已签字 with its document hash.
    pub fn freeze(&self, record_id: &str) -> Result<RecordView> {
        let view = service::freeze(
            self.installation.store(),
            self.installation.signer(),
            record_id,
            self.installation.now(),
        )?;
        // The freeze signed its head as an anchor in its own transaction (chained with the
        // installation's other heads); the checkpoint moves to it (`super::integrity`).
        self.installation.catch_up_checkpoint()?;
        Ok(view)
    }

    /// Starts an addendum to the frozen record `record_id`.
    pub fn add_addendum(
        &self,
        record_id: &str,
        text: &str,
        by: &str,
        party_statement: PartyStatement,
    ) -> Result<RecordView> {
        let req = AddendumRequest {
            text: text.to_owned(),
            by: by.to_owned(),
            party_statement,
            at: self.installation.now(),
        };
        service::add_addendum(self.installation.store(), record_id, &req)
    }

    /// Exports the frozen record, its frozen addenda, evidence and trail to a new file `out`
    /// (without a PDF view; see the module documentation).
    pub fn export(&self, record_id: &str, out: &Path) -> Result<ExportSummary> {
        self.export_to(record_id, out, None)
    }

    /// [`RecordSession::export`] with the PDF view drawn by `pdf` (the CLI's and intake's renderer).
    pub fn export_with_pdf(
        &self,
        record_id: &str,
        out: &Path,
        pdf: &dyn PdfRenderer,
    ) -> Result<ExportSummary> {
        self.export_to(record_id, out, Some(pdf))
    }

    fn export_to(&self, record_id: &str, out: &Path, pdf: Option<&dyn PdfRenderer>) -> Result<ExportSummary> {
        let summary = bundle::export(
            self.installation.store(),
            self.installation.signer(),
            record_id,
            out,
            pdf,
            self.installation.now(),
        )?;
        // The export signed the head of its `record.exported` event with that event.
        self.installation.catch_up_checkpoint()?;
        Ok(summary)
    }
}

/// 离线校验 — verifies the bundle file at `path` offline, with public keys only, and without a PDF
/// reader (the phone has none): a bundle carrying a PDF view reports `pdf.text` as not checked, so
/// it does not count as verified here; a phone export (no PDF) can verify completely. With
/// `trusted_public_key` (65-byte SEC1, from enrolment) the bundle must be signed by that key;
/// without it the bundle's own key is used and the report says so.
pub fn verify_bundle(path: &Path, trusted_public_key: Option<Vec<u8>>) -> BundleVerification {
    let options = VerifyOptions { pdf_text: None, trusted_key: trusted_public_key, fail_fast: false };
    verify_bundle_file(path, &options).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_bundle_is_one_failed_structure_check_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-bundle.zip");
        std::fs::write(&path, "以上笔录属实").unwrap();
        let report = verify_bundle(&path, None);
        assert!(!report.verified);
        assert_eq!((report.passed, report.failed, report.not_checked), (0, 1, 0));
        assert_eq!(report.checks[0].check, "bundle.structure");
        assert!(report.text.contains("NOT verified"), "{}", report.text);
        let missing = verify_bundle(&dir.path().join("absent.zip"), None);
        assert_eq!(missing.checks[0].check, "bundle.open");
        assert!(!missing.verified);
    }
}
