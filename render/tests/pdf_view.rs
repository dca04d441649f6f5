//! The PDF view on its own: the page model's text comes back out of the PDF, a glyph the font lacks
//! fails the export (PDF/A-2b validation on), and only the pinned font is accepted.

use fieldseal_core::{
    bundle::pdf::{PdfRenderer, PdfText, normalise_text},
    record::{RecordContent, RecordDocument, SignerRole, Strokes},
};
use fieldseal_render::{FontError, KrillaRenderer, PdfTextReader, PinnedFont};

fn document(enterprise: &str) -> RecordDocument {
    let content: RecordContent = serde_json::from_value(serde_json::json!({
        "type": "fieldseal.record_content", "v": 1, "record_id": "r1", "inspection_id": "i1",
        "kind": "record", "revision": 1, "title": "现场检查笔录",
        "header": {
            "enterprise_name": enterprise, "uscc": "91321200MA1MXY3K7R", "legal_representative": "张堃",
            "address": "江苏省泰州市", "place": "危废仓库",
            "person_in_charge": {"name": "李喆", "post": "环保专员", "id_number": "", "phone": ""},
            "started_at": "2026-12-01 09:00", "ended_at": "2026-12-01 10:30",
            "inspectors": [{"id": "a", "name": "王建国", "certificate_no": "A1"}, {"id": "b", "name": "陈志强", "certificate_no": "B2"}],
            "recorder": {"id": "b", "name": "陈志强", "certificate_no": "B2"}, "task_source": "双随机抽查"
        },
        "items": [], "findings": [], "evidence": [],
        "party_statement": {"objection": false, "text": "以上笔录属实"}, "revisions": []
    }))
    .unwrap();
    RecordDocument::from_content(content)
}

#[test]
fn the_pdf_text_is_the_page_text_including_rare_name_characters() {
    let renderer = KrillaRenderer::new(PinnedFont::locate().unwrap());
    let doc = document("泰州华宁热电有限公司");
    let pdf = renderer.render(&doc, &[(SignerRole::Party, Strokes::synthetic(1))]).unwrap();
    let texts = PdfTextReader.page_texts(&pdf).unwrap();
    assert_eq!(texts.len(), doc.pages.len());
    assert_eq!(normalise_text(&texts[0]), normalise_text(&doc.pages[0].text()));
    assert!(texts[0].contains("张堃") && texts[0].contains("李喆"), "{}", texts[0]);
    println!("one-page record PDF: {} bytes (Noto Sans CJK SC subset embedded)", pdf.len());
}

#[test]
fn a_character_the_font_lacks_fails_the_export_instead_of_printing_a_box() {
    let renderer = KrillaRenderer::new(PinnedFont::locate().unwrap());
    // U+13000 EGYPTIAN HIEROGLYPH A001 is not in Noto Sans CJK.
    let err = renderer.render(&document("\u{13000}有限公司"), &[]).unwrap_err();
    assert!(err.contains("PDF/A-2b"), "{err}");
}

#[test]
fn only_the_pinned_font_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.ttc");
    std::fs::write(&other, b"not the pinned font").unwrap();
    assert!(matches!(PinnedFont::load(&other), Err(FontError::Unpinned { .. })));
    assert!(matches!(PinnedFont::load(&dir.path().join("absent.ttc")), Err(FontError::Missing { .. })));
}

#[test]
fn a_damaged_pdf_is_an_error_not_a_panic() {
    assert!(PdfTextReader.page_texts(b"%PDF-1.7\n garbage").is_err());
    assert!(PdfTextReader.page_texts(&[]).is_err());
}
