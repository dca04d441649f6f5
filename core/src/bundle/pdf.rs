//! The PDF view of a record, behind two small traits so the phone library needs no PDF code.
//!
//! The PDF is a view made at export: never signed, its hash listed with the other members, and
//! checked by the verifier against the signed page model. `fieldseal-render` (the CLI and intake)
//! implements both traits with krilla and lopdf; the phone build exports without a PDF.

use super::format::PdfProvenance;
use crate::record::{RecordDocument, SignerRole, Strokes};

/// Draws a record's pages with the signatures in their slots.
pub trait PdfRenderer {
    fn provenance(&self) -> PdfProvenance;
    fn render(
        &self,
        document: &RecordDocument,
        signatures: &[(SignerRole, Strokes)],
    ) -> Result<Vec<u8>, String>;
}

/// Reads the text of each page of a PDF, in order.
pub trait PdfText {
    fn page_texts(&self, pdf: &[u8]) -> Result<Vec<String>, String>;
}

/// Text compared without whitespace: extractors differ in where they put spaces and line breaks.
pub fn normalise_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}
