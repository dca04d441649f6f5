//! Page texts of a PDF for the verifier (lopdf's ToUnicode-aware extraction).

use fieldseal_core::bundle::pdf::PdfText;

/// Reads each page's text. A PDF that cannot be parsed is an error, never a panic: lopdf runs
/// behind `catch_unwind`, since the PDF comes from a bundle that may have been tampered with.
#[derive(Debug, Default, Clone, Copy)]
pub struct PdfTextReader;

impl PdfText for PdfTextReader {
    fn page_texts(&self, pdf: &[u8]) -> Result<Vec<String>, String> {
        let parsed = std::panic::catch_unwind(|| -> Result<Vec<String>, String> {
            let doc = lopdf::Document::load_mem(pdf).map_err(|e| format!("not a readable PDF: {e}"))?;
            doc.get_pages()
                .keys()
                .map(|n| doc.extract_text(&[*n]).map_err(|e| format!("page {n}: {e}")))
                .collect()
        });
        parsed.unwrap_or_else(|_| Err("the PDF could not be parsed".into()))
    }
}
